#!/usr/bin/env python3
"""The QMP protocol, through real connections to the real vmwire.

Each scenario below gets a vmwire of its own (so one failing scenario does
not cascade), with three monitors:

    -qmp unix:D/qmp.sock,server=on,wait=off          (the main one)
    -qmp tcp:127.0.0.1:P,server=on,wait=off
    -chardev socket,id=mon0,path=D/pretty.sock,server=on,wait=off
    -mon chardev=mon0,mode=control,pretty=on         (QEMU's long form)

plus a `-netdev socket,listen=` with a nic-stub, to make events happen.
Checked, as a QMP client sees them:

  greeting   byte for byte as QEMU's, "\\r\\n" after each message; pretty
             monitors put every member on its own "\\r\\n" line
  protocol   qmp_capabilities first (CommandNotFound "Expecting
             capabilities negotiation ..."), then never again ("...
             already complete, command ignored"); ids of every JSON type
             echoed; each of QEMU's request errors with its words;
             malformed JSON, oversized requests, too deep nesting, \\u0000,
             0xFF resynchronisation: one error each and the connection
             goes on
  commands   query-version, query-commands, query-qmp-schema, quit
  clients    several monitors and several clients each, at once; replies
             go to the client that asked, events to every negotiated
             client of every monitor and to no other
  fds        getfd/closefd with real SCM_RIGHTS fds (socketpairs, whose
             other end shows when vmwire closes its copy), names kept per
             monitor across connections, unclaimed fds closed when the
             client leaves, netdev_add fd=NAME
  sockets    mode 0600, removed at exit, a stale file from a crash
             replaced, a live one refused
  options    server=off, wait=on, mode=readline, unknown chardev, ... are
             refused with exit status 1 and a clear message
  quit       the reply arrives, then vmwire exits 0

At the end of each scenario SIGTERM must give exit status 0, the log no
sanitizer report, and both unix socket files must be gone.
"""

import json
import os
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (TAP, TIMEOUT_SCALE, Vmwire, free_port,  # noqa: E402
                         run_vmwire, tempdir)
from vmwire_test.qmp import QMP, QMPClosed, QMPError, error_of  # noqa: E402

GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 1, '
            b'"major": 0}, "package": "vmwire"}, "capabilities": []}}\r\n')
NOT_NEGOTIATED = ('CommandNotFound', "Expecting capabilities negotiation "
                  "with 'qmp_capabilities'")
GENERIC = 'GenericError'


def secs(s):
    return s * TIMEOUT_SCALE


