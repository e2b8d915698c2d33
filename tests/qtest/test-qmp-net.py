#!/usr/bin/env python3
"""The net and device QMP commands and events, through a real QMP socket.

Each scenario below gets a vmwire of its own (so one failing scenario does
not cascade) with `-qmp unix:PATH,server=on,wait=off` and one command-line
netdev, and Python speaks QMP to it, and QEMU's stream framing (4-byte
big-endian length, then the frame) to its sockets:

  commands   netdev_add / device_add build a listener and a nic-stub; a
             Python peer connects and sends ARP requests: replies come
             back, x-query-network's counters move, x-nic-stub-stats
             counts, x-nic-stub-read returns the frames (oldest first, at
             most 64 kept), x-nic-stub-inject reaches the peer; set_link
             takes both peers down and up.  `info network` through
             human-monitor-command has QEMU 7.2's text; unknown HMP
             commands get QEMU's "unknown command" text.
  errors     every command's error paths, with QEMU's class and words
             (DeviceNotFound for unknown ids, "Duplicate device ID", ...).
  events     NETDEV_STREAM_CONNECTED {netdev-id, addr} and
             NETDEV_STREAM_DISCONNECTED for listen= and connect=, and
             NETDEV_LINK_CHANGED once per client whose link changed.
  teardown   netdev_del while a peer floods (reading, and not reading):
             the peer is cut off, the NIC's link goes down, the netdev
             leaves x-query-network, vmwire goes on; device_del under a
             flood leaves the netdev up, and a new nic-stub on it answers
             at once.
  parity     the same option strings on `vmwire -netdev` and netdev_add
             (all values strings): accepted or refused alike, with the same
             message, except where QEMU 7.2's own two paths differ:
               unknown member  "Invalid parameter 'x'"  (command line)
                               "Parameter 'x' is unexpected"  (QMP)
               taken id        "Duplicate ID 'x' for netdev"  (command line)
                               "Duplicate ID 'x'"  (QMP)
               fd=NAME         "Invalid file descriptor number 'abc'"
                               "File descriptor named 'abc' has not been
                               found"  (QMP looks names up with getfd)

At the end of each, only the command-line netdev is left, and SIGTERM
must give exit status 0 and the log no sanitizer report (checked for
every scenario's vmwire at the end, vmwire_test.VmwireRuns).
"""

import base64
import json
import os
import re
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP, QMPTimeout, error_of  # noqa: E402
from vmwire_test import (SANITIZER_REPORT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         PeerClosed, StreamPeer, Vmwire, VmwireError,
                         VmwireRuns,
                         arp_frame, eth_frame, free_port, stream_record,
                         tempdir)
from vmwire_test import qemu_info_network  # noqa: E402

NET_BUFSIZE = 4096 + 65536
CAPTURE_FRAMES = 64

STUB_MAC = bytes.fromhex('525400001001')
STUB_MAC_STR = '52:54:00:00:10:01'
STUB_IP = socket.inet_aton('10.0.2.100')
PEER_MAC = bytes.fromhex('525400aa0001')
PEER_IP = socket.inet_aton('10.0.2.15')


def secs(s):
    """A timeout, stretched under a wrapper such as valgrind."""
    return s * TIMEOUT_SCALE


# --- QMP ---------------------------------------------------------------------

