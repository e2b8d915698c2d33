#!/usr/bin/env python3
"""vhost-user rings the way other frontends set them up.

A Python frontend (vmwire_test.vhost_user) on `-netdev vhost-user,id=v0`,
a port of hub 0 with a nic-stub and a stream listener; each scenario gets
a vmwire of its own:

  * minimal features (VERSION_1 and PROTOCOL_FEATURES only): one RX buffer
    per frame (9216 bytes), frames both ways intact, a frame too big for
    one buffer dropped.
  * notifications: with EVENT_IDX a call exactly when used_event asks,
    avail_event asking for the next kick; without it the NO_INTERRUPT and
    NO_NOTIFY flags (calls counted on the eventfd).
  * three memory regions (one memfd mapped three times): a TX and an RX
    buffer straddle region boundaries.
  * stop and cont: GET_VRING_BASE answers each ring's next avail index, a
    stopped ring takes nothing, the rings set up again from those bases go
    on (QEMU's stop/cont).

At the end SIGTERM must give exit status 0 and no sanitizer report, for
every scenario's vmwire (vmwire_test.VmwireRuns).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import TAP, StreamPeer, cpu_seconds, free_port  # noqa: E402
from vmwire_test import vhost_user as vu  # noqa: E402
from vhostpeers import (BROADCAST, FE_MAC, PEER_MAC, SIZES,  # noqa: E402
                        VuRig, describe, eth, exchange, inject, ip_of, mac,
                        numbered, ping_stub, run_scenarios, secs,
                        single_rig_args, stub_device, take, vhost_user_netdev,
                        wait_peer_joined, wait_used_idx)


def minimal(t, d, record):
    """Only VERSION_1 and PROTOCOL_FEATURES: no mergeable buffers, no
    EVENT_IDX (flags for notifications), no indirect descriptors."""
    port = free_port()
    with VuRig(t, single_rig_args(d, port), d, record) as rig:
        fe = rig.connect('v0.sock')
        fe.rx_buf_size = 9216
        fe.start(features=(1 << vu.F_VERSION_1) |
                 (1 << vu.F_PROTOCOL_FEATURES))
        fe.post_rx(64)
        ok, why = ping_stub(fe, FE_MAC, ip_of(15))
        t.ok(fe.features == (1 << vu.F_VERSION_1) |
             (1 << vu.F_PROTOCOL_FEATURES) and ok,
             'VERSION_1 and PROTOCOL_FEATURES only: ARP and ping of the stub '
             'work', diag=why)
        peer = rig.own(StreamPeer(port))
        wait_peer_joined(rig, port)
        small = [n for n in SIZES if n <= 9000]
        for layout in ('single', 'split'):
            exchange(t, fe, peer, 'no MRG_RXBUF, 9216-byte RX buffers, TX '
                     'layout %s' % layout, layout, sizes=small)
        big = numbered(FE_MAC, PEER_MAC, 77, 12000)
        after = numbered(FE_MAC, PEER_MAC, 78, 100)
        peer.send_frames([big, after])
        got = take(fe, 1, quiet=0.5)
        t.ok(got == [after], 'a 12000-byte frame does not fit one RX buffer '
             'without MRG_RXBUF: it is dropped, the next frame arrives',
             diag=repr([describe(f) for f in got]))


def port_and_stub_args(d, extra):
    """v0 (with options extra) and a stub on hub 0."""
    return (vhost_user_netdev('v0', os.path.join(d, 'v0.sock'), extra) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs'))


def notifications(t, d, record):
    """Calls on RX and kicks on TX as EVENT_IDX, or the flags, ask (no
    busy polling: kicks are asked for after every drain)."""
    args = port_and_stub_args(d, ',poll-max-ns=0')
    with VuRig(t, args, d, record) as rig:
        fe = rig.frontend('v0.sock', rx=128)
        rx, tx = fe.rings[vu.RX], fe.rings[vu.TX]
        frame = eth(FE_MAC, mac(99), b'notify me')
        rx.calls()
        rx.set_used_event(rx.last_used)
        inject(rig, frame)
        fired = rx.wait_call(secs(5))
        t.ok(fired and wait_used_idx(rx, rx.last_used + 1),
             'EVENT_IDX: used_event at the next entry: a frame comes with a '
             'call')
        got = fe.recv_frame(1)
        rx.calls()
        rx.set_used_event((rx.last_used - 1) & 0xffff)    # passed: no call
        start = rx.last_used
        for _ in range(20):
            inject(rig, frame)
        used = wait_used_idx(rx, (start + 20) & 0xffff)
        time.sleep(secs(0.2))
        t.ok(got == frame and used and rx.calls() == 0,
             'EVENT_IDX: used_event left behind: 20 frames come without a '
             'call')
        got = [fe.recv_frame(1) for _ in range(20)]
        rx.calls()
        rx.set_used_event(rx.last_used)
        inject(rig, frame)
        t.ok(all(f == frame for f in got) and rx.wait_call(secs(5)),
             'EVENT_IDX: used_event set again: the next frame is called')
        fe.recv_frame(1)
        for i in range(5):
            fe.send_frame(eth(BROADCAST, FE_MAC, b'kick %d' % i))
            fe.tx_done()
        t.ok(tx.avail_event() == tx.avail_idx and tx.kicks == 5,
             'EVENT_IDX: after draining TX vmwire asks for the next kick '
             '(avail_event = avail idx %d); one kick per frame sent one at '
             'a time' % tx.avail_idx,
             diag='avail_event %d, kicks %d' % (tx.avail_event(), tx.kicks))
        fe.close()
        rig.wait_clients(lambda c: not c['v0']['link-up'])

        fe = rig.connect('v0.sock')
        fe.start(features=vu.OFFERED_FEATURES & ~(1 << vu.F_EVENT_IDX))
        fe.post_rx(128)
        rx, tx = fe.rings[vu.RX], fe.rings[vu.TX]
        ok, why = ping_stub(fe, FE_MAC, ip_of(15))
        rx.calls()
        rx.set_avail_flags(vu.AVAIL_NO_INTERRUPT)
        start = rx.last_used
        for _ in range(5):
            inject(rig, frame)
        used = wait_used_idx(rx, (start + 5) & 0xffff)
        time.sleep(secs(0.2))
        t.ok(ok and used and rx.calls() == 0,
             'without EVENT_IDX: VRING_AVAIL_F_NO_INTERRUPT: 5 frames come '
             'without a call', diag=why)
        [fe.recv_frame(1) for _ in range(5)]
        rx.set_avail_flags(0)
        rx.calls()
        inject(rig, frame)
        t.ok(rx.wait_call(secs(5)), 'the flag cleared: the next frame is '
             'called')
        fe.recv_frame(1)
        fe.send_frame(eth(BROADCAST, FE_MAC, b'kick'))
        fe.tx_done()
        t.ok(not tx.used_flags() & vu.USED_NO_NOTIFY,
             'after draining TX, VRING_USED_F_NO_NOTIFY is clear (kicks '
             'wanted)', diag='used flags %#x' % tx.used_flags())


def busy_poll(t, d, record):
    """poll-max-ns: frames that follow each other closely keep vmwire
    looking at the TX ring between them; the frontend (which kicks only
    when avail_event asks) is told not to kick, and every frame arrives.
    Once the flow stops vmwire goes back to sleep: no CPU while idle."""
    args = port_and_stub_args(d, ',poll-max-ns=1000000000')
    with VuRig(t, args, d, record) as rig:
        fe = rig.frontend('v0.sock', rx=128)
        tx = fe.rings[vu.TX]
        n = 200
        for i in range(n):
            fe.send_frame(eth(BROADCAST, FE_MAC, b'flow %d' % i))
            fe.tx_done()
        clients = rig.wait_clients(lambda c: c['v0']['tx-frames'] >= n)
        t.ok(clients['v0']['tx-frames'] == n and tx.kicks < n // 4,
             'a steady flow of %d frames: vmwire polls between them, the '
             'frontend was asked for %d kicks, every frame arrived'
             % (n, tx.kicks), diag='tx-frames %d'
             % clients['v0']['tx-frames'])
        time.sleep(secs(1.5))           # the window is at most 1 s
        before = cpu_seconds(rig.v.proc.pid)
        time.sleep(1.0)
        used = cpu_seconds(rig.v.proc.pid) - before
        t.ok(used < 0.1, 'the flow stopped: vmwire sleeps again (%.2f s of '
             'CPU in 1 s)' % used)
        kicks = tx.kicks
        fe.send_frame(eth(BROADCAST, FE_MAC, b'after the pause'))
        t.ok(fe.tx_done() and tx.kicks == kicks + 1,
             'after its window vmwire asks for kicks again: the next frame '
             'is kicked and taken', diag='kicks %d -> %d' % (kicks, tx.kicks))


def two_regions(t, d, record):
    """Guest memory in three regions (one memfd, three mappings); a TX
    buffer and an RX buffer each straddle a boundary between two."""
    port = free_port()
    with VuRig(t, single_rig_args(d, port), d, record) as rig:
        fe = rig.connect('v0.sock')
        fe.negotiate()
        rx, tx = fe.rings[vu.RX], fe.rings[vu.TX]
        b1, b2 = rx.slot(10), tx.slot(10)
        size = fe.mem.size
        fe.set_mem_table([vu.Region(0, b1, vu.UVA_BASE, 0),
                          vu.Region(b1, b2 - b1, vu.UVA_BASE + b1, b1),
                          vu.Region(b2, size - b2, vu.UVA_BASE + b2, b2)])
        for index in (vu.RX, vu.TX):
            fe.setup_ring(index)
            fe.enable(index)
        # RX: the first buffer is slots 9-10's bytes around b1.
        for ring in (rx, tx):
            ring.free.remove(9)
            ring.free.remove(10)
            ring.chains[9] = [9, 10]
        rx.write_desc(9, b1 - 1000, 2048, vu.DESC_WRITE)
        rx.publish(9)
        fe.post_rx(64)
        peer = rig.own(StreamPeer(port))
        wait_peer_joined(rig, port)
        ok, why = ping_stub(fe, FE_MAC, ip_of(15))
        first = rx.used_elem(0)
        t.ok(ok and first[0] == 9,
             'three memory regions: the frontend pings the stub, the reply '
             'lands in the RX buffer that straddles two regions',
             diag='%s; first used %r' % (why, first))
        peer.recv_all(0.2)
        frame = numbered(PEER_MAC, FE_MAC, 5, 1514)
        data = vu.vnet_header() + frame
        fe.mem.write(b2 - 1000, data)
        tx.write_desc(9, b2 - 1000, len(data))
        old = tx.avail_idx
        tx.publish(9)
        tx.kick_if_needed(old)
        got = peer.recv_frame(5)
        t.ok(got == frame, 'a 1514-byte TX buffer straddling two regions '
             'reaches the stream peer intact', diag=describe(got))
        exchange(t, fe, peer, 'three memory regions', sizes=SIZES[:14])


def stop_cont(t, d, record):
    """The VM stops and goes on (QEMU's stop/cont): GET_VRING_BASE on both
    rings, then the rings set up again from those bases, memory untouched."""
    port = free_port()
    with VuRig(t, single_rig_args(d, port), d, record) as rig:
        fe = rig.frontend('v0.sock', rx=64)
        peer = rig.own(StreamPeer(port))
        wait_peer_joined(rig, port)
        ok, why = ping_stub(fe, FE_MAC, ip_of(15))
        exchange(t, fe, peer, 'before the stop', sizes=SIZES[:20])
        fe.tx_done()
        rx, tx = fe.rings[vu.RX], fe.rings[vu.TX]
        bases = fe.stop_rings()
        t.ok(ok and bases == (rx.used_idx(), tx.avail_idx),
             'GET_VRING_BASE answers the next avail index of each ring: RX '
             '%d (the buffers it used), TX %d (all it was given)'
             % (rx.used_idx(), tx.avail_idx), diag=repr(bases))
        peer.recv_all(0.2)
        held = numbered(PEER_MAC, FE_MAC, 4242, 200)
        fe.send_frame(held)
        tx.kick()
        got = peer.recv_all(0.5)
        t.ok(got == [], 'while stopped, a frame put on TX and kicked is not '
             'taken', diag=repr([describe(f) for f in got]))
        fe.resume_rings(bases)
        tx.kick()
        got = peer.recv_frame(5)
        t.ok(got == held, 'set up again from those bases: that frame goes '
             'out', diag=describe(got))
        exchange(t, fe, peer, 'after the stop', sizes=SIZES[:20])
        ok, why = ping_stub(fe, FE_MAC, ip_of(15), seq=9)
        v0 = rig.client('v0')
        t.ok(ok and v0['resets'] == 0, 'and the stub answers, no reset '
             'counted', diag='%s %r' % (why, v0))


SCENARIOS = [
    ('minimal features', minimal),
    ('notifications', notifications),
    ('busy polling', busy_poll),
    ('three memory regions', two_regions),
    ('stop and cont', stop_cont),
]


def main(t):
    run_scenarios(t, SCENARIOS, 'vu-rings')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
