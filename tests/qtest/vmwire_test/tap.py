"""vmwire_test.tap: test results in TAP, for meson's `protocol: 'tap'`."""

import contextlib
import os
import sys
import traceback

from .guest import GuestUnavailable
from .process import TestInterrupted


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

    @contextlib.contextmanager
    def scenario(self, name):
        """A block of results with its own daemon (`with t.scenario('x'),
        Vmwire(...) as v:`): an exception escaping it (vmwire failing its
        exit checks, a QMP error) becomes one failed result and the test
        goes on with the next scenario.  Interrupts and GuestUnavailable
        still end the whole test."""
        try:
            yield
        except (GuestUnavailable, TestInterrupted):
            raise
        except Exception as e:
            self.ok(False, '%s: raised %s' % (name, type(e).__name__),
                    diag=traceback.format_exc())

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
