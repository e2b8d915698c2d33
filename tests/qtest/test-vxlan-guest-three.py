#!/usr/bin/env python3
"""-netdev vxlan: three endpoints, two vmwire daemons with a real QEMU
guest each and Linux's vxlan device.

vxlanrig.setup_three(): three namespaces, each a host with one veth into
a fourth, the underlay switch (a bridge), so B's veth carries only what
is sent to or from B.  In A (10.199.0.1) vmwire with `remote=B,remote=C`
and guest 1 (10.42.0.11) on its hub; in C (10.199.0.4) a second vmwire
with `remote=A,remote=B` and guest 2 (10.42.0.12); in B (10.199.0.2)
Linux's vx0 (`remote A`, `bridge fdb append 00:00:00:00:00:00 ... dst
C`) in bridge br0 with 10.42.0.2/24.  Each vmwire runs in its own
namespace; the guests run in the root namespace and reach vmwire's unix
socket.  dumpcap records B's veth for the whole run.

  replication  each guest pings br0: its ARP broadcast went through
               head-end replication; tshark finds both guests' ARP
               broadcasts on B's veth, one from A and one from C, and
               Linux's FDB learned guest 1 behind A and guest 2 behind C
               and nothing else.
  learning     each vmwire learned the other's guest behind the other's
               address and br0's MAC behind B.
  unicast      the guests ping each other (10 each way) and guest 1
               sends 1 MiB over TCP to guest 2: every echo is answered,
               every byte arrives, and not one VXLAN datagram on B's veth
               carries a frame between the two guests (known unicast
               goes to the one remote that has the MAC).

At the end SIGTERM must give both daemons exit status 0 and no sanitizer
report.
"""

import contextlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (GUEST_SH_PRELUDE, TAP, Guest,  # noqa: E402
                         Vmwire, guest_done_handshake, guest_done_listen,
                         ping_cmd, ping_stats, section, tempdir)
from vxlanrig import (FAMILIES, NS_A, NS_B, NS_C, NS_U, THIRD,  # noqa: E402
                      Capture, describe, fdb_of, in_ns, ns, run, setup_three,
                      teardown)

A, B, _ = FAMILIES[4]
C = THIRD
MAC1, MAC2 = '52:54:00:00:42:11', '52:54:00:00:42:12'
IP1, IP2 = '10.42.0.11', '10.42.0.12'
BR0 = '10.42.0.2'
PINGS = 10
BYTES = 1024 * 1024
DONE_PORT = 6000
GUEST_TIMEOUT = 300

# Both guests: ping br0, then the other guest; guest 2 counts what
# arrives on TCP port 5001 (nc's stdin is a FIFO that never ends, so it
# does not hang up first), guest 1 sends BYTES there.  Neither powers off
# before the other is done.
GUEST_RUN = (GUEST_SH_PRELUDE + guest_done_listen(DONE_PORT, 240) + r'''
ip link set eth0 mtu 1450
%(receive)s
wait_for %(br0)s 60 || fail "%(br0)s never answered"
echo "== br0"
%(ping_br0)s || fail "ping %(br0)s"
wait_for %(peer)s 120 || fail "%(peer)s never answered"
echo "== peer"
%(ping_peer)s || fail "ping %(peer)s"
%(send)s%(receive_end)s
echo "== done"
%(handshake)s
exit $rc
''')

RECEIVE = ('mkfifo /tmp/f; exec 3<>/tmp/f\n'
           '(timeout 200 nc -l -p 5001 < /tmp/f | wc -c > /tmp/count) &\n'
           'receiver=$!\n')
RECEIVE_END = ('wait $receiver\n'
               'echo "== recv"\n'
               'cat /tmp/count\n')
