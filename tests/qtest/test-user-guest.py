#!/usr/bin/env python3
"""-netdev user (libslirp) with real QEMU 7.2 guests.

vmwire runs a user netdev `u` as a port of hub 0 (`-netdev
hubport,netdev=u`) and, per guest, a `-netdev stream` listener on
127.0.0.1 that is another port of the hub; each guest connects to its
own listener with its own `-netdev stream`.  The host runs a Python HTTP
server on 127.0.0.1 serving a page with a random token.

  default    two guests.  Each gets a DHCP lease with busybox udhcpc (its
             script applies ip/subnet/router and prints the lease): guest
             0 10.0.2.15, then guest 1 10.0.2.16, both /24 with router
             10.0.2.2.
             Guest 0 fetches the page through 10.0.2.2 (wget), content
             checked, then serves an echo service (nc -ll -e) on ports
             8080 and 8081:
               - hostfwd=tcp:127.0.0.1:P1-:8080 (command line) reaches it,
                 a token sent, the service's answer naming it read back;
               - 127.0.0.1:P2 refuses, HMP `hostfwd_add u
                 tcp:127.0.0.1:P2-:8081` makes it work (empty answer, as
                 QEMU), `hostfwd_remove u tcp:127.0.0.1:P2` answers `host
                 forwarding rule for ... removed` and P2 refuses again;
               - QMP x-hostfwd-add/x-hostfwd-remove do the same on P3;
             `info network` shows `u: index=0,type=user,net=10.0.2.0,
             restrict=off`.  With the guests gone the idle daemon uses
             almost no CPU; netdev_del u closes P1 (refused after).
  net        net=192.168.76.0/24,dhcpstart=192.168.76.50,domainname=,
             dnssearch= twice: the lease is 192.168.76.50, router
             192.168.76.2, with the domain and both search domains; the
             page is fetched through 192.168.76.2; guestfwd= connects
             the guest's 192.168.76.100:1234 to a unix socket of the
             test, a token going there and the answer naming it back,
             and :1235 (guestfwd=...-cmd:) to a sed run on the host that
             answers the token's line (under VMWIRE_TEST_SANDBOX, where
             -sandbox on refuses cmd:, that refusal is checked instead);
             with mtu=9000 (and the guest's MTU 9000) a download arrives
             in frames averaging over 3000 bytes (x-query-network).
  restrict   restrict=on: the lease still comes, wget to 10.0.2.2 fails,
             the hostfwd to the echo service still works.
  hotplug    netdev_add of a user netdev with a hostfwd over QMP opens
             its port (info network: QEMU's line), a udp forward added
             and removed binds and frees its port, netdev_del closes
             everything (the daemon's fd count is back to what it was); a
             bad rule is a GenericError and leaves nothing.
  hmp        hostfwd_add/hostfwd_remove: every answer (syntax errors,
             unknown or wrong netdev, taken port, removed, not found,
             help) is the one QEMU 7.2 gives to the same lines.
  nic        a nic-stub on the user netdev: `info network` shows it under
             the NIC, and libslirp answers the stub's ARP for 10.0.2.2.

Every vmwire run must end with exit status 0 after SIGTERM and no
sanitizer report in its log.
"""

import base64
import http.server
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test.qmp import QMP, QMPError  # noqa: E402
from vmwire_test import (SANITIZER_REPORT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         Guest, Vmwire, cpu_seconds, free_port, guest_image,
                         qemu_binary,
                         tempdir, wait_port_bound)
from vmwire_test import qemu_info_network  # noqa: E402
from vmwire_test.daemon import vmwire_sandbox_args  # noqa: E402

GUEST_TIMEOUT = 150

