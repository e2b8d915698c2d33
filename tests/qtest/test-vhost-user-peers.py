#!/usr/bin/env python3
"""vhost-user frontends on vmwire, next to a nic-stub and stream peers.

The frontends are vmwire_test.vhost_user (Python: memfd memory, split
rings, kick/call eventfds), connecting to vmwire's `-netdev vhost-user`
sockets; the stream peer is vmwire_test.StreamPeer on a `-netdev
stream,server=on` listener; the stub is `-device nic-stub,...,ip=10.0.2.100`.
Each scenario gets a vmwire of its own:

  * single: `-netdev vhost-user,id=v0,...` on a hub port of hub 0 with the
    stub and the stream listener.  Before a frontend: link down, "vhost-user:
    listening on PATH".  A frontend connects: NETDEV_STREAM_CONNECTED with
    its address, link up, "vhost-user: frontend on PATH"; GET_FEATURES offers
    VERSION_1, MRG_RXBUF, EVENT_IDX, INDIRECT_DESC, PROTOCOL_FEATURES, the
    protocol features MQ and REPLY_ACK, GET_QUEUE_NUM says 1.  ARP and ping
    of the stub get byte-exact replies (an 8000-byte ping over several
    mergeable buffers); 40 frames of 60 to 9000 bytes and a 65000-byte one
    go both ways between the frontend and the stream peer intact and in
    order, TX chains laid out in one descriptor, header apart, indirect;
    x-query-network's counters and `info network` show them.  A second
    frontend is refused at once; the first one leaving gives
    NETDEV_STREAM_DISCONNECTED and the link goes down; the next one works.
  * hubid: `-netdev '{"type": "vhost-user", ..., "hubid": 0}'`: three
    frontends get ports vh.1..vh.3 (events, vh.N.conn of type vhost-user,
    "VM <mac> joined hub 0" once each); broadcasts reach everybody else
    once; a unicast reaches only its target (learning); one leaves (port
    gone), the next one gets vh.4 and works.
  * filter-dump on a vhost-user port: the pcap holds the frames.
  * server=off with reconnect-ms: vmwire connects to the frontend's socket
    and connects again after the frontend closed.
  * netdev_add / netdev_del of a hubid= vhost-user listener over QMP: its
    frontends are closed, its socket file removed, no fd left behind.
  * --print-capabilities prints {"type": "net", ...} and exits 0.

At the end SIGTERM must give exit status 0 and no sanitizer report, for
every scenario's vmwire (vmwire_test.VmwireRuns).
"""

import json
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, StreamPeer, VmwireRuns,  # noqa: E402
                         free_port, run_vmwire, tempdir)
from vmwire_test import vhost_user as vu  # noqa: E402
from vhostpeers import (BROADCAST, VuRig, arp_reply,  # noqa: E402
                        arp_request, describe, echo_reply, echo_request, eth,
                        ip_of, mac, mac_str, numbered, ping_stub, secs,
                        stub_device, take, vhost_user_netdev)

FE_MAC = mac(1)
PEER_MAC = mac(200)
# 40 sizes: around one 2048-byte buffer (2036 + the 12-byte header fills
# it exactly), jumbo frames, the smallest.
SIZES = [60, 64, 128, 511, 1000, 1514, 1515, 2036, 2037, 2048, 3000, 4096,
         8000, 9000] * 2 + list(range(60, 72))


