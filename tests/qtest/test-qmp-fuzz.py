#!/usr/bin/env python3
"""Hostile QMP clients: vmwire stays up, answers, and stays small.

Each scenario below gets a vmwire of its own (so one failing scenario does
not cascade), with a unix and a TCP QMP monitor (and a netdev with a
nic-stub, whose link set_link can flap to make events).  Clients send:

  * seeded random bytes (the seed is printed; VMWIRE_FUZZ_SEED=N repeats
    a run), on fresh and on negotiated connections;
  * valid requests mutated at random (bytes flipped, cut, doubled,
    structural characters inserted), resynchronised now and then with
    0xFF as QEMU's spec advises: every resync request is answered;
  * nesting 100000 deep, closed and unclosed;
  * a 50 MB string, inside a request and on its own;
  * 20000 requests pipelined (read concurrently), 5000 pipelined before
    reading anything, and 100000 from a client that stops reading for a
    while: its requests wait (flow control), nobody else does, and every
    reply arrives in order once it reads again;
  * half a request then a disconnect, or silence; 70 connections at once
    (64 are served, the rest closed);
  * a negotiated client that never reads while events pour in: it is cut
    off past 4 MiB of backlog, with one log line.

After each, the process is alive and a fresh connection gets query-version
answered; its RSS stays within a bound and its fd count comes back (the
last result: for every scenario's vmwire).  At the end of each scenario
SIGTERM must give exit status 0 and the log no sanitizer report.
"""

import json
import os
import random
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, TIMEOUT_SCALE, Vmwire, free_port,  # noqa: E402
                         rss_kib, tempdir)
from vmwire_test.qmp import QMP, QMPClosed, QMPError, error_of  # noqa: E402

UNDER_WRAPPER = bool(os.environ.get('VMWIRE_WRAPPER'))
SCALE = 10 if UNDER_WRAPPER else 1      # fewer rounds under valgrind
RSS_GROWTH_LIMIT_KB = 96 * 1024         # ASan's quarantine included

VALID = [
    {'execute': 'qmp_capabilities'},
    {'execute': 'query-version', 'id': 1},
    {'execute': 'query-commands', 'id': 'x'},
    {'execute': 'getfd', 'arguments': {'fdname': 'f'}, 'id': [1, 2]},
    {'execute': 'closefd', 'arguments': {'fdname': 'f'}},
    {'execute': 'set_link', 'arguments': {'name': 'nosuch', 'up': True}},
    {'execute': 'netdev_del', 'arguments': {'id': 'nosuch'}, 'id': None},
    {'execute': 'x-query-network', 'id': {'a': 'b'}},
    {'execute': 'human-monitor-command',
     'arguments': {'command-line': 'info network'}},
]


def send_in_background(q, data):
    """A thread that writes data to q's socket while this one reads
    replies.  It writes through a dup of the socket with its own long
    timeout: QMP's reads set the socket object's timeout, and a blocked
    sendall() on the same object would inherit a reader's short one and
    give up.  Not None: the dup shares the file's O_NONBLOCK with the
    reader's object, so only a timeout (poll, then send) copes with it."""
    out = q.sock.dup()
    out.settimeout(secs(120))

    def send():
        with out:
            out.sendall(data)
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender


def secs(s):
    return s * TIMEOUT_SCALE


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


