#!/usr/bin/env python3
"""Many vhost-user frontends on one socket: `-netdev vhost-user,...,hubid=N`.

Python frontends (vmwire_test.vhost_user), a stream peer and a nic-stub on
hub 0; each scenario gets a vmwire of its own:

  * hubid: `-netdev '{"type": "vhost-user", ..., "hubid": 0}'`: three
    frontends get ports vh.1..vh.3 (events, vh.N.conn of type vhost-user,
    "VM <mac> joined hub 0" once each); broadcasts reach everybody else
    once; a unicast reaches only its target (learning), from a frontend
    and from the stream peer; each pings the stub; one leaves (event, port
    and connection freed), the next one gets vh.4 and works; `info network`
    lists the ports.
  * max-clients=2 and vlan=5 on a hubid= listener beside a plain one: the
    third frontend is refused (closed, no port, counted, logged); VLAN 5
    and VLAN 1 do not meet.

At the end SIGTERM must give exit status 0 and no sanitizer report, for
every scenario's vmwire (vmwire_test.VmwireRuns).
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import TAP, StreamPeer, free_port  # noqa: E402
from vhostpeers import (BROADCAST, PEER_MAC, VuRig, describe,  # noqa: E402
                        eth, ip_of, mac, mac_str, ping_stub, run_scenarios,
                        stream_hub_args, take, vhost_user_netdev,
                        wait_peer_joined)


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
             rig.log_lines(r'^vmwire: va: max-clients=2 reached', log_at,
                           wait=5),
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
    ('hubid', hubid),
    ('max-clients and vlan', max_clients_vlan),
]


def main(t):
    run_scenarios(t, SCENARIOS, 'vu-hub')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
