#!/usr/bin/env python3
"""vmwire with no arguments: the built-in default network, used as told.

`vmwire` alone starts a learning hub with a libslirp uplink (DHCP, NAT), a
unix stream listener at $XDG_RUNTIME_DIR/vmwire/default.sock and a TCP
listener on 127.0.0.1:5555 that both take any number of VMs, a vhost-user
listener at vhost-user.sock beside them (hub 0 too), and a QMP socket; it
prints the QEMU options that reach them (for vhost-user: shared memory, a
chardev, vectors=0; checked as printed and listed by QMP, the guests
booted here use the two stream options).

This test runs it with XDG_RUNTIME_DIR pointing at a temporary directory,
reads the two printed `-netdev ... -device ...` lines and boots one real
guest with each, exactly as printed (the MAC comes from the printed
-device).  Both guests take DHCP leases (10.0.2.15 and .16 from the
gateway 10.0.2.2) and ping each other; vmwire logs each VM joining and
leaving with its MAC; QMP answers on the printed socket.  At SIGTERM it
exits 0 and removes its socket files.  Without XDG_RUNTIME_DIR the files go
under the working directory.

The TCP port is fixed, so this test cannot pick a free one.  If something
else holds 127.0.0.1:5555 (waited for up to PORT_WAIT seconds), it fails
with a diagnostic naming the port rather than testing the wrong daemon.
"""

import errno
import os
import re
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (SANITIZER_REPORT, TAP, Guest, Vmwire,  # noqa: E402
                         VmwireError, dhcp_cmd, dhcp_lease, guest_image,
                         ping_cmd, ping_stats, tempdir, wait_ping_cmd)

DEFAULT_HOST, DEFAULT_PORT = '127.0.0.1', 5555
PINGS = 5
PORT_WAIT = 30
GUEST_TIMEOUT = 120
LEASES = ('10.0.2.15', '10.0.2.16')


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


def guest_run():
    """DHCP, then ping whichever of the two leases is not ours, then stay
    up (so that the other guest can ping us) until the test is done."""
    def to_other(cmd):      # OTHER: a shell-safe word, quoted by neither
        return cmd.replace('OTHER', '"$other"')
    return (dhcp_cmd() +
            'my=$(cat /tmp/dhcp.ip)\n'
            'other=%s; [ "$my" = %s ] && other=%s\n'
            % (LEASES[0], LEASES[0], LEASES[1]) +
            to_other(wait_ping_cmd('OTHER', 60)) +
            to_other(ping_cmd('OTHER', PINGS)) +
            '\necho "== done pinging $other"\nsleep 60\n')


def printed_options(log):
    """The printed QEMU options: {'stream': (netdev, mac), 'socket': ...}."""
    found = {}
    for m in re.finditer(r'^\s+-netdev ((\w+),\S+) -device '
                         r'virtio-net-pci,netdev=n0,mac=(\S+)$', log,
                         re.MULTILINE):
        found[m.group(2)] = (m.group(1), m.group(3))
    return found


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
    with tempdir('default') as run_dir:
        env = dict(os.environ, XDG_RUNTIME_DIR=run_dir)
        started = False
        try:
            with Vmwire([], env=env) as v:
                started = True
                check_default_network(t, v, os.path.join(run_dir, 'vmwire'))
        except VmwireError as e:
            if started:
                raise       # a problem at exit: the TAP context reports it
            t.ok(False, 'vmwire with no arguments starts', diag=str(e))
        check_files_removed(t, os.path.join(run_dir, 'vmwire'))
    check_cwd_fallback(t)


