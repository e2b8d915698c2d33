#!/usr/bin/env python3
"""-netdev vxlan against Linux's own vxlan device, over a veth pair.

The test makes two network namespaces (vmw-vx-a-PID, vmw-vx-b-PID) and a
veth pair between them; nothing leaves them, and they are deleted at the
end, whatever happened.  In B, Linux's `vxlan` device vx0 (VNI 42,
dstport 4789, remote = A's underlay address) sits in bridge br0, which
has 10.42.0.2/24.  In A, vmwire runs with `-netdev vxlan` on hub 0 and a
nic-stub 10.42.0.1/24 on the same hub.  For an IPv4 and an IPv6 underlay:

  ping      Linux (in B) pings the nic-stub over VXLAN.
  fdb       Linux's FDB (`bridge fdb show dev vx0`) learned the nic-stub's
            MAC behind A's address; vmwire's x-query-vxlan-fdb learned
            br0's MAC behind B's address (and lists remote= as a
            00:00:00:00:00:00 entry).
  bad       a raw UDP socket in B sends a 4-byte datagram, a header with
            flags 0x0c, one with VNI 43 and one whose inner frame is 10
            bytes: bad-header grows by 3, wrong-vni by 1, the netdev's
            malformed drops by 4, and Linux still pings the stub.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP  # noqa: E402
from vmwire_test import TAP, Vmwire, tempdir  # noqa: E402

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

BAD_SENDER = r'''
import socket, struct, sys
host, fam = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET if fam == 4 else socket.AF_INET6,
                  socket.SOCK_DGRAM)
inner = bytes.fromhex('ffffffffffff525400004299') + b'\x08\x06' + bytes(28)
def hdr(flags, vni):
    return struct.pack('!B3xI', flags, vni << 8)
for d in (b'\x08\x00\x00\x00',            # short
          hdr(0x0c, 42) + inner,          # unknown flags
          hdr(0x08, 43) + inner,          # another VNI
          hdr(0x08, 42) + inner[:10]):    # runt inner frame
    s.sendto(d, (host, 4789))
'''


def run(*argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True,
                          timeout=30)


def ns(name, *argv, check=True):
    return run('ip', 'netns', 'exec', name, *argv, check=check)


def teardown():
    for name in (NS_A, NS_B):
        run('ip', 'netns', 'del', name, check=False)


def setup(fam):
    """Namespaces, the veth pair, and Linux's vxlan in a bridge in B."""
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
    ns(NS_B, 'ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42',
       'local', b, 'remote', a, 'dstport', '4789', 'dev', VETH_B)
    ns(NS_B, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
    ns(NS_B, 'ip', 'link', 'set', 'vx0', 'master', 'br0')
    ns(NS_B, 'ip', 'addr', 'add', '10.42.0.2/24', 'dev', 'br0')
    ns(NS_B, 'ip', 'link', 'set', 'vx0', 'up')
    ns(NS_B, 'ip', 'link', 'set', 'br0', 'up')
    info = json.loads(ns(NS_B, 'ip', '-j', 'link', 'show', 'br0').stdout)
    return info[0]['address']


def ping_ok(count=3):
    """Linux in B pings the stub: up to 10 s (the bridge may still be in
    its forwarding delay, ARP has to go round first)."""
    deadline = time.monotonic() + 10
    while True:
        r = ns(NS_B, 'ping', '-c', str(count), '-i', '0.2', '-W', '1',
               '10.42.0.1', check=False)
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


def scenario(t, fam):
    a, b, _ = FAMILIES[fam]
    teardown()
    br_mac = setup(fam)
    wrapper = os.environ.get('VMWIRE_WRAPPER', '')
    os.environ['VMWIRE_WRAPPER'] = 'ip netns exec %s %s' % (NS_A, wrapper)
    try:
        with tempdir('vxlan') as d:
            qmp_path = os.path.join(d, 'qmp.sock')
            args = ['-netdev', 'vxlan,id=vx,vni=42,local=%s,remote=%s'
                    % (a, b),
                    '-netdev', 'hubport,id=p0,hubid=0,netdev=vx',
                    '-netdev', 'hubport,id=p1,hubid=0',
                    '-device', 'nic-stub,id=s0,netdev=p1,mac=%s,'
                    'ip=10.42.0.1/24' % STUB_MAC,
                    '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
            with Vmwire(args) as v, QMP.unix(qmp_path) as q:
                q.negotiate()
                check(t, fam, q, v, a, b, br_mac)
    finally:
        os.environ['VMWIRE_WRAPPER'] = wrapper


def check(t, fam, q, v, a, b, br_mac):
    r = ping_ok()
    t.ok(r.returncode == 0, 'IPv%d underlay: Linux pings the nic-stub over '
         'VXLAN' % fam, diag=lambda: r.stdout + r.stderr + v.log())
    fdb = ns(NS_B, 'bridge', 'fdb', 'show', 'dev', 'vx0').stdout
    t.ok(re.search(r'^%s dst %s ' % (STUB_MAC, re.escape(a)),
                   fdb, re.M) is not None,
         "IPv%d: Linux's FDB learned the stub's MAC behind vmwire" % fam,
         diag=fdb)
    entries = fdb_of(q)['entries']
    t.ok({'mac': br_mac, 'remote': b, 'static': False} in
         [{k: e[k] for k in ('mac', 'remote', 'static')} for e in entries],
         "IPv%d: vmwire's FDB learned br0's MAC behind Linux" % fam,
         diag=json.dumps(entries))
    t.ok({'mac': '00:00:00:00:00:00', 'remote': b, 'static': True,
          'age-ms': 0} in entries,
         'IPv%d: remote= is listed as a flood entry' % fam,
         diag=json.dumps(entries))
    check_bad_input(t, fam, q, a)


def check_bad_input(t, fam, q, a):
    before, mal0 = fdb_of(q), malformed(q)
    ns(NS_B, sys.executable, '-c', BAD_SENDER, a, str(fam))
    deadline = time.monotonic() + 5
    while True:
        after = fdb_of(q)
        if (after['bad-header'] - before['bad-header'] >= 3 and
                after['wrong-vni'] - before['wrong-vni'] >= 1) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.05)
    got = (after['bad-header'] - before['bad-header'],
           after['wrong-vni'] - before['wrong-vni'], malformed(q) - mal0)
    t.ok(got == (3, 1, 4), 'IPv%d: short, bad flags, runt and wrong VNI '
         'are dropped and counted (bad-header, wrong-vni, malformed)' % fam,
         diag='got %s' % (got,))
    r = ping_ok(1)
    t.ok(r.returncode == 0, 'IPv%d: vmwire still forwards after bad input'
         % fam, diag=r.stdout + r.stderr)


def main():
    with TAP() as t:
        if os.geteuid() != 0:
            t.skip_all('needs root for network namespaces')
        try:
            for fam in (4, 6):
                with t.scenario('ipv%d' % fam):
                    scenario(t, fam)
        finally:
            teardown()
        left = run('ip', 'netns', 'list').stdout
        t.ok(NS_A not in left and NS_B not in left,
             'the namespaces are gone', diag=left)


if __name__ == '__main__':
    main()
