#!/usr/bin/env python3
"""`meson install` puts vmwire, its man page, its systemd units and its
vhost-user description where they belong, and the unit runs.

  * `meson install --destdir TMP` of this build: bin/vmwire,
    share/man/man1/vmwire.1, lib/systemd/{system,user}/ vmwire.service and
    its socket units vmwire-default, vmwire-tcp, vmwire-vhost-user,
    share/qemu/vhost-user/50-vmwire.json naming the installed binary.
  * `systemd-analyze verify` (offline: no PID 1 here) on the system units
    and, with --user, on the user units: exit 0 and not one warning (it
    exits 0 on unknown keys and bad values, so its output must be empty).
    ExecStart names <prefix>/bin/vmwire, which exists only under TMP, so a
    copy of the service pointing into TMP is what is verified.
  * The system service's ExecStart, run by hand as systemd would with its
    socket units: under `systemd-socket-activate` with the three sockets
    (named as the socket units name them; unix sockets in TMP, TCP on a
    free port), NOTIFY_SOCKET a datagram socket this test listens on and
    RUNTIME_DIRECTORY a temporary directory.  A peer connecting starts it;
    READY=1 with its MAINPID arrives; the peer's ARP request for the
    gateway 10.0.2.2 is answered (the default network serves); qmp.sock
    is in RUNTIME_DIRECTORY; SIGTERM ends it with status 0.
"""

import json
import os
import shlex
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (SANITIZER_REPORT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         StreamPeer, arp_fields, arp_frame, free_port,
                         tempdir)
from vmwire_test.process import (_kill_and_reap, _read_text,  # noqa: E402
                                 _spawn, _tail)

BUILD = os.path.dirname(os.path.abspath(os.environ['VMWIRE_BIN']))
UNITS = ['vmwire.service', 'vmwire-default.socket', 'vmwire-tcp.socket',
         'vmwire-vhost-user.socket']
PEER_MAC = '52:54:00:aa:00:31'


def build_options():
    out = subprocess.run(['meson', 'introspect', '--buildoptions', BUILD],
                         capture_output=True, text=True, check=True).stdout
    return {o['name']: o['value'] for o in json.loads(out)}


def check_files(t, dest, prefix):
    root = dest + prefix
    want = ['bin/vmwire', 'share/man/man1/vmwire.1',
            'share/qemu/vhost-user/50-vmwire.json']
    want += ['lib/systemd/%s/%s' % (kind, unit) for kind in ('system', 'user')
             for unit in UNITS]
    missing = [w for w in want if not os.path.isfile(os.path.join(root, w))]
    t.ok(not missing, 'installed: binary, man page, vhost-user JSON, system '
         'and user units', diag='missing under %s: %s' % (root, missing))
    t.ok(os.access(os.path.join(root, 'bin/vmwire'), os.X_OK),
         'bin/vmwire is executable')
    try:
        with open(os.path.join(root, 'share/qemu/vhost-user/50-vmwire.json'),
                  encoding='utf-8') as f:
            desc = json.load(f)
    except (OSError, ValueError) as e:
        desc = {'error': str(e)}
    t.ok(desc.get('binary') == prefix + '/bin/vmwire' and
         desc.get('type') == 'net',
         '50-vmwire.json names the installed binary', diag=desc)


