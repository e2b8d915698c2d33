#!/usr/bin/env python3
"""vhost-user netdevs as netdevs: filter-dump, server=off, netdev_add/del.

Python frontends (vmwire_test.vhost_user) and a nic-stub; each scenario
gets a vmwire of its own:

  * filter-dump on a vhost-user netdev: the pcap holds ARP, ping and three
    frames of 60..9000 bytes, both ways, byte for byte.
  * server=off with reconnect-ms (netdev_add over QMP): vmwire connects to
    the frontend's socket, and connects again after the frontend closed.
  * netdev_add / netdev_del of a hubid= vhost-user listener: its frontends
    are closed, its socket file removed, no fd left behind.
  * --print-capabilities prints {"type": "net", ...} and exits 0 (QEMU's
    vhost-user backend conventions).

At the end SIGTERM must give exit status 0 and no sanitizer report, for
every scenario's vmwire (vmwire_test.VmwireRuns).
"""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import TAP, run_vmwire  # noqa: E402
from vmwire_test import vhost_user as vu  # noqa: E402
from vhostpeers import (BROADCAST, FE_MAC, VuRig, arp_reply,  # noqa: E402
                        arp_request, describe, echo_reply, echo_request,
                        fds_of, ip_of, mac, numbered, ping_stub, read_pcap,
                        run_scenarios, secs, stub_device, vhost_user_netdev)


def dump(t, d, record):
    path = os.path.join(d, 'v0.sock')
    pcap = os.path.join(d, 'v0.pcap')
    args = (vhost_user_netdev('v0', path) +
            ['-netdev', 'hubport,id=p0,hubid=0,netdev=v0',
             '-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs') +
            ['-object', 'filter-dump,id=f0,netdev=v0,file=' + pcap])
    with VuRig(t, args, d, record) as rig:
        fe = rig.frontend('v0.sock')
        ok, why = ping_stub(fe, FE_MAC, ip_of(15))
        extra = [numbered(BROADCAST, FE_MAC, i, n)
                 for i, n in enumerate((60, 1514, 9000))]
        fe.send_frames(extra)
        fe.tx_done()
        rig.wait_clients(lambda c: c['v0']['tx-frames'] >= 5)
        rig.q.cmd('object-del', {'id': 'f0'})
        want = [arp_request(FE_MAC, ip_of(15)), arp_reply(FE_MAC, ip_of(15)),
                echo_request(FE_MAC, ip_of(15), 1, b'vhost-user ping'),
                echo_reply(FE_MAC, ip_of(15), 1, b'vhost-user ping')] + extra
        got = read_pcap(pcap)
        t.ok(ok and got == want,
             'filter-dump on a vhost-user netdev: the pcap holds ARP, ping '
             'and three frames of 60..9000 bytes, both ways, byte for byte',
             diag=lambda: '%s\n%s' % (why, [describe(f) for f in got or []]))


def server_off(t, d, record):
    path = os.path.join(d, 'fe.sock')
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(4)
    lsock.settimeout(secs(5))
    args = ['-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs')
    try:
        with VuRig(t, args, d, record) as rig:
            rig.q.cmd('netdev_add', {
                'type': 'vhost-user', 'id': 'c0', 'server': False,
                'reconnect-ms': 200,
                'addr': {'type': 'unix', 'path': path}})
            rig.q.cmd('netdev_add', {'type': 'hubport', 'id': 'p0',
                                     'hubid': 0, 'netdev': 'c0'})
            conn, _ = lsock.accept()
            fe = rig.own(vu.VhostUserFrontend(sock=conn))
            fe.start()
            fe.post_rx(64)
            ev = rig.event('NETDEV_STREAM_CONNECTED', netdev='c0')
            ok, why = ping_stub(fe, FE_MAC, ip_of(15))
            t.ok(ev and ev['data']['netdev-id'] == 'c0' and ok,
                 'server=off: vmwire connects to the frontend\'s socket '
                 '(NETDEV_STREAM_CONNECTED for c0) and the frontend pings '
                 'the stub', diag=lambda: '%r %s' % (ev, why))
            c0 = rig.client('c0')
            t.ok(c0.get('type') == 'vhost-user' and c0.get('link-up'),
                 'c0 is type vhost-user, link up (info "%s")'
                 % c0.get('info'), diag=repr(c0))
            fe.close()
            ev = rig.event('NETDEV_STREAM_DISCONNECTED', netdev='c0')
            try:
                conn2, _ = lsock.accept()
            except socket.timeout:
                conn2 = None
            t.ok(ev and conn2 is not None,
                 'the frontend closes: NETDEV_STREAM_DISCONNECTED, and with '
                 'reconnect-ms=200 vmwire connects again', diag=repr(ev))
            if conn2 is not None:
                fe2 = rig.own(vu.VhostUserFrontend(sock=conn2))
                fe2.start()
                fe2.post_rx(64)
                ok, why = ping_stub(fe2, FE_MAC, ip_of(15), seq=2)
                t.ok(ok, 'and the new connection works', diag=why)
    finally:
        lsock.close()


