#!/usr/bin/env python3
"""The chaos soak: one vmwire daemon, many hostile and careless clients.

    tests/soak/soak.py [--seed N] [--seconds S]

Starts the real vmwire (VMWIRE_BIN, as the qtests do) with one segment:
hub 0 behind a multi-client stream listener (`vms`), a nic-stub and a
`-netdev user` with a hostfwd on the hub, plus FLOWS single-client stream
listeners (`fc0`...) each with its own nic-stub.  After a warm-up (every
maximum below reached once), for S seconds
(default $VMWIRE_SOAK_SECONDS, else 30), one seeded random generator
picks what happens next, one action after another:

  synthetic VMs  join the hub, send bursts (broadcast, to each other,
                 to unknown MACs, ARP and DHCP, runts, empty and tagged
                 frames, jumbo frames), stop reading and start again,
                 send garbage, send an oversized frame (vmwire cuts them
                 off), get killed mid-frame (with or without a reset),
                 or leave cleanly, their counters checked first;
  flows          a ping flow on each fcN: ICMP echo requests to its
                 nic-stub, numbered, of random size, the reader stalling
                 now and then.  Stream backend <-> NIC is flow-controlled
                 (docs/architecture.md), so every request must be
                 answered, in order, byte for byte;
  QMP            netdev_add/netdev_del of listeners and hub ports,
                 device_add/device_del of nic-stubs on them,
                 object-add/object-del of filter-dump on live clients,
                 set_link down and up, x-hostfwd-add/-remove, queries,
                 and clients that drop the connection mid-request or
                 send garbage;
  SIGHUP         the -D log file renamed away and reopened, as logrotate
                 does.

What it asserts (TAP; each check also runs during the soak, the first
failure of a kind is reported with the last actions):

  - every VM that left cleanly: vmwire counted every frame it sent as
    sent or as a counted drop (`tx-frames + dropped == sent`), and every
    frame it counted as delivered reached the VM (`rx-frames == read`);
    every frame the VMs read that came from a VM is intact (CRC);
  - every oversized frame cut its sender off (EOF or reset) and was
    logged; the daemon never cut off a VM that sent nothing wrong;
  - every flow's replies: all of them, in order, intact;
  - QMP: every command got a reply (success or a QEMU-style error) in
    time, during the soak and at the end;
  - SIGHUP: each rename was followed by a new log file;
  - RSS: no sample after the warm-up exceeds the warm-up peak by more
    than a quarter plus 16 MiB (the warm-up reaches every maximum the
    driver has: VMs, hot-plugged clients, filters, flows stalled);
  - at the end: SIGTERM gives exit status 0, and no log holds a
    sanitizer report (AddressSanitizer, UBSan, and LeakSanitizer's
    report at exit).

The same seed gives the same sequence of decisions; what the daemon
does between them (which frames it drops, when a cut-off VM notices)
depends on timing, and the driver follows it.  On failure the seed is
in the first line: rerun with --seed to replay.
"""

import argparse
import binascii
import errno
import os
import random
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qtest'))
from vmwire_test import (TAP, TIMEOUT_SCALE, Vmwire, free_port,  # noqa: E402
                         inet_checksum, tempdir)
from vmwire_test.daemon import VmwireRuns  # noqa: E402
from vmwire_test.process import rss_kib  # noqa: E402
from vmwire_test.qmp import QMP, QMPError  # noqa: E402

MAX_VMS = 24            # synthetic VMs on the hub at once
MAX_CLIENTS = 32        # the listener's max-clients=
FLOWS = 3               # flow-controlled ping flows (fc0..)
MAX_HOTPLUG = 4         # hot-plugged listeners / hub ports at once
MAX_FILTERS = 3         # filter-dump objects at once
HOSTFWD_HELD = 16       # host connections libslirp holds in the warm-up
OUT_CAP = 1 << 20       # bytes a driver socket may have waiting to go
NET_BUFSIZE = 4096 + 65536
MAGIC = b'SOAK'
STUB_MAC = bytes.fromhex('525400aa0001')
HUB_STUB_IP = '10.0.2.100'


def secs(n):
    return n * TIMEOUT_SCALE




def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack('!H', ethertype) + payload


def soak_payload(vm_id, seq, size, rng):
    """MAGIC, sender, sequence, then filler; a CRC-32 of it all last."""
    body = MAGIC + struct.pack('!II', vm_id, seq)
    fill = max(0, size - len(body) - 4)
    body += bytes([rng.randrange(256)]) * fill
    return body + struct.pack('!I', binascii.crc32(body))


def soak_payload_ok(payload):
    """None if not a soak payload, else whether its CRC holds."""
    if not payload.startswith(MAGIC):
        return None
    if len(payload) < 16:
        return False
    body, crc = payload[:-4], struct.unpack('!I', payload[-4:])[0]
    return binascii.crc32(body) == crc


