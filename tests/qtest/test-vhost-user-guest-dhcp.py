#!/usr/bin/env python3
"""DHCP and NAT through vmwire's user netdev for a guest on vhost-user.

vmwire runs `-netdev user,id=u,hostfwd=tcp:127.0.0.1:P-:8080` as a port of
hub 0 (`-netdev hubport,netdev=u`) and `-netdev vhost-user,...,hubid=0`
on the same hub.  The host runs an HTTP server on 127.0.0.1 serving a page
with a random token and BIG random bytes.  A real QEMU 7.2 guest whose NIC
is on vhost-user (no address given):

  - takes a DHCP lease with busybox udhcpc: 10.0.2.15/24, router 10.0.2.2
    (libslirp's defaults);
  - fetches the page through 10.0.2.2 (libslirp's NAT to the host's
    loopback): the token comes back;
  - fetches the BIG file: its md5 in the guest is the host's;
  - serves an echo service on port 8080: the host's connection to
    127.0.0.1:P (hostfwd) reaches it, the token sent comes back.

vmwire must then exit 0 on SIGTERM with no sanitizer report.
"""

import hashlib
import http.server
import os
import re
import secrets
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vuguests import VuRig, secs, vhost_user_netdev  # noqa: E402
from vmwire_test import (TAP, Guest, dhcp_cmd, dhcp_lease,  # noqa: E402
                         free_port, guest_image, section)

GUEST_TIMEOUT = 150
BIG = 2 * 1024 * 1024

GUEST_CMD = r'''
%(dhcp)s
echo "== page"
timeout 20 wget -q -O /tmp/page http://10.0.2.2:%(port)d/page.txt &&
  echo "PAGE:$(cat /tmp/page)"
echo "== big"
timeout 60 wget -q -O /tmp/big http://10.0.2.2:%(port)d/big.bin &&
  echo "BIG:$(md5sum < /tmp/big) $(wc -c < /tmp/big)"
echo "== serve"
printf '%%s\n' '#!/bin/sh' 'read l' 'echo "GUEST-GOT:$l"' \
  '[ "$l" = QUIT ] && touch /tmp/quit' > /tmp/svc.sh
chmod +x /tmp/svc.sh
nc -ll -p 8080 -e /tmp/svc.sh &
echo SERVICE-READY
i=0
while [ ! -e /tmp/quit ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
echo "== end"
'''


class PageServer:
    """An HTTP server on 127.0.0.1 serving page.txt (a random token) and
    big.bin (BIG random bytes)."""

    def __init__(self, directory):
        self.token = 'PAGE-' + secrets.token_hex(8)
        with open(os.path.join(directory, 'page.txt'), 'w') as f:
            f.write(self.token + '\n')
        big = os.urandom(BIG)
        self.big_md5 = hashlib.md5(big).hexdigest()
        with open(os.path.join(directory, 'big.bin'), 'wb') as f:
            f.write(big)

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
    """Send a line to 127.0.0.1:port; the answer line, '' if closed first,
    None if refused."""
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
    """echo() until the guest's service answers (libslirp accepts and then
    closes a connection while the guest does not listen yet)."""
    got = None
    for _ in range(tries):
        got = echo(port, text)
        if got and got.startswith('GUEST-GOT:'):
            break
        time.sleep(0.5)
    return got


def check_guest(t, console, pages):
    lease = dhcp_lease(console)
    t.ok(lease is not None and lease.get('ip') == '10.0.2.15' and
         lease.get('mask') == '24' and lease.get('router') == '10.0.2.2',
         'DHCP over vhost-user: lease 10.0.2.15/24, router 10.0.2.2 (got %s)'
         % lease, diag=console)
    page = section(console, 'page')
    t.ok('PAGE:%s' % pages.token in page,
         'the guest fetches the page from the host\'s loopback through '
         '10.0.2.2: the token comes back', diag=console)
    big = re.search(r'^BIG:(\w+)\s+-? ?(\d+)$', section(console, 'big'),
                    re.MULTILINE)
    t.ok(big is not None and big.group(1) == pages.big_md5 and
         int(big.group(2)) == BIG,
         'the guest downloads %d random bytes intact (md5 %s, got %s)'
         % (BIG, pages.big_md5, big.groups() if big else None),
         diag=console)


def main(t):
    guest_image()
    fwd = free_port()
    with VuRig(['-netdev', 'user,id=u,hostfwd=tcp:127.0.0.1:%d-:8080' % fwd,
                '-netdev', 'hubport,id=hu,hubid=0,netdev=u',
                '-netdev', vhost_user_netdev('v0', VuRig.SOCK, hubid=0)]) \
            as rig, PageServer(rig.dir) as pages:
        start = time.monotonic()
        with Guest(None, vhost_user=rig.sock,
                   run=GUEST_CMD % {'dhcp': dhcp_cmd(),
                                    'port': pages.port}) as g:
            ready = g.wait_console(r'^SERVICE-READY$', secs(GUEST_TIMEOUT))
            token = secrets.token_hex(6)
            got = echo_retry(fwd, token) if ready else None
            t.ok(got == 'GUEST-GOT:' + token,
                 'hostfwd 127.0.0.1:P to the guest\'s port 8080: the token '
                 'comes back from the guest\'s service (got %r)' % got,
                 diag=g.console)
            echo(fwd, 'QUIT')
            rc, console = g.wait(secs(GUEST_TIMEOUT))
        t.diag('guest: %.1fs' % (time.monotonic() - start))
        t.ok(rc == 0, 'guest command exits 0 (rc=%s)' % rc, diag=console)
        check_guest(t, console, pages)
        rig.check_exit(t, 'dhcp')


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
