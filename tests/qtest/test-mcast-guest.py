#!/usr/bin/env python3
"""Two real QEMU guests and two vmwire processes share one multicast segment.

Everything joins `mcast=GROUP:PORT,localaddr=127.0.0.1` (a random group in
239.255.0.0/16 and a free UDP port, so parallel runs do not meet):

    vmwire 1   nic-stub 10.0.2.100
    vmwire 2   nic-stub 10.0.2.101     (several vmwire processes on a group)
    guest A    10.0.2.15               (stock qemu-system-x86_64, virtio-net)
    guest B    10.0.2.16

Each guest pings both stubs and the other guest; every echo request must be
answered, exactly once (busybox ping marks a second reply "DUP!"), and each
stub must be found at its own mac= in the guests' ARP tables.

The guests boot at the same time but not in step, so each first waits
(bounded) until the stub and the other guest answer, and before powering
off each tells the other over TCP that it is done and waits for the other's
word: neither leaves while the other still pings it. Both vmwire processes
must exit 0 on SIGTERM with no sanitizer report.
"""

import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (GUEST_SH_PRELUDE, TAP, Guest,  # noqa: E402
                         Vmwire, check_vmwire_exit, free_port,
                         guest_done_handshake, guest_done_listen,
                         guest_image, ping_cmd, ping_stats, section)

STUB1_IP, STUB1_MAC = '10.0.2.100', '52:54:00:00:02:64'
STUB2_IP, STUB2_MAC = '10.0.2.101', '52:54:00:00:02:65'
GUEST_A_IP, GUEST_B_IP = '10.0.2.15', '10.0.2.16'
PINGS = 5
DONE_PORT = 7777        # TCP port in the guests for the "done" handshake
GUEST_TIMEOUT = 90

# The guest command. Sections start with "== name" so the test can find each
# ping's summary. rc 0 only if every step worked.
GUEST_RUN = (guest_done_listen(DONE_PORT) + GUEST_SH_PRELUDE + r'''
wait_for %(stub1)s 20 || fail "%(stub1)s never answered"
echo "== stub1"
%(ping_stub1)s || fail "ping %(stub1)s"
wait_for %(peer)s 40 || fail "%(peer)s never answered"
echo "== peer"
%(ping_peer)s || fail "ping %(peer)s"
echo "== stub2"
%(ping_stub2)s || fail "ping %(stub2)s"
echo "== done"
%(handshake)s
echo "== arp"
cat /proc/net/arp
exit $rc
''')


def guest_run(peer):
    return GUEST_RUN % {
        'handshake': guest_done_handshake(peer, DONE_PORT),
        'stub1': STUB1_IP, 'stub2': STUB2_IP, 'peer': peer,
        'ping_stub1': ping_cmd(STUB1_IP, PINGS),
        'ping_peer': ping_cmd(peer, PINGS),
        'ping_stub2': ping_cmd(STUB2_IP, PINGS),
    }


def check_guest(t, name, rc, console, peer_ip):
    t.ok(rc == 0, 'guest %s: command exits 0 (rc=%s)' % (name, rc),
         diag=console)
    for sec, target in (('stub1', 'vmwire 1\'s stub %s' % STUB1_IP),
                        ('peer', 'the other guest %s' % peer_ip),
                        ('stub2', 'vmwire 2\'s stub %s' % STUB2_IP)):
        stats = ping_stats(section(console, sec))
        t.ok(stats == (PINGS, PINGS), 'guest %s: all %d pings to %s '
             'answered (got %s)' % (name, PINGS, target, stats),
             diag=console)
    t.ok('DUP!' not in console, 'guest %s: no duplicate replies' % name,
         diag=console)
    arp = section(console, 'arp')
    for ip, mac in ((STUB1_IP, STUB1_MAC), (STUB2_IP, STUB2_MAC)):
        t.ok(re.search(r'^%s\s.*\s%s\s' % (re.escape(ip), mac), arp,
                       re.MULTILINE),
             'guest %s: ARP says %s is at %s' % (name, ip, mac),
             diag=console)


def main(t):
    guest_image()        # build first: the only case allowed to skip
    group = '239.255.%d.%d' % (random.randint(0, 255), random.randint(1, 254))
    port = free_port('udp')
    mcast = 'mcast=%s:%d,localaddr=127.0.0.1' % (group, port)
    t.diag('segment: %s' % mcast)

    def stub(ip, mac):
        return ['-netdev', 'socket,id=m0,' + mcast, '-device',
                'nic-stub,id=s0,netdev=m0,mac=%s,ip=%s/24' % (mac, ip)]

    start = time.monotonic()
    with Vmwire(stub(STUB1_IP, STUB1_MAC)) as v1, \
         Vmwire(stub(STUB2_IP, STUB2_MAC)) as v2:
        with Guest('socket,' + mcast, ip=GUEST_A_IP + '/24',
                   run=guest_run(GUEST_B_IP)) as a, \
             Guest('socket,' + mcast, ip=GUEST_B_IP + '/24',
                   run=guest_run(GUEST_A_IP)) as b:
            rc_a, console_a = a.wait(GUEST_TIMEOUT)
            rc_b, console_b = b.wait(GUEST_TIMEOUT)
        check_guest(t, 'A', rc_a, console_a, GUEST_B_IP)
        check_guest(t, 'B', rc_b, console_b, GUEST_A_IP)
        t.ok(v1.proc.poll() is None and v2.proc.poll() is None,
             'both vmwire processes still run after the guests left',
             diag=lambda: v1.log() + v2.log())
        check_vmwire_exit(t, 'vmwire 1', v1)
        check_vmwire_exit(t, 'vmwire 2', v2)
    t.diag('two guests, two vmwire: %.1fs' % (time.monotonic() - start))


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
