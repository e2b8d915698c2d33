#!/usr/bin/env python3
"""vmwire with no arguments: the built-in default network, used as told.

`vmwire` alone listens on the fixed address 127.0.0.1:5555 with a nic-stub
at 10.0.2.100/24 behind it, and prints on stderr the QEMU options and the
guest commands that reach it. This test checks that it prints
`-netdev socket,id=n0,connect=127.0.0.1:5555` and a matching
`-device virtio-net-pci,netdev=n0`, then boots a real guest with exactly the
printed -netdev string and the printed guest address, and pings the printed
stub address: every request answered, no duplicate, the connection logged.
Finally SIGTERM: exit status 0, "vmwire: shutting down", no sanitizer
report.

The port is fixed, so this test cannot pick a free one. If something else
holds 127.0.0.1:5555 (waited for up to PORT_WAIT seconds), it fails with a
diagnostic naming the port rather than testing the wrong daemon.
"""

import errno
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (SANITIZER_REPORT, TAP, Guest, Vmwire,  # noqa: E402
                         VmwireError, guest_image, ping_cmd, ping_stats)

DEFAULT_HOST, DEFAULT_PORT = '127.0.0.1', 5555
EXPECTED_NETDEV = 'socket,id=n0,connect=%s:%d' % (DEFAULT_HOST, DEFAULT_PORT)
PINGS = 5
PORT_WAIT = 30
GUEST_TIMEOUT = 90


def port_busy():
    """Why 127.0.0.1:5555 cannot be listened on, or None if it can.

    SO_REUSEADDR as vmwire sets it, so a TIME_WAIT left by an earlier run
    does not count as busy.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((DEFAULT_HOST, DEFAULT_PORT))
            s.listen(1)
        except OSError as e:
            return '%s (%s)' % (os.strerror(e.errno),
                                errno.errorcode.get(e.errno, e.errno))
    return None


def wait_port_free():
    deadline = time.monotonic() + PORT_WAIT
    while True:
        busy = port_busy()
        if busy is None or time.monotonic() >= deadline:
            return busy
        time.sleep(0.5)


def main(t):
    guest_image()        # build first: the only case allowed to skip
    busy = wait_port_free()
    if not t.ok(busy is None, 'the default port %s:%d is free'
                % (DEFAULT_HOST, DEFAULT_PORT),
                diag='cannot test the default configuration: %s:%d is in '
                'use (%s) after waiting %ds; another vmwire or service '
                'holds it (see `ss -ltnp sport = :%d`)'
                % (DEFAULT_HOST, DEFAULT_PORT, busy, PORT_WAIT,
                   DEFAULT_PORT)):
        return
    started = False
    try:
        with Vmwire([]) as v:
            started = True
            check_default_network(t, v)
    except VmwireError as e:
        if started:
            raise           # a problem at exit: the TAP context reports it
        t.ok(False, 'vmwire with no arguments starts', diag=str(e))


def check_default_network(t, v):
    """What the user sees, followed to the letter."""
    log = v.log()
    # The options line: "    -netdev OPTS -device OPTS".
    options = re.search(r'^\s+-netdev (\S+) -device (\S+)$', log,
                        re.MULTILINE)
    netdev = device = None
    if options:
        netdev, device = options.group(1), options.group(2)
    guest_ip = re.search(r'ip addr add (\S+) dev eth0', log)
    target = re.search(r'\bping (\S+)$', log, re.MULTILINE)
    t.ok(netdev == EXPECTED_NETDEV,
         'prints the QEMU option -netdev %s' % EXPECTED_NETDEV, diag=log)
    t.ok(device == 'virtio-net-pci,netdev=n0',
         'prints the QEMU option -device virtio-net-pci,netdev=n0',
         diag=log)
    t.ok(guest_ip and guest_ip.group(1) == '10.0.2.15/24' and
         target and target.group(1) == '10.0.2.100',
         'prints the guest commands: 10.0.2.15/24, ping 10.0.2.100',
         diag=log)
    if not (netdev and guest_ip and target):
        return
    since = len(v.log())
    with Guest(netdev, ip=guest_ip.group(1),
               run=ping_cmd(target.group(1), PINGS)) as g:
        conn = v.wait_log(r'^vmwire: \S+: connection from '
                          r'127\.0\.0\.1:\d+$', 30, since)
        t.ok(conn, 'vmwire logs the guest\'s connection',
             diag=lambda: v.log() + g.qemu_log())
        rc, console = g.wait(GUEST_TIMEOUT)
    t.ok(rc == 0, 'the guest pings %s (rc=%s)' % (target.group(1), rc),
         diag=console)
    t.ok(ping_stats(console) == (PINGS, PINGS),
         'all %d pings answered (got %s)' % (PINGS, ping_stats(console)),
         diag=console)
    t.ok('DUP!' not in console, 'no duplicate replies', diag=console)
    rc = v.stop()
    t.ok(rc == 0, 'vmwire exits 0 on SIGTERM (rc=%s)' % rc, diag=v.log)
    t.ok(re.search(r'^vmwire: shutting down$', v.log(), re.MULTILINE),
         'vmwire logs "vmwire: shutting down"', diag=v.log)
    t.ok(not SANITIZER_REPORT.search(v.log()), 'no sanitizer report',
         diag=v.log)


if __name__ == '__main__':
    start = time.monotonic()
    with TAP() as tap:
        try:
            main(tap)
        finally:
            tap.diag('runtime: %.1fs' % (time.monotonic() - start))
