"""vmwire_test: the library behind vmwire's real-binary tests (tests/qtest/).

It runs the real `vmwire` daemon and real QEMU guests and watches them from
outside. Python 3 standard library only.

    TAP          results in TAP; a context manager that turns an exception
                 into a failed test and always ends with the plan
    free_port    a free loopback port
    wait_port_bound  wait until some process has bound/listens on a port
    tempdir      a temporary directory that is always removed
    Vmwire       the daemon: started, waited for "vmwire: ready", stopped
    run_vmwire   run the daemon to completion: (exit code, output)
    Guest        a tiny Linux guest in QEMU (virtio-net) that runs one shell
                 command and reports "VMWIRE-RESULT rc=N" on its console
    ping_cmd, ping_stats   a guest ping command and the parse of its output
    wait_ping_cmd  a guest command that waits (bounded) until an IP answers
    section      the console text after a marker line "== NAME"
    qemu_info_network  `info network` text without vmwire's counters lines
    dhcp_cmd, dhcp_lease   a guest command that takes a DHCP lease with
                 udhcpc and applies it, and the parse of what it printed
    StreamPeer   a Python peer speaking QEMU's stream framing (4-byte
                 big-endian length, then the frame) over TCP: connect (or
                 wrap an accepted socket), send_frames, recv_frame with a
                 timeout, recv_all (everything until quiet), wait_closed;
                 PeerClosed on EOF or reset
    mac_bytes, mac_str, stream_record, eth_frame, parse_eth, arp_frame,
    arp_fields   build and take apart Ethernet (optionally 802.1Q-tagged)
                 and ARP frames, byte for byte

Example (the vmwire options are illustrative):

    with TAP() as t:
        port = free_port()
        with Vmwire(['-netdev', f'socket,id=s0,listen=127.0.0.1:{port}',
                     '-device', 'nic-stub,netdev=s0,ip=10.0.0.1']) as v, \\
             Guest(f'socket,connect=127.0.0.1:{port}', ip='10.0.0.2/24',
                   run=ping_cmd('10.0.0.1')) as g:
            rc, console = g.wait(60)
            t.ok(rc == 0, 'guest pings the nic-stub', diag=console)

A stream peer (say, on a vmwire listen= netdev with a nic-stub at
10.0.2.100):

    with StreamPeer(port) as peer:
        peer.send_frames([arp_frame(1, PEER_MAC, '10.0.2.15', None,
                                    '10.0.2.100')])
        reply = peer.recv_frame(timeout=5)      # None on timeout
        dst, src, vid, ethertype, payload = parse_eth(reply)

Nothing is left behind: every child is stopped and reaped and every temporary
directory removed when its context ends, when the test raises, on SIGINT,
SIGTERM or SIGHUP, and at interpreter exit; children also get SIGKILL from the
kernel (PR_SET_PDEATHSIG) if this process is killed outright.

Environment:
    VMWIRE_BIN          the daemon (default: build/vmwire in the repo)
    VMWIRE_GUEST_DIR    guest image directory (default: build/guest in the
                        repo); built on first use by scripts/build-guest.sh
    VMWIRE_QEMU         the QEMU binary (default: qemu-system-x86_64)
    VMWIRE_ALLOW_SKIP   1: skip_all exits 77 (skip); otherwise 1 (fail)
    VMWIRE_TEST_KEEP    1: keep temporary directories (for debugging)
"""

import atexit
import base64
import ctypes
import fcntl
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD_GUEST = os.path.join(REPO_ROOT, 'scripts', 'build-guest.sh')

# x86 COMMAND_LINE_SIZE is 2048 including the terminating NUL.
KERNEL_CMDLINE_MAX = 2047


class VmwireError(Exception):
    """vmwire did not start, did not get ready, or exited badly."""


class GuestError(Exception):
    """QEMU could not be started for a guest."""


class GuestUnavailable(Exception):
    """The guest image could not be built (the only reason to skip a test)."""


class TestInterrupted(BaseException):
    """Raised in the main thread by SIGTERM or SIGHUP so contexts clean up."""


# --- cleanup of everything we start ------------------------------------------

_live_processes = set()   # subprocess.Popen objects not yet reaped
_live_dirs = set()        # temporary directories not yet removed


def _on_signal(signum, frame):
    # Later signals are ignored so the cleanup they trigger is not cut short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    raise TestInterrupted('signal %d' % signum)