# The peer may answer pings before its nc listens: try again.
SEND = ('i=0\n'
        'until dd if=/dev/zero bs=65536 count=%d 2>/dev/null | '
        'nc %s 5001; do\n'
        '    i=$((i + 1))\n'
        '    [ $i -lt 10 ] || { fail "cannot send to %s"; break; }\n'
        '    sleep 1\n'
        'done\n' % (BYTES // 65536, IP2, IP2))


def guest_run(peer, receive='', receive_end='', send=''):
    return GUEST_RUN % {
        'br0': BR0, 'peer': peer, 'send': send,
        'receive': receive, 'receive_end': receive_end,
        'ping_br0': ping_cmd(BR0, 5), 'ping_peer': ping_cmd(peer, PINGS),
        'handshake': guest_done_handshake(peer, DONE_PORT)}


def vmwire_args(local, remotes, d, name):
    return ['-netdev', 'vxlan,id=vx,vni=42,local=%s,%s'
            % (local, ','.join('remote=' + r for r in remotes)),
            '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
            '-netdev', 'stream,id=g0,server=on,addr.type=unix,'
            'addr.path=%s' % os.path.join(d, name + '.sock'),
            '-netdev', 'hubport,id=p1,hubid=0,netdev=g0',
            '-qmp', 'unix:%s,server=on,wait=off'
            % os.path.join(d, name + '.qmp')]


def guest(d, name, ip, mac, script):
    return Guest('stream,server=off,addr.type=unix,addr.path=%s'
                 % os.path.join(d, name + '.sock'), ip=ip + '/24', mac=mac,
                 run=script)


def scenario(t):
    teardown()
    br_mac = setup_three()
    cap = None
    with tempdir('vxlan3') as d, contextlib.ExitStack() as stack:
        try:
            cap = Capture(os.path.join(d, 'underlay.pcap'))
            with in_ns(NS_A):
                stack.enter_context(Vmwire(vmwire_args(A, [B, C], d, 'a')))
            with in_ns(NS_C):
                stack.enter_context(Vmwire(vmwire_args(C, [A, B], d, 'c')))
            q1 = stack.enter_context(QMP.unix(os.path.join(d, 'a.qmp')))
            q2 = stack.enter_context(QMP.unix(os.path.join(d, 'c.qmp')))
            q1.negotiate()
            q2.negotiate()
            with guest(d, 'a', IP1, MAC1, guest_run(IP2, send=SEND)) as g1, \
                    guest(d, 'c', IP2, MAC2,
                          guest_run(IP1, RECEIVE, RECEIVE_END)) as g2:
                rc1, con1 = g1.wait(GUEST_TIMEOUT)
                rc2, con2 = g2.wait(GUEST_TIMEOUT)
            rows = cap.vxlan_rows()
            check_guests(t, rc1, con1, rc2, con2)
            check_learning(t, q1, q2, br_mac)
            check_wire(t, rows)
        finally:
            if cap:
                cap.stop()


def check_guests(t, rc1, con1, rc2, con2):
    for n, rc, con in ((1, rc1, con1), (2, rc2, con2)):
        t.ok(rc == 0 and ping_stats(section(con, 'br0')) == (5, 5),
             'guest %d pings br0 (5 of 5 answered)' % n, diag=con)
        t.ok(rc == 0 and ping_stats(section(con, 'peer')) ==
             (PINGS, PINGS), 'guest %d pings guest %d (%d of %d answered)'
             % (n, 3 - n, PINGS, PINGS), diag=con)
    got = re.search(r'^== recv\n(\d+)$', con2, re.M)
    t.ok(got and int(got.group(1)) == BYTES,
         'guest 1 sends %d bytes over TCP to guest 2, every byte arrives'
         % BYTES, diag=con1 + '\n----\n' + con2)


def learned(q):
    return {(e['mac'], e['remote']) for e in fdb_of(q)['entries']
            if not e['static']}


def check_learning(t, q1, q2, br_mac):
    fdb = ns(NS_B, 'bridge', 'fdb', 'show', 'dev', 'vx0').stdout
    linux = set(re.findall(r'^([0-9a-f:]{17}) dst (\S+) ', fdb, re.M))
    linux.discard(('00:00:00:00:00:00', A))
    linux.discard(('00:00:00:00:00:00', C))
    t.ok(linux == {(MAC1, A), (MAC2, C)},
         "Linux's FDB learned guest 1 behind A and guest 2 behind C, and "
         "nothing else", diag=fdb)
    l1, l2 = learned(q1), learned(q2)
    t.ok({(MAC2, C), (br_mac, B)} <= l1 and {(MAC1, A), (br_mac, B)} <= l2,
         "each vmwire learned the other's guest behind the other's address "
         "and br0's MAC behind B", diag=json.dumps([sorted(l1),
                                                     sorted(l2)]))


def check_wire(t, rows):
    """B's veth: both guests' broadcasts (from their own daemon), none of
    their unicast to each other."""
    bcast = sorted((r['inner.eth.src'], r['ip.src']) for r in rows
                   if r['inner.eth.dst'] == 'ff:ff:ff:ff:ff:ff' and
                   r['arp.opcode'] == '1' and
                   r['inner.eth.src'] in (MAC1, MAC2))
    t.ok((MAC1, A) in bcast and (MAC2, C) in bcast and
         set(bcast) <= {(MAC1, A), (MAC2, C)},
         'head-end replication: B receives guest 1\'s ARP broadcast from A '
         'and guest 2\'s from C', diag=json.dumps(bcast))
    between = [r for r in rows
               if {r['inner.eth.src'], r['inner.eth.dst']} == {MAC1, MAC2}]
    t.ok(not between, 'the %d pings each way and the %d-byte transfer '
         'between the guests: B receives none of their frames (%d VXLAN '
         'datagrams on its veth in all)' % (PINGS, BYTES, len(rows)),
         diag=describe(between))


def main():
    with TAP() as t:
        if os.geteuid() != 0:
            t.skip_all('needs root for network namespaces')
        try:
            with t.scenario('three endpoints'):
                scenario(t)
        finally:
            teardown()
        left = run('ip', 'netns', 'list').stdout
        t.ok(all(n not in left for n in (NS_A, NS_B, NS_C, NS_U)),
             'the namespaces are gone', diag=left)


if __name__ == '__main__':
    main()
