#!/usr/bin/env python3
"""vmwire restarted under a running guest whose chardev has reconnect=1.

vmwire runs `-netdev vhost-user,id=v0,addr.type=unix,addr.path=P,hubid=0`
and a nic-stub at 10.0.2.100/24 on hub 0.  A real QEMU 7.2 guest on
vhost-user P, its chardev with reconnect=1, pings the stub (all answered)
and then probes it, one ping every 0.2 s.  Twice, with nothing done to the
guest or its QEMU:

  1. vmwire is stopped with SIGTERM (exit status 0, no sanitizer report):
     the guest's probes fail; a new vmwire with the same arguments starts
     on the same path; QEMU connects again by itself
     (NETDEV_STREAM_CONNECTED {netdev-id: v0.1} from the new vmwire) and
     the guest's probes are answered again.
  2. the same, but vmwire is killed with SIGKILL, leaving its socket file
     behind: the new vmwire still listens on P and the network comes back.

The guest ends with a last round of pings, all answered, no duplicates.
The last vmwire must exit 0 on SIGTERM with no sanitizer report.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vuguests import (GUEST_IP, STUB_IP, STUB_ON_HUB, VuRig,  # noqa: E402
                      secs, vhost_user_netdev)
from vmwire_test import (SANITIZER_REPORT, TAP, Guest,  # noqa: E402
                         guest_image, ping_cmd, ping_stats, section,
                         wait_ping_cmd)

GUEST_TIMEOUT = 150
PINGS = 5
OUTAGE = 30             # seconds the test waits for the guest to notice

# For each outage: probe until a probe fails, then until three in a row are
# answered ("== back N"); at most 300 probes per outage.
GUEST_CMD = (wait_ping_cmd(STUB_IP, 30) + 'echo "== first"\n' +
             ping_cmd(STUB_IP, PINGS) + r'''
rc=0
for round in 1 2; do
    n=0; seen_fail=0; oks=0
    while [ $oks -lt 3 ] || [ $seen_fail = 0 ]; do
        if ping -c 1 -W 1 %(ip)s > /dev/null 2>&1; then
            echo PROBE-OK; oks=$((oks + 1)); sleep 0.2
        else
            echo PROBE-FAIL; seen_fail=1; oks=0
        fi
        n=$((n + 1))
        [ $n -lt 300 ] || { echo "FAILED: round $round"; rc=1; break; }
    done
    echo "== back $round"
done
echo "== last"
''' % {'ip': STUB_IP} + ping_cmd(STUB_IP, PINGS) + ' || rc=1\nexit $rc\n')


def outage(t, rig, g, what, sig_kill):
    """Stop vmwire, wait until the guest notices, start it again; the
    guest's network must come back."""
    since = len(g.console())
    rc, log = rig.stop(sig_kill)
    if not sig_kill:
        t.ok(rc == 0 and not SANITIZER_REPORT.search(log),
             '%s: the old vmwire exits 0 on SIGTERM, no sanitizer report '
             '(rc=%s)' % (what, rc), diag=log)
    else:
        t.ok(rc == -9 and os.path.exists(rig.sock),
             '%s: the old vmwire is killed (rc=%s) and leaves its socket '
             'file behind' % (what, rc), diag=log)
    noticed = g.wait_console(r'^PROBE-FAIL$', secs(OUTAGE), since)
    t.ok(noticed is not None, '%s: the guest\'s probes fail while vmwire '
         'is gone' % what, diag=g.console)
    rig.start()
    ev = rig.event('NETDEV_STREAM_CONNECTED', secs(OUTAGE))
    want = {'netdev-id': 'v0.1', 'addr': {'type': 'unix', 'path': rig.sock}}
    t.ok(ev is not None and ev['data'] == want,
         '%s: QEMU reconnects to the new vmwire by itself: '
         'NETDEV_STREAM_CONNECTED %s (got %s)' % (what, want, ev),
         diag=lambda: rig.v.log() + g.qemu_log())
    got = rig.info('v0.1.conn')
    t.ok(got == 'type=vhost-user,vhost-user: frontend on ' + rig.sock,
         '%s: info network: v0.1.conn "vhost-user: frontend on P" (got %r)'
         % (what, got))
    back = g.wait_console(r'^== back \d$', secs(OUTAGE), since)
    t.ok(back is not None and 'FAILED' not in g.console()[since:back.end()],
         '%s: the guest\'s network comes back (three probes in a row '
         'answered)' % what,
         diag=lambda: g.console() + rig.v.log() + g.qemu_log())


def main(t):
    guest_image()
    args = ['-netdev', vhost_user_netdev('v0', VuRig.SOCK, hubid=0)]
    with VuRig(args + STUB_ON_HUB) as rig:
        start = time.monotonic()
        with Guest(None, vhost_user=rig.sock, reconnect=1, ip=GUEST_IP,
                   run=GUEST_CMD) as g:
            probing = g.wait_console(r'^PROBE-OK$', secs(GUEST_TIMEOUT))
            t.ok(probing is not None and ping_stats(
                section(g.console(), 'first')) == (PINGS, PINGS),
                 'the guest pings the stub, all answered, then probes',
                 diag=lambda: g.console() + rig.v.log() + g.qemu_log())
            outage(t, rig, g, 'SIGTERM', sig_kill=False)
            outage(t, rig, g, 'SIGKILL', sig_kill=True)
            rc, console = g.wait(secs(GUEST_TIMEOUT))
        t.diag('guest: %.1fs' % (time.monotonic() - start))
        last = section(console, 'last')
        t.ok(rc == 0 and ping_stats(last) == (PINGS, PINGS) and
             'DUP!' not in last,
             'after both restarts all %d last pings are answered, no '
             'duplicates (rc=%s, %s)' % (PINGS, rc, ping_stats(last)),
             diag=console)
        joined = re.findall(r'^vmwire: v0\.1: VM %s joined hub 0$'
                            % re.escape(g.mac), rig.v.log(), re.MULTILINE)
        t.ok(len(joined) == 1, 'the last vmwire logs "v0.1: VM %s joined '
             'hub 0" once' % g.mac, diag=rig.v.log)
        rig.check_exit(t, 'reconnect')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