class NetQMP(QMP):
    """qmp.QMP plus event helpers: pump, take_events, wait_for."""

    def pump(self, timeout):
        """Collect the events that arrive within timeout seconds (scaled)."""
        deadline = time.monotonic() + secs(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                msg = self.recv(left / TIMEOUT_SCALE)
            except QMPTimeout:
                return
            (self.events if 'event' in msg else self.stray).append(msg)

    def take_events(self, name=None, settle=0.3):
        """The events (called name) seen so far or within settle seconds;
        removed from the list."""
        self.pump(settle)
        got = [e for e in self.events if name is None or e['event'] == name]
        self.events = [e for e in self.events if e not in got]
        return got

    def wait_for(self, name, data=None, timeout=5.0):
        """The first event called name whose data includes data (a dict),
        removed from the list; None on timeout."""
        deadline = time.monotonic() + secs(timeout)
        while True:
            for e in self.events:
                if e['event'] == name and all(
                        e.get('data', {}).get(k) == v
                        for k, v in (data or {}).items()):
                    self.events.remove(e)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.pump(min(left / TIMEOUT_SCALE, 0.1))


# --- frames ------------------------------------------------------------------

def seq_ip(seq):
    """The peer's sender address for request seq: every one distinct."""
    return PEER_IP[:2] + (0x0f00 + (seq % 200)).to_bytes(2, 'big')


def arp_request(seq=0, target_ip=STUB_IP):
    """An ARP request for the stub; seq goes in the sender's address, so
    every request is distinct."""
    return arp_frame(1, PEER_MAC, seq_ip(seq), None, target_ip)


def arp_reply(seq=0):
    """The stub's reply to arp_request(seq), byte for byte."""
    return arp_frame(2, STUB_MAC, STUB_IP, PEER_MAC, seq_ip(seq))


def b64(data):
    return base64.b64encode(data).decode()


class Flooder:
    """Sends ARP requests as fast as the socket takes them (whole records
    only) until stopped or cut off.  With read=True a second thread reads
    and discards the replies; stop() then waits until they stop coming, so
    the stream is left at a record boundary."""

    def __init__(self, peer, read):
        self.peer = peer
        self.sent = 0
        self.cut = None         # why the connection ended, if it did
        self._stop = threading.Event()
        self.peer.sock.settimeout(None)
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True) \
            if read else None

    def start(self):
        self._writer.start()
        if self._reader:
            self._reader.start()
        return self

    def _write(self):
        batch = b''.join(stream_record(arp_request(i)) for i in range(64))
        while not self._stop.is_set():
            try:
                self.peer.sock.sendall(batch)
            except OSError as e:
                self.cut = self.cut or str(e) or type(e).__name__
                return
            self.sent += 64

    def _read(self):
        quiet_since = None
        while True:
            ready, _, _ = select.select([self.peer.sock], [], [], 0.1)
            if not ready:
                now = time.monotonic()
                quiet_since = quiet_since or now
                if self._stop.is_set() and now - quiet_since > secs(0.5):
                    return
                continue
            quiet_since = None
            try:
                data = self.peer.sock.recv(1 << 20)
            except OSError as e:
                self.cut = self.cut or str(e) or type(e).__name__
                return
            if not data:
                self.cut = self.cut or 'EOF'
                return

    def join(self, timeout):
        """Wait for the threads to end (cut off, or after stop())."""
        deadline = time.monotonic() + timeout
        for th in (self._writer, self._reader):
            if th:
                th.join(max(0.0, deadline - time.monotonic()))
        return not self.alive()

    def alive(self):
        return any(th and th.is_alive() for th in (self._writer,
                                                   self._reader))

    def stop(self, timeout):
        self._stop.set()
        return self.join(timeout)


# --- the bench ---------------------------------------------------------------

class Bench:
    def __init__(self, t, v, qmp):
        self.t = t
        self.v = v
        self.qmp = qmp

    def alive(self):
        return self.v.proc.poll() is None and \
            not SANITIZER_REPORT.search(self.v.log())

    def clients(self):
        return {c['id']: c for c in self.qmp.cmd('x-query-network')}

    def hmp(self, line):
        return self.qmp.cmd('human-monitor-command', {'command-line': line})

    def expect_error(self, name, args, cls, desc, what):
        reply = self.qmp.execute(name, args)
        got = error_of(reply)
        return self.t.ok(got == (cls, desc), what,
                         diag='%s %s\ngot %r\nwanted %r'
                         % (name, json.dumps(args), reply, (cls, desc)))

    def add_pair(self, nid, sid, port):
        self.qmp.cmd('netdev_add', {'type': 'socket', 'id': nid,
                                    'listen': '127.0.0.1:%d' % port})
        self.qmp.cmd('device_add', {'driver': 'nic-stub', 'id': sid,
                                    'netdev': nid, 'mac': STUB_MAC_STR,
                                    'ip': '10.0.2.100/24'})

    def arp_works(self, peer, seq, what):
        peer.send_frames([arp_request(seq)])
        try:
            got = peer.recv_frame()
        except PeerClosed as e:
            got = 'closed: %s' % e
        return self.t.ok(got == arp_reply(seq), what,
                         diag=lambda: 'got %r\nvmwire log:\n%s'
                         % (got, self.v.log()[-3000:]))


# --- commands ----------------------------------------------------------------