def icmp_echo(src_mac, src_ip, dst_ip, ident, seq, data):
    icmp = struct.pack('!BBHHH', 8, 0, 0, ident, seq & 0xffff) + data
    icmp = icmp[:2] + struct.pack('!H', inet_checksum(icmp)) + icmp[4:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(icmp), seq & 0xffff,
                     0, 64, 1, 0, socket.inet_aton(src_ip),
                     socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack('!H', inet_checksum(ip)) + ip[12:]
    return eth(STUB_MAC, src_mac, 0x0800, ip + icmp)


def arp_request(src_mac, src_ip, target_ip):
    arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, src_mac,
                      socket.inet_aton(src_ip), b'\0' * 6,
                      socket.inet_aton(target_ip))
    return eth(b'\xff' * 6, src_mac, 0x0806, arp)


def dhcp_discover(src_mac, xid):
    bootp = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, xid, 0,
                        0x8000, b'\0' * 4, b'\0' * 4, b'\0' * 4, b'\0' * 4,
                        src_mac + b'\0' * 10, b'\0' * 64, b'\0' * 128)
    bootp += b'\x63\x82\x53\x63' + b'\x35\x01\x01' + b'\xff'
    udp = struct.pack('!HHHH', 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17,
                     0, b'\0' * 4, b'\xff' * 4)
    ip = ip[:10] + struct.pack('!H', inet_checksum(ip)) + ip[12:]
    return eth(b'\xff' * 6, src_mac, 0x0800, ip + udp)


class SoakFailure(Exception):
    pass


class LoggedVmwire(Vmwire):
    """Vmwire with -D: what it printed is its output plus every log file
    it wrote (the renamed ones first), so `vmwire: ready` is found and
    the exit checks see a sanitizer report wherever it went."""

    def __init__(self, args, files, **kw):
        super().__init__(args, **kw)
        self.files = files

    def log(self):
        text = super().log()
        for path in self.files:
            try:
                with open(path, errors='replace') as f:
                    text += f.read()
            except OSError:
                pass
        return text


class Conn:
    """A non-blocking stream connection speaking QEMU's framing; the driver
    pumps it.  Frames read are handed to on_frame()."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port),
                                             timeout=secs(5))
        self.sock.setblocking(False)
        self.out = bytearray()
        self.inb = bytearray()
        self.reading = True
        self.closed_by_peer = None      # 'EOF' or an errno name

    def queue(self, frame):
        self.out += struct.pack('!I', len(frame)) + frame

    def queue_raw(self, data):
        self.out += data

    def pump(self):
        """Write what can go, read what has come.  False once closed."""
        if self.closed_by_peer:
            return False
        try:
            while self.out:
                n = self.sock.send(self.out[:262144])
                del self.out[:n]
        except BlockingIOError:
            pass
        except OSError as e:
            return self._closed(e)
        if not self.reading:
            return True
        try:
            while True:
                data = self.sock.recv(262144)
                if not data:
                    return self._closed(None)
                self.inb += data
                self._frames()
        except BlockingIOError:
            pass
        except OSError as e:
            return self._closed(e)
        return True

    def _closed(self, err):
        self.closed_by_peer = ('EOF' if err is None else
                               errno.errorcode.get(err.errno, str(err)))
        return False

    def _frames(self):
        pos = 0
        buf = self.inb
        while len(buf) - pos >= 4:
            size = struct.unpack_from('!I', buf, pos)[0]
            if len(buf) - pos < 4 + size:
                break
            self.on_frame(bytes(buf[pos + 4:pos + 4 + size]))
            pos += 4 + size
        del buf[:pos]

    def on_frame(self, frame):
        pass

    def close(self, reset=False):
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack('ii', 1, 0))
        self.sock.close()


class VM(Conn):
    def __init__(self, soak, num, port):
        super().__init__(port)
        self.soak = soak
        self.num = num
        self.mac = bytes([0x52, 0x54, 0x01, 0, num >> 8 & 0xff, num & 0xff])
        self.ip = '10.0.2.%d' % (20 + num % 200)
        self.sent = 0           # frames queued (whole records)
        self.read = 0
        self.seq = 0
        self.dirty = False      # sent garbage: no accounting, may be cut
        self.oversized = False  # sent an oversized frame: must be cut
        self.link_was_down = False
        self.empty = 0          # frames of 0 bytes: malformed on the conn
        self.runts = 0          # 1-13 bytes: malformed on the hub port
        self.tagged = 0         # 802.1Q on an access port: dropped-vlan
        self.local_port = self.sock.getsockname()[1]

    def on_frame(self, frame):
        self.read += 1
        if len(frame) < 14:
            self.soak.fail('vm %d read a frame of %d bytes' % (self.num,
                                                               len(frame)))
            return
        ok = soak_payload_ok(frame[14:])
        if ok is False:
            self.soak.fail('vm %d read a damaged soak frame (%d bytes)'
                           % (self.num, len(frame)))
        elif ok:
            self.soak.vm_frames_checked += 1

    def send_frame(self, frame):
        self.queue(frame)
        self.sent += 1


class Flow(Conn):
    """Echo requests to fcN's nic-stub; replies checked in order."""

    def __init__(self, soak, num, port):
        super().__init__(port)
        self.soak = soak
        self.num = num
        self.mac = bytes([0x52, 0x54, 0x02, 0, 0, num])
        self.ip = '10.77.%d.2' % num
        self.stub_ip = '10.77.%d.1' % num
        self.pending = []       # payloads of requests not answered yet
        self.next_seq = 0
        self.answered = 0
        self.first = 0          # seq of pending[0]

    def send_request(self, rng):
        size = rng.choice((0, 8, 56, 200, 1000, 1400, 1472, 8000))
        data = soak_payload(0x10000 + self.num, self.next_seq, size, rng)
        self.queue(icmp_echo(self.mac, self.ip, self.stub_ip, 0x5000 +
                             self.num, self.next_seq, data))
        self.pending.append(data)
        self.next_seq += 1

    def on_frame(self, frame):
        what = 'flow %d' % self.num
        if frame[12:14] != b'\x08\x00' or len(frame) < 42:
            self.soak.fail('%s: a frame that is not an IPv4 echo reply '
                           '(%d bytes)' % (what, len(frame)))
            return
        icmp = frame[14 + (frame[14] & 0x0f) * 4:]
        if icmp[0] != 0:
            self.soak.fail('%s: ICMP type %d, not an echo reply' %
                           (what, icmp[0]))
            return
        seq = struct.unpack('!H', icmp[6:8])[0]
        if not self.pending:
            self.soak.fail('%s: a reply (seq %d) to nothing' % (what, seq))
            return
        want = self.pending.pop(0)
        if seq != self.first & 0xffff:
            self.soak.fail('%s: reply seq %d, expected %d (lost or out of '
                           'order)' % (what, seq, self.first & 0xffff))
        elif icmp[8:] != want:
            self.soak.fail('%s: reply %d damaged' % (what, seq))
        self.first += 1
        self.answered += 1