def hotplug(t, d, record):
    args = ['-netdev', 'hubport,id=hs,hubid=0'] + stub_device('hs')
    path = os.path.join(d, 'h1.sock')
    with VuRig(t, args, d, record) as rig:
        pid = rig.v.proc.pid
        before = fds_of(pid)
        rig.q.cmd('netdev_add', {'type': 'vhost-user', 'id': 'h1',
                                 'hubid': 0, 'addr': {'type': 'unix',
                                                      'path': path}})
        fes = [rig.frontend('h1.sock') for _ in range(2)]
        events = [rig.event('NETDEV_STREAM_CONNECTED', netdev='h1')
                  for _ in fes]
        results = [ping_stub(fe, mac(40 + i), ip_of(40 + i))
                   for i, fe in enumerate(fes)]
        t.ok(all(events) and all(ok for ok, _ in results),
             'netdev_add of a vhost-user hubid=0 listener: two frontends '
             'join (h1.1, h1.2) and ping the stub', diag=repr(results))
        during = len(fds_of(pid))
        rig.q.cmd('netdev_del', {'id': 'h1'})
        closed = [fe.wait_closed(5) for fe in fes]
        t.ok(all(closed), 'netdev_del h1: both frontends see their '
             'connection closed')
        clients = rig.clients()
        t.ok(not [c for c in clients if c == 'h1' or c.startswith('h1.')]
             and not os.path.exists(path),
             'the listener, its ports and its socket file are gone',
             diag=repr(sorted(clients)))
        for fe in fes:
            fe.close()
        deadline = time.monotonic() + secs(5)
        while fds_of(pid) != before and time.monotonic() < deadline:
            time.sleep(0.05)
        after = fds_of(pid)
        t.ok(after == before and during > len(before),
             'vmwire holds the fds it held before netdev_add (%d; %d with '
             'the listener and two frontends)' % (len(after), during),
             diag='before %r\nafter %r' % (before, after))


SCENARIOS = [
    ('filter-dump', dump),
    ('server=off', server_off),
    ('netdev_add and netdev_del', hotplug),
]


def capabilities(t):
    rc, out = run_vmwire(['--print-capabilities'])
    try:
        caps = json.loads(out)
    except ValueError:
        caps = None
    t.ok(rc == 0 and isinstance(caps, dict) and caps.get('type') == 'net'
         and isinstance(caps.get('features', []), list),
         '--print-capabilities prints {"type": "net", ...} and exits 0',
         diag='rc=%s\n%s' % (rc, out))


def poll_option(t):
    """poll-max-ns out of range is refused at startup, in its own words."""
    for bad in ('-1', '1000000001'):
        rc, out = run_vmwire(['-netdev', 'vhost-user,id=v0,addr.type=unix,'
                              'addr.path=/nonexistent/v0.sock,poll-max-ns='
                              + bad])
        t.ok(rc == 1 and 'poll-max-ns must be between 0 and 1000000000'
             in out, 'poll-max-ns=%s: refused with a clear message' % bad,
             diag='rc=%s\n%s' % (rc, out))


def main(t):
    run_scenarios(t, SCENARIOS, 'vu-netdev')
    capabilities(t)
    poll_option(t)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
