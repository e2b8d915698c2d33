#!/usr/bin/env python3
"""DHCP on a `-netdev user` once every lease is taken (F7).

libslirp 4.7 hands out 16 leases and never takes one back; once they are
taken it answers a DISCOVER from another MAC with nothing, but keeps the
reply's buffer (about 1.6 KB) until the stack goes.  A guest sending
DISCOVERs from ever new MACs grew vmwire without bound (the chaos soak
found it: +64 MB for 40,000 DISCOVERs).  vmwire now drops such
DISCOVERs itself once libslirp has left one unanswered.

vmwire runs a hub with a `-netdev user` on it; a Python stream peer
sends DHCP DISCOVERs:

  - from 16 MACs: each gets an OFFER, for its own MAC;
  - from a 17th: no OFFER (as with libslirp alone), and vmwire logs
    once that every address is leased;
  - from 20,000 more MACs: vmwire's RSS grows by less than 4 MiB, and
    the user netdev counts them as dropped-malformed;
  - from one of the first 16 again: it still gets its OFFER.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, StreamPeer, Vmwire, free_port,  # noqa: E402
                         inet_checksum, rss_kib, tempdir)
from vmwire_test.daemon import check_vmwire_exit  # noqa: E402
from vmwire_test.qmp import QMP  # noqa: E402

LEASES = 16
FLOOD = 20000


def mac(n):
    return bytes([0x52, 0x54, 0x07, (n >> 16) & 0xff, (n >> 8) & 0xff,
                  n & 0xff])


def discover(client, xid):
    bootp = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, xid, 0,
                        0x8000, bytes(4), bytes(4), bytes(4), bytes(4),
                        client + bytes(10), bytes(64), bytes(128))
    bootp += b'\x63\x82\x53\x63' + b'\x35\x01\x01' + b'\xff'
    udp = struct.pack('!HHHH', 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17,
                     0, bytes(4), b'\xff' * 4)
    ip = ip[:10] + struct.pack('!H', inet_checksum(ip)) + ip[12:]
    return b'\xff' * 6 + client + b'\x08\x00' + ip + udp


def offer_for(frame):
    """The client MAC of a DHCP OFFER in frame, else None."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b'\x08\x00':
        return None
    ip = frame[14:]
    udp = ip[(ip[0] & 0x0f) * 4:]
    bootp = udp[8:]
    if udp[0:4] != b'\x00\x43\x00\x44' or b'\x35\x01\x02' not in bootp[240:]:
        return None
    return bootp[28:34]


def offers(peer, quiet=1.0):
    """Client MACs of the OFFERs that arrive until quiet seconds pass."""
    return [m for m in (offer_for(f) for f in peer.recv_all(quiet)) if m]


def main():
    with TAP() as t:
        port = free_port()
        d_args = ['-netdev', 'stream,id=vms,server=on,hubid=0,'
                  'addr.type=inet,addr.host=127.0.0.1,addr.port=%d' % port,
                  '-netdev', 'user,id=u0',
                  '-netdev', 'hubport,id=hu0,hubid=0,netdev=u0']
        with tempdir('leases') as d, \
                Vmwire(d_args + ['-qmp', 'unix:%s,server=on,wait=off' % (
                    os.path.join(d, 'qmp.sock'))]) as v, \
                StreamPeer(port) as peer:
            qmp_path = os.path.join(d, 'qmp.sock')
            got = []
            for n in range(LEASES):
                peer.send_frames([discover(mac(n), n)])
                got += offers(peer, 0.3)
            t.ok(sorted(got) == sorted(mac(n) for n in range(LEASES)),
                 'DISCOVERs from %d MACs: each gets an OFFER for its own MAC'
                 % LEASES, diag=lambda: repr(got))
            peer.send_frames([discover(mac(LEASES), LEASES)])
            t.ok(offers(peer) == [], 'the %dth MAC gets no OFFER' %
                 (LEASES + 1))
            t.ok(v.wait_log(r'DHCP: all 16 addresses are leased', 5),
                 'vmwire logs that every address is leased', diag=v.log)

            rss0 = rss_kib(v.proc.pid)
            for base in range(0, FLOOD, 1000):
                peer.send_frames([discover(mac(1000 + base + i), i)
                                  for i in range(1000)])
                peer.recv_all(0.05)
            time.sleep(1)
            peer.recv_all(0.5)
            grown = rss_kib(v.proc.pid) - rss0
            t.ok(grown < 4096, 'DISCOVERs from %d more MACs: RSS +%d KiB '
                 '(libslirp alone kept about 1.6 KB each)' % (FLOOD, grown))
            with QMP.unix(qmp_path) as q:
                q.negotiate()
                u0 = {c['id']: c for c in q.cmd('x-query-network')}['u0']
            t.ok(u0['dropped-malformed'] >= FLOOD,
                 'u0 counts them as dropped-malformed (%d)'
                 % u0['dropped-malformed'], diag=repr(u0))
            t.ok(v.log().count('addresses are leased') == 1,
                 'the log line comes once')

            peer.send_frames([discover(mac(3), 99)])
            t.ok(offers(peer) == [mac(3)], 'a MAC that has a lease still '
                 'gets its OFFER')
            check_vmwire_exit(t, 'vmwire', v)


if __name__ == '__main__':
    main()