def exec_start(unit_path):
    with open(unit_path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('ExecStart='):
                return shlex.split(line[len('ExecStart='):])
    return []


def verify(t, dest, prefix, kind, work):
    """systemd-analyze verify on a copy whose ExecStart points into dest."""
    src = os.path.join(dest + prefix, 'lib/systemd', kind)
    copy = os.path.join(work, kind)
    os.mkdir(copy)
    for unit in UNITS:
        with open(os.path.join(src, unit), encoding='utf-8') as f:
            text = f.read()
        text = text.replace('ExecStart=' + prefix, 'ExecStart=' + dest +
                            prefix)
        with open(os.path.join(copy, unit), 'w', encoding='utf-8') as f:
            f.write(text)
    runtime = os.path.join(work, 'xdg-' + kind)
    os.mkdir(runtime, 0o700)
    argv = ['systemd-analyze'] + (['--user'] if kind == 'user' else []) + \
        ['verify', '--man=no'] + UNITS
    res = subprocess.run(argv, cwd=copy, capture_output=True, text=True,
                         env=dict(os.environ, XDG_RUNTIME_DIR=runtime),
                         timeout=60)
    out = (res.stdout + res.stderr).strip()
    t.ok(res.returncode == 0 and not out,
         'systemd-analyze %sverify: the %s units, no warning'
         % ('--user ' if kind == 'user' else '', kind), diag=out)


def gateway_answers(peer):
    peer.send_frames([arp_frame(1, PEER_MAC, '10.0.2.15', None,
                                '10.0.2.2')])
    deadline = time.monotonic() + 10 * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        frame = peer.recv_frame(timeout=1)
        fields = arp_fields(frame) if frame else None
        if fields and fields[0] == 2 and fields[2] == '10.0.2.2':
            return True
    return False


def run_service(t, dest, prefix, work):
    argv = exec_start(os.path.join(dest + prefix,
                                   'lib/systemd/system/vmwire.service'))
    t.ok(argv[:1] == [prefix + '/bin/vmwire'] and '-sandbox' in argv,
         'ExecStart runs the installed vmwire sandboxed', diag=argv)
    argv = [dest + argv[0]] + argv[1:]
    run_dir = os.path.join(work, 'run-vmwire')
    os.mkdir(run_dir, 0o700)
    default = os.path.join(work, 'default.sock')
    vhost = os.path.join(work, 'vhost-user.sock')
    notify_path = os.path.join(work, 'notify')
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    env = {'NOTIFY_SOCKET': notify_path, 'RUNTIME_DIRECTORY': run_dir}
    for name in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'):
        if name in os.environ:
            env[name] = os.environ[name]
    activate = ['systemd-socket-activate']
    for name, value in env.items():
        activate += ['-E', '%s=%s' % (name, value)]
    activate += ['-l', default, '-l', '127.0.0.1:%d' % free_port(),
                 '-l', vhost,
                 '--fdname=vmwire-default:vmwire-tcp:vmwire-vhost-user']
    log_path = os.path.join(work, 'vmwire.log')
    proc = _spawn(activate + argv, log_path)
    try:
        deadline = time.monotonic() + 5 * TIMEOUT_SCALE
        while not os.path.exists(default) and time.monotonic() < deadline:
            time.sleep(0.02)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5 * TIMEOUT_SCALE)
        s.connect(default)
        with StreamPeer(sock=s) as peer:
            notify.settimeout(20 * TIMEOUT_SCALE)
            try:
                msg = notify.recv(4096).decode()
            except socket.timeout:
                msg = ''
            t.ok('READY=1' in msg.split('\n') and
                 'MAINPID=%d' % proc.pid in msg.split('\n'),
                 'READY=1 with MAINPID arrives on NOTIFY_SOCKET',
                 diag=repr(msg) + '\n' + _tail(_read_text(log_path)))
            t.ok(gateway_answers(peer), 'the default network serves: the '
                 'gateway 10.0.2.2 answers ARP',
                 diag=_tail(_read_text(log_path)))
        t.ok(os.path.exists(os.path.join(run_dir, 'qmp.sock')),
             'qmp.sock is in RUNTIME_DIRECTORY',
             diag=str(os.listdir(run_dir)))
    finally:
        rc = _kill_and_reap(proc, 5 * TIMEOUT_SCALE)
        notify.close()
    log = _read_text(log_path)
    t.ok(rc == 0 and not SANITIZER_REPORT.search(log),
         'SIGTERM: exit status 0, no sanitizer report',
         diag='status %s\n%s' % (rc, _tail(log)))


def main():
    with TAP() as t, tempdir('install') as work:
        dest = os.path.join(work, 'dest')
        res = subprocess.run(['meson', 'install', '-C', BUILD, '--no-rebuild',
                              '--destdir', dest], capture_output=True,
                             text=True, timeout=120)
        t.ok(res.returncode == 0, 'meson install --destdir',
             diag=res.stdout + res.stderr)
        prefix = build_options()['prefix']
        check_files(t, dest, prefix)
        verify(t, dest, prefix, 'system', work)
        verify(t, dest, prefix, 'user', work)
        run_service(t, dest, prefix, work)


if __name__ == '__main__':
    main()
