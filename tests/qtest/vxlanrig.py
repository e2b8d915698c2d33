"""vxlanrig: the network namespaces of the vxlan qtests.

Two namespaces (NS_A, NS_B, named after this process) joined by a veth
pair (VETH_A, VETH_B), underlay addresses FAMILIES[4|6] = (A, B, prefix
length) and SECOND[fam], a second address of B; in B Linux's vxlan device
vx0 (VNI 42, dstport 4789, `remote A` or `group G dev VETH_B`) in bridge
br0 with 10.42.0.2/24.  setup() makes them (returns br0's MAC),
teardown() deletes every namespace of the rig (and so the veth pairs and
everything in them); in_ns_a() runs the vmwire daemons the block starts
inside A (VMWIRE_WRAPPER='ip netns exec A ...'), in_ns(name) inside any
of them.  Nothing leaves the namespaces.

setup_three() is the rig of three hosts: A, B and C (THIRD, 10.199.0.4)
each have one veth into a fourth namespace NS_U, the underlay switch (a
bridge there), so VETH_B in B carries only what is sent to or from B;
Linux's vx0 in B has `remote A` and `bridge fdb append ... dst C`.

Capture records an interface of a namespace with dumpcap and decodes
the VXLAN datagrams with tshark.
"""

import contextlib
import json
import os
import signal
import subprocess
import time

PID = os.getpid()
NS_A = 'vmw-vx-a-%d' % PID
NS_B = 'vmw-vx-b-%d' % PID
VETH_A = 'vxa%d' % (PID % 1000000)
VETH_B = 'vxb%d' % (PID % 1000000)
# The three-host rig: C, and U (the switch; its ends of the veth pairs
# are named after the host's with a 'u' in front).
NS_C = 'vmw-vx-c-%d' % PID
NS_U = 'vmw-vx-u-%d' % PID
VETH_C = 'vxc%d' % (PID % 1000000)
THIRD = '10.199.0.4'
STUB_MAC = '52:54:00:00:42:01'
FAMILIES = {
    4: ('10.199.0.1', '10.199.0.2', '24'),
    6: ('fd00:199::1', 'fd00:199::2', '64'),
}
GROUPS = {4: '239.1.1.1', 6: 'ff05::4242'}
# A second address in B: vmwire's second remote= (head-end replication).
SECOND = {4: '10.199.0.3', 6: 'fd00:199::3'}
def run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True,
                          timeout=30)


def ns(name, *argv, check=True):
    return run('ip', 'netns', 'exec', name, *argv, check=check)


def teardown():
    for name in (NS_A, NS_B, NS_C, NS_U):
        run('ip', 'netns', 'del', name, check=False)


def _host(name, dev, fam, *addrs):
    """Loopback up, @addrs on @dev, @dev up, in namespace @name."""
    plen = FAMILIES[fam][2]
    ns(name, 'ip', 'link', 'set', 'lo', 'up')
    for addr in addrs:
        ns(name, 'ip', 'addr', 'add', '%s/%s' % (addr, plen), 'dev', dev,
           *(['nodad'] if fam == 6 else []))
    ns(name, 'ip', 'link', 'set', dev, 'up')


def setup(fam, group=None):
    """Namespaces, the veth pair, and Linux's vxlan in a bridge in B
    (unicast to A, or multicast to @group on B's veth)."""
    a, b, plen = FAMILIES[fam]
    run('ip', 'netns', 'add', NS_A)
    run('ip', 'netns', 'add', NS_B)
    run('ip', 'link', 'add', VETH_A, 'netns', NS_A, 'type', 'veth',
        'peer', 'name', VETH_B, 'netns', NS_B)
    _host(NS_A, VETH_A, fam, a)
    _host(NS_B, VETH_B, fam, b, SECOND[fam])
    # vmwire sends from UDP sockets, whose IPv6 checksum Linux leaves to
    # the device as for any UDP socket; a real NIC fills it in, a veth
    # never does, and the capture would show half-done checksums.  (It
    # also makes the kernel refuse UDP GSO here, EIO: vmwire's fallback.)
    ns(NS_A, 'ethtool', '-K', VETH_A, 'tx', 'off')
    return _linux_vtep(fam, group)


def setup_three():
    """The three-host rig over IPv4 (see the module's doc): returns br0's
    MAC.  Linux floods to A (remote) and C (fdb append)."""
    a, b, _ = FAMILIES[4]
    for name in (NS_A, NS_B, NS_C, NS_U):
        run('ip', 'netns', 'add', name)
    ns(NS_U, 'ip', 'link', 'set', 'lo', 'up')
    ns(NS_U, 'ip', 'link', 'add', 'sw0', 'type', 'bridge')
    for name, dev, addr in ((NS_A, VETH_A, a), (NS_B, VETH_B, b),
                            (NS_C, VETH_C, THIRD)):
        run('ip', 'link', 'add', dev, 'netns', name, 'type', 'veth',
            'peer', 'name', 'u' + dev, 'netns', NS_U)
        ns(NS_U, 'ip', 'link', 'set', 'u' + dev, 'master', 'sw0')
        ns(NS_U, 'ip', 'link', 'set', 'u' + dev, 'up')
        _host(name, dev, 4, addr)
    ns(NS_U, 'ip', 'link', 'set', 'sw0', 'up')
    mac = _linux_vtep(4, None)
    ns(NS_B, 'bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0',
       'dst', THIRD)
    return mac


