#!/usr/bin/env python3
"""vmwire-ctl (tools/vmwire-ctl) against a real vmwire with real traffic.

vmwire runs a hub: a multi-client TCP listener `vms` (hubid=0) with two
Python stream peers A and B (ports vms.1, vms.2), a nic-stub on hub port
`stubport`, and a `-netdev user,id=u0` (ipv6=off: no router
advertisements) on hub port `up`; QMP at DIR/vmwire/qmp.sock, which is
the tool's default socket when XDG_RUNTIME_DIR=DIR.  Each check runs the
installed-style executable and reads what it prints, as a user would.

  ports     A sends 30 frames of 200 bytes and 2 runts, B 7 frames of 100
            bytes: the table's rows for vms.1 and vms.2 show kind socket,
            the peer's address, its MAC, VLAN 1, link up, RX/TX frames
            and bytes equal to what was sent and received, the runts under
            DROP-BAD; the stub's port shows the stub's MAC.
  macs      the MAC table lists A's MAC on vms.1 and B's on vms.2.
  hostfwd   `hostfwd add tcp:127.0.0.1:F-10.0.2.15:22` is listed by
            `hostfwd list`; a host TCP connect to F makes libslirp send a
            SYN to 10.0.2.15:22, which peer A (playing that guest) sees;
            `hostfwd remove` empties the list and F refuses connections;
            a bad rule and an unknown one: QMP's words, exit status 1.
  link      `link vms.2 down`: ports shows it down and B gets nothing of
            A's frames; `link vms.2 up`: B gets them again; an unknown
            port id: exit status 1 and a message naming the ports.
  capture   `capture vms.1 -w FILE`, SIGINT after A sent 5 numbered
            frames: tshark reads exactly those 5 frames from FILE;
            `capture vms.1 -c 4 | tshark -r -` prints A's 4 frames; a
            reader that goes away (`tshark -r - -c 2`) ends the capture;
            afterwards no filter is left (`info network`) and no scratch
            directory beside the socket; 3000 frames of 1400 bytes
            through `capture -w` all reach the file while the scratch
            file, 4 MB written, holds under 1 MiB on disk (what was
            copied is punched out); B leaving during `capture vms.2`
            ends it by itself, its frames in the file.
  top       A floods while B sends a little: `top -n 2 -d 1` (not a tty)
            prints two blocks whose first row is vms.1.
  absent    no vmwire: `vmwire-ctl: no vmwire at PATH: is it running?
            (make run)`, exit status 1, for -s PATH, for the
            XDG_RUNTIME_DIR default and for ./vmwire/qmp.sock without it.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (REPO_ROOT, TAP, TIMEOUT_SCALE, StreamPeer,  # noqa
                         Vmwire, arp_fields, arp_frame, eth_frame,
                         free_port, mac_str, parse_eth, tempdir)
from vmwire_test.daemon import VmwireRuns  # noqa: E402
from vmwire_test.qmp import QMP  # noqa: E402

TOOL = os.path.join(REPO_ROOT, 'tools', 'vmwire-ctl')
MAC_A = bytes.fromhex('525400aa0001')
MAC_B = bytes.fromhex('525400aa0002')
STUB_MAC = '52:54:00:00:00:99'
GUEST_IP = '10.0.2.15'
BIG = 3000
BROADCAST = b'\xff' * 6


def secs(s):
    return s * TIMEOUT_SCALE


def frame(src, size, seq=0, dst=BROADCAST):
    body = seq.to_bytes(4, 'big')
    return eth_frame(dst, src, 0x88b5, body + b'\0' * (size - 18))


def ctl(args, env=None, cwd=None, timeout=30):
    """Run vmwire-ctl; (exit status, stdout, stderr)."""
    r = subprocess.run([TOOL] + args, capture_output=True, text=True,
                       env=env, cwd=cwd, timeout=secs(timeout), check=False)
    return r.returncode, r.stdout, r.stderr


def table(text):
    """The rows of a table the tool printed, as dicts by header."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines:
        return {}
    head = lines[0]
    return {row[0]: dict(zip(head, row)) for row in lines[1:]}


