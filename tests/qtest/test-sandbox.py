#!/usr/bin/env python3
"""-sandbox (a seccomp allowlist) and -runas (system/sandbox.c).

  * Options are QEMU's, with QEMU's errors: `-sandbox on,spawn=maybe`
    "invalid argument for spawn" (obsolete, elevateprivileges,
    resourcecontrol alike), `-sandbox maybe` "Parameter 'enable' expects
    'on' or 'off'", an unknown key "Invalid parameter 'foo'", `-runas`
    of a missing user `User "..." doesn't exist (and is not <uid>:<gid>)`;
    guestfwd=...-cmd: under -sandbox on is refused at startup and over
    QMP (the command would inherit the allowlist), and the daemon goes on.
  * A sandboxed vmwire (every option at deny) has seccomp mode 2,
    no_new_privs and, with elevateprivileges=deny, no capabilities; it
    does real work: a vhost-user frontend (vmwire_test.vhost_user) pings
    the nic-stub and trades frames with a stream peer; over QMP every
    backend kind is added and deleted (socket listen/connect/udp/mcast,
    stream server and client, dgram, user with hostfwd added and removed,
    vhost-user, hubport), a nic-stub is hot-plugged and answers ARP, and a
    filter-dump writes its pcap file.  It exits 0 on SIGTERM.
  * A call outside the list is refused with one line naming it:
    VMWIRE_SANDBOX_SELFTEST=NAME makes the main loop call NAME once after
    ready (ptrace, execve, and socket with family 0, which the list allows
    only for AF_UNIX/INET/INET6): "vmwire: sandbox: system call ptrace
    (101) is not allowed; exiting", exit status 159.  With -sandbox off
    the same variable is ignored.
  * -runas: as root, `-runas nobody` runs the daemon as nobody (uid and
    gids), its listener bound before, serving a peer; not as root, the
    current UID:GID.

Each scenario has a vmwire of its own; all must exit as expected with no
sanitizer report (two results at the end).
"""

import os
import pwd
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, StreamPeer, Vmwire, VmwireRuns,  # noqa: E402
                         arp_fields, arp_frame, free_port, run_vmwire,
                         tempdir)
from vhostpeers import (FE_MAC, STUB_IP, STUB_MAC, VuRig,  # noqa: E402
                        exchange, ip_of, ping_stub, stream_hub_args,
                        vhost_user_netdev, wait_peer_joined)

DENY_ALL = ('on,obsolete=deny,elevateprivileges=deny,spawn=deny,'
            'resourcecontrol=deny')
EXIT_REFUSED = 159
PEER_MAC = bytes.fromhex('525400aa0001')
PEER_IP = '10.0.2.1'


def status(pid):
    """/proc/PID/status as a dict of its fields."""
    with open('/proc/%d/status' % pid) as f:
        return dict(line.rstrip('\n').split(':\t', 1) for line in f
                    if ':\t' in line)


def arp_answered(port, ip=STUB_IP):
    """A stream peer on port asks who has ip: the reply's sender MAC."""
    with StreamPeer(port) as peer:
        peer.send_frames([arp_frame(1, PEER_MAC, PEER_IP, b'\0' * 6,
                                    ip)])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            f = peer.recv_frame(1)
            fields = f and arp_fields(f)
            if fields and fields[0] == 2:
                return fields[1]
    return None


# --- options -----------------------------------------------------------------

BAD_OPTIONS = [
    (['-sandbox', 'on,spawn=maybe'],
     "-sandbox on,spawn=maybe: invalid argument for spawn"),
    (['-sandbox', 'on,obsolete=x'],
     "-sandbox on,obsolete=x: invalid argument for obsolete"),
    (['-sandbox', 'on,elevateprivileges=x'],
     "-sandbox on,elevateprivileges=x: invalid argument for "
     "elevateprivileges"),
    (['-sandbox', 'on,resourcecontrol=x'],
     "-sandbox on,resourcecontrol=x: invalid argument for resourcecontrol"),
    (['-sandbox', 'maybe'],
     "-sandbox maybe: Parameter 'enable' expects 'on' or 'off'"),
    (['-sandbox', 'on,foo=bar'], "-sandbox on,foo=bar: Invalid parameter 'foo'"),
    (['-runas', 'no-such-user-vmwire'],
     '-runas no-such-user-vmwire: User "no-such-user-vmwire" doesn\'t exist '
     '(and is not <uid>:<gid>)'),
    (['-sandbox', 'on,spawn=deny', '-netdev',
      'user,id=u0,guestfwd=tcp:10.0.2.100:6000-cmd:cat'],
     "guestfwd 'tcp:10.0.2.100:6000-cmd:cat' would start a process, which "
     "-sandbox on forbids"),
]


def options(t, runs):
    for args, message in BAD_OPTIONS:
        rc, out = run_vmwire(args)
        t.ok(rc == 1 and out.startswith('vmwire: ') and message in out,
             '%s: exit 1, "%s"' % (' '.join(args), message),
             diag='rc=%s\n%s' % (rc, out))


