"""vmwire_test.ports: free loopback ports, and waiting until one is bound."""

import socket
import time


def free_port(kind='tcp', host='127.0.0.1'):
    """A port on host that is free now for kind 'tcp' or 'udp'.

    The port is released before returning, so another process could take it;
    on loopback in a test suite that is rare enough.
    """
    if kind not in ('tcp', 'udp'):
        raise ValueError("kind must be 'tcp' or 'udp'")
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    stype = socket.SOCK_STREAM if kind == 'tcp' else socket.SOCK_DGRAM
    with socket.socket(family, stype) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_bound(port, kind):
    # /proc/net/{tcp,udp}{,6}: "sl local_address rem_address st ..." with
    # addresses as HEXIP:HEXPORT; TCP state 0A is LISTEN.
    for suffix in ('', '6'):
        try:
            with open('/proc/net/%s%s' % (kind, suffix)) as f:
                lines = f.readlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(':', 1)[1], 16) != port:
                continue
            if kind == 'udp' or fields[3] == '0A':
                return True
    return False


def wait_port_bound(port, kind='tcp', timeout=10.0):
    """Wait until some process listens on TCP port (or has bound UDP port).

    Looks at /proc/net instead of connecting, so a peer that accepts only
    one connection (QEMU's listen=) is not disturbed. Returns True if so.
    """
    deadline = time.monotonic() + timeout
    while True:
        if _port_bound(port, kind):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