def _linux_vtep(fam, group):
    """Linux's vx0 in bridge br0 (10.42.0.2/24) in B; returns br0's MAC."""
    a, b, _ = FAMILIES[fam]
    ns(NS_B, 'ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42',
       'local', b, *(['group', group] if group else ['remote', a]),
       'dstport', '4789', 'dev', VETH_B)
    ns(NS_B, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
    ns(NS_B, 'ip', 'link', 'set', 'vx0', 'master', 'br0')
    ns(NS_B, 'ip', 'addr', 'add', '10.42.0.2/24', 'dev', 'br0')
    # Linux leaves a locally made TCP/UDP packet's checksum to the
    # hardware (CHECKSUM_PARTIAL), vxlan keeps it so inside the tunnel and
    # a veth pair never computes it: vmwire would get inner frames with
    # half-done checksums, which a guest drops.  A real NIC fills them in;
    # here the kernel must.
    ns(NS_B, 'ethtool', '-K', VETH_B, 'tx', 'off')
    ns(NS_B, 'ethtool', '-K', 'vx0', 'tx', 'off')
    ns(NS_B, 'ip', 'link', 'set', 'vx0', 'up')
    ns(NS_B, 'ip', 'link', 'set', 'br0', 'up')
    info = json.loads(ns(NS_B, 'ip', '-j', 'link', 'show', 'br0').stdout)
    return info[0]['address']


def ping_ok(count=3, target='10.42.0.1'):
    """Linux in B pings @target (the stub): up to 10 s (the bridge may
    still be in its forwarding delay, ARP has to go round first)."""
    deadline = time.monotonic() + 10
    while True:
        r = ns(NS_B, 'ping', '-c', str(count), '-i', '0.2', '-W', '1',
               target, check=False)
        if r.returncode == 0 or time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def fdb_of(q):
    return q.cmd('x-query-vxlan-fdb', {'netdev': 'vx'})[0]


def malformed(q):
    for c in q.cmd('x-query-network'):
        if c['id'] == 'vx':
            return c['dropped-malformed']
    return None


@contextlib.contextmanager
def in_ns(name, prefix=''):
    """vmwire started in the block runs in namespace @name (under the
    command prefix, say 'setpriv --bounding-set -net_raw', then any
    wrapper)."""
    wrapper = os.environ.get('VMWIRE_WRAPPER', '')
    os.environ['VMWIRE_WRAPPER'] = 'ip netns exec %s %s %s' % (name, prefix,
                                                              wrapper)
    try:
        yield
    finally:
        os.environ['VMWIRE_WRAPPER'] = wrapper


def in_ns_a(prefix=''):
    """in_ns(NS_A, prefix)."""
    return in_ns(NS_A, prefix)


FIELDS = ['ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'udp.srcport',
          'udp.dstport', 'udp.checksum', 'udp.checksum.status',
          'vxlan.flags', 'vxlan.vni', 'eth.src', 'eth.dst', 'ip.ttl',
          'ipv6.hlim', 'icmp.type', 'arp.opcode']


class Capture:
    """dumpcap on interface @dev of namespace @name (default B's end of
    the veth pair), with an optional capture filter @bpf; vxlan_rows()
    stops it and decodes what it recorded with tshark."""

    def __init__(self, path, name=NS_B, dev=VETH_B, bpf=None):
        self.path = path
        self.proc = subprocess.Popen(
            ['ip', 'netns', 'exec', name, 'dumpcap', '-q', '-i', dev,
             *(['-f', bpf] if bpf else []), '-w', path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def vxlan_rows(self):
        """Every VXLAN datagram captured, as dicts of FIELDS: the outer
        headers' values under the field's name, the innermost one's under
        'inner.' + the name (eth.* is only the inner frame's, and the
        capture's link layer first)."""
        self.stop()
        out = run('tshark', '-n', '-r', self.path, '-o',
                  'udp.check_checksum:TRUE', '-Y',
                  # not the datagrams quoted in ICMP errors (port
                  # unreachable before vmwire bound its port)
                  'vxlan && !icmp.type == 3 && !icmpv6.type == 1', '-T',
                  'fields',
                  '-E', 'separator=|', *sum((['-e', f] for f in FIELDS), []))
        rows = []
        for line in out.stdout.splitlines():
            row = dict(zip(FIELDS, line.split('|')))
            # Outer and inner headers both fill ip.*, udp.*: the outer
            # ones come first.
            for f in FIELDS:
                row['inner.' + f] = row[f].split(',')[-1]
                if f.startswith(('ip.', 'ipv6.', 'udp.')):
                    row[f] = row[f].split(',')[0]
            rows.append(row)
        return rows


def describe(rows, limit=8):
    """A few captured datagrams, one short line each, for diagnostics."""
    return '\n'.join('%s -> %s vni %s: %s -> %s %s' % (
        r['ip.src'] or r['ipv6.src'], r['ip.dst'] or r['ipv6.dst'],
        r['vxlan.vni'], r['inner.eth.src'], r['inner.eth.dst'],
        'icmp type %s' % r['icmp.type'] if r['icmp.type'] else
        'arp op %s' % r['arp.opcode'] if r['arp.opcode'] else '')
        for r in rows[:limit])
