#!/usr/bin/env python3
"""Socket activation: vmwire takes the listening sockets systemd passes.

systemd's own `systemd-socket-activate` (package systemd) binds the
sockets, waits for the first connection, then execs vmwire with them as
fds 3, 4, ... and LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES set, exactly as
a .socket unit does (system/listen-fds.c).  Each scenario has its own
vmwire and temporary directory:

  * `-netdev stream,server=on,addr.type=fd,addr.str=NAME`: a peer that
    connects before vmwire runs (its connection starts vmwire) gets its
    ARP answered by a nic-stub once vmwire is ready; a second peer after
    it is served too; the socket file is the activator's, so vmwire
    leaves it in place at exit.
  * the default network (no options) with sockets named vmwire-default
    (unix) and vmwire-tcp (TCP, a free port: not 127.0.0.1:5555) and
    vmwire-vhost-user: it prints those addresses, creates no listener of
    its own there, and a unix peer and a TCP peer share one segment.
  * a name nobody passed: exit 1, saying which names were passed; a
    passed socket no option takes: a warning naming it, and it is closed
    (a connect to it is refused); LISTEN_FDNAMES that does not match
    LISTEN_FDS: exit 1 with what is wrong.

Every vmwire must end with status 0 on SIGTERM (or 1 where refused) and
no sanitizer report.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (SANITIZER_REPORT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         StreamPeer, arp_fields, arp_frame, free_port,
                         tempdir)
from vmwire_test.daemon import vmwire_command  # noqa: E402
from vmwire_test.process import (_kill_and_reap, _read_text,  # noqa: E402
                                 _spawn, _tail)

STUB_MAC = '52:54:00:00:0a:64'
STUB_IP = '10.0.2.100'
PEER_MAC = '52:54:00:aa:00:01'
PEER2_MAC = '52:54:00:aa:00:02'


class Activated:
    """systemd-socket-activate -l ADDR... --fdname=NAMES vmwire ARGS.

    listens: [(address, name)]; the process is vmwire once a connection
    came (the activator execs it in place).  The activator passes no
    environment but its own LISTEN_* and -E NAME=VALUE: setenv (a dict)
    and the sanitizers' options are passed so.  Output goes to a log in
    @directory.
    """

    def __init__(self, directory, listens, args, setenv=None):
        argv = ['systemd-socket-activate']
        env = dict(setenv or {})
        for name in ('ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'):
            if name in os.environ:
                env.setdefault(name, os.environ[name])
        for name, value in env.items():
            argv += ['-E', '%s=%s' % (name, value)]
        for addr, _ in listens:
            argv += ['-l', addr]
        argv.append('--fdname=' + ':'.join(name for _, name in listens))
        self.log_path = os.path.join(directory, 'vmwire.log')
        self.proc = _spawn(argv + vmwire_command() + [str(a) for a in args],
                           self.log_path)
        self.returncode = None

    def log(self):
        return _read_text(self.log_path)

    def wait_log(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if self.proc.poll() is not None:
                return text in self.log()
            time.sleep(0.02)
        return False

    def wait_exit(self, timeout=10.0):
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.stop()

    def stop(self):
        if self.returncode is None:
            self.returncode = _kill_and_reap(self.proc, 5 * TIMEOUT_SCALE)
        return self.returncode

    def check_exit(self, t, name, expect=0):
        rc = self.stop()
        log = self.log()
        t.ok(rc == expect and not SANITIZER_REPORT.search(log),
             '%s: vmwire exits with status %d, no sanitizer report'
             % (name, expect), diag='status %s\n%s' % (rc, _tail(log)))


def wait_path(path, timeout=5.0):
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    return os.path.exists(path)


def unix_peer(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5 * TIMEOUT_SCALE)
    s.connect(path)
    return StreamPeer(sock=s)


def arp_request(mac, target=STUB_IP, sender='10.0.2.15'):
    return arp_frame(1, mac, sender, None, target)


def arp_answered(peer, mac, sender='10.0.2.15'):
    """The nic-stub's reply to arp_request(mac) arrives on peer."""
    deadline = time.monotonic() + 10 * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        frame = peer.recv_frame(timeout=1)
        if frame is None:
            continue
        fields = arp_fields(frame)
        if fields and fields[0] == 2 and fields[2] == STUB_IP and \
                fields[4] == sender:
            return True
    return False


def scenario_stream(t):
    with tempdir('sa') as d:
        path = os.path.join(d, 'vm.sock')
        v = Activated(d, [(path, 'vm0')], [
            '-netdev', 'stream,id=n0,server=on,addr.type=fd,addr.str=vm0',
            '-device', 'nic-stub,netdev=n0,mac=%s,ip=%s/24'
            % (STUB_MAC, STUB_IP)])
        try:
            t.ok(wait_path(path), 'the activator listens on the socket file')
            first = unix_peer(path)
            first.send_frames([arp_request(PEER_MAC)])
            t.ok(v.wait_log('vmwire: ready'),
                 'the first connection starts vmwire, which gets ready',
                 diag=_tail(v.log()))
            t.ok(arp_answered(first, PEER_MAC),
                 'the peer that connected before vmwire ran is answered',
                 diag=_tail(v.log()))
            first.close()
            time.sleep(0.2)
            with unix_peer(path) as second:
                second.send_frames([arp_request(PEER2_MAC)])
                t.ok(arp_answered(second, PEER2_MAC),
                     'a peer connecting later on the passed socket is '
                     'answered', diag=_tail(v.log()))
        finally:
            v.check_exit(t, 'addr.str=NAME')
        t.ok(os.path.exists(path), 'vmwire leaves the activator\'s socket '
             'file in place at exit')