def _install_signal_handlers():
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_signal)
    if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:
        signal.signal(signal.SIGHUP, _on_signal)


_install_signal_handlers()


def _kill_and_reap(proc, term_timeout=0.0):
    """SIGTERM (if term_timeout > 0) then SIGKILL; always reaps. Returns rc."""
    if proc.poll() is None and term_timeout > 0:
        try:
            proc.terminate()
            proc.wait(term_timeout)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    _live_processes.discard(proc)
    return proc.returncode


def _remove_dir(path):
    _live_dirs.discard(path)
    if os.environ.get('VMWIRE_TEST_KEEP') == '1':
        # Renamed, so the stale-directory sweep below leaves it alone.
        kept = os.path.join(os.path.dirname(path),
                            'vmwire-kept.' + os.path.basename(path))
        os.rename(path, kept)
        sys.stderr.write('vmwire_test: kept %s\n' % kept)
        return
    shutil.rmtree(path, ignore_errors=True)


@atexit.register
def _cleanup_everything():
    for proc in list(_live_processes):
        _kill_and_reap(proc)
    for path in list(_live_dirs):
        _remove_dir(path)


# Temporary directories are named vmwire-test.PID.KIND.RANDOM, so that the
# directories of a test process killed with SIGKILL (which cannot clean up)
# are removed by the next test process that imports this module.
_DIR_PREFIX = 'vmwire-test.'


def _make_temp_dir(kind):
    path = tempfile.mkdtemp(prefix='%s%d.%s.' % (_DIR_PREFIX, os.getpid(),
                                                  kind))
    _live_dirs.add(path)
    return path


def _remove_stale_dirs():
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith(_DIR_PREFIX):
            continue
        try:
            pid = int(name.split('.')[1])
            os.kill(pid, 0)
            continue                      # its owner still runs
        except ProcessLookupError:
            pass                          # owner gone: stale
        except (ValueError, IndexError, PermissionError):
            continue                      # not ours to judge
        shutil.rmtree(os.path.join(base, name), ignore_errors=True)


_remove_stale_dirs()


class tempdir:
    """Context manager: a temporary directory, removed with its contents.

    Use it for unix socket paths and scratch files a test passes to vmwire.
    """

    def __init__(self, kind='tmp'):
        self.kind = kind
        self.path = None

    def __enter__(self):
        self.path = _make_temp_dir(self.kind)
        return self.path

    def __exit__(self, *exc):
        _remove_dir(self.path)
        return False


_libc = None


def _set_parent_death_signal():
    """preexec_fn: the child gets SIGKILL if the test process dies."""
    if _libc is not None:
        _libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.prctl   # noqa: B018 (resolve now, not in the child)
except (OSError, AttributeError):
    _libc = None


def _spawn(argv, log_path, env=None, cwd=None):
    """Start argv with stdin from /dev/null, stdout+stderr to log_path."""
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                close_fds=True,
                                preexec_fn=_set_parent_death_signal)
    _live_processes.add(proc)
    return proc


