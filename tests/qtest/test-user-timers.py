#!/usr/bin/env python3
"""libslirp's TCP timers keep running while the segment is busy.

vmwire runs a hub (multi-client stream listener `vms`) with a
`-netdev user` on it and `hostfwd=tcp:127.0.0.1:P-10.0.2.15:22`.  A
Python stream peer plays the guest 10.0.2.15: it answers ARP and watches
for the TCP SYNs libslirp sends to port 22 when a host client connects
to P, and never answers them.  libslirp must then retransmit the SYN
(its retransmission timer; first after about 3 s, then backing off) and
give the connection up after 75 s.

  idle   nothing else on the segment: the SYN comes, then a
         retransmission of it (same sequence number) within 10 s.
  busy   the same while a second peer floods the hub with broadcast
         frames (the main loop wakes up every few hundred microseconds):
         the retransmission must still come.  Before the fix, vmwire
         recomputed the stack's deadline as "now + timeout" on every
         loop iteration, so on a busy loop it was never reached: no
         retransmission, no delayed ACK, and a half-open hostfwd
         connection (an fd and libslirp's buffers) held for ever.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, StreamPeer, Vmwire, arp_fields,  # noqa: E402
                         arp_frame, free_port, parse_eth)
from vmwire_test.daemon import VmwireRuns  # noqa: E402

GUEST_MAC = '52:54:00:12:34:56'
GUEST_IP = '10.0.2.15'
WAIT = 10.0             # seconds to wait for the retransmission


def syn_seq(frame):
    """The sequence number of a TCP SYN to port 22 in frame, else None."""
    parsed = parse_eth(frame)
    if parsed is None or parsed[3] != 0x0800:
        return None
    ip = parsed[4]
    if len(ip) < 20 or ip[9] != 6:
        return None
    tcp = ip[(ip[0] & 0x0f) * 4:]
    if len(tcp) < 20 or int.from_bytes(tcp[2:4], 'big') != 22:
        return None
    flags = tcp[13]
    if not flags & 0x02 or flags & 0x10:
        return None
    return int.from_bytes(tcp[4:8], 'big')


def flood(port, stop):
    """Broadcast frames into the hub until stop is set."""
    frame = b'\xff' * 6 + bytes.fromhex('525400990001') + b'\x88\xb5' + \
        b'\0' * 100
    record = len(frame).to_bytes(4, 'big') + frame
    with StreamPeer(port) as p:
        p.sock.setblocking(False)
        while not stop.is_set():
            try:
                p.sock.send(record * 16)
            except BlockingIOError:
                pass
            try:       # read what comes back, so the hub keeps sending
                while p.sock.recv(1 << 16):
                    pass
            except BlockingIOError:
                pass
            time.sleep(0.001)


def vmwire_args(port, fwd):
    return ['-netdev', 'stream,id=vms,server=on,hubid=0,addr.type=inet,'
            'addr.host=127.0.0.1,addr.port=%d' % port,
            '-netdev', 'user,id=u0,hostfwd=tcp:127.0.0.1:%d-%s:22'
            % (fwd, GUEST_IP),
            '-netdev', 'hubport,id=hu0,hubid=0,netdev=u0']


def scenario(t, name, busy, port, fwd):
    stop = threading.Event()
    flooder = None
    try:
        with StreamPeer(port) as guest:
            if busy:
                flooder = threading.Thread(target=flood,
                                           args=(port, stop))
                flooder.start()
                time.sleep(0.5)
            host = socket.socket()
            host.setblocking(False)
            host.connect_ex(('127.0.0.1', fwd))
            syns = []
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline and len(syns) < 2:
                frame = guest.recv_frame_by(deadline)
                if frame is None:
                    break
                arp = arp_fields(frame)
                if arp and arp[0] == 1 and arp[4] == GUEST_IP:
                    guest.send_frames([arp_frame(
                        2, GUEST_MAC, GUEST_IP, arp[1], arp[2])])
                    continue
                seq = syn_seq(frame)
                if seq is not None:
                    syns.append((time.monotonic(), seq))
            host.close()
            t.ok(len(syns) >= 1, '%s: the host client makes libslirp '
                 'send a SYN to the guest' % name)
            t.ok(len(syns) >= 2 and syns[1][1] == syns[0][1],
                 '%s: libslirp retransmits the unanswered SYN within '
                 '%g s (its TCP timers run)%s' % (
                     name, WAIT, ' after %.1f s' % (syns[1][0] - syns[0][0])
                     if len(syns) >= 2 else ''),
                 diag='SYNs seen: %r' % syns)
    finally:
        stop.set()
        if flooder is not None:
            flooder.join()


def main():
    with TAP() as t:
        runs = VmwireRuns()
        for name, busy in (('idle', False), ('busy', True)):
            port, fwd = free_port(), free_port()
            with t.scenario(name), Vmwire(vmwire_args(port, fwd)) as v:
                try:
                    scenario(t, name, busy, port, fwd)
                finally:
                    runs.record(name, v)
        runs.check(t, 2)


if __name__ == '__main__':
    main()
