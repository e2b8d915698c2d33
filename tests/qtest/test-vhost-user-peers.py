#!/usr/bin/env python3
"""A vhost-user frontend on vmwire, next to a nic-stub and a stream peer.

The frontend is vmwire_test.vhost_user (Python: memfd memory, split rings,
kick/call eventfds) on `-netdev vhost-user,id=v0,...` (one frontend at a
time), a port of hub 0 with `-device nic-stub,...,ip=10.0.2.100` and a
`-netdev stream,server=on` listener whose peer is vmwire_test.StreamPeer:

  * Before a frontend: link down, "vhost-user: listening on PATH".  A
    frontend connects: NETDEV_STREAM_CONNECTED with its address, link up,
    "vhost-user: frontend on PATH"; GET_FEATURES offers VERSION_1,
    MRG_RXBUF, EVENT_IDX, INDIRECT_DESC, PROTOCOL_FEATURES, the protocol
    features MQ and REPLY_ACK, GET_QUEUE_NUM says 1.
  * ARP and ping of the stub get byte-exact replies (an 8000-byte ping over
    several mergeable buffers); 40 frames of 60 to 9000 bytes and a
    65000-byte one go both ways between the frontend and the stream peer
    intact and in order, TX chains laid out in one descriptor, header
    apart, indirect; x-query-network's counters and `info network` show
    them.
  * A second frontend is refused at once; the first one leaving gives
    NETDEV_STREAM_DISCONNECTED and the link goes down; the next one works.

SIGTERM must then give exit status 0 and no sanitizer report.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import TAP, StreamPeer, free_port  # noqa: E402
from vmwire_test import vhost_user as vu  # noqa: E402
from vhostpeers import (FE_MAC, VuRig, describe, echo_reply,  # noqa: E402
                        echo_request, exchange, ip_of, ping_stub,
                        run_scenarios, stream_hub_args, vhost_user_netdev,
                        wait_peer_joined)


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
        t.ok(closed and rig.log_lines(r'^vmwire: v0: .*$', log_at, wait=5),
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


SCENARIOS = [
    ('single', single),
]


def main(t):
    run_scenarios(t, SCENARIOS, 'vu-peers')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
