#!/usr/bin/env python3
"""Real QEMU 7.2 guests share one vmwire listener (hubid=) and ping each other.

  mixed   vmwire runs a unix `-netdev stream,server=on,hubid=0` listener
          and a TCP `-netdev socket,listen=127.0.0.1:P,hubid=0` listener on
          the same hub.  Guest A (10.0.5.1) connects with `-netdev
          stream,addr.type=unix,...`, guest B (10.0.5.2) with `-netdev
          socket,connect=127.0.0.1:P`; each pings the other.  vmwire logs
          each guest's MAC joining (on u0.1 and t0.1) and leaving.
  same    two guests (10.0.6.1, 10.0.6.2) on the SAME unix listener: ports
          u0.1 and u0.2, and they ping each other.

There is no nic-stub: the guests can only reach each other through the
hub.  Every vmwire run must end with exit status 0 after SIGTERM and no
sanitizer report in its log.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, Guest, Vmwire, free_port,  # noqa: E402
                         guest_image, ping_cmd, ping_stats, tempdir)

GUEST_TIMEOUT = 150
PINGS = 5

# Wait until the other guest answers (it may boot later), ping it, then
# stay up a while so the other guest's pings are answered too.
PING_PEER = r'''
i=0
until ping -c 1 -W 1 %(ip)s > /dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 60 ] || { echo "FAILED: %(ip)s never answered"; exit 1; }
done
%(ping)s
rc=$?
sleep 8
exit $rc
'''


def peer_cmd(ip):
    return PING_PEER % {'ip': ip, 'ping': ping_cmd(ip, PINGS)}


def check_guest(t, what, g):
    rc, console = g.wait(GUEST_TIMEOUT)
    stats = ping_stats(console)
    t.ok(rc == 0 and stats == (PINGS, PINGS),
         '%s: all %d pings answered (rc=%s, %s)' % (what, PINGS, rc, stats),
         diag=console)


def check_log(t, v, port, mac, hub=0):
    log = v.log()
    joined = re.findall(r'^vmwire: %s: VM %s joined hub %d$'
                        % (re.escape(port), mac, hub), log, re.MULTILINE)
    t.ok(len(joined) == 1, 'vmwire logs "%s: VM %s joined hub %d" once'
         % (port, mac, hub), diag=log)
    left = v.wait_log(r'^vmwire: %s: VM %s left hub %d \(.* closed\)$'
                      % (re.escape(port), mac, hub), 10)
    t.ok(left, 'and "%s: VM %s left hub %d (... closed)" when it is gone'
         % (port, mac, hub), diag=log)


def mixed(t):
    with tempdir('multi-guest') as d:
        path = os.path.join(d, 'vms.sock')
        port = free_port()
        args = ['-netdev', 'stream,id=u0,server=on,hubid=0,addr.type=unix,'
                           'addr.path=' + path,
                '-netdev', 'socket,id=t0,listen=127.0.0.1:%d,hubid=0' % port]
        with Vmwire(args) as v:
            with Guest('stream,addr.type=unix,addr.path=' + path,
                       ip='10.0.5.1/24', run=peer_cmd('10.0.5.2')) as a:
                if not v.wait_log(r'^vmwire: u0\.1: connection from', 60):
                    t.ok(False, 'guest A connects to the unix listener',
                         diag=v.log() + a.qemu_log())
                with Guest('socket,connect=127.0.0.1:%d' % port,
                           ip='10.0.5.2/24', run=peer_cmd('10.0.5.1')) as b:
                    check_guest(t, 'mixed: guest A (stream, unix) pings '
                               'guest B', a)
                    check_guest(t, 'mixed: guest B (socket, TCP) pings '
                               'guest A', b)
            check_log(t, v, 'u0.1', a.mac)
            check_log(t, v, 't0.1', b.mac)
        t.ok(not os.path.exists(path), 'mixed: the socket file is removed '
             'at exit')


def same(t):
    with tempdir('multi-guest') as d:
        path = os.path.join(d, 'vms.sock')
        args = ['-netdev', 'stream,id=u0,server=on,hubid=0,addr.type=unix,'
                           'addr.path=' + path]
        with Vmwire(args) as v:
            netdev = 'stream,addr.type=unix,addr.path=' + path
            with Guest(netdev, ip='10.0.6.1/24', run=peer_cmd('10.0.6.2')) \
                    as a, \
                    Guest(netdev, ip='10.0.6.2/24',
                          run=peer_cmd('10.0.6.1')) as b:
                check_guest(t, 'same listener: guest 1 pings guest 2', a)
                check_guest(t, 'same listener: guest 2 pings guest 1', b)
            log = v.log()
            ports = sorted(re.findall(r'^vmwire: (u0\.\d+): VM (\S+) joined',
                                      log, re.MULTILINE))
            t.ok(ports in ([('u0.1', a.mac), ('u0.2', b.mac)],
                           [('u0.1', b.mac), ('u0.2', a.mac)]),
                 'same listener: each guest joined on its own port (u0.1, '
                 'u0.2)', diag=log)


def main(t):
    guest_image()
    mixed(t)
    same(t)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
