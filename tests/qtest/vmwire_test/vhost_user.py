"""vmwire_test.vhost_user: a vhost-user frontend in Python (stdlib only).

It plays the part QEMU plays for a vhost-user net backend: it connects to
the backend's unix socket, negotiates features, hands over its "guest
memory" (a memfd, mmap'ed shared here too) with SET_MEM_TABLE, lays out two
split virtqueues in it (RX = vring 0, TX = vring 1, as virtio-net numbers
them) and passes their kick and call eventfds.  Then it sends frames (the
12-byte virtio-net header, struct virtio_net_hdr_mrg_rxbuf, then the
frame) on TX and posts buffers on RX and reads what the backend wrote
there, mergeable buffers included (num_buffers).

    with VhostUserFrontend(path) as fe:        # connects
        fe.start()                             # negotiate + set up rings
        fe.post_rx(64)                         # 64 receive buffers
        fe.send_frame(frame)                   # TX, kicked if needed
        got = fe.recv_frame(timeout=5)         # None on timeout

For fault tests every layer is reachable on its own: send_msg() sends
any request with any flags, size field, payload and fds (send_raw() any
bytes); recv_msg() reads a reply; negotiate(), set_mem_table(),
setup_ring() and enable() are the start-up steps one by one (each with the
values to spoil); fe.mem reads and writes the shared memory at guest
physical addresses; Ring.write_desc(), Ring.publish() and
Ring.set_avail_idx() put any descriptor and any index in a ring.
wait_closed() tells whether the backend closed the connection.

Layout of the memory (one region unless regions= says otherwise): guest
physical address 0 upwards, the frontend's "user address" of gpa 0 is
UVA_BASE (an arbitrary number: the backend only uses it to translate the
ring addresses SET_VRING_ADDR carries).  Ring i (descriptor table, avail
ring, used ring) sits at ring_gpa(i); the buffers follow, SLOT bytes per
descriptor.  Timeouts are seconds, scaled by VMWIRE_TIMEOUT_SCALE.
"""

import errno
import mmap
import os
import select
import socket
import struct
import time
from types import TracebackType
from typing import (Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple, Type)

from .process import TIMEOUT_SCALE

# --- the protocol's numbers (QEMU docs/interop/vhost-user.rst) -------------

GET_FEATURES = 1
SET_FEATURES = 2
SET_OWNER = 3
RESET_OWNER = 4
SET_MEM_TABLE = 5
SET_LOG_BASE = 6
SET_LOG_FD = 7
SET_VRING_NUM = 8
SET_VRING_ADDR = 9
SET_VRING_BASE = 10
GET_VRING_BASE = 11
SET_VRING_KICK = 12
SET_VRING_CALL = 13
SET_VRING_ERR = 14
GET_PROTOCOL_FEATURES = 15
SET_PROTOCOL_FEATURES = 16
GET_QUEUE_NUM = 17
SET_VRING_ENABLE = 18
SEND_RARP = 19
NET_SET_MTU = 20

FLAG_VERSION = 0x1          # bits 0-1: the protocol version, 1
FLAG_REPLY = 0x4
FLAG_NEED_REPLY = 0x8
HEADER = struct.Struct('<III')      # request, flags, size
MAX_PAYLOAD = 4096                  # what QEMU's VhostUserPayload holds
VRING_NOFD = 0x100                  # kick/call/err payload: no fd sent
MAX_REGIONS = 8

# virtio feature bits
F_MRG_RXBUF = 15
F_INDIRECT_DESC = 28
F_EVENT_IDX = 29
F_PROTOCOL_FEATURES = 30
F_VERSION_1 = 32
# protocol feature bits
PF_MQ = 0
PF_REPLY_ACK = 3

OFFERED_FEATURES = ((1 << F_VERSION_1) | (1 << F_MRG_RXBUF) |
                    (1 << F_EVENT_IDX) | (1 << F_INDIRECT_DESC) |
                    (1 << F_PROTOCOL_FEATURES))