def commands(b, port):
    t, q = b.t, b.qmp
    t.ok(q.cmd('netdev_add', {'type': 'socket', 'id': 'n1',
                              'listen': '127.0.0.1:%d' % port}) == {},
         'netdev_add socket listen= returns {}')
    c = b.clients().get('n1')
    t.ok(c is not None and c['type'] == 'socket' and c['info'] == '' and
         'peer' not in c and c['link-up'] is False,
         'x-query-network: n1, type socket, no peer, link down (no VM yet)',
         diag=repr(c))
    q.take_events()
    t.ok(q.cmd('device_add', {'driver': 'nic-stub', 'id': 's1',
                              'netdev': 'n1', 'mac': STUB_MAC_STR,
                              'ip': '10.0.2.100/24'}) == {},
         'device_add nic-stub on n1 returns {}')
    ev = q.take_events('NETDEV_LINK_CHANGED')
    t.ok([e['data'] for e in ev] == [{'name': 's1', 'up': False}],
         'a nic-stub put on an unconnected listener: one '
         'NETDEV_LINK_CHANGED {s1, down}', diag=repr(ev))
    c = b.clients()
    t.ok(c['s1']['type'] == 'nic' and c['s1'].get('peer') == 'n1' and
         c['n1'].get('peer') == 's1' and
         c['s1']['info'] == 'model=nic-stub,macaddr=' + STUB_MAC_STR,
         'x-query-network: s1 type nic, peers n1 <-> s1, its info string',
         diag=repr(c))
    text = b.hmp('info network')
    want = ('n0: index=0,type=socket,\r\n'
            's1: index=0,type=nic,model=nic-stub,macaddr=%s\r\n'
            ' \\ n1: index=0,type=socket,\r\n' % STUB_MAC_STR)
    # vmwire's "  counters ID: ..." line under each client (test-port-
    # counters checks its numbers); without them it is QEMU's text.
    t.ok(qemu_info_network(text) == want and
         [m for m in re.findall(r'^  counters (\w+): ', text, re.M)] ==
         ['n0', 's1', 'n1'],
         "info network: QEMU 7.2's lines, a NIC with its peer under it, "
         "each followed by vmwire's counters line", diag=repr(text))

    with StreamPeer(port) as peer:
        ev = q.wait_for('NETDEV_STREAM_CONNECTED', {'netdev-id': 'n1'})
        want = {'netdev-id': 'n1', 'addr': {'type': 'inet',
                                            'host': '127.0.0.1',
                                            'port': str(peer.port)}}
        t.ok(ev is not None and ev['data'] == want and
             set(ev['timestamp']) == {'seconds', 'microseconds'},
             'NETDEV_STREAM_CONNECTED {n1, addr: inet 127.0.0.1:%d} when '
             'the peer is accepted' % peer.port, diag=repr(ev))
        ev = q.take_events('NETDEV_LINK_CHANGED')
        t.ok(sorted((e['data']['name'], e['data']['up']) for e in ev) ==
             [('n1', True), ('s1', True)],
             'NETDEV_LINK_CHANGED up, once for n1 and once for s1',
             diag=repr(ev))
        text = b.hmp('info network')
        t.ok(' \\ n1: index=0,type=socket,socket: connection from '
             '127.0.0.1:%d\r\n' % peer.port in text,
             'info network shows "socket: connection from 127.0.0.1:%d"'
             % peer.port, diag=repr(text))

        before = b.clients()
        frames = [arp_request(i) for i in range(10)]
        peer.send_frames(frames)
        replies = [peer.recv_frame() for _ in range(10)]
        t.ok(replies == [arp_reply(i) for i in range(10)],
             '10 ARP requests from the peer: 10 byte-exact replies')
        after = b.clients()
        size = len(frames[0])

        def moved(cid, key, n):
            return after[cid][key] - before[cid][key] == n
        t.ok(moved('s1', 'rx-frames', 10) and
             moved('s1', 'rx-bytes', 10 * size) and
             moved('n1', 'tx-frames', 10) and
             moved('s1', 'tx-frames', 10) and moved('n1', 'rx-frames', 10),
             'x-query-network counters: s1 rx 10 (%d bytes), n1 tx 10; '
             's1 tx 10, n1 rx 10' % (10 * size),
             diag=lambda: 'before %r\nafter %r' % (before, after))
        t.ok(all(after[c]['link-up'] for c in ('n1', 's1')),
             'x-query-network: both links up', diag=repr(after))

        stats = q.cmd('x-nic-stub-stats', {'id': 's1'})
        t.ok(stats['arp-replies'] == 10 and stats['rx-frames'] == 10 and
             stats['tx-frames'] == 10 and stats['echo-replies'] == 0 and
             stats['link-up'] is True and stats['dropped'] == 0,
             'x-nic-stub-stats: 10 received, 10 ARP replies sent, link up',
             diag=repr(stats))

        got = q.cmd('x-nic-stub-read', {'id': 's1', 'max': 3})
        t.ok([base64.b64decode(f['data']) for f in got] == frames[:3],
             'x-nic-stub-read max=3: the first 3 frames received',
             diag=repr(got))
        got = q.cmd('x-nic-stub-read', {'id': 's1'})
        t.ok([base64.b64decode(f['data']) for f in got] == frames[3:],
             'x-nic-stub-read: the other 7, oldest first', diag=repr(got))
        t.ok(q.cmd('x-nic-stub-read', {'id': 's1'}) == [],
             'x-nic-stub-read: nothing left once read')
        got = q.cmd('x-nic-stub-read', {'id': 's1', 'max': 0})
        t.ok(got == [], 'x-nic-stub-read max=0: []', diag=repr(got))

        many = [arp_request(100 + i) for i in range(CAPTURE_FRAMES + 6)]
        peer.send_frames(many)
        for _ in many:
            peer.recv_frame()
        got = q.cmd('x-nic-stub-read', {'id': 's1'})
        t.ok([base64.b64decode(f['data']) for f in got] ==
             many[-CAPTURE_FRAMES:],
             '%d frames received: the capture ring keeps the last %d'
             % (len(many), CAPTURE_FRAMES), diag='%d frames' % len(got))

        frame = eth_frame(PEER_MAC, STUB_MAC, 0x88b5, b'injected' * 20)
        tx_before = q.cmd('x-nic-stub-stats', {'id': 's1'})['tx-frames']
        t.ok(q.cmd('x-nic-stub-inject', {'id': 's1', 'data': b64(frame)})
             == {}, 'x-nic-stub-inject returns {}')
        got = peer.recv_frame()
        t.ok(got == frame, 'the injected frame reaches the peer, '
             'byte-exact', diag=repr(got))
        tx_after = q.cmd('x-nic-stub-stats', {'id': 's1'})['tx-frames']
        t.ok(tx_after == tx_before + 1, 'x-nic-stub-stats counts it sent',
             diag='%d -> %d' % (tx_before, tx_after))
        big = eth_frame(PEER_MAC, STUB_MAC, 0x88b5,
                        b'\x5a' * (NET_BUFSIZE - 14))
        q.cmd('x-nic-stub-inject', {'id': 's1', 'data': b64(big)})
        got = peer.recv_frame()
        t.ok(got == big, 'an injected frame of NET_BUFSIZE (%d) bytes '
             'arrives whole' % NET_BUFSIZE, diag=lambda: repr(got)[:200])

        set_link(b, peer)

    ev = q.wait_for('NETDEV_STREAM_DISCONNECTED', {'netdev-id': 'n1'})
    t.ok(ev is not None and ev['data'] == {'netdev-id': 'n1'},
         'NETDEV_STREAM_DISCONNECTED {netdev-id: n1} when the peer leaves',
         diag=repr(ev))
    ev = q.take_events('NETDEV_LINK_CHANGED')
    t.ok(sorted((e['data']['name'], e['data']['up']) for e in ev) ==
         [('n1', False), ('s1', False)],
         'NETDEV_LINK_CHANGED down, once for n1 and once for s1',
         diag=repr(ev))
    c = b.clients()
    t.ok(c['n1']['info'] == '' and not c['n1']['link-up'],
         'x-query-network: n1 back to listening, link down', diag=repr(c))


