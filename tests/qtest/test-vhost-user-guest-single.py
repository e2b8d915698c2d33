#!/usr/bin/env python3
"""A real QEMU 7.2 guest on a single-frontend vhost-user netdev (no hubid=).

vmwire runs `-netdev vhost-user,id=v0,addr.type=unix,addr.path=P` with a
nic-stub s0 (10.0.2.100/24) as its peer (`-device nic-stub,netdev=v0`).

  - before: `info network` shows v0 `type=vhost-user,vhost-user:
    listening on P`; the stub's link is down (no frontend).
  - a guest (10.0.2.15/24) on vhost-user P connects:
    NETDEV_STREAM_CONNECTED {netdev-id: v0, addr: {type: unix, path: P}},
    v0 shows `vhost-user: frontend on P` and the stub's link comes up.
  - a second frontend (a bare unix connection) while the guest is on is
    refused: closed at once, and vmwire says so in its log.
  - the guest pings the stub, small and full-MTU: all answered, no
    duplicates (the refused frontend disturbed nothing).
  - the guest powers off: NETDEV_STREAM_DISCONNECTED {netdev-id: v0}, the
    stub's link goes down, v0 listens on P again.

vmwire must then exit 0 on SIGTERM with no sanitizer report.
"""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vuguests import (GUEST_IP, STUB_IP, STUB_MAC, VuRig,  # noqa: E402
                      secs, vhost_user_netdev)
from vmwire_test import (TAP, Guest, guest_image, ping_cmd,  # noqa: E402
                         ping_stats, section)

PINGS = 5
LARGE = 1472
GUEST_TIMEOUT = 120

GUEST_CMD = r'''
rc=0
echo "== small"
%(small)s || rc=1
echo "== large"
%(large)s || rc=1
exit $rc
''' % {'small': ping_cmd(STUB_IP, PINGS),
       'large': ping_cmd(STUB_IP, PINGS).replace('ping ', 'ping -s %d '
                                                 % LARGE, 1)}


def stub_link(rig):
    return rig.clients().get('s0', {}).get('link-up')


def wait_stub_link(rig, up, timeout=10.0):
    deadline = time.monotonic() + secs(timeout)
    while stub_link(rig) != up and time.monotonic() < deadline:
        time.sleep(0.1)
    return stub_link(rig)


def listening(rig):
    return re.fullmatch(r'type=vhost-user,vhost-user: listening on %s.*'
                        % re.escape(rig.sock), rig.info('v0') or '')


def second_frontend_refused(rig):
    """A second connection to P is closed by vmwire at once (EOF within a
    few seconds, before it sends anything)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(secs(5))
        try:
            s.connect(rig.sock)
            return s.recv(1) == b''
        except ConnectionResetError:
            return True
        except OSError:
            return False


def check_connected(t, rig, g):
    ev = rig.event('NETDEV_STREAM_CONNECTED', secs(60))
    want = {'netdev-id': 'v0', 'addr': {'type': 'unix', 'path': rig.sock}}
    t.ok(ev is not None and ev['data'] == want,
         'NETDEV_STREAM_CONNECTED %s (got %s)' % (want, ev),
         diag=lambda: rig.v.log() + g.qemu_log())
    got = rig.info('v0')
    t.ok(got == 'type=vhost-user,vhost-user: frontend on ' + rig.sock,
         'info network: v0 is "type=vhost-user,vhost-user: frontend on P" '
         '(got %r)' % got, diag=lambda: rig.hmp('info network'))
    t.ok(wait_stub_link(rig, True) is True, 'the stub\'s link comes up')
    since = len(rig.v.log())
    t.ok(second_frontend_refused(rig) and
         rig.v.wait_log(r'^vmwire: v0: vhost-user: .*refused', secs(5),
                        since),
         'a second frontend while the guest is on is closed at once, with '
         'a log line', diag=rig.v.log)


def main(t):
    guest_image()
    args = ['-netdev', vhost_user_netdev('v0', VuRig.SOCK),
            '-device', 'nic-stub,id=s0,netdev=v0,mac=%s,ip=%s/24'
            % (STUB_MAC, STUB_IP)]
    with VuRig(args) as rig:
        t.ok(listening(rig), 'info network: v0 is "type=vhost-user,'
             'vhost-user: listening on P" (got %r)' % rig.info('v0'))
        t.ok(stub_link(rig) is False, 'the stub\'s link is down while no '
             'frontend is attached', diag=lambda: repr(rig.clients()))
        start = time.monotonic()
        with Guest(None, vhost_user=rig.sock, ip=GUEST_IP,
                   run=GUEST_CMD) as g:
            check_connected(t, rig, g)
            rc, console = g.wait(secs(GUEST_TIMEOUT))
        t.diag('guest: %.1fs' % (time.monotonic() - start))
        small, large = section(console, 'small'), section(console, 'large')
        t.ok(rc == 0 and ping_stats(small) == (PINGS, PINGS) and
             ping_stats(large) == (PINGS, PINGS) and 'DUP!' not in console,
             'all small and full-MTU pings answered, no duplicates (rc=%s, '
             '%s, %s)' % (rc, ping_stats(small), ping_stats(large)),
             diag=console)
        ev = rig.event('NETDEV_STREAM_DISCONNECTED', secs(20))
        t.ok(ev is not None and ev['data'] == {'netdev-id': 'v0'},
             'NETDEV_STREAM_DISCONNECTED {netdev-id: v0} (got %s)' % ev)
        t.ok(wait_stub_link(rig, False) is False and listening(rig),
             'the stub\'s link goes down and v0 listens on P again',
             diag=lambda: rig.hmp('info network'))
        rig.check_exit(t, 'single')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