def _read_text(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        return ''
    return data.decode('utf-8', errors='replace').replace('\r\n', '\n')


def _tail(text, lines=40):
    return '\n'.join(text.rstrip('\n').split('\n')[-lines:])


# --- TAP -------------------------------------------------------------------------

class TAP:
    """Test results in TAP, for meson's `protocol: 'tap'`.

    ok() prints `ok N - name` or `not ok N - name` at once (with `# ` diag
    lines on failure); done() prints the plan `1..N` (unless plan() printed it
    first) and exits 1 if anything failed, 0 otherwise. A test that ran no
    assertion fails: a test that cannot fail is a defect.

    As a context manager it calls done() on exit; an exception escaping the
    block becomes a failed test carrying the traceback, and GuestUnavailable
    before any result becomes skip_all().
    """

    def __init__(self):
        self.count = 0
        self.failed = 0
        self.planned = None

    def _print(self, line):
        sys.stdout.write(line + '\n')
        sys.stdout.flush()

    def plan(self, count):
        """Print the plan up front (optional; done() prints it otherwise)."""
        self.planned = count
        self._print('1..%d' % count)

    def diag(self, text):
        """Print text as TAP diagnostics (`# ` lines)."""
        for line in str(text).rstrip('\n').split('\n'):
            self._print('# ' + line)

    def ok(self, cond, name, diag=None):
        """Record one result; diag (text or callable) is shown on failure."""
        self.count += 1
        name = ' '.join(str(name).split()).replace('#', '\\#')
        if cond:
            self._print('ok %d - %s' % (self.count, name))
        else:
            self.failed += 1
            self._print('not ok %d - %s' % (self.count, name))
            if diag is not None:
                self.diag(diag() if callable(diag) else diag)
        return bool(cond)

    def skip_all(self, reason):
        """Skip the whole test: only for "the guest could not be built".

        CI must not count a skip as a pass, so this exits 77 (skip) only if
        VMWIRE_ALLOW_SKIP=1 and 1 (failure) otherwise.
        """
        if self.count:
            self.ok(False, 'cannot skip after results: ' + reason)
            self.done()
        reason = ' '.join(str(reason).split())
        self._print('1..0 # SKIP ' + reason)
        if os.environ.get('VMWIRE_ALLOW_SKIP') == '1':
            sys.exit(77)
        self.diag('skipping counts as a failure unless VMWIRE_ALLOW_SKIP=1')
        sys.exit(1)

    def done(self):
        """Print the plan if not printed yet and exit with the verdict."""
        if self.count == 0:
            self.ok(False, 'the test ran no assertion')
        if self.planned is None:
            self._print('1..%d' % self.count)
        elif self.planned != self.count:
            self.diag('planned %d tests but ran %d' % (self.planned,
                                                       self.count))
            sys.exit(1)
        sys.exit(1 if self.failed else 0)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is SystemExit:
            return False
        if exc_type is GuestUnavailable and self.count == 0:
            self.skip_all('guest could not be built: %s' % exc)
        if exc_type in (KeyboardInterrupt, TestInterrupted):
            self.ok(False, 'interrupted (%s)' % (exc or 'SIGINT'))
        elif exc_type is not None:
            self.ok(False, 'test raised %s' % exc_type.__name__,
                    diag=''.join(traceback.format_exception(exc_type, exc, tb)))
        self.done()


# --- ports -----------------------------------------------------------------------

def free_port(kind='tcp', host='127.0.0.1'):
    """A port on host that is free now for kind 'tcp' or 'udp'.

    The port is released before returning, so another process could take it;
    on loopback in a test suite that is rare enough.
    """
    if kind not in ('tcp', 'udp'):
        raise ValueError("kind must be 'tcp' or 'udp'")
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    stype = socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM
    with socket.socket(family, stype) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_bound(port, kind):
    # /proc/net/{tcp,udp}{,6}: "sl local_address rem_address st ..." with
    # addresses as HEXIP:HEXPORT; TCP state 0A is LISTEN.
    for suffix in ('', '6'):
        try:
            with open('/proc/net/%s%s' % (kind, suffix)) as f:
                lines = f.readlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(':', 1)[1], 16) != port:
                continue
            if kind == 'udp' or fields[3] == '0A':
                return True
    return False


def wait_port_bound(port, kind='tcp', timeout=10.0):
    """Wait until some process listens on TCP port (or has bound UDP port).

    Looks at /proc/net instead of connecting, so a peer that accepts only
    one connection (QEMU's listen=) is not disturbed. Returns True if so.
    """
    deadline = time.monotonic() + timeout
    while True:
        if _port_bound(port, kind):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


# --- vmwire ------------------------------------------------------------------------

def vmwire_binary():
    """The vmwire binary: $VMWIRE_BIN or build/vmwire in the repo."""
    path = os.environ.get('VMWIRE_BIN') or os.path.join(REPO_ROOT, 'build',
                                                        'vmwire')
    return os.path.abspath(path)


def vmwire_command():
    """argv prefix that starts vmwire: $VMWIRE_WRAPPER (e.g. valgrind), then
    the binary. Under a wrapper every timeout of this module is scaled by
    $VMWIRE_TIMEOUT_SCALE (default 1)."""
    return shlex.split(os.environ.get('VMWIRE_WRAPPER', '')) + [vmwire_binary()]


TIMEOUT_SCALE = float(os.environ.get('VMWIRE_TIMEOUT_SCALE', '1'))


def run_vmwire(args, timeout=10.0):
    """Run vmwire to completion (e.g. bad options, --help).

    Returns (exit code, stdout+stderr text); the process is killed and rc is
    None if it is still running after timeout seconds.
    """
    with tempdir('run') as d:
        log_path = os.path.join(d, 'out.log')
        proc = _spawn(vmwire_command() + [str(a) for a in args], log_path)
        try:
            rc = proc.wait(timeout * TIMEOUT_SCALE)
        except subprocess.TimeoutExpired:
            rc = None
        _kill_and_reap(proc)
        return rc, _read_text(log_path)