OFFERED_PROTOCOL_FEATURES = (1 << PF_MQ) | (1 << PF_REPLY_ACK)

# split virtqueue descriptor flags
DESC_NEXT = 1
DESC_WRITE = 2
DESC_INDIRECT = 4
USED_NO_NOTIFY = 1          # used->flags
AVAIL_NO_INTERRUPT = 1      # avail->flags

DESC = struct.Struct('<QIHH')       # addr, len, flags, next
VNET_HDR = struct.Struct('<BBHHHHH')   # virtio_net_hdr_mrg_rxbuf, 12 bytes
VNET_HDR_LEN = VNET_HDR.size

RX, TX = 0, 1               # vring indexes of virtio-net's first pair
UVA_BASE = 0x7f5a00000000   # the frontend "user address" of gpa 0
SLOT = 2048                 # bytes of buffer per descriptor
PAGE = 4096


def secs(s: float) -> float:
    return s * TIMEOUT_SCALE


def _align(n: int, a: int) -> int:
    return (n + a - 1) & ~(a - 1)


def ring_bytes(num: int) -> int:
    """Bytes one split ring of num entries takes, page-aligned parts:
    descriptors, then avail, then used (4-aligned)."""
    avail = 16 * num
    used = _align(avail + 6 + 2 * num, 4)
    return _align(used + 6 + 8 * num, PAGE)


def need_event(event: int, new: int, old: int) -> bool:
    """virtio's vring_need_event: does moving an index from old to new
    pass event?"""
    return ((new - event - 1) & 0xffff) < ((new - old) & 0xffff)


def new_eventfd() -> int:
    """A non-blocking eventfd (os.eventfd is Python 3.10's; reached by
    getattr because mypy 1.0's typeshed does not know it yet)."""
    make: Callable[[int, int], int] = getattr(os, 'eventfd')
    return make(0, getattr(os, 'EFD_NONBLOCK') | getattr(os, 'EFD_CLOEXEC'))


def vnet_header(num_buffers: int = 0) -> bytes:
    return VNET_HDR.pack(0, 0, 0, 0, 0, 0, num_buffers)


class Region(NamedTuple):
    """One SET_MEM_TABLE entry (what goes on the wire; fd sent beside)."""
    gpa: int
    size: int
    uva: int
    mmap_offset: int


class VhostUserError(Exception):
    """The backend did not answer as the protocol says (or closed)."""


class Closed(VhostUserError):
    """The backend closed the connection (EOF or reset)."""


class Memory:
    """The frontend's guest memory: one memfd mapped shared, gpa 0 up."""

    def __init__(self, size: int) -> None:
        self.size = _align(size, PAGE)
        self.fd = os.memfd_create('vmwire-test-guest', os.MFD_CLOEXEC)
        os.ftruncate(self.fd, self.size)
        self.mm = mmap.mmap(self.fd, self.size, mmap.MAP_SHARED,
                            mmap.PROT_READ | mmap.PROT_WRITE)

    def region(self) -> Region:
        """The whole memory as one region at gpa 0."""
        return Region(0, self.size, UVA_BASE, 0)

    def uva(self, gpa: int) -> int:
        return UVA_BASE + gpa

    def read(self, gpa: int, n: int) -> bytes:
        return bytes(self.mm[gpa:gpa + n])

    def write(self, gpa: int, data: bytes) -> None:
        self.mm[gpa:gpa + len(data)] = data

    def u16(self, gpa: int) -> int:
        return int(struct.unpack_from('<H', self.mm, gpa)[0])

    def set_u16(self, gpa: int, value: int) -> None:
        struct.pack_into('<H', self.mm, gpa, value & 0xffff)

    def u32(self, gpa: int) -> int:
        return int(struct.unpack_from('<I', self.mm, gpa)[0])

    def close(self) -> None:
        self.mm.close()
        os.close(self.fd)