class Drain(threading.Thread):
    """Reads and counts everything vmwire sends on a socket until EOF."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.data = bytearray()
        self.keep = True
        self.start()

    def run(self):
        try:
            while True:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    return
                if self.keep:
                    self.data += chunk
        except OSError:
            return


def unix_sock(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def sync(q, tag, timeout=30):
    """Resynchronise with 0xFF and check a request is answered."""
    q.send_raw(b'\xff{"execute": "query-version", "id": "%s"}' % tag.encode())
    r = q.wait_reply(tag, timeout)
    return 'return' in r


class Fuzz:
    def __init__(self, t, v, d, tcp_port):
        self.t = t
        self.v = v
        self.path = os.path.join(d, 'qmp.sock')
        self.tcp_port = tcp_port
        self.pid = v.proc.pid
        self.rss0 = rss_kib(self.pid)
        self.fds0 = open_fds(self.pid)

    def still_fine(self, what):
        """vmwire runs, and a new client is served."""
        alive = self.v.proc.poll() is None
        answered = False
        err = ''
        if alive:
            try:
                with QMP.unix(self.path) as q:
                    q.negotiate()
                    answered = 'return' in q.execute('query-version',
                                                     timeout=30)
            except (OSError, QMPError) as e:
                err = str(e)
        rss = rss_kib(self.pid) if alive else 0
        self.t.ok(alive and answered and
                  rss - self.rss0 < RSS_GROWTH_LIMIT_KB,
                  'after %s: vmwire is up and answers a new client' % what,
                  diag='alive=%s answered=%s %s rss %d kB (started at %d)'
                  % (alive, answered, err, rss, self.rss0))

    def fds_back(self, what):
        deadline = time.monotonic() + secs(10)
        while open_fds(self.pid) > self.fds0 and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        n = open_fds(self.pid)
        self.t.ok(n <= self.fds0, '%s: no fd left behind' % what,
                  diag='%d fds at start, %d now' % (self.fds0, n))

    def random_bytes(self, seed):
        rng = random.Random(seed)
        for i in range(40 // SCALE + 2):
            s = unix_sock(self.path)
            drain = Drain(s)
            drain.keep = False
            try:
                if i % 2:
                    s.sendall(b'{"execute": "qmp_capabilities"}')
                for _ in range(16):
                    s.sendall(bytes(rng.getrandbits(8)
                                    for _ in range(rng.randint(1, 4096))))
            except OSError:
                pass
            try:
                s.shutdown(socket.SHUT_RDWR)    # also wakes the reader up
            except OSError:
                pass
            drain.join(secs(10))
            s.close()
        self.still_fine('%d connections of random bytes (seed %d)'
                        % (40 // SCALE + 2, seed))

    def mutated(self, seed):
        rng = random.Random(seed)
        synced = 0
        rounds = 20 // SCALE + 2
        with QMP.unix(self.path) as q:
            q.negotiate()
            for r in range(rounds):
                for _ in range(100):
                    b = bytearray(json.dumps(rng.choice(VALID)).encode())
                    for _ in range(rng.randint(1, 4)):
                        op = rng.randrange(5)
                        pos = rng.randrange(len(b) + 1)
                        if op == 0 and b:
                            b[min(pos, len(b) - 1)] = rng.getrandbits(8)
                        elif op == 1:
                            del b[pos:pos + rng.randint(1, 8)]
                        elif op == 2:
                            b[pos:pos] = rng.choice(
                                [b'{', b'}', b'[', b']', b'"', b'\\', b',',
                                 b':', b"'", b'\\u00', b'\x00', b'\n'])
                        elif op == 3:
                            b += b[:pos]
                        else:
                            b = b[:pos]
                    q.send_raw(bytes(b))
                synced += sync(q, 'sync%d' % r)
        self.t.ok(synced == rounds, '%d mutated requests (seed %d): after '
                  'each 100, 0xFF and a request get an answer'
                  % (rounds * 100, seed),
                  diag='%d of %d resyncs answered' % (synced, rounds))
        self.still_fine('mutated requests')

    def deep(self):
        with QMP.unix(self.path) as q:
            q.negotiate()
            q.send_raw(b'[' * 100000 + b']' * 100000)
            q.send_raw(b'{"execute": "query-version", "id": "d"}')
            r = q.recv_reply(30)
            r2 = q.recv_reply(30)
            self.t.ok(error_of(r) == ('GenericError', 'JSON nesting depth '
                                      'limit exceeded') and
                      r2.get('id') == 'd',
                      '100000 nested arrays: one error, then the next '
                      'request is answered', diag=(r, r2))
        s = unix_sock(self.path)
        s.sendall(b'{"a": ' * 50000 + b'[' * 50000)
        s.close()
        self.still_fine('100000 levels never closed, then a disconnect')

    def huge(self):
        size = 50 * 1000 * 1000
        chunk = b'A' * (1 << 20)
        with QMP.unix(self.path) as q:
            q.negotiate()
            before = rss_kib(self.pid)
            q.send_raw(b'{"execute": "query-version", "id": "')
            for _ in range(size // len(chunk)):
                q.send_raw(chunk)
            q.send_raw(b'"}{"execute": "query-version", "id": "h"}')
            r = q.recv_reply(60)
            r2 = q.recv_reply(60)
            grown = rss_kib(self.pid) - before
            self.t.ok(error_of(r) == ('GenericError', 'JSON token size '
                                      'limit exceeded') and
                      r2.get('id') == 'h' and not q.stray,
                      'a 50 MB string in a request: one error, then the next '
                      'request is answered', diag=(r, r2, q.stray))
            self.t.ok(grown < 32 * 1024, 'and vmwire did not buffer it '
                      '(RSS grew %d kB)' % grown)
            q.send_raw(b'"')
            for _ in range(size // len(chunk)):
                q.send_raw(chunk)
            q.send_raw(b'" {"execute": "query-version", "id": "h2"}')
            r = q.recv_reply(60)
            r2 = q.recv_reply(60)
            self.t.ok(error_of(r) is not None and r2.get('id') == 'h2',
                      'a 50 MB string on its own: one error, then in step',
                      diag=(r, r2))
        self.still_fine('50 MB strings')

    def pipelined(self):
        n = 20000 // SCALE
        with QMP.unix(self.path) as q:
            q.negotiate()
            data = b''.join(b'{"execute": "query-version", "id": %d}' % i
                            for i in range(n))
            sender = send_in_background(q, data)
            ids = [q.recv_reply(30).get('id') for _ in range(n)]
            sender.join(secs(30))
            self.t.ok(ids == list(range(n)), '%d requests pipelined: every '
                      'reply, in order' % n)
            m = 5000 // SCALE
            q.send_raw(b''.join(b'{"execute": "query-version", "id": %d}'
                                % i for i in range(m)))
            ids = [q.recv_reply(30).get('id') for _ in range(m)]
            self.t.ok(ids == list(range(m)), '%d requests sent before reading '
                      'any reply: every reply, in order' % m)
        self.still_fine('pipelining')

    def stalled_reader(self):
        """A client that stops reading is slowed down, not anyone else."""
        n = 100000 // SCALE
        data = b''.join(b'{"execute": "query-version", "id": %d}' % i
                        for i in range(n))
        with QMP.unix(self.path) as q:
            q.negotiate()
            sender = send_in_background(q, data)
            time.sleep(1.0)
            t0 = time.monotonic()
            with QMP.tcp('127.0.0.1', self.tcp_port) as other:
                other.negotiate()
                ok = 'return' in other.execute('query-version')
            took = time.monotonic() - t0
            rss = rss_kib(self.pid) - self.rss0
            self.t.ok(ok and took < secs(5),
                      'while a client stalls with replies pending, another '
                      'is served at once (%.2fs)' % took)
            self.t.ok(rss < RSS_GROWTH_LIMIT_KB, 'and vmwire\'s memory stays '
                      'bounded (RSS +%d kB)' % rss)
            ids = []
            try:
                ids = [q.recv_reply(60).get('id') for _ in range(n)]
            except QMPError as e:
                ids.append(str(e))
            sender.join(secs(60))
            self.t.ok(ids == list(range(n)), 'when it reads again, all %d '
                      'replies arrive, in order (not disconnected)' % n,
                      diag=ids[-3:])
        self.still_fine('a stalled reader')

    def half_requests(self):
        for i in range(200 // SCALE):
            s = unix_sock(self.path)
            s.sendall(b'{"execute": "qmp_capabilities"}{"execute": "query-'
                      b'version", "arguments": {"a": "' + b'x' * (i * 97))
            s.close()
        silent = unix_sock(self.path)
        silent.sendall(b'{"execute": "qmp_cap')
        self.still_fine('200 clients leaving mid-request (and one silent)')
        silent.close()
        self.fds_back('clients leaving mid-request')

    def many_clients(self):
        self.fds_back('before 70 clients at once')
        socks = []
        greeted = closed = 0
        try:
            for _ in range(70):
                socks.append(unix_sock(self.path))
            for s in socks:
                s.settimeout(secs(5))
                try:
                    data = s.recv(4096)
                except (socket.timeout, ConnectionResetError):
                    data = b''
                if data.startswith(b'{"QMP"'):
                    greeted += 1
                elif data == b'':
                    closed += 1
        finally:
            for s in socks:
                s.close()
        self.t.ok(greeted == 64 and closed == 6,
                  '70 clients at once: 64 served, 6 closed at once',
                  diag='%d greeted, %d closed' % (greeted, closed))
        m = self.v.wait_log(r'already 64 clients: connection refused', 5)
        self.t.ok(m is not None, 'the refusals are logged')
        self.fds_back('70 clients at once')
        self.still_fine('70 clients at once')

    def event_flood(self):
        """A negotiated client that never reads while events pour in."""
        slow = unix_sock(self.path)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b'{"execute": "qmp_capabilities"}')
        since = len(self.v.log())
        cut = None
        flaps = 0
        with QMP.tcp('127.0.0.1', self.tcp_port) as q:
            q.negotiate()
            r = q.execute('set_link', {'name': 'n0', 'up': False})
            if 'return' not in r:
                self.t.ok(False, 'set_link makes events to flood a slow '
                          'client with', diag=r)
                slow.close()
                return
            deadline = time.monotonic() + secs(60)
            while cut is None and time.monotonic() < deadline:
                batch = b''.join(
                    b'{"execute": "set_link", "arguments": {"name": "n0", '
                    b'"up": %s}}' % (b'true' if i % 2 else b'false')
                    for i in range(200))
                q.send_raw(batch)
                for _ in range(200):
                    q.recv_reply(30)
                flaps += 200
                q.events.clear()
                cut = self.v.wait_log(r'client does not read its replies and '
                                      r'events.*disconnected', 0, since)
            q.execute('set_link', {'name': 'n0', 'up': True})
        self.t.ok(cut is not None, 'a client that never reads is cut off '
                  'once 4 MiB of events wait (%d set_link)' % flaps,
                  diag=self.v.log()[since:][-2000:])
        got = 0
        ended = False
        slow.settimeout(secs(10))
        try:
            while True:
                chunk = slow.recv(1 << 16)
                if not chunk:
                    ended = True
                    break
                got += len(chunk)
        except ConnectionResetError:
            ended = True
        except socket.timeout:
            pass
        slow.close()
        self.t.ok(ended, 'its connection is closed (%d bytes of it were '
                  'still on the way)' % got)
        self.still_fine('an event flood to a client that does not read')


def scenarios(seed):
    """(name, fn(f)): each runs on a vmwire of its own."""
    return [
        ('random bytes', lambda f: f.random_bytes(seed)),
        ('mutated requests', lambda f: f.mutated(seed + 1)),
        ('deep nesting', Fuzz.deep),
        ('huge strings', Fuzz.huge),
        ('pipelining', Fuzz.pipelined),
        ('stalled reader', Fuzz.stalled_reader),
        ('half requests', Fuzz.half_requests),
        ('many clients', Fuzz.many_clients),
        ('event flood', Fuzz.event_flood),
    ]


def fds_left(f):
    """Wait (bounded) until f's vmwire holds no more fds than at its
    start; the fds it holds beyond that (0 if none)."""
    deadline = time.monotonic() + secs(10)
    while open_fds(f.pid) > f.fds0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return max(0, open_fds(f.pid) - f.fds0)


def main():
    seed = int(os.environ.get('VMWIRE_FUZZ_SEED') or time.time_ns() % 10**9)
    with TAP() as t:
        t.diag('seed %d (VMWIRE_FUZZ_SEED=%d repeats this run)' % (seed, seed))
        # ASan keeps freed memory in quarantine (256 MB by default), which
        # would hide what vmwire itself holds: keep it small here.
        env = dict(os.environ)
        env['ASAN_OPTIONS'] = ':'.join(filter(None, [
            env.get('ASAN_OPTIONS'), 'quarantine_size_mb=8']))
        left = []               # (scenario, fds left behind) per vmwire
        for name, fn in scenarios(seed):
            with t.scenario(name), tempdir('qmpfuzz') as d:
                tcp_port = free_port()
                net_port = free_port()
                args = ['-qmp', 'unix:%s/qmp.sock,server=on,wait=off' % d,
                        '-qmp', 'tcp:127.0.0.1:%d,server=on,wait=off'
                        % tcp_port,
                        '-netdev', 'socket,id=n0,listen=127.0.0.1:%d'
                        % net_port,
                        '-device', 'nic-stub,id=s0,netdev=n0,'
                        'ip=10.0.2.100/24']
                with Vmwire(args, env=env) as v:
                    f = Fuzz(t, v, d, tcp_port)
                    fn(f)
                    left.append((name, fds_left(f)))
        t.ok(len(left) == len(scenarios(seed)) and
             not any(n for _, n in left),
             'the whole run: no fd left behind',
             diag='\n'.join('%s: %d fds left' % run for run in left))


if __name__ == '__main__':
    main()
