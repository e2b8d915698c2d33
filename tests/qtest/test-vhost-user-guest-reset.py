#!/usr/bin/env python3
"""The guest's virtio-net driver resets the device on a live vhost-user port.

vmwire runs `-netdev vhost-user,id=v0,...,hubid=0` and a nic-stub at
10.0.2.100/24 on hub 0.  A real QEMU 7.2 guest on vhost-user pings the
stub, then unloads its virtio_net driver (the device is reset: QEMU stops
the rings with GET_VRING_BASE) and loads it again (QEMU sets the rings up
again on the same connection: features, memory table, SET_VRING_BASE,
addresses, kick and call), twice, and pings the stub after each: every
request answered.

Through all of it the frontend stays connected: no
NETDEV_STREAM_DISCONNECTED, still port v0.1 (no v0.2), and the connection
counts no reset (a driver reset is no fault).  vmwire must then exit 0 on
SIGTERM with no sanitizer report.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vuguests import (GUEST_IP, STUB_IP, STUB_ON_HUB, VuRig,  # noqa: E402
                      secs, vhost_user_netdev)
from vmwire_test import (TAP, Guest, guest_image, ping_cmd,  # noqa: E402
                         ping_stats, section, wait_ping_cmd)

PINGS = 5
ROUNDS = 2
GUEST_TIMEOUT = 120

# Unload and reload virtio_net, then configure eth0 again and wait (10 s
# at most) for its carrier.
RELOAD = r'''
ip link set eth0 down
rmmod virtio_net || echo "FAILED: rmmod virtio_net"
[ -e /sys/class/net/eth0 ] && echo "FAILED: eth0 still there"
insmod /lib/modules/virtio_net.ko || echo "FAILED: insmod virtio_net"
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
    usleep 100000; i=$((i + 1))
done
ip addr add %(ip)s dev eth0
ip link set eth0 up
i=0
until [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] ||
      [ $i -ge 100 ]; do
    usleep 100000; i=$((i + 1))
done
''' % {'ip': GUEST_IP}

GUEST_CMD = (wait_ping_cmd(STUB_IP, 30) + 'echo "== round 0"\n' +
             ping_cmd(STUB_IP, PINGS) + '\n' +
             'for n in $(seq %d); do\n' % ROUNDS + RELOAD +
             wait_ping_cmd(STUB_IP, 10) + 'echo "== round $n"\n' +
             ping_cmd(STUB_IP, PINGS) + '\ndone\necho "== end"\nsleep 2\n')


def main(t):
    guest_image()
    args = ['-netdev', vhost_user_netdev('v0', VuRig.SOCK, hubid=0)]
    with VuRig(args + STUB_ON_HUB) as rig:
        start = time.monotonic()
        with Guest(None, vhost_user=rig.sock, ip=GUEST_IP,
                   run=GUEST_CMD) as g:
            ended = g.wait_console(r'^== end$', secs(GUEST_TIMEOUT))
            clients = rig.clients() if ended else {}
            rc, console = g.wait(secs(GUEST_TIMEOUT))
        t.diag('guest: %.1fs' % (time.monotonic() - start))
        rounds = [ping_stats(section(console, 'round %d' % n))
                  for n in range(ROUNDS + 1)]
        t.ok(rc == 0 and 'FAILED' not in console and
             rounds == [(PINGS, PINGS)] * (ROUNDS + 1),
             'the guest pings the stub before and after each of %d driver '
             'reloads: all answered (rc=%s, %s)' % (ROUNDS, rc, rounds),
             diag=lambda: console + rig.v.log())
        conn = clients.get('v0.1.conn', {})
        t.ok(conn.get('resets') == 0 and 'v0.2' not in clients,
             'through the resets the guest stays on port v0.1 and its '
             'connection counts no reset', diag=repr(clients))
        disc = rig.event('NETDEV_STREAM_DISCONNECTED', secs(20))
        rig.clients()           # whatever else came meanwhile
        names = [e['event'] for e in rig.q.events + ([disc] if disc else [])]
        t.ok(names.count('NETDEV_STREAM_CONNECTED') == 1 and
             names.count('NETDEV_STREAM_DISCONNECTED') == 1,
             'one NETDEV_STREAM_CONNECTED and one DISCONNECTED (when QEMU '
             'is gone), none for the resets (got %s)' % names)
        rig.check_exit(t, 'reset')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