class Ring:
    """One split virtqueue in Memory, as the driver (frontend) sees it.

    desc, avail, used: guest physical addresses.  avail_idx is the shadow
    of avail->idx (what this side has published), last_used the used
    index read so far.  free: descriptor indexes not in flight.
    Buffers: descriptor i owns SLOT bytes at slot(i).
    """

    def __init__(self, fe: 'VhostUserFrontend', index: int, num: int,
                 base: int, slots: int) -> None:
        self.fe = fe
        self.mem = fe.mem
        self.index = index
        self.num = num
        self.desc = base
        self.avail = base + 16 * num
        self.used = _align(self.avail + 6 + 2 * num, 4)
        self.slots = slots
        self.avail_idx = 0
        self.last_used = 0
        self.free = list(range(num))
        self.chains: Dict[int, List[int]] = {}   # head -> its descriptors
        self.kick_fd = new_eventfd()
        self.call_fd = new_eventfd()
        self.kicks = 0

    def slot(self, i: int) -> int:
        return self.slots + SLOT * i

    def clear(self) -> None:
        """Zero the ring structures (before SET_VRING_ADDR)."""
        self.mem.write(self.desc, bytes(self.used + 6 + 8 * self.num -
                                        self.desc))

    # --- raw access, for fault tests ---------------------------------------

    def write_desc(self, i: int, addr: int, length: int, flags: int = 0,
                   next: int = 0) -> None:
        """Descriptor i of this ring's table, any values."""
        self.mem.write(self.desc + 16 * i, DESC.pack(addr, length, flags,
                                                     next))

    def read_desc(self, i: int) -> Tuple[int, int, int, int]:
        addr, length, flags, nxt = DESC.unpack(self.mem.read(
            self.desc + 16 * i, 16))
        return int(addr), int(length), int(flags), int(nxt)

    def set_avail_idx(self, idx: int) -> None:
        """avail->idx, any value (the shadow follows)."""
        self.avail_idx = idx & 0xffff
        self.mem.set_u16(self.avail + 2, self.avail_idx)

    def set_avail_entry(self, pos: int, head: int) -> None:
        self.mem.set_u16(self.avail + 4 + 2 * (pos % self.num), head)

    def publish(self, head: int) -> None:
        """Make the chain at head available: ring entry, then idx."""
        self.set_avail_entry(self.avail_idx, head)
        self.set_avail_idx(self.avail_idx + 1)

    def used_idx(self) -> int:
        return self.mem.u16(self.used + 2)

    def used_flags(self) -> int:
        return self.mem.u16(self.used)

    def avail_event(self) -> int:
        return self.mem.u16(self.used + 4 + 8 * self.num)

    def set_used_event(self, idx: int) -> None:
        self.mem.set_u16(self.avail + 4 + 2 * self.num, idx)

    def set_avail_flags(self, flags: int) -> None:
        self.mem.set_u16(self.avail, flags)

    def used_elem(self, pos: int) -> Tuple[int, int]:
        off = self.used + 4 + 8 * (pos % self.num)
        return self.mem.u32(off), self.mem.u32(off + 4)

    # --- driver side --------------------------------------------------------

    def add_chain(self, pieces: Sequence[Tuple[bytes, int]],
                  indirect: bool = False) -> int:
        """Descriptors for pieces (data, flags: DESC_WRITE or 0), each in
        its own slot (data is copied there; for a device-writable piece
        data's length is the buffer's).  With indirect, one descriptor
        points at a table written into the first slot.  Returns the head;
        the caller publishes it."""
        need = len(pieces) + (1 if indirect else 0)
        if need > len(self.free) or any(len(d) > SLOT for d, _ in pieces):
            raise VhostUserError('ring %d: no room for a chain of %d'
                                 % (self.index, len(pieces)))
        descs = [self.free.pop(0) for _ in range(need)]
        if indirect:
            table, data_descs = descs[0], descs[1:]
            entries = b''
            for k, (data, flags) in enumerate(pieces):
                addr = self.slot(data_descs[k])
                if not flags & DESC_WRITE:
                    self.mem.write(addr, data)
                more = k + 1 < len(pieces)
                entries += DESC.pack(addr, len(data),
                                     flags | (DESC_NEXT if more else 0),
                                     k + 1 if more else 0)
            if len(entries) > SLOT:
                raise VhostUserError('indirect table over one slot')
            self.mem.write(self.slot(table), entries)
            self.write_desc(table, self.slot(table), len(entries),
                            DESC_INDIRECT)
        else:
            for k, (data, flags) in enumerate(pieces):
                addr = self.slot(descs[k])
                if not flags & DESC_WRITE:
                    self.mem.write(addr, data)
                more = k + 1 < len(pieces)
                self.write_desc(descs[k], addr, len(data),
                                flags | (DESC_NEXT if more else 0),
                                descs[k + 1] if more else 0)
        self.chains[descs[0]] = descs
        return descs[0]

    def pop_used(self) -> Optional[Tuple[int, int]]:
        """The next used element (head, len), its descriptors freed; None
        if the device has used nothing more."""
        if self.last_used == self.used_idx():
            return None
        head, length = self.used_elem(self.last_used)
        self.last_used = (self.last_used + 1) & 0xffff
        descs = self.chains.pop(head, None)
        if descs is None:
            raise VhostUserError('ring %d: used element with head %d that '
                                 'is not in flight' % (self.index, head))
        self.free.extend(descs)
        return head, length

    def kick(self) -> None:
        os.write(self.kick_fd, struct.pack('<Q', 1))
        self.kicks += 1

    def kick_if_needed(self, old_idx: int) -> None:
        """Kick as a driver does: EVENT_IDX's avail_event, or unless the
        device set NO_NOTIFY."""
        if self.fe.features & (1 << F_EVENT_IDX):
            if need_event(self.avail_event(), self.avail_idx, old_idx):
                self.kick()
        elif not self.used_flags() & USED_NO_NOTIFY:
            self.kick()

    def arm_call(self) -> None:
        """Ask for a call when the device uses the next element."""
        if self.fe.features & (1 << F_EVENT_IDX):
            self.set_used_event(self.last_used)
        else:
            self.set_avail_flags(0)

    def wait_call(self, timeout: float) -> bool:
        """Wait (unscaled seconds) for the call eventfd; True if it fired."""
        ready, _, _ = select.select([self.call_fd], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            os.read(self.call_fd, 8)
        except BlockingIOError:
            return False
        return True

    def calls(self) -> int:
        """How many times the device wrote the call eventfd since the last
        look (the eventfd counter, read and reset; 0 if none)."""
        try:
            return int(struct.unpack('<Q', os.read(self.call_fd, 8))[0])
        except BlockingIOError:
            return 0

    def wait_used(self, deadline: float) -> bool:
        """Until the device used something (by time.monotonic() deadline);
        waits on the call eventfd, and looks at the ring every 50 ms too
        (a missing call is the test's to notice, not a hang)."""
        while True:
            if self.last_used != self.used_idx():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.arm_call()
            if self.last_used != self.used_idx():
                return True
            self.wait_call(min(left, 0.05))

    def close(self) -> None:
        os.close(self.kick_fd)
        os.close(self.call_fd)


class VhostUserFrontend:
    """One vhost-user frontend connection with its memory and two rings.

    VhostUserFrontend(path) connects to a backend listening on path
    (sock=s wraps a connected socket instead, e.g. one accepted from a
    backend with server=off).  ring_size entries per ring; memory sized
    for them unless mem_size says more.
    """

    def __init__(self, path: Optional[str] = None,
                 sock: Optional[socket.socket] = None, ring_size: int = 256,
                 mem_size: int = 0, connect_timeout: float = 5.0) -> None:
        if sock is None:
            if path is None:
                raise ValueError('path or sock')
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(secs(connect_timeout))
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                raise
        self.sock = sock
        self.sock.settimeout(None)
        self.buf = bytearray()
        self.num = ring_size
        self.features = 0
        self.protocol_features = 0
        self.queue_num = 0
        self.rx_mergeable = True
        self.rx_buf_size = SLOT     # post_rx's default buffer size
        area = ring_bytes(max(ring_size, 1024))
        self.slots_base = 2 * area
        need = self.slots_base + 2 * SLOT * max(ring_size, 1024)
        self.mem = Memory(max(mem_size, need))
        self.rings = [Ring(self, i, ring_size, i * area,
                           self.slots_base + i * SLOT * max(ring_size, 1024))
                      for i in (RX, TX)]
        self.rx_posted = 0

    # --- messages ------------------------------------------------------------

    def send_raw(self, data: bytes, fds: Sequence[int] = ()) -> None:
        """Bytes as they are (a header is the caller's), fds with the first
        byte (SCM_RIGHTS)."""
        if fds:
            sent = socket.send_fds(self.sock, [data], list(fds))
            if sent < len(data):
                self.sock.sendall(data[sent:])
        else:
            self.sock.sendall(data)

    def send_msg(self, request: int, payload: bytes = b'',
                 flags: int = FLAG_VERSION, size: Optional[int] = None,
                 fds: Sequence[int] = ()) -> None:
        """One message: header (size defaults to len(payload)), payload."""
        if size is None:
            size = len(payload)
        self.send_raw(HEADER.pack(request, flags, size) + payload, fds)

    def _fill(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            return False
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 65536, 8)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise Closed(str(e)) from e
        for fd in fds:
            os.close(fd)
        if not data:
            raise Closed('EOF')
        self.buf += data
        return True

    def recv_msg(self, timeout: float = 5.0) -> Tuple[int, int, bytes]:
        """The next message (request, flags, payload); VhostUserError on
        timeout, Closed on EOF."""
        deadline = time.monotonic() + secs(timeout)
        while True:
            if len(self.buf) >= HEADER.size:
                req, flags, size = HEADER.unpack_from(self.buf)
                if len(self.buf) >= HEADER.size + size:
                    payload = bytes(self.buf[HEADER.size:HEADER.size + size])
                    del self.buf[:HEADER.size + size]
                    return int(req), int(flags), payload
            if not self._fill(deadline):
                raise VhostUserError('no reply within %gs' % timeout)

    def reply_u64(self, request: int) -> int:
        req, flags, payload = self.recv_msg()
        if req != request or not flags & FLAG_REPLY or len(payload) != 8:
            raise VhostUserError('bad reply to %d: request %d flags %#x '
                                 'payload %r' % (request, req, flags, payload))
        return int(struct.unpack('<Q', payload)[0])

    def get_u64(self, request: int) -> int:
        self.send_msg(request)
        return self.reply_u64(request)

    def _ack_flag(self) -> int:
        return (FLAG_NEED_REPLY if self.protocol_features &
                (1 << PF_REPLY_ACK) else 0)

    def request(self, request: int, payload: bytes = b'',
                fds: Sequence[int] = (), ack: Optional[bool] = None) -> None:
        """A set-style message; with REPLY_ACK negotiated (or ack=True) it
        asks for the ack and raises VhostUserError if it is not 0."""
        want = bool(self._ack_flag()) if ack is None else ack
        self.send_msg(request, payload,
                      FLAG_VERSION | (FLAG_NEED_REPLY if want else 0),
                      fds=fds)
        if want:
            status = self.reply_u64(request)
            if status != 0:
                raise VhostUserError('request %d: ack %d' % (request, status))

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True if the backend closes the connection within timeout;
        whatever it sends before is discarded."""
        deadline = time.monotonic() + secs(timeout)
        try:
            while self._fill(deadline):
                self.buf.clear()
        except Closed:
            return True
        return False

    def is_open(self) -> bool:
        """Nothing says closed right now (a non-blocking peek)."""
        try:
            data = self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        except OSError as e:
            return e.errno not in (errno.ECONNRESET, errno.EPIPE)
        return bool(data)

    # --- start-up, step by step ----------------------------------------------

    def negotiate(self, features: Optional[int] = None,
                  protocol_features: Optional[int] = None) -> int:
        """GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM (MQ),
        SET_OWNER, SET_FEATURES.  features: what to ask for of what the
        backend offers (default: what vmwire is meant to offer); returns
        the offer."""
        offered = self.get_u64(GET_FEATURES)
        want = OFFERED_FEATURES if features is None else features
        self.features = offered & want
        if self.features & (1 << F_PROTOCOL_FEATURES):
            poffered = self.get_u64(GET_PROTOCOL_FEATURES)
            pwant = (OFFERED_PROTOCOL_FEATURES if protocol_features is None
                     else protocol_features)
            self.protocol_features = poffered & pwant
            self.send_msg(SET_PROTOCOL_FEATURES,
                          struct.pack('<Q', self.protocol_features))
            if self.protocol_features & (1 << PF_MQ):
                self.queue_num = self.get_u64(GET_QUEUE_NUM)
        self.request(SET_OWNER)
        self.request(SET_FEATURES, struct.pack('<Q', self.features))
        self.rx_mergeable = bool(self.features & (1 << F_MRG_RXBUF))
        return offered

    def mem_table_payload(self, regions: Sequence[Region]) -> bytes:
        return struct.pack('<II', len(regions), 0) + b''.join(
            struct.pack('<QQQQ', *r) for r in regions)

    def set_mem_table(self, regions: Optional[Sequence[Region]] = None,
                      fds: Optional[Sequence[int]] = None) -> None:
        """SET_MEM_TABLE: the whole memory as one region by default; fds
        default to the memfd once per region."""
        if regions is None:
            regions = [self.mem.region()]
        if fds is None:
            fds = [self.mem.fd] * len(regions)
        self.request(SET_MEM_TABLE, self.mem_table_payload(regions), fds)

    def vring_addr_payload(self, index: int, desc: int, used: int,
                           avail: int, flags: int = 0) -> bytes:
        """struct vhost_vring_addr with user addresses."""
        return struct.pack('<IIQQQQ', index, flags, desc, used, avail, 0)

    def setup_ring(self, index: int, num: Optional[int] = None,
                   base: int = 0, addrs: Optional[Tuple[int, int, int]] =
                   None, fresh: bool = True) -> None:
        """SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_KICK,
        SET_VRING_CALL for ring index.  num and addrs (desc, used, avail
        user addresses) override the ring's own.  fresh: an empty ring
        whose indexes start at base; otherwise the ring memory and this
        side's state are left as they are (a VM that goes on)."""
        ring = self.rings[index]
        if fresh:
            ring.clear()
            ring.avail_idx = ring.last_used = base
            ring.set_avail_idx(base)
        self.request(SET_VRING_NUM, struct.pack('<II', index,
                                                ring.num if num is None
                                                else num))
        self.request(SET_VRING_BASE, struct.pack('<II', index, base))
        if addrs is None:
            addrs = (self.mem.uva(ring.desc), self.mem.uva(ring.used),
                     self.mem.uva(ring.avail))
        self.request(SET_VRING_ADDR, self.vring_addr_payload(index, *addrs))
        self.request(SET_VRING_KICK, struct.pack('<Q', index),
                     [ring.kick_fd])
        self.request(SET_VRING_CALL, struct.pack('<Q', index),
                     [ring.call_fd])

    def enable(self, index: int, on: bool = True) -> None:
        self.request(SET_VRING_ENABLE, struct.pack('<II', index, int(on)))

    def get_vring_base(self, index: int) -> int:
        """GET_VRING_BASE: stops the ring; the reply's num (last avail)."""
        self.send_msg(GET_VRING_BASE, struct.pack('<II', index, 0))
        req, flags, payload = self.recv_msg()
        if req != GET_VRING_BASE or len(payload) != 8:
            raise VhostUserError('bad GET_VRING_BASE reply %r' % payload)
        return int(struct.unpack('<II', payload)[1])

    def start(self, features: Optional[int] = None) -> 'VhostUserFrontend':
        """Everything QEMU does before the guest runs: negotiate, memory
        table, both rings, enable them."""
        self.negotiate(features)
        self.set_mem_table()
        for index in (RX, TX):
            self.setup_ring(index)
        if self.features & (1 << F_PROTOCOL_FEATURES):
            for index in (RX, TX):
                self.enable(index)
        return self

    def stop_rings(self) -> Tuple[int, int]:
        """GET_VRING_BASE on RX and TX, as QEMU does when the VM stops:
        the bases (next avail index vmwire would have taken) of each."""
        return self.get_vring_base(RX), self.get_vring_base(TX)

    def resume_rings(self, bases: Tuple[int, int]) -> None:
        """Set both rings up again from bases, their memory untouched, as
        QEMU does when the VM continues."""
        for index in (RX, TX):
            self.setup_ring(index, base=bases[index], fresh=False)
        if self.features & (1 << F_PROTOCOL_FEATURES):
            for index in (RX, TX):
                self.enable(index)

    def restart_rings(self) -> None:
        """Reset both rings the way QEMU does on a VM stop/start:
        GET_VRING_BASE on each, then set them up afresh (empty)."""
        for index in (RX, TX):
            self.get_vring_base(index)
        for ring in self.rings:
            ring.free = list(range(ring.num))
            ring.chains.clear()
        self.rx_posted = 0
        for index in (RX, TX):
            self.setup_ring(index)
        if self.features & (1 << F_PROTOCOL_FEATURES):
            for index in (RX, TX):
                self.enable(index)

    # --- frames --------------------------------------------------------------

    def send_frame(self, frame: bytes, layout: str = 'single',
                   kick: bool = True) -> None:
        """One frame on TX: header and frame in one descriptor ('single',
        cut into SLOT-sized descriptors if longer), the header in its own
        ('split'), or the 'single' pieces behind an indirect descriptor
        ('indirect').  Used TX buffers are reclaimed first."""
        self.reclaim_tx()
        data = vnet_header() + frame
        if layout == 'split':
            pieces = [vnet_header()] + [frame[i:i + SLOT]
                                        for i in range(0, len(frame), SLOT)]
        else:
            pieces = [data[i:i + SLOT] for i in range(0, len(data), SLOT)]
        ring = self.rings[TX]
        old = ring.avail_idx
        head = ring.add_chain([(p, 0) for p in pieces],
                              indirect=(layout == 'indirect'))
        ring.publish(head)
        if kick:
            ring.kick_if_needed(old)

    def send_frames(self, frames: Sequence[bytes], layout: str = 'single',
                    timeout: float = 5.0) -> None:
        """Every frame, waiting for TX room when the ring is full."""
        ring = self.rings[TX]
        deadline = time.monotonic() + secs(timeout)
        for frame in frames:
            chain = (len(frame) + VNET_HDR_LEN) // SLOT + 2
            self.reclaim_tx()
            while len(ring.free) < chain:
                if not ring.wait_used(deadline):
                    raise VhostUserError('TX ring full: the backend used '
                                         'nothing for %gs' % timeout)
                self.reclaim_tx()
            self.send_frame(frame, layout)

    def reclaim_tx(self) -> int:
        """Take back what the backend used on TX; returns how many."""
        n = 0
        while self.rings[TX].pop_used() is not None:
            n += 1
        return n

    def tx_done(self, timeout: float = 5.0) -> bool:
        """Wait until the backend used every TX chain in flight."""
        ring = self.rings[TX]
        deadline = time.monotonic() + secs(timeout)
        while True:
            self.reclaim_tx()
            if not ring.chains:
                return True
            if not ring.wait_used(deadline):
                return False

    def post_rx(self, count: int, buf_size: Optional[int] = None,
                kick: bool = True) -> int:
        """Post up to count receive buffers of buf_size bytes (default
        rx_buf_size; one descriptor each, or a chain of SLOT-sized ones);
        returns how many were posted."""
        if buf_size is None:
            buf_size = self.rx_buf_size
        ring = self.rings[RX]
        old = ring.avail_idx
        pieces = (buf_size + SLOT - 1) // SLOT
        posted = 0
        while posted < count and len(ring.free) >= pieces:
            sizes = [SLOT] * (pieces - 1) + [buf_size - SLOT * (pieces - 1)]
            head = ring.add_chain([(bytes(s), DESC_WRITE) for s in sizes])
            ring.publish(head)
            posted += 1
        self.rx_posted += posted
        if kick and posted:
            ring.kick_if_needed(old)
        return posted

    def _read_chain(self, head: int, length: int) -> bytes:
        ring = self.rings[RX]
        out = b''
        i = head
        while len(out) < length:
            addr, dlen, flags, nxt = ring.read_desc(i)
            out += self.mem.read(addr, min(dlen, length - len(out)))
            if not flags & DESC_NEXT:
                break
            i = nxt
        return out

    def _pop_rx(self, deadline: float) -> Optional[bytes]:
        ring = self.rings[RX]
        if not ring.wait_used(deadline):
            return None
        head, length = ring.used_elem(ring.last_used)
        data = self._read_chain(head, length)
        ring.pop_used()
        self.rx_posted -= 1
        return data

    def recv_raw(self, timeout: float = 5.0) -> Optional[Tuple[bytes, int]]:
        """The next received frame with its virtio-net header as written
        (all its mergeable buffers joined) and how many buffers it took;
        None on timeout."""
        deadline = time.monotonic() + secs(timeout)
        first = self._pop_rx(deadline)
        if first is None:
            return None
        if len(first) < VNET_HDR_LEN:
            raise VhostUserError('RX buffer of %d bytes, shorter than the '
                                 'header' % len(first))
        num_buffers = VNET_HDR.unpack_from(first)[6] if self.rx_mergeable \
            else 1
        data = first
        for _ in range(1, num_buffers):
            more = self._pop_rx(deadline + secs(1))
            if more is None:
                raise VhostUserError('num_buffers=%d but only some buffers '
                                     'were used' % num_buffers)
            data += more
        return data, num_buffers

    def recv_frame(self, timeout: float = 5.0) -> Optional[bytes]:
        """The next frame (header stripped), or None after timeout."""
        got = self.recv_raw(timeout)
        return None if got is None else got[0][VNET_HDR_LEN:]

    def recv_frames(self, count: int, timeout: float = 5.0) -> List[bytes]:
        """Up to count frames, waiting at most timeout in all; buffers are
        posted again as they are used."""
        deadline = time.monotonic() + secs(timeout)
        got: List[bytes] = []
        while len(got) < count:
            self.post_rx(self.num)
            f = self.recv_frame(max(0.0, deadline - time.monotonic())
                                / TIMEOUT_SCALE)
            if f is None:
                break
            got.append(f)
        return got

    def recv_all(self, quiet: float = 0.5) -> List[bytes]:
        """Every frame that arrives until none came for quiet seconds."""
        got: List[bytes] = []
        while True:
            self.post_rx(self.num)
            f = self.recv_frame(quiet)
            if f is None:
                return got
            got.append(f)

    # --- the end -------------------------------------------------------------

    def close(self) -> None:
        """Close the socket (the backend sees EOF), the eventfds and the
        memory.  Idempotent."""
        if self.sock.fileno() >= 0:
            self.sock.close()
        for ring in self.rings:
            if ring.kick_fd >= 0:
                ring.close()
                ring.kick_fd = ring.call_fd = -1
        if not self.mem.mm.closed:
            self.mem.close()

    def __enter__(self) -> 'VhostUserFrontend':
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()