SANITIZER_REPORT = re.compile(r'ERROR: (Address|Leak|Thread|Memory)Sanitizer'
                              r'|runtime error: ')


class Vmwire:
    """The vmwire daemon as a context manager.

    Entering starts VMWIRE_BIN with args (stdout and stderr go to a log file
    in a private temporary directory) and waits until the log shows the line
    `vmwire: ready` (printed once every listener exists). Exiting sends
    SIGTERM, waits up to 5 s, then SIGKILL, removes the directory, and
    raises VmwireError if the exit code is not expect_rc (None: not checked)
    or the log holds a sanitizer report: these are the checks at exit.

    Attributes: proc (subprocess.Popen), returncode (after stop()).
    """

    def __init__(self, args, ready_timeout=10.0, expect_rc=0, env=None,
                 cwd=None):
        self.args = [str(a) for a in args]
        self.ready_timeout = ready_timeout
        self.expect_rc = expect_rc
        self.env = env
        self.cwd = cwd
        self.proc = None
        self.returncode = None
        self._dir = None
        self._log_path = None

    def start(self):
        binary = vmwire_binary()
        if not os.access(binary, os.X_OK):
            raise VmwireError('vmwire binary %s not found or not executable '
                              '(set VMWIRE_BIN)' % binary)
        self._dir = _make_temp_dir('vmwire')
        self._log_path = os.path.join(self._dir, 'vmwire.log')
        self.proc = _spawn(vmwire_command() + self.args, self._log_path,
                           self.env, self.cwd)
        if not self.wait_log(r'^vmwire: ready$', self.ready_timeout):
            rc = self.proc.poll()
            self.stop()
            log = self.log()
            self._cleanup()
            state = ('exited with status %s' % rc if rc is not None else
                     'not ready after %gs' % self.ready_timeout)
            raise VmwireError('%s %s: %s\n%s' % (
                binary, shlex.join(self.args), state, _tail(log)))
        return self

    def log(self):
        """Everything vmwire printed so far (stdout and stderr)."""
        return _read_text(self._log_path) if self._log_path else ''

    def wait_log(self, regex, timeout=10.0, since=0):
        """Wait until regex (re.MULTILINE) matches the log from offset since.

        Returns the match, or None on timeout or if vmwire exited without
        printing it. len(v.log()) is the offset for "from now on".
        """
        pattern = re.compile(regex, re.MULTILINE)
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while True:
            exited = self.proc.poll() is not None
            match = pattern.search(self.log(), since)
            if match or exited or time.monotonic() >= deadline:
                return match
            time.sleep(0.02)

    def stop(self, timeout=5.0):
        """SIGTERM, up to timeout seconds, SIGKILL. Returns the exit code.

        Idempotent. A negative code is the signal that ended the process:
        -9 means vmwire ignored SIGTERM for timeout seconds.
        """
        if self.proc is not None and self.returncode is None:
            self.returncode = _kill_and_reap(self.proc,
                                             timeout * TIMEOUT_SCALE)
        return self.returncode

    def problems(self):
        """Why this run counts as failed at exit ('' if it does not)."""
        out = []
        rc = self.stop()
        if rc == -signal.SIGKILL:
            out.append('vmwire did not exit after SIGTERM (killed with SIGKILL)')
        elif self.expect_rc is not None and rc != self.expect_rc:
            out.append('vmwire exited with status %s, expected %s'
                       % (rc, self.expect_rc))
        if SANITIZER_REPORT.search(self.log()):
            out.append('vmwire log holds a sanitizer report')
        return '; '.join(out)

    def _cleanup(self):
        if self._dir:
            _remove_dir(self._dir)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            problems = self.problems()
            log = self.log()
        finally:
            self._cleanup()
        if problems and exc_type is None:
            raise VmwireError('%s\n%s' % (problems, _tail(log)))
        if exc is not None and hasattr(exc, 'add_note'):
            exc.add_note('vmwire log (last lines):\n' + _tail(log))
        return False


# --- guests ------------------------------------------------------------------------

