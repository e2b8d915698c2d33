"""vmwire_test.qmp: a small QMP client for vmwire's real-binary tests
(stdlib only).

    with QMP.unix(path) as q:           # or QMP.tcp(host, port)
        q.greeting                      # the greeting, parsed
        q.negotiate()                   # qmp_capabilities
        q.execute('query-version', id=7)   # the whole reply: {"return": ..}
        q.cmd('getfd', {'fdname': 'f'}, fds=[fd])   # the return value, or
                                        # QMPError with the error reply
        q.wait_event('NETDEV_STREAM_CONNECTED', timeout=5)

Messages are cut from the stream with json.JSONDecoder.raw_decode, so both
the compact and the pretty layout are read.  Events seen while waiting for
a reply are kept in q.events (in order); execute() matches replies by id
(a fresh one unless given) so stray replies (to raw bytes sent by a test)
are kept in q.stray.  send_raw() sends bytes as they are, with optional
SCM_RIGHTS fds.  Every wait has a timeout (scaled by $VMWIRE_TIMEOUT_SCALE
through vmwire_test.TIMEOUT_SCALE).  qemu_info_network() trims vmwire's
extra lines from `info network` so it compares with QEMU 7.2's.
"""

import codecs
import itertools
import json
import re
import socket
import time

from .process import TIMEOUT_SCALE


class QMPError(Exception):
    """A command failed (.reply is the reply) or the connection broke."""

    def __init__(self, msg, reply=None):
        super().__init__(msg)
        self.reply = reply


class QMPClosed(QMPError):
    """vmwire closed the connection."""


class QMPTimeout(QMPError):
    """Nothing (or not the awaited message) arrived in time."""


_ids = itertools.count(1)


class QMP:
    """One QMP connection; a context manager that closes it."""

    def __init__(self, sock, read_greeting=True, timeout=10.0):
        self.sock = sock
        self.timeout = timeout
        self.text = ''          # received, decoded; self.pos: parsed so far
        self.pos = 0
        self._utf8 = codecs.getincrementaldecoder('utf-8')('replace')
        self.events = []
        self.stray = []
        self._decoder = json.JSONDecoder()
        self.greeting = self.recv(timeout) if read_greeting else None

    @classmethod
    def unix(cls, path, **kw):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            s.close()
            raise
        return cls(s, **kw)

    @classmethod
    def tcp(cls, host, port, **kw):
        s = socket.create_connection((host, port),
                                     timeout=10.0 * TIMEOUT_SCALE)
        return cls(s, **kw)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # --- bytes ---------------------------------------------------------------

    def send_raw(self, data, fds=()):
        if isinstance(data, str):
            data = data.encode()
        if fds:
            sent = socket.send_fds(self.sock, [data], list(fds))
            if sent < len(data):
                self.sock.sendall(data[sent:])
        else:
            self.sock.sendall(data)

    def _fill(self, deadline):
        """Read more bytes; False on timeout.  QMPClosed on EOF."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return False
        except ConnectionResetError as e:
            raise QMPClosed('connection reset: %s' % e) from e
        if not data:
            raise QMPClosed('vmwire closed the connection')
        if self.pos > 65536:
            self.text = self.text[self.pos:]
            self.pos = 0
        self.text += self._utf8.decode(data)
        return True

    _BLANK = re.compile(r'\s*')

    def _parse_one(self):
        """One message from the buffer, or None if none is complete."""
        self.pos = self._BLANK.match(self.text, self.pos).end()
        if self.pos == len(self.text):
            return None
        try:
            msg, end = self._decoder.raw_decode(self.text, self.pos)
        except ValueError:
            return None         # incomplete (complete ones always parse)
        self.pos = end
        return msg

    def pending_text(self):
        """Received and not parsed yet."""
        return self.text[self.pos:]

    def recv(self, timeout=None):
        """The next message (reply or event), raw."""
        deadline = time.monotonic() + (timeout or self.timeout) * TIMEOUT_SCALE
        while True:
            msg = self._parse_one()
            if msg is not None:
                return msg
            if not self._fill(deadline):
                raise QMPTimeout('no message within %ss (buffered: %r)'
                                 % (timeout or self.timeout,
                                    self.pending_text()[:200]))

    def recv_reply(self, timeout=None):
        """The next message that is not an event (events go to .events)."""
        while True:
            msg = self.recv(timeout)
            if 'event' in msg:
                self.events.append(msg)
            else:
                return msg

    # --- commands ------------------------------------------------------------

    def request(self, cmd, args=None, id=None):
        req = {'execute': cmd}
        if args is not None:
            req['arguments'] = args
        if id is not None:
            req['id'] = id
        return req

    def execute(self, cmd, args=None, id=None, fds=(), timeout=None):
        """Send one request and return its whole reply (matched by id)."""
        if id is None:
            id = 'auto-%d' % next(_ids)
        self.send_raw(json.dumps(self.request(cmd, args, id)), fds)
        return self.wait_reply(id, timeout)

    def wait_reply(self, id, timeout=None):
        while True:
            msg = self.recv_reply(timeout)
            if msg.get('id') == id and ('return' in msg or 'error' in msg):
                return msg
            self.stray.append(msg)

    def cmd(self, cmd, args=None, fds=(), timeout=None):
        """The return value of a command; QMPError if it failed."""
        reply = self.execute(cmd, args, fds=fds, timeout=timeout)
        if 'return' not in reply:
            raise QMPError('%s %r failed: %r' % (cmd, args, reply), reply)
        return reply['return']

    def negotiate(self):
        return self.cmd('qmp_capabilities')

    def wait_event(self, name, timeout=10.0):
        """The first event called name (seen before or arriving now)."""
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while True:
            for i, ev in enumerate(self.events):
                if ev.get('event') == name:
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout('no event %s within %ss' % (name, timeout))
            try:
                msg = self.recv(left / TIMEOUT_SCALE)
            except QMPTimeout:
                continue
            if 'event' in msg:
                self.events.append(msg)
            else:
                self.stray.append(msg)


def error_of(reply):
    """(class, desc) of an error reply, or None for a success."""
    err = reply.get('error') if isinstance(reply, dict) else None
    return (err.get('class'), err.get('desc')) if err else None


def qemu_info_network(text):
    """`info network` text as QEMU 7.2 prints it: vmwire's extra
    "  counters ID: ..." line under each client left out."""
    return ''.join(ln for ln in text.splitlines(keepends=True)
                   if not ln.startswith('  counters '))
