"""hubpeers: Python stream peers on a vmwire hub, for the hub qtests.

    with HubRig(['hubid=0', 'hubid=0', 'hubid=0']) as rig:   # 3 ports
        p = rig.connect(0)          # a Peer on port p0's listener n0
        p.send_frames([eth(BROADCAST, mac(1), b'x' * 86)])
        rig.clients()['p0']['rx-frames']
        rig.q.cmd('x-query-mac-table', {'hubid': 0})

HubRig starts vmwire with, per port i, `-netdev socket,id=nI,listen=...`
and `-netdev hubport,id=pI,<opts>,netdev=nI`, plus a QMP socket (rig.q,
negotiated).  Peer speaks QEMU's stream framing (4-byte big-endian
length, then the frame).  Standard library only.
"""

import os
import socket
import time

from vmwire_test.qmp import QMP
from vmwire_test import (TIMEOUT_SCALE, PeerClosed,  # noqa: F401 (mac_str)
                         StreamPeer, Vmwire, eth_frame, free_port, mac_str,
                         tempdir)

BROADCAST = b'\xff' * 6


def secs(s):
    return s * TIMEOUT_SCALE


def mac(n):
    """A locally administered unicast MAC numbered n."""
    return bytes([0x52, 0x54, 0x00, 0xaa, 0x00, n])


def eth(dst, src, payload, ethertype=0x88b5):
    """An Ethernet frame (0x88b5: the IEEE local experimental type)."""
    return eth_frame(dst, src, ethertype, payload)


class Peer(StreamPeer):
    """One TCP connection to a vmwire listen= netdev (a StreamPeer whose
    receive buffer can be set before connecting, and whose reads return
    None, not PeerClosed, once vmwire closed it)."""

    def __init__(self, port, rcvbuf=None):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(secs(5))
        sock.connect(('127.0.0.1', port))
        super().__init__(sock=sock)

    def recv_frame(self, timeout=2.0):
        """The next frame, or None after timeout seconds (scaled) or EOF."""
        try:
            return super().recv_frame(timeout)
        except PeerClosed:
            return None

    def recv_frames(self, count, timeout=10.0):
        """Up to count frames, waiting at most timeout (scaled) in all."""
        deadline = time.monotonic() + secs(timeout)
        got = []
        while len(got) < count:
            f = self.recv_frame(max(0.0, (deadline - time.monotonic()) /
                                    TIMEOUT_SCALE))
            if f is None:
                break
            got.append(f)
        return got

    def quiet(self, timeout=0.5):
        """The frames that arrive within timeout seconds (to show none)."""
        got = []
        while True:
            f = self.recv_frame(timeout)
            if f is None:
                return got
            got.append(f)


class HubRig:
    """vmwire with one socket listener per hub port, and QMP."""

    def __init__(self, port_opts, extra=()):
        self.port_opts = port_opts
        self.extra = list(extra)
        self.ports = [free_port('tcp') for _ in port_opts]
        self.peers = []
        self._dir = None
        self.v = None
        self.q = None

    def __enter__(self):
        self._dir = tempdir('hub')
        d = self._dir.__enter__()
        qmp_path = os.path.join(d, 'qmp.sock')
        args = []
        for i, (opts, port) in enumerate(zip(self.port_opts, self.ports)):
            args += ['-netdev', 'socket,id=n%d,listen=127.0.0.1:%d'
                     % (i, port),
                     '-netdev', 'hubport,id=p%d,%s,netdev=n%d' % (i, opts, i)]
        args += self.extra + ['-qmp', 'unix:%s,server=on,wait=off'
                              % qmp_path]
        try:
            self.v = Vmwire(args).start()
            self.q = QMP.unix(qmp_path)
            self.q.negotiate()
        except BaseException:
            # Not entered: nothing (daemon, socket, directory) is left.
            self.__exit__(None, None, None)
            raise
        return self

    def connect(self, i, rcvbuf=None):
        """A Peer on port i's listener, once vmwire has accepted it."""
        peer = Peer(self.ports[i], rcvbuf)
        self.peers.append(peer)
        deadline = time.monotonic() + secs(5)
        while not self.clients()['n%d' % i]['link-up']:
            if time.monotonic() > deadline:
                raise TimeoutError('n%d never accepted its peer' % i)
            time.sleep(0.02)
        return peer

    def clients(self):
        return {c['id']: c for c in self.q.cmd('x-query-network')}

    def mac_table(self, hubid=None):
        args = {} if hubid is None else {'hubid': hubid}
        return self.q.cmd('x-query-mac-table', args)

    def hmp(self, line):
        return self.q.cmd('human-monitor-command', {'command-line': line})

    def __exit__(self, exc_type, exc, tb):
        for p in self.peers:
            p.close()
        if self.q:
            self.q.close()
        try:
            if self.v and self.v.proc:
                self.v.__exit__(exc_type, exc, tb)
        finally:
            self._dir.__exit__(exc_type, exc, tb)
        return False