def guest_dir():
    """The guest image directory: $VMWIRE_GUEST_DIR or build/guest."""
    path = os.environ.get('VMWIRE_GUEST_DIR') or os.path.join(REPO_ROOT,
                                                              'build', 'guest')
    return os.path.abspath(path)


_guest_image = None


def guest_image():
    """Build the guest image if needed; returns (kernel, initrd) paths.

    scripts/build-guest.sh is cached, and runs under a lock so parallel tests
    build once. Raises GuestUnavailable with the script's message on failure.
    The kernel is the decompressed vmlinux (PVH boot, ~2 s faster under TCG)
    when the build produced one, vmlinuz otherwise.
    """
    global _guest_image
    if _guest_image:
        return _guest_image
    out = guest_dir()
    try:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, '.build.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            res = subprocess.run(['bash', BUILD_GUEST, out],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        raise GuestUnavailable(str(e)) from e
    if res.returncode != 0:
        raise GuestUnavailable(res.stdout.decode(errors='replace').strip())
    kernel = os.path.join(out, 'vmlinux')
    if not os.path.exists(kernel):
        kernel = os.path.join(out, 'vmlinuz')
    _guest_image = (kernel, os.path.join(out, 'initramfs.cpio.gz'))
    return _guest_image


def qemu_binary():
    return os.environ.get('VMWIRE_QEMU') or 'qemu-system-x86_64'


def _netdev_id(opts):
    """The id= of a -netdev argument (dotted or JSON), or None."""
    if opts.lstrip().startswith('{'):
        return json.loads(opts).get('id')
    for part in opts.split(','):
        if part.startswith('id='):
            return part[3:]
    return None


_mac_counter = 0


def _next_mac():
    global _mac_counter
    _mac_counter += 1
    pid = os.getpid()
    return '52:54:%02x:%02x:%02x:%02x' % ((pid >> 16) & 0xff, (pid >> 8) & 0xff,
                                          pid & 0xff, _mac_counter & 0xff)


