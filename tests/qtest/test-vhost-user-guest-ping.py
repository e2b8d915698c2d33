#!/usr/bin/env python3
"""A real QEMU 7.2 guest on a vhost-user port of a hub pings the nic-stub.

vmwire runs `-netdev vhost-user,id=v0,addr.type=unix,addr.path=P,hubid=0`
and a nic-stub at 10.0.2.100/24 on another port of hub 0 (`-netdev
hubport`).  A guest at 10.0.2.15/24 whose virtio-net-pci is on QEMU's
stock vhost-user netdev (`-chardev socket,path=P`, shared memfd memory,
vectors=0) pings the stub, small and full-MTU (1472 bytes of ICMP data):
every request answered, no duplicate.  What a user sees along the way:

  - before: `info network` shows `v0: index=0,type=vhost-user,vhost-user:
    listening on P`;
  - QEMU connects: NETDEV_STREAM_CONNECTED {netdev-id: v0.1, addr: {type:
    unix, path: P}}; port v0.1 of hub 0 with its connection client
    v0.1.conn, `type=vhost-user,vhost-user: frontend on P`;
  - the guest's first frame: "vmwire: v0.1: VM MAC joined hub 0", once;
  - while the guest is still up, x-query-network counts the pings on
    v0.1.conn (at least 2 x 2 x PINGS frames each way);
  - the guest powers off: NETDEV_STREAM_DISCONNECTED {netdev-id: v0.1},
    v0.1 and v0.1.conn gone from x-query-network, v0 listening again.

vmwire must then exit 0 on SIGTERM with no sanitizer report, and the
socket file be gone.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vuguests import (GUEST_IP, STUB_IP, STUB_ON_HUB, VuRig,  # noqa: E402
                      secs, vhost_user_netdev)
from vmwire_test import (TAP, Guest, guest_image, ping_cmd,  # noqa: E402
                         ping_stats, section)

PINGS = 5
LARGE = 1472
GUEST_TIMEOUT = 120

# Both pings, then a pause in which the test reads the counters.
PING_BOTH = r'''
rc=0
echo "== small"
%(small)s || { echo "FAILED: small ping"; rc=1; }
echo "== large"
%(large)s || { echo "FAILED: large ping"; rc=1; }
echo "== pinged"
sleep 3
exit $rc
''' % {'small': ping_cmd(STUB_IP, PINGS),
       'large': ping_cmd(STUB_IP, PINGS).replace('ping ', 'ping -s %d '
                                                 % LARGE, 1)}


def check_pings(t, rc, console):
    t.ok(rc == 0, 'guest command exits 0 (rc=%s)' % rc, diag=console)
    small, large = section(console, 'small'), section(console, 'large')
    t.ok(ping_stats(small) == (PINGS, PINGS) and
         ping_stats(large) == (PINGS, PINGS) and 'DUP!' not in console,
         'all %d small and %d full-MTU pings answered, no duplicates '
         '(got %s, %s)' % (PINGS, PINGS, ping_stats(small),
                           ping_stats(large)), diag=console)


def check_connected(t, rig, g):
    ev = rig.event('NETDEV_STREAM_CONNECTED', secs(60))
    want = {'netdev-id': 'v0.1', 'addr': {'type': 'unix', 'path': rig.sock}}
    t.ok(ev is not None and ev['data'] == want,
         'NETDEV_STREAM_CONNECTED %s (got %s)' % (want, ev),
         diag=lambda: rig.v.log() + g.qemu_log())
    got = rig.info('v0.1.conn')
    t.ok(got == 'type=vhost-user,vhost-user: frontend on ' + rig.sock,
         'info network: v0.1.conn is "type=vhost-user,vhost-user: frontend '
         'on P" (got %r)' % got, diag=lambda: rig.hmp('info network'))
    clients = rig.clients()
    t.ok(clients.get('v0.1', {}).get('type') == 'hubport' and
         clients.get('v0.1', {}).get('peer') == 'v0.1.conn',
         'x-query-network: hub port v0.1 with v0.1.conn as its peer',
         diag=repr(clients))


def check_counters(t, rig, g):
    pinged = g.wait_console(r'^== pinged$', GUEST_TIMEOUT)
    conn = rig.clients().get('v0.1.conn', {}) if pinged else {}
    # ARP aside, each ping is a request (guest to vmwire, rx) and a reply
    # (tx); the full-MTU ones are 1514-byte frames.
    want = 2 * PINGS
    t.ok(conn.get('rx-frames', 0) >= want and
         conn.get('tx-frames', 0) >= want and
         conn.get('rx-bytes', 0) >= PINGS * (LARGE + 42) and
         conn.get('tx-bytes', 0) >= PINGS * (LARGE + 42),
         'x-query-network: v0.1.conn counts the pings both ways (at least '
         '%d frames, %d bytes)' % (want, PINGS * (LARGE + 42)),
         diag=lambda: repr(conn) + '\n' + g.console())


def check_gone(t, rig):
    ev = rig.event('NETDEV_STREAM_DISCONNECTED', secs(20))
    t.ok(ev is not None and ev['data'] == {'netdev-id': 'v0.1'},
         'NETDEV_STREAM_DISCONNECTED {netdev-id: v0.1} once the guest is '
         'gone (got %s)' % ev, diag=rig.v.log)
    deadline = time.monotonic() + secs(5)
    while True:
        clients = rig.clients()
        if ('v0.1' not in clients and 'v0.1.conn' not in clients) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.1)
    t.ok('v0.1' not in clients and 'v0.1.conn' not in clients,
         'the port is freed: v0.1 and v0.1.conn gone from x-query-network',
         diag=repr(sorted(clients)))
    got = rig.info('v0')
    t.ok(re.fullmatch(r'type=vhost-user,vhost-user: listening on %s.*'
                      % re.escape(rig.sock), got or ''),
         'info network: v0 listening again (got %r)' % got)


def main(t):
    guest_image()
    args = ['-netdev', vhost_user_netdev('v0', VuRig.SOCK, hubid=0)]
    with VuRig(args + STUB_ON_HUB) as rig:
        got = rig.info('v0')
        t.ok(re.fullmatch(r'type=vhost-user,vhost-user: listening on %s.*'
                          % re.escape(rig.sock), got or ''),
             'info network: v0 is "type=vhost-user,vhost-user: listening on '
             'P" (got %r)' % got, diag=lambda: rig.hmp('info network'))
        start = time.monotonic()
        with Guest(None, vhost_user=rig.sock, ip=GUEST_IP,
                   run=PING_BOTH) as g:
            check_connected(t, rig, g)
            check_counters(t, rig, g)
            rc, console = g.wait(GUEST_TIMEOUT)
        t.diag('guest: %.1fs' % (time.monotonic() - start))
        check_pings(t, rc, console)
        joined = re.findall(r'^vmwire: v0\.1: VM %s joined hub 0$'
                            % re.escape(g.mac), rig.v.log(), re.MULTILINE)
        t.ok(len(joined) == 1, 'vmwire logs "v0.1: VM %s joined hub 0" once'
             % g.mac, diag=rig.v.log)
        check_gone(t, rig)
        rig.check_exit(t, 'ping')
        t.ok(not os.path.exists(rig.sock), 'the socket file is removed when '
             'vmwire exits')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