# udhcpc's script: apply the lease, print it.  Then, per guest: fetch the
# page (guest 0 only when PAGE is set) and maybe serve the echo service
# until a client sends QUIT.
GUEST_CMD = r'''
printf '%%s\n' '#!/bin/sh' '[ "$1" = bound ] || exit 0' \
 'ifconfig $interface $ip netmask $subnet' \
 'route add default gw $router' \
 'echo "LEASE ip=$ip subnet=$subnet router=$router" \' \
 '"domain=$domain search=$search"' \
 > /tmp/dhcp.sh
printf '%%s\n' '#!/bin/sh' 'read l' 'echo "GUEST-GOT:$l"' \
 '[ "$l" = QUIT ] && touch /tmp/quit' > /tmp/svc.sh
chmod +x /tmp/dhcp.sh /tmp/svc.sh
udhcpc -i eth0 -s /tmp/dhcp.sh -q -n -t 10 -T 1 || echo DHCP-FAILED
%(page)s
%(serve)s
'''

FETCH = r'''
if timeout 20 wget -O /tmp/page http://%(host)s:%(port)d/page.txt; then
  echo "PAGE:$(cat /tmp/page)"
else
  echo WGET-FAILED
fi
'''

SERVE = r'''
nc -ll -p 8080 -e /tmp/svc.sh &
nc -ll -p 8081 -e /tmp/svc.sh &
echo SERVICE-READY
i=0
while [ ! -e /tmp/quit ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
'''


def secs(s):
    return s * TIMEOUT_SCALE


class PageServer:
    """An HTTP server on 127.0.0.1 serving page.txt (a random token)."""

    def __init__(self, directory):
        self.token = 'PAGE-' + secrets.token_hex(8)
        with open(os.path.join(directory, 'page.txt'), 'w') as f:
            f.write(self.token + '\n')
        with open(os.path.join(directory, 'big.bin'), 'wb') as f:
            f.write(os.urandom(BIG))

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=directory, **kw)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                     Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False


def echo(port, text, timeout=10.0):
    """Send text to 127.0.0.1:port, return the answer ('' if closed at
    once), or None if the connection is refused."""
    try:
        with socket.create_connection(('127.0.0.1', port),
                                      timeout=secs(timeout)) as s:
            s.sendall(text.encode() + b'\n')
            data = b''
            while not data.endswith(b'\n'):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors='replace').strip()
    except ConnectionRefusedError:
        return None
    except OSError as e:
        return 'error: %s' % e


def echo_retry(port, text, tries=20):
    """echo() until the guest's service answers (a connection accepted by
    libslirp before the guest listens is closed with no answer)."""
    got = None
    for _ in range(tries):
        got = echo(port, text)
        if got and got.startswith('GUEST-GOT:'):
            break
        time.sleep(0.5)
    return got


def refused(port):
    return echo(port, 'x', timeout=3.0) is None


def hmp(q, line):
    return q.cmd('human-monitor-command', {'command-line': line})


def leases(console):
    return re.findall(r'^LEASE ip=(\S*) subnet=(\S*) router=(\S*) '
                      r'domain=(\S*) search=(.*)$', console, re.MULTILINE)


def query(q, name):
    for c in q.cmd('x-query-network'):
        if c['id'] == name:
            return c
    return {}


