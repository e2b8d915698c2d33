#!/usr/bin/env python3
"""-object filter-dump: pcap capture at a netdev, read back with tshark.

vmwire runs `-netdev socket,id=n0,listen=...` with a nic-stub at
10.0.2.100 and three dumps on n0 from the command line: `all` (default
maxlen), `small` (maxlen=64) and `rx` (queue=rx); a fourth, `live`, is
added with QMP object-add while vmwire runs.  A real QEMU guest connects
and pings the stub PINGS times.  Then:

  * `live` is removed with object-del while vmwire keeps running: its file
    is complete at once; tshark reads the ARP request and reply, then
    exactly PINGS echo requests 10.0.2.15 -> 10.0.2.100 and PINGS replies
    back, alternating, sequence numbers 0..PINGS-1, and caplen == len.
  * `all` (still attached) reaches its file within the flush interval:
    tshark reads the same frames while vmwire runs.
  * `small`: every record has caplen min(len, 64) and the frame's true len
    (98 for a default ping), the pcap snaplen is 64.
  * `rx`: only frames sent to n0 (from the stub): PINGS echo replies and
    no request.
  * errors, with vmwire still up after each: object-add with a path in a
    missing directory ("net dump: can't open ..."), an unknown netdev, a
    taken id, maxlen 0; object-del of an unknown id; the same on the
    command line (exit 1).  `info network` lists the dumps in QEMU's
    "filters:" form; netdev_del takes its dumps with it.

At the end SIGTERM must give exit status 0 and no sanitizer report.
"""

import os
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP, error_of  # noqa: E402
from vmwire_test import (TAP, TIMEOUT_SCALE, Guest, Vmwire,  # noqa: E402
                         free_port, guest_image, ping_cmd, ping_stats,
                         run_vmwire, tempdir)

STUB_IP = '10.0.2.100'
STUB_MAC = '52:54:00:00:02:64'
GUEST_IP = '10.0.2.15'
PINGS = 4
FIELDS = ['frame.cap_len', 'frame.len', 'arp.opcode', 'arp.src.proto_ipv4',
          'arp.dst.proto_ipv4', 'ip.src', 'ip.dst', 'icmp.type', 'icmp.seq']


def tshark(path):
    """The frames of a pcap file as dicts of FIELDS, via tshark."""
    out = subprocess.run(
        ['tshark', '-n', '-r', path, '-T', 'fields', '-E', 'separator=|'] +
        sum((['-e', f] for f in FIELDS), []),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=60 * TIMEOUT_SCALE)
    if out.returncode != 0:
        return None, out.stderr
    rows = [dict(zip(FIELDS, line.split('|')))
            for line in out.stdout.splitlines()]
    return rows, out.stderr


def arp_icmp(rows):
    """The ARP and ICMP frames as short tuples, in file order."""
    got = []
    for r in rows:
        if r['arp.opcode']:
            got.append(('arp', int(r['arp.opcode']), r['arp.src.proto_ipv4'],
                        r['arp.dst.proto_ipv4']))
        elif r['icmp.type']:
            got.append(('icmp', int(r['icmp.type']), r['ip.src'],
                        r['ip.dst'], int(r['icmp.seq'])))
    return got


def expected_icmp():
    want = []
    for seq in range(PINGS):
        want.append(('icmp', 8, GUEST_IP, STUB_IP, seq))
        want.append(('icmp', 0, STUB_IP, GUEST_IP, seq))
    return want


def check_full_capture(t, what, path):
    rows, err = tshark(path)
    t.ok(rows is not None, '%s: tshark reads the file' % what, diag=err)
    rows = rows or []
    got = arp_icmp(rows)
    arps = [g for g in got if g[0] == 'arp']
    t.ok(arps[:2] == [('arp', 1, GUEST_IP, STUB_IP),
                      ('arp', 2, STUB_IP, GUEST_IP)],
         '%s: ARP request %s -> %s then its reply' % (what, GUEST_IP,
                                                      STUB_IP),
         diag=repr(got))
    icmp = [g for g in got if g[0] == 'icmp']
    t.ok(icmp == expected_icmp(),
         '%s: exactly %d echo requests and %d replies, in order, seq 0..%d'
         % (what, PINGS, PINGS, PINGS - 1), diag=repr(got))
    t.ok(rows and all(r['frame.cap_len'] == r['frame.len'] for r in rows),
         '%s: every frame whole (caplen == len)' % what, diag=repr(rows))


