"""vmwire_test.peer: a Python peer speaking QEMU's stream framing."""

import select
import socket
import time

from .frames import stream_record
from .process import TIMEOUT_SCALE


class PeerClosed(Exception):
    """The other end closed (EOF) or reset a StreamPeer's connection."""


class StreamPeer:
    """One TCP connection speaking QEMU's stream framing.

    StreamPeer(port, host='127.0.0.1') connects (host may be '::1');
    StreamPeer(sock=s) wraps a connected socket (e.g. one accepted from a
    vmwire connect=, or a unix stream socket: port is then None).  Timeouts are in seconds, scaled by
    VMWIRE_TIMEOUT_SCALE.  Attributes: sock, port (the local port), buf
    (bytes received and not yet taken as frames).
    """

    def __init__(self, port=None, host='127.0.0.1', sock=None, timeout=5.0):
        if sock is None:
            sock = socket.create_connection((host, port),
                                            timeout=timeout * TIMEOUT_SCALE)
        self.sock = sock
        if sock.family != socket.AF_UNIX:       # a unix peer has no port
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = (None if sock.family == socket.AF_UNIX
                     else self.sock.getsockname()[1])
        self.buf = bytearray()

    def send(self, data):
        """Raw bytes, framing is the caller's."""
        self.sock.sendall(data)

    def send_frames(self, frames):
        """Every frame as a record, in one send."""
        self.sock.sendall(b''.join(stream_record(f) for f in frames))

    def _fill(self, deadline):
        """Read more into buf; False on timeout; PeerClosed on EOF/reset."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.sock], [], [], left)
        if not ready:
            return False
        try:
            data = self.sock.recv(1 << 20)
        except OSError as e:
            raise PeerClosed(str(e)) from e
        if not data:
            raise PeerClosed('EOF')
        self.buf += data
        return True

    def _take(self):
        if len(self.buf) >= 4:
            size = int.from_bytes(self.buf[:4], 'big')
            if len(self.buf) >= 4 + size:
                frame = bytes(self.buf[4:4 + size])
                del self.buf[:4 + size]
                return frame
        return None

    def recv_frame(self, timeout=5.0):
        """The next frame, or None after timeout seconds."""
        return self.recv_frame_by(time.monotonic() + timeout * TIMEOUT_SCALE)

    def recv_frame_by(self, deadline):
        """The next frame, or None once time.monotonic() passes deadline."""
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            if not self._fill(deadline):
                return None

    def recv_frame_or_closed(self, timeout=5.0):
        """Like recv_frame, but 'closed' on EOF or reset."""
        try:
            return self.recv_frame(timeout)
        except PeerClosed:
            return 'closed'

    def recv_all(self, quiet=0.5):
        """Every frame that arrives until none came for quiet seconds."""
        frames = []
        while True:
            frame = self.recv_frame(quiet)
            if frame is None:
                return frames
            frames.append(frame)

    def wait_closed(self, timeout=5.0):
        """True if the other end closes within timeout seconds; whatever
        arrives before is discarded."""
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        try:
            while self._fill(deadline):
                self.buf.clear()
        except PeerClosed:
            return True
        return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
