"""vxlanrig: the network namespaces of the vxlan qtests.

Two namespaces (NS_A, NS_B, named after this process) joined by a veth
pair (VETH_A, VETH_B), underlay addresses FAMILIES[4|6] = (A, B, prefix
length) and SECOND[fam], a second address of B; in B Linux's vxlan device
vx0 (VNI 42, dstport 4789, `remote A` or `group G dev VETH_B`) in bridge
br0 with 10.42.0.2/24.  setup() makes them (returns br0's MAC),
teardown() deletes both namespaces (and so the veth pair and everything
in them); in_ns_a() runs the vmwire daemons the block starts inside A
(VMWIRE_WRAPPER='ip netns exec A ...').  Nothing leaves the namespaces.
"""

import contextlib
import json
import os
import subprocess
import time

PID = os.getpid()
NS_A = 'vmw-vx-a-%d' % PID
NS_B = 'vmw-vx-b-%d' % PID
VETH_A = 'vxa%d' % (PID % 1000000)
VETH_B = 'vxb%d' % (PID % 1000000)
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
    for name in (NS_A, NS_B):
        run('ip', 'netns', 'del', name, check=False)


def setup(fam, group=None):
    """Namespaces, the veth pair, and Linux's vxlan in a bridge in B
    (unicast to A, or multicast to @group on B's veth)."""
    a, b, plen = FAMILIES[fam]
    run('ip', 'netns', 'add', NS_A)
    run('ip', 'netns', 'add', NS_B)
    run('ip', 'link', 'add', VETH_A, 'netns', NS_A, 'type', 'veth',
        'peer', 'name', VETH_B, 'netns', NS_B)
    for name, dev, addr in ((NS_A, VETH_A, a), (NS_B, VETH_B, b)):
        ns(name, 'ip', 'link', 'set', 'lo', 'up')
        ns(name, 'ip', 'addr', 'add', '%s/%s' % (addr, plen), 'dev', dev,
           *(['nodad'] if fam == 6 else []))
        ns(name, 'ip', 'link', 'set', dev, 'up')
    ns(NS_B, 'ip', 'addr', 'add', '%s/%s' % (SECOND[fam], plen), 'dev',
       VETH_B, *(['nodad'] if fam == 6 else []))
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
def in_ns_a(prefix=''):
    """vmwire started in the block runs in namespace A (under the command
    prefix, say 'setpriv --bounding-set -net_raw', then any wrapper)."""
    wrapper = os.environ.get('VMWIRE_WRAPPER', '')
    os.environ['VMWIRE_WRAPPER'] = 'ip netns exec %s %s %s' % (NS_A, prefix,
                                                              wrapper)
    try:
        yield
    finally:
        os.environ['VMWIRE_WRAPPER'] = wrapper