def pcap_snaplen(path):
    with open(path, 'rb') as f:
        hdr = f.read(24)
    if len(hdr) < 24:
        return None
    magic, major, minor, _, _, snaplen, linktype = struct.unpack(
        '=IHHiIII', hdr)
    return magic, major, minor, snaplen, linktype


def wait_file_rows(path, count, timeout=5.0):
    """tshark rows once the file holds at least count ARP/ICMP frames."""
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while True:
        rows, _ = tshark(path)
        if rows is not None and len(arp_icmp(rows)) >= count:
            return rows
        if time.monotonic() >= deadline:
            return rows
        time.sleep(0.2)


def test_errors(t, q, v, d):
    cases = [
        ({'qom-type': 'filter-dump', 'id': 'e1', 'netdev': 'n0',
          'file': os.path.join(d, 'missing', 'x.pcap')},
         "net dump: can't open %s: No such file or directory"
         % os.path.join(d, 'missing', 'x.pcap'), 'a file in a missing '
         'directory'),
        ({'qom-type': 'filter-dump', 'id': 'e2', 'netdev': 'nope',
          'file': os.path.join(d, 'e2.pcap')},
         "Parameter 'netdev' expects a network backend id",
         'an unknown netdev'),
        ({'qom-type': 'filter-dump', 'id': 'e3', 'netdev': 's0',
          'file': os.path.join(d, 'e3.pcap')},
         "Parameter 'netdev' expects a network backend id", "a NIC's id"),
        ({'qom-type': 'filter-dump', 'id': 'all', 'netdev': 'n0',
          'file': os.path.join(d, 'e4.pcap')},
         "attempt to add duplicate property 'all' to object "
         "(type 'container')", 'a taken id'),
        ({'qom-type': 'filter-dump', 'id': 'e5', 'netdev': 'n0',
          'file': os.path.join(d, 'e5.pcap'), 'maxlen': 0},
         "Property 'filter-dump.maxlen' doesn't take value '0'", 'maxlen 0'),
        ({'qom-type': 'filter-dump', 'id': 'e6', 'netdev': 'n0'},
         "Parameter 'file' is missing", 'no file'),
    ]
    for args, msg, what in cases:
        err = error_of(q.execute('object-add', args))
        t.ok(err == ('GenericError', msg),
             'object-add with %s: GenericError "%s"' % (what, msg),
             diag=repr(err))
    err = error_of(q.execute('object-del', {'id': 'nope'}))
    t.ok(err == ('GenericError', "object 'nope' not found"),
         'object-del of an unknown id: "object \'nope\' not found"',
         diag=repr(err))
    t.ok(v.proc.poll() is None and 'return' in q.execute('x-query-network'),
         'vmwire still up and answering after the errors')
    t.ok(not os.path.exists(os.path.join(d, 'e2.pcap')),
         'a refused dump creates no file')


def test_cmdline_errors(t, d):
    port = free_port('tcp')
    base = ['-netdev', 'socket,id=n0,listen=127.0.0.1:%d' % port]
    bad = os.path.join(d, 'missing', 'y.pcap')
    for opt, msg in (
            ('filter-dump,id=f,netdev=n0,file=' + bad,
             "net dump: can't open %s: No such file or directory" % bad),
            ('filter-dump,id=f,netdev=x,file=' + os.path.join(d, 'z.pcap'),
             "Parameter 'netdev' expects a network backend id"),
            ('filter-dump,id=f,netdev=n0', "Parameter 'file' is missing"),
            ('filter-dump,id=f,netdev=n0,file=%s,maxlen=0'
             % os.path.join(d, 'z.pcap'),
             "Property 'filter-dump.maxlen' doesn't take value '0'"),
            ('bogus,id=f', "Parameter 'qom-type' does not accept value "
             "'bogus'")):
        rc, out = run_vmwire(base + ['-object', opt])
        want = 'vmwire: -object %s: %s\n' % (opt, msg)
        t.ok(rc == 1 and want in out, '-object %s: exit 1, "%s"'
             % (opt.split(',')[0], msg), diag=out)
    opt = 'filter-dump,id=f,netdev=n0,file=' + os.path.join(d, 'z.pcap')
    rc, out = run_vmwire(base + ['-object', opt, '-object', opt])
    t.ok(rc == 1 and "Duplicate ID 'f' for object" in out,
         '-object twice with one id: "Duplicate ID \'f\' for object"',
         diag=out)