def check_default_network(t, v, vm_dir):
    """What the user sees, followed to the letter."""
    log = v.log()
    with open('/proc/%d/status' % v.proc.pid) as f:
        seccomp = [line.split()[1] for line in f
                   if line.startswith('Seccomp:')]
    t.ok(seccomp == ['2'], 'the default network runs under -sandbox on '
         '(seccomp filter mode in /proc/PID/status)', diag=repr(seccomp))
    sock_path = os.path.join(vm_dir, 'default.sock')
    qmp_path = os.path.join(vm_dir, 'qmp.sock')
    opts = printed_options(log)
    t.ok(opts.get('stream', ('',))[0] ==
         'stream,id=n0,server=off,addr.type=unix,addr.path=' + sock_path,
         'prints -netdev stream,...,addr.path=$XDG_RUNTIME_DIR/vmwire/'
         'default.sock with a -device', diag=log)
    t.ok(opts.get('socket', ('',))[0] ==
         'socket,id=n0,connect=%s:%d' % (DEFAULT_HOST, DEFAULT_PORT),
         'prints -netdev socket,id=n0,connect=127.0.0.1:5555 with a -device',
         diag=log)
    macs = [o[1] for o in opts.values()]
    t.ok(len(set(macs)) == 2, 'the two printed -device options have '
         'different MACs (%s)' % macs, diag=log)
    t.ok(re.search(r'^vmwire: QMP monitor: %s$' % re.escape(qmp_path), log,
                   re.MULTILINE), 'prints the QMP socket', diag=log)
    mode = os.stat(vm_dir).st_mode
    t.ok(stat.S_IMODE(mode) == 0o700, 'the directory is made 0700 (%o)'
         % stat.S_IMODE(mode))
    t.ok(stat.S_ISSOCK(os.stat(sock_path).st_mode), 'default.sock exists')
    vhost_path = os.path.join(vm_dir, 'vhost-user.sock')
    t.ok(re.search(r'^\s+-object memory-backend-memfd,id=mem,size=256M,'
                   r'share=on -numa node,memdev=mem -chardev socket,id=c0,'
                   r'path=%s -netdev vhost-user,id=n0,chardev=c0 -device '
                   r'virtio-net-pci,netdev=n0,vectors=0,mac=\S+$'
                   % re.escape(vhost_path), log, re.MULTILINE),
         'prints the QEMU options for vhost-user: shared memory, a chardev '
         'on $XDG_RUNTIME_DIR/vmwire/vhost-user.sock, vectors=0', diag=log)
    t.ok(os.path.exists(vhost_path) and
         stat.S_ISSOCK(os.stat(vhost_path).st_mode),
         'vhost-user.sock exists')
    with QMP.unix(qmp_path) as q:
        q.negotiate()
        clients = {c['id']: c for c in q.cmd('x-query-network')}
    t.ok({'vms', 'tcp', 'uplink', 'uplink.port'} <= set(clients) and
         clients['uplink']['type'] == 'user',
         'QMP on the printed socket: a unix and a TCP listener and a user '
         'uplink on the hub', diag=repr(clients))
    t.ok(clients.get('vhost', {}).get('type') == 'vhost-user' and
         clients['vhost']['info'].startswith('vhost-user: listening on ' +
                                             vhost_path),
         'QMP: a vhost-user listener on the hub', diag=repr(clients))
    if len(opts) != 2:
        return
    since = len(v.log())
    guests = [Guest(opts[kind][0], mac=opts[kind][1], run=guest_run())
              for kind in ('stream', 'socket')]
    try:
        for g in guests:
            g.start()
        done = [g.wait_console(r'^== done pinging', GUEST_TIMEOUT)
                for g in guests]
        consoles = [g.console() for g in guests]
    finally:
        for g in guests:
            g.close()
    leases = [dhcp_lease(c) for c in consoles]
    t.ok(all(leases) and sorted(le['ip'] for le in leases) == list(LEASES),
         'both guests get DHCP leases: %s' % [le and le['ip'] for le in leases],
         diag='\n'.join(consoles))
    t.ok(all(le and le['router'] == '10.0.2.2' and le['dns'] == '10.0.2.3'
             and le['mask'] == '24' for le in leases),
         'the leases name router 10.0.2.2, DNS 10.0.2.3, a /24', diag=leases)
    for i, kind in enumerate(('stream', 'socket')):
        t.ok(done[i] and ping_stats(consoles[i]) == (PINGS, PINGS),
             'the guest on the printed %s option pings the other: %s'
             % (kind, ping_stats(consoles[i])), diag=consoles[i])
    log = v.log()[since:]
    for kind, port in (('stream', 'vms'), ('socket', 'tcp')):
        mac = opts[kind][1]
        t.ok(re.search(r'^vmwire: %s\.\d+: VM %s joined hub 0$'
                       % (port, re.escape(mac)), log, re.MULTILINE),
             'logs the %s VM joining with its MAC %s' % (kind, mac), diag=log)
        t.ok(v.wait_log(r'^vmwire: %s\.\d+: VM %s left hub 0'
                        % (port, re.escape(mac)), 10, since),
             'logs the %s VM leaving with its MAC' % kind, diag=v.log)
    rc = v.stop()
    t.ok(rc == 0, 'vmwire exits 0 on SIGTERM (rc=%s)' % rc, diag=v.log)
    t.ok(not SANITIZER_REPORT.search(v.log()), 'no sanitizer report',
         diag=v.log)


def check_files_removed(t, vm_dir):
    left = sorted(os.listdir(vm_dir)) if os.path.isdir(vm_dir) else []
    t.ok(not left, 'the socket files are removed at exit (left: %s)' % left)


def check_cwd_fallback(t):
    """Without XDG_RUNTIME_DIR the files go to ./vmwire."""
    env = {k: val for k, val in os.environ.items() if k != 'XDG_RUNTIME_DIR'}
    with tempdir('default-cwd') as cwd:
        try:
            with Vmwire([], env=env, cwd=cwd) as v:
                path = os.path.join(cwd, 'vmwire', 'default.sock')
                t.ok(stat.S_ISSOCK(os.stat(path).st_mode) and
                     'addr.path=%s ' % path in v.log(),
                     'without XDG_RUNTIME_DIR: ./vmwire/default.sock',
                     diag=v.log)
        except (VmwireError, OSError) as e:
            t.ok(False, 'without XDG_RUNTIME_DIR: ./vmwire/default.sock',
                 diag=str(e))


if __name__ == '__main__':
    start = time.monotonic()
    with TAP() as tap:
        try:
            main(tap)
        finally:
            tap.diag('runtime: %.1fs' % (time.monotonic() - start))