def scenario_default(t):
    with tempdir('sa') as d:
        vm = os.path.join(d, 'passed-default.sock')
        vhost = os.path.join(d, 'passed-vhost.sock')
        runtime = os.path.join(d, 'runtime')
        os.mkdir(runtime, 0o700)
        port = free_port()
        v = Activated(d, [(vm, 'vmwire-default'),
                          ('127.0.0.1:%d' % port, 'vmwire-tcp'),
                          (vhost, 'vmwire-vhost-user')], [],
                      setenv={'XDG_RUNTIME_DIR': runtime})
        try:
            wait_path(vm)
            a = unix_peer(vm)
            t.ok(v.wait_log('vmwire: ready'), 'default network: ready',
                 diag=_tail(v.log()))
            log = v.log()
            t.ok('addr.path=%s ' % vm in log and
                 'connect=127.0.0.1:%d ' % port in log and
                 'path=%s ' % vhost in log,
                 'it prints the passed sockets\' path, port and vhost-user '
                 'path', diag=log)
            vmdir = os.path.join(runtime, 'vmwire')
            t.ok(sorted(os.listdir(vmdir)) == ['qmp.sock'],
                 'it makes no listener of its own beside qmp.sock',
                 diag=str(os.listdir(vmdir)))
            with StreamPeer(port) as b:
                time.sleep(0.2)
                probe = arp_request(PEER_MAC, target='10.0.2.77')
                a.send_frames([probe])
                got = b.recv_all(quiet=1.0 * TIMEOUT_SCALE)
                t.ok(probe in got, 'a broadcast from the unix peer reaches '
                     'the TCP peer (one segment)', diag=_tail(v.log()))
            a.close()
        finally:
            v.check_exit(t, 'default network')


def scenario_errors(t):
    with tempdir('sa') as d:
        path = os.path.join(d, 'a.sock')
        v = Activated(d, [(path, 'a')], [
            '-netdev', 'stream,id=n0,server=on,addr.type=fd,addr.str=b',
            '-device', 'nic-stub,netdev=n0'])
        wait_path(path)
        with unix_peer(path):
            v.wait_exit()
        want = ("vmwire: -netdev stream,id=n0,server=on,addr.type=fd,"
                "addr.str=b: File descriptor named 'b' has not been found "
                "(systemd passed sockets named: a)")
        t.ok(want in v.log(), 'a name not passed: exit 1 naming the ones '
             'passed', diag=v.log())
        v.check_exit(t, 'name not passed', expect=1)

    with tempdir('sa') as d:
        path = os.path.join(d, 'a.sock')
        spare = os.path.join(d, 'spare.sock')
        v = Activated(d, [(path, 'a'), (spare, 'spare')], [
            '-netdev', 'stream,id=n0,server=on,addr.type=fd,addr.str=a',
            '-device', 'nic-stub,netdev=n0'])
        try:
            wait_path(path)
            with unix_peer(path):
                t.ok(v.wait_log('vmwire: ready'), 'unclaimed socket: ready',
                     diag=v.log())
            want = ("vmwire: warning: systemd passed a socket named 'spare' "
                    "(fd 4) that no option takes (addr.type=fd,"
                    "addr.str=NAME): closed")
            t.ok(want in v.log(), 'a passed socket no option takes is '
                 'named in a warning', diag=v.log())
            refused = False
            try:
                unix_peer(spare).close()
            except ConnectionRefusedError:
                refused = True
            t.ok(refused, 'and closed: a connect to it is refused')
        finally:
            v.check_exit(t, 'unclaimed socket')

    with tempdir('sa') as d:
        log_path = os.path.join(d, 'out.log')
        env = dict(os.environ, LISTEN_FDS='2', LISTEN_FDNAMES='a')
        proc = _spawn(['sh', '-c', 'LISTEN_PID=$$; export LISTEN_PID; '
                       'exec "$@"', 'sh'] + vmwire_command(), log_path,
                      env=env)
        try:
            proc.wait(10 * TIMEOUT_SCALE)
        finally:
            rc = _kill_and_reap(proc)
        out = _read_text(log_path)
        t.ok(rc == 1 and 'vmwire: LISTEN_FDNAMES=a names 1 sockets but '
             'LISTEN_FDS=2 (socket activation)' in out,
             'LISTEN_FDNAMES not matching LISTEN_FDS: exit 1 saying so',
             diag='status %s\n%s' % (rc, out))


def main():
    with TAP() as t:
        scenario_stream(t)
        scenario_default(t)
        scenario_errors(t)


if __name__ == '__main__':
    main()
