"""vuguests: vmwire with vhost-user ports and a QMP socket, for the
test-vhost-user-guest-*.py qtests (real QEMU guests on vhost-user).

    with VuRig(['-netdev', vhost_user_netdev('v0', VuRig.SOCK, hubid=0)]
               + STUB_ON_HUB) as rig:
        with Guest(None, vhost_user=rig.sock, ip=GUEST_IP, run=...) as g:
            ev = rig.event('NETDEV_STREAM_CONNECTED', 60)
            rig.info('v0.1.conn')     # its `info network` text after type=

VuRig makes a private directory (rig.dir), passes vmwire ARGS with every
VuRig.SOCK replaced by the vhost-user socket path in it (rig.sock) and
every VuRig.DIR by rig.dir, plus `-qmp` on a socket beside it, and
negotiates QMP (rig.q).  stop() and start() stop vmwire and start it
again with the same arguments and QMP path.  Standard library
only.
"""

import os
import re
import time

from vmwire_test.qmp import QMP, QMPTimeout
from vmwire_test import SANITIZER_REPORT, TIMEOUT_SCALE, Vmwire, tempdir

STUB_IP = '10.0.2.100'
STUB_MAC = '52:54:00:00:02:64'
GUEST_IP = '10.0.2.15/24'

# A nic-stub answering ARP and ping at STUB_IP on its own port of hub 0.
STUB_ON_HUB = ['-netdev', 'hubport,id=hs,hubid=0',
               '-device', 'nic-stub,id=s0,netdev=hs,mac=%s,ip=%s/24'
               % (STUB_MAC, STUB_IP)]


def secs(s):
    return s * TIMEOUT_SCALE


def vhost_user_netdev(netdev_id, path, hubid=None, extra=''):
    """vmwire's -netdev for a vhost-user backend listening on path; hubid:
    every frontend gets its own port of that hub (ID.1, ID.2, ...)."""
    opts = 'vhost-user,id=%s,addr.type=unix,addr.path=%s' % (netdev_id, path)
    if hubid is not None:
        opts += ',hubid=%d' % hubid
    return opts + (',' + extra if extra else '')


class VuRig:
    """vmwire (ARGS, VuRig.SOCK standing for rig.sock) and its QMP."""

    SOCK = '@VHOST-USER-SOCKET@'
    DIR = '@RIG-DIR@'

    def __init__(self, args):
        self.template = list(args)
        self.dir = None
        self.v = None
        self.q = None
        self.sock = None
        self.qmp_path = None

    def __enter__(self):
        self._tmp = tempdir('vu-guest')
        self.dir = self._tmp.__enter__()
        self.sock = os.path.join(self.dir, 'vu.sock')
        self.qmp_path = os.path.join(self.dir, 'qmp.sock')
        try:
            self.start()
        except BaseException:
            self._tmp.__exit__(None, None, None)
            raise
        return self

    def args(self):
        return [a.replace(self.SOCK, self.sock).replace(self.DIR, self.dir)
                for a in self.template] + [
            '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path]

    def start(self):
        self.v = Vmwire(self.args(), ready_timeout=secs(10))
        self.v.start()
        self.q = QMP.unix(self.qmp_path)
        self.q.negotiate()

    def stop(self, sig_kill=False):
        """Stop vmwire (SIGTERM, or SIGKILL if sig_kill); returns
        (exit status, its log)."""
        self.q.close()
        if sig_kill:
            self.v.proc.kill()
        rc = self.v.stop()
        log = self.v.log()
        self.v._cleanup()
        return rc, log

    def __exit__(self, *exc):
        try:
            if self.q:
                self.q.close()
            if self.v:
                self.v.__exit__(*exc)
        finally:
            self._tmp.__exit__(*exc)
        return False

    # --- what a user sees ------------------------------------------------

    def hmp(self, line):
        return self.q.cmd('human-monitor-command', {'command-line': line})

    def clients(self):
        """x-query-network as a dict by id."""
        return {c['id']: c for c in self.q.cmd('x-query-network')}

    def info(self, client_id):
        """What `info network` prints after 'ID: index=N,' for client_id
        (e.g. 'type=vhost-user,vhost-user: listening on PATH'), or None;
        a hub port's line (' \\ PORT: ID: ...') counts too."""
        text = self.hmp('info network')
        match = re.search(r'(?:^| )%s: index=\d+,([^\r\n]*)'
                          % re.escape(client_id), text, re.MULTILINE)
        return match.group(1) if match else None

    def wait_info(self, client_id, regex, timeout=10.0):
        """Poll info(client_id) until it matches regex (fullmatch);
        returns the last text seen."""
        deadline = time.monotonic() + secs(timeout)
        got = self.info(client_id)
        while not re.fullmatch(regex, got or '') and \
                time.monotonic() < deadline:
            time.sleep(0.1)
            got = self.info(client_id)
        return got

    def event(self, name, timeout=20.0):
        """The next QMP event called name, or None after timeout."""
        try:
            return self.q.wait_event(name, timeout)
        except QMPTimeout:
            return None

    def check_exit(self, t, what):
        """SIGTERM: exit status 0 and no sanitizer report (one result)."""
        rc = self.v.stop()
        log = self.v.log()
        t.ok(rc == 0 and not SANITIZER_REPORT.search(log),
             '%s: vmwire exits 0 on SIGTERM, no sanitizer report (rc=%s)'
             % (what, rc), diag=log)
