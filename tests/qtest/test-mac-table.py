#!/usr/bin/env python3
"""x-query-mac-table, `info mac-table` and the hub's mac-age= knob.

vmwire runs hub 0 (default aging) with ports p0..p2 and hub 1
(`mac-age=1` on its first port) with ports p3..p5, each port on a socket
listener with a Python stream peer:

  learn    after broadcasts from MACs A (peer 0), B (peer 1), C (peer 2)
           the table of hub 0 lists exactly A on p0, B on p1, C on p2,
           VLAN 1, a small age-ms; hubid filters; an unknown hubid is an
           error; `info mac-table` shows the same entries.
  move     A then sends from peer 2: A is listed on p2 only.
  leave    peer 1 disconnects: B is gone (its port's link went down);
           netdev_del p2 takes A and C with it.
  aging    on hub 1, D (peer 3) is learnt and unicast to D reaches only
           peer 3; after D is silent for ~2 s (mac-age=1) it is gone
           from the table and unicast to D is flooded again (peer 5 gets
           it too).
  knob     mac-age=0 and 1000001 are refused; a later port of hub 1 may
           repeat mac-age=1 but not give another value; the info string
           shows mac-age=1.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hubpeers import (BROADCAST, HubRig, eth, mac, mac_str,  # noqa: E402
                      secs)
from vmwire_test.qmp import error_of  # noqa: E402
from vmwire_test import TAP  # noqa: E402

A, B, C, D, E = mac(1), mac(2), mac(3), mac(4), mac(5)


def table(rig, hubid):
    return sorted((e['mac'], e['vlan'], e['port'])
                  for e in rig.mac_table(hubid))


def wait_table(rig, hubid, want, timeout=5.0):
    deadline = time.monotonic() + secs(timeout)
    while True:
        got = table(rig, hubid)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def hello(peer, src, others):
    """A broadcast from src; wait until the other peers got it."""
    peer.send_frames([eth(BROADCAST, src, b'hello' + b'\0' * 41)])
    for o in others:
        o.recv_frames(1)


def test_learn_move_leave(t, rig, peers):
    hello(peers[0], A, peers[1:3])
    hello(peers[1], B, [peers[0], peers[2]])
    hello(peers[2], C, peers[0:2])
    want = sorted([(mac_str(A), 1, 'p0'), (mac_str(B), 1, 'p1'),
                   (mac_str(C), 1, 'p2')])
    got = wait_table(rig, 0, want)
    t.ok(got == want, 'hub 0 lists A on p0, B on p1, C on p2, VLAN 1',
         diag=repr(got))
    entries = rig.mac_table(0)
    t.ok(entries and all(e['hub'] == 0 and
                         0 <= e['age-ms'] < secs(10) * 1000
                         for e in entries),
         'entries name hub 0 and a small age-ms',
         diag=repr(entries))
    t.ok(all(e['hub'] == 1 for e in rig.mac_table(1)) and
         sorted(e['mac'] for e in rig.mac_table() if e['hub'] == 0) ==
         sorted(m for m, _, _ in want),
         'hubid= filters; without it every hub is listed')
    err = error_of(rig.q.execute('x-query-mac-table', {'hubid': 7}))
    t.ok(err == ('GenericError', 'hub 7 not found'),
         'an unknown hubid: "hub 7 not found"', diag=repr(err))
    text = rig.hmp('info mac-table')
    t.ok(all(re.search(r'^0 +1 +%s +%s +\d+\r$' % (m, p), text, re.M)
             for m, _, p in want),
         'info mac-table shows the three entries', diag=repr(text))

    hello(peers[2], A, peers[0:2])
    want = sorted([(mac_str(A), 1, 'p2'), (mac_str(B), 1, 'p1'),
                   (mac_str(C), 1, 'p2')])
    got = wait_table(rig, 0, want)
    t.ok(got == want, 'A seen on p2: it moves there', diag=repr(got))

    peers[1].close()
    want = sorted([(mac_str(A), 1, 'p2'), (mac_str(C), 1, 'p2')])
    got = wait_table(rig, 0, want)
    t.ok(got == want, 'peer 1 leaves: B is gone', diag=repr(got))
    rig.q.cmd('netdev_del', {'id': 'p2'})
    got = table(rig, 0)
    t.ok(got == [], 'netdev_del p2: A and C are gone with it',
         diag=repr(got))


def unicast_to_d(peers):
    """peer 4 sends a unicast to D; which of peers 3 and 5 get it."""
    peers[4].send_frames([eth(D, E, b'to-d' + b'\0' * 42)])
    return (len(peers[3].recv_frames(1, timeout=2)) == 1,
            peers[5].quiet(0.5) != [])


def test_aging(t, rig, peers):
    hello(peers[4], E, [peers[3], peers[5]])
    hello(peers[3], D, [peers[4], peers[5]])
    t.ok((mac_str(D), 1, 'p3') in table(rig, 1), 'D is in the table')
    sent = time.monotonic()     # D's last frame goes now
    hello(peers[3], D, [peers[4], peers[5]])
    got3, got5 = unicast_to_d(peers)
    t.ok(got3 and not got5, 'mac-age=1 hub: unicast to a fresh D reaches '
         'only its port', diag='peer3 %s peer5 %s' % (got3, got5))
    deadline = sent + secs(6)
    while (mac_str(D), 1, 'p3') in table(rig, 1) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    gone_after = time.monotonic() - sent
    t.ok((mac_str(D), 1, 'p3') not in table(rig, 1) and gone_after >= 0.9,
         'D ages out of x-query-mac-table (after %.1f s)' % gone_after)
    got3, got5 = unicast_to_d(peers)
    t.ok(got3 and got5, 'after aging, unicast to D is flooded again',
         diag='peer3 %s peer5 %s' % (got3, got5))


def test_knob(t, rig):
    for age in (0, 1000001):
        err = error_of(rig.q.execute('netdev_add', {
            'type': 'hubport', 'id': 'x%d' % age, 'hubid': 9,
            'mac-age': age}))
        t.ok(err == ('GenericError', "Parameter 'mac-age' expects a number "
                     "of seconds (1..1000000)"),
             'mac-age=%d refused' % age, diag=repr(err))
    err = error_of(rig.q.execute('netdev_add', {
        'type': 'hubport', 'id': 'y', 'hubid': 1, 'mac-age': 5}))
    t.ok(err == ('GenericError', 'hub 1 already has mac-age=1'),
         'a later port of hub 1 with mac-age=5: "hub 1 already has '
         'mac-age=1"', diag=repr(err))
    r = rig.q.execute('netdev_add', {'type': 'hubport', 'id': 'y',
                                     'hubid': 1, 'mac-age': 1})
    t.ok(r.get('return') == {}, 'repeating mac-age=1 is fine', diag=repr(r))
    info = rig.clients()['y']['info']
    t.ok(info == 'hub 1,mac-age=1,vlan=1', 'its info string: "%s"' % info)
    err = error_of(rig.q.execute('netdev_add', {
        'type': 'hubport', 'id': 'z', 'hubid': 0, 'mac-age': 1}))
    t.ok(err == ('GenericError', 'hub 0 already has mac-age=300'),
         'hub 0 has the default: "hub 0 already has mac-age=300"',
         diag=repr(err))


def main():
    with TAP() as t:
        opts = ['hubid=0'] * 3 + ['hubid=1,mac-age=1', 'hubid=1', 'hubid=1']
        # One vmwire per scenario: no table entry or port outlives its own.
        for name, scenario in (
                ('learn, move, leave', test_learn_move_leave),
                ('aging', test_aging),
                ('mac-age knob', lambda t, rig, peers: test_knob(t, rig))):
            with t.scenario(name), HubRig(opts) as rig:
                scenario(t, rig, [rig.connect(i) for i in range(6)])


if __name__ == '__main__':
    main()
