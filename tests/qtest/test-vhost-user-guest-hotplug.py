#!/usr/bin/env python3
"""netdev_add / netdev_del of a vhost-user port while another guest runs.

vmwire starts with hub 0: a nic-stub at 10.0.2.100/24 (on hubport hs) and
a unix `-netdev stream,id=u0,server=on,hubid=0` listener.  Guest A
(10.0.2.15, QEMU's own `-netdev stream`) probes the stub with one ping
every 0.2 s for the whole test.  Meanwhile, over QMP:

  1. netdev_add {type: vhost-user, id: v0, addr: unix P, hubid: 0}
     answers {}; `info network` shows v0 listening on P.
  2. Guest B (10.0.2.16) on vhost-user P pings the stub and guest A, all
     answered, then probes the stub too.
  3. netdev_del v0 while B probes answers {}: B is cut off (its probes
     fail from then on), v0, v0.1 and v0.1.conn are gone from
     x-query-network and the socket file P is removed.
  4. netdev_add v0 again, same id and path: {} and P listens again.

Guest A's probes are then cut (netdev_del hs) to end its loop: every
probe before that was answered, so A's traffic went on untouched by
everything above.  vmwire must then exit 0 on SIGTERM with no sanitizer
report.
"""

import os
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vuguests import (STUB_IP, STUB_ON_HUB, VuRig, secs,  # noqa: E402
                      vhost_user_netdev)
from vmwire_test import (TAP, Guest, guest_image, ping_cmd,  # noqa: E402
                         ping_stats, section, wait_ping_cmd)

GUEST_TIMEOUT = 120
PINGS = 5

# Probe the stub until three probes in a row fail (at most 400 probes).
PROBE = r'''
echo "== probe"
n=0; fails=0
while [ $fails -lt 3 ] && [ $n -lt 400 ]; do
    if ping -c 1 -W 2 %(ip)s > /dev/null 2>&1; then
        echo PROBE-OK; fails=0; sleep 0.2
    else
        echo PROBE-FAIL; fails=$((fails + 1))
    fi
    n=$((n + 1))
done
echo "== cut off"
[ $fails -ge 3 ]
''' % {'ip': STUB_IP}

GUEST_A = wait_ping_cmd(STUB_IP, 30) + PROBE

GUEST_B = (wait_ping_cmd(STUB_IP, 30) +
           'echo "== stub"\n' + ping_cmd(STUB_IP, PINGS) + '\n' +
           'echo "== peer"\n' + ping_cmd('10.0.2.15', PINGS) + '\n' + PROBE)


def vhost_user_args(path):
    return {'type': 'vhost-user', 'id': 'v0', 'hubid': 0,
            'addr': {'type': 'unix', 'path': path}}


def is_socket(path):
    """path is a unix socket file (connecting to it would make a frontend
    connection, and so a port)."""
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def wait_gone(rig, ids, timeout=5.0):
    deadline = time.monotonic() + secs(timeout)
    while True:
        clients = rig.clients()
        if not any(i in clients for i in ids) or \
                time.monotonic() > deadline:
            return clients
        time.sleep(0.1)


def add_port(t, rig, what):
    reply = rig.q.execute('netdev_add', vhost_user_args(rig.sock))
    got = rig.info('v0')
    t.ok(reply.get('return') == {} and got is not None and
         got.startswith('type=vhost-user,vhost-user: listening on %s'
                        % rig.sock) and is_socket(rig.sock),
         '%s: netdev_add vhost-user v0 hubid=0 answers {} and v0 listens '
         'on P (info %r)' % (what, got), diag=repr(reply))


def phase_guest_b(t, rig):
    with Guest(None, vhost_user=rig.sock, ip='10.0.2.16/24',
               run=GUEST_B) as b:
        ev = rig.event('NETDEV_STREAM_CONNECTED', secs(60))
        t.ok(ev is not None and ev['data'].get('netdev-id') == 'v0.1',
             'guest B connects: NETDEV_STREAM_CONNECTED for v0.1 (got %s)'
             % ev, diag=lambda: rig.v.log() + b.qemu_log())
        probing = b.wait_console(r'^PROBE-OK$', secs(GUEST_TIMEOUT))
        console = b.console()
        t.ok(probing is not None and
             ping_stats(section(console, 'stub')) == (PINGS, PINGS) and
             ping_stats(section(console, 'peer')) == (PINGS, PINGS),
             'guest B on the new vhost-user port pings the stub and guest '
             'A: all answered, then probes', diag=lambda: console +
             rig.v.log() + b.qemu_log())
        reply = rig.q.execute('netdev_del', {'id': 'v0'})
        t.ok(reply.get('return') == {}, 'netdev_del v0 while guest B is '
             'connected: {}', diag=repr(reply))
        cut_at = len(b.console())
        rc, console = b.wait(secs(GUEST_TIMEOUT))
    t.ok(rc == 0 and console[cut_at:].count('PROBE-FAIL') >= 3,
         'guest B is cut off: its probes fail from then on',
         diag=console + '\nvmwire log:\n' + rig.v.log())
    clients = wait_gone(rig, ('v0', 'v0.1', 'v0.1.conn'))
    t.ok(not any(i in clients for i in ('v0', 'v0.1', 'v0.1.conn')),
         'v0, v0.1 and v0.1.conn are gone from x-query-network',
         diag=repr(sorted(clients)))
    t.ok(not os.path.exists(rig.sock), 'the socket file P is removed')


def main(t):
    guest_image()
    args = ['-netdev', 'stream,id=u0,server=on,hubid=0,addr.type=unix,'
            'addr.path=' + os.path.join(VuRig.DIR, 's.sock')] + STUB_ON_HUB
    with VuRig(args) as rig:
        stream_path = os.path.join(rig.dir, 's.sock')
        start = time.monotonic()
        with Guest('stream,addr.type=unix,addr.path=' + stream_path,
                   ip='10.0.2.15/24', run=GUEST_A) as a:
            probing = a.wait_console(r'^PROBE-OK$', secs(GUEST_TIMEOUT))
            ev = rig.event('NETDEV_STREAM_CONNECTED', 1)
            t.ok(probing is not None and ev is not None and
                 ev['data'].get('netdev-id') == 'u0.1',
                 'guest A (stream, port u0.1) probes the stub with answers',
                 diag=lambda: '%s\n%s%s' % (ev, a.console(), rig.v.log()))
            add_port(t, rig, 'first')
            phase_guest_b(t, rig)
            add_port(t, rig, 'again (same id and path)')
            time.sleep(1)
            cut_at = len(a.console())
            reply = rig.q.execute('netdev_del', {'id': 'hs'})
            rc, console = a.wait(secs(GUEST_TIMEOUT))
        t.diag('guests: %.1fs' % (time.monotonic() - start))
        before = console[:cut_at]
        oks, fails = before.count('PROBE-OK'), before.count('PROBE-FAIL')
        t.ok(reply.get('return') == {} and rc == 0 and oks >= 20 and
             fails == 0,
             'guest A\'s probes were all answered until its stub was cut '
             '(%d answered, %d failed), then failed' % (oks, fails),
             diag=console + '\nvmwire log:\n' + rig.v.log())
        rig.check_exit(t, 'hotplug')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
