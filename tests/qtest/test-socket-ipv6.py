#!/usr/bin/env python3
"""vmwire's extension: `-netdev socket` listen= and connect= over IPv6.

QEMU 7.2's -netdev socket is IPv4 only; vmwire also takes a bracketed
numeric IPv6 host, `listen=[::1]:P`, `listen=[::]:P`, `connect=[::1]:P`.
Each scenario below gets a vmwire of its own (so one failing scenario
does not cascade), with a QMP socket and

    -netdev socket,id=n0,listen=[::1]:P
    -device nic-stub,id=s0,netdev=n0,mac=52:54:00:00:10:01,ip=10.0.2.100/24

and Python, over TCP on ::1, speaks QEMU's stream framing to it:

  listen=[::1]   a peer from [::1] is accepted: NETDEV_STREAM_CONNECTED
                 {n0, addr: inet ::1 PORT}, info "socket: connection from
                 [::1]:PORT", log "n0: connection from [::1]:PORT"; an ARP
                 request for the stub gets its exact reply; the peer leaving
                 logs "n0: peer [::1]:PORT disconnected".
  connect=[::1]  netdev_add connect=[::1]:L reaches a Python listener on ::1:
                 info "socket: connect to [::1]:L", the event carries ::1,
                 and an ARP through it is answered (a second nic-stub).
  listen=[::]    dual stack: an IPv4 peer (127.0.0.1) is accepted too, seen
                 as [::ffff:127.0.0.1]:PORT.

The host must have ::1 (otherwise skip_all: a failure unless
VMWIRE_ALLOW_SKIP=1).  At the end SIGTERM
gives exit status 0 and no sanitizer report, for every one of them.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP, QMPTimeout  # noqa: E402
from vmwire_test import (SANITIZER_REPORT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         PeerClosed, StreamPeer, Vmwire, arp_frame,
                         free_port, tempdir)

STUB_MAC = bytes.fromhex('525400001001')
STUB_MAC_STR = '52:54:00:00:10:01'
STUB_IP = socket.inet_aton('10.0.2.100')
PEER_MAC = bytes.fromhex('525400aa0001')
PEER_IP = socket.inet_aton('10.0.2.15')


def secs(s):
    return s * TIMEOUT_SCALE


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False


def arp_request():
    return arp_frame(1, PEER_MAC, PEER_IP, None, STUB_IP)


def arp_reply():
    return arp_frame(2, STUB_MAC, STUB_IP, PEER_MAC, PEER_IP)


def arp_answered(sock):
    """ARP for the stub through sock; the exact reply must come back
    (frames of other kinds, e.g. the stub's own, are skipped)."""
    peer = StreamPeer(sock=sock)
    peer.send_frames([arp_request()])
    deadline = time.monotonic() + secs(5)
    try:
        while True:
            f = peer.recv_frame_by(deadline)
            if f is None:
                return False
            if f == arp_reply():
                return True
    except PeerClosed:
        return False


class EvQMP(QMP):
    def wait_for(self, name, netdev, timeout=5.0):
        deadline = time.monotonic() + secs(timeout)
        while True:
            for e in self.events:
                if (e['event'] == name and
                        e.get('data', {}).get('netdev-id') == netdev):
                    self.events.remove(e)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = self.recv(left / TIMEOUT_SCALE)
            except QMPTimeout:
                return None
            (self.events if 'event' in msg else self.stray).append(msg)


def info_of(q, nid):
    for c in q.cmd('x-query-network'):
        if c['id'] == nid:
            return c['info']
    return None


def listen_v6(t, v, q, port):
    with socket.create_connection(('::1', port), timeout=secs(5)) as peer:
        pport = peer.getsockname()[1]
        ev = q.wait_for('NETDEV_STREAM_CONNECTED', 'n0')
        want = {'netdev-id': 'n0', 'addr': {'type': 'inet', 'host': '::1',
                                            'port': str(pport)}}
        t.ok(ev is not None and ev['data'] == want,
             'listen=[::1]: NETDEV_STREAM_CONNECTED {n0, addr: inet ::1 %d}'
             % pport, diag=repr(ev))
        info = info_of(q, 'n0')
        t.ok(info == 'socket: connection from [::1]:%d' % pport,
             'listen=[::1]: info "socket: connection from [::1]:%d"' % pport,
             diag=repr(info))
        t.ok(v.wait_log(r'^vmwire: n0: connection from \[::1\]:%d$' % pport,
                        secs(5)),
             'listen=[::1]: log "n0: connection from [::1]:%d"' % pport,
             diag=v.log)
        t.ok(arp_answered(peer),
             'listen=[::1]: an ARP request over ::1 gets the exact reply')
    t.ok(v.wait_log(r'^vmwire: n0: peer \[::1\]:%d disconnected$' % pport,
                    secs(5)),
         'listen=[::1]: log "n0: peer [::1]:%d disconnected"' % pport,
         diag=v.log)
    ev = q.wait_for('NETDEV_STREAM_DISCONNECTED', 'n0')
    t.ok(ev is not None, 'listen=[::1]: NETDEV_STREAM_DISCONNECTED',
         diag=repr(ev))


def connect_v6(t, q):
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as lsock:
        lsock.bind(('::1', 0))
        lsock.listen(1)
        lsock.settimeout(secs(5))
        lport = lsock.getsockname()[1]
        q.cmd('netdev_add', {'type': 'socket', 'id': 'c1',
                             'connect': '[::1]:%d' % lport})
        q.cmd('device_add', {'driver': 'nic-stub', 'id': 's1',
                             'netdev': 'c1', 'mac': STUB_MAC_STR,
                             'ip': '10.0.2.100/24'})
        conn, _ = lsock.accept()
        with conn:
            ev = q.wait_for('NETDEV_STREAM_CONNECTED', 'c1')
            want = {'netdev-id': 'c1', 'addr': {'type': 'inet',
                                                'host': '::1',
                                                'port': str(lport)}}
            t.ok(ev is not None and ev['data'] == want,
                 'connect=[::1]: NETDEV_STREAM_CONNECTED {c1, addr: inet '
                 '::1 %d}' % lport, diag=repr(ev))
            info = info_of(q, 'c1')
            t.ok(info == 'socket: connect to [::1]:%d' % lport,
                 'connect=[::1]: info "socket: connect to [::1]:%d"' % lport,
                 diag=repr(info))
            t.ok(arp_answered(conn),
                 'connect=[::1]: an ARP request over ::1 gets the exact '
                 'reply')
        ev = q.wait_for('NETDEV_STREAM_DISCONNECTED', 'c1')
        t.ok(ev is not None, 'connect=[::1]: NETDEV_STREAM_DISCONNECTED when '
             'the listener closes', diag=repr(ev))
    q.cmd('device_del', {'id': 's1'})
    q.cmd('netdev_del', {'id': 'c1'})


def listen_dual_stack(t, q):
    port = free_port(host='::1')
    q.cmd('netdev_add', {'type': 'socket', 'id': 'd1',
                         'listen': '[::]:%d' % port})
    with socket.create_connection(('127.0.0.1', port),
                                  timeout=secs(5)) as peer:
        pport = peer.getsockname()[1]
        ev = q.wait_for('NETDEV_STREAM_CONNECTED', 'd1')
        t.ok(ev is not None and ev['data']['addr']['host'] ==
             '::ffff:127.0.0.1',
             'listen=[::]: an IPv4 peer is accepted (dual stack), addr '
             '::ffff:127.0.0.1', diag=repr(ev))
        info = info_of(q, 'd1')
        t.ok(info == 'socket: connection from [::ffff:127.0.0.1]:%d' % pport,
             'listen=[::]: info "socket: connection from '
             '[::ffff:127.0.0.1]:%d"' % pport, diag=repr(info))
    q.cmd('netdev_del', {'id': 'd1'})


SCENARIOS = [
    ('listen=[::1]', listen_v6),
    ('connect=[::1]', lambda t, v, q, port: connect_v6(t, q)),
    ('listen=[::]', lambda t, v, q, port: listen_dual_stack(t, q)),
]


def run_scenario(t, name, scenario, stopped):
    """scenario(t, v, q, port) on a vmwire of its own; its exit status and
    log are appended to stopped."""
    port = free_port(host='::1')
    with t.scenario(name), tempdir('qmp') as d:
        path = os.path.join(d, 'qmp.sock')
        args = ['-qmp', 'unix:%s,server=on,wait=off' % path,
                '-netdev', 'socket,id=n0,listen=[::1]:%d' % port,
                '-device', 'nic-stub,id=s0,netdev=n0,mac=%s,ip=10.0.2.100/24'
                % STUB_MAC_STR]
        with Vmwire(args, ready_timeout=secs(10)) as v:
            q = EvQMP.unix(path)
            try:
                q.negotiate()
                scenario(t, v, q, port)
            finally:
                q.close()
                stopped.append((name, v.stop(), v.log()))


def main(t):
    if not have_ipv6_loopback():
        t.skip_all('no IPv6 loopback (::1) on this host')
        return
    stopped = []                # (scenario, exit status, log) per vmwire
    for name, scenario in SCENARIOS:
        run_scenario(t, name, scenario, stopped)

    def logs():
        return '\n'.join('--- %s (exit status %s):\n%s' % run
                         for run in stopped)
    t.ok(len(stopped) == len(SCENARIOS) and
         all(rc == 0 for _, rc, _ in stopped),
         'SIGTERM: exit status 0', diag=logs)
    t.ok(not any(SANITIZER_REPORT.search(log) for _, _, log in stopped),
         'no sanitizer report in the log', diag=logs)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