class Soak:
    def __init__(self, t, seed, seconds, workdir):
        self.t = t
        self.seed = seed
        self.rng = random.Random(seed)
        self.seconds = seconds
        self.dir = workdir
        self.failures = {}      # kind -> first message
        self.trace = []         # the last actions
        self.counts = {}        # action -> times
        self.vms = {}           # num -> VM
        self.vm_num = 0
        self.flows = []
        self.hotplug = {}       # netdev id -> device id (or None)
        self.hotplug_num = 0
        self.filters = set()
        self.filter_num = 0
        self.links_down = set()
        self.hostfwds = set()
        self.hups = 0
        self.fwd_clients = []   # (when to close, socket)
        self.log_files = []
        self.vm_frames_checked = 0
        self.accounted = 0      # VMs whose counters were checked
        self.oversize_cut = 0
        self.oversize_sent = 0
        self.clean_cut = []     # clean VMs the daemon cut off
        self.qmp_commands = 0
        self.rss = []           # (seconds since start, KiB)

    # --- bookkeeping -----------------------------------------------------

    def note(self, what):
        self.trace.append('%.3f %s' % (time.monotonic() - self.t0, what))
        del self.trace[:-60]
        key = what.split()[0]
        self.counts[key] = self.counts.get(key, 0) + 1

    def fail(self, msg):
        kind = msg.split(':')[0].split(' ')[0]
        if kind not in self.failures:
            self.failures[kind] = msg + '\nlast actions:\n' + \
                '\n'.join(self.trace[-25:])

    # --- the daemon -----------------------------------------------------

    def start(self):
        self.port = free_port()
        self.fc_ports = [free_port() for _ in range(FLOWS)]
        self.fwd_port = free_port()
        self.qmp_path = os.path.join(self.dir, 'qmp.sock')
        self.log_path = os.path.join(self.dir, 'vmwire.log')
        args = ['-D', self.log_path,
                '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path,
                '-netdev', 'stream,id=vms,server=on,hubid=0,max-clients=%d,'
                'addr.type=inet,addr.host=127.0.0.1,addr.port=%d'
                % (MAX_CLIENTS, self.port),
                '-netdev', 'hubport,id=hstub,hubid=0',
                '-device', 'nic-stub,id=stub,netdev=hstub,ip=%s/24'
                % HUB_STUB_IP,
                '-netdev', 'user,id=u0,restrict=on,hostfwd=tcp:127.0.0.1:'
                '%d-:22' % self.fwd_port,
                '-netdev', 'hubport,id=hu0,hubid=0,netdev=u0']
        for i, p in enumerate(self.fc_ports):
            args += ['-netdev', 'stream,id=fc%d,server=on,addr.type=inet,'
                     'addr.host=127.0.0.1,addr.port=%d' % (i, p),
                     '-device', 'nic-stub,id=fcs%d,netdev=fc%d,ip=10.77.%d.1,'
                     'mac=52:54:00:aa:00:01' % (i, i, i)]
        env = dict(os.environ)
        # A small quarantine keeps ASan's RSS a measure of vmwire's own
        # memory (the default holds 256 MiB of freed blocks).
        env['ASAN_OPTIONS'] = ':'.join(
            x for x in (env.get('ASAN_OPTIONS', ''),
                        'quarantine_size_mb=16') if x)
        self.log_files.append(self.log_path)
        self.v = LoggedVmwire(args, self.log_files, env=env, ready_timeout=30)
        self.v.start()
        self.q = QMP.unix(self.qmp_path, timeout=secs(10))
        self.q.negotiate()

    def qmp(self, cmd, args=None, ok_errors=()):
        """Run a command; a reply must come.  Returns the reply."""
        self.qmp_commands += 1
        try:
            reply = self.q.execute(cmd, args, timeout=secs(10))
        except QMPError as e:
            raise SoakFailure('QMP %s %r: no reply: %s' % (cmd, args, e))
        err = reply.get('error')
        if err and not any(s in err.get('desc', '') for s in ok_errors):
            self.fail('qmp: %s %r failed: %s' % (cmd, args, err))
        return reply

    def clients(self):
        return {c['id']: c for c in
                self.qmp('x-query-network')['return']}

    def sample_rss(self):
        self.rss.append((time.monotonic() - self.t0, rss_kib(self.v.proc.pid)))

    # --- pumping ---------------------------------------------------------

    def pump(self):
        self.close_fwd_clients()
        for vm in list(self.vms.values()):
            if not vm.pump():
                self.vm_cut(vm)
        for f in self.flows:
            if not f.pump():
                self.fail('flow %d: connection closed by vmwire (%s)'
                          % (f.num, f.closed_by_peer))
                raise SoakFailure(self.failures['flow'])
        if self.v.proc.poll() is not None:
            raise SoakFailure('vmwire exited (status %s)'
                              % self.v.proc.returncode)

    def vm_cut(self, vm):
        """The daemon closed vm's connection."""
        del self.vms[vm.num]
        vm.close()
        if vm.oversized:
            self.oversize_cut += 1
        elif not vm.dirty:
            self.clean_cut.append('vm %d (%s)' % (vm.num, vm.closed_by_peer))
            self.fail('cut: vmwire closed vm %d, which sent nothing wrong '
                      '(%s)' % (vm.num, vm.closed_by_peer))

    def settle(self, cond, timeout=10.0):
        """Pump until cond() holds; False on timeout."""
        deadline = time.monotonic() + secs(timeout)
        while True:
            self.pump()
            if cond():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    # --- actions: synthetic VMs ------------------------------------------

    def vm_join(self):
        if len(self.vms) >= MAX_VMS:
            return
        self.vm_num += 1
        vm = VM(self, self.vm_num, self.port)
        self.vms[vm.num] = vm
        self.note('join vm %d' % vm.num)

    def pick_vm(self, clean=False):
        nums = sorted(n for n, vm in self.vms.items()
                      if not clean or not (vm.dirty or vm.oversized))
        return self.vms[self.rng.choice(nums)] if nums else None

    def vm_burst(self):
        vm = self.pick_vm()
        if vm is None or len(vm.out) > OUT_CAP:
            return
        rng = self.rng
        n = rng.choice((1, 4, 16, 64))
        others = [o.mac for o in self.vms.values() if o is not vm]
        for _ in range(n):
            kind = rng.randrange(100)
            vm.seq += 1
            if kind < 30:
                dst = b'\xff' * 6
            elif kind < 70 and others:
                dst = rng.choice(others)
            elif kind < 78:
                dst = bytes([0x52, 0x54, 0x09, 0, 0, rng.randrange(256)])
            elif kind < 82:
                vm.send_frame(arp_request(vm.mac, vm.ip, HUB_STUB_IP))
                continue
            elif kind < 84:
                vm.send_frame(dhcp_discover(vm.mac, vm.seq))
                continue
            elif kind < 86:
                runt = vm.mac[:rng.randrange(14)]
                if runt:
                    vm.runts += 1
                else:
                    vm.empty += 1
                vm.send_frame(runt)
                continue
            elif kind < 88:
                vm.send_frame(b'\xff' * 6 + vm.mac +
                              b'\x81\x00\x00\x05\x08\x00' + b'\0' * 46)
                vm.tagged += 1
                continue
            else:
                dst = b'\x01\x00\x5e\x00\x00\x01'
            size = rng.choice((16, 46, 200, 600, 1486, 1486, 9000,
                               65000 if rng.randrange(20) == 0 else 1000))
            vm.send_frame(eth(dst, vm.mac, 0x88b5,
                              soak_payload(vm.num, vm.seq, size, rng)))
        self.note('burst vm %d %d' % (vm.num, n))

    def vm_stall(self):
        vm = self.pick_vm()
        if vm is not None:
            vm.reading = not vm.reading
            self.note('%s vm %d' % ('read' if vm.reading else 'stall',
                                    vm.num))

    def vm_garbage(self):
        vm = self.pick_vm()
        if vm is None:
            return
        rng = self.rng
        vm.dirty = True
        vm.queue_raw(bytes(rng.randrange(256)
                           for _ in range(rng.randrange(1, 200))))
        self.note('garbage vm %d' % vm.num)

    def vm_oversize(self):
        vm = self.pick_vm()
        if vm is None or vm.oversized:
            return
        size = self.rng.choice((NET_BUFSIZE + 1, 1 << 20, 0xffffffff))
        vm.queue_raw(struct.pack('!I', size) + b'\0' * 64)
        vm.oversized = True
        self.oversize_sent += 1
        self.note('oversize vm %d %d' % (vm.num, size))

    def vm_kill(self):
        vm = self.pick_vm()
        if vm is None:
            return
        frame = eth(b'\xff' * 6, vm.mac, 0x88b5,
                    soak_payload(vm.num, 0, 1000, self.rng))
        record = struct.pack('!I', len(frame)) + frame
        vm.queue_raw(record[:self.rng.randrange(1, len(record))])
        vm.pump()
        reset = self.rng.randrange(2) == 0
        del self.vms[vm.num]
        if vm.oversized:
            self.oversize_sent -= 1     # gone before vmwire saw it, maybe
        vm.close(reset=reset)
        self.note('kill vm %d%s' % (vm.num, ' reset' if reset else ''))

    def conn_id(self, vm, clients):
        tag = ':%d' % vm.local_port
        for cid, c in clients.items():
            if cid.startswith('vms.') and cid.endswith('.conn') and \
                    c['info'].endswith(tag):
                return cid
        return None

    def vm_account(self, vm):
        """vmwire's counters for vm against what vm sent and read."""
        vm.reading = True
        cid = None

        def settled():
            nonlocal cid
            if vm.out or vm.num not in self.vms:
                return False
            clients = self.clients()
            cid = cid or self.conn_id(vm, clients)
            c = clients.get(cid)
            p = clients.get(cid and cid[:-len('.conn')])
            if c is None or p is None:
                return False
            self.last_counters = (c, p)
            # The connection and its hub port see the same frames.
            if c['rx-frames'] != vm.read or p['tx-frames'] != vm.read or \
                    p['rx-frames'] != c['tx-frames'] or \
                    p['dropped-queue-full'] != c['dropped-queue-full']:
                return False
            # Frames vm sent: handed on (tx-frames) or dropped as empty
            # (malformed) or because a link was down.  vmwire counts the
            # latter together with frames queued *for* vm when its link
            # went down, so a VM whose link was down at some point is
            # checked within that range; any other VM exactly, reason by
            # reason, the hub port's drops included.
            handed = c['tx-frames'] + c['dropped-malformed']
            if vm.link_was_down:
                return handed <= vm.sent <= handed + c['dropped-link-down']
            return (handed == vm.sent and c['dropped-link-down'] == 0 and
                    c['dropped-malformed'] == vm.empty and
                    p['dropped-malformed'] == vm.runts and
                    p['dropped-vlan'] == vm.tagged)
        self.last_counters = None
        if self.settle(settled, timeout=15):
            self.accounted += 1
            return True
        if vm.num in self.vms:
            self.fail('counters: vm %d (%s): sent %d (%d empty, %d runts, '
                      '%d tagged), read %d, link down at some point: %s; '
                      'vmwire counted (connection, port) %r'
                      % (vm.num, cid, vm.sent, vm.empty, vm.runts,
                         vm.tagged, vm.read, vm.link_was_down,
                         self.last_counters))
        return False

    def vm_leave(self):
        vm = self.pick_vm(clean=True)
        if vm is None:
            return
        self.note('leave vm %d' % vm.num)
        self.vm_account(vm)
        if vm.num in self.vms:
            del self.vms[vm.num]
            vm.close()

    # --- actions: QMP ----------------------------------------------------

    def qmp_hotplug(self):
        rng = self.rng
        if self.hotplug and (len(self.hotplug) >= MAX_HOTPLUG or
                             rng.randrange(2)):
            nid = rng.choice(sorted(self.hotplug))
            did = self.hotplug.pop(nid)
            # Either order: a NIC may lose its backend first (it stays,
            # link down, as in QEMU) or go first.
            if rng.randrange(2):
                self.qmp('device_del', {'id': did})
                self.qmp('netdev_del', {'id': nid})
            else:
                self.qmp('netdev_del', {'id': nid})
                self.qmp('device_del', {'id': did})
            self.note('unplug %s' % nid)
            return
        self.hotplug_num += 1
        n = self.hotplug_num
        nid, did = 'hp%d' % n, 'hpd%d' % n
        if rng.randrange(2):
            self.qmp('netdev_add', {'type': 'stream', 'id': nid,
                                    'server': True,
                                    'addr': {'type': 'inet',
                                             'host': '127.0.0.1',
                                             'port': str(free_port())}})
        else:
            self.qmp('netdev_add', {'type': 'hubport', 'id': nid,
                                    'hubid': 0})
        self.qmp('device_add', {'driver': 'nic-stub', 'id': did,
                                'netdev': nid,
                                'ip': '10.0.3.%d' % (n % 250 + 1)})
        self.hotplug[nid] = did
        self.note('plug %s' % nid)

    def qmp_filter(self):
        rng = self.rng
        if self.filters and (len(self.filters) >= MAX_FILTERS or
                             rng.randrange(2)):
            fid = rng.choice(sorted(self.filters))
            self.filters.discard(fid)
            # Its netdev may have gone, and the filter with it.
            self.qmp('object-del', {'id': fid}, ok_errors=('not found',))
            path = os.path.join(self.dir, fid + '.pcap')
            if os.path.exists(path):
                os.unlink(path)
            self.note('unfilter %s' % fid)
            return
        names = sorted(['vms', 'hstub', 'hu0', 'u0'] + self.flow_ids() +
                       ['vms.%s' % self.port_of(vm) for vm in
                        self.vms.values() if self.port_of(vm)])
        self.filter_num += 1
        fid = 'fd%d' % self.filter_num
        netdev = rng.choice(names)
        self.qmp('object-add', {'qom-type': 'filter-dump', 'id': fid,
                                'netdev': netdev, 'maxlen': 128,
                                'file': os.path.join(self.dir,
                                                     fid + '.pcap')},
                 ok_errors=('expects a network backend id',))
        self.filters.add(fid)
        self.note('filter %s on %s' % (fid, netdev))

    def flow_ids(self):
        return ['fc%d' % i for i in range(FLOWS)]

    def port_of(self, vm):
        return getattr(vm, 'port_name', None)

    def qmp_link(self):
        rng = self.rng
        if self.links_down and rng.randrange(2):
            name = rng.choice(sorted(self.links_down))
            self.links_down.discard(name)
            self.qmp('set_link', {'name': name, 'up': True},
                     ok_errors=('not found',))
            self.note('link up %s' % name)
            return
        clients = self.clients()
        self.learn_ports(clients)
        names = sorted(cid for cid in clients if cid.startswith('vms.') or
                       cid in ('hstub', 'stub', 'hu0'))
        if not names:
            return
        name = rng.choice(names)
        for vm in self.vms.values():
            if name.startswith('vms.%s' % self.port_of(vm)) and \
                    name in ('vms.%s' % vm.port_name,
                             'vms.%s.conn' % vm.port_name):
                vm.link_was_down = True
        self.qmp('set_link', {'name': name, 'up': False},
                 ok_errors=('not found',))
        self.links_down.add(name)
        self.note('link down %s' % name)

    def qmp_hostfwd(self):
        if self.hostfwds and self.rng.randrange(2):
            port = self.rng.choice(sorted(self.hostfwds))
            self.hostfwds.discard(port)
            self.qmp('x-hostfwd-remove', {'netdev': 'u0',
                                          'rule': 'tcp:127.0.0.1:%d' % port})
            self.note('hostfwd remove %d' % port)
            return
        if len(self.hostfwds) >= 4:
            return
        port = free_port()
        self.qmp('x-hostfwd-add', {'netdev': 'u0',
                                   'rule': 'tcp:127.0.0.1:%d-:22' % port})
        self.hostfwds.add(port)
        if self.rng.randrange(8) == 0:
            self.hostfwd_connect(port)
        self.note('hostfwd add %d' % port)

    def hostfwd_connect(self, port):
        """A host client on a forwarded port, closed a second later.
        libslirp accepts it and holds it (an fd and its buffers) while it
        tries to reach the guest, which no VM here answers: up to 75 s."""
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(('127.0.0.1', port))
        self.fwd_clients.append((time.monotonic() + 1, s))

    def close_fwd_clients(self, everything=False):
        now = time.monotonic()
        while self.fwd_clients and (everything or
                                    self.fwd_clients[0][0] <= now):
            self.fwd_clients.pop(0)[1].close()

    def qmp_query(self):
        cmd = self.rng.choice(('x-query-network', 'x-query-mac-table',
                               'query-version', 'info network'))
        if cmd == 'info network':
            self.qmp('human-monitor-command', {'command-line': cmd})
        else:
            self.qmp(cmd)
        self.note('query %s' % cmd)

    def qmp_rude(self):
        """A second QMP client that goes away mid-request or talks
        garbage; the first must not notice."""
        rng = self.rng
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(secs(5))
        try:
            s.connect(self.qmp_path)
            what = rng.randrange(3)
            if what == 0:
                s.sendall(b'{"execute": "qmp_capabilities"}\n'
                          b'{"execute": "x-query-netw')
            elif what == 1:
                s.sendall(bytes(rng.randrange(256)
                                for _ in range(rng.randrange(1, 300))))
            else:
                s.sendall(b'{"execute": "qmp_capabilities"}\n'
                          b'{"execute": "netdev_add", "arguments": '
                          b'{"type": "stream", "id": "rude", "server": tr')
            self.note('qmp rude %d' % what)
        except OSError as e:
            self.fail('qmp: a second client could not connect: %s' % e)
        finally:
            s.close()

    def sighup(self):
        self.hups += 1
        old = '%s.%d' % (self.log_path, self.hups)
        os.rename(self.log_path, old)
        self.log_files.insert(-1, old)
        os.kill(self.v.proc.pid, signal.SIGHUP)
        if not self.settle(lambda: os.path.exists(self.log_path), 5):
            self.fail('sighup: no new log file after SIGHUP')
        self.note('sighup %d' % self.hups)

    # --- flows -----------------------------------------------------------

    def flow_step(self):
        f = self.rng.choice(self.flows)
        if self.rng.randrange(6) == 0:
            f.reading = not f.reading
            self.note('flow %d %s' % (f.num, 'read' if f.reading else
                                      'stall'))
        elif len(f.out) < OUT_CAP and len(f.pending) < 20000:
            for _ in range(self.rng.choice((1, 8, 32))):
                f.send_request(self.rng)
            self.note('flow %d send' % f.num)

    # --- the run ---------------------------------------------------------

    ACTIONS = (
        ('vm_join', 10), ('vm_burst', 40), ('vm_stall', 8),
        ('vm_garbage', 2), ('vm_oversize', 2), ('vm_kill', 4),
        ('vm_leave', 4), ('flow_step', 25), ('qmp_hotplug', 4),
        ('qmp_filter', 4), ('qmp_link', 4), ('qmp_hostfwd', 2),
        ('qmp_query', 4), ('qmp_rude', 2), ('sighup', 1),
    )

    def warm_up(self):
        """Every maximum once: the reference for the RSS bound."""
        for _ in range(HOSTFWD_HELD):
            self.hostfwd_connect(self.fwd_port)
        for _ in range(MAX_VMS):
            self.vm_join()
        self.fill_up(self.qmp_hotplug, self.hotplug, MAX_HOTPLUG)
        self.pump()
        self.fill_up(self.qmp_filter, self.filters, MAX_FILTERS)
        for vm in self.vms.values():
            vm.reading = False
        for f in self.flows:
            f.reading = False
        for _ in range(40):
            for vm in list(self.vms.values()):
                self.vm_burst_of(vm)
            for f in self.flows:
                for _ in range(32):
                    f.send_request(self.rng)
            self.pump()
            time.sleep(0.01)
        self.settle(lambda: False, timeout=1)
        self.sample_rss()
        for vm in self.vms.values():
            vm.reading = True
        for f in self.flows:
            f.reading = True
        self.settle(lambda: False, timeout=1)
        self.sample_rss()

    def fill_up(self, action, have, most):
        """Run action (which adds or removes one) until have holds most."""
        while len(have) < most:
            action()
    def vm_burst_of(self, vm):
        if len(vm.out) > OUT_CAP:
            return
        for _ in range(16):
            vm.seq += 1
            vm.send_frame(eth(b'\xff' * 6, vm.mac, 0x88b5,
                              soak_payload(vm.num, vm.seq, 1486, self.rng)))

    def learn_ports(self, clients=None):
        """Which hub port each VM is (for filters and set_link)."""
        for cid, c in (clients or self.clients()).items():
            if not (cid.startswith('vms.') and cid.endswith('.conn')):
                continue
            for vm in self.vms.values():
                if c['info'].endswith(':%d' % vm.local_port):
                    vm.port_name = cid.split('.')[1]

    def run(self):
        self.t0 = time.monotonic()
        self.start()
        self.flows = [Flow(self, i, p) for i, p in enumerate(self.fc_ports)]
        self.warm_up()
        self.rss_bound = max(k for _, k in self.rss) * 5 // 4 + 16 * 1024
        end = time.monotonic() + self.seconds      # chaos, after the warm-up
        names = [a for a, _ in self.ACTIONS]
        weights = [w for _, w in self.ACTIONS]
        steps = 0
        next_sample = time.monotonic() + 1
        while time.monotonic() < end:
            action = self.rng.choices(names, weights)[0]
            getattr(self, action)()
            self.pump()
            steps += 1
            if steps % 50 == 0:
                self.learn_ports()
            if time.monotonic() >= next_sample:
                self.sample_rss()
                next_sample += 1
            time.sleep(0.002)
        self.steps = steps
        self.finish()

    def finish(self):
        """Everything back up, everything drained, every count checked."""
        for name in sorted(self.links_down):
            self.qmp('set_link', {'name': name, 'up': True},
                     ok_errors=('not found',))
        self.links_down.clear()
        for vm in self.vms.values():
            vm.reading = True
        for f in self.flows:
            f.reading = True
        # Oversized senders are cut off; wait for it before accounting.
        self.settle(lambda: not any(vm.oversized
                                    for vm in self.vms.values()), 10)
        for vm in list(self.vms.values()):
            if vm.oversized:
                self.fail('oversize: vm %d sent an oversized frame and was '
                          'not cut off' % vm.num)
        for f in self.flows:
            if not self.settle(lambda: not f.pending and not f.out, 60):
                self.fail('flow %d: %d requests unanswered (answered %d)'
                          % (f.num, len(f.pending), f.answered))
        for vm in list(self.vms.values()):
            if not vm.dirty and vm.num in self.vms:
                self.vm_account(vm)
        self.flow_answered = [f.answered for f in self.flows]
        for vm in list(self.vms.values()):
            vm.close()
        self.vms.clear()
        for f in self.flows:
            f.close()
        self.flows = []
        self.close_fwd_clients(everything=True)
        for nid in sorted(self.hotplug):
            self.qmp('netdev_del', {'id': nid})
        for fid in sorted(self.filters):
            self.qmp('object-del', {'id': fid}, ok_errors=('not found',))
        self.settle(lambda: False, timeout=2)
        self.sample_rss()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int,
                    default=int(os.environ.get('VMWIRE_SOAK_SEED', '0')) or
                    random.SystemRandom().randrange(1, 1 << 31))
    ap.add_argument('--seconds', type=float,
                    default=float(os.environ.get('VMWIRE_SOAK_SECONDS',
                                                 '30')))
    opts = ap.parse_args()
    with TAP() as t, tempdir('soak') as d:
        t.diag('seed %d, %g s (replay: tests/soak/soak.py --seed %d '
               '--seconds %g)' % (opts.seed, opts.seconds, opts.seed,
                                  opts.seconds))
        s = Soak(t, opts.seed, opts.seconds, d)
        runs = VmwireRuns()
        error = None
        try:
            s.run()
        except SoakFailure as e:
            error = str(e)
        finally:
            if getattr(s, 'q', None) is not None:
                answered = False
                if error is None:
                    try:
                        s.q.cmd('query-version')
                        fresh = QMP.unix(s.qmp_path)
                        fresh.negotiate()
                        fresh.cmd('x-query-network')
                        fresh.close()
                        answered = True
                    except (QMPError, OSError) as e:
                        error = 'QMP at the end: %s' % e
                s.q.close()
                runs.record('soak', s.v)
        t.ok(error is None, 'the soak ran to its end (%d actions)'
             % getattr(s, 'steps', 0), diag=lambda: '%s\nlast actions:\n%s'
             % (error, '\n'.join(s.trace[-25:])))
        if error is not None:
            t.diag(runs.logs()[-6000:])
            return
        t.diag('actions: ' + ', '.join('%s %d' % kv
                                       for kv in sorted(s.counts.items())))
        t.ok(answered, 'vmwire answers QMP at the end (both the soak\'s '
             'client and a new one); %d commands during the soak'
             % s.qmp_commands)
        t.ok(s.accounted > 0 and 'counters' not in s.failures,
             'counters add up for all %d VMs that left cleanly or stayed: '
             'sent == tx-frames + counted drops (by reason, on the '
             'connection and its hub port), read == rx-frames'
             % s.accounted, diag=lambda: s.failures.get('counters'))
        t.ok(s.vm_frames_checked > 0 and 'vm' not in s.failures,
             '%d soak frames read by VMs, all intact' % s.vm_frames_checked,
             diag=lambda: s.failures.get('vm'))
        t.ok(not s.clean_cut and 'cut' not in s.failures,
             'no VM that sent nothing wrong was cut off',
             diag=lambda: s.failures.get('cut'))
        t.ok(s.oversize_sent > 0 and s.oversize_cut >= s.oversize_sent and
             'oversize' not in s.failures,
             'every oversized sender was cut off (%d of %d)'
             % (s.oversize_cut, s.oversize_sent),
             diag=lambda: s.failures.get('oversize'))
        flows = ', '.join('%d' % n for n in s.flow_answered)
        t.ok(all(n > 0 for n in s.flow_answered) and
             'flow' not in s.failures,
             'flow-controlled ping flows: every request answered, in order, '
             'intact (%s)' % flows, diag=lambda: s.failures.get('flow'))
        t.ok('qmp' not in s.failures, 'every QMP command answered as '
             'expected', diag=lambda: s.failures.get('qmp'))
        t.ok(s.hups > 0 and 'sighup' not in s.failures,
             'SIGHUP reopened the log each of %d times' % s.hups,
             diag=lambda: s.failures.get('sighup'))
        peak = max(k for _, k in s.rss)
        t.ok(all(k <= s.rss_bound for _, k in s.rss),
             'RSS stays within the bound: peak %d KiB, bound %d KiB '
             '(warm-up peak + 25%% + 16 MiB), end %d KiB'
             % (peak, s.rss_bound, s.rss[-1][1]),
             diag=lambda: repr(s.rss))
        oversized_lines = s.v.log().count('oversized packet received')
        t.ok(oversized_lines >= s.oversize_cut,
             'each cut-off oversized sender has its log line (%d)'
             % oversized_lines)
        runs.check(t, 1)
        others = sorted(set(s.failures) - {
            'counters', 'vm', 'cut', 'oversize', 'flow', 'qmp', 'sighup'})
        t.ok(not others, 'no other failure', diag=lambda: '\n'.join(
            s.failures[k] for k in others))


if __name__ == '__main__':
    main()
