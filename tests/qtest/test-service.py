#!/usr/bin/env python3
"""vmwire as a service: -daemonize, -pidfile, -D, SIGHUP and systemd's
NOTIFY_SOCKET, checked from outside as an init script or systemd sees them.

This process makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), so
every daemon vmwire forks becomes its child once the daemonizing parent has
gone: its exit status can be read with waitpid(), and "no daemon is left"
means "no child of ours is alive".  Every daemon is killed at the end
(also when a check fails or raises), read from its pidfile or found as an
unknown child.

  daemonize    the parent exits 0 only once the listener accepts (a connect
               right after it succeeds); the pidfile holds the daemon's pid;
               relative -pidfile and -D paths work; stdin and stdout are
               /dev/null, stderr the log; SIGHUP after renaming the log
               makes new lines go to a fresh file at the path; SIGTERM
               exits 0 and removes the pidfile.  Without -D, "vmwire: ready"
               reaches the parent's stderr and the daemon's stderr becomes
               /dev/null; SIGINT exits 0.
  failures     a bad option, a busy port (with -D: the message is in the
               log and on the parent's stderr), an unwritable log or
               pidfile: the parent exits 1 with the message, nothing is left
               running, no pidfile; QEMU 7.2 words the log and pidfile
               errors the same.
  pidfile      a second vmwire (and with -daemonize, and QEMU 7.2) on a held
               pidfile is refused with QEMU's message and exit 1, the first
               keeps running and keeps its pidfile, which goes at SIGTERM;
               a pidfile replaced by someone else is left alone at exit.
  -D           a foreground vmwire logs to the file, not to stderr; a bad
               option still reaches stderr (and the log).
  closed stdio started with fds 0-2 closed, -daemonize -D -pidfile still
               works: pidfile locked, connections served, SIGTERM exits 0.
  notify       READY=1 (and MAINPID) arrives on a unix datagram socket,
               path and abstract '@' forms, only once "vmwire: ready" is
               logged and the listener accepts; SIGINT and SIGTERM exit 0.
  -msg         QEMU's `-msg timestamp=on`: every log line starts with the
               UTC time, "2026-12-06T19:44:47.123456Z vmwire: ready", on
               stderr and in the -D file (also after a SIGHUP reopen, and
               the setup error copied from the log); timestamp=off and no
               -msg: no prefix; timestamp=maybe and guest-name= are
               refused with QEMU's words and exit 1.
"""

import atexit
import calendar
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (SANITIZER_REPORT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         free_port, qemu_binary, tempdir, vmwire_binary,
                         vmwire_command)

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

_libc = ctypes.CDLL(None, use_errno=True)
_foreground = set()          # Popen objects of vmwire runs not yet reaped


def scaled(seconds):
    return seconds * TIMEOUT_SCALE


def become_subreaper():
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_CHILD_SUBREAPER)')


def _pdeathsig():
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


# --- processes ---------------------------------------------------------------

def proc_state(pid):
    """The state letter of pid ('R', 'S', 'Z', ...) or None if gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rindex(')') + 2]


def proc_ppid(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(stat[stat.rindex(')') + 2:].split()[1])


def adopted_children():
    """Pids of our children that are not a subprocess we started."""
    known = {p.pid for p in _foreground}
    me = os.getpid()
    pids = []
    for name in os.listdir('/proc'):
        if name.isdigit() and int(name) not in known and \
                proc_ppid(int(name)) == me:
            pids.append(int(name))
    return pids


def reap(pid, timeout):
    """waitpid(pid) for up to timeout s: exit code, -signal, or None."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def live_daemons():
    """Adopted children still running; zombies among them are reaped."""
    alive = []
    for pid in adopted_children():
        if proc_state(pid) == 'Z':
            reap(pid, 0)
        else:
            alive.append(pid)
    return alive


@atexit.register
def kill_everything():
    """Nothing is left behind: every daemon and vmwire run is killed."""
    for proc in list(_foreground):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        _foreground.discard(proc)
    for pid in adopted_children():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        reap(pid, 5)


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', errors='replace')
    except FileNotFoundError:
        return None


def wait_for(predicate, timeout):
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


