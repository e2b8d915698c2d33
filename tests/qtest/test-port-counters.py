#!/usr/bin/env python3
"""Per-port counters of a hub, seen through x-query-network and info network.

vmwire runs a three-port hub (p0, p1, p2), each port on a socket
listener (n0, n1, n2) with a Python stream peer:

  exact      peer 0 sends FRAMES broadcast frames of SIZE bytes: p0 counts
             them in (rx), p1 and p2 out (tx), n0 out and n1/n2 in, frame
             for frame and byte for byte; peers 1 and 2 get exactly them.
  reasons    a runt (10 bytes) is dropped-malformed on p0, an 802.1Q
             tagged frame on this access port dropped-vlan; with n2's link
             set down a broadcast is dropped-link-down on p2; `dropped` is
             their sum.
  queue-full peer 2 stops reading (small receive buffer) while peer 0 sends
             FLOOD broadcast frames of 1000 bytes: p2 and n2 count the
             frames lost as dropped-queue-full, n2's queue high-water mark
             reaches the bound (1024 frames), p2's tx + its drops + the
             1024 still queued account for every frame, and peer 1 gets
             all FLOOD frames (no head-of-line blocking).
  info       `info network` prints QEMU 7.2's hub text ("hub 0", then
             " \\ p2: n2: index=0,type=socket,..." newest port first) and
             vmwire's "  counters ID: ..." lines under each port (its
             peer's, then its own), with x-query-network's numbers.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hubpeers import BROADCAST, HubRig, eth, mac, secs  # noqa: E402
from vmwire_test import TAP, qemu_info_network  # noqa: E402

FRAMES = 25
SIZE = 200
FLOOD = 6000
QUEUE_BOUND = 1024      # NET_QUEUE_DEFAULT_FRAMES


def frame(src, size, seq=0):
    body = seq.to_bytes(4, 'big')
    return eth(BROADCAST, src, body + b'\0' * (size - 14 - len(body)))


def wait_counter(rig, cid, key, value, timeout=10.0):
    deadline = time.monotonic() + secs(timeout)
    while True:
        c = rig.clients()[cid]
        if c[key] >= value or time.monotonic() > deadline:
            return c


def test_exact(t, rig, peers):
    before = rig.clients()
    peers[0].send_frames([frame(mac(1), SIZE, i) for i in range(FRAMES)])
    got1 = peers[1].recv_frames(FRAMES)
    got2 = peers[2].recv_frames(FRAMES)
    t.ok(len(got1) == FRAMES and len(got2) == FRAMES and
         all(len(f) == SIZE for f in got1 + got2) and
         peers[1].quiet(0.3) == [],
         'peers 1 and 2 each get exactly the %d frames' % FRAMES,
         diag='%d %d' % (len(got1), len(got2)))
    c = rig.clients()

    def delta(cid, key):
        return c[cid][key] - before[cid][key]
    want = {('p0', 'rx'), ('p1', 'tx'), ('p2', 'tx'), ('n0', 'tx'),
            ('n1', 'rx'), ('n2', 'rx')}
    for cid, d in sorted(want):
        t.ok((delta(cid, d + '-frames'), delta(cid, d + '-bytes')) ==
             (FRAMES, FRAMES * SIZE),
             '%s: %s-frames +%d, %s-bytes +%d'
             % (cid, d, FRAMES, d, FRAMES * SIZE),
             diag=repr(c[cid]))
    t.ok(all(delta(cid, k) == 0 for cid in ('p0', 'p1', 'p2')
             for k in ('dropped', 'oversized')) and
         delta('p0', 'tx-frames') == 0 and delta('p1', 'rx-frames') == 0,
         'no drops, nothing counted the wrong way', diag=repr(c))


def test_reasons(t, rig, peers):
    before = rig.clients()
    runt = mac(1) + mac(1)[:4]
    tagged = BROADCAST + mac(1) + bytes([0x81, 0x00, 0x00, 0x05, 0x08,
                                         0x00]) + b'\0' * 50
    peers[0].send_frames([runt, tagged, runt])
    c = wait_counter(rig, 'p0', 'dropped', before['p0']['dropped'] + 3)
    t.ok(c['dropped-malformed'] - before['p0']['dropped-malformed'] == 2,
         'p0: two runts counted dropped-malformed', diag=repr(c))
    t.ok(c['dropped-vlan'] - before['p0']['dropped-vlan'] == 1,
         'p0: a tagged frame on an access port counted dropped-vlan',
         diag=repr(c))
    t.ok(peers[1].quiet(0.3) == [], 'none of them is forwarded')

    rig.q.cmd('set_link', {'name': 'n2', 'up': False})
    peers[0].send_frames([frame(mac(1), 100)])
    t.ok(len(peers[1].recv_frames(1)) == 1, 'the broadcast reaches peer 1')
    c = rig.clients()
    p2 = c['p2']
    t.ok(p2['dropped-link-down'] - before['p2']['dropped-link-down'] == 1,
         'p2 (link down): the broadcast counted dropped-link-down',
         diag=repr(p2))
    rig.q.cmd('set_link', {'name': 'n2', 'up': True})
    t.ok(all(x['dropped'] == x['dropped-queue-full'] +
             x['dropped-link-down'] + x['dropped-malformed'] +
             x['dropped-vlan'] for x in c.values()),
         'dropped is the sum of the reasons, for every client',
         diag=repr(c))


def test_queue_full(t, rig, peers, slow):
    before = rig.clients()
    got = []

    def reader():
        while len(got) < FLOOD:
            f = peers[1].recv_frame(60)
            if f is None:
                return
            got.append(f)
    th = threading.Thread(target=reader)
    th.start()
    frames = [frame(mac(1), 1000, i) for i in range(FLOOD)]
    for i in range(0, FLOOD, 500):
        # Peer 1 has read the batches before this one: at most 500 frames
        # are on their way to it, within its queue's bound (1024), so a
        # reader the machine's load slows down loses nothing; peer 2,
        # which never reads, still fills its queue and loses frames.
        deadline = time.monotonic() + secs(60)
        while len(got) < i and th.is_alive() and \
                time.monotonic() < deadline:
            time.sleep(0.005)
        peers[0].send_frames(frames[i:i + 500])
    th.join()
    t.ok(len(got) == FLOOD, 'peer 1 gets all %d frames while peer 2 is '
         'stuck (got %d)' % (FLOOD, len(got)))
    c = wait_counter(rig, 'p0', 'rx-frames', before['p0']['rx-frames'] +
                     FLOOD)
    c = rig.clients()
    p2, n2 = c['p2'], c['n2']
    lost = p2['dropped-queue-full'] - before['p2']['dropped-queue-full']
    t.ok(lost > 0, 'p2: frames lost to the full queue counted '
         'dropped-queue-full (%d)' % lost, diag=repr(p2))
    t.ok(n2['dropped-queue-full'] - before['n2']['dropped-queue-full'] ==
         lost, 'n2 counts the same %d drops' % lost, diag=repr(n2))
    t.ok(n2['queue-high-water-frames'] == QUEUE_BOUND and
         n2['queue-high-water-bytes'] == QUEUE_BOUND * 1000,
         "n2's queue high-water mark reaches the bound: %d frames, %d bytes"
         % (QUEUE_BOUND, QUEUE_BOUND * 1000), diag=repr(n2))
    sent = p2['tx-frames'] - before['p2']['tx-frames']
    t.ok(sent + lost + QUEUE_BOUND == FLOOD,
         'p2: tx %d + dropped %d + %d still queued == %d'
         % (sent, lost, QUEUE_BOUND, FLOOD), diag=repr(p2))
    t.ok(c['p1']['dropped'] == before['p1']['dropped'] and
         c['n1']['queue-high-water-frames'] < QUEUE_BOUND,
         'p1 loses nothing', diag=repr(c['p1']))
    return c


def counters_line(x):
    return ('  counters %s: rx=%d/%d tx=%d/%d dropped=%d (queue-full=%d '
            'link-down=%d malformed=%d vlan=%d) oversized=%d resets=%d '
            'queue-high-water=%d/%d\r\n' % (
                x['id'], x['rx-frames'], x['rx-bytes'], x['tx-frames'],
                x['tx-bytes'], x['dropped'], x['dropped-queue-full'],
                x['dropped-link-down'], x['dropped-malformed'],
                x['dropped-vlan'], x['oversized'], x['resets'],
                x['queue-high-water-frames'], x['queue-high-water-bytes']))


def test_info(t, rig):
    text = rig.hmp('info network')
    c = rig.clients()
    want = 'hub 0\r\n'
    for i in (2, 1, 0):
        n, p = c['n%d' % i], c['p%d' % i]
        want += (' \\ p%d: n%d: index=0,type=socket,%s\r\n' % (i, i, n['info'])
                 + counters_line(n) + counters_line(p))
    t.ok(text == want, "info network: QEMU's hub lines (newest port first), "
         "each followed by vmwire's counters lines for the peer and the "
         "port, with x-query-network's numbers", diag=repr(text))
    qemu = qemu_info_network(text)
    t.ok(qemu == 'hub 0\r\n' + ''.join(
        ' \\ p%d: n%d: index=0,type=socket,%s\r\n'
        % (i, i, c['n%d' % i]['info']) for i in (2, 1, 0)),
         "without the counters lines it is QEMU 7.2's text", diag=repr(qemu))


def main():
    with TAP() as t:
        # One vmwire per scenario: counters and queues start from zero.
        for name, scenario in (
                ('exact counts', test_exact),
                ('drop reasons', test_reasons),
                # Peer 2 reads nothing.
                ('queue full', lambda t, rig, peers:
                 test_queue_full(t, rig, peers, peers[2])),
                ('info network', lambda t, rig, peers: test_info(t, rig))):
            with t.scenario(name), HubRig(['hubid=0'] * 3) as rig:
                scenario(t, rig, [rig.connect(0), rig.connect(1),
                                  rig.connect(2, rcvbuf=4096)])


if __name__ == '__main__':
    main()