class Rig:
    """vmwire, its QMP socket in DIR/vmwire/, peers A and B."""

    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, 'vmwire', 'qmp.sock')
        os.mkdir(os.path.join(d, 'vmwire'), 0o700)
        self.port = free_port()
        self.args = [
            '-netdev', 'socket,id=vms,listen=127.0.0.1:%d,hubid=0'
            % self.port,
            '-netdev', 'hubport,id=stubport,hubid=0',
            '-device', 'nic-stub,id=stub,netdev=stubport,mac=%s,'
            'ip=10.0.2.100/24' % STUB_MAC,
            '-netdev', 'user,id=u0,ipv6=off',
            '-netdev', 'hubport,id=up,hubid=0,netdev=u0',
            '-qmp', 'unix:%s,server=on,wait=off' % self.sock]
        self.env = dict(os.environ, XDG_RUNTIME_DIR=d)
        self.q = None

    def start(self, v):
        self.q = QMP.unix(self.sock)
        self.q.negotiate()
        self.a = self.peer(1)
        self.b = self.peer(2)

    def peer(self, n):
        p = StreamPeer(self.port)
        deadline = time.monotonic() + secs(5)
        while not any(c['id'] == 'vms.%d' % n for c in self.clients()):
            if time.monotonic() > deadline:
                raise RuntimeError('vms.%d never appeared' % n)
            time.sleep(0.02)
        return p

    def clients(self):
        return self.q.cmd('x-query-network')

    def counters(self, cid):
        return next(c for c in self.clients() if c['id'] == cid)

    def settle(self, cid, key, value):
        deadline = time.monotonic() + secs(10)
        while self.counters(cid)[key] < value and \
                time.monotonic() < deadline:
            time.sleep(0.02)

    def ctl(self, args, **kw):
        return ctl(args, env=self.env, **kw)

    def close(self):
        for p in (getattr(self, 'a', None), getattr(self, 'b', None)):
            if p is not None:
                p.close()
        if self.q is not None:
            self.q.close()

    def scratch(self):
        """The capture scratch files beside the socket."""
        d = os.path.dirname(self.sock)
        return [os.path.join(d, n, 'capture.pcap') for n in os.listdir(d)
                if n.startswith('vmwire-ctl-capture.')]

    def leftovers(self, pid):
        """What capture process pid left: its filter (object-del finds
        it, and deletes it), scratch directories."""
        reply = self.q.execute('object-del',
                               {'id': 'vmwire-ctl-capture-%d' % pid})
        return ('error' not in reply, self.scratch())


def test_ports(t, rig):
    rig.a.send_frames([frame(MAC_A, 200, i) for i in range(30)] +
                      [MAC_A + MAC_A[:4]] * 2)
    rig.b.send_frames([frame(MAC_B, 100, i) for i in range(7)])
    rig.settle('vms.1', 'dropped', 2)
    rig.settle('vms.1', 'tx-frames', 7)
    rig.settle('vms.2', 'tx-frames', 30)
    got_a = rig.a.recv_all(0.5)
    got_b = rig.b.recv_all(0.5)
    rc, out, err = rig.ctl(['ports'])
    rows = table(out)
    a, b = rows.get('vms.1', {}), rows.get('vms.2', {})
    t.ok(rc == 0 and out.startswith('PORT '), 'ports: a table, exit 0',
         diag=out + err)
    t.ok(len(got_a) == 7 and len(got_b) == 30,
         'the peers got each other\'s frames (A %d, B %d)'
         % (len(got_a), len(got_b)))
    want_a = {'KIND': 'socket', 'MAC': mac_str(MAC_A), 'VLAN': '1',
              'LINK': 'up', 'RX-FRAMES': '32', 'RX-BYTES': '6020',
              'TX-FRAMES': str(len(got_a)),
              'TX-BYTES': str(sum(map(len, got_a))), 'DROP-BAD': '2',
              'DROP-QUEUE': '0', 'DROP-LINK': '0', 'DROP-VLAN': '0',
              'PEER': '127.0.0.1:%d' % rig.a.sock.getsockname()[1]}
    t.ok({k: a.get(k) for k in want_a} == want_a,
         'ports: vms.1 shows A: kind, address, MAC, VLAN, link, 32 frames '
         '/ 6020 bytes in (the runts too), what A got out, the 2 runts '
         'dropped as malformed', diag=out)
    want_b = {'MAC': mac_str(MAC_B), 'RX-FRAMES': '7', 'RX-BYTES': '700',
              'TX-FRAMES': str(len(got_b)),
              'TX-BYTES': str(sum(map(len, got_b))), 'DROP-BAD': '0',
              'PEER': '127.0.0.1:%d' % rig.b.sock.getsockname()[1]}
    t.ok({k: b.get(k) for k in want_b} == want_b,
         'ports: vms.2 shows B: its MAC, 7 frames / 700 bytes in, what '
         'B got out', diag=out)
    stub = rows.get('stubport', {})
    t.ok(stub.get('KIND') == 'nic' and stub.get('MAC') == STUB_MAC and
         stub.get('PEER') == 'stub' and
         stub.get('RX-FRAMES') == '0' and stub.get('TX-FRAMES') == '37',
         'ports: the nic-stub\'s port: kind nic, its MAC, the 37 '
         'broadcasts went to it', diag=out)
    t.ok('vms' not in rows and 'stub' not in rows,
         'ports: no row for the idle listener nor for the NIC behind its '
         'port', diag=out)