def stream_hub_args(d, port):
    """A stream listener on hub 0 and the stub on hub 0."""
    return (['-netdev', 'stream,id=s0,server=on,addr.type=inet,'
             'addr.host=127.0.0.1,addr.port=%d' % port,
             '-netdev', 'hubport,id=hp,hubid=0,netdev=s0',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs'))


def wait_peer_joined(rig, port):
    return rig.wait_clients(lambda c: c.get('s0', {}).get('link-up'))


def exchange(t, fe, peer, what, layout='single', sizes=None):
    """Frames from fe to the stream peer and back, intact and in order."""
    sizes = sizes or SIZES
    peer.recv_all(0.2)          # what came before (broadcast ARP)
    out = [numbered(PEER_MAC, FE_MAC, i, n) for i, n in enumerate(sizes)]
    fe.send_frames(out, layout=layout)
    got = []
    deadline = time.monotonic() + secs(10)
    while len(got) < len(out) and time.monotonic() < deadline:
        f = peer.recv_frame(1)
        if f is not None:
            got.append(f)
    bad = [i for i, (a, b) in enumerate(zip(got, out)) if a != b]
    t.ok(len(got) == len(out) and not bad,
         '%s: %d frames of %d..%d bytes from the frontend reach the stream '
         'peer intact, in order' % (what, len(out), min(sizes), max(sizes)),
         diag='got %d; first differing: %s' % (len(got), [
             (i, describe(got[i]), describe(out[i])) for i in bad[:3]]))
    back = [numbered(FE_MAC, PEER_MAC, 1000 + i, n)
            for i, n in enumerate(sizes)]
    peer.send_frames(back)
    got = fe.recv_frames(len(back), timeout=10)
    bad = [i for i, (a, b) in enumerate(zip(got, back)) if a != b]
    t.ok(len(got) == len(back) and not bad,
         '%s: and %d frames from the stream peer reach the frontend intact, '
         'in order' % (what, len(back)),
         diag='got %d; first differing: %s' % (len(got), [
             (i, describe(got[i]), describe(back[i])) for i in bad[:3]]))
    return len(out), sum(len(f) for f in out), len(back), sum(
        len(f) for f in back)


# --- scenarios ---------------------------------------------------------------

def single(t, d, record):
    path = os.path.join(d, 'v0.sock')
    port = free_port()
    args = (vhost_user_netdev('v0', path) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0'] +
            stream_hub_args(d, port))
    with VuRig(t, args, d, record) as rig:
        v0 = rig.client('v0')
        t.ok(v0.get('type') == 'vhost-user' and v0.get('link-up') is False
             and v0.get('info') == 'vhost-user: listening on ' + path,
             'before a frontend: v0 is type vhost-user, link down, '
             '"vhost-user: listening on PATH"', diag=repr(v0))
        fe = rig.connect('v0.sock')
        offered = fe.negotiate()
        ev = rig.event('NETDEV_STREAM_CONNECTED', netdev='v0')
        t.ok(ev and ev['data'] == {'netdev-id': 'v0', 'addr': {
            'type': 'unix', 'path': path}},
             'a frontend connects: NETDEV_STREAM_CONNECTED {"netdev-id": '
             '"v0", "addr": {"type": "unix", "path": PATH}}', diag=repr(ev))
        t.ok(offered & vu.OFFERED_FEATURES == vu.OFFERED_FEATURES and
             fe.features == vu.OFFERED_FEATURES,
             'GET_FEATURES offers VERSION_1, MRG_RXBUF, EVENT_IDX, '
             'INDIRECT_DESC, PROTOCOL_FEATURES (%#x)' % offered)
        t.ok(fe.protocol_features == vu.OFFERED_PROTOCOL_FEATURES and
             fe.queue_num == 1,
             'protocol features MQ and REPLY_ACK, GET_QUEUE_NUM 1 (%#x, %d)'
             % (fe.protocol_features, fe.queue_num))
        fe.set_mem_table()
        for index in (vu.RX, vu.TX):
            fe.setup_ring(index)
            fe.enable(index)
        fe.post_rx(256)
        v0 = rig.wait_clients(lambda c: c['v0']['link-up'])['v0']
        t.ok(v0['link-up'] and v0['info'] == 'vhost-user: frontend on ' +
             path, 'link up, "vhost-user: frontend on PATH"', diag=repr(v0))

        ok, why = ping_stub(fe, FE_MAC, ip_of(15))
        t.ok(ok, 'ARP and ping of the nic-stub: byte-exact replies',
             diag=why)
        big = bytes(range(256)) * 31 + bytes(64)        # 8000 bytes
        fe.send_frame(echo_request(FE_MAC, ip_of(15), 2, big))
        got = fe.recv_raw(5)
        want = echo_reply(FE_MAC, ip_of(15), 2, big)
        t.ok(got is not None and got[0][vu.VNET_HDR_LEN:] == want and
             got[1] > 1, 'an 8000-byte ping: the reply fills %s mergeable '
             'buffers (num_buffers), intact' % (got and got[1]),
             diag=lambda: describe(got and got[0][12:]))

        peer = rig.own(StreamPeer(port))
        wait_peer_joined(rig, port)
        sent = [0, 0, 0, 0]
        for layout in ('single', 'split', 'indirect'):
            counts = exchange(t, fe, peer, 'TX layout %s' % layout, layout)
            sent = [a + b for a, b in zip(sent, counts)]
        counts = exchange(t, fe, peer, 'a 65000-byte frame', sizes=[65000])
        sent = [a + b for a, b in zip(sent, counts)]

        # Counters: everything above, on v0.  The ping part: 2 ARP/echo
        # frames and the big echo each way.
        fe_tx = sent[0] + 3
        fe_rx = sent[2] + 3
        v0 = rig.wait_clients(lambda c: c['v0']['tx-frames'] >= fe_tx and
                              c['v0']['rx-frames'] >= fe_rx)['v0']
        t.ok(v0['tx-frames'] == fe_tx and v0['rx-frames'] == fe_rx and
             v0['tx-bytes'] >= sent[1] and v0['rx-bytes'] >= sent[3] and
             v0['resets'] == 0 and v0['dropped'] == 0,
             'x-query-network counts on v0: tx-frames %d, rx-frames %d, '
             'the bytes, no drop, no reset' % (fe_tx, fe_rx), diag=repr(v0))
        text = rig.hmp('info network')
        t.ok(('v0: index=0,type=vhost-user,vhost-user: frontend on ' + path)
             in text and re.search(r'counters v0: rx=%d/\d+ tx=%d/'
                                   % (fe_rx, fe_tx), text),
             'info network: "v0: index=0,type=vhost-user,vhost-user: '
             'frontend on PATH" and its counters line', diag=text)

        log_at = len(rig.v.log())
        fe2 = rig.connect('v0.sock')
        closed = fe2.wait_closed(5)
        t.ok(closed and rig.log_lines(r'^vmwire: v0: .*$', log_at),
             'a second frontend while one is attached is closed at once, '
             'and logged', diag=lambda: rig.log_since(log_at))
        ok, why = ping_stub(fe, FE_MAC, ip_of(15), seq=3)
        t.ok(ok, 'the first frontend still works', diag=why)

        fe.close()
        ev = rig.event('NETDEV_STREAM_DISCONNECTED', netdev='v0')
        t.ok(ev and ev['data'] == {'netdev-id': 'v0'},
             'the frontend leaves: NETDEV_STREAM_DISCONNECTED {"netdev-id": '
             '"v0"}', diag=repr(ev))
        v0 = rig.wait_clients(lambda c: not c['v0']['link-up'])['v0']
        t.ok(not v0['link-up'] and v0['info'] == 'vhost-user: listening on '
             + path, 'link down, "vhost-user: listening on PATH" again',
             diag=repr(v0))
        fe3 = rig.frontend('v0.sock')
        ev = rig.event('NETDEV_STREAM_CONNECTED', netdev='v0')
        ok, why = ping_stub(fe3, FE_MAC, ip_of(15), seq=4)
        t.ok(ev and ok, 'the next frontend is taken and works', diag=why)
        exchange(t, fe3, peer, 'the next frontend', sizes=[60, 1514, 9000])


def hubid(t, d, record):
    path = os.path.join(d, 'vh.sock')
    port = free_port()
    args = ['-netdev', json.dumps({
        'type': 'vhost-user', 'id': 'vh', 'hubid': 0,
        'addr': {'type': 'unix', 'path': path}})] + stream_hub_args(d, port)
    with VuRig(t, args, d, record) as rig:
        peer = rig.own(StreamPeer(port))
        wait_peer_joined(rig, port)
        fes, events = [], []
        for i in range(3):
            fes.append(rig.frontend('vh.sock'))
            events.append(rig.event('NETDEV_STREAM_CONNECTED',
                                    netdev='vh'))
        t.ok([ev and ev['data'] for ev in events] ==
             [{'netdev-id': 'vh.%d' % (i + 1),
               'addr': {'type': 'unix', 'path': path}} for i in range(3)],
             'three frontends on one hubid=0 socket: ports vh.1, vh.2, vh.3, '
             'one NETDEV_STREAM_CONNECTED each with the address',
             diag=repr(events))
        clients = rig.clients()
        bad = [n for n in ('vh.1', 'vh.2', 'vh.3')
               if clients.get(n, {}).get('type') != 'hubport' or
               clients[n].get('peer') != n + '.conn' or
               clients.get(n + '.conn', {}).get('type') != 'vhost-user' or
               not clients[n + '.conn'].get('link-up')]
        t.ok(not bad, 'x-query-network: hub port vh.N, its peer vh.N.conn '
             'of type vhost-user, link up', diag=repr(clients))
        t.ok(clients.get('vh', {}).get('info', '').startswith(
            'vhost-user: listening on ' + path),
             'the listener vh: "vhost-user: listening on PATH..."',
             diag=repr(clients.get('vh')))
        macs = [mac(10 + i) for i in range(3)]
        for fe, m in zip(fes, macs):
            fe.send_frame(eth(BROADCAST, m, b'hello from ' + m))
        bad = []
        for i, fe in enumerate(fes):
            got = sorted(take(fe, 2))
            want = sorted(eth(BROADCAST, m, b'hello from ' + m)
                          for j, m in enumerate(macs) if j != i)
            if got != want:
                bad.append('vh.%d got %s' % (i + 1, [describe(f)
                                                     for f in got]))
        got = sorted(take(peer, 3))
        if got != sorted(eth(BROADCAST, m, b'hello from ' + m)
                         for m in macs):
            bad.append('stream peer got %s' % [describe(f) for f in got])
        t.ok(not bad, 'a broadcast from each frontend reaches the other two '
             'and the stream peer once, never its sender', diag='\n'.join(bad))
        log = rig.v.log()
        bad = [i for i, m in enumerate(macs)
               if len(re.findall(r'^vmwire: vh\.%d: VM %s joined hub 0$'
                                 % (i + 1, mac_str(m)), log,
                                 re.MULTILINE)) != 1]
        t.ok(not bad, 'one "vmwire: vh.N: VM <mac> joined hub 0" line each',
             diag=log)

        frame = eth(macs[2], macs[0], b'for vh.3 only')
        fes[0].send_frame(frame)
        got3 = take(fes[2], 1)
        got2 = fes[1].recv_all(0.3)
        gotp = peer.recv_all(0.3)
        t.ok(got3 == [frame] and not got2 and not gotp,
             'learning: a unicast from vh.1 to the MAC of vh.3 reaches vh.3 '
             'only', diag=repr((got3, got2, gotp)))
        peer.send_frames([eth(PEER_MAC, PEER_MAC, b'learn me')])
        fes[0].recv_all(0.3), fes[1].recv_all(0.1), fes[2].recv_all(0.1)
        frame = eth(macs[1], PEER_MAC, b'for vh.2 only')
        peer.send_frames([frame])
        got2 = take(fes[1], 1)
        got1 = fes[0].recv_all(0.3)
        got3 = fes[2].recv_all(0.3)
        t.ok(got2 == [frame] and not got1 and not got3,
             'a unicast from the stream peer to vh.2 reaches vh.2 only',
             diag=repr((got2, got1, got3)))
        results = [ping_stub(fe, m, ip_of(20 + i))
                   for i, (fe, m) in enumerate(zip(fes, macs))]
        t.ok(all(ok for ok, _ in results), 'each frontend pings the stub',
             diag=repr(results))

        fes[1].close()
        ev = rig.event('NETDEV_STREAM_DISCONNECTED', netdev='vh')
        clients = rig.wait_clients(lambda c: 'vh.2' not in c and
                                   'vh.2.conn' not in c)
        t.ok(ev and ev['data'] == {'netdev-id': 'vh.2'} and
             'vh.2' not in clients and 'vh.2.conn' not in clients,
             'vh.2 leaves: NETDEV_STREAM_DISCONNECTED for vh.2, its port and '
             'connection are freed', diag=repr((ev, sorted(clients))))
        fe4 = rig.frontend('vh.sock')
        ev = rig.event('NETDEV_STREAM_CONNECTED', netdev='vh')
        ok, why = ping_stub(fe4, mac(13), ip_of(33))
        t.ok(ev and ev['data']['netdev-id'] == 'vh.4' and ok,
             'a frontend that comes back gets a fresh port, vh.4, and works',
             diag=lambda: '%r %s' % (ev, why))
        fes[0].recv_all(0.2), fes[2].recv_all(0.1)     # fe4's ARP
        fe4.send_frame(eth(BROADCAST, mac(13), b'I am new'))
        t.ok(take(fes[0], 1) == [eth(BROADCAST, mac(13), b'I am new')]
             and take(fes[2], 1) == [eth(BROADCAST, mac(13),
                                              b'I am new')],
             'and the others hear it')
        text = rig.hmp('info network')
        t.ok(all((' \\ vh.%d: vh.%d.conn: index=0,type=vhost-user,' % (n, n))
                 in text for n in (1, 3, 4)) and 'vh.2' not in text,
             'info network lists vh.1, vh.3, vh.4 with their connections in '
             'hub 0', diag=text)


def read_pcap(path):
    """The frames of a pcap file (classic format, either byte order)."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return None
    magic = struct.unpack('<I', data[:4])[0]
    end = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(end + 'IIII', data[off:off + 16])
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def dump(t, d, record):
    path = os.path.join(d, 'v0.sock')
    pcap = os.path.join(d, 'v0.pcap')
    args = (vhost_user_netdev('v0', path) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs') +
            ['-object', 'filter-dump,id=f0,netdev=v0,file=' + pcap])
    with VuRig(t, args, d, record) as rig:
        fe = rig.frontend('v0.sock')
        ok, why = ping_stub(fe, FE_MAC, ip_of(15))
        extra = [numbered(BROADCAST, FE_MAC, i, n)
                 for i, n in enumerate((60, 1514, 9000))]
        fe.send_frames(extra)
        fe.tx_done()
        rig.wait_clients(lambda c: c['v0']['tx-frames'] >= 5)
        rig.q.cmd('object-del', {'id': 'f0'})
        want = [arp_request(FE_MAC, ip_of(15)), arp_reply(FE_MAC, ip_of(15)),
                echo_request(FE_MAC, ip_of(15), 1, b'vhost-user ping'),
                echo_reply(FE_MAC, ip_of(15), 1, b'vhost-user ping')] + extra
        got = read_pcap(pcap)
        t.ok(ok and got == want,
             'filter-dump on a vhost-user netdev: the pcap holds ARP, ping '
             'and three frames of 60..9000 bytes, both ways, byte for byte',
             diag=lambda: '%s\n%s' % (why, [describe(f) for f in got or []]))


def server_off(t, d, record):
    path = os.path.join(d, 'fe.sock')
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(4)
    lsock.settimeout(secs(5))
    args = ['-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs')
    try:
        with VuRig(t, args, d, record) as rig:
            rig.q.cmd('netdev_add', {
                'type': 'vhost-user', 'id': 'c0', 'server': False,
                'reconnect-ms': 200,
                'addr': {'type': 'unix', 'path': path}})
            rig.q.cmd('netdev_add', {'type': 'hubport', 'id': 'p0',
                                     'hubid': 0, 'netdev': 'c0'})
            conn, _ = lsock.accept()
            fe = rig.own(vu.VhostUserFrontend(sock=conn))
            fe.start()
            fe.post_rx(64)
            ev = rig.event('NETDEV_STREAM_CONNECTED', netdev='c0')
            ok, why = ping_stub(fe, FE_MAC, ip_of(15))
            t.ok(ev and ev['data']['netdev-id'] == 'c0' and ok,
                 'server=off: vmwire connects to the frontend\'s socket '
                 '(NETDEV_STREAM_CONNECTED for c0) and the frontend pings '
                 'the stub', diag=lambda: '%r %s' % (ev, why))
            c0 = rig.client('c0')
            t.ok(c0.get('type') == 'vhost-user' and c0.get('link-up'),
                 'c0 is type vhost-user, link up (info "%s")'
                 % c0.get('info'), diag=repr(c0))
            fe.close()
            ev = rig.event('NETDEV_STREAM_DISCONNECTED', netdev='c0')
            try:
                conn2, _ = lsock.accept()
            except socket.timeout:
                conn2 = None
            t.ok(ev and conn2 is not None,
                 'the frontend closes: NETDEV_STREAM_DISCONNECTED, and with '
                 'reconnect-ms=200 vmwire connects again', diag=repr(ev))
            if conn2 is not None:
                fe2 = rig.own(vu.VhostUserFrontend(sock=conn2))
                fe2.start()
                fe2.post_rx(64)
                ok, why = ping_stub(fe2, FE_MAC, ip_of(15), seq=2)
                t.ok(ok, 'and the new connection works', diag=why)
    finally:
        lsock.close()


def fds_of(pid):
    return sorted(os.listdir('/proc/%d/fd' % pid), key=int)


def hotplug(t, d, record):
    args = ['-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs')
    path = os.path.join(d, 'h1.sock')
    with VuRig(t, args, d, record) as rig:
        pid = rig.v.proc.pid
        before = fds_of(pid)
        rig.q.cmd('netdev_add', {'type': 'vhost-user', 'id': 'h1',
                                 'hubid': 0, 'addr': {'type': 'unix',
                                                      'path': path}})
        fes = [rig.frontend('h1.sock') for _ in range(2)]
        events = [rig.event('NETDEV_STREAM_CONNECTED', netdev='h1')
                  for _ in fes]
        results = [ping_stub(fe, mac(40 + i), ip_of(40 + i))
                   for i, fe in enumerate(fes)]
        t.ok(all(events) and all(ok for ok, _ in results),
             'netdev_add of a vhost-user hubid=0 listener: two frontends '
             'join (h1.1, h1.2) and ping the stub', diag=repr(results))
        during = len(fds_of(pid))
        rig.q.cmd('netdev_del', {'id': 'h1'})
        closed = [fe.wait_closed(5) for fe in fes]
        t.ok(all(closed), 'netdev_del h1: both frontends see their '
             'connection closed')
        clients = rig.clients()
        t.ok(not [c for c in clients if c == 'h1' or c.startswith('h1.')]
             and not os.path.exists(path),
             'the listener, its ports and its socket file are gone',
             diag=repr(sorted(clients)))
        for fe in fes:
            fe.close()
        deadline = time.monotonic() + secs(5)
        while fds_of(pid) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        after = fds_of(pid)
        t.ok(after == before and during > len(before),
             'vmwire holds the fds it held before netdev_add (%d; %d with '
             'the listener and two frontends)' % (len(after), during),
             diag='before %r\nafter %r' % (before, after))


def single_rig_args(d, port):
    return (vhost_user_netdev('v0', os.path.join(d, 'v0.sock')) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0'] +
            stream_hub_args(d, port))


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


def inject(rig, frame):
    import base64
    rig.q.cmd('x-nic-stub-inject', {'id': 'st',
                                    'data': base64.b64encode(frame).decode()})


def wait_used_idx(ring, idx, timeout=5.0):
    deadline = time.monotonic() + secs(timeout)
    while ring.used_idx() != idx and time.monotonic() < deadline:
        time.sleep(0.01)
    return ring.used_idx() == idx


def notifications(t, d, record):
    """Calls on RX and kicks on TX as EVENT_IDX, or the flags, ask."""
    args = (vhost_user_netdev('v0', os.path.join(d, 'v0.sock')) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs'))
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


def max_clients_vlan(t, d, record):
    """hubid= with max-clients=2 and vlan=5 beside a plain listener on the
    same hub: a third frontend is refused; VLAN 5 and VLAN 1 do not meet."""
    args = (vhost_user_netdev('va', os.path.join(d, 'va.sock'),
                              ',hubid=0,max-clients=2,vlan=5') +
            vhost_user_netdev('vb', os.path.join(d, 'vb.sock'), ',hubid=0'))
    with VuRig(t, args, d, record) as rig:
        a = [rig.frontend('va.sock') for _ in range(2)]
        events = [rig.event('NETDEV_STREAM_CONNECTED', netdev='va')
                  for _ in a]
        log_at = len(rig.v.log())
        third = rig.connect('va.sock')
        closed = third.wait_closed(5)
        late = rig.event('NETDEV_STREAM_CONNECTED', timeout=0.5,
                         netdev='va')
        va = rig.client('va')
        t.ok(all(events) and closed and late is None and
             va.get('dropped') == 1 and
             rig.log_lines(r'^vmwire: va: max-clients=2 reached', log_at),
             'max-clients=2: the third frontend is closed at once, gets no '
             'port, is counted in the listener\'s dropped and logged',
             diag=lambda: '%r %r\n%s' % (late, va, rig.log_since(log_at)))
        clients = rig.clients()
        t.ok([clients.get(n, {}).get('info') for n in ('va.1', 'va.2')] ==
             ['hub 0,vlan=5'] * 2,
             'vlan=5: its ports are access ports of VLAN 5',
             diag=repr([clients.get(n) for n in ('va.1', 'va.2')]))
        b = [rig.frontend('vb.sock') for _ in range(2)]
        for fe, m in ((a[0], mac(50)), (b[0], mac(60))):
            fe.send_frame(eth(BROADCAST, m, b'which vlan?'))
        got = [take(fe, 1) for fe in (a[1], b[1])]
        t.ok(got == [[eth(BROADCAST, mac(50), b'which vlan?')],
                     [eth(BROADCAST, mac(60), b'which vlan?')]] and
             not a[0].recv_all(0.2) and not b[0].recv_all(0.1),
             'VLAN 5 and VLAN 1 of hub 0 do not see each other\'s frames',
             diag=repr(got))


SCENARIOS = [
    ('single', single),
    ('minimal features', minimal),
    ('notifications', notifications),
    ('three memory regions', two_regions),
    ('stop and cont', stop_cont),
    ('hubid', hubid),
    ('max-clients and vlan', max_clients_vlan),
    ('filter-dump', dump),
    ('server=off', server_off),
    ('netdev_add and netdev_del', hotplug),
]


def capabilities(t):
    rc, out = run_vmwire(['--print-capabilities'])
    try:
        caps = json.loads(out)
    except ValueError:
        caps = None
    t.ok(rc == 0 and isinstance(caps, dict) and caps.get('type') == 'net'
         and isinstance(caps.get('features', []), list),
         '--print-capabilities prints {"type": "net", ...} and exits 0',
         diag='rc=%s\n%s' % (rc, out))


def main(t):
    runs = VmwireRuns()
    for name, fn in SCENARIOS:
        with t.scenario(name), tempdir('vu-peers') as d:
            fn(t, d, lambda _, v, name=name: runs.record(name, v))
    runs.check(t, len(SCENARIOS))
    capabilities(t)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