class Guest:
    """A tiny Linux guest in QEMU (TCG) that runs one shell command.

    netdev_opts is a -netdev argument for its virtio-net NIC, dotted
    ('socket,connect=127.0.0.1:5000'; id=n0 is added if it has no id=) or
    JSON; None means no NIC. ip / ip6 ('10.0.0.2/24', 'fd00::2/64') are
    assigned to eth0; run is the shell command (the guest's busybox sh). mac
    defaults to a locally administered address unique in this process. extra
    is appended to QEMU's command line.

    Entering starts QEMU, exiting kills it and removes its temporary files.
    The console (ttyS0) shows VMWIRE-GUEST-UP just before the command runs,
    its output, then VMWIRE-RESULT rc=N; then the guest powers off.
    """

    MEMORY = '256'
    KERNEL_ARGS = 'console=ttyS0 quiet panic=-1 mitigations=off'

    def __init__(self, netdev_opts, ip=None, run=None, mac=None, ip6=None,
                 extra=(), append=''):
        self.netdev_opts = netdev_opts
        self.ip = ip
        self.ip6 = ip6
        self.run = run
        self.mac = mac or _next_mac()
        self.extra = [str(a) for a in extra]
        self.append = append
        self.proc = None
        self.started_at = None
        self._dir = None

    def kernel_cmdline(self):
        words = [self.KERNEL_ARGS]
        if self.ip:
            words.append('vmwire.ip=' + self.ip)
        if self.ip6:
            words.append('vmwire.ip6=' + self.ip6)
        if self.run is not None:
            words.append('vmwire.run=' +
                         base64.b64encode(self.run.encode()).decode())
        if self.append:
            words.append(self.append)
        line = ' '.join(words)
        if len(line) > KERNEL_CMDLINE_MAX:
            raise ValueError('guest command too long: kernel command line '
                             'would be %d bytes, the limit is %d'
                             % (len(line), KERNEL_CMDLINE_MAX))
        return line

    def qemu_argv(self):
        kernel, initrd = guest_image()
        argv = [qemu_binary(), '-M', 'pc', '-accel', 'tcg',
                '-m', self.MEMORY, '-nodefaults', '-no-user-config',
                '-display', 'none', '-no-reboot',
                '-serial', 'file:' + os.path.join(self._dir, 'console.log'),
                '-kernel', kernel, '-initrd', initrd,
                '-append', self.kernel_cmdline()]
        if self.netdev_opts is not None:
            opts = self.netdev_opts
            netdev_id = _netdev_id(opts)
            if netdev_id is None:
                netdev_id = 'n0'
                if opts.lstrip().startswith('{'):
                    opts = json.dumps(dict(json.loads(opts), id='n0'))
                else:
                    opts += ',id=n0'
            # romfile= : no PXE option ROM; we boot with -kernel, so it is
            # not needed, and QEMU then needs no ipxe-qemu ROM files.
            argv += ['-netdev', opts, '-device',
                     'virtio-net-pci,netdev=%s,mac=%s,romfile='
                     % (netdev_id, self.mac)]
        return argv + self.extra

    def start(self):
        self.kernel_cmdline()        # fail early on a too long command
        guest_image()
        self._dir = _make_temp_dir('guest')
        argv = self.qemu_argv()
        self.started_at = time.monotonic()
        try:
            self.proc = _spawn(argv, os.path.join(self._dir, 'qemu.log'))
        except OSError as e:
            self.close()
            raise GuestError('cannot start %s: %s' % (argv[0], e)) from e
        return self

    def console(self):
        """The guest console so far (\\r\\n turned into \\n)."""
        return _read_text(os.path.join(self._dir, 'console.log')) \
            if self._dir else ''

    def qemu_log(self):
        """What QEMU itself printed (errors, warnings)."""
        return _read_text(os.path.join(self._dir, 'qemu.log')) \
            if self._dir else ''

    def wait_console(self, regex, timeout=60.0, since=0):
        """Wait until regex (re.MULTILINE) matches the console from offset
        since; returns the match, or None on timeout or QEMU exit."""
        pattern = re.compile(regex, re.MULTILINE)
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while True:
            exited = self.proc.poll() is not None
            match = pattern.search(self.console(), since)
            if match or exited or time.monotonic() >= deadline:
                return match
            time.sleep(0.05)

    def wait_up(self, timeout=60.0):
        """Wait for VMWIRE-GUEST-UP; returns seconds since start, or None."""
        if self.wait_console(r'^VMWIRE-GUEST-UP$', timeout) is None:
            return None
        return time.monotonic() - self.started_at

    def wait(self, timeout=60.0):
        """Wait for the command's result: returns (rc, console_text).

        rc is None if the guest did not report within timeout (QEMU is then
        killed) or QEMU ended without a result line; console_text then ends
        with what QEMU printed, to explain why.
        """
        match = self.wait_console(r'^VMWIRE-RESULT rc=(\d+)$', timeout)
        if match:
            try:
                self.proc.wait(10)       # the guest powers itself off
            except subprocess.TimeoutExpired:
                pass
            self.kill()
            return int(match.group(1)), self.console()
        running = self.proc.poll() is None
        self.kill()
        why = ('no result after %gs' % timeout if running else
               'QEMU exited with status %s and no result' % self.proc.returncode)
        text = self.console() + '\n[vmwire_test: %s]\n' % why
        qemu = self.qemu_log().strip()
        if qemu:
            text += '[QEMU output]\n%s\n' % qemu
        return None, text

    def kill(self):
        """Stop QEMU now (SIGKILL) and reap it. Idempotent."""
        if self.proc is not None:
            _kill_and_reap(self.proc)

    def close(self):
        self.kill()
        if self._dir:
            _remove_dir(self._dir)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False


# --- guest commands ------------------------------------------------------------------

def ping_cmd(target, count=3, interval=0.2, wait=2):
    """A guest shell command pinging target count times, bounded in time.

    busybox ping: -i interval between requests, -W seconds to wait for the
    last reply, -w an overall deadline so it never hangs. Exit status 0 if at
    least one reply came back (use ping_stats to require all of them).
    IPv6 targets work too (busybox ping picks the family from the address).
    """
    deadline = int(count * interval + wait + 3)
    return 'ping -c %d -i %s -W %d -w %d %s' % (count, interval, wait,
                                                 deadline, shlex.quote(target))


def ping_stats(console):
    """(transmitted, received) from the last busybox ping summary, or None."""
    found = re.findall(r'^(\d+) packets transmitted, (\d+) packets received',
                       console, re.MULTILINE)
    if not found:
        return None
    return int(found[-1][0]), int(found[-1][1])


