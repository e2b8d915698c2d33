#!/usr/bin/env python3
"""Self-check of the real-guest test harness, without vmwire.

Two guests are joined by QEMU's own socket backend (A listens, B connects):
B pings A and then sends A a line over TCP; A waits for that line and counts
the echo requests it answered. If this fails, the guest image or the harness
(tests/qtest/vmwire_test/) is broken, not vmwire. Also reports the guest
boot time under TCG as TAP diagnostics.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, Guest, free_port, guest_image,  # noqa: E402
                         ping_cmd, ping_stats, wait_port_bound)

IP_A, IP_B = '192.168.77.1', '192.168.77.2'
TCP_PORT = 7777
PINGS = 3

# A: wait (bounded) for B's "done" line over TCP, then report how many ICMP
# echo requests it answered. rc 0 only if both arrived.
RUN_A = r'''
timeout 60 nc -l -p %(port)d > /tmp/msg
replies=$(awk '/^Icmp:/ { if (seen) { for (i = 1; i <= NF; i++)
    if (name[i] == "OutEchoReps") print $i } else { seen = 1
    for (i = 1; i <= NF; i++) name[i] = $i } }' /proc/net/snmp)
echo "A: message '$(cat /tmp/msg)', answered $replies echo requests"
[ "$(cat /tmp/msg)" = done ] && [ "$replies" -ge %(pings)d ]
''' % {'port': TCP_PORT, 'pings': PINGS}

# B: wait until A answers (the guests boot concurrently), ping it, tell it we
# are done. rc is the ping's.
RUN_B = r'''
i=0
until ping -c 1 -W 1 %(a)s > /dev/null; do
    i=$((i + 1)); [ $i -ge 30 ] && break
done
%(ping)s
rc=$?
echo done | nc -w 5 %(a)s %(port)d || echo "B: nc failed"
exit $rc
''' % {'a': IP_A, 'ping': ping_cmd(IP_A, PINGS), 'port': TCP_PORT}


def main(t):
    guest_image()        # build first: the only case allowed to skip
    port = free_port('tcp')
    start = time.monotonic()
    with Guest('socket,listen=127.0.0.1:%d' % port, ip=IP_A + '/24',
               run=RUN_A) as a:
        t.ok(wait_port_bound(port, 'tcp', 10),
             'guest A listens on 127.0.0.1:%d' % port, diag=a.qemu_log)
        with Guest('socket,connect=127.0.0.1:%d' % port, ip=IP_B + '/24',
                   run=RUN_B) as b:
            boot = b.wait_up(60)
            t.ok(boot is not None, 'guest B boots',
                 diag=lambda: b.console() + b.qemu_log())
            if boot is not None:
                t.diag('guest boot time (QEMU start to VMWIRE-GUEST-UP): '
                       '%.2fs' % boot)
            rc_b, console_b = b.wait(60)
        t.ok(rc_b == 0, 'guest B pings guest A (rc=%s)' % rc_b,
             diag=console_b)
        t.ok('64 bytes from %s' % IP_A in console_b,
             'guest B console shows echo replies', diag=console_b)
        t.ok(ping_stats(console_b) == (PINGS, PINGS),
             'all %d pings answered' % PINGS, diag=console_b)
        rc_a, console_a = a.wait(30 if rc_b == 0 else 5)
        t.ok(rc_a == 0, 'guest A got the pings and the TCP message (rc=%s)'
             % rc_a, diag=console_a)
    t.diag('two guests, start to finish: %.2fs' % (time.monotonic() - start))


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