def set_link(b, peer):
    t, q = b.t, b.qmp
    q.take_events()
    t.ok(q.cmd('set_link', {'name': 'n1', 'up': False}) == {},
         'set_link n1 down returns {}')
    ev = q.take_events('NETDEV_LINK_CHANGED')
    t.ok(sorted((e['data']['name'], e['data']['up']) for e in ev) ==
         [('n1', False), ('s1', False)],
         'set_link n1 down: NETDEV_LINK_CHANGED once for n1 and once for s1',
         diag=repr(ev))
    c = b.clients()
    t.ok(not c['n1']['link-up'] and not c['s1']['link-up'],
         'x-query-network: both links down', diag=repr(c))
    stats = q.cmd('x-nic-stub-stats', {'id': 's1'})
    t.ok(stats['link-up'] is False, 'x-nic-stub-stats: link-up false',
         diag=repr(stats))
    peer.send_frames([arp_request(7)])
    got = peer.recv_frame(1.0)
    t.ok(got is None, 'link down: an ARP request gets no reply',
         diag=repr(got))
    t.ok(q.cmd('set_link', {'name': 's1', 'up': False}) == {} and
         q.take_events('NETDEV_LINK_CHANGED') == [],
         'set_link s1 down again: no event (nothing changed)')
    q.cmd('set_link', {'name': 's1', 'up': True})
    ev = q.take_events('NETDEV_LINK_CHANGED')
    t.ok(sorted((e['data']['name'], e['data']['up']) for e in ev) ==
         [('n1', True), ('s1', True)],
         "set_link on the NIC's id: both up again, one event each",
         diag=repr(ev))
    b.arp_works(peer, 8, 'link up again: ARP answered')


# --- errors ------------------------------------------------------------------

