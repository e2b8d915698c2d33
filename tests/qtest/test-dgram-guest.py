#!/usr/bin/env python3
"""-netdev dgram (QEMU 7.2+) against real QEMU guests and between vmwire.

    IPv6 multicast   two vmwire processes on ff02::<random> (QEMU can't):
                     a frame injected at one nic-stub (QMP
                     x-nic-stub-inject) reaches the other's (x-nic-stub-read)
                     exactly once and is not looped back to the sender's
                     own stub; interface by name (local.host=v0) and by
                     address (local.host=fd00:99::1).  Run in a private
                     network namespace on a veth pair, so nothing is sent
                     on a real interface.
    inet unicast     a guest with -netdev dgram local/remote on 127.0.0.1
                     pings vmwire's nic-stub 10.0.2.100.
    unix             the same over AF_UNIX datagram sockets; vmwire removes
                     its socket file when it exits.
    IPv4 multicast   two guests and a vmwire stub on one group: each guest
                     pings the stub and the other guest.
    bulk             two guests, each on its own udp port of a vmwire hub:
                     8 MiB over TCP from one to the other arrive whole.
                     Full-size frames come in bursts, so vmwire sends runs
                     of them as UDP GSO messages: QEMU must still get one
                     frame per datagram.

Status strings (`info network`) are checked against QEMU 7.2's forms.
"""

import base64
import ctypes
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (GUEST_SH_PRELUDE,  # noqa: E402
                         GUEST_SH_RECEIVE_COUNT, SANITIZER_REPORT, TAP,
                         TIMEOUT_SCALE,
                         Guest, Vmwire, check_vmwire_exit, free_port,
                         guest_done_handshake, guest_done_listen,
                         guest_image, ping_cmd, ping_stats,
                         remove_stale_dirs, section, tempdir, wait_ping_cmd)

STUB_IP, STUB_MAC = '10.0.2.100', '52:54:00:00:02:64'
GUEST_A_IP, GUEST_B_IP = '10.0.2.15', '10.0.2.16'
PINGS = 5
DONE_PORT = 7777
GUEST_TIMEOUT = 90

ONE_GUEST_RUN = GUEST_SH_PRELUDE + r'''
wait_for %(stub)s 20 || fail "%(stub)s never answered"
echo "== stub"
%(ping)s || fail "ping %(stub)s"
exit $rc
'''

TWO_GUEST_RUN = guest_done_listen(DONE_PORT) + GUEST_SH_PRELUDE + r'''
wait_for %(stub)s 20 || fail "%(stub)s never answered"
echo "== stub"
%(ping_stub)s || fail "ping %(stub)s"
wait_for %(peer)s 40 || fail "%(peer)s never answered"
echo "== peer"
%(ping_peer)s || fail "ping %(peer)s"
echo "== done"
%(handshake)s
exit $rc
'''


def stub_args(netdev, qmp_path=None):
    args = ['-netdev', netdev, '-device',
            'nic-stub,id=s0,netdev=d0,mac=%s,ip=%s/24' % (STUB_MAC, STUB_IP)]
    if qmp_path:
        args = ['-qmp', 'unix:%s,server=on,wait=off' % qmp_path] + args
    return args


def info_network(q):
    return q.cmd('human-monitor-command',
                 {'command-line': 'info network'})


def check_pings(t, name, console, sec, target):
    stats = ping_stats(section(console, sec))
    t.ok(stats == (PINGS, PINGS), '%s: all %d pings to %s answered (got %s)'
         % (name, PINGS, target, stats), diag=console)


# --- IPv6 multicast between two vmwire processes ------------------------------

def frame(src_mac_byte, tag):
    dst = b'\xff' * 6
    src = bytes([0x52, 0x54, 0, 0, 9, src_mac_byte])
    return dst + src + b'\x88\xb5' + tag.ljust(60, b'\0')


def read_frames(q, timeout=3.0):
    deadline = time.monotonic() + timeout
    got = []
    while time.monotonic() < deadline:
        got += [base64.b64decode(f['data'])
                for f in q.cmd('x-nic-stub-read', {'id': 's0'})]
        time.sleep(0.1)
    return got


