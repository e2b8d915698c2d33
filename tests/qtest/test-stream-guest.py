#!/usr/bin/env python3
"""Real QEMU 7.2 guests ping vmwire's nic-stub over -netdev stream.

vmwire runs `-netdev stream,id=n0,...` with a nic-stub at 10.0.2.100/24 and
a QMP socket; a guest at 10.0.2.15/24 (stock qemu-system-x86_64, its own
`-netdev stream`) pings it, small and full-MTU. Every request must be
answered without duplicates. Per mode:

  inet-server   vmwire server=on on 127.0.0.1 (dotted options), the guest a
                client. Status `listening`, then `tcp:127.0.0.1:PORT`,
                NETDEV_STREAM_CONNECTED {netdev-id, addr} then
                NETDEV_STREAM_DISCONNECTED when the guest is gone, and
                `listening` again.
  inet-client   the guest server=on (started first), vmwire a client (JSON
                options); status `tcp:127.0.0.1:PORT` of the guest;
                NETDEV_STREAM_DISCONNECTED when the guest is gone.
  ipv6          vmwire server=on on [::1], the guest a client to ::1.
  unix          vmwire server=on on a unix path; the socket file is gone
                after vmwire exits.
  abstract      vmwire server=on on an abstract unix name.
  reconnect     vmwire a client with reconnect-ms=500 to a guest server;
                that guest powers off (DISCONNECTED, status `connecting`),
                a second guest listens on the same address, vmwire comes
                back (CONNECTED) and the second guest's pings are answered.

Every vmwire run must end with exit status 0 after SIGTERM and no sanitizer
report in its log.
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP, QMPTimeout  # noqa: E402
from vmwire_test import (SANITIZER_REPORT, TAP, Guest, Vmwire,  # noqa: E402
                         free_port, guest_image, ping_cmd, ping_stats,
                         section, tempdir, wait_ping_cmd,
                         wait_port_bound)

STUB_IP = '10.0.2.100'
STUB_MAC = '52:54:00:00:02:64'
STUB = 'nic-stub,id=s0,netdev=n0,mac=%s,ip=%s/24' % (STUB_MAC, STUB_IP)
GUEST_IP = '10.0.2.15/24'
PINGS = 3
LARGE = 1472
GUEST_TIMEOUT = 120

WAIT_STUB = wait_ping_cmd(STUB_IP, 30)

PING_BOTH = r'''
rc=0
echo "== small"
%(small)s || { echo "FAILED: small ping"; rc=1; }
echo "== large"
%(large)s || { echo "FAILED: large ping"; rc=1; }
echo "== end"
exit $rc
''' % {'small': ping_cmd(STUB_IP, PINGS),
       'large': ping_cmd(STUB_IP, PINGS).replace('ping ', 'ping -s %d ' %
                                                 LARGE, 1)}


def check_pings(t, what, rc, console):
    t.ok(rc == 0, '%s: guest command exits 0 (rc=%s)' % (what, rc),
         diag=console)
    small, large = section(console, 'small'), section(console, 'large')
    t.ok(ping_stats(small) == (PINGS, PINGS) and
         ping_stats(large) == (PINGS, PINGS) and 'DUP!' not in console,
         '%s: all small and full-MTU pings answered, no duplicates '
         '(got %s, %s)' % (what, ping_stats(small), ping_stats(large)),
         diag=console)


def status(q):
    """n0's status string, from `info network`."""
    text = q.cmd('human-monitor-command', {'command-line': 'info network'})
    match = re.search(r'n0: index=\d+,type=stream,([^\r\n]*)', text)
    return match.group(1) if match else None


def wait_status(q, regex, timeout=10.0):
    deadline = time.monotonic() + timeout
    got = status(q)
    while not re.fullmatch(regex, got or '') and time.monotonic() < deadline:
        time.sleep(0.1)
        got = status(q)
    return got


def event(q, name, timeout=20.0):
    try:
        return q.wait_event(name, timeout)
    except QMPTimeout:
        return None