def wait_text(path, regex, timeout=10.0):
    """Wait until regex (re.MULTILINE) matches the file at path."""
    pattern = re.compile(regex, re.MULTILINE)
    return wait_for(lambda: pattern.search(read(path) or ''), timeout)


def can_connect(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=2):
            return True
    except OSError:
        return False


def listen_args(port, name='n0'):
    return ['-netdev', 'socket,id=%s,listen=127.0.0.1:%d' % (name, port),
            '-device', 'nic-stub,id=s%s,netdev=%s,ip=10.0.2.100/24'
            % (name, name)]


# --- running vmwire ----------------------------------------------------------

def run_parent(args, cwd, timeout=20.0, env=None):
    """Run `vmwire ARGS` (usually with -daemonize) until the process we
    started exits.  Its stdout and stderr go to files, not pipes, so a
    daemon that inherits them cannot hold this up.  Returns (exit code or
    None on timeout, stdout, stderr)."""
    out, err = os.path.join(cwd, 'parent.out'), os.path.join(cwd, 'parent.err')
    with open(out, 'wb') as o, open(err, 'wb') as e:
        proc = subprocess.Popen(vmwire_command() + [str(a) for a in args],
                                cwd=cwd, stdin=subprocess.DEVNULL, stdout=o,
                                stderr=e, env=env, preexec_fn=_pdeathsig)
    _foreground.add(proc)
    try:
        rc = proc.wait(scaled(timeout))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = None
    _foreground.discard(proc)
    return rc, read(out), read(err)


def start_foreground(args, cwd, env=None):
    """Start vmwire without -daemonize; output goes to cwd/fg.out."""
    log = os.path.join(cwd, 'fg.out')
    with open(log, 'wb') as f:
        proc = subprocess.Popen(vmwire_command() + [str(a) for a in args],
                                cwd=cwd, stdin=subprocess.DEVNULL, stdout=f,
                                stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_pdeathsig)
    _foreground.add(proc)
    return proc, log


def stop_foreground(proc, sig=signal.SIGTERM):
    """Send sig, wait up to 10 s, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(scaled(10))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _foreground.discard(proc)
    return proc.returncode


def stop_daemon(pid, sig=signal.SIGTERM):
    """Signal an adopted daemon and reap it: exit code (None: killed)."""
    os.kill(pid, sig)
    rc = reap(pid, scaled(10))
    if rc is None:
        os.kill(pid, signal.SIGKILL)
        reap(pid, 5)
    return rc


def daemon_pid(pidfile):
    text = read(pidfile)
    return int(text) if text and re.fullmatch(r'\d+\n', text) else None


def fd_target(pid, fd):
    try:
        return os.readlink('/proc/%d/fd/%d' % (pid, fd))
    except OSError as e:
        return str(e)


# --- the checks --------------------------------------------------------------

def check_daemonize_with_log(t):
    """Relative -pidfile and -D; readiness, fds, SIGHUP rotation, SIGTERM."""
    port = free_port()
    with tempdir('service') as d:
        pidfile, log = os.path.join(d, 'vmwire.pid'), os.path.join(d, 'log')
        rc, out, err = run_parent(['-daemonize', '-pidfile', 'vmwire.pid',
                                   '-D', 'log'] + listen_args(port), d)
        connected = can_connect(port)     # at once: no waiting, no retry
        t.ok(rc == 0, '-daemonize: the parent exits 0',
             diag='exit %s\nstderr: %r' % (rc, err))
        t.ok(connected, 'the listener accepts as soon as the parent exited')
        pid = daemon_pid(pidfile)
        t.ok(pid is not None and pid in live_daemons(),
             'the relative -pidfile holds the pid of the running daemon',
             diag='pidfile %r, running: %s' % (read(pidfile), live_daemons()))
        if pid is None:
            return
        t.ok(os.getsid(pid) not in (os.getsid(0), pid),
             'the daemon is in a session of its own, not its leader')
        t.ok(out == '' and err == '',
             'with -D the parent prints nothing', diag='%r %r' % (out, err))
        fds = [fd_target(pid, fd) for fd in (0, 1, 2)]
        t.ok(fds == ['/dev/null', '/dev/null', log],
             'daemon: stdin and stdout are /dev/null, stderr is the log',
             diag=fds)
        t.ok(wait_text(log, r'^vmwire: ready$') and
             wait_text(log, r'^vmwire: n0: connection from 127\.0\.0\.1:'),
             'the relative -D log gets the log lines', diag=read(log))
        check_log_rotation(t, pid, port, log)
        rc = stop_daemon(pid, signal.SIGTERM)
        t.ok(rc == 0, 'the daemon exits 0 on SIGTERM', diag='exit %s' % rc)
        t.ok(not os.path.exists(pidfile), 'its pidfile is removed at exit')
        text = read(log) or ''
        t.ok(re.search(r'^vmwire: shutting down$', text, re.MULTILINE) and
             not SANITIZER_REPORT.search(text),
             'the log ends with "shutting down", no sanitizer report',
             diag=text)


def check_log_rotation(t, pid, port, log):
    """logrotate's way: rename the file, SIGHUP, lines go to a new one."""
    with socket.create_connection(('127.0.0.1', port), timeout=2) as conn:
        peer = '127.0.0.1:%d' % conn.getsockname()[1]
        seen = wait_text(log, r'^vmwire: n0: connection from %s$' % peer)
        t.ok(seen, 'a connection is logged', diag=read(log))
        os.rename(log, log + '.1')
        os.kill(pid, signal.SIGHUP)
        reopened = wait_text(log, r'^vmwire: log file log reopened$')
        t.ok(reopened, 'SIGHUP: a fresh log file at the path',
             diag='log: %r\nlog.1: %r' % (read(log), read(log + '.1')))
    # The connection closed: its line goes to the new file only.
    gone = 'vmwire: n0: peer %s disconnected\n' % peer
    t.ok(wait_text(log, '^' + re.escape(gone)) and
         gone not in read(log + '.1'),
         'after SIGHUP new lines go to the new file, not the renamed one',
         diag='log: %r\nlog.1: %r' % (read(log), read(log + '.1')))