def test_macs(t, rig):
    rc, out, err = rig.ctl(['macs'])
    rows = table(out)
    t.ok(rc == 0 and
         rows.get('0', {}) and
         (' %s  vms.1 ' % mac_str(MAC_A)) in out and
         (' %s  vms.2 ' % mac_str(MAC_B)) in out,
         'macs: A\'s MAC on vms.1, B\'s on vms.2', diag=out + err)


def syn_to_22(f):
    parsed = parse_eth(f)
    if parsed is None or parsed[3] != 0x0800:
        return False
    ip = parsed[4]
    if len(ip) < 20 or ip[9] != 6:
        return False
    tcp = ip[(ip[0] & 0x0f) * 4:]
    return len(tcp) >= 20 and int.from_bytes(tcp[2:4], 'big') == 22 and \
        tcp[13] & 0x12 == 0x02


def refused(port):
    with socket.socket() as s:
        s.settimeout(secs(2))
        return s.connect_ex(('127.0.0.1', port)) != 0


def guest_sees_syn(rig, port):
    """A host client connects to port; peer A, as GUEST_IP, answers ARP
    and must see libslirp's SYN to port 22."""
    host = socket.socket()
    host.setblocking(False)
    try:
        host.connect_ex(('127.0.0.1', port))
        deadline = time.monotonic() + secs(10)
        while time.monotonic() < deadline:
            f = rig.a.recv_frame_by(deadline)
            if f is None:
                return False
            arp = arp_fields(f)
            if arp and arp[0] == 1 and arp[4] == GUEST_IP:
                rig.a.send_frames([arp_frame(2, MAC_A, GUEST_IP, arp[1],
                                             arp[2])])
            elif syn_to_22(f):
                return True
        return False
    finally:
        host.close()


def test_hostfwd(t, rig):
    fwd = free_port()
    rule = 'tcp:127.0.0.1:%d-%s:22' % (fwd, GUEST_IP)
    rc, out, err = rig.ctl(['hostfwd', 'add', 'tcp:127.0.0.1:%d-:22' % fwd])
    t.ok(rc == 0 and out == '' and err == '', 'hostfwd add: exit 0, quiet',
         diag=out + err)
    rc, out, err = rig.ctl(['hostfwd', 'list'])
    t.ok(rc == 0 and out.splitlines()[1:] == ['u0      ' + rule],
         'hostfwd list shows the rule with the guest address filled in',
         diag=out + err)
    rig.a.recv_all(0.2)
    t.ok(guest_sees_syn(rig, fwd), 'a host connect through the rule '
         'reaches the guest (libslirp sends it a SYN to port 22)')
    rc, out, err = rig.ctl(['hostfwd', 'remove', rule])
    t.ok(rc == 0 and err == '', 'hostfwd remove (the rule as listed): '
         'exit 0', diag=out + err)
    rc, out, err = rig.ctl(['hostfwd', 'list'])
    t.ok(rc == 0 and out.splitlines() == ['NETDEV  RULE'] and
         refused(fwd), 'hostfwd list is empty and the port refuses '
         'connections', diag=out + err)
    rc, out, err = rig.ctl(['hostfwd', 'add', 'tcp:127.0.0.1:x-:22'])
    t.ok(rc == 1 and err == "vmwire-ctl: Invalid host forwarding rule "
         "'tcp:127.0.0.1:x-:22' (Bad host port)\n",
         'hostfwd add of a bad rule: QMP\'s words, exit status 1',
         diag=repr(err))
    rc, out, err = rig.ctl(['hostfwd', 'remove', 'tcp:127.0.0.1:%d' % fwd])
    t.ok(rc == 1 and err == 'vmwire-ctl: host forwarding rule for '
         'tcp:127.0.0.1:%d not found\n' % fwd,
         'hostfwd remove of a rule not there: exit status 1',
         diag=repr(err))


