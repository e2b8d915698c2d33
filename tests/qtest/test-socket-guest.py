#!/usr/bin/env python3
"""Real QEMU guests ping vmwire's nic-stub over -netdev socket, in every
point-to-point mode.

vmwire runs `-netdev socket,id=n0,...` with a nic-stub at 10.0.2.100/24; a
guest at 10.0.2.15/24 (stock qemu-system-x86_64, virtio-net) pings it with
small and with full-MTU (-s 1472, a 1514-byte frame) echo requests. Every
request must be answered, with no duplicate, the guest command must exit 0,
and the guest's ARP table must hold the stub's mac=. Per mode:

  listen   vmwire listen=, the guest connect=. vmwire logs
           "n0: connection from 127.0.0.1:PORT" and, once the guest has
           powered off, "n0: peer 127.0.0.1:PORT disconnected"; then a
           second guest connects to the same listener and pings too.
  connect  the guest listen= (started first), vmwire connect=. Once the
           guest has powered off vmwire logs "connection to ... closed by
           peer", keeps running, and exits 0 on SIGTERM.
  udp      vmwire udp=127.0.0.1:G,localaddr=127.0.0.1:V and the guest the
           mirror image.

Every vmwire run must end with exit status 0 after SIGTERM and no sanitizer
report in its log.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (SANITIZER_REPORT, TAP, Guest, Vmwire,  # noqa: E402
                         free_port, guest_image, ping_cmd, ping_stats,
                         section, wait_ping_cmd, wait_port_bound)

STUB_IP = '10.0.2.100'
STUB_MAC = '52:54:00:00:02:64'
STUB = 'nic-stub,id=s0,netdev=n0,mac=%s,ip=%s/24' % (STUB_MAC, STUB_IP)
GUEST_IP = '10.0.2.15/24'
PINGS = 5
LARGE = 1472            # 1472 + 8 ICMP + 20 IP = 1500, the guest's MTU
GUEST_TIMEOUT = 90

# Wait (bounded, ~20 s) until the stub answers: used where vmwire may come
# up after the guest has booted. It is not counted; the pings after it are.
WAIT_STUB = wait_ping_cmd(STUB_IP, 20)

# Small pings, then full-MTU pings, each after a marker line; rc 0 only if
# both pings got a reply (the test then requires all of them).
PING_BOTH = r'''
rc=0
echo "== small"
%(small)s || { echo "FAILED: small ping"; rc=1; }
echo "== large"
%(large)s || { echo "FAILED: large ping"; rc=1; }
echo "== arp"
cat /proc/net/arp
exit $rc
''' % {'small': ping_cmd(STUB_IP, PINGS),
       'large': ping_cmd(STUB_IP, PINGS).replace('ping ', 'ping -s %d ' %
                                                 LARGE, 1)}


def check_pings(t, what, rc, console):
    """The assertions on one guest's PING_BOTH run."""
    t.ok(rc == 0, '%s: guest command exits 0 (rc=%s)' % (what, rc),
         diag=console)
    small, large = section(console, 'small'), section(console, 'large')
    t.ok(ping_stats(small) == (PINGS, PINGS),
         '%s: all %d pings answered (got %s)'
         % (what, PINGS, ping_stats(small)), diag=console)
    t.ok(ping_stats(large) == (PINGS, PINGS) and
         '%d bytes from %s' % (LARGE + 8, STUB_IP) in large,
         '%s: all %d full-MTU pings (-s %d) answered (got %s)'
         % (what, PINGS, LARGE, ping_stats(large)), diag=console)
    t.ok('DUP!' not in console, '%s: no duplicate replies' % what,
         diag=console)
    t.ok(re.search(r'^%s\s.*\s%s\s' % (re.escape(STUB_IP), STUB_MAC),
                   section(console, 'arp'), re.MULTILINE),
         '%s: the guest learnt the stub\'s mac= %s by ARP' % (what, STUB_MAC),
         diag=console)


