"""vmwire_test.daemon: the vmwire daemon under test.

Vmwire starts it, waits for `vmwire: ready`, captures its output in a log
file and checks its exit (status, no sanitizer report); run_vmwire runs it
to completion; check_vmwire_exit turns the exit checks into TAP results;
VmwireRuns collects the exits of one vmwire per scenario and checks them
all at the end.
"""

import os
import re
import shlex
import signal
import subprocess
import time

from .process import (REPO_ROOT, TIMEOUT_SCALE, _kill_and_reap,
                      _make_temp_dir, _read_text, _remove_dir, _spawn, _tail,
                      tempdir)


class VmwireError(Exception):
    """vmwire did not start, did not get ready, or exited badly."""


def vmwire_binary():
    """The vmwire binary: $VMWIRE_BIN or build/vmwire in the repo."""
    path = os.environ.get('VMWIRE_BIN') or os.path.join(REPO_ROOT, 'build',
                                                        'vmwire')
    return os.path.abspath(path)


def vmwire_sandbox_args():
    """`-sandbox VALUE` if $VMWIRE_TEST_SANDBOX is set (e.g. `on`): the
    qtest suite's second pass runs every vmwire under the seccomp
    allowlist (.ci/run, docs/security.md "Sandbox"); [] otherwise."""
    value = os.environ.get('VMWIRE_TEST_SANDBOX', '')
    return ['-sandbox', value] if value else []


def vmwire_command():
    """argv prefix that starts vmwire: $VMWIRE_WRAPPER (e.g. valgrind), then
    the binary, then vmwire_sandbox_args(). Under a wrapper every timeout
    of this module is scaled by $VMWIRE_TIMEOUT_SCALE (default 1)."""
    return (shlex.split(os.environ.get('VMWIRE_WRAPPER', '')) +
            [vmwire_binary()] + vmwire_sandbox_args())


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


def check_vmwire_exit(t, name, v):
    """SIGTERM ends vmwire v with status 0 and no sanitizer report."""
    rc = v.stop()
    t.ok(rc == 0, '%s exits 0 on SIGTERM (rc=%s)' % (name, rc), diag=v.log)
    t.ok(not SANITIZER_REPORT.search(v.log()),
         '%s: no sanitizer report' % name, diag=v.log)


class VmwireRuns:
    """The exits of one vmwire per scenario, checked together at the end.

        runs = VmwireRuns()
        for name, scenario in SCENARIOS:
            with t.scenario(name), Vmwire(args) as v:
                try:
                    scenario(t, v)
                finally:
                    runs.record(name, v)     # stops v
        runs.check(t, len(SCENARIOS))        # two results

    record() stops v (SIGTERM) and keeps its exit status, its log and
    whatever else the caller passes (extra); check() gives the two results
    a single daemon had: exit status 0 and no sanitizer report, for every
    scenario's vmwire, and fails if a scenario recorded none.
    """

    # Any sanitizer's report (UBSan's SEGV report too): SANITIZER_REPORT
    # and more.
    REPORT = re.compile(r'ERROR: \w+Sanitizer|runtime error: ')

    def __init__(self):
        self.runs = []          # (name, exit status, log, extra)

    def record(self, name, v, extra=None):
        rc = v.stop()
        self.runs.append((name, rc, v.log(), extra))
        return rc

    def logs(self):
        """Every run's exit status and log, for diagnostics."""
        return '\n'.join('--- %s (exit status %s):\n%s' % run[:3]
                         for run in self.runs)

    def check(self, t, expected):
        self.check_status(t, expected)
        self.check_sanitizer(t)

    def check_status(self, t, expected):
        """expected runs were recorded, each with exit status 0."""
        t.ok(len(self.runs) == expected and
             all(rc == 0 for _, rc, _, _ in self.runs),
             'SIGTERM: exit status 0', diag=self.logs)

    def check_sanitizer(self, t):
        t.ok(not any(self.REPORT.search(log) for _, _, log, _ in self.runs),
             'no sanitizer report in the log', diag=self.logs)
