#!/usr/bin/env python3
"""libvirt drives QEMU domains onto vmwire, with libvirt's own interface
types (docs/libvirt.md).

The test starts its own libvirtd (Debian 12's libvirt 9.0) and stops it at
the end.  libvirtd runs in a private mount namespace (`unshare -m`) where
/etc/libvirt, /run, /var/lib/libvirt, /var/cache/libvirt and
/var/log/libvirt are bind mounts of directories under the test's
temporary directory, and its sockets are in that directory too
(libvirtd.conf `unix_sock_dir`), so virsh reaches it with
`qemu:///system?socket=...` and nothing of the machine's own libvirt
(config, state, default network) is read or written.  Its qemu.conf runs
QEMU as root with no security driver, no cgroups and no /dev namespace:
there is no AppArmor, no systemd and no cgroup delegation here, and QEMU
must open the test's files and vmwire's sockets.

vmwire runs its default network's command line (a learning hub with a
`-netdev user` uplink: DHCP, NAT, the host as 10.0.2.2; a unix and a TCP
listener; a vhost-user listener; QMP), plus what the other interface
types need: a TCP client that connects to a QEMU listener
(`-netdev stream,server=off,...,reconnect-ms=`), a point-to-point UDP
socket and a multicast socket, each on a hub port.  Five domains, one per
interface type, are written as XML, `virsh define`d and `virsh start`ed
at once, booting the test guest's kernel and initramfs directly under TCG:

  client     <interface type='client'> to vmwire's TCP listener
  server     <interface type='server'>: QEMU listens, vmwire connects
  udp        <interface type='udp'> with <local>
  mcast      <interface type='mcast'>
  vhostuser  <interface type='vhostuser'> (mode='client') with memfd
             shared memory; <qemu:override> sets the device's vectors=0
             (QEMU 7.2 under TCG crashes with MSI-X on vhost-user)

Each guest takes a DHCP lease from vmwire (the five leases are
10.0.2.15-19), sends a line over TCP to a server of this test on the
host's 127.0.0.1 (as 10.0.2.2) and pings every other guest.  Then each
domain is `virsh destroy`ed and vmwire shows it: `VM MAC left hub 0` for
the ports of its listeners, `connection to ... closed` for its TCP client.
A UDP or multicast peer has no connection, so its going is not seen.  At
the end no domain, QEMU or libvirtd process and no file is left, and
vmwire exits 0 without a sanitizer report.
"""

import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.process import _kill_and_reap, _spawn  # noqa: E402
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import (GUEST_SH_PRELUDE, TAP, TIMEOUT_SCALE,  # noqa: E402
                         Guest, Vmwire, dhcp_cmd, dhcp_lease, free_port,
                         guest_image, qemu_binary, tempdir)

LEASES = ['10.0.2.%d' % n for n in range(15, 20)]
MCAST_GROUP = '230.0.15.1'
GUEST_TIMEOUT = 300         # every guest done, all five booting at once
LIBVIRTD_TIMEOUT = 30
QEMU_NS = 'http://libvirt.org/schemas/domain/qemu/1.0'

# Private libvirtd: no authentication on a socket only root can open, only
# warnings and errors logged (to the test's log file).
LIBVIRTD_CONF = '''unix_sock_dir = "%(sock)s"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:stderr"
'''

# QEMU as root, unconfined: see the module docstring and docs/libvirt.md.
QEMU_CONF = '''user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
'''

# Directories the private libvirtd sees in place of the machine's.
BIND_MOUNTS = [('etc', '/etc/libvirt'), ('run', '/run'),
               ('lib', '/var/lib/libvirt'), ('cache', '/var/cache/libvirt'),
               ('log', '/var/log/libvirt')]