def errors(b, port):
    t, q = b.t, b.qmp
    nf = 'DeviceNotFound'
    ge = 'GenericError'
    b.expect_error('netdev_del', {'id': 'nope'}, nf, "Device 'nope' not found",
                   'netdev_del of an unknown id: DeviceNotFound')
    b.expect_error('netdev_del', {'id': 's1'}, nf, "Device 's1' not found",
                   "netdev_del of a NIC's id: DeviceNotFound, as QEMU 7.2")
    b.expect_error('set_link', {'name': 'nope', 'up': True}, nf,
                   "Device 'nope' not found",
                   'set_link of an unknown id: DeviceNotFound')
    b.expect_error('device_del', {'id': 'nope'}, nf,
                   "Device 'nope' not found",
                   'device_del of an unknown id: DeviceNotFound')
    b.expect_error('device_del', {'id': 'n1'}, nf, "Device 'n1' not found",
                   "device_del of a netdev's id: DeviceNotFound, as QEMU")
    b.expect_error('netdev_add', {'type': 'socket', 'id': 'n1',
                                  'listen': '127.0.0.1:%d' % port}, ge,
                   "Duplicate ID 'n1'",
                   "netdev_add of a taken id: QEMU's QMP words")
    b.expect_error('device_add', {'driver': 'nic-stub', 'id': 's1',
                                  'netdev': 'n1'}, ge,
                   "Duplicate device ID 's1'",
                   "device_add of a taken id: QEMU's QMP words")
    q.cmd('netdev_add', {'type': 'socket', 'id': 'n9',
                         'listen': '127.0.0.1:%d' % free_port()})
    b.expect_error('device_add', {'driver': 'nic-stub', 'id': 's9',
                                  'netdev': 'n1'}, ge,
                   "Property 'nic-stub.netdev' can't take value 'n1', "
                   "it's in use", 'device_add on a netdev in use')
    b.expect_error('device_add', {'driver': 'nic-stub', 'id': 's9',
                                  'netdev': 'zz'}, ge,
                   "Property 'nic-stub.netdev' can't find value 'zz'",
                   'device_add on an unknown netdev')
    b.expect_error('device_add', {'driver': 'nic-stub', 'id': 's9',
                                  'netdev': 'n9', 'mac': 'zz'}, ge,
                   "Property 'nic-stub.mac' doesn't take value 'zz'",
                   'device_add with a bad mac=')
    b.expect_error('device_add', {'driver': 'nic-stub', 'id': '9s',
                                  'netdev': 'n9'}, ge,
                   "Parameter 'id' expects an identifier",
                   'device_add with a malformed id')
    reply = q.execute('device_add', {'driver': 'bogus', 'id': 's9'})
    t.ok(error_of(reply) is not None and error_of(reply)[0] == ge and
         'bogus' in error_of(reply)[1],
         'device_add of an unknown driver: GenericError naming it',
         diag=repr(reply))
    t.ok('s9' not in b.clients(), 'failed device_adds leave nothing behind')
    q.cmd('netdev_del', {'id': 'n9'})

    for cmd in ('x-nic-stub-stats', 'x-nic-stub-read', 'x-nic-stub-inject'):
        args = {'id': 'zz'}
        if cmd == 'x-nic-stub-inject':
            args['data'] = b64(arp_request())
        b.expect_error(cmd, args, nf, "Device 'zz' not found",
                       '%s of an unknown id: DeviceNotFound' % cmd)
        args['id'] = 'n1'
        b.expect_error(cmd, args, ge, "Device 'n1' is not a nic-stub",
                       '%s of a netdev: "is not a nic-stub"' % cmd)
    for data, why in (('!!!!', 'characters outside base64'),
                      ('QUJD=', 'a length that is no multiple of 4'),
                      ('QU=D', "'=' inside the data"),
                      ('', 'an empty frame'),
                      (b64(b'\0' * (NET_BUFSIZE + 1)),
                       'a frame over NET_BUFSIZE')):
        reply = q.execute('x-nic-stub-inject', {'id': 's1', 'data': data})
        err = error_of(reply)
        t.ok(err is not None and err[0] == ge and err[1],
             'x-nic-stub-inject of %s: GenericError "%s"'
             % (why, err[1] if err else ''), diag=repr(reply))
    reply = q.execute('x-nic-stub-read', {'id': 's1', 'max': -1})
    t.ok(error_of(reply) is not None and error_of(reply)[0] == ge,
         'x-nic-stub-read max=-1: GenericError', diag=repr(reply))


def hmp(b):
    t = b.t
    for line, want, what in (
            ('foo', "unknown command: 'foo'\r\n", 'an unknown command'),
            ('foo bar', "unknown command: 'foo'\r\n", 'an unknown command '
             'with arguments'),
            ('info foo', "unknown command: 'info foo'\r\n",
             'an unknown info command'),
            ('info   netwo', "unknown command: 'info   netwo'\r\n",
             'an unknown info command, spaces kept'),
            ('', '', 'an empty line'),
            ('info network x', 'network: extraneous characters at the end '
             'of line\r\nTry "help info network" for more information\r\n',
             'info network with an argument'),
            ('help info network', 'info network  -- show the network '
             'state\r\n', 'help info network')):
        got = b.hmp(line)
        t.ok(got == want, 'human-monitor-command "%s": QEMU\'s text for %s'
             % (line, what), diag='got %r\nwanted %r' % (got, want))
    got = b.hmp('  info\tnetwork  ')
    t.ok(got == b.hmp('info network') and got.endswith('\r\n'),
         'info network with extra blanks and a tab', diag=repr(got))


# --- connect= events ---------------------------------------------------------