# --- a sandboxed daemon at work ----------------------------------------------

def hotplug_backends(t, rig, d):
    """netdev_add then netdev_del of every backend kind."""
    tcp = socket.socket()
    tcp.bind(('127.0.0.1', 0))
    tcp.listen(4)
    udp_port, hf_port = free_port('udp'), free_port()
    hf_udp = free_port('udp')
    kinds = [
        {'type': 'socket', 'listen': '127.0.0.1:%d' % free_port()},
        {'type': 'socket', 'connect': '127.0.0.1:%d' % tcp.getsockname()[1]},
        {'type': 'socket', 'udp': '127.0.0.1:%d' % free_port('udp'),
         'localaddr': '127.0.0.1:%d' % udp_port},
        {'type': 'socket', 'mcast': '230.0.0.1:%d' % free_port('udp'),
         'localaddr': '127.0.0.1'},
        {'type': 'stream', 'server': True, 'addr': {
            'type': 'unix', 'path': os.path.join(d, 'hot.sock')}},
        {'type': 'stream', 'server': False, 'addr': {
            'type': 'inet', 'host': '127.0.0.1',
            'port': str(tcp.getsockname()[1])}},
        {'type': 'dgram', 'local': {'type': 'inet', 'host': '127.0.0.1',
                                    'port': str(free_port('udp'))},
         'remote': {'type': 'inet', 'host': '127.0.0.1',
                    'port': str(free_port('udp'))}},
        {'type': 'user'},
        {'type': 'vhost-user', 'addr': {
            'type': 'unix', 'path': os.path.join(d, 'hot-vu.sock')}},
        {'type': 'hubport', 'hubid': 7},
    ]
    failed = []
    for i, kind in enumerate(kinds):
        args = dict(kind, id='hot%d' % i)
        for cmd, a in (('netdev_add', args), ('netdev_del', {'id': args['id']})):
            reply = rig.q.execute(cmd, a)
            if 'error' in reply:
                failed.append((cmd, kind, reply))
    tcp.close()
    t.ok(not failed, 'netdev_add and netdev_del of %d backends (socket '
         'listen/connect/udp/mcast, stream server/client, dgram, user, '
         'vhost-user, hubport)' % len(kinds), diag=repr(failed))

    reply = rig.q.execute('netdev_add', {'type': 'user', 'id': 'u0'})
    add = rig.hmp('hostfwd_add u0 tcp:127.0.0.1:%d-:22' % hf_port)
    udp_add = rig.hmp('hostfwd_add u0 udp:127.0.0.1:%d-:53' % hf_udp)
    # libslirp accepts (accept(2)) and reads a datagram (ioctl FIONREAD)
    with socket.create_connection(('127.0.0.1', hf_port), 2) as s, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.sendto(b'hello', ('127.0.0.1', hf_udp))
        s.send(b'hello')
        time.sleep(0.5)
        alive = 'return' in rig.q.execute('x-query-network')
    remove = rig.hmp('hostfwd_remove u0 tcp:127.0.0.1:%d' % hf_port)
    try:
        socket.create_connection(('127.0.0.1', hf_port), 2).close()
        removed = False
    except OSError:
        removed = True
    t.ok('error' not in reply and alive and removed,
         'hostfwd_add opens a host port (a TCP connection and a datagram '
         'through it), hostfwd_remove closes it',
         diag=repr((reply, add, udp_add, remove, alive, removed)))
    reply = rig.q.execute('netdev_add', {
        'type': 'user', 'id': 'u1',
        'guestfwd': [{'str': 'tcp:10.0.2.100:6000-cmd:cat'}]})
    t.ok('would start a process' in reply.get('error', {}).get('desc', ''),
         'netdev_add of a guestfwd cmd: is refused over QMP',
         diag=repr(reply))


def hotplug_stub_and_dump(t, rig, d):
    port, pcap = free_port(), os.path.join(d, 'hot.pcap')
    cmds = [('netdev_add', {'type': 'socket', 'id': 'h0',
                            'listen': '127.0.0.1:%d' % port}),
            ('device_add', {'driver': 'nic-stub', 'id': 'hs0',
                            'netdev': 'h0', 'mac': '52:54:00:00:07:01',
                            'ip': '10.0.7.100/24'}),
            ('object-add', {'qom-type': 'filter-dump', 'id': 'f0',
                            'netdev': 'h0', 'file': pcap})]
    replies = [rig.q.execute(c, a) for c, a in cmds]
    mac = arp_answered(port, '10.0.7.100')
    replies += [rig.q.execute('object-del', {'id': 'f0'}),
                rig.q.execute('device_del', {'id': 'hs0'}),
                rig.q.execute('netdev_del', {'id': 'h0'})]
    t.ok(all('error' not in r for r in replies) and
         mac == bytes.fromhex('525400000701'),
         'hot-plugged socket + nic-stub answers ARP; object-add/del '
         'filter-dump, device_del, netdev_del', diag=repr((replies, mac)))
    data = open(pcap, 'rb').read() if os.path.exists(pcap) else b''
    t.ok(len(data) > 24 + 16 + 42 and
         struct.unpack('<I', data[:4])[0] == 0xa1b2c3d4,
         'filter-dump wrote a pcap file with the ARP exchange',
         diag='%d bytes' % len(data))