def check_daemonize_without_log(t):
    """No -D: "ready" reaches the parent's stderr, then /dev/null."""
    port = free_port()
    with tempdir('service') as d:
        pidfile = os.path.join(d, 'pid')
        rc, out, err = run_parent(['-daemonize', '-pidfile', pidfile] +
                                  listen_args(port), d)
        connected = can_connect(port)
        pid = daemon_pid(pidfile)
        t.ok(rc == 0 and connected and pid in live_daemons(),
             '-daemonize without -D: exit 0, listening, pidfile',
             diag='exit %s, connect %s, pidfile %r\n%s'
                  % (rc, connected, read(pidfile), err))
        if pid is None:
            return
        t.ok(out == '' and err == 'vmwire: ready\n',
             'the parent\'s stderr shows "vmwire: ready"',
             diag='%r %r' % (out, err))
        fds = [fd_target(pid, fd) for fd in (0, 1, 2)]
        t.ok(fds == ['/dev/null'] * 3,
             'after ready the daemon\'s stdin, stdout, stderr are /dev/null',
             diag=fds)
        rc = stop_daemon(pid, signal.SIGINT)
        t.ok(rc == 0 and not os.path.exists(pidfile),
             'the daemon exits 0 on SIGINT and removes its pidfile',
             diag='exit %s' % rc)


def check_daemonize_fails(t, name, args, expected, log=None):
    """A setup error with -daemonize: exit 1, the message, nothing left.

    expected is the parent's whole stderr, or a compiled regex for it."""
    with tempdir('service') as d:
        pidfile = os.path.join(d, 'pid')
        rc, out, err = run_parent(['-daemonize', '-pidfile', pidfile] + args,
                                  d)
        # The daemon closed its end of the pipe and is exiting: under load
        # it may still be a live process for a moment.
        deadline = time.monotonic() + 5 * TIMEOUT_SCALE
        left = live_daemons()
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = live_daemons()
        good = (expected.fullmatch(err) if isinstance(expected, re.Pattern)
                else err == expected)
        t.ok(rc == 1 and good and out == '',
             '-daemonize, %s: the parent exits 1 with the message' % name,
             diag='exit %s\nstdout %r\nstderr %r\nexpected %r'
                  % (rc, out, err, expected))
        t.ok(not left and not os.path.exists(pidfile),
             '-daemonize, %s: no daemon and no pidfile left' % name,
             diag='running: %s, pidfile %r' % (left, read(pidfile)))
        if log:
            text = read(os.path.join(d, log))
            t.ok(text == err, '-daemonize, %s: the log has it too' % name,
                 diag='log %r' % text)