# Guest shell pieces for tests whose guests run several steps.  PRELUDE:
# rc (0 unless a step called fail), fail MESSAGE, wait_for IP TRIES (one
# ping a second until IP answers; status 1 if it never did).
GUEST_SH_PRELUDE = r'''
rc=0
fail() { echo "FAILED: $*"; rc=1; }
wait_for() {
    i=0
    until ping -c 1 -W 1 "$1" > /dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt "$2" ] || return 1
    done
    return 0    # not the status of the loop's last [ ] test
}
'''


def guest_done_listen(port):
    """Guest shell: listen on TCP port for the other guest's "done" (see
    guest_done_handshake); start it before anything else."""
    return ('timeout 75 nc -l -p %d > /tmp/peer_done &\n'
            'listener=$!\n' % port)


def guest_done_handshake(peer, port):
    """Guest shell: tell peer (which runs guest_done_listen(port)) that
    this guest is done, then wait for its word, so that neither guest
    powers off while the other still needs it."""
    return (r'''i=0
until echo done | nc -w 3 %(peer)s %(port)d; do
    i=$((i + 1))
    [ $i -lt 10 ] || { fail "cannot tell %(peer)s we are done"; break; }
    sleep 1
done
wait $listener
[ "$(cat /tmp/peer_done)" = done ] || fail "no word from %(peer)s"
''' % {'peer': shlex.quote(peer), 'port': port})


# Guest shell: accept one TCP connection on port 5001 and print
# "== recv" and then how many bytes it brought; "== end" after.  nc's
# stdin is a FIFO that never ends, so nc does not hang up first.
GUEST_SH_RECEIVE_COUNT = ('mkfifo /tmp/f; exec 3<>/tmp/f\n'
                          'echo "== recv"\n'
                          'nc -l -p 5001 < /tmp/f | wc -c\n'
                          'echo "== end"\n')


def check_vmwire_exit(t, name, v):
    """SIGTERM ends vmwire v with status 0 and no sanitizer report."""
    rc = v.stop()
    t.ok(rc == 0, '%s exits 0 on SIGTERM (rc=%s)' % (name, rc), diag=v.log)
    t.ok(not SANITIZER_REPORT.search(v.log()),
         '%s: no sanitizer report' % name, diag=v.log)


def wait_ping_cmd(target, tries=30):
    """A guest shell snippet that pings target once a second until it
    answers, at most tries times; it prints "FAILED: TARGET never answered"
    if it never does (and goes on).  Use it where the other end may come up
    after this guest; what it waits for is not counted."""
    return ('i=0; until ping -c 1 -W 1 %(t)s > /dev/null 2>&1; do '
            'i=$((i + 1)); [ $i -lt %(n)d ] || '
            '{ echo "FAILED: %(t)s never answered"; break; }; done\n'
            % {'t': shlex.quote(target), 'n': tries})


def qemu_info_network(text):
    """`info network` text as QEMU 7.2 prints it: vmwire's extra
    "  counters ID: ..." line under each client left out."""
    return ''.join(ln for ln in text.splitlines(keepends=True)
                   if not ln.startswith('  counters '))


def dhcp_cmd(iface='eth0', tries=10):
    """A guest shell snippet: bring iface up, take a DHCP lease with
    busybox udhcpc, apply it (address, default route) and print
    "VMWIRE-LEASE ip=A mask=N router=R dns=D host=H" (parse with
    dhcp_lease()), or "VMWIRE-LEASE none" when no server answered.  The
    address is also left in /tmp/dhcp.ip for the commands that follow."""
    script = ('#!/bin/sh\n'
              'case "$1" in bound|renew)\n'
              '  ip addr flush dev "$interface"\n'
              '  ip addr add "$ip/$mask" dev "$interface"\n'
              '  for r in $router; do ip route add default via "$r"; done\n'
              '  echo "$ip" > /tmp/dhcp.ip\n'
              '  echo "VMWIRE-LEASE ip=$ip mask=$mask router=$router '
              'dns=$dns host=$hostname"\n'
              'esac\n')
    return ('ip link set %(i)s up\n'
            'printf %%s %(s)s > /tmp/dhcp.sh; chmod +x /tmp/dhcp.sh\n'
            'udhcpc -i %(i)s -s /tmp/dhcp.sh -q -n -t %(n)d -T 1 '
            '|| echo "VMWIRE-LEASE none"\n'
            % {'i': shlex.quote(iface), 's': shlex.quote(script),
               'n': tries})


def dhcp_lease(console):
    """The lease dhcp_cmd() printed: a dict (ip, mask, router, dns, host),
    or None."""
    match = re.search(r'^VMWIRE-LEASE (ip=.*)$', console, re.MULTILINE)
    if not match:
        return None
    return dict(re.findall(r'(\w+)=(\S*)', match.group(1)))