def connect_events(b):
    t, q = b.t, b.qmp
    with socket.socket() as lsock:
        lsock.bind(('127.0.0.1', 0))
        lsock.listen(1)
        lport = lsock.getsockname()[1]
        q.take_events()
        q.cmd('netdev_add', {'type': 'socket', 'id': 'c1',
                             'connect': '127.0.0.1:%d' % lport})
        conn, _ = lsock.accept()
        ev = q.wait_for('NETDEV_STREAM_CONNECTED', {'netdev-id': 'c1'})
        want = {'netdev-id': 'c1', 'addr': {'type': 'inet',
                                            'host': '127.0.0.1',
                                            'port': str(lport)}}
        t.ok(ev is not None and ev['data'] == want,
             'connect=: NETDEV_STREAM_CONNECTED {c1, addr: the remote '
             '127.0.0.1:%d}' % lport, diag=repr(ev))
        conn.close()
        ev = q.wait_for('NETDEV_STREAM_DISCONNECTED', {'netdev-id': 'c1'})
        t.ok(ev is not None, 'connect=: NETDEV_STREAM_DISCONNECTED when the '
             'remote closes', diag=repr(ev))
        q.cmd('netdev_del', {'id': 'c1'})
    with socket.socket() as lsock:
        lsock.bind(('127.0.0.1', 0))
        lport = lsock.getsockname()[1]     # bound, not listening: refused
        q.take_events()
        q.cmd('netdev_add', {'type': 'socket', 'id': 'c2',
                             'connect': '127.0.0.1:%d' % lport})
        b.v.wait_log(r'^vmwire: c2: connection to .* refused', secs(5))
        ev = q.take_events()
        t.ok(not [e for e in ev if e['event'].startswith('NETDEV_STREAM')],
             'a refused connect=: no NETDEV_STREAM_* event', diag=repr(ev))
        q.cmd('netdev_del', {'id': 'c2'})


# --- teardown under load -----------------------------------------------------

def netdev_del_under_flood(b, port, read, round_no):
    t, q = b.t, b.qmp
    what = 'reading' if read else 'not reading'
    nid, sid = 'f%d' % round_no, 'fs%d' % round_no
    b.add_pair(nid, sid, port)
    with StreamPeer(port) as peer:
        q.wait_for('NETDEV_STREAM_CONNECTED', {'netdev-id': nid})
        flood = Flooder(peer, read).start()
        time.sleep(secs(0.5))
        q.take_events()
        t.ok(q.cmd('netdev_del', {'id': nid}) == {},
             'netdev_del %s while its peer floods (%s): {}' % (nid, what))
        ended = flood.join(secs(10))
        t.ok(ended and flood.cut is not None,
             'the flooding peer is cut off (%s) after %d frames'
             % (flood.cut, flood.sent), diag=lambda: b.v.log()[-2000:])
        flood.stop(secs(5))
    c = b.clients()
    t.ok(nid not in c and sid in c and 'peer' not in c[sid] and
         not c[sid]['link-up'],
         'x-query-network: %s gone, %s without peer, link down'
         % (nid, sid), diag=repr(c))
    ev = q.take_events('NETDEV_LINK_CHANGED')
    t.ok([e['data'] for e in ev if e['data']['name'] == sid] ==
         [{'name': sid, 'up': False}],
         'NETDEV_LINK_CHANGED {%s, down} once' % sid, diag=repr(ev))
    text = b.hmp('info network')
    t.ok('%s: index=0,type=nic,model=nic-stub' % sid in text and
         ' \\ %s:' % nid not in text,
         'info network lists %s alone' % sid, diag=repr(text))
    t.ok(b.alive(), 'vmwire runs on, no sanitizer report',
         diag=lambda: b.v.log()[-3000:])
    q.cmd('device_del', {'id': sid})