def check_failures(t, qemu):
    bad = 'socket,id=n0'
    check_daemonize_fails(
        t, 'a bad -netdev', ['-netdev', bad],
        'vmwire: -netdev %s: exactly one of listen=, connect=, mcast= or '
        'udp= is required\n' % bad)
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        opts = 'socket,id=n0,listen=127.0.0.1:%d' % busy.getsockname()[1]
        check_daemonize_fails(
            t, 'a busy port with -D', ['-D', 'log', '-netdev', opts],
            "vmwire: -netdev %s: can't bind ip=127.0.0.1 to socket: "
            "Address already in use\n" % opts, log='log')
    check_daemonize_fails(
        t, 'an unwritable -D', ['-D', 'nodir/log'],
        'vmwire: Error opening logfile nodir/log: No such file or '
        'directory\n')
    with tempdir('service') as d:
        bad_pid = os.path.join(d, 'nodir', 'pid')
        check_daemonize_fails(
            t, 'an uncreatable -pidfile', ['-pidfile', bad_pid],
            "vmwire: cannot create PID file: Could not create '%s': No such "
            "file or directory\n" % bad_pid)
    if qemu:
        same_as_qemu(t, qemu, ['-D', 'nodir/log'],
                     'Error opening logfile nodir/log: No such file or '
                     'directory')


def same_as_qemu(t, qemu, args, message):
    """QEMU 7.2 prints `qemu-system-x86_64: MESSAGE` and exits 1."""
    with tempdir('qemu') as d:
        res = subprocess.run([qemu, '-M', 'none', '-nodefaults', '-display',
                              'none'] + args, cwd=d,
                             stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=10)
    first = (res.stdout + res.stderr).split('\n')[0]
    t.ok(res.returncode == 1 and first.split(': ', 1)[-1] == message,
         'QEMU 7.2 says the same: %s' % message,
         diag='exit %s: %r' % (res.returncode, res.stdout + res.stderr))


def check_pidfile_lock(t, qemu):
    port, port2 = free_port(), free_port()
    message = ('cannot create PID file: Cannot lock pid file: Resource '
               'temporarily unavailable')
    with tempdir('service') as d:
        pidfile = os.path.join(d, 'pid')
        first, log = start_foreground(['-pidfile', pidfile] +
                                      listen_args(port), d)
        t.ok(wait_text(log, r'^vmwire: ready$') and
             read(pidfile) == '%d\n' % first.pid,
             'a foreground vmwire writes its own pid', diag=read(log))
        rc, out, err = run_parent(['-pidfile', pidfile] + listen_args(port2),
                                  d)
        t.ok(rc == 1 and out + err == 'vmwire: %s\n' % message,
             'a second vmwire on the same pidfile is refused',
             diag='exit %s: %r' % (rc, out + err))
        rc, out, err = run_parent(['-daemonize', '-pidfile', pidfile] +
                                  listen_args(port2), d)
        t.ok(rc == 1 and out + err == 'vmwire: %s\n' % message and
             not live_daemons(),
             'and so is a second one with -daemonize, leaving no daemon',
             diag='exit %s: %r' % (rc, out + err))
        if qemu:
            same_as_qemu(t, qemu, ['-pidfile', pidfile], message)
        t.ok(first.poll() is None and can_connect(port) and
             read(pidfile) == '%d\n' % first.pid,
             'the first keeps running and keeps its pidfile',
             diag='exit %s, pidfile %r' % (first.poll(), read(pidfile)))
        rc = stop_foreground(first)
        t.ok(rc == 0 and not os.path.exists(pidfile),
             'SIGTERM: exit 0, the pidfile is removed',
             diag='exit %s\n%s' % (rc, read(log)))