def fd_count(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def bench_args(user, ports, qmp_path):
    args = ['-netdev', user,
            '-netdev', 'hubport,id=hu,hubid=0,netdev=u',
            '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
    for i, port in enumerate(ports):
        args += ['-netdev', 'stream,id=g%d,server=on,addr.type=inet,'
                 'addr.host=127.0.0.1,addr.port=%d' % (i, port),
                 '-netdev', 'hubport,id=p%d,hubid=0,netdev=g%d' % (i, i)]
    return args


def guest_for(port, cmd):
    return Guest('stream,addr.type=inet,addr.host=127.0.0.1,addr.port=%d'
                 % port, run=cmd)


def check_exit(t, what, v):
    rc = v.stop()
    t.ok(rc == 0 and not SANITIZER_REPORT.search(v.log()),
         '%s: vmwire exits 0 on SIGTERM, no sanitizer report (rc=%s)'
         % (what, rc), diag=v.log)


def finish_guest(t, what, g):
    rc, console = g.wait(secs(GUEST_TIMEOUT))
    t.ok(rc == 0, '%s: guest command exits 0 (rc=%s)' % (what, rc),
         diag=console)
    return console


def test_runtime_forwards(t, q, p2, p3):
    t.ok(refused(p2), 'default: 127.0.0.1:P2 refuses before hostfwd_add')
    out = hmp(q, 'hostfwd_add u tcp:127.0.0.1:%d-:8081' % p2)
    token = secrets.token_hex(6)
    got = echo_retry(p2, token)
    t.ok(out == '' and got == 'GUEST-GOT:' + token,
         'default: HMP hostfwd_add makes P2 reach the guest (%r, %r)'
         % (out, got))
    out = hmp(q, 'hostfwd_remove u tcp:127.0.0.1:%d' % p2)
    t.ok(out == 'host forwarding rule for tcp:127.0.0.1:%d removed\r\n' % p2
         and refused(p2),
         'default: HMP hostfwd_remove answers QEMU\'s line and P2 refuses '
         'again (%r)' % out)
    t.ok(refused(p3), 'default: 127.0.0.1:P3 refuses before x-hostfwd-add')
    q.cmd('x-hostfwd-add', {'netdev': 'u',
                            'rule': 'tcp:127.0.0.1:%d-:8081' % p3})
    got = echo_retry(p3, token)
    t.ok(got == 'GUEST-GOT:' + token,
         'default: QMP x-hostfwd-add makes P3 reach the guest (%r)' % got)
    q.cmd('x-hostfwd-remove', {'netdev': 'u', 'rule': 'tcp:127.0.0.1:%d' % p3})
    t.ok(refused(p3), 'default: QMP x-hostfwd-remove closes P3')
    try:
        q.cmd('x-hostfwd-remove', {'netdev': 'u',
                                   'rule': 'tcp:127.0.0.1:%d' % p3})
        desc = None
    except QMPError as e:
        desc = e.reply['error']['desc'] if e.reply else str(e)
    t.ok(desc == 'host forwarding rule for tcp:127.0.0.1:%d not found' % p3,
         'default: removing it again is a GenericError (%r)' % desc)


def test_default(t, page):
    g0_port, g1_port = free_port(), free_port()
    p1, p2, p3 = free_port(), free_port(), free_port()
    with tempdir() as d:
        qmp_path = os.path.join(d, 'qmp.sock')
        user = 'user,id=u,hostfwd=tcp:127.0.0.1:%d-:8080' % p1
        with Vmwire(bench_args(user, [g0_port, g1_port], qmp_path)) as v, \
                QMP.unix(qmp_path) as q:
            q.negotiate()
            mine = query(q, 'u')
            t.ok(mine.get('type') == 'user' and
                 mine.get('info') == 'net=10.0.2.0,restrict=off' and
                 mine.get('peer') == 'hu',
                 'default: x-query-network shows u on the hub (%s)' % mine)
            cmd0 = GUEST_CMD % {'page': FETCH % {'host': '10.0.2.2',
                                                 'port': page.port},
                                'serve': SERVE}
            cmd1 = GUEST_CMD % {'page': '', 'serve': ''}
            with guest_for(g0_port, cmd0) as g0:
                # Guest 1 starts once guest 0 has its lease: guest 0 is
                # 10.0.2.15, where hostfwd rules without a guest address go.
                g0.wait_console(r'^LEASE ', secs(GUEST_TIMEOUT))
                g1 = guest_for(g1_port, cmd1).start()
                ready = g0.wait_console(r'^SERVICE-READY$',
                                        secs(GUEST_TIMEOUT))
                c0 = g0.console()
                t.ok(ready is not None, 'default: guest 0 got going',
                     diag=c0)
                l0 = leases(c0)
                t.ok(len(l0) == 1 and l0[0][:3] ==
                     ('10.0.2.15', '255.255.255.0', '10.0.2.2'),
                     'default: guest 0 leases 10.0.2.15/24, router 10.0.2.2 '
                     '(%s)' % l0, diag=c0)
                t.ok('PAGE:%s' % page.token in c0,
                     'default: guest 0 fetches the host page through '
                     '10.0.2.2', diag=c0)
                token = secrets.token_hex(6)
                got = echo_retry(p1, token)
                t.ok(got == 'GUEST-GOT:' + token,
                     'default: hostfwd=tcp:127.0.0.1:P1-:8080 reaches the '
                     'guest service, both ways (%r)' % got)
                test_runtime_forwards(t, q, p2, p3)
                got = echo_retry(p1, 'QUIT')
                c0 = finish_guest(t, 'default guest 0', g0)
                try:
                    c1 = finish_guest(t, 'default guest 1', g1)
                finally:
                    g1.close()
                l1 = leases(c1)
                t.ok([x[:3] for x in l1] ==
                     [('10.0.2.16', '255.255.255.0', '10.0.2.2')],
                     'default: guest 1 on the hub gets the next lease, '
                     '10.0.2.16 (%s)' % l1, diag=c1)
            time.sleep(secs(1.0))
            before = cpu_seconds(v.proc.pid)
            time.sleep(3.0)
            used = cpu_seconds(v.proc.pid) - before
            t.ok(used < 0.3, 'default: idle daemon with a user netdev uses '
                 '%.2f s of CPU in 3 s' % used)
            t.ok(not refused(p1), 'default: P1 still listens before '
                 'netdev_del')
            q.cmd('netdev_del', {'id': 'u'})
            t.ok(refused(p1), 'default: netdev_del u closes P1')
            t.ok(v.proc.poll() is None, 'default: the daemon stays up')
        check_exit(t, 'default', v)


class UnixEcho:
    """A unix socket server answering each connection's first line with
    HOST-GOT:<line> (the other end of a guestfwd= rule)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                data = b''
                try:
                    while b'\n' not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(b'HOST-GOT:' + data.split(b'\n')[0] +
                                 b'\n')
                except OSError:
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)
        return False


GUESTFWD = r'''
echo %(token)s | timeout 20 nc 192.168.76.100 1234 | sed 's/^/GFWD:/'
echo %(token)s | timeout 20 nc 192.168.76.100 1235 | sed 's/^/CFWD:/'
ip link set eth0 mtu 9000
timeout 30 wget -O /tmp/big http://192.168.76.2:%(port)d/big.bin
echo "BIG=$(wc -c < /tmp/big)"
'''
BIG = 300000
# The command of a guestfwd=...-cmd: rule: answers the first line it reads
# with HOST-CMD:<line>, and exits.  Not under -sandbox on
# (VMWIRE_TEST_SANDBOX): the command would inherit the seccomp allowlist,
# so vmwire refuses the rule, which is checked instead.
CMD_FWD = "sed -n 's/^/HOST-CMD:/p;q'"
SANDBOXED = vmwire_sandbox_args()[1:] not in ([], ['off'])


def test_net(t, page):
    g_port = free_port()
    token = 'GFWD-' + secrets.token_hex(6)
    with tempdir() as d, UnixEcho(os.path.join(d, 'fwd.sock')) as fwd:
        qmp_path = os.path.join(d, 'qmp.sock')
        cmd_fwd = 'guestfwd=tcp:192.168.76.100:1235-cmd:%s' % CMD_FWD
        user = ('user,id=u,net=192.168.76.0/24,dhcpstart=192.168.76.50,'
                'domainname=vmwire.test,dnssearch=a.example,'
                'dnssearch=b.example,mtu=9000,'
                'guestfwd=tcp:192.168.76.100:1234-unix:%s'
                % fwd.path)
        if not SANDBOXED:
            user += ',' + cmd_fwd
        with Vmwire(bench_args(user, [g_port], qmp_path)) as v, \
                QMP.unix(qmp_path) as q:
            q.negotiate()
            cmd = GUEST_CMD % {'page': FETCH % {'host': '192.168.76.2',
                                                'port': page.port},
                               'serve': GUESTFWD % {'token': token,
                                                    'port': page.port}}
            with guest_for(g_port, cmd) as g:
                console = finish_guest(t, 'net', g)
            lease = leases(console)
            t.ok(len(lease) == 1 and lease[0][:3] ==
                 ('192.168.76.50', '255.255.255.0', '192.168.76.2'),
                 'net: net=/dhcpstart= give lease 192.168.76.50/24, router '
                 '192.168.76.2 (%s)' % lease, diag=console)
            t.ok(len(lease) == 1 and lease[0][3] == 'vmwire.test' and
                 lease[0][4].split() == ['a.example', 'b.example'],
                 'net: domainname= and both dnssearch= reach the guest (%s)'
                 % lease, diag=console)
            t.ok('PAGE:%s' % page.token in console,
                 'net: the page comes through 192.168.76.2', diag=console)
            mine = query(q, 'u')
            average = (mine.get('tx-bytes', 0) /
                       max(1, mine.get('tx-frames', 0)))
            t.ok('BIG=%d' % BIG in console and average > 3000,
                 'net: with mtu=9000 (guest MTU 9000) a %d-byte download '
                 'comes in frames of %.0f bytes on average (1500: ~1440)'
                 % (BIG, average), diag=console)
            t.ok('GFWD:HOST-GOT:%s' % token in console,
                 'net: guestfwd=tcp:192.168.76.100:1234-unix:PATH reaches '
                 'the host\'s unix socket, both ways', diag=console)
            if SANDBOXED:
                # The command would inherit the seccomp allowlist.
                reply = q.execute('netdev_add', {
                    'type': 'user', 'id': 'u2',
                    'guestfwd': [{'str': cmd_fwd[len('guestfwd='):]}]})
                t.ok('-sandbox on forbids' in
                     reply.get('error', {}).get('desc', ''),
                     'net: under -sandbox on a guestfwd cmd: is refused',
                     diag=repr(reply))
            else:
                t.ok('CFWD:HOST-CMD:%s' % token in console,
                     'net: guestfwd=...:1235-cmd:COMMAND runs the command '
                     'on the host with the connection as stdin and stdout',
                     diag=console)
        check_exit(t, 'net', v)


def test_restrict(t, page):
    g_port, p1 = free_port(), free_port()
    with tempdir() as d:
        qmp_path = os.path.join(d, 'qmp.sock')
        user = 'user,id=u,restrict=on,hostfwd=tcp:127.0.0.1:%d-:8080' % p1
        with Vmwire(bench_args(user, [g_port], qmp_path)) as v, \
                QMP.unix(qmp_path) as q:
            q.negotiate()
            mine = query(q, 'u')
            t.ok(mine.get('info') == 'net=10.0.2.0,restrict=on',
                 'restrict: x-query-network says restrict=on (%s)' % mine)
            cmd = GUEST_CMD % {'page': FETCH % {'host': '10.0.2.2',
                                                'port': page.port},
                               'serve': SERVE}
            with guest_for(g_port, cmd) as g:
                g.wait_console(r'^SERVICE-READY$', secs(GUEST_TIMEOUT))
                token = secrets.token_hex(6)
                got = echo_retry(p1, token)
                t.ok(got == 'GUEST-GOT:' + token,
                     'restrict: hostfwd still reaches the guest (%r)' % got)
                echo_retry(p1, 'QUIT')
                console = finish_guest(t, 'restrict', g)
            lease = leases(console)
            t.ok(len(lease) == 1 and lease[0][0] == '10.0.2.15',
                 'restrict: the guest still gets its lease (%s)' % lease,
                 diag=console)
            t.ok('WGET-FAILED' in console and page.token not in console,
                 'restrict: wget to 10.0.2.2 fails', diag=console)
        check_exit(t, 'restrict', v)


STUB_MAC = '52:54:00:00:02:0f'


def arp_request(sender_mac, sender_ip, target_ip):
    mac = bytes.fromhex(sender_mac.replace(':', ''))
    return (b'\xff' * 6 + mac + b'\x08\x06' +
            b'\x00\x01\x08\x00\x06\x04\x00\x01' + mac +
            socket.inet_aton(sender_ip) + b'\x00' * 6 +
            socket.inet_aton(target_ip))


def arp_replies(frames, ip):
    """Sender MACs of ARP replies for ip among the base64 frames."""
    out = []
    for f in frames:
        b = base64.b64decode(f['data'])
        if (len(b) >= 42 and b[12:14] == b'\x08\x06' and
                b[20:22] == b'\x00\x02' and b[28:32] == socket.inet_aton(ip)):
            out.append(b[22:28].hex(':'))
    return out


def test_nic(t):
    """A nic-stub on the user netdev: info network, and libslirp answers
    the stub's ARP request for the host address 10.0.2.2."""
    with tempdir() as d:
        qmp_path = os.path.join(d, 'qmp.sock')
        args = ['-netdev', 'user,id=u',
                '-device', 'nic-stub,id=s0,netdev=u,mac=%s,ip=10.0.2.15/24'
                % STUB_MAC,
                '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        with Vmwire(args) as v, QMP.unix(qmp_path) as q:
            q.negotiate()
            info = hmp(q, 'info network')
            t.ok(' \\ u: index=0,type=user,net=10.0.2.0,restrict=off\r\n'
                 in info, 'nic: info network shows QEMU\'s line for u under '
                 'its NIC', diag=info)
            q.cmd('x-nic-stub-read', {'id': 's0'})
            frame = arp_request(STUB_MAC, '10.0.2.15', '10.0.2.2')
            q.cmd('x-nic-stub-inject', {
                'id': 's0', 'data': base64.b64encode(frame).decode()})
            got = []
            deadline = time.monotonic() + secs(5)
            while not got and time.monotonic() < deadline:
                got = arp_replies(q.cmd('x-nic-stub-read', {'id': 's0'}),
                                  '10.0.2.2')
                time.sleep(0.1)
            t.ok(got == ['52:55:0a:00:02:02'],
                 'nic: the stub\'s ARP request for 10.0.2.2 is answered by '
                 'the user netdev (%s)' % got)
        check_exit(t, 'nic', v)


def qemu_hmp(netdevs, lines):
    """QEMU 7.2's answers (-M none, QMP on stdio) to HMP lines, or None
    if QEMU cannot be run."""
    argv = [qemu_binary(), '-M', 'none', '-nodefaults', '-display', 'none',
            '-qmp', 'stdio']
    for n in netdevs:
        argv += ['-netdev', n]
    text = '{"execute": "qmp_capabilities"}\n'
    for line in lines:
        text += json.dumps({'execute': 'human-monitor-command',
                            'arguments': {'command-line': line}}) + '\n'
    text += '{"execute": "quit"}\n'
    try:
        out = subprocess.run(argv, input=text, capture_output=True,
                             text=True, timeout=secs(30)).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    answers = [m['return'] for m in map(json.loads, out.splitlines()[1:])
               if 'return' in m and isinstance(m['return'], str)]
    return answers if len(answers) == len(lines) else None


def test_hmp_like_qemu(t):
    """hostfwd_add/hostfwd_remove answer what QEMU 7.2 answers."""
    port, sport = free_port(), free_port()
    lines = ['hostfwd_add', 'hostfwd_add u', 'hostfwd_add x tcp::1234-:22',
             'hostfwd_add u tcp::1x-:22', 'hostfwd_add u tcp::0-:22x',
             'hostfwd_add u sctp::1-:2', 'hostfwd_add u tcp:1.2.3:1-:2',
             'hostfwd_add a b c', 'hostfwd_add s0 tcp::1-:2',
             'hostfwd_add u tcp:127.0.0.1:%d-:22' % port,
             'hostfwd_add u tcp:127.0.0.1:%d-:22' % port,
             'hostfwd_remove u tcp:127.0.0.1:%d' % port,
             'hostfwd_remove u tcp:127.0.0.1:%d' % port,
             'hostfwd_remove u tcp::1234x', 'hostfwd_remove bogus',
             'hostfwd_remove u udp::1', 'hostfwd_remove s0 tcp::1',
             'hostfwd_remove', 'help hostfwd_add', 'help hostfwd_remove']
    netdevs = ['user,id=u', 'socket,id=s0,listen=127.0.0.1:%d' % sport]
    with tempdir() as d:
        qmp_path = os.path.join(d, 'qmp.sock')
        args = ['-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        for n in netdevs:
            args += ['-netdev', n]
        with Vmwire(args) as v, QMP.unix(qmp_path) as q:
            q.negotiate()
            ours = [hmp(q, line) for line in lines]
        check_exit(t, 'hmp', v)
    t.ok(ours[9] == '' and ours[10] == "Could not set up host forwarding "
         "rule 'tcp:127.0.0.1:%d-:22'\r\n" % port and
         ours[11].endswith('removed\r\n') and
         ours[12].endswith('not found\r\n'),
         'hmp: add, add again, remove, remove again (%s)' % ours[9:13])
    theirs = qemu_hmp(netdevs, lines)
    t.ok(theirs is not None, 'hmp: QEMU 7.2 answered every line')
    for line, a, b in zip(lines, ours, theirs or [None] * len(lines)):
        t.ok(a == b, 'hmp: %r answers as QEMU 7.2 (%r)' % (line, a),
             diag='QEMU: %r' % (b,))


def test_hotplug(t):
    port = free_port()
    with tempdir() as d:
        qmp_path = os.path.join(d, 'qmp.sock')
        with Vmwire(['-qmp', 'unix:%s,server=on,wait=off' % qmp_path]) as v, \
                QMP.unix(qmp_path) as q:
            q.negotiate()
            fds = fd_count(v.proc.pid)
            q.cmd('netdev_add', {'type': 'user', 'id': 'u2', 'hostfwd': [
                {'str': 'tcp:127.0.0.1:%d-:22' % port}]})
            t.ok(wait_port_bound(port, 'tcp', 5.0) and
                 fd_count(v.proc.pid) > fds,
                 'hotplug: netdev_add user opens its hostfwd port')
            info = qemu_info_network(hmp(q, 'info network'))
            t.ok(info == 'u2: index=0,type=user,net=10.0.2.0,restrict=off'
                 '\r\n', 'hotplug: info network shows QEMU\'s line (%r)'
                 % info)
            uport = free_port('udp')
            q.cmd('x-hostfwd-add', {'netdev': 'u2',
                                    'rule': 'udp:127.0.0.1:%d-:53' % uport})
            bound = wait_port_bound(uport, 'udp', 5.0)
            q.cmd('x-hostfwd-remove', {'netdev': 'u2',
                                       'rule': 'udp:127.0.0.1:%d' % uport})
            t.ok(bound and not wait_port_bound(uport, 'udp', 0.2),
                 'hotplug: a udp forward binds its port, removing it closes '
                 'it')
            q.cmd('netdev_del', {'id': 'u2'})
            t.ok(refused(port) and fd_count(v.proc.pid) == fds,
                 'hotplug: netdev_del closes it, fds back to %d (now %d)'
                 % (fds, fd_count(v.proc.pid)))
            try:
                q.cmd('netdev_add', {'type': 'user', 'id': 'u3', 'hostfwd': [
                    {'str': 'tcp::x-:22'}]})
                err = None
            except QMPError as e:
                err = e.reply.get('error') if e.reply else None
            t.ok(err == {'class': 'GenericError', 'desc': "Invalid host "
                         "forwarding rule 'tcp::x-:22' (Bad host port)"} and
                 not query(q, 'u3') and fd_count(v.proc.pid) == fds,
                 'hotplug: a bad rule is a GenericError with QEMU\'s words '
                 'and leaves nothing (%s)' % err)
        check_exit(t, 'hotplug', v)


def main():
    with TAP() as t:
        guest_image()
        with tempdir() as d, PageServer(d) as page:
            test_hotplug(t)
            test_hmp_like_qemu(t)
            test_nic(t)
            test_default(t, page)
            test_net(t, page)
            test_restrict(t, page)


if __name__ == '__main__':
    main()