def device_del_under_flood(b, port):
    t, q = b.t, b.qmp
    b.add_pair('g1', 'gs1', port)
    with StreamPeer(port) as peer:
        q.wait_for('NETDEV_STREAM_CONNECTED', {'netdev-id': 'g1'})
        flood = Flooder(peer, True).start()
        time.sleep(secs(0.5))
        t.ok(q.cmd('device_del', {'id': 'gs1'}) == {},
             'device_del of the nic-stub while its peer floods: {}')
        time.sleep(secs(0.3))
        c = b.clients()
        t.ok('gs1' not in c and 'peer' not in c['g1'] and c['g1']['link-up'],
             'x-query-network: the netdev stays, without peer, link still '
             'up (its VM is still connected)', diag=repr(c))
        d0 = c['g1']['dropped']
        time.sleep(secs(0.3))
        d1 = b.clients()['g1']['dropped']
        t.ok(d1 > d0, 'frames from the peer now go nowhere: g1 dropped '
             '%d -> %d' % (d0, d1))
        stopped = flood.stop(secs(10))
        t.ok(stopped and flood.cut is None, 'the peer stays connected',
             diag=repr(flood.cut))
        # Let vmwire read (and drop) what the flood left in its socket.
        dropped = None
        while dropped != b.clients()['g1']['dropped']:
            dropped = b.clients()['g1']['dropped']
            time.sleep(secs(0.3))
        q.cmd('device_add', {'driver': 'nic-stub', 'id': 'gs1',
                             'netdev': 'g1', 'mac': STUB_MAC_STR,
                             'ip': '10.0.2.100/24'})
        peer.send_frames([arp_request(150)])
        stale = [arp_reply(i) for i in range(64)]
        got, skipped = None, 0
        try:
            while got is None or got in stale:
                skipped += got in stale
                got = peer.recv_frame()
                if got is None:
                    break
        except PeerClosed as e:
            got = 'closed: %s' % e
        t.ok(got == arp_reply(150), 'a new nic-stub on the same netdev '
             'answers at once, on the same connection%s'
             % (' (after %d late flood replies)' % skipped if skipped
                else ''), diag=lambda: 'got %r' % (got,))
    q.cmd('netdev_del', {'id': 'g1'})
    q.cmd('device_del', {'id': 'gs1'})


# --- command line vs netdev_add ----------------------------------------------

def parity_rows(busy_port, listen_port):
    p = free_port
    return [
        # (option string, QEMU 7.2's message or None if accepted)
        ('socket,id=p1,listen=127.0.0.1:%d' % p(), None),
        ('socket,id=p2,connect=127.0.0.1:%d' % listen_port, None),
        ('socket,id=p3,mcast=230.0.0.1:%d,localaddr=127.0.0.1'
         % p('udp'), None),
        ('socket,id=p4,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d'
         % (p('udp'), p('udp')), None),
        ('socket,id=p5', 'exactly one of listen=, connect=, mcast= or udp= '
         'is required'),
        ('socket,id=p6,listen=127.0.0.1:%d,connect=127.0.0.1:%d'
         % (p(), p()), 'exactly one of listen=, connect=, mcast= or udp= '
         'is required'),
        ('socket,id=p7,listen=127.0.0.1:%d,localaddr=127.0.0.1' % p(),
         'localaddr= is only valid with mcast= or udp='),
        ('socket,id=p8,udp=127.0.0.1:%d' % p('udp'),
         'localaddr= is mandatory with udp='),
        ('socket,id=p9,mcast=10.0.0.1:%d' % p('udp'),
         'specified mcastaddr 10.0.0.1 (0x0a000001) does not contain a '
         'multicast address'),
        ('socket,id=p10,listen=127.0.0.1',
         "host address '127.0.0.1' doesn't contain ':' separating host "
         "from port"),
        ('socket,id=p11,listen=1.2.3.256:%d' % p(),
         "host address '1.2.3.256' is not a valid IPv4 address"),
        ('socket,id=p12,listen=127.0.0.1:abc',
         "port number 'abc' is invalid"),
        ('socket,id=p13,listen=127.0.0.1:%d,foo=bar' % p(),
         ("Invalid parameter 'foo'", "Parameter 'foo' is unexpected")),
        ('socket,id=1bad,listen=127.0.0.1:%d' % p(),
         "Parameter 'id' expects an identifier"),
        ('bogus,id=p15', "Parameter 'type' does not accept value 'bogus'"),
        ('socket,listen=127.0.0.1:%d' % p(), "Parameter 'id' is missing"),
        ('socket,id=p17,listen=127.0.0.1:%d' % busy_port,
         "can't bind ip=127.0.0.1 to socket: Address already in use"),
        ('socket,id=p18,fd=99',
         "p18: Can't use file descriptor 99: Bad file descriptor"),
        ('socket,id=p19,fd=abc',
         ("Invalid file descriptor number 'abc'",
          "File descriptor named 'abc' has not been found")),
        # vmwire's own rule (QEMU 7.2 accepts it): on both paths.
        ('socket,id=p20,listen=127.0.0.1:99999',
         "port number '99999' is invalid"),
    ]


def to_json(opts):
    """An option string as netdev_add arguments, every value a string."""
    args = {}
    for i, part in enumerate(opts.split(',')):
        if i == 0 and '=' not in part:
            args['type'] = part
        else:
            key, value = part.split('=', 1)
            args[key] = value
    return args


def cmdline_result(argv):
    """None if vmwire starts with argv, else the message it printed for
    the last -netdev."""
    opts = argv[-1]
    try:
        with Vmwire(argv, ready_timeout=secs(10)):
            return None
    except VmwireError as e:
        prefix = 'vmwire: -netdev %s: ' % opts
        for line in str(e).split('\n'):
            if line.startswith(prefix):
                return line[len(prefix):]
        return 'no message: %s' % e