def check_pidfile_replaced(t):
    """A pidfile someone replaced is not ours to remove."""
    port = free_port()
    with tempdir('service') as d:
        pidfile = os.path.join(d, 'pid')
        proc, log = start_foreground(['-pidfile', pidfile] +
                                     listen_args(port), d)
        ready = wait_text(log, r'^vmwire: ready$')
        os.rename(pidfile, pidfile + '.old')
        with open(pidfile, 'w') as f:
            f.write('1\n')
        rc = stop_foreground(proc)
        t.ok(ready and rc == 0 and read(pidfile) == '1\n',
             'a pidfile replaced meanwhile is left alone at exit',
             diag='exit %s, pidfile %r\n%s' % (rc, read(pidfile), read(log)))


def _close_stdio():
    _pdeathsig()
    for fd in (0, 1, 2):
        os.close(fd)


def check_closed_stdio(t):
    """Started with fds 0-2 closed, -daemonize and -D must not replace the
    main loop's or the pidfile's fd with /dev/null or the log."""
    port = free_port()
    with tempdir('service') as d:
        pidfile, log = os.path.join(d, 'pid'), os.path.join(d, 'log')
        # Not under $VMWIRE_WRAPPER: valgrind itself dies without a stderr.
        proc = subprocess.Popen([vmwire_binary(),
                                 '-daemonize', '-pidfile', pidfile,
                                 '-D', log] + listen_args(port), cwd=d,
                                preexec_fn=_close_stdio)
        _foreground.add(proc)
        try:
            rc = proc.wait(scaled(20))
        except subprocess.TimeoutExpired:
            rc = None
        _foreground.discard(proc)
        pid = daemon_pid(pidfile)
        t.ok(rc == 0 and pid in live_daemons(),
             'started with stdin, stdout, stderr closed: daemonized',
             diag='exit %s, pidfile %r, log %r' % (rc, read(pidfile),
                                                   read(log)))
        if pid is None:
            return
        rc, out, err = run_parent(['-pidfile', pidfile] + listen_args(port),
                                  d)
        t.ok(rc == 1 and 'Cannot lock pid file' in err,
             'and the pidfile stays locked', diag='exit %s: %r' % (rc, err))
        with socket.create_connection(('127.0.0.1', port), timeout=2) as c:
            peer = '127.0.0.1:%d' % c.getsockname()[1]
            logged = wait_text(log, r'^vmwire: n0: connection from %s$'
                               % peer)
        t.ok(logged, 'and the main loop serves and logs connections',
             diag=read(log))
        start = time.monotonic()
        rc = stop_daemon(pid)
        t.ok(rc == 0 and not os.path.exists(pidfile),
             'and SIGTERM exits 0 and removes the pidfile',
             diag='exit %s after %.1fs\n%s' % (rc, time.monotonic() - start,
                                              read(log)))


def check_log_foreground(t):
    """-D without -daemonize: lines go to the file; errors reach stderr."""
    port = free_port()
    with tempdir('service') as d:
        log = os.path.join(d, 'log')
        proc, out = start_foreground(['-D', log] + listen_args(port), d)
        ready = wait_text(log, r'^vmwire: ready$')
        rc = stop_foreground(proc, signal.SIGINT)
        t.ok(ready and rc == 0 and read(out) == '' and
             re.search(r'^vmwire: shutting down$', read(log), re.MULTILINE),
             '-D: the log lines go to the file, none to stderr',
             diag='exit %s\nstderr %r\nlog %r' % (rc, read(out), read(log)))
        rc, out, err = run_parent(['-D', log, '-netdev', 'socket,id=n0,x=1'],
                                  d)
        expected = "vmwire: -netdev socket,id=n0,x=1: Invalid parameter 'x'\n"
        t.ok(rc == 1 and err == expected and read(log).endswith(expected),
             '-D: a setup error goes to stderr and to the log',
             diag='exit %s\nstderr %r\nlog %r' % (rc, err, read(log)))


