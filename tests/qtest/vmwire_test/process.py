"""vmwire_test.process: every child and temporary directory a test starts,
and their cleanup.

Children are started with _spawn (stdin /dev/null, output to a log file,
SIGKILL from the kernel if the test process dies) and reaped with
_kill_and_reap; temporary directories (tempdir) are named
vmwire-test.PID.KIND.RANDOM so the next test process removes those of one
killed outright.  Whatever is still alive at SIGTERM, SIGHUP or interpreter
exit is stopped and removed.  TIMEOUT_SCALE ($VMWIRE_TIMEOUT_SCALE) scales
every timeout of the package.
"""

import atexit
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

TIMEOUT_SCALE = float(os.environ.get('VMWIRE_TIMEOUT_SCALE', '1'))


class TestInterrupted(BaseException):
    """Raised in the main thread by SIGTERM or SIGHUP so contexts clean up."""


_live_processes = set()   # subprocess.Popen objects not yet reaped
_live_dirs = set()        # temporary directories not yet removed


def cpu_seconds(pid):
    """utime + stime of process pid so far, in seconds (/proc/PID/stat)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def rss_kib(pid):
    """VmRSS of process pid in KiB (/proc/PID/status); 0 if it has none
    (a zombie)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


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


def remove_stale_dirs():
    """Remove the temporary directories of test processes that are gone
    (called at import, and after a forked child ended)."""
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


remove_stale_dirs()


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