def test_link(t, rig):
    rig.b.recv_all(0.2)
    rc, out, err = rig.ctl(['link', 'vms.2', 'down'])
    rows = table(rig.ctl(['ports'])[1])
    t.ok(rc == 0 and rows.get('vms.2', {}).get('LINK') == 'down',
         'link vms.2 down: ports shows it down', diag=out + err)
    rig.a.send_frames([frame(MAC_A, 100, i) for i in range(3)])
    t.ok(rig.b.recv_all(0.5) == [], 'B gets none of A\'s frames')
    rc, out, err = rig.ctl(['link', 'vms.2', 'up'])
    rig.a.send_frames([frame(MAC_A, 100, i) for i in range(3)])
    got = rig.b.recv_all(0.5)
    t.ok(rc == 0 and len(got) == 3, 'link vms.2 up: B gets them again',
         diag='%s %d' % (out + err, len(got)))
    rc, out, err = rig.ctl(['link', 'vms.9', 'up'])
    t.ok(rc == 1 and err.startswith("vmwire-ctl: no port 'vms.9' in this "
                                    "vmwire (vmwire-ctl ports lists them: ")
         and 'vms.1' in err, 'link of an unknown port: exit status 1, the '
         'ports named', diag=repr(err))


def wait_scratch(rig, proc, timeout=10):
    """Until the dump's scratch file exists (the filter is there)."""
    deadline = time.monotonic() + secs(timeout)
    while not any(os.path.exists(f) for f in rig.scratch()) and \
            proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return any(os.path.exists(f) for f in rig.scratch())


def tshark_fields(data_or_path):
    """tshark's eth.src and frame.len per frame, as (src, len) pairs."""
    args = ['tshark', '-r', data_or_path if isinstance(data_or_path, str)
            else '-', '-T', 'fields', '-e', 'eth.src', '-e', 'frame.len']
    r = subprocess.run(args, input=None if isinstance(data_or_path, str)
                       else data_or_path, capture_output=True,
                       timeout=secs(60), check=False)
    return [tuple(line.split('\t')) for line in
            r.stdout.decode().splitlines()], r.stderr.decode()


def feed(rig, stop, size=120):
    """A sends a numbered frame every 50 ms until stop is set."""
    i = 0
    while not stop.is_set():
        rig.a.send_frames([frame(MAC_A, size, i)])
        i += 1
        stop.wait(0.05)


def test_capture(t, rig):
    path = os.path.join(rig.dir, 'a.pcap')
    rig.b.recv_all(0.2)
    proc = subprocess.Popen([TOOL, 'capture', 'vms.1', '-w', path],
                            env=rig.env, stderr=subprocess.PIPE)
    try:
        t.ok(wait_scratch(rig, proc), 'capture -w: the dump is added')
        rig.a.send_frames([frame(MAC_A, 150 + i, i) for i in range(5)])
        rig.settle('vms.1', 'rx-frames', 5)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(secs(10))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    fields, terr = tshark_fields(path)
    want = [(mac_str(MAC_A), str(150 + i)) for i in range(5)]
    t.ok(rc == 0 and err == '', 'capture -w: SIGINT ends it, exit 0',
         diag='rc=%s %s' % (rc, err))
    t.ok(fields == want, 'tshark reads exactly A\'s 5 frames from the '
         'file', diag='%r %s' % (fields, terr))
    left = rig.leftovers(proc.pid)
    t.ok(left == (False, []), 'no filter, no scratch directory left',
         diag=repr(left))

    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(rig, stop))
    feeder.start()
    try:
        r = subprocess.run(['sh', '-c', '"$0" capture vms.1 -c 4 | '
                            'tshark -r - -T fields -e eth.src -e frame.len',
                            TOOL], env=rig.env, capture_output=True,
                           timeout=secs(60), check=False)
        lines = r.stdout.decode().splitlines()
        t.ok(r.returncode == 0 and
             lines == ['%s\t120' % mac_str(MAC_A)] * 4,
             'capture vms.1 -c 4 | tshark -r -: A\'s 4 frames',
             diag='%r %s' % (lines, r.stderr.decode()))
    except subprocess.TimeoutExpired:
        t.ok(False, 'capture | tshark -r - ended in time')
    finally:
        stop.set()
        feeder.join()