def check_notify(t, abstract):
    """NOTIFY_SOCKET gets READY=1 once the listener exists."""
    port = free_port()
    with tempdir('service') as d, \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        if abstract:
            name = '@vmwire-test-%d-%d' % (os.getpid(), port)
            sock.bind('\0' + name[1:])
        else:
            name = os.path.join(d, 'notify')
            sock.bind(name)
        sock.settimeout(scaled(10))
        env = dict(os.environ, NOTIFY_SOCKET=name)
        proc, log = start_foreground(listen_args(port), d, env=env)
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            msg = None
        logged = re.search(r'^vmwire: ready$', read(log), re.MULTILINE)
        connected = can_connect(port)
        form = 'abstract' if abstract else 'path'
        t.ok(msg is not None and 'READY=1' in msg.split('\n') and
             'MAINPID=%d' % proc.pid in msg.split('\n'),
             'NOTIFY_SOCKET (%s): READY=1 and MAINPID arrive' % form,
             diag='%r\n%s' % (msg, read(log)))
        t.ok(msg is not None and logged and connected,
             'NOTIFY_SOCKET (%s): only once ready and listening' % form,
             diag='logged %s, connect %s' % (bool(logged), connected))
        sig = signal.SIGTERM if abstract else signal.SIGINT
        rc = stop_foreground(proc, sig)
        t.ok(rc == 0 and not SANITIZER_REPORT.search(read(log)),
             'NOTIFY_SOCKET (%s): exit 0 on %s' % (form, sig.name),
             diag='exit %s\n%s' % (rc, read(log)))


STAMP = r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z '


def log_lines(text):
    return [line for line in (text or '').split('\n') if line]


