#!/usr/bin/env python3
"""Bulk TCP both ways between a vhost-user guest and a stream guest on one hub.

vmwire runs `-netdev vhost-user,id=v0,...,hubid=0` and a unix `-netdev
stream,id=u0,server=on,hubid=0` listener: two ports of hub 0, no stub.
Guest A (10.0.7.1) is on vhost-user, guest B (10.0.7.2) on QEMU's own
`-netdev stream`.  Each makes SIZE random bytes and sends them to the
other with nc while receiving the other's (both directions at once, so
vmwire fills A's RX ring while draining its TX ring); each prints the md5
and length of what it sent and of what it got.  A's sent md5 must be B's
received one and the other way round, SIZE bytes each way; while A is
still up, v0.1.conn's counters show at least SIZE bytes each way; both
guests joined hub 0 on their own port (v0.1, u0.1).

Three times, each with a fresh vmwire and guests (A is always v0.1,
connected before B starts):
  mtu1500   the guests' default MTU;
  mtu9000   both guests set MTU 9000 and, before the transfer, ping each
            other with 8972 bytes of ICMP data (9014-byte frames, more
            than one of the Linux driver's mergeable RX buffers, so
            vmwire must spread each over several: MRG_RXBUF): all
            answered.  (The transfer's segment sizes depend on timing.)
  vhost-user pair   as mtu9000, but B is on vhost-user too (port v0.2):
            frames go from one guest's TX ring straight into the other's
            RX ring.

vmwire must exit 0 on SIGTERM with no sanitizer report after each.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vuguests import VuRig, secs, vhost_user_netdev  # noqa: E402
from vmwire_test import (GUEST_SH_PRELUDE, TAP, Guest,  # noqa: E402
                         guest_done_handshake, guest_done_listen,
                         guest_image, ping_cmd, ping_stats, section)

GUEST_TIMEOUT = 150
BLOCKS = 128                    # of 64 KiB: 8 MiB each way
SIZE = BLOCKS * 65536
DONE_PORT = 5002
JUMBO_PINGS = 5

# Receive on 5001 (stdin a FIFO nobody closes, so nc does not hang up
# first), make the data, wait for the peer, send until a connection takes
# it all, wait for the peer's data, report, then the done handshake.
GUEST_CMD = GUEST_SH_PRELUDE + r'''
ip link set eth0 mtu %(mtu)d || fail "cannot set MTU %(mtu)d"
%(done_listen)s
mkfifo /tmp/f; exec 3<>/tmp/f
nc -l -p 5001 < /tmp/f > /tmp/in &
receiver=$!
dd if=/dev/urandom of=/tmp/out bs=65536 count=%(blocks)d 2>/dev/null
wait_for %(peer)s 60 || fail "%(peer)s never answered"
%(jumbo)s
echo SEND-START
i=0
until nc %(peer)s 5001 < /tmp/out; do
    i=$((i + 1))
    [ $i -lt 20 ] || { fail "cannot send to %(peer)s"; break; }
    sleep 1
done
wait $receiver
echo "SENT:$(md5sum < /tmp/out | cut -d' ' -f1) $(wc -c < /tmp/out)"
echo "RECV:$(md5sum < /tmp/in | cut -d' ' -f1) $(wc -c < /tmp/in)"
%(pause)s
%(handshake)s
exit $rc
'''


def jumbo_cmd(peer, mtu):
    """Guest shell: ping peer with frames of the full MTU (nothing at
    1500: the ping test covers it)."""
    if mtu <= 1500:
        return ''
    return ('echo "== jumbo"\n%s || fail "jumbo ping"\necho "== jumbo end"'
            % ping_cmd(peer, JUMBO_PINGS).replace(
                'ping ', 'ping -s %d ' % (mtu - 28), 1))


def guest_cmd(peer, mtu, pause=''):
    return GUEST_CMD % {'done_listen': guest_done_listen(DONE_PORT),
                        'blocks': BLOCKS, 'peer': peer, 'pause': pause,
                        'mtu': mtu, 'jumbo': jumbo_cmd(peer, mtu),
                        'handshake': guest_done_handshake(peer, DONE_PORT)}


def sums(console, what):
    """(md5, length) a guest printed as WHAT:md5 length, or None."""
    match = re.search(r'^%s:(\w+) +(\d+)$' % what, console, re.MULTILINE)
    return (match.group(1), int(match.group(2))) if match else None


def check_counters(t, rig, a, what):
    """v0.1.conn's counters while A is still up (it pauses after RECV)."""
    got = a.wait_console(r'^RECV:', secs(GUEST_TIMEOUT))
    conn = rig.clients().get('v0.1.conn', {}) if got else {}
    t.ok(conn.get('rx-bytes', 0) >= SIZE and conn.get('tx-bytes', 0) >= SIZE,
         '%s: x-query-network: v0.1.conn moved at least %d bytes each '
         'way (rx %s, tx %s)' % (what, SIZE, conn.get('rx-bytes'),
                                 conn.get('tx-bytes')),
         diag=lambda: repr(conn) + '\n' + a.console())


