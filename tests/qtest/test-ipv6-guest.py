#!/usr/bin/env python3
"""A real QEMU guest reaches vmwire's nic-stub over IPv6 and IPv4.

vmwire runs `-netdev socket,id=n0,listen=127.0.0.1:P` with a nic-stub at
mac=52:54:00:00:02:64, ip=10.0.2.100/24, ip6=fd00::100/64. A guest at
fd00::15/64 and 10.0.2.15/24 (stock qemu-system-x86_64, virtio-net,
connect=) in one run:

  - pings fd00::100 (neighbour discovery to the solicited-node group, then
    ICMPv6 echo), small and full-MTU (-s 1452: 1452 + 8 + 40 = 1500):
    every request answered, no duplicate;
  - finds the stub in its neighbour table as 52:54:00:00:02:64 (learnt from
    the advertisement's target link-layer address option);
  - pings the stub's link-local address fe80::5054:ff:fe00:264 (the EUI-64
    of its MAC) through eth0: every request answered;
  - pings 10.0.2.100 over IPv4: every request answered.

The guest command must exit 0; vmwire must exit 0 on SIGTERM with no
sanitizer report, and x-nic-stub-stats is not needed: the guest sees it all.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (SANITIZER_REPORT, TAP, Guest, Vmwire,  # noqa: E402
                         free_port, guest_image, ping_cmd, ping_stats,
                         section)

STUB_MAC = '52:54:00:00:02:64'
STUB_IP = '10.0.2.100'
STUB_IP6 = 'fd00::100'
STUB_LINK_LOCAL = 'fe80::5054:ff:fe00:264'
STUB = ('nic-stub,id=s0,netdev=n0,mac=%s,ip=%s/24,ip6=%s/64'
        % (STUB_MAC, STUB_IP, STUB_IP6))
PINGS = 5
LARGE6 = 1452           # + 8 ICMPv6 + 40 IPv6 = 1500, the guest's MTU
GUEST_TIMEOUT = 120

# Each step after a marker line; rc 0 only if every ping got a reply (the
# test then requires all of them).
GUEST_RUN = r'''
rc=0
echo "== small6"
%(small6)s || { echo "FAILED: ping %(ip6)s"; rc=1; }
echo "== large6"
%(large6)s || { echo "FAILED: ping -s %(large)d %(ip6)s"; rc=1; }
echo "== neigh"
ip -6 neigh show dev eth0
echo "== linklocal"
%(ll)s || { echo "FAILED: ping %(ll_ip)s"; rc=1; }
echo "== ipv4"
%(ipv4)s || { echo "FAILED: ping %(ip)s"; rc=1; }
echo "== end"
exit $rc
''' % {'small6': ping_cmd(STUB_IP6, PINGS),
       'large6': ping_cmd(STUB_IP6, PINGS).replace('ping ', 'ping -s %d '
                                                   % LARGE6, 1),
       'll': ping_cmd(STUB_LINK_LOCAL + '%eth0', PINGS),
       'ipv4': ping_cmd(STUB_IP, PINGS),
       'ip6': STUB_IP6, 'ip': STUB_IP, 'large': LARGE6,
       'll_ip': STUB_LINK_LOCAL}


def check_ping(t, console, name, what, reply_from=None):
    text = section(console, name)
    got = ping_stats(text)
    t.ok(got == (PINGS, PINGS), '%s: all %d pings answered (got %s)'
         % (what, PINGS, got), diag=console)
    if reply_from:
        t.ok(reply_from in text, '%s: replies say "%s"' % (what, reply_from),
             diag=console)


def main(t):
    guest_image()        # build first: the only case allowed to skip
    addr = '127.0.0.1:%d' % free_port('tcp')
    with Vmwire(['-netdev', 'socket,id=n0,listen=' + addr,
                 '-device', STUB]) as v:
        with Guest('socket,connect=' + addr, ip='10.0.2.15/24',
                   ip6='fd00::15/64', run=GUEST_RUN) as g:
            rc, console = g.wait(GUEST_TIMEOUT)
        t.ok(rc == 0, 'the guest command exits 0 (rc=%s)' % rc, diag=console)
        check_ping(t, console, 'small6', 'ping %s' % STUB_IP6)
        check_ping(t, console, 'large6', 'ping -s %d %s' % (LARGE6, STUB_IP6),
                   '%d bytes from %s' % (LARGE6 + 8, STUB_IP6))
        t.ok(re.search(r'^%s .*lladdr %s' % (re.escape(STUB_IP6), STUB_MAC),
                       section(console, 'neigh'), re.MULTILINE),
             'the guest learnt the stub\'s mac= %s by neighbour discovery'
             % STUB_MAC, diag=console)
        check_ping(t, console, 'linklocal', 'ping %s%%eth0' % STUB_LINK_LOCAL)
        check_ping(t, console, 'ipv4', 'ping %s (same run)' % STUB_IP)
        t.ok('DUP!' not in console, 'no duplicate replies', diag=console)
        rc = v.stop()
        t.ok(rc == 0, 'vmwire exits 0 on SIGTERM (rc=%s)' % rc, diag=v.log)
        t.ok(not SANITIZER_REPORT.search(v.log()), 'no sanitizer report',
             diag=v.log)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