def section(console, name):
    """The console text after the marker line '== name' up to the next
    '== ' line (or the end); '' if there is no such marker."""
    match = re.search(r'^== %s$(.*?)(?=^== |\Z)' % re.escape(name), console,
                      re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ''


# --- stream peers and frames ----------------------------------------------

BROADCAST = b'\xff' * 6
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100


def mac_bytes(mac):
    """'52:54:00:00:00:01' -> 6 bytes (bytes pass through)."""
    if isinstance(mac, (bytes, bytearray)):
        return bytes(mac)
    return bytes.fromhex(mac.replace(':', ''))


def mac_str(mac):
    """6 bytes -> '52:54:00:00:00:01'."""
    return ':'.join('%02x' % b for b in mac)


def _ip4(ip):
    return ip if isinstance(ip, (bytes, bytearray)) else socket.inet_aton(ip)


def stream_record(frame):
    """A frame as it goes on a QEMU stream: 4-byte big-endian length first."""
    return len(frame).to_bytes(4, 'big') + frame


def eth_frame(dst, src, ethertype, payload, vid=None):
    """An Ethernet frame (no padding, no FCS); vid adds an 802.1Q tag."""
    tag = b'' if vid is None else (ETH_P_8021Q.to_bytes(2, 'big') +
                                   (vid & 0x0fff).to_bytes(2, 'big'))
    return (mac_bytes(dst) + mac_bytes(src) + tag +
            ethertype.to_bytes(2, 'big') + payload)


def parse_eth(frame):
    """(dst, src, vid or None, ethertype, payload) of an Ethernet frame;
    MACs as bytes.  None if it is shorter than a header."""
    if len(frame) < 14:
        return None
    ethertype = int.from_bytes(frame[12:14], 'big')
    if ethertype == ETH_P_8021Q and len(frame) >= 18:
        return (frame[0:6], frame[6:12], int.from_bytes(frame[14:16], 'big')
                & 0x0fff, int.from_bytes(frame[16:18], 'big'), frame[18:])
    return frame[0:6], frame[6:12], None, ethertype, frame[14:]


def arp_frame(op, sender_mac, sender_ip, target_mac, target_ip, dst=None,
              vid=None):
    """An ARP frame (op 1 request, 2 reply) for IPv4 over Ethernet.

    target_mac None means zeros; dst defaults to broadcast for a request and
    to target_mac for a reply.  IPs are dotted strings or 4 bytes.
    """
    target = mac_bytes(target_mac) if target_mac is not None else b'\0' * 6
    if dst is None:
        dst = BROADCAST if op == 1 else target
    arp = (b'\x00\x01\x08\x00\x06\x04' + op.to_bytes(2, 'big') +
           mac_bytes(sender_mac) + _ip4(sender_ip) + target + _ip4(target_ip))
    return eth_frame(dst, sender_mac, ETH_P_ARP, arp, vid)


def arp_fields(frame):
    """(op, sender_mac, sender_ip, target_mac, target_ip) of an ARP frame
    (tagged or not; IPs dotted), or None if it is not ARP for IPv4."""
    parsed = parse_eth(frame)
    if parsed is None or parsed[3] != ETH_P_ARP or len(parsed[4]) < 28:
        return None
    arp = parsed[4]
    return (int.from_bytes(arp[6:8], 'big'), arp[8:14],
            socket.inet_ntoa(arp[14:18]), arp[18:24],
            socket.inet_ntoa(arp[24:28]))


class PeerClosed(Exception):
    """The other end closed (EOF) or reset a StreamPeer's connection."""


class StreamPeer:
    """One TCP connection speaking QEMU's stream framing.

    StreamPeer(port, host='127.0.0.1') connects (host may be '::1');
    StreamPeer(sock=s) wraps a connected socket (e.g. one accepted from a
    vmwire connect=).  Timeouts are in seconds, scaled by
    VMWIRE_TIMEOUT_SCALE.  Attributes: sock, port (the local port), buf
    (bytes received and not yet taken as frames).
    """

    def __init__(self, port=None, host='127.0.0.1', sock=None, timeout=5.0):
        if sock is None:
            sock = socket.create_connection((host, port),
                                            timeout=timeout * TIMEOUT_SCALE)
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]
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