def main():
    with TAP() as t:
        if not shutil.which('tshark'):
            t.skip_all('tshark is not installed (Debian package tshark)')
        guest_image()
        with tempdir('dump') as d:
            port = free_port('tcp')
            addr = '127.0.0.1:%d' % port
            qmp_path = os.path.join(d, 'qmp.sock')
            path = {n: os.path.join(d, n + '.pcap')
                    for n in ('all', 'small', 'rx', 'live')}
            with Vmwire(['-netdev', 'socket,id=n0,listen=' + addr,
                         '-device', 'nic-stub,id=s0,netdev=n0,mac=%s,'
                         'ip=%s/24' % (STUB_MAC, STUB_IP),
                         '-object', 'filter-dump,id=all,netdev=n0,file=' +
                         path['all'],
                         '-object', 'filter-dump,id=small,netdev=n0,'
                         'maxlen=64,file=' + path['small'],
                         '-object', 'filter-dump,id=rx,netdev=n0,queue=rx,'
                         'file=' + path['rx'],
                         '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
                        ) as v, QMP.unix(qmp_path) as q:
                q.negotiate()
                r = q.execute('object-add', {
                    'qom-type': 'filter-dump', 'id': 'live', 'netdev': 'n0',
                    'file': path['live']})
                t.ok(r.get('return') == {}, 'object-add filter-dump at run '
                     'time', diag=repr(r))
                text = q.cmd('human-monitor-command',
                             {'command-line': 'info network'})
                want = ('  - small: type=filter-dump,file=%s,maxlen=64,'
                        'position=tail,status=on,insert=behind,netdev=n0,'
                        'queue=all\r\n' % path['small'])
                t.ok('\r\nfilters:\r\n' in text and want in text,
                     "info network lists the dumps in QEMU's filters: form",
                     diag=repr(text))
                with Guest('socket,connect=' + addr, ip=GUEST_IP + '/24',
                           run=ping_cmd(STUB_IP, PINGS)) as g:
                    rc, console = g.wait(120)
                t.ok(rc == 0 and ping_stats(console) == (PINGS, PINGS),
                     'the guest pings the stub %d times' % PINGS,
                     diag=console)

                r = q.execute('object-del', {'id': 'live'})
                t.ok(r.get('return') == {}, 'object-del live', diag=repr(r))
                check_full_capture(t, 'object-add/object-del capture',
                                   path['live'])
                err = error_of(q.execute('object-del', {'id': 'live'}))
                t.ok(err == ('GenericError', "object 'live' not found"),
                     'object-del again: not found', diag=repr(err))

                # Still attached: flushed by the timer, read while running.
                wait_file_rows(path['all'], 2 + 2 * PINGS)
                check_full_capture(t, 'capture still running', path['all'])

                t.ok(pcap_snaplen(path['small']) == (0xa1b2c3d4, 2, 4, 64, 1),
                     'maxlen=64: pcap header magic a1b2c3d4, 2.4, snaplen '
                     '64, LINKTYPE_ETHERNET',
                     diag=repr(pcap_snaplen(path['small'])))
                rows = wait_file_rows(path['small'], 2 + 2 * PINGS) or []
                icmp = [r for r in rows if r['icmp.type']]
                t.ok(len(icmp) == 2 * PINGS and
                     all((r['frame.cap_len'], r['frame.len']) == ('64', '98')
                         for r in icmp) and
                     all(int(r['frame.cap_len']) ==
                         min(64, int(r['frame.len'])) for r in rows),
                     'maxlen=64: caplen 64 and len 98 for every ping, '
                     'min(len, 64) for all', diag=repr(rows))

                rows = wait_file_rows(path['rx'], 1 + PINGS) or []
                types = [g[1] for g in arp_icmp(rows) if g[0] == 'icmp']
                t.ok(types == [0] * PINGS,
                     'queue=rx: the %d replies sent to n0, no request'
                     % PINGS, diag=repr(arp_icmp(rows)))

                test_errors(t, q, v, d)

                q.cmd('netdev_del', {'id': 'n0'})
                err = error_of(q.execute('object-del', {'id': 'all'}))
                t.ok(err == ('GenericError', "object 'all' not found"),
                     'netdev_del takes the netdev\'s dumps with it',
                     diag=repr(err))
                rows, _ = tshark(path['all'])
                t.ok(rows is not None and
                     len([g for g in arp_icmp(rows) if g[0] == 'icmp'])
                     == 2 * PINGS, 'its file is complete afterwards')
            test_cmdline_errors(t, d)


if __name__ == '__main__':
    main()
