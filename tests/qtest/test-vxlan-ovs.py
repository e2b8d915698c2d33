#!/usr/bin/env python3
"""-netdev vxlan against Open vSwitch's userspace datapath.

The namespaces and veth pair are vxlanrig's (A: vmwire, 10.199.0.1; B:
Open vSwitch).  In B the test starts its own ovsdb-server (a database
made with `ovsdb-tool create` in a private directory) and ovs-vswitchd,
as children it kills; never the system's service.  OVS's userspace
tunnelling needs the underlay address on an OVS bridge, so B has

  br-phy  datapath_type=netdev, the veth's B end as its port, and the
          underlay address 10.199.0.2/24 on its internal port;
  br-int  datapath_type=netdev, port vx0 `type=vxlan
          options:remote_ip=10.199.0.1 options:key=42`, and the address
          10.42.0.2/24 on its internal port.

In A vmwire runs `-netdev vxlan,vni=42,local=10.199.0.1,
remote=10.199.0.2` on hub 0 with a nic-stub 10.42.0.1/24.  Checked:

  datapath  `ovs-appctl dpif/show` names the userspace datapath
            (netdev@ovs-netdev) and vx0 has an OpenFlow port.
  ping      br-int's address pings the nic-stub over VXLAN.
  fdb       vmwire's x-query-vxlan-fdb learned br-int's MAC behind
            10.199.0.2; OVS's `fdb/show br-int` has the stub's MAC.
  exit      SIGTERM gives vmwire exit status 0, no sanitizer report.
  cleanup   no OVS daemon of the test and neither namespace is left.

The Makefile's TEST_DEPS has openvswitch-switch: the test never skips.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (TAP, TIMEOUT_SCALE, Vmwire,  # noqa: E402
                         check_vmwire_exit, tempdir)
from vxlanrig import (NS_A, NS_B, STUB_MAC, VETH_A, VETH_B,  # noqa: E402
                      fdb_of, in_ns_a, ns, ping_ok, run, teardown)

A, B = '10.199.0.1', '10.199.0.2'
SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'


def secs(s):
    return s * TIMEOUT_SCALE


class Ovs:
    """ovsdb-server and ovs-vswitchd of this test, in namespace B, with
    everything (database, sockets, logs, pid files) under rundir."""

    def __init__(self, rundir):
        self.dir = rundir
        self.env = dict(os.environ, OVS_RUNDIR=rundir, OVS_LOGDIR=rundir,
                        OVS_DBDIR=rundir, OVS_SYSCONFDIR=rundir)
        self.db = os.path.join(rundir, 'db.sock')
        self.procs = []

    def _spawn(self, name, *argv):
        log = open(os.path.join(self.dir, name + '.out'), 'w')
        with log:
            self.procs.append(subprocess.Popen(
                ['ip', 'netns', 'exec', NS_B, name, *argv,
                 '--no-chdir', '--pidfile=%s/%s.pid' % (self.dir, name),
                 '--unixctl=%s/%s.ctl' % (self.dir, name),
                 '--log-file=%s/%s.log' % (self.dir, name)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT))

    def start(self):
        conf = os.path.join(self.dir, 'conf.db')
        subprocess.run(['ovsdb-tool', 'create', conf, SCHEMA], check=True,
                       capture_output=True, env=self.env, timeout=30)
        self._spawn('ovsdb-server', conf, '--remote=punix:' + self.db)
        deadline = time.monotonic() + secs(10)
        while not os.path.exists(self.db):
            if time.monotonic() > deadline:
                raise RuntimeError('ovsdb-server did not start: ' +
                                   self.log('ovsdb-server'))
            time.sleep(0.05)
        self.vsctl('--no-wait', 'init')
        self._spawn('ovs-vswitchd', 'unix:' + self.db)

    def vsctl(self, *argv):
        return subprocess.run(['ovs-vsctl', '--db=unix:' + self.db,
                               '--timeout=%d' % secs(20), *argv],
                              check=True, capture_output=True, text=True,
                              env=self.env, timeout=secs(30)).stdout

    def appctl(self, *argv):
        return subprocess.run(['ovs-appctl', '-t', os.path.join(
            self.dir, 'ovs-vswitchd.ctl'), *argv], capture_output=True,
            text=True, env=self.env, timeout=secs(30)).stdout

    def log(self, name):
        out = ''
        for suffix in ('.out', '.log'):
            try:
                with open(os.path.join(self.dir, name + suffix)) as f:
                    out += f.read()
            except OSError:
                pass
        return out

    def stop(self):
        """SIGTERM to both, then wait up to 10 s; whatever is left, or
        if the wait itself is interrupted (the test got a signal), is
        killed and reaped."""
        try:
            for p in reversed(self.procs):
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in reversed(self.procs):
                try:
                    p.wait(secs(10))
                except subprocess.TimeoutExpired:
                    pass
        finally:
            for p in self.procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()

    def alive(self):
        return [p.pid for p in self.procs if p.poll() is None]


def underlay():
    run('ip', 'netns', 'add', NS_A)
    run('ip', 'netns', 'add', NS_B)
    run('ip', 'link', 'add', VETH_A, 'netns', NS_A, 'type', 'veth',
        'peer', 'name', VETH_B, 'netns', NS_B)
    for name in (NS_A, NS_B):
        ns(name, 'ip', 'link', 'set', 'lo', 'up')
    ns(NS_A, 'ip', 'addr', 'add', A + '/24', 'dev', VETH_A)
    ns(NS_A, 'ip', 'link', 'set', VETH_A, 'up')
    ns(NS_B, 'ip', 'link', 'set', VETH_B, 'up')


def bridges(ovs):
    ovs.vsctl('add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy',
              'datapath_type=netdev', '--', 'add-port', 'br-phy', VETH_B)
    ns(NS_B, 'ip', 'addr', 'add', B + '/24', 'dev', 'br-phy')
    ns(NS_B, 'ip', 'link', 'set', 'br-phy', 'up')
    ovs.vsctl('add-br', 'br-int', '--', 'set', 'bridge', 'br-int',
              'datapath_type=netdev', '--', 'add-port', 'br-int', 'vx0',
              '--', 'set', 'interface', 'vx0', 'type=vxlan',
              'options:remote_ip=' + A, 'options:key=42')
    ns(NS_B, 'ip', 'addr', 'add', '10.42.0.2/24', 'dev', 'br-int')
    ns(NS_B, 'ip', 'link', 'set', 'br-int', 'up')
    info = json.loads(ns(NS_B, 'ip', '-j', 'link', 'show', 'br-int').stdout)
    return info[0]['address']


def check(t, ovs, q, v, br_mac):
    dpif = ovs.appctl('dpif/show')
    ofport = ovs.vsctl('get', 'interface', 'vx0', 'ofport').strip()
    t.ok('netdev@ovs-netdev' in dpif and ofport not in ('', '-1', '[]'),
         'OVS runs the userspace datapath with vx0 as a port',
         diag=lambda: dpif + ofport + ovs.log('ovs-vswitchd'))
    r = ping_ok(target='10.42.0.1')
    t.ok(r.returncode == 0, "OVS's br-int (10.42.0.2) pings the nic-stub "
         'over VXLAN, key 42', diag=lambda: r.stdout + r.stderr + v.log() +
         ovs.log('ovs-vswitchd'))
    entries = fdb_of(q)['entries']
    t.ok(any(e['mac'] == br_mac and e['remote'] == B and not e['static']
             for e in entries),
         "vmwire's FDB learned br-int's MAC behind OVS's address",
         diag=json.dumps(entries))
    fdb = ovs.appctl('fdb/show', 'br-int')
    t.ok(STUB_MAC in fdb, "OVS's fdb/show br-int has the stub's MAC",
         diag=fdb)


def scenario(t, d):
    ovs = Ovs(os.path.join(d, 'ovs'))
    os.mkdir(ovs.dir)
    try:
        underlay()
        ovs.start()
        br_mac = bridges(ovs)
        qmp_path = os.path.join(d, 'qmp.sock')
        args = ['-netdev', 'vxlan,id=vx,vni=42,local=%s,remote=%s' % (A, B),
                '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
                '-netdev', 'hubport,id=p1,hubid=0',
                '-device', 'nic-stub,id=s0,netdev=p1,mac=%s,'
                'ip=10.42.0.1/24' % STUB_MAC,
                '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        with in_ns_a(), Vmwire(args) as v:
            with QMP.unix(qmp_path) as q:
                q.negotiate()
                check(t, ovs, q, v, br_mac)
            check_vmwire_exit(t, 'vmwire', v)
    finally:
        ovs.stop()
    t.ok(not ovs.alive(), "the test's ovsdb-server and ovs-vswitchd ended")


def main():
    with TAP() as t:
        teardown()
        try:
            with tempdir('vxovs') as d:
                scenario(t, d)
        finally:
            teardown()
        left = run('ip', 'netns', 'list').stdout
        t.ok(NS_A not in left and NS_B not in left,
             'both namespaces are gone', diag=left)


if __name__ == '__main__':
    main()