def check_exit(t, what, v):
    """SIGTERM ends vmwire with status 0, cleanly."""
    rc = v.stop()
    t.ok(rc == 0, '%s: vmwire exits 0 on SIGTERM (rc=%s)' % (what, rc),
         diag=v.log)
    t.ok(re.search(r'^vmwire: shutting down$', v.log(), re.MULTILINE),
         '%s: vmwire logs "shutting down"' % what, diag=v.log)
    t.ok(not SANITIZER_REPORT.search(v.log()),
         '%s: no sanitizer report' % what, diag=v.log)


def run_guest(opts, run=PING_BOTH):
    with Guest(opts, ip=GUEST_IP, run=run) as g:
        return g.wait(GUEST_TIMEOUT)


def test_listen(t):
    port = free_port('tcp')
    addr = '127.0.0.1:%d' % port
    with Vmwire(['-netdev', 'socket,id=n0,listen=' + addr,
                 '-device', STUB]) as v:
        for nth in ('first', 'second'):
            what = 'listen: %s guest' % nth
            since = len(v.log())
            with Guest('socket,connect=' + addr, ip=GUEST_IP,
                       run=PING_BOTH) as g:
                conn = v.wait_log(r'^vmwire: n0: connection from '
                                  r'(127\.0\.0\.1:\d+)$', 30, since)
                t.ok(conn, '%s: vmwire logs "n0: connection from '
                     '127.0.0.1:PORT"' % what,
                     diag=lambda: v.log()[since:] + g.qemu_log())
                rc, console = g.wait(GUEST_TIMEOUT)
            check_pings(t, what, rc, console)
            peer = conn.group(1) if conn else r'127\.0\.0\.1:\d+'
            gone = v.wait_log(r'^vmwire: n0: peer %s disconnected$'
                              % re.escape(peer), 10, since)
            t.ok(gone, '%s: after the guest is gone vmwire logs "n0: peer '
                 '%s disconnected"' % (what, peer),
                 diag=lambda: v.log()[since:])
        check_exit(t, 'listen', v)


def test_connect(t):
    port = free_port('tcp')
    addr = '127.0.0.1:%d' % port
    # The guest's netdev listens without blocking QEMU (7.2): its link is
    # down until vmwire connects, hence WAIT_STUB.
    with Guest('socket,listen=' + addr, ip=GUEST_IP,
               run=WAIT_STUB + PING_BOTH) as g:
        t.ok(wait_port_bound(port, 'tcp', 30),
             'connect: the guest QEMU listens on %s' % addr,
             diag=g.qemu_log)
        with Vmwire(['-netdev', 'socket,id=n0,connect=' + addr,
                     '-device', STUB]) as v:
            rc, console = g.wait(GUEST_TIMEOUT)
            check_pings(t, 'connect', rc, console)
            gone = v.wait_log(r'^vmwire: n0: connection to %s closed by '
                              r'peer$' % re.escape(addr), 10)
            t.ok(gone, 'connect: after the guest is gone vmwire logs "n0: '
                 'connection to %s closed by peer"' % addr, diag=v.log)
            time.sleep(1)
            t.ok(v.proc.poll() is None,
                 'connect: vmwire keeps running without its peer',
                 diag=v.log)
            check_exit(t, 'connect', v)


def test_udp(t):
    guest_port, vmwire_port = free_port('udp'), free_port('udp')
    while vmwire_port == guest_port:
        vmwire_port = free_port('udp')
    guest_addr = '127.0.0.1:%d' % guest_port
    vmwire_addr = '127.0.0.1:%d' % vmwire_port
    with Vmwire(['-netdev', 'socket,id=n0,udp=%s,localaddr=%s'
                 % (guest_addr, vmwire_addr), '-device', STUB]) as v:
        rc, console = run_guest('socket,udp=%s,localaddr=%s'
                                % (vmwire_addr, guest_addr))
        check_pings(t, 'udp', rc, console)
        check_exit(t, 'udp', v)


def main(t):
    guest_image()        # build first: the only case allowed to skip
    for test in (test_listen, test_connect, test_udp):
        start = time.monotonic()
        test(t)
        t.diag('%s: %.1fs' % (test.__name__, time.monotonic() - start))


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