def check_transfer(t, what, mtu, b_kind, rc_a, con_a, rc_b, con_b):
    both = '--- A (vhost-user):\n%s\n--- B (%s):\n%s' % (con_a, b_kind,
                                                        con_b)
    t.ok(rc_a == 0 and rc_b == 0, '%s: both guests\' commands exit 0 '
         '(A %s, B %s)' % (what, rc_a, rc_b), diag=both)
    if mtu > 1500:
        jumbo = (ping_stats(section(con_a, 'jumbo')),
                 ping_stats(section(con_b, 'jumbo')))
        want = (JUMBO_PINGS, JUMBO_PINGS)
        t.ok(jumbo == (want, want), '%s: %d-byte pings both ways all '
             'answered (A to B %s, B to A %s)' % (what, mtu - 28, *jumbo),
             diag=both)
    sent_a, recv_b = sums(con_a, 'SENT'), sums(con_b, 'RECV')
    t.ok(sent_a is not None and sent_a == recv_b and sent_a[1] == SIZE,
         '%s: vhost-user guest A to %s guest B: %d bytes, md5 the same at '
         'both ends (sent %s, received %s)' % (what, b_kind, SIZE, sent_a,
                                               recv_b),
         diag=both)
    sent_b, recv_a = sums(con_b, 'SENT'), sums(con_a, 'RECV')
    t.ok(sent_b is not None and sent_b == recv_a and sent_b[1] == SIZE,
         '%s: %s guest B to vhost-user guest A: %d bytes, md5 the same at '
         'both ends (sent %s, received %s)' % (what, b_kind, SIZE, sent_b,
                                               recv_a),
         diag=both)


def guest_b(rig, b_kind, mtu):
    """Guest B: on the stream listener u0, or on v0 like A."""
    if b_kind == 'stream':
        return Guest('stream,addr.type=unix,addr.path=' +
                     os.path.join(rig.dir, 's.sock'),
                     ip='10.0.7.2/24', run=guest_cmd('10.0.7.1', mtu))
    return Guest(None, vhost_user=rig.sock, ip='10.0.7.2/24',
                 run=guest_cmd('10.0.7.1', mtu))


def scenario(t, what, mtu, b_kind):
    with VuRig(['-netdev', vhost_user_netdev('v0', VuRig.SOCK, hubid=0),
                '-netdev', 'stream,id=u0,server=on,hubid=0,addr.type=unix,'
                'addr.path=' + os.path.join(VuRig.DIR, 's.sock')]) as rig:
        start = time.monotonic()
        with Guest(None, vhost_user=rig.sock, ip='10.0.7.1/24',
                   run=guest_cmd('10.0.7.2', mtu, pause='sleep 2')) as a:
            # A is v0.1 before B starts (B may be v0.2).
            ev = rig.event('NETDEV_STREAM_CONNECTED', secs(60))
            t.ok(ev is not None and ev['data']['netdev-id'] == 'v0.1',
                 '%s: guest A is on port v0.1 (got %s)' % (what, ev),
                 diag=lambda: rig.v.log() + a.qemu_log())
            with guest_b(rig, b_kind, mtu) as b:
                check_counters(t, rig, a, what)
                rc_a, con_a = a.wait(secs(GUEST_TIMEOUT))
                rc_b, con_b = b.wait(secs(GUEST_TIMEOUT))
        t.diag('%s: guests: %.1fs' % (what, time.monotonic() - start))
        check_transfer(t, what, mtu, b_kind, rc_a, con_a, rc_b, con_b)
        port_b = 'u0.1' if b_kind == 'stream' else 'v0.2'
        log = rig.v.log()
        t.ok(re.search(r'^vmwire: v0\.1: VM %s joined hub 0$'
                       % re.escape(a.mac), log, re.MULTILINE) and
             re.search(r'^vmwire: %s: VM %s joined hub 0$'
                       % (re.escape(port_b), re.escape(b.mac)), log,
                       re.MULTILINE),
             '%s: each guest joined hub 0 on its own port (v0.1, %s)'
             % (what, port_b), diag=log)
        rig.check_exit(t, what)


def main(t):
    guest_image()
    for what, mtu, b_kind in (('mtu1500', 1500, 'stream'),
                              ('mtu9000', 9000, 'stream'),
                              ('vhost-user pair', 9000, 'vhost-user')):
        with t.scenario(what):
            scenario(t, what, mtu, b_kind)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