def ipv6_mcast(t, iface):
    group = 'ff02::%x:%x' % (random.randint(1, 0xffff),
                             random.randint(1, 0xffff))
    port = free_port('udp')
    netdev = ('{"type":"dgram","id":"d0","remote":{"type":"inet",'
              '"host":"%s","port":"%d"},"local":{"type":"inet",'
              '"host":"%s","port":"0"}}' % (group, port, iface))
    what = 'IPv6 multicast [%s]:%d via %s' % (group, port, iface)
    with tempdir('dgram6') as d:
        p1, p2 = os.path.join(d, 'q1'), os.path.join(d, 'q2')
        with Vmwire(stub_args(netdev, p1)) as v1, \
             Vmwire(stub_args(netdev, p2)) as v2, \
             QMP.unix(p1) as q1, QMP.unix(p2) as q2:
            q1.negotiate()
            q2.negotiate()
            status = info_network(q1)
            t.ok('d0: index=0,type=dgram,mcast=[%s]:%d' % (group, port)
                 in status, '%s: info network says mcast=[group]:port'
                 % what, diag=status)
            f1, f2 = frame(1, b'from vmwire 1'), frame(2, b'from vmwire 2')
            q1.cmd('x-nic-stub-inject', {'id': 's0',
                                         'data': base64.b64encode(f1).decode()})
            q2.cmd('x-nic-stub-inject', {'id': 's0',
                                         'data': base64.b64encode(f2).decode()})
            got1, got2 = read_frames(q1), read_frames(q2)
            t.ok(got2 == [f1], '%s: vmwire 2 gets vmwire 1\'s frame once'
                 % what, diag=repr(got2))
            t.ok(got1 == [f2], '%s: vmwire 1 gets vmwire 2\'s frame once, '
                 'never its own' % what, diag=repr(got1))
        for name, v in (('vmwire 1', v1), ('vmwire 2', v2)):
            t.ok(not SANITIZER_REPORT.search(v.log()),
                 '%s (%s): no sanitizer report' % (what, name), diag=v.log)


# --- guests -----------------------------------------------------------------

def inet(prefix, host, port):
    return '%s.type=inet,%s.host=%s,%s.port=%s' % (prefix, prefix, host,
                                                    prefix, port)


def unicast(t):
    g, v = free_port('udp'), free_port('udp')
    mine = 'dgram,id=d0,%s,%s' % (inet('local', '127.0.0.1', v),
                                  inet('remote', '127.0.0.1', g))
    guest = 'dgram,id=n0,%s,%s' % (inet('local', '127.0.0.1', g),
                                   inet('remote', '127.0.0.1', v))
    with tempdir('dgramu') as d:
        qp = os.path.join(d, 'qmp')
        with Vmwire(stub_args(mine, qp)) as vm, QMP.unix(qp) as q:
            q.negotiate()
            status = info_network(q)
            t.ok('d0: index=0,type=dgram,udp=127.0.0.1:%d/127.0.0.1:%d'
                 % (v, g) in status, 'unicast: info network as QEMU',
                 diag=status)
            run = ONE_GUEST_RUN % {'stub': STUB_IP,
                                   'ping': ping_cmd(STUB_IP, PINGS)}
            with Guest(guest, ip=GUEST_A_IP + '/24', run=run) as a:
                rc, console = a.wait(GUEST_TIMEOUT)
            t.ok(rc == 0, 'unicast guest: command exits 0 (rc=%s)' % rc,
                 diag=console)
            check_pings(t, 'unicast guest', console, 'stub', STUB_IP)
            check_vmwire_exit(t, 'unicast vmwire', vm)


def unix(t):
    with tempdir('dgramx') as d:
        mine, theirs = os.path.join(d, 'vmwire.sock'), os.path.join(d, 'g.sock')
        qp = os.path.join(d, 'qmp')
        opts = ('dgram,id=d0,local.type=unix,local.path=%s,'
                'remote.type=unix,remote.path=%s')
        with Vmwire(stub_args(opts % (mine, theirs), qp)) as vm, \
             QMP.unix(qp) as q:
            q.negotiate()
            status = info_network(q)
            t.ok('d0: index=0,type=dgram,udp=%s:%s' % (mine, theirs)
                 in status, 'unix: info network as QEMU', diag=status)
            run = ONE_GUEST_RUN % {'stub': STUB_IP,
                                   'ping': ping_cmd(STUB_IP, PINGS)}
            guest = (opts % (theirs, mine)).replace('id=d0', 'id=n0')
            with Guest(guest, ip=GUEST_A_IP + '/24', run=run) as a:
                rc, console = a.wait(GUEST_TIMEOUT)
            t.ok(rc == 0, 'unix guest: command exits 0 (rc=%s)' % rc,
                 diag=console)
            check_pings(t, 'unix guest', console, 'stub', STUB_IP)
            t.ok(os.path.exists(mine), 'unix: vmwire\'s socket file exists '
                 'while it runs')
            check_vmwire_exit(t, 'unix vmwire', vm)
        t.ok(not os.path.exists(mine), 'unix: vmwire removed its socket '
             'file at exit')