def check_exit(t, what, v):
    rc = v.stop()
    t.ok(rc == 0 and not SANITIZER_REPORT.search(v.log()),
         '%s: vmwire exits 0 on SIGTERM, no sanitizer report (rc=%s)'
         % (what, rc), diag=v.log)


class Bench:
    """vmwire with -netdev NETDEV, the stub and a QMP socket."""

    def __init__(self, netdev):
        self.netdev = netdev

    def __enter__(self):
        self.dir = tempdir('stream')
        path = os.path.join(self.dir.__enter__(), 'qmp.sock')
        self.v = Vmwire(['-netdev', self.netdev, '-device', STUB,
                         '-qmp', 'unix:%s,server=on,wait=off' % path])
        self.v.__enter__()
        self.q = QMP.unix(path)
        self.q.negotiate()
        return self

    def __exit__(self, *exc):
        self.q.close()
        self.v.__exit__(*exc)
        self.dir.__exit__(*exc)


def server_case(t, what, netdev, guest_netdev, uri_re, event_addr,
                after=None):
    """vmwire is the server, the guest connects and pings."""
    with Bench(netdev) as b:
        q = b.q
        t.ok(status(q) == 'listening', '%s: status "listening" (got %r)'
             % (what, status(q)))
        with Guest(guest_netdev, ip=GUEST_IP, run=PING_BOTH) as g:
            ev = event(q, 'NETDEV_STREAM_CONNECTED', 60)
            t.ok(ev and ev['data']['netdev-id'] == 'n0' and
                 all(ev['data']['addr'].get(k) == v
                     for k, v in event_addr.items()),
                 '%s: NETDEV_STREAM_CONNECTED for n0 with addr %s (got %s)'
                 % (what, event_addr, ev), diag=g.qemu_log)
            got = status(q)
            t.ok(re.fullmatch(uri_re, got or ''),
                 '%s: status is the client\'s URI %s (got %r)'
                 % (what, uri_re, got))
            rc, console = g.wait(GUEST_TIMEOUT)
        check_pings(t, what, rc, console)
        ev = event(q, 'NETDEV_STREAM_DISCONNECTED')
        t.ok(ev and ev['data'] == {'netdev-id': 'n0'},
             '%s: NETDEV_STREAM_DISCONNECTED {netdev-id: n0} after the guest '
             'is gone (got %s)' % (what, ev), diag=b.v.log)
        got = wait_status(q, 'listening')
        t.ok(got == 'listening', '%s: "listening" again (got %r)'
             % (what, got))
        check_exit(t, what, b.v)
    if after:
        after()


def test_inet_server(t):
    port = free_port('tcp')
    server_case(t, 'inet-server',
                'stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,'
                'addr.port=%d' % port,
                'stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,'
                'addr.port=%d' % port,
                r'tcp:127\.0\.0\.1:\d+', {'type': 'inet', 'host': '127.0.0.1'})


def test_ipv6(t):
    port = free_port('tcp', '::1')
    server_case(t, 'ipv6',
                'stream,id=n0,server=on,addr.type=inet,addr.host=[::1],'
                'addr.port=%d' % port,
                'stream,id=n0,server=off,addr.type=inet,addr.host=::1,'
                'addr.port=%d' % port,
                r'tcp:\[::1\]:\d+', {'type': 'inet', 'host': '::1'})


def test_unix(t):
    with tempdir('stream-unix') as d:
        path = os.path.join(d, 'n0.sock')
        server_case(t, 'unix',
                    'stream,id=n0,server=on,addr.type=unix,addr.path=' + path,
                    'stream,id=n0,server=off,addr.type=unix,addr.path=' + path,
                    'unix:' + re.escape(path), {'type': 'unix'},
                    after=lambda: t.ok(not os.path.exists(path),
                                       'unix: the socket file is removed '
                                       'when vmwire exits'))


