#!/usr/bin/env python3
"""Hot-plug over QMP, with real QEMU guests.

vmwire starts with nothing but a QMP monitor.  Then, over QMP:

  1. netdev_add a `socket` listener n0 and device_add a nic-stub s0
     (10.0.2.100/24) on it.  A QEMU guest (`-netdev socket,connect=`)
     pings the stub: every request is answered.  The guest then keeps
     probing, one ping at a time.
  2. netdev_del n0 while the guest probes: the guest is cut off (its
     probes fail from then on, three in a row end its loop), s0's link is
     down, n0 is gone from x-query-network and `info network` shows s0
     alone; NETDEV_LINK_CHANGED {s0, down} was sent.
  3. device_del s0, then netdev_add and device_add again with the same ids
     and port: a new guest pings the stub, every request answered.

At the end SIGTERM must give exit status 0 and the log no sanitizer report.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP, QMPTimeout  # noqa: E402
from vmwire_test import (SANITIZER_REPORT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         Guest, Vmwire, free_port, guest_image, ping_cmd,
                         ping_stats, tempdir, wait_port_bound)
from vmwire_test import qemu_info_network  # noqa: E402

STUB_IP = '10.0.2.100'
STUB_MAC = '52:54:00:00:02:64'
GUEST_IP = '10.0.2.15/24'
PINGS = 5
GUEST_TIMEOUT = 120

# Pings (all must be answered), then single-ping probes until three fail in
# a row (at most 150 probes): rc 0 only if the guest was cut off.
PING_THEN_PROBE = r'''
echo "== ping"
%(ping)s
echo "== probe"
n=0; fails=0; oks=0
while [ $fails -lt 3 ] && [ $n -lt 150 ]; do
    if ping -c 1 -W 1 %(ip)s > /dev/null 2>&1; then
        echo PROBE-OK; oks=$((oks + 1)); fails=0; sleep 0.2
    else
        echo PROBE-FAIL; fails=$((fails + 1))
    fi
    n=$((n + 1))
done
echo "== cut off after $oks answered probes: $fails failed in a row"
[ $fails -ge 3 ]
''' % {'ping': ping_cmd(STUB_IP, count=PINGS), 'ip': STUB_IP}


def secs(s):
    return s * TIMEOUT_SCALE


def take_events(q, name, settle=0.3):
    """The events called name seen so far or within settle seconds (scaled);
    removed from q.events."""
    deadline = time.monotonic() + secs(settle)
    while time.monotonic() < deadline:
        left = max(0.0, deadline - time.monotonic())
        try:
            msg = q.recv(left / TIMEOUT_SCALE)
        except QMPTimeout:
            break
        (q.events if 'event' in msg else q.stray).append(msg)
    got = [e for e in q.events if e['event'] == name]
    q.events = [e for e in q.events if e['event'] != name]
    return got


def network_commands(port):
    """netdev_add n0 (a socket listener on port) and device_add s0 on it."""
    return [('netdev_add', {'type': 'socket', 'id': 'n0',
                            'listen': '127.0.0.1:%d' % port}),
            ('device_add', {'driver': 'nic-stub', 'id': 's0', 'netdev': 'n0',
                            'mac': STUB_MAC, 'ip': STUB_IP + '/24'})]


def add_network(q, port):
    for cmd, args in network_commands(port):
        q.cmd(cmd, args)


def network_added(q, port):
    """Run network_commands again; (True if both returned {}, n0 and s0 are
    each other's peers and port listens again; what was seen)."""
    replies = [q.execute(cmd, args) for cmd, args in network_commands(port)]
    clients = {c['id']: c for c in q.cmd('x-query-network')}
    n0, s0 = clients.get('n0', {}), clients.get('s0', {})
    listening = wait_port_bound(port, timeout=secs(5))
    good = (all(r.get('return') == {} for r in replies) and
            n0.get('peer') == 's0' and s0.get('peer') == 'n0' and listening)
    return good, 'replies %r\nclients %r\nport %d listens: %s' % (
        replies, clients, port, listening)


def section(console, name):
    """The console text after '== name' up to the next '== ' line."""
    start = console.find('== %s\n' % name)
    if start < 0:
        return ''
    end = console.find('\n== ', start + 1)
    return console[start:end if end >= 0 else len(console)]


def all_answered(t, console, what):
    stats = ping_stats(section(console, 'ping'))
    return t.ok(stats == (PINGS, PINGS), '%s: %d of %d pings answered'
                % (what, stats[1] if stats else 0, PINGS), diag=console)


def phase_cut_off(t, v, q, port):
    add_network(q, port)
    with Guest('socket,connect=127.0.0.1:%d' % port, ip=GUEST_IP,
               run=PING_THEN_PROBE) as g:
        probing = g.wait_console(r'^PROBE-OK$', GUEST_TIMEOUT)
        console = g.console()
        all_answered(t, console, 'first guest')
        t.ok(probing is not None, 'the first guest probes the stub with '
             'answers', diag=console)
        take_events(q, 'NETDEV_LINK_CHANGED')
        t.ok(q.cmd('netdev_del', {'id': 'n0'}) == {},
             'netdev_del n0 while the guest probes: {}')
        cut_at = len(g.console())
        rc, console = g.wait(GUEST_TIMEOUT)
        after = console[cut_at:]
        t.ok(rc == 0 and after.count('PROBE-FAIL') >= 3,
             'the guest is cut off: its probes fail from then on',
             diag=console + '\nvmwire log:\n' + v.log())
    clients = {c['id']: c for c in q.cmd('x-query-network')}
    t.ok('n0' not in clients and 's0' in clients and
         not clients['s0']['link-up'] and 'peer' not in clients['s0'],
         'x-query-network: n0 gone, s0 without peer and link down',
         diag=repr(clients))
    ev = take_events(q, 'NETDEV_LINK_CHANGED')
    t.ok([e['data'] for e in ev] == [{'name': 's0', 'up': False}],
         'NETDEV_LINK_CHANGED {s0, down}, once', diag=repr(ev))
    text = q.cmd('human-monitor-command', {'command-line': 'info network'})
    # Without vmwire's "  counters ID: ..." lines: QEMU's text.
    t.ok(qemu_info_network(text) ==
         's0: index=0,type=nic,model=nic-stub,macaddr=%s\r\n'
         % STUB_MAC, 'info network: s0 alone', diag=repr(text))


def phase_again(t, v, q, port):
    reply = q.execute('device_add', {'driver': 'nic-stub', 'id': 's0'})
    t.ok(reply.get('error', {}).get('desc') == "Duplicate device ID 's0'",
         's0 still exists: device_add s0 is refused', diag=repr(reply))
    t.ok(q.cmd('device_del', {'id': 's0'}) == {}, 'device_del s0: {}')
    good, seen = network_added(q, port)
    t.ok(good, 'netdev_add n0 and device_add s0 again, same ids and port',
         diag=seen)
    with Guest('socket,connect=127.0.0.1:%d' % port, ip=GUEST_IP,
               run=ping_cmd(STUB_IP, count=PINGS)) as g:
        rc, console = g.wait(GUEST_TIMEOUT)
    stats = ping_stats(console)
    t.ok(rc == 0 and stats == (PINGS, PINGS),
         'a new guest pings the re-added stub: %d of %d answered'
         % (stats[1] if stats else 0, PINGS),
         diag=console + '\nvmwire log:\n' + v.log())


def main(t):
    guest_image()               # GuestUnavailable: skip, before any result
    port = free_port()
    with tempdir('qmp') as d:
        path = os.path.join(d, 'qmp.sock')
        with Vmwire(['-qmp', 'unix:%s,server=on,wait=off' % path],
                    ready_timeout=secs(10)) as v:
            q = QMP.unix(path)
            try:
                q.negotiate()
                clients = q.cmd('x-query-network')
                t.ok(clients == [], 'vmwire with only a monitor has no net '
                     'client', diag=repr(clients))
                phase_cut_off(t, v, q, port)
                phase_again(t, v, q, port)
            finally:
                q.close()
            t.ok(v.stop() == 0, 'SIGTERM: exit status 0', diag=v.log)
            t.ok(not SANITIZER_REPORT.search(v.log()),
                 'no sanitizer report in the log', diag=v.log)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