def parity(b):
    t, q = b.t, b.qmp
    with socket.socket() as busy, socket.socket() as lsock:
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        lsock.bind(('127.0.0.1', 0))
        lsock.listen(8)
        for opts, want in parity_rows(busy.getsockname()[1],
                                      lsock.getsockname()[1]):
            want_cmd, want_qmp = want if isinstance(want, tuple) \
                else (want, want)
            got_cmd = cmdline_result(['-netdev', opts])
            args = to_json(opts)
            got_qmp = error_of(q.execute('netdev_add', args))
            if got_qmp is None and 'id' in args:
                q.cmd('netdev_del', {'id': args['id']})
            t.ok(got_cmd == want_cmd and
                 (got_qmp is None if want_qmp is None else
                  got_qmp == ('GenericError', want_qmp)),
                 '%s: %s' % (opts, 'accepted on both paths'
                             if want_cmd is None else
                             'refused on both paths: "%s"' % want_cmd +
                             ('' if want_qmp == want_cmd else
                              ' / QMP: "%s"' % want_qmp)),
                 diag='command line: %r\nQMP: %r' % (got_cmd, got_qmp))
    # A taken id: the second -netdev, the second netdev_add.
    p1, p2 = free_port(), free_port()
    got_cmd = cmdline_result(['-netdev', 'socket,id=d1,listen=127.0.0.1:%d'
                              % p1, '-netdev',
                              'socket,id=d1,listen=127.0.0.1:%d' % p2])
    q.cmd('netdev_add', {'type': 'socket', 'id': 'd1',
                         'listen': '127.0.0.1:%d' % p1})
    second = {'type': 'socket', 'id': 'd1', 'listen': '127.0.0.1:%d' % p2}
    got_qmp = error_of(q.execute('netdev_add', second))
    q.cmd('netdev_del', {'id': 'd1'})
    t.ok(got_cmd == "Duplicate ID 'd1' for netdev" and
         got_qmp == ('GenericError', "Duplicate ID 'd1'"),
         "a taken id: \"Duplicate ID 'd1' for netdev\" / QMP: "
         "\"Duplicate ID 'd1'\" (QEMU 7.2's pair)",
         diag='command line: %r\nQMP: %r' % (got_cmd, got_qmp))


# --- main --------------------------------------------------------------------

def with_pair(scenario):
    """scenario(b, port) with n1 (listen= on port) and nic-stub s1 on it,
    as commands() leaves them; both deleted after."""
    def run(b, port):
        b.add_pair('n1', 's1', port)
        scenario(b, port)
        delete_pair(b)
    return run


def delete_pair(b):
    b.qmp.cmd('netdev_del', {'id': 'n1'})
    b.qmp.cmd('device_del', {'id': 's1'})


def flood_round(i, read):
    return ('netdev_del f%d under flood, %s'
            % (i, 'reading' if read else 'not reading'),
            lambda b, port: netdev_del_under_flood(b, port, read, i))


# Each gets a vmwire of its own, so that one failing does not cascade:
# fn(b, port), port free for a listen= netdev.  Each deletes what it
# added: only n0 is left at its end.
SCENARIOS = [
    # One scenario: each step works on the previous one's netdev, peer,
    # counters and capture ring.
    ('commands', lambda b, port: (commands(b, port), delete_pair(b))),
    ('errors', with_pair(errors)),
    ('hmp', lambda b, port: hmp(b)),
    ('connect= events', lambda b, port: connect_events(b)),
] + [flood_round(i, read) for i, read in enumerate((True, False, True,
                                                     False))] + [
    ('device_del under flood', device_del_under_flood),
    ('parity', lambda b, port: parity(b)),
]


def client_ids(b):
    """The ids x-query-network lists, or why they could not be had."""
    try:
        return list(b.clients())
    except Exception as e:      # the scenario's failure is reported
        return 'x-query-network: %s' % e


def main(t):
    runs = VmwireRuns()
    for name, fn in SCENARIOS:
        port, cport = free_port(), free_port()
        with t.scenario(name), tempdir('qmp') as d:
            path = os.path.join(d, 'qmp.sock')
            args = ['-qmp', 'unix:%s,server=on,wait=off' % path,
                    '-netdev', 'socket,id=n0,listen=127.0.0.1:%d' % cport]
            with Vmwire(args, ready_timeout=secs(10)) as v, \
                    NetQMP.unix(path) as q:
                b = Bench(t, v, q)
                try:
                    q.negotiate()
                    fn(b, port)
                finally:
                    ids = client_ids(b)
                    q.close()
                    runs.record(name, v, extra=ids)
    left = [(name, extra) for name, _, _, extra in runs.runs]
    t.ok(len(left) == len(SCENARIOS) and
         all(ids == ['n0'] for _, ids in left),
         'at the end only n0 is left', diag=repr(left))
    runs.check(t, len(SCENARIOS))


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