def test_abstract(t):
    name = 'vmwire-test-%d' % os.getpid()
    server_case(t, 'abstract',
                'stream,id=n0,server=on,addr.type=unix,addr.path=%s,'
                'addr.abstract=on' % name,
                'stream,id=n0,server=off,addr.type=unix,addr.path=%s,'
                'addr.abstract=on' % name,
                'unix:' + re.escape(name), {'type': 'unix'})


def guest_server(port, run):
    return Guest('stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,'
                 'addr.port=%d' % port, ip=GUEST_IP, run=run)


def test_inet_client(t):
    port = free_port('tcp')
    netdev = json.dumps({'type': 'stream', 'id': 'n0', 'server': False,
                         'addr': {'type': 'inet', 'host': '127.0.0.1',
                                  'port': str(port)}})
    with guest_server(port, WAIT_STUB + PING_BOTH) as g:
        t.ok(wait_port_bound(port, 'tcp', 30),
             'inet-client: the guest QEMU listens', diag=g.qemu_log)
        with Bench(netdev) as b:
            # Connected before QMP is up (its event is checked in reconnect).
            got = wait_status(b.q, r'tcp:.*', 10)
            t.ok(got == 'tcp:127.0.0.1:%d' % port,
                 'inet-client: status tcp:127.0.0.1:%d (got %r)' % (port, got))
            rc, console = g.wait(GUEST_TIMEOUT)
            check_pings(t, 'inet-client', rc, console)
            ev = event(b.q, 'NETDEV_STREAM_DISCONNECTED')
            t.ok(ev is not None, 'inet-client: NETDEV_STREAM_DISCONNECTED '
                 'once the guest is gone')
            time.sleep(1)
            t.ok(b.v.proc.poll() is None, 'inet-client: vmwire keeps running')
            check_exit(t, 'inet-client', b.v)


def test_reconnect(t):
    port = free_port('tcp')
    netdev = ('stream,id=n0,server=off,reconnect-ms=500,addr.type=inet,'
              'addr.host=127.0.0.1,addr.port=%d' % port)
    with Bench(netdev) as b:
        q = b.q
        got = wait_status(q, 'connecting', 5)
        t.ok(got == 'connecting', 'reconnect: "connecting" while nobody '
             'listens (got %r)' % got)
        for nth in ('first', 'second'):
            what = 'reconnect: %s guest' % nth
            with guest_server(port, WAIT_STUB + PING_BOTH) as g:
                ev = event(q, 'NETDEV_STREAM_CONNECTED', 60)
                want = {'netdev-id': 'n0',
                        'addr': {'type': 'inet', 'host': '127.0.0.1',
                                 'port': str(port)}}
                t.ok(ev and ev['data'] == want,
                     '%s: NETDEV_STREAM_CONNECTED %s (got %s)'
                     % (what, want, ev),
                     diag=lambda: b.v.log() + g.qemu_log())
                got = status(q)
                t.ok(got == 'tcp:127.0.0.1:%d' % port,
                     '%s: status tcp:127.0.0.1:%d (got %r)'
                     % (what, port, got))
                rc, console = g.wait(GUEST_TIMEOUT)
            check_pings(t, what, rc, console)
            ev = event(q, 'NETDEV_STREAM_DISCONNECTED')
            t.ok(ev and ev['data'] == {'netdev-id': 'n0'},
                 '%s: NETDEV_STREAM_DISCONNECTED after it is gone (got %s)'
                 % (what, ev))
            got = wait_status(q, 'connecting', 5)
            t.ok(got == 'connecting', '%s: "connecting" again (got %r)'
                 % (what, got))
        check_exit(t, 'reconnect', b.v)


def main(t):
    guest_image()
    for test in (test_inet_server, test_inet_client, test_ipv6, test_unix,
                 test_abstract, test_reconnect):
        start = time.monotonic()
        test(t)
        t.diag('%s: %.1fs' % (test.__name__, time.monotonic() - start))


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