def recv_exact_greeting(path):
    """The raw bytes vmwire sends first on a new unix connection."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(secs(10))
    s.connect(path)
    data = b''
    try:
        while not data.endswith(b'\r\n'):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    return data


def fd_closed_by_peer(sock, timeout=5.0):
    """True if the other end of socketpair half @sock got closed."""
    sock.settimeout(secs(timeout))
    try:
        return sock.recv(1) == b''
    except socket.timeout:
        return False


def fd_still_open(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1) != b''
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


# --- the protocol ------------------------------------------------------------

def check_greeting(t, v, d):
    path = os.path.join(d, 'qmp.sock')
    t.ok(recv_exact_greeting(path) == GREETING,
         'greeting is byte for byte QEMU\'s layout, ended by \\r\\n',
         diag=lambda: repr(recv_exact_greeting(path)))
    st = os.lstat(path)
    t.ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
         'the unix monitor socket has mode 0600',
         diag='mode %o' % st.st_mode)


def check_negotiation(t, path):
    with QMP.unix(path) as q:
        r = q.execute('query-version', id='early')
        t.ok(error_of(r) == NOT_NEGOTIATED and r.get('id') == 'early',
             'a command before qmp_capabilities: CommandNotFound, id kept',
             diag=r)
        r = q.execute('no-such-command')
        t.ok(error_of(r) == NOT_NEGOTIATED,
             'an unknown command before negotiation: the same answer',
             diag=r)
        q.send_raw('[1, 2]')
        r = q.recv_reply()
        t.ok(error_of(r) == (GENERIC, 'QMP input must be a JSON object'),
             'a non-object before negotiation: "must be a JSON object"',
             diag=r)
        r = q.execute('qmp_capabilities', {'enable': ['oob']})
        t.ok(error_of(r) == (GENERIC, "Capability 'oob' not available"),
             'qmp_capabilities enable=[oob]: "Capability \'oob\' not '
             'available"', diag=r)
        r = q.execute('qmp_capabilities', {'enable': ['bogus']})
        t.ok(error_of(r) is not None and error_of(r)[0] == GENERIC,
             'qmp_capabilities with an unknown capability is refused',
             diag=r)
        q.sock.settimeout(secs(10))
        q.send_raw('{"execute": "qmp_capabilities", "id": 1}')
        raw = q.sock.recv(4096)
        t.ok(raw == b'{"return": {}, "id": 1}\r\n',
             'qmp_capabilities: {"return": {}, "id": 1} and \\r\\n',
             diag=repr(raw))
        r = q.execute('qmp_capabilities', id='again')
        t.ok(error_of(r) == ('CommandNotFound', 'Capabilities negotiation '
                             'is already complete, command ignored') and
             r.get('id') == 'again',
             'qmp_capabilities again: "already complete, command ignored"',
             diag=r)
        r = q.execute('query-version')
        t.ok(r.get('return') == {'qemu': {'major': 0, 'minor': 1,
                                          'micro': 0},
                                 'package': 'vmwire'},
             'query-version after negotiation: 0.1.0, package vmwire',
             diag=r)


def check_ids(t, q):
    ids = [0, -7, 2 ** 53, 1.5, 'text', '', 'caf\u00e9 \U0001F600',
           None, True, False, [], [1, 'two', [3]], {}, {'a': {'b': [None]}}]
    bad = []
    for i in ids:
        q.send_raw(json.dumps({'execute': 'query-version', 'id': i}))
        r = q.recv_reply()
        if 'return' not in r or 'id' not in r or r['id'] != i or \
                type(r['id']) is not type(i):
            bad.append((i, r))
    t.ok(not bad, 'ids of every JSON type come back verbatim', diag=bad)
    q.send_raw('{"execute": "query-version"}')
    r = q.recv_reply()
    t.ok('return' in r and 'id' not in r, 'no id in, no id out', diag=r)


REQUEST_ERRORS = [
    # (raw request, expected (class, desc), expected id or None, name)
    ('{"execute": "query-version", "arguments": {}, "id": 5, "foo": 1}',
     (GENERIC, "QMP input member 'foo' is unexpected"), 5,
     'an unknown member'),
    ('{"arguments": {}, "id": "x"}',
     (GENERIC, "QMP input lacks member 'execute'"), 'x',
     'no execute'),
    ('{"execute": ["query-version"], "id": 6}',
     (GENERIC, "QMP input member 'execute' must be a string"), 6,
     'execute not a string'),
    ('{"execute": "query-version", "arguments": [1], "id": 7}',
     (GENERIC, "QMP input member 'arguments' must be an object"), 7,
     'arguments not an object'),
    ('{"execute": "query-version", "exec-oob": "x", "id": 8}',
     (GENERIC, "QMP input member 'exec-oob' is unexpected"), 8,
     'exec-oob (no out-of-band capability)'),
    ('{"execute": "frobnicate", "id": 9}',
     ('CommandNotFound', 'The command frobnicate has not been found'), 9,
     'an unknown command'),
    ('"just a string"', (GENERIC, 'QMP input must be a JSON object'), None,
     'a string'),
    ('42\n', (GENERIC, 'QMP input must be a JSON object'), None,
     'a number'),
    ('[{"execute": "query-version"}]',
     (GENERIC, 'QMP input must be a JSON object'), None, 'an array'),
    ('{"execute": "query-version", "id": "\\u0000"}',
     (GENERIC, 'JSON parse error, \\u0000 is not supported'), None,
     '\\u0000 in a string'),
    ('{"execute": "query-version", "id": "\\q"}',
     (GENERIC, 'JSON parse error, invalid escape sequence in string'),
     None, 'a bad escape'),
    ('}', (GENERIC, 'JSON parse error, expecting value'), None,
     'a stray closing brace'),
    ('{"execute": "quit" // }\n}',
     (GENERIC, "JSON parse error, stray '/'"), None,
     'a comment (no quit: json-glib alone would read one)'),
]


def check_request_errors(t, q):
    for raw, expect, want_id, name in REQUEST_ERRORS:
        q.send_raw(raw)
        r = q.recv_reply()
        ok = error_of(r) == expect and r.get('id') == want_id and \
            (want_id is not None or 'id' not in r)
        t.ok(ok, 'error for %s: %s' % (name, expect[1]), diag=r)
    # malformed JSON: QEMU's prefix, and the connection goes on
    for raw in ('{"execute": }', '{"execute" "x"}', '{"a": [1, 2}',
                '{"execute": "query-version",}', '{nope}'):
        q.send_raw(raw + '\n{"execute": "query-version", "id": "after"}')
        r = q.recv_reply()
        r2 = q.recv_reply()
        t.ok(error_of(r) is not None and error_of(r)[0] == GENERIC and
             error_of(r)[1].startswith('JSON parse error, ') and
             'id' not in r and r2.get('id') == 'after' and 'return' in r2,
             'malformed %s: "JSON parse error, ...", then the next '
             'request is answered' % raw, diag=(r, r2))
    r = q.execute('query-version', {'bogus': 1})
    t.ok(error_of(r) == (GENERIC, "Parameter 'bogus' is unexpected"),
         'a command given an unknown argument: "Parameter \'bogus\' is '
         'unexpected"', diag=r)


def check_limits(t, q):
    big = '{"execute": "query-version", "arguments": {"s": "%s"}}' % (
        'x' * (2 * 1024 * 1024))
    q.send_raw(big + '{"execute": "query-version", "id": "big-after"}')
    r = q.recv_reply(30)
    r2 = q.recv_reply(30)
    t.ok(error_of(r) == (GENERIC, 'JSON token size limit exceeded') and
         r2.get('id') == 'big-after' and 'return' in r2,
         'a 2 MiB request: "JSON token size limit exceeded" once, then '
         'the next one is answered', diag=(r, r2))
    # 1 MiB minus a little is still accepted
    fill = 1024 * 1024 - 100
    q.send_raw('{"execute": "query-version", "id": "%s"}' % ('y' * fill))
    r = q.recv_reply(30)
    t.ok('return' in r and len(r.get('id', '')) == fill,
         'a request just under 1 MiB is executed', diag=str(r)[:200])
    deep = '[' * 1025 + ']' * 1025
    q.send_raw(deep + '{"execute": "query-version", "id": "deep-after"}')
    r = q.recv_reply()
    r2 = q.recv_reply()
    t.ok(error_of(r) == (GENERIC, 'JSON nesting depth limit exceeded') and
         r2.get('id') == 'deep-after',
         '1025 levels of nesting: "JSON nesting depth limit exceeded" once',
         diag=(r, r2))
    q.send_raw('{"execute": "query-version", "id": %s}'
               % ('[' * 1023 + ']' * 1023))
    r = q.recv_reply()
    t.ok('return' in r, '1024 levels are accepted (as in QEMU)',
         diag=str(r)[:200])
    # QEMU's way back in step: 0xFF ends whatever was half sent
    q.send_raw(b'{"execute": "query-version", "id": "lo')
    q.send_raw(b'\xff{"execute": "query-version", "id": "resync"}')
    r = q.recv_reply()
    r2 = q.recv_reply()
    t.ok(error_of(r) == (GENERIC, "JSON parse error, stray '\\xff'") and
         r2.get('id') == 'resync',
         'half a request, then 0xFF: one "stray" error, then in step again',
         diag=(r, r2))
    # one request in pieces of one byte
    req = b'{"execute": "query-version", "id": "bytewise"}'
    for i in range(len(req)):
        q.send_raw(req[i:i + 1])
    r = q.recv_reply()
    t.ok(r.get('id') == 'bytewise' and 'return' in r,
         'a request sent one byte at a time is answered', diag=r)
    # several requests in one write
    q.send_raw(''.join('{"execute": "query-version", "id": %d}' % i
                       for i in range(50)))
    got = [q.recv_reply().get('id') for _ in range(50)]
    t.ok(got == list(range(50)), '50 requests in one write: 50 replies, '
         'in order', diag=got)


def check_introspection(t, q):
    names = [c.get('name') for c in q.cmd('query-commands')]
    want = ['qmp_capabilities', 'query-version', 'query-commands', 'quit',
            'getfd', 'closefd', 'query-qmp-schema']
    t.ok(all(n in names for n in want) and len(names) == len(set(names)),
         'query-commands lists the protocol commands once each',
         diag=names)
    schema = q.cmd('query-qmp-schema')
    cmds = {e.get('name'): e for e in schema
            if isinstance(e, dict) and e.get('meta-type') == 'command'}
    t.ok(isinstance(schema, list) and 'query-version' in cmds and
         'ret-type' in cmds['query-version'],
         'query-qmp-schema: a list of SchemaInfo with query-version',
         diag=str(schema)[:300])
    entities = {e.get('name'): e for e in schema if isinstance(e, dict)}
    t.ok(sorted(cmds) == sorted(names),
         'query-qmp-schema describes exactly the commands query-commands '
         'lists', diag=(sorted(cmds), sorted(names)))
    events = sorted(e['name'] for e in schema
                    if isinstance(e, dict) and e.get('meta-type') == 'event')
    t.ok(events == ['NETDEV_LINK_CHANGED', 'NETDEV_STREAM_CONNECTED',
                    'NETDEV_STREAM_DISCONNECTED'],
         'query-qmp-schema describes every event', diag=events)
    dangling = [(e['name'], key, e[key]) for e in entities.values()
                for key in ('arg-type', 'ret-type', 'element-type')
                if key in e and e[key] not in entities]
    dangling += [(e['name'], m.get('name'), m.get('type'))
                 for e in entities.values() for m in e.get('members', [])
                 if isinstance(m, dict) and 'type' in m
                 and m['type'] not in entities]
    t.ok(not dangling, 'every type the schema refers to is described',
         diag=dangling)
    options = [n for n in ('QmpOptions', 'ChardevOptions', 'MonitorOptions',
                           'MonitorMode') if n in entities]
    t.ok(not options, 'the -qmp/-chardev/-mon option types, which no '
         'command or event uses, are not described', diag=options)
    netdev_add = entities.get(cmds.get('netdev_add', {}).get('arg-type'), {})
    members = [m.get('name') for m in netdev_add.get('members', [])]
    t.ok('id' in members and 'type' in members and
         netdev_add.get('tag') == 'type',
         'netdev_add takes the Netdev union, tagged by type',
         diag=netdev_add)
    r = q.execute('query-qmp-schema', {'x': 1})
    t.ok(error_of(r) == (GENERIC, "Parameter 'x' is unexpected"),
         'query-qmp-schema refuses arguments', diag=r)


# --- clients and monitors --------------------------------------------------

def check_clients(t, v, d, tcp_port):
    path = os.path.join(d, 'qmp.sock')
    qs = [QMP.unix(path) for _ in range(5)] + \
        [QMP.tcp('127.0.0.1', tcp_port) for _ in range(3)]
    try:
        for q in qs:
            q.negotiate()
        # interleave: everyone sends, then everyone reads
        for i, q in enumerate(qs):
            q.send_raw('{"execute": "query-version", "id": "c%d"}' % i)
        got = [q.recv_reply().get('id') for q in qs]
        t.ok(got == ['c%d' % i for i in range(len(qs))],
             '8 clients on two monitors at once: each gets its own reply',
             diag=got)
        qs[0].close()
        r = qs[1].execute('query-version')
        t.ok('return' in r, 'one client leaving does not disturb another',
             diag=r)
    finally:
        for q in qs:
            q.close()


def check_pretty(t, d):
    path = os.path.join(d, 'pretty.sock')
    with QMP.unix(path) as q:
        t.ok(q.greeting.get('QMP', {}).get('version', {}).get('package') ==
             'vmwire', 'the -chardev/-mon monitor greets', diag=q.greeting)
        q.send_raw('{"execute": "qmp_capabilities"}')
        q.sock.settimeout(secs(10))
        raw = b''
        while not raw.endswith(b'}\r\n'):
            chunk = q.sock.recv(4096)
            if not chunk:
                break
            raw += chunk
        t.ok(raw == b'{\r\n    "return": {\r\n    }\r\n}\r\n',
             'pretty=on: QEMU\'s pretty layout, every line ended by \\r\\n',
             diag=repr(raw))
        r = q.execute('query-version')
        t.ok(r.get('return', {}).get('package') == 'vmwire',
             'the pretty monitor answers commands', diag=r)


def check_events(t, v, d, tcp_port, net_port):
    path = os.path.join(d, 'qmp.sock')
    with QMP.unix(path) as a, QMP.unix(path) as late, \
            QMP.tcp('127.0.0.1', tcp_port) as b, \
            QMP.unix(os.path.join(d, 'pretty.sock')) as p:
        a.negotiate()
        b.negotiate()
        p.negotiate()
        peer = socket.create_connection(('127.0.0.1', net_port))
        try:
            got = {}
            for name, q in (('unix', a), ('tcp', b), ('pretty', p)):
                try:
                    got[name] = q.wait_event('NETDEV_STREAM_CONNECTED', 10)
                except QMPError as e:
                    got[name] = str(e)
            ev = got['unix']
            ok = isinstance(ev, dict) and \
                ev.get('data', {}).get('netdev-id') == 'n0' and \
                isinstance(ev.get('timestamp', {}).get('seconds'), int) and \
                0 <= ev.get('timestamp', {}).get('microseconds', -1) < 10**6
            t.ok(ok, 'a TCP peer on -netdev listen=: NETDEV_STREAM_CONNECTED '
                 '{netdev-id, addr} with a timestamp', diag=got)
            t.ok(all(isinstance(e, dict) for e in got.values()),
                 'the event reaches every negotiated client of every '
                 'monitor (unix, tcp, pretty)', diag=got)
            if isinstance(ev, dict):
                age = abs(time.time() - ev['timestamp']['seconds'] -
                          ev['timestamp']['microseconds'] / 1e6)
                t.ok(age < secs(30), 'the timestamp is the wall-clock time',
                     diag=ev)
        finally:
            peer.close()
        # the client that never negotiated saw nothing before its reply
        r = late.execute('qmp_capabilities', id='late')
        t.ok('return' in r and not late.events and not late.stray,
             'a client still negotiating gets no event', diag=(r,
                                                               late.events))


# --- file descriptors ------------------------------------------------------

def check_fds(t, v, d, tcp_port):
    path = os.path.join(d, 'qmp.sock')
    pid = v.proc.pid
    with QMP.unix(path) as q:
        q.negotiate()
        r = q.execute('getfd', {'fdname': 'nothing'})
        t.ok(error_of(r) == (GENERIC, 'No file descriptor supplied via '
                             'SCM_RIGHTS'),
             'getfd without an fd: "No file descriptor supplied via '
             'SCM_RIGHTS"', diag=r)

        mine, theirs = socket.socketpair()
        r = q.execute('getfd', {'fdname': 'f1'}, fds=[theirs.fileno()])
        theirs.close()
        t.ok(r.get('return') == {}, 'getfd with an SCM_RIGHTS fd', diag=r)
        t.ok(fd_still_open(mine), 'vmwire keeps the stored fd open')

        mine2, theirs2 = socket.socketpair()
        r = q.execute('getfd', {'fdname': 'f1'}, fds=[theirs2.fileno()])
        theirs2.close()
        t.ok(r.get('return') == {} and fd_closed_by_peer(mine) and
             fd_still_open(mine2),
             'getfd of a name in use: the new fd replaces the old, which '
             'vmwire closes', diag=r)

        r = q.execute('closefd', {'fdname': 'f1'})
        t.ok(r.get('return') == {} and fd_closed_by_peer(mine2),
             'closefd closes the fd', diag=r)
        r = q.execute('closefd', {'fdname': 'f1'})
        t.ok(error_of(r) == (GENERIC, "File descriptor named 'f1' not "
                             "found"),
             'closefd of an unknown name: "File descriptor named \'f1\' not '
             'found"', diag=r)

        mine3, theirs3 = socket.socketpair()
        r = q.execute('getfd', {'fdname': '9lives'}, fds=[theirs3.fileno()])
        theirs3.close()
        t.ok(error_of(r) == (GENERIC, "Parameter 'fdname' expects a name "
                             "not starting with a digit") and
             fd_closed_by_peer(mine3),
             'getfd of a name starting with a digit: refused, fd closed',
             diag=r)

        # the fd belongs to the monitor, not to the connection
        mine4, theirs4 = socket.socketpair()
        r = q.execute('getfd', {'fdname': 'kept'}, fds=[theirs4.fileno()])
        theirs4.close()
    with QMP.unix(path) as q2:
        q2.negotiate()
        t.ok(fd_still_open(mine4), 'a stored fd outlives the connection '
             'that stored it')
        r = q2.execute('closefd', {'fdname': 'kept'})
        t.ok(r.get('return') == {} and fd_closed_by_peer(mine4),
             'another connection to the same monitor can closefd it',
             diag=r)
    with QMP.tcp('127.0.0.1', tcp_port) as q3:
        q3.negotiate()
        r = q3.execute('closefd', {'fdname': 'kept'})
        t.ok(error_of(r) is not None,
             'fd names are per monitor: the TCP monitor does not see them',
             diag=r)

    # fds passed and never claimed are closed with the connection
    before = open_fds(pid)
    pairs = [socket.socketpair() for _ in range(3)]
    with QMP.unix(path) as q:
        q.negotiate()
        r = q.execute('query-version', fds=[p[1].fileno() for p in pairs])
        t.ok('return' in r, 'a request with fds attached that does not '
             'want them is answered', diag=r)
        for p in pairs:
            p[1].close()
        during = open_fds(pid)
    closed = all(fd_closed_by_peer(p[0]) for p in pairs)
    for p in pairs:
        p[0].close()
    t.ok(closed and during >= before + 3,
         'unclaimed fds are held, then closed when the client leaves',
         diag='fds before %d, during %d' % (before, during))

    # more fds than a client may hold at once: the extra ones are closed
    pairs = [socket.socketpair() for _ in range(20)]
    with QMP.unix(path) as q:
        q.negotiate()
        q.execute('query-version', fds=[p[1].fileno() for p in pairs[:10]])
        q.execute('query-version', fds=[p[1].fileno() for p in pairs[10:]])
        for p in pairs:
            p[1].close()
        # vmwire closed the extra ones before it read the request
        dropped = sum(not fd_still_open(p[0]) for p in pairs)
        r = q.execute('query-version')
        t.ok(dropped == 4 and 'return' in r,
             'a client holds at most 16 unclaimed fds; extra ones are '
             'closed at once', diag='%d closed early' % dropped)
    for p in pairs:
        p[0].close()

    for m in (mine, mine2, mine3, mine4):
        m.close()
    check_netdev_fd(t, path)


def check_netdev_fd(t, path):
    """getfd then netdev_add fd=NAME: the netdev takes the fd."""
    peer = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    peer.connect(listener.getsockname())
    accepted, _ = listener.accept()
    listener.close()
    try:
        with QMP.unix(path) as q:
            q.negotiate()
            r = q.execute('getfd', {'fdname': 'netfd'},
                          fds=[accepted.fileno()])
            accepted.close()
            r = q.execute('netdev_add', {'type': 'socket', 'id': 'viafd',
                                         'fd': 'netfd'})
            t.ok(r.get('return') == {},
                 'netdev_add fd=NAME uses the fd stored by getfd', diag=r)
            r2 = q.execute('closefd', {'fdname': 'netfd'})
            t.ok(error_of(r2) is not None and 'return' in r,
                 'the netdev took the fd: its name is gone', diag=r2)
            q.execute('netdev_del', {'id': 'viafd'})
    finally:
        peer.close()


# --- socket files, options, quit ---------------------------------------------

def check_stale_and_live(t, d):
    path = os.path.join(d, 'stale.sock')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()                           # what a crash leaves behind
    with Vmwire(['-qmp', 'unix:%s,server=on,wait=off' % path]) as v:
        with QMP.unix(path) as q:
            q.negotiate()
            t.ok('return' in q.execute('query-version'),
                 'a stale socket file from a crashed run is replaced')
        rc, out = run_vmwire(['-qmp', 'unix:%s,server=on,wait=off' % path])
        t.ok(rc == 1 and 'Address already in use' in out and
             os.path.exists(path),
             'a second vmwire on a live monitor socket: exit 1, the first '
             'keeps its socket', diag=out)
        with QMP.unix(path) as q:
            q.negotiate()
            t.ok('return' in q.execute('query-version'),
                 'the first vmwire still serves')
    t.ok(not os.path.exists(path), 'the socket file is removed at exit')
    with open(path, 'w') as f:
        f.write('not a socket')
    rc, out = run_vmwire(['-qmp', 'unix:%s,server=on,wait=off' % path])
    t.ok(rc == 1 and 'Failed to bind socket to' in out and
         os.path.isfile(path),
         'a regular file in the way is left alone: exit 1', diag=out)
    os.unlink(path)


OPTION_ERRORS = [
    (['-qmp', 'unix:{d}/a.sock'], 'vmwire supports only server=on'),
    (['-qmp', 'unix:{d}/a.sock,server=off,wait=off'],
     'vmwire supports only server=on'),
    (['-qmp', 'unix:{d}/a.sock,server=on,wait=on'],
     'vmwire supports only wait=off'),
    (['-qmp', 'unix:{d}/a.sock,server=yes,wait=true'],
     'vmwire supports only wait=off'),
    # QEMU's deprecated bare flags are gone, as in its keyval syntax
    (['-qmp', 'unix:{d}/a.sock,server,nowait'],
     "Expected '=' after parameter 'server'"),
    (['-chardev', 'socket,id=m,path={d}/a.sock,server,nowait'],
     "Expected '=' after parameter 'server'"),
    (['-qmp', 'unix:{d}/a.sock,server=maybe'],
     "Parameter 'server' expects 'on' or 'off'"),
    (['-qmp', 'unix:{d}/a.sock,server=on,telnet=on'],
     "Invalid parameter 'telnet'"),
    (['-qmp', 'stdio'], "'stdio' is not supported for QMP by vmwire"),
    (['-qmp', 'tcp:127.0.0.1:4444,path=/x,server=on,wait=off'],
     "Invalid parameter 'path'"),
    (['-qmp', 'chardev:m,server=on'], "Invalid parameter 'server'"),
    (['-qmp', 'tcp:127.0.0.1,server=on,wait=off'],
     "doesn't contain ':' separating host from port"),
    (['-qmp', 'tcp:127.0.0.1:99999,server=on,wait=off'],
     "port number '99999' is invalid"),
    (['-qmp', 'unix:{d}/%s,server=on,wait=off' % ('x' * 120)],
     'is too long'),
    (['-chardev', 'socket,id=m,path={d}/a.sock,server=on,wait=off',
      '-mon', 'chardev=m,mode=readline'], 'vmwire supports only mode=control'),
    (['-chardev', 'socket,id=m,path={d}/a.sock,server=on,wait=off',
      '-mon', 'chardev=m'], 'vmwire supports only mode=control'),
    (['-mon', 'chardev=nosuch,mode=control'], 'chardev "nosuch" not found'),
    (['-mon', 'mode=control'], "Parameter 'chardev' is missing"),
    (['-mon', 'chardev=m,mode=other'],
     "Parameter 'mode' does not accept value 'other'"),
    (['-mon', 'chardev=m,mode=control,pretty=maybe'],
     "Parameter 'pretty' expects 'on' or 'off'"),
    (['-chardev', 'socket,id=m,path={d}/a.sock,server=on,wait=off',
      '-chardev', 'socket,id=m,path={d}/b.sock,server=on,wait=off'],
     "Duplicate ID 'm' for chardev"),
    (['-chardev', 'socket,id=m,path={d}/a.sock,server=on,wait=off',
      '-mon', 'chardev=m,mode=control', '-mon', 'chardev=m,mode=control'],
     "Device 'm' is in use"),
    (['-chardev', 'stdio,id=m'], "chardev backend 'stdio' is not supported"),
    (['-chardev', 'id=m,path={d}/a.sock'], 'chardev: "m" missing backend'),
    (['-chardev', 'socket,id=m,path={d}/a.sock,server=on,wait=off,bogus=1'],
     "Invalid parameter 'bogus'"),
    (['-chardev', 'socket,path={d}/a.sock,server=on,wait=off'],
     "Parameter 'id' is missing"),
    (['-chardev', 'socket,id=m,server=on,wait=off'],
     'chardev: socket: no host given'),
    (['-chardev', 'socket,id=m,host=127.0.0.1,server=on,wait=off'],
     'chardev: socket: no port given'),
]


def check_options(t, d):
    for args, msg in OPTION_ERRORS:
        args = [a.replace('{d}', d) for a in args]
        rc, out = run_vmwire(args)
        t.ok(rc == 1 and msg in out and 'vmwire: -' in out,
             '%s: exit 1, "%s"' % (' '.join(args).replace(d, 'D'), msg),
             diag=out)
    t.ok(not os.path.exists(os.path.join(d, 'a.sock')),
         'refused options leave no socket file behind')
    # forms that work: -chardev host=,port=, -qmp chardev:
    port = free_port()
    args = ['-chardev', 'socket,id=m,host=127.0.0.1,port=%d,server=on,'
            'wait=off' % port, '-qmp', 'chardev:m']
    with Vmwire(args):
        with QMP.tcp('127.0.0.1', port) as q:
            q.negotiate()
            t.ok('return' in q.execute('query-version'),
                 '-chardev socket,host=,port= + -qmp chardev:ID')


def check_quit(t, d):
    path = os.path.join(d, 'quit.sock')
    tcp = free_port()
    v = Vmwire(['-qmp', 'unix:%s,server=on,wait=off' % path,
                '-qmp', 'tcp:127.0.0.1:%d,server=on,wait=off' % tcp])
    with v:
        with QMP.unix(path) as q, QMP.tcp('127.0.0.1', tcp) as other:
            q.negotiate()
            other.negotiate()
            r = q.execute('quit', id='bye')
            t.ok(r == {'return': {}, 'id': 'bye'}, 'quit is answered',
                 diag=r)
            try:
                rc = v.proc.wait(secs(10))
            except Exception:
                rc = None
            t.ok(rc == 0, 'then vmwire exits with status 0', diag=v.log())
            try:
                q.recv(2)
                closed = False
            except QMPClosed:
                closed = True
            t.ok(closed, 'and the connection is closed')
    t.ok(not os.path.exists(path), 'the socket file is gone after quit')


def all_accepted(path):
    """Return once the monitor on @path has accepted every connection made
    before this call: it accepts in order, so a new client that gets an
    answer comes after all of them."""
    with QMP.unix(path) as q:
        q.negotiate()
        q.execute('query-version')


def check_leaks(t, v, d):
    """Connections that leave mid-request leave nothing behind."""
    path = os.path.join(d, 'qmp.sock')
    pid = v.proc.pid
    time.sleep(0.2)
    before = open_fds(pid)
    for i in range(30):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(b'{"execute": "qmp_capabilities"}{"execute": "query-ver')
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b'\x01\x00\x00\x00\x00\x00\x00\x00')   # RST
        s.close()
    # Until vmwire has accepted them all, the count can be back at
    # `before` while connections still wait in the listen queue (and go
    # up again when they are accepted).  Once all are accepted it only
    # goes down: wait until it is back, with a bound.
    all_accepted(path)
    deadline = time.monotonic() + secs(10)
    while open_fds(pid) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    after = open_fds(pid)
    t.ok(after == before, '30 clients leaving mid-request leave no '
         'fd behind', diag='%d before, %d after' % (before, after))
    with QMP.unix(path) as q:
        q.negotiate()
        t.ok('return' in q.execute('query-version'),
             'and vmwire answers the next client')


def check_one_client(check):
    """check(t, q) on one negotiated client of the main monitor."""
    def scenario(t, v, d, tcp_port, net_port):
        with QMP.unix(os.path.join(d, 'qmp.sock')) as q:
            q.negotiate()
            check(t, q)
    return scenario


# Each gets a vmwire of its own (main_args), so that one failing does not
# cascade: fn(t, v, d, tcp_port, net_port), d its temporary directory.
SCENARIOS = [
    ('greeting', lambda t, v, d, tp, np: check_greeting(t, v, d)),
    ('negotiation', lambda t, v, d, tp, np:
     check_negotiation(t, os.path.join(d, 'qmp.sock'))),
    ('ids', check_one_client(check_ids)),
    ('request errors', check_one_client(check_request_errors)),
    ('limits', check_one_client(check_limits)),
    ('introspection', check_one_client(check_introspection)),
    ('clients', lambda t, v, d, tp, np: check_clients(t, v, d, tp)),
    ('pretty', lambda t, v, d, tp, np: check_pretty(t, d)),
    ('events', check_events),
    ('fds', lambda t, v, d, tp, np: check_fds(t, v, d, tp)),
    ('leaks', lambda t, v, d, tp, np: check_leaks(t, v, d)),
]


def main_args(d, tcp_port, net_port):
    """Three monitors (unix, tcp, pretty -chardev/-mon) and a netdev."""
    return ['-qmp', 'unix:%s/qmp.sock,server=on,wait=off' % d,
            '-qmp', 'tcp:127.0.0.1:%d,server=on,wait=off' % tcp_port,
            '-chardev', 'socket,id=mon0,path=%s/pretty.sock,server=on,'
            'wait=off' % d,
            '-mon', 'chardev=mon0,mode=control,pretty=on',
            '-netdev', 'socket,id=n0,listen=127.0.0.1:%d' % net_port,
            '-device', 'nic-stub,id=s0,netdev=n0,ip=10.0.2.100/24']


def run_scenario(t, name, fn, removed):
    """fn on a vmwire of its own; whether SIGTERM removed its two unix
    socket files is appended to removed."""
    with t.scenario(name), tempdir('qmp') as d:
        tcp_port = free_port()
        net_port = free_port()
        with Vmwire(main_args(d, tcp_port, net_port)) as v:
            fn(t, v, d, tcp_port, net_port)
        removed.append(
            not os.path.exists(os.path.join(d, 'qmp.sock')) and
            not os.path.exists(os.path.join(d, 'pretty.sock')))


def main():
    sys.setrecursionlimit(10000)    # the 1024-level id comes back parsed
    with TAP() as t:
        removed = []
        for name, fn in SCENARIOS:
            run_scenario(t, name, fn, removed)
        t.ok(len(removed) == len(SCENARIOS) and all(removed),
             'SIGTERM: both unix socket files are removed',
             diag='%d of %d vmwires removed both'
             % (sum(removed), len(SCENARIOS)))
        for name, check in (('stale and live sockets', check_stale_and_live),
                            ('options', check_options),
                            ('quit', check_quit)):
            with t.scenario(name), tempdir('qmp') as d:
                check(t, d)


if __name__ == '__main__':
    main()