def test_capture_reader(t, rig):
    stop = threading.Event()
    feeder = threading.Thread(target=feed, args=(rig, stop))
    feeder.start()
    tool = reader = None
    try:
        start = time.monotonic()
        tool = subprocess.Popen([TOOL, 'capture', 'vms.1'], env=rig.env,
                                stdout=subprocess.PIPE)
        reader = subprocess.Popen(['tshark', '-r', '-', '-c', '2', '-T',
                                   'fields', '-e', 'eth.src'],
                                  stdin=tool.stdout, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        tool.stdout.close()
        out = reader.communicate(timeout=secs(60))[0].decode()
        rc = tool.wait(secs(20))
        took = time.monotonic() - start
    finally:
        stop.set()
        feeder.join()
        for p in (tool, reader):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    t.ok(out.splitlines() == [mac_str(MAC_A)] * 2,
         'capture | tshark -r - -c 2: tshark prints 2 frames', diag=out)
    t.ok(rc == 0 and took < secs(20), 'the capture ends (exit 0) once its '
         'reader went away (%.1f s)' % took, diag='rc=%s' % rc)
    left = rig.leftovers(tool.pid)
    t.ok(left == (False, []), 'and removes its filter and scratch '
         'directory', diag=repr(left))


def test_capture_backlog(t, rig):
    """BIG frames of 1400 bytes through capture -w: all reach the file,
    and the scratch file holds on disk only what is not copied yet."""
    path = os.path.join(rig.dir, 'big.pcap')
    before = rig.counters('vms.1')['rx-frames']
    proc = subprocess.Popen([TOOL, 'capture', 'vms.1', '-w', path],
                            env=rig.env)
    try:
        t.ok(wait_scratch(rig, proc), 'capture -w: the dump is added')
        for i in range(0, BIG, 100):
            rig.a.send_frames([frame(MAC_A, 1400, i + j)
                               for j in range(100)])
            rig.b.recv_all(0.01)
        rig.settle('vms.1', 'rx-frames', before + BIG)
        time.sleep(0.5)     # the dump's flush, the tool's next look
        st = [os.stat(f) for f in rig.scratch()]
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(secs(20))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    t.ok(len(st) == 1 and st[0].st_size > BIG * 1400 and
         st[0].st_blocks * 512 < (1 << 20),
         'the scratch file (%d bytes written) holds under 1 MiB on disk'
         % (st[0].st_size if st else 0),
         diag=repr([(x.st_size, x.st_blocks * 512) for x in st]))
    fields, terr = tshark_fields(path)
    t.ok(rc == 0 and len(fields) == BIG and
         all(f == (mac_str(MAC_A), '1400') for f in fields),
         'tshark reads all %d frames from the file' % BIG,
         diag='rc=%s %d %s' % (rc, len(fields), terr))


def test_capture_port_gone(t, rig):
    """B leaves during `capture vms.2 -w FILE`: the capture ends by
    itself, saying so, with B's frames in FILE."""
    path = os.path.join(rig.dir, 'b.pcap')
    proc = subprocess.Popen([TOOL, 'capture', 'vms.2', '-w', path],
                            env=rig.env, stderr=subprocess.PIPE)
    try:
        t.ok(wait_scratch(rig, proc), 'capture vms.2 -w: the dump is added')
        rig.b.send_frames([frame(MAC_B, 90, i) for i in range(3)])
        rig.settle('vms.2', 'rx-frames', 3)
        rig.b.close()
        rig.b = None
        rc = proc.wait(secs(20))
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    fields, terr = tshark_fields(path)
    t.ok(rc == 0 and err == 'vmwire-ctl: port vms.2 went away; capture '
         'ended\n', 'when B leaves the capture ends by itself, saying so',
         diag='rc=%s %r' % (rc, err))
    t.ok(fields == [(mac_str(MAC_B), '90')] * 3, 'B\'s 3 frames are in '
         'the file', diag='%r %s' % (fields, terr))


def test_capture_errors(t, rig):
    rc, out, err = rig.ctl(['capture', 'stub', '-w', '/dev/null'])
    t.ok(rc == 1 and err == "vmwire-ctl: 'stub' is a NIC: capture the port "
         "it is on ('stubport')\n", 'capture of a NIC: exit 1, names its '
         'port', diag=repr(err))
    rc, out, err = rig.ctl(['capture', 'nope', '-w', '/dev/null'])
    t.ok(rc == 1 and err.startswith("vmwire-ctl: no port 'nope'"),
         'capture of an unknown id: exit 1', diag=repr(err))


def test_top(t, rig):
    stop = threading.Event()

    def flood():
        f = frame(MAC_A, 500, dst=MAC_B)
        while not stop.is_set():
            rig.a.send_frames([f] * 50)
            rig.b.send_frames([frame(MAC_B, 100)])
            rig.b.recv_all(0.01)
            stop.wait(0.02)
    th = threading.Thread(target=flood)
    th.start()
    try:
        rc, out, err = rig.ctl(['top', '-n', '2', '-d', '1'])
    finally:
        stop.set()
        th.join()
    blocks = [b.splitlines() for b in out.split('\n\n')]
    firsts = [b[2].split()[0] if len(b) > 2 else None for b in blocks]
    t.ok(rc == 0 and len(blocks) == 2 and
         all(b[0].startswith('vmwire-ctl top: ') and
             b[1].split()[0] == 'PORT' for b in blocks),
         'top -n 2 (not a tty): two blocks, each a title and a table',
         diag=out + err)
    t.ok(firsts == ['vms.1', 'vms.1'], 'the flooding port comes first in '
         'each', diag=out)
    rate = blocks[-1][2].split()[4] if len(blocks[-1]) > 2 else '0'
    scale = {'K': 1e3, 'M': 1e6, 'G': 1e9}.get(rate[-1:], 1)
    value = float(rate.rstrip('KMG')) * scale
    t.ok(value > 10e3, 'its RX-B/S is the flood\'s (%s)' % rate, diag=out)


def test_absent(t):
    with tempdir('ctl') as d:
        path = os.path.join(d, 'no', 'qmp.sock')
        rc, out, err = ctl(['-s', path, 'ports'])
        t.ok(rc == 1 and out == '' and err == 'vmwire-ctl: no vmwire at '
             '%s: is it running? (make run)\n' % path,
             'no vmwire at -s PATH: what to do, exit 1', diag=repr(err))
        env = dict(os.environ, XDG_RUNTIME_DIR=d)
        rc, out, err = ctl(['macs'], env=env)
        t.ok(rc == 1 and err == 'vmwire-ctl: no vmwire at %s/vmwire/qmp.'
             'sock: is it running? (make run)\n' % d,
             'the default socket is $XDG_RUNTIME_DIR/vmwire/qmp.sock',
             diag=repr(err))
        env.pop('XDG_RUNTIME_DIR')
        rc, out, err = ctl(['top', '-n', '1'], env=env, cwd=d)
        t.ok(rc == 1 and err == 'vmwire-ctl: no vmwire at ./vmwire/qmp.'
             'sock: is it running? (make run)\n',
             'without XDG_RUNTIME_DIR: ./vmwire/qmp.sock', diag=repr(err))


SCENARIOS = [
    ('ports', lambda t, r: (test_ports(t, r), test_macs(t, r))),
    ('hostfwd', test_hostfwd),
    ('link', test_link),
    ('capture', lambda t, r: (test_capture(t, r), test_capture_reader(t, r),
                              test_capture_backlog(t, r),
                              test_capture_errors(t, r),
                              test_capture_port_gone(t, r))),
    ('top', test_top),
]


def main():
    with TAP() as t:
        runs = VmwireRuns()
        for name, scenario in SCENARIOS:
            with t.scenario(name), tempdir('ctl') as d:
                rig = Rig(d)
                with Vmwire(rig.args) as v:
                    try:
                        rig.start(v)
                        scenario(t, rig)
                    finally:
                        rig.close()
                        runs.record(name, v)
        test_absent(t)
        runs.check(t, len(SCENARIOS))


if __name__ == '__main__':
    main()