def ipv4_mcast(t):
    group = '239.255.%d.%d' % (random.randint(0, 255), random.randint(1, 254))
    port = free_port('udp')
    opts = 'dgram,id=%%s,%s,%s' % (inet('remote', group, port),
                                   inet('local', '127.0.0.1', 0))
    t.diag('IPv4 segment: %s:%d' % (group, port))

    def run(peer):
        return TWO_GUEST_RUN % {
            'handshake': guest_done_handshake(peer, DONE_PORT),
            'stub': STUB_IP, 'peer': peer,
            'ping_stub': ping_cmd(STUB_IP, PINGS),
            'ping_peer': ping_cmd(peer, PINGS)}

    with Vmwire(stub_args(opts % 'd0')) as vm:
        with Guest(opts % 'n0', ip=GUEST_A_IP + '/24',
                   run=run(GUEST_B_IP)) as a, \
             Guest(opts % 'n0', ip=GUEST_B_IP + '/24',
                   run=run(GUEST_A_IP)) as b:
            rc_a, console_a = a.wait(GUEST_TIMEOUT)
            rc_b, console_b = b.wait(GUEST_TIMEOUT)
        for name, rc, console, peer in (('A', rc_a, console_a, GUEST_B_IP),
                                        ('B', rc_b, console_b, GUEST_A_IP)):
            t.ok(rc == 0, 'mcast guest %s: command exits 0 (rc=%s)'
                 % (name, rc), diag=console)
            check_pings(t, 'mcast guest ' + name, console, 'stub', STUB_IP)
            check_pings(t, 'mcast guest ' + name, console, 'peer', peer)
            t.ok('DUP!' not in console, 'mcast guest %s: no duplicate '
                 'replies' % name, diag=console)
        check_vmwire_exit(t, 'mcast vmwire', vm)


class Recorder:
    """Collects ok()/diag() calls in a child process, for the parent's
    TAP."""

    def __init__(self):
        self.results = []

    def ok(self, cond, name, diag=None):
        if callable(diag):
            diag = diag()
        self.results.append(('ok', bool(cond), name,
                             None if cond or diag is None else str(diag)))

    def diag(self, text):
        self.results.append(('diag', True, str(text), None))


CLONE_NEWNET = 0x40000000


V6_ADDR = 'fd00:99::1'