class Libvirtd:
    """A private libvirtd in a mount namespace, its state under dir.

    virsh(*args) runs virsh against it; stop() destroys and undefines every
    domain, stops libvirtd and kills any QEMU it left (by its pid file).
    """

    def __init__(self, dir):
        self.dir = dir
        self.sock = os.path.join(dir, 'sock', 'libvirt-sock')
        self.uri = 'qemu:///system?socket=' + self.sock
        self.log_path = os.path.join(dir, 'libvirtd.log')
        self.proc = None

    def start(self):
        for sub in ['sock'] + [src for src, _ in BIND_MOUNTS]:
            os.makedirs(os.path.join(self.dir, sub))
        conf = os.path.join(self.dir, 'libvirtd.conf')
        with open(conf, 'w') as f:
            f.write(LIBVIRTD_CONF % {'sock': os.path.dirname(self.sock)})
        with open(os.path.join(self.dir, 'etc', 'qemu.conf'), 'w') as f:
            f.write(QEMU_CONF)
        mounts = ' && '.join('mount --bind %s %s' % (
            shlex.quote(os.path.join(self.dir, src)), dst)
            for src, dst in BIND_MOUNTS)
        script = '%s && exec libvirtd --config %s' % (mounts,
                                                       shlex.quote(conf))
        self.proc = _spawn(['unshare', '--mount', '--propagation', 'private',
                            'sh', '-c', script], self.log_path)
        deadline = time.monotonic() + LIBVIRTD_TIMEOUT * TIMEOUT_SCALE
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.virsh('version').returncode == 0:
                return True
            time.sleep(0.2)
        return False

    def log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def virsh(self, *args):
        return subprocess.run(['virsh', '-c', self.uri] + list(args),
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60 * TIMEOUT_SCALE)

    def qemu_log(self, name):
        """What libvirt wrote about domain name's QEMU (its command line,
        its errors): /var/log/libvirt/qemu/NAME.log in the namespace."""
        try:
            with open(os.path.join(self.dir, 'log', 'qemu', name + '.log'),
                      errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def qemu_pids(self):
        """Pids of the QEMUs libvirt started and has not reaped."""
        pids = []
        state = os.path.join(self.dir, 'run', 'libvirt', 'qemu')
        for name in os.listdir(state) if os.path.isdir(state) else []:
            if name.endswith('.pid'):
                with open(os.path.join(state, name)) as f:
                    text = f.read().strip()
                if text.isdigit() and _is_qemu(int(text)):
                    pids.append(int(text))
        return pids

    def stop(self):
        """Returns the QEMU pids that were still alive after libvirtd went
        (killed here); [] when libvirt had stopped them all."""
        if self.proc is None:
            return []
        if self.proc.poll() is None:
            names = self.virsh('list', '--all', '--name').stdout.split()
            for name in names:
                self.virsh('destroy', name)
                self.virsh('undefine', name)
        left = self.qemu_pids()
        _kill_and_reap(self.proc, 10 * TIMEOUT_SCALE)
        left += [pid for pid in self.qemu_pids() if pid not in left]
        for pid in left:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.proc = None
        return left


def kill_stale_qemus():
    """SIGKILL the QEMUs a test-libvirt process killed outright (SIGKILL,
    no cleanup) left behind: libvirt's QEMUs are not the test's children,
    so neither PR_SET_PDEATHSIG nor the end of libvirtd stops them.  They
    are known by their domain's name (dom_name), whose PID is gone.
    Returns the pids killed."""
    killed = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmdline = f.read()
        except OSError:
            continue
        owner = re.search(rb'\0guest=vmwire-test-(\d+)-', cmdline)
        if (b'qemu-system' not in cmdline.split(b'\0')[0] or not owner
                or os.path.exists('/proc/%s' % owner.group(1).decode())):
            continue
        try:
            os.kill(int(entry), 9)
            killed.append(int(entry))
        except ProcessLookupError:
            pass
    return killed


def _is_qemu(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return b'qemu-system' in f.read()
    except OSError:
        return False


class HostServer:
    """A TCP server on the host's 127.0.0.1 that keeps the first line of
    every connection (the guests reach it as 10.0.2.2)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lines = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    data = conn.recv(200)
                except OSError:
                    continue
                self.lines.append(data.decode(errors='replace').strip())

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


class Ports:
    """The ports and sockets of one run."""

    def __init__(self, dir):
        self.tcp = free_port()
        self.server = free_port()
        self.udp_qemu = free_port('udp')
        self.udp_vmwire = free_port('udp')
        self.mcast = free_port('udp')
        self.unix = os.path.join(dir, 'default.sock')
        self.vhost = os.path.join(dir, 'vhost-user.sock')
        self.qmp = os.path.join(dir, 'qmp.sock')


def vmwire_args(p):
    """vmwire's default network (system/default-net.c) on the test's own
    sockets and TCP port, plus a connector, a UDP and a multicast port."""
    return [
        # the default network
        '-netdev', 'user,id=uplink',
        '-netdev', 'hubport,id=uplink.port,hubid=0,netdev=uplink',
        '-netdev', 'stream,id=vms,server=on,addr.type=unix,addr.path=%s,'
                   'hubid=0' % p.unix,
        '-netdev', 'socket,id=tcp,listen=127.0.0.1:%d,hubid=0' % p.tcp,
        '-netdev', 'vhost-user,id=vhost,addr.type=unix,addr.path=%s,hubid=0'
                   % p.vhost,
        '-qmp', 'unix:%s,server=on,wait=off' % p.qmp,
        # <interface type='server'>: vmwire connects, again after a loss
        '-netdev', 'stream,id=server,server=off,addr.type=inet,'
                   'addr.host=127.0.0.1,addr.port=%d,reconnect-ms=1000'
                   % p.server,
        '-netdev', 'hubport,id=server.port,hubid=0,netdev=server',
        # <interface type='udp'>: the mirror image of the domain's
        '-netdev', 'socket,id=udp,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d'
                   % (p.udp_qemu, p.udp_vmwire),
        '-netdev', 'hubport,id=udp.port,hubid=0,netdev=udp',
        # <interface type='mcast'>: the same group and port
        '-netdev', 'socket,id=mcast,mcast=%s:%d' % (MCAST_GROUP, p.mcast),
        '-netdev', 'hubport,id=mcast.port,hubid=0,netdev=mcast',
    ]


def interfaces(p):
    """{domain name: its <interface> element} (the parts docs/libvirt.md
    shows)."""
    return {
        'client': "<interface type='client'>"
                  "<source address='127.0.0.1' port='%d'/>" % p.tcp,
        'server': "<interface type='server'>"
                  "<source address='127.0.0.1' port='%d'/>" % p.server,
        'udp': "<interface type='udp'>"
               "<source address='127.0.0.1' port='%d'>"
               "<local address='127.0.0.1' port='%d'/></source>"
               % (p.udp_vmwire, p.udp_qemu),
        'mcast': "<interface type='mcast'>"
                 "<source address='%s' port='%d'/>" % (MCAST_GROUP, p.mcast),
        'vhostuser': "<interface type='vhostuser'>"
                     "<source type='unix' path='%s' mode='client'>"
                     "<reconnect enabled='yes' timeout='1'/></source>"
                     % p.vhost,
    }


# Only the vhost-user domain: its NIC (alias net0) gets vectors=0.
VHOST_OVERRIDE = '''
  <qemu:override>
    <qemu:device alias='net0'>
      <qemu:frontend>
        <qemu:property name='vectors' type='unsigned' value='0'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>'''

# memfd memory shared with vmwire, needed by vhost-user only.
SHARED_MEMORY = '''
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>'''


def dom_name(name):
    """A domain's name: it carries the test's pid (see kill_stale_qemus)."""
    return 'vmwire-test-%d-%s' % (os.getpid(), name)


def domain_xml(name, mac, interface, console, cmdline):
    kernel, initrd = guest_image()
    vhost = name == 'vhostuser'
    return '''<domain type='qemu' xmlns:qemu='%(ns)s'>
  <name>%(name)s</name>
  <memory unit='MiB'>%(mem)s</memory>
  <vcpu>1</vcpu>%(shared)s
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%(kernel)s</kernel>
    <initrd>%(initrd)s</initrd>
    <cmdline>%(cmdline)s</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>%(qemu)s</emulator>
    %(interface)s
      <mac address='%(mac)s'/>
      <model type='virtio'/>
      <rom enabled='no'/>
    </interface>
    <serial type='file'>
      <source path='%(console)s'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>%(override)s
</domain>
''' % {'ns': QEMU_NS, 'name': dom_name(name), 'mem': Guest.MEMORY,
       'shared': SHARED_MEMORY if vhost else '', 'kernel': kernel,
       'initrd': initrd, 'cmdline': cmdline, 'qemu': _which(qemu_binary()),
       'interface': interface, 'mac': mac, 'console': console,
       'override': VHOST_OVERRIDE if vhost else ''}


def _which(program):
    for d in os.environ.get('PATH', '').split(os.pathsep):
        path = os.path.join(d, program)
        if os.access(path, os.X_OK):
            return path
    return program


def guest_run(host_port):
    """Lease, a line to the host, a ping to every other lease; then stay up
    (the others ping this one) until destroyed."""
    return (GUEST_SH_PRELUDE + dhcp_cmd() +
            'my=$(cat /tmp/dhcp.ip)\n'
            'echo "hello from $my" | nc -w 5 10.0.2.2 %d || fail host\n'
            'for ip in %s; do\n'
            '  [ "$ip" = "$my" ] && continue\n'
            '  if wait_for $ip 120 && ping -c 3 -i 0.2 -W 2 -w 8 $ip '
            '> /dev/null; then echo "VMWIRE-PEER $ip ok"\n'
            '  else echo "VMWIRE-PEER $ip failed"; fi\n'
            'done\n'
            'echo "VMWIRE-DONE rc=$rc"\n'
            'sleep 1000\n' % (host_port, ' '.join(LEASES)))


def read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read().replace('\r\n', '\n')
    except FileNotFoundError:
        return ''


def wait_done(consoles, timeout):
    """Wait until every console shows VMWIRE-DONE; returns the names of
    those that do not."""
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while True:
        missing = [name for name, path in consoles.items()
                   if not re.search(r'^VMWIRE-DONE', read(path), re.M)]
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(0.5)


def start_domains(t, lv, d, p, host):
    """Define and start one domain per interface type; returns
    {name: (mac, console path)}."""
    cmdline = Guest(None, run=guest_run(host.port)).kernel_cmdline()
    domains = {}
    for i, (name, interface) in enumerate(interfaces(p).items()):
        mac = '52:54:00:15:00:%02x' % (i + 1)
        console = os.path.join(d, name + '.console')
        xml_path = os.path.join(d, name + '.xml')
        with open(xml_path, 'w') as f:
            f.write(domain_xml(name, mac, interface, console, cmdline))
        define = lv.virsh('define', xml_path)
        start = lv.virsh('start', dom_name(name))
        t.ok(define.returncode == 0 and start.returncode == 0,
             '%s: virsh define and virsh start succeed' % name,
             diag=lambda: define.stdout + define.stderr + start.stdout +
             start.stderr + lv.qemu_log(dom_name(name)))
        domains[name] = (mac, console)
    return domains


def check_guests(t, lv, v, domains, host):
    missing = wait_done({n: c for n, (_, c) in domains.items()},
                        GUEST_TIMEOUT)
    leases = {}
    for name, (mac, console) in domains.items():
        text = read(console)
        diag = (lambda n=name, x=text: x + '\n' + lv.qemu_log(dom_name(n))
                + '\nvmwire:\n' + v.log())
        lease = dhcp_lease(text)
        leases[name] = lease and lease['ip']
        t.ok(name not in missing and lease is not None and
             lease['router'] == '10.0.2.2',
             '%s: the guest takes a DHCP lease from vmwire (%s)'
             % (name, leases[name]), diag=diag)
        peers = re.findall(r'^VMWIRE-PEER (\S+) (\w+)$', text, re.M)
        t.ok(len(peers) == len(LEASES) - 1 and
             all(ok == 'ok' for _, ok in peers),
             '%s: the guest pings the other four guests (%s)'
             % (name, ' '.join('%s %s' % p for p in peers)), diag=diag)
        t.ok('hello from %s' % leases[name] in host.lines,
             '%s: the guest reaches a TCP server on the host as 10.0.2.2'
             % name, diag=lambda: repr(host.lines))
    t.ok(sorted(filter(None, leases.values())) == LEASES,
         'the five guests hold the leases 10.0.2.15-19', diag=repr(leases))


def check_override(t, lv):
    log = lv.qemu_log(dom_name('vhostuser'))
    t.ok(re.search(r'"driver":"virtio-net-pci",[^}]*"vectors":0', log)
         and '"memory-backend-memfd"' in log and '"share":true' in log
         and re.search(r'-chardev socket,id=charnet0,path=[^ ]*,'
                       r'reconnect=1', log),
         'vhostuser: QEMU gets vectors=0 from <qemu:override>, shared '
         'memfd memory and a chardev that reconnects', diag=log)


def check_joined(t, v, domains):
    log = v.log()
    for name, port in (('client', 'tcp'), ('vhostuser', 'vhost')):
        mac = domains[name][0]
        t.ok(re.search(r'^vmwire: %s\.\d+: VM %s joined hub 0$'
                       % (port, mac), log, re.M),
             '%s: vmwire logs "%s.N: VM %s joined hub 0"' % (name, port, mac),
             diag=log)
    t.ok(re.search(r'^vmwire: server: connected to tcp:127\.0\.0\.1:\d+$',
                   log, re.M),
         'server: vmwire connects to the QEMU listener', diag=log)


def check_destroy(t, lv, v, domains, p):
    """Destroy each domain; vmwire shows those it has a connection to
    leaving."""
    seen = {
        'client': r'^vmwire: tcp\.\d+: VM %s left hub 0 \(.* closed\)$'
                  % domains['client'][0],
        'vhostuser': r'^vmwire: vhost\.\d+: VM %s left hub 0 \(.* closed\)$'
                     % domains['vhostuser'][0],
        'server': r'^vmwire: server: connection to tcp:127\.0\.0\.1:%d '
                  r'closed$' % p.server,
    }
    for name in domains:
        since = len(v.log())
        res = lv.virsh('destroy', dom_name(name))
        t.ok(res.returncode == 0, '%s: virsh destroy succeeds' % name,
             diag=res.stdout + res.stderr)
        if name in seen:
            t.ok(v.wait_log(seen[name], 15, since),
                 '%s: vmwire sees the domain go (%s)' % (name, seen[name]),
                 diag=v.log)
        res = lv.virsh('undefine', dom_name(name))
        t.ok(res.returncode == 0, '%s: virsh undefine succeeds' % name,
             diag=res.stdout + res.stderr)


def check_ports_gone(t, p):
    with QMP.unix(p.qmp) as qmp:
        qmp.negotiate()
        nets = {c['id']: c for c in qmp.cmd('x-query-network')}
    left = sorted(n for n in nets if re.match(r'(tcp|vhost)\.\d+$', n))
    t.ok(left == [], 'x-query-network: no port of a destroyed domain is '
         'left on the hub (%s)' % left, diag=repr(nets))
    t.ok('server' in nets and not nets['server']['link-up'],
         'x-query-network: the client vmwire connected with is down',
         diag=repr(nets.get('server')))


def check_nothing_left(t, lv, qemus, left):
    t.ok(len(qemus) == len(LEASES),
         'libvirt started %d QEMU processes (pid files: %s)'
         % (len(LEASES), qemus))
    alive = [pid for pid in qemus if _is_qemu(pid)]
    t.ok(left == [] and alive == [],
         'every QEMU ended with its domain, before libvirtd stopped '
         '(left: %s, alive: %s)' % (left, alive))
    mine = [name for name in os.listdir('/etc/libvirt/qemu')
            if name.startswith('vmwire-')] \
        if os.path.isdir('/etc/libvirt/qemu') else []
    t.ok(mine == [], "the machine's own /etc/libvirt/qemu holds no domain "
         'of the test (%s)' % mine)


def main(t):
    guest_image()
    stale = kill_stale_qemus()
    if stale:
        t.diag('killed QEMUs left by an earlier run killed outright: %s'
               % stale)
    qemus, left = [], []
    with tempdir('libvirt') as d:
        p = Ports(d)
        lv = Libvirtd(os.path.join(d, 'libvirt'))
        host = HostServer()
        try:
            started = lv.start()
            t.ok(started, 'a private libvirtd starts and virsh reaches it',
                 diag=lv.log)
            if not started:
                return
            with Vmwire(vmwire_args(p)) as v:
                domains = start_domains(t, lv, d, p, host)
                qemus = lv.qemu_pids()
                check_guests(t, lv, v, domains, host)
                check_override(t, lv)
                check_joined(t, v, domains)
                check_destroy(t, lv, v, domains, p)
                check_ports_gone(t, p)
        finally:
            host.close()
            left = lv.stop()
    check_nothing_left(t, lv, qemus, left)

if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