def at_work(t, runs):
    with tempdir('sandbox') as d:
        port = free_port()
        path = os.path.join(d, 'v0.sock')
        args = (['-sandbox', DENY_ALL] + vhost_user_netdev('v0', path) +
                ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0'] +
                stream_hub_args(d, port))
        with VuRig(t, args, d, runs.record, name='at-work') as rig:
            st = status(rig.v.proc.pid)
            t.ok(st.get('Seccomp') == '2' and st.get('NoNewPrivs') == '1',
                 '-sandbox on: seccomp filter mode, no_new_privs',
                 diag=repr(st))
            t.ok(int(st.get('CapEff', '1'), 16) == 0 and
                 int(st.get('CapPrm', '1'), 16) == 0,
                 'elevateprivileges=deny: no capabilities left',
                 diag=repr(st))
            fe = rig.frontend('v0.sock')
            ok, why = ping_stub(fe, FE_MAC, ip_of(1))
            t.ok(ok, 'a vhost-user frontend pings the nic-stub', diag=why)
            with StreamPeer(port) as peer:
                wait_peer_joined(rig, port)
                exchange(t, fe, peer, 'sandboxed')
            hotplug_backends(t, rig, d)
            hotplug_stub_and_dump(t, rig, d)
            t.ok(rig.q.execute('x-query-network').get('return') is not None,
                 'after all that, vmwire still answers QMP')


# --- a refused call ----------------------------------------------------------

REFUSED = [('ptrace', 101), ('execve', 59), ('socket', 41)]


def refused(t, runs):
    for name, nr in REFUSED:
        port = free_port()
        env = dict(os.environ, VMWIRE_SANDBOX_SELFTEST=name)
        v = Vmwire(['-sandbox', 'on', '-netdev',
                    'socket,id=n0,listen=127.0.0.1:%d' % port],
                   env=env, expect_rc=EXIT_REFUSED)
        with v:
            line = v.wait_log(r'^vmwire: sandbox: system call .*$', 10)
            try:
                rc = v.proc.wait(10)
            except Exception:
                rc = None
        want = ('vmwire: sandbox: system call %s (%d) is not allowed; '
                'exiting' % (name, nr))
        t.ok(rc == EXIT_REFUSED and line and line.group(0) == want,
             '%s after ready: "%s", exit status %d' % (name, want,
                                                      EXIT_REFUSED),
             diag='rc=%s\n%s' % (rc, v.log()))
    port = free_port()
    env = dict(os.environ, VMWIRE_SANDBOX_SELFTEST='ptrace')
    with Vmwire(['-sandbox', 'off', '-netdev',
                 'socket,id=n0,listen=127.0.0.1:%d' % port,
                 '-device', 'nic-stub,id=s0,netdev=n0,ip=10.0.2.100/24'],
                env=env) as v:
        mac = arp_answered(port)
        runs.record('sandbox-off', v)
        t.ok(mac is not None and 'sandbox' not in v.log(),
             '-sandbox off: no filter, the variable is ignored, ARP answered',
             diag=v.log())


# --- -runas ------------------------------------------------------------------

def runas(t, runs):
    if os.geteuid() == 0:
        user = pwd.getpwnam('nobody')
        who, uid, gid = 'nobody', user.pw_uid, user.pw_gid
    else:
        who, uid, gid = ('%d:%d' % (os.getuid(), os.getgid()), os.getuid(),
                         os.getgid())
    port = free_port()
    with Vmwire(['-runas', who, '-sandbox', 'on', '-netdev',
                 'socket,id=n0,listen=127.0.0.1:%d' % port, '-device',
                 'nic-stub,id=s0,netdev=n0,mac=52:54:00:00:02:64,'
                 'ip=10.0.2.100/24']) as v:
        st = status(v.proc.pid)
        mac = arp_answered(port)
        runs.record('runas', v)
    ids = [st.get('Uid', '').split(), st.get('Gid', '').split()]
    t.ok(ids[0] == [str(uid)] * 4 and ids[1] == [str(gid)] * 4,
         '-runas %s: every uid is %d, every gid %d' % (who, uid, gid),
         diag=repr(st))
    t.ok(mac == bytes.fromhex('525400000264'),
         '-runas %s: the listener bound before the drop serves a peer' % who)
    if os.geteuid() == 0:
        groups = set(st.get('Groups', '').split())
        want = {str(g) for g in os.getgrouplist('nobody', gid)}
        t.ok(groups == want, '-runas nobody: nobody\'s groups only',
             diag=repr((groups, want)))


def main(t):
    runs = VmwireRuns()
    scenarios = [('options', options), ('at work', at_work),
                 ('refused', refused), ('runas', runas)]
    for name, fn in scenarios:
        with t.scenario(name):
            fn(t, runs)
    runs.check(t, 3)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