def private_netns():
    """Move this process into a new network namespace holding only lo and
    a veth pair v0/v1 (with fd00:99::1 on v0), so IPv6 multicast sent on v0
    loops back to this host and never reaches a real interface.  The
    namespace dies with the process.  (lo cannot carry IPv6 multicast.)"""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNET)')
    with open('/proc/sys/net/ipv6/conf/default/accept_dad', 'w') as f:
        f.write('0')
    for cmd in ('ip link set lo up',
                'ip link add v0 type veth peer name v1',
                'ip link set v0 up', 'ip link set v1 up',
                'ip -6 addr add %s/64 dev v0' % V6_ADDR):
        subprocess.run(cmd.split(), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:      # wait for v0's link-local
        out = subprocess.run(['ip', '-6', 'addr', 'show', 'dev', 'v0'],
                             capture_output=True, text=True).stdout
        if 'fe80::' in out and 'tentative' not in out:
            return
        time.sleep(0.05)
    raise OSError('v0 got no IPv6 link-local address')


CHILD_TIMEOUT = 120      # seconds for both IPv6 multicast cases


def run_ipv6_mcast_child(wfd):
    """In the forked child: run the cases, write their results as JSON to
    wfd, and never return (whatever happens, os._exit ends the child)."""
    status = 1
    rec = Recorder()
    try:
        try:
            private_netns()
            ipv6_mcast(rec, 'v0')
            ipv6_mcast(rec, V6_ADDR)
        except BaseException as e:  # reported to the parent, never raised
            rec.results.append(('ok', False, 'IPv6 multicast in a private '
                                'network namespace', repr(e)))
        with os.fdopen(wfd, 'w') as out:
            json.dump(rec.results, out)
        status = 0
    finally:
        os._exit(status)


def read_child(rfd, pid):
    """What the child wrote to rfd within CHILD_TIMEOUT seconds (it is
    killed after that), and its wait status."""
    data = b''
    deadline = time.monotonic() + CHILD_TIMEOUT * TIMEOUT_SCALE
    with os.fdopen(rfd, 'rb') as inp:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([inp], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                data += b'[no results after %gs: killed]' % CHILD_TIMEOUT
                break
            chunk = os.read(inp.fileno(), 1 << 16)
            if not chunk:
                break
            data += chunk
    status = os.waitpid(pid, 0)[1]
    remove_stale_dirs()          # the child's, if it died before cleaning
    return data.decode(errors='replace'), status


def child_results(data, status):
    """The child's results, or why it failed (None, reason)."""
    if os.WIFSIGNALED(status):
        return None, 'it was killed by signal %d' % os.WTERMSIG(status)
    if os.waitstatus_to_exitcode(status) != 0:
        return None, 'it exited with status %d' % os.WEXITSTATUS(status)
    try:
        results = json.loads(data)
    except ValueError:
        return None, 'it wrote no results'
    if not results:
        return None, 'it wrote no results'
    return results, None


def ipv6_mcast_isolated(t):
    """Run the IPv6 multicast cases in a forked child inside a private
    network namespace; replay its results into t.  A child that dies,
    hangs, exits non-zero or writes no results is a failed test."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        run_ipv6_mcast_child(wfd)
    os.close(wfd)
    data, status = read_child(rfd, pid)
    results, why = child_results(data, status)
    if results is None:
        t.ok(False, 'IPv6 multicast child in a private network namespace '
             'reports its results (%s)' % why,
             diag='what it wrote: %r' % data[-2000:])
        return
    for kind, cond, name, diag in results:
        if kind == 'diag':
            t.diag(name)
        else:
            t.ok(cond, name, diag=diag)


BULK_BLOCKS = 128                   # of 64 KiB: 8 MiB
BULK_SEND = (wait_ping_cmd(GUEST_A_IP, 60) + 'sleep 1\n'
             'dd if=/dev/zero bs=65536 count=%d 2>/dev/null | nc %s 5001\n'
             'echo SEND-END\n' % (BULK_BLOCKS, GUEST_A_IP))


def bulk(t):
    ports = [(free_port('udp'), free_port('udp')) for _ in range(2)]
    args = []
    for i, (v, g) in enumerate(ports):
        args += ['-netdev', 'dgram,id=d%d,%s,%s' % (
                     i, inet('local', '127.0.0.1', v),
                     inet('remote', '127.0.0.1', g)),
                 '-netdev', 'hubport,id=h%d,hubid=0,netdev=d%d' % (i, i)]

    def guest(i):
        v, g = ports[i]
        return 'dgram,id=n0,%s,%s' % (inet('local', '127.0.0.1', g),
                                      inet('remote', '127.0.0.1', v))

    with Vmwire(args) as vm:
        with Guest(guest(0), ip=GUEST_A_IP + '/24',
                   run=GUEST_SH_RECEIVE_COUNT) as a, \
             Guest(guest(1), ip=GUEST_B_IP + '/24', run=BULK_SEND) as b:
            got = a.wait_console(r'^== recv\n(\d+)\n', 150)
            if not got:
                a.kill()
                b.kill()
            rc_b, console_b = b.wait(GUEST_TIMEOUT)
            rc_a, console_a = a.wait(GUEST_TIMEOUT)
        want = BULK_BLOCKS * 65536
        t.ok(got and int(got.group(1)) == want,
             'bulk: %d bytes from guest B arrive at guest A (got %s)'
             % (want, got and got.group(1)),
             diag=lambda: '--- A:\n%s\n--- B:\n%s' % (console_a, console_b))
        t.ok(rc_b == 0 and 'SEND-END' in console_b, 'bulk: guest B sent '
             'everything (rc=%s)' % rc_b, diag=console_b)
        t.ok('refused UDP segmentation' not in vm.log(), 'bulk: the kernel '
             'took every GSO message', diag=vm.log)
        check_vmwire_exit(t, 'bulk vmwire', vm)


def main(t):
    if os.geteuid() == 0:
        ipv6_mcast_isolated(t)
    else:
        t.diag('not root: no private network namespace, so the IPv6 '
               'multicast cases are not run')
    guest_image()
    unicast(t)
    unix(t)
    ipv4_mcast(t)
    bulk(t)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