def stamped_now(line):
    """True if line starts with STAMP and the time is now, UTC."""
    m = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{6}Z vmwire: ',
                 line)
    if not m:
        return False
    when = calendar.timegm(time.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S'))
    return abs(time.time() - when) < scaled(300)


def run_logging(d, msg_args):
    """A foreground vmwire with msg_args, a monitor and an unused -chardev
    (a warning), until ready, then SIGINT: its exit code and output.  Its
    lines all come from vl.c, monitor/ and util/log.c."""
    qmp, chardev = os.path.join(d, 'qmp.sock'), os.path.join(d, 'c.sock')
    proc, out = start_foreground(
        msg_args + ['-qmp', 'unix:%s,server=on,wait=off' % qmp,
                    '-chardev', 'socket,id=c,path=%s,server=on,wait=off'
                    % chardev], d)
    wait_text(out, r'vmwire: ready$')
    return stop_foreground(proc, signal.SIGINT), read(out)


def check_msg_timestamp(t):
    """-msg timestamp=on prefixes every line; off and no -msg do not."""
    with tempdir('service') as d:
        rc, text = run_logging(d, ['-msg', 'timestamp=on'])
        lines = log_lines(text)
        t.ok(rc == 0 and len(lines) == 3 and
             all(re.match('^' + STAMP + 'vmwire: ', line) for line in lines),
             '-msg timestamp=on: every log line starts with the UTC time',
             diag='exit %s\n%s' % (rc, text))
        t.ok(lines and all(stamped_now(line) for line in lines) and
             re.search('^' + STAMP + r'vmwire: warning: -chardev socket,'
                       r'id=c,.*: not used by any -mon, ignored$', text,
                       re.MULTILINE) and
             re.search('^' + STAMP + r'vmwire: ready$', text, re.MULTILINE)
             and re.search('^' + STAMP + r'vmwire: shutting down$', text,
                           re.MULTILINE),
             '-msg timestamp=on: the time is now (UTC), then the usual line',
             diag=text)
        for args, name in ((['-msg', 'timestamp=off'], 'timestamp=off'),
                           ([], 'no -msg')):
            rc, text = run_logging(d, args)
            lines = log_lines(text)
            t.ok(rc == 0 and len(lines) == 3 and
                 all(line.startswith('vmwire: ') for line in lines) and
                 lines[1:] == ['vmwire: ready', 'vmwire: shutting down'],
                 '%s: log lines start with "vmwire: ", no time' % name,
                 diag='exit %s\n%s' % (rc, text))


def check_msg_timestamp_net(t):
    """-msg timestamp=on stamps the backends' lines too (net/ logs through
    util/log.c like everything else): a peer connects and leaves."""
    with tempdir('service') as d:
        port = free_port()
        proc, out = start_foreground(['-msg', 'timestamp=on'] +
                                     listen_args(port), d)
        wait_text(out, r'vmwire: ready$')
        with socket.create_connection(('127.0.0.1', port)):
            wait_text(out, r'n0: connection from 127\.0\.0\.1:\d+$')
        wait_text(out, r'n0: peer 127\.0\.0\.1:\d+ disconnected$')
        rc = stop_foreground(proc, signal.SIGINT)
        text = read(out)
        lines = log_lines(text)
        t.ok(rc == 0 and len(lines) == 4 and
             all(re.match('^' + STAMP + 'vmwire: ', line) for line in lines)
             and re.match('^' + STAMP + r'vmwire: n0: connection from ',
                          lines[1]),
             '-msg timestamp=on: a backend\'s connection lines are stamped',
             diag='exit %s\n%s' % (rc, text))


def check_msg_refused(t):
    """QEMU's messages for a -msg value vmwire does not take."""
    with tempdir('service') as d:
        for value, message in (
                ('timestamp=maybe',
                 "Parameter 'timestamp' expects 'on' or 'off'"),
                ('guest-name=x', "Invalid parameter 'guest-name'")):
            port = free_port()
            rc, out, err = run_parent(['-msg', value] + listen_args(port), d)
            expected = 'vmwire: -msg %s: %s\n' % (value, message)
            t.ok(rc == 1 and err == expected and out == '' and
                 not can_connect(port),
                 '-msg %s: refused with QEMU\'s message, exit 1' % value,
                 diag='exit %s\nstderr %r' % (rc, err))


def check_msg_timestamp_log(t):
    """-D FILE -msg timestamp=on: the file's lines are stamped too."""
    port = free_port()
    with tempdir('service') as d:
        log = os.path.join(d, 'log')
        proc, out = start_foreground(['-D', 'log', '-msg', 'timestamp=on'] +
                                     listen_args(port), d)
        ready = wait_text(log, '^' + STAMP + r'vmwire: ready$')
        os.rename(log, log + '.1')
        proc.send_signal(signal.SIGHUP)
        reopened = wait_text(log, '^' + STAMP + r'vmwire: log file log '
                             r'reopened$')
        rc = stop_foreground(proc, signal.SIGINT)
        lines = log_lines(read(log + '.1')) + log_lines(read(log))
        t.ok(ready and reopened and rc == 0 and read(out) == '' and
             all(stamped_now(line) for line in lines),
             '-D with -msg timestamp=on: stamped lines in the file, also '
             'after SIGHUP',
             diag='exit %s\nlog.1 %r\nlog %r' % (rc, read(log + '.1'),
                                                 read(log)))
        rc, out, err = run_parent(['-D', 'log', '-msg', 'timestamp=on',
                                   '-netdev', 'socket,id=n0,x=1'], d)
        tail = "vmwire: -netdev socket,id=n0,x=1: Invalid parameter 'x'\n"
        t.ok(rc == 1 and re.fullmatch(STAMP + re.escape(tail), err or '') and
             read(log).endswith(err),
             '-D with -msg timestamp=on: a setup error, stamped, in the log '
             'and on stderr',
             diag='exit %s\nstderr %r\nlog %r' % (rc, err, read(log)))


def qemu_72():
    """The QEMU binary if it is QEMU 7.2, else None."""
    try:
        res = subprocess.run([qemu_binary(), '--version'],
                             stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if not res.stdout.startswith('QEMU emulator version 7.2.'):
        return None
    return qemu_binary()


def main(t):
    become_subreaper()
    qemu = qemu_72()
    if not qemu:
        t.diag('QEMU 7.2 not available: messages not checked against it')
    try:
        check_daemonize_with_log(t)
        check_daemonize_without_log(t)
        check_failures(t, qemu)
        check_pidfile_lock(t, qemu)
        check_pidfile_replaced(t)
        check_closed_stdio(t)
        check_log_foreground(t)
        check_notify(t, abstract=False)
        check_notify(t, abstract=True)
        check_msg_timestamp(t)
        check_msg_timestamp_net(t)
        check_msg_refused(t)
        check_msg_timestamp_log(t)
    finally:
        left = adopted_children()
        kill_everything()
    t.ok(not left, 'no daemon was left running', diag=left)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
