#!/usr/bin/env python3
"""vmwire's command line, as a user sees it: messages and exit statuses.

Every bad option runs the real binary to completion and asserts its whole
output (stdout and stderr) and exit status 1.  The form is QEMU's:
`vmwire: -netdev <option string as given>: <message>` (and `-device`).

The cases are data: netdev_cases() is a table (opts, message, qemu) for
one -netdev; argv_cases() holds whole command lines (-device errors,
duplicate ids, missing arguments, unknown options).  A row whose `qemu`
column is set claims that vmwire says what QEMU 7.2 says for the same -netdev;
when QEMU 7.2 is installed the test also runs
`qemu-system-x86_64 -M none -nodefaults -display none ARGS` and checks that
claim, so the table cannot drift from QEMU.  Rows that differ from QEMU on
purpose (ports outside 1..65535, options QEMU does not have) say so in a
comment and are not checked against QEMU.

Then the good paths: --help and --version exit 0; a netdev without a peer
is warned about, gets to `vmwire: ready`, and exits 0 on SIGTERM and on
SIGINT; after a failing option nothing is left listening.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (REPO_ROOT, TAP, TIMEOUT_SCALE, Vmwire,  # noqa: E402
                         free_port, qemu_binary, run_vmwire, vmwire_command,
                         wait_port_bound)

QEMU_ARGS = ['-M', 'none', '-nodefaults', '-display', 'none']
QEMU_PREFIX = 'qemu-system-x86_64: '

# A .invalid name whose first label is too long for DNS (64 > 63 bytes):
# glibc fails it without sending a query anywhere.
UNRESOLVABLE = 'x' * 64 + '.invalid'

EXACTLY_ONE = ('exactly one of listen=, connect=, mcast= or udp= '
               'is required')


def non_local_address():
    """An IPv4 address this host does not have (bind fails, nothing sent)."""
    for addr in ('203.0.113.1', '198.51.100.1', '192.0.2.254'):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((addr, 0))
            except OSError:
                return addr
    raise RuntimeError('every TEST-NET address is local here')


def netdev_cases(port, busy_port, far):
    """(opts, message, qemu) for one -netdev; qemu: QEMU 7.2 says the same.

    port is free, busy_port has a listener of ours on 127.0.0.1, far is an
    address this host does not have.
    """
    lo = '127.0.0.1:%d' % port
    return [
        # exactly one of fd=, listen=, connect=, mcast=, udp=.  QEMU's text
        # does not name fd= although fd= counts.
        ('socket,id=n0', EXACTLY_ONE, True),
        ('socket,id=n0,listen=%s,connect=%s' % (lo, lo), EXACTLY_ONE, True),
        ('socket,id=n0,fd=99,udp=%s' % lo, EXACTLY_ONE, True),
        ('socket,id=n0,listen=%s,localaddr=127.0.0.1:%d' % (lo, port),
         'localaddr= is only valid with mcast= or udp=', True),
        ('socket,id=n0,connect=%s,localaddr=127.0.0.1' % lo,
         'localaddr= is only valid with mcast= or udp=', True),
        ('socket,id=n0,udp=%s' % lo,
         'localaddr= is mandatory with udp=', True),
        # QEMU: "(0x%08x)" of the address in host order.
        ('socket,id=n0,mcast=127.0.0.1:%d' % port,
         'specified mcastaddr 127.0.0.1 (0x7f000001) does not contain a '
         'multicast address', True),
        ('socket,id=n0,mcast=10.1.2.3:%d' % port,
         'specified mcastaddr 10.1.2.3 (0x0a010203) does not contain a '
         'multicast address', True),
        ('socket,id=n0,mcast=240.0.0.1:%d' % port,
         'specified mcastaddr 240.0.0.1 (0xf0000001) does not contain a '
         'multicast address', True),
        ('socket,id=n0,listen=127.0.0.1',
         "host address '127.0.0.1' doesn't contain ':' separating host "
         "from port", True),
        ('socket,id=n0,mcast=230.0.0.1',
         "host address '230.0.0.1' doesn't contain ':' separating host "
         "from port", True),
        ('socket,id=n0,udp=%s,localaddr=127.0.0.1' % lo,
         "host address '127.0.0.1' doesn't contain ':' separating host "
         "from port", True),
        ('socket,id=n0,listen=1.2.3.4.5:%d' % port,
         "host address '1.2.3.4.5' is not a valid IPv4 address", True),
        ('socket,id=n0,connect=300.1.1.1:%d' % port,
         "host address '300.1.1.1' is not a valid IPv4 address", True),
        ('socket,id=n0,connect=%s:%d' % (UNRESOLVABLE, port),
         "can't resolve host address '%s'" % UNRESOLVABLE, True),
        ('socket,id=n0,listen=:x', "port number 'x' is invalid", True),
        ('socket,id=n0,listen=127.0.0.1:', "port number '' is invalid",
         True),
        ('socket,id=n0,udp=127.0.0.1:x,localaddr=%s' % lo,
         "port number 'x' is invalid", True),
        ('socket,id=n0,udp=%s,localaddr=127.0.0.1:y' % lo,
         "port number 'y' is invalid", True),
        # On purpose stricter than QEMU, which takes strtol()'s reading of
        # any prefix (0, 65536 and 99999 are accepted; 99999 wraps, "080"
        # is octal, "12x" is 12): vmwire wants 1..65535 in plain decimal.
        ('socket,id=n0,listen=:0', "port number '0' is invalid", False),
        ('socket,id=n0,listen=:65536', "port number '65536' is invalid",
         False),
        ('socket,id=n0,listen=:99999', "port number '99999' is invalid",
         False),
        ('socket,id=n0,listen=:4294967297',
         "port number '4294967297' is invalid", False),
        ('socket,id=n0,listen=:-1', "port number '-1' is invalid", False),
        ('socket,id=n0,listen=:080', "port number '080' is invalid", False),
        ('socket,id=n0,listen=:12x', "port number '12x' is invalid", False),
        ('socket,id=n0,connect=127.0.0.1:0', "port number '0' is invalid",
         False),
        ('socket,id=n0,udp=%s,localaddr=127.0.0.1:0' % lo,
         "port number '0' is invalid", False),
        # vmwire-only: listen= and connect= take "[ipv6]:port" (QEMU 7.2
        # says "can't resolve host address '['" for any of these).
        ('socket,id=n0,listen=[::1:%d' % port,
         "host address '[::1:%d' is missing the closing ']'" % port, False),
        ('socket,id=n0,connect=[::1]%d' % port,
         "host address '[::1]%d' doesn't contain ':' separating host from "
         "port" % port, False),
        ('socket,id=n0,listen=[zz]:%d' % port,
         "host address '[zz]' is not a valid IPv6 address", False),
        ('socket,id=n0,connect=[::1]:0', "port number '0' is invalid",
         False),
        # Bind failures: an address not on this host (nothing is sent), or
        # a port one of our listeners holds.
        ('socket,id=n0,listen=%s:%d' % (far, port),
         "can't bind ip=%s to socket: Cannot assign requested address" % far,
         True),
        ('socket,id=n0,listen=127.0.0.1:%d' % busy_port,
         "can't bind ip=127.0.0.1 to socket: Address already in use", True),
        ('socket,id=n0,udp=%s,localaddr=%s:%d' % (lo, far, port),
         "can't bind ip=%s to socket: Cannot assign requested address" % far,
         True),
        # TCP to a multicast address fails in connect() itself, locally.
        ('socket,id=n0,connect=224.0.0.1:%d' % port,
         "can't connect socket: Network is unreachable", True),
        # IP_ADD_MEMBERSHIP on an interface address we do not have.
        ('socket,id=n0,mcast=230.0.0.1:%d,localaddr=%s' % (port, far),
         "can't add socket to multicast group 230.0.0.1: No such device",
         True),
        ('socket,id=n0,mcast=230.0.0.1:%d,localaddr=nowhere' % port,
         "localaddr 'nowhere' is not a valid IPv4 address", True),
        # fd=: not open; open but no socket (stdin is /dev/null); no number.
        ('socket,id=n0,fd=99',
         "n0: Can't use file descriptor 99: Bad file descriptor", True),
        ('socket,id=n0,fd=0', "can't get socket option SO_TYPE", True),
        ('socket,id=n0,fd=foo', "Invalid file descriptor number 'foo'",
         True),
        ('socket,id=n0,fd=-1', "Invalid file descriptor number '-1'", True),
        # Parameters and ids.
        ('socket,id=n0,bogus=1', "Invalid parameter 'bogus'", True),
        ('socket,id=n0,listen=%s,Listen=%s' % (lo, lo),
         "Invalid parameter 'Listen'", True),
        ('socket,listen=%s' % lo, "Parameter 'id' is missing", True),
        # QEMU looks at the id (present, well formed) before the type.
        ('listen=%s' % lo, "Parameter 'id' is missing", True),
        ('nosuch', "Parameter 'id' is missing", True),
        ('nosuch,id=0x', "Parameter 'id' expects an identifier", True),
        ('id=n0,listen=%s' % lo, "Parameter 'type' is missing", True),
        # QEMU adds a hint line ("Identifiers consist of letters, ...");
        # vmwire prints the message alone.
        ('socket,id=0n,listen=%s' % lo,
         "Parameter 'id' expects an identifier", True),
        ('socket,id=n@0,listen=%s' % lo,
         "Parameter 'id' expects an identifier", True),
        ('socket,id=n0,,x,listen=%s' % lo,
         "Parameter 'id' expects an identifier", True),
        ('nosuch,id=n0', "Parameter 'type' does not accept value 'nosuch'",
         True),
        # vmwire only: QEMU's -netdev takes the last of repeated keys.
        ('socket,id=n0,listen=%s,listen=127.0.0.1:1' % lo,
         "Parameter 'listen' is given more than once", False),
        # -netdev hubport: QEMU's messages; vlan= is vmwire's.
        ('hubport,id=n0', "Parameter 'hubid' is missing", True),
        ('hubport,id=n0,hubid=0,netdev=nope', "netdev 'nope' not found",
         True),
        ('hubport,id=n0,hubid=0,vlan=4095',
         "Parameter 'vlan' expects a VLAN id (1..4094)", False),
        # -netdev stream: the visitor's messages are QEMU's.
        ('stream,id=n0', "Parameter 'addr' is missing", True),
        ('stream,id=n0,addr.type=inet,addr.port=%d' % port,
         "Parameter 'addr.host' is missing", True),
        # QEMU 7.2 has no reconnect; these are QEMU 9.2's words.
        ('stream,id=n0,server=on,reconnect-ms=500,addr.type=inet,'
         'addr.host=127.0.0.1,addr.port=%d' % port,
         "'reconnect' and 'reconnect-ms' options are incompatible with "
         "socket in server mode", False),
        ('stream,id=n0,server=on,reconnect=1,addr.type=unix,addr.path=/x',
         "'reconnect' and 'reconnect-ms' options are incompatible with "
         "socket in server mode", False),
        # QEMU 7.2 reports these only later, as the status "connection
        # error"; vmwire refuses them at once (QEMU's words for each).
        ('stream,id=n0,addr.type=inet,addr.host=127.0.0.1,addr.port=99999',
         "port number '99999' is invalid", False),
        ('stream,id=n0,server=on,addr.type=inet,addr.host=%s,addr.port=%d'
         % (UNRESOLVABLE, port),
         'address resolution failed for %s:%d: Name or service not known'
         % (UNRESOLVABLE, port), False),
        ('stream,id=n0,server=on,addr.type=unix,addr.path=/' + 'x' * 120,
         "UNIX socket path '/%s' is too long" % ('x' * 120), False),
        ('stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,'
         'addr.port=%d' % busy_port,
         'Failed to bind socket to tcp:127.0.0.1:%d: Address already in use'
         % busy_port, False),
        ('stream,id=n0,addr.type=fd,addr.str=0',
         "File descriptor '0' is not a socket", False),
        ('stream,id=n0,addr.type=fd,addr.str=foo',
         "File descriptor named 'foo' has not been found", False),
        # vmwire only: hubid= (many clients on one listener, each its own
        # hub port) and its companions.
        ('stream,id=n0,hubid=0,addr.type=unix,addr.path=/x',
         'hubid= requires server=on', False),
        ('stream,id=n0,server=off,hubid=0,addr.type=inet,'
         'addr.host=127.0.0.1,addr.port=%d' % port,
         'hubid= requires server=on', False),
        ('socket,id=n0,connect=%s,hubid=0' % lo,
         'hubid= is only valid with listen=', False),
        ('socket,id=n0,mcast=230.0.0.1:%d,hubid=0' % port,
         'hubid= is only valid with listen=', False),
        ('socket,id=n0,fd=3,hubid=0', 'hubid= is only valid with listen=',
         False),
        ('socket,id=n0,listen=%s,max-clients=4' % lo,
         'max-clients= is only valid with hubid=', False),
        ('stream,id=n0,server=on,vlan=2,addr.type=unix,addr.path=/x',
         'vlan= is only valid with hubid=', False),
        ('socket,id=n0,listen=%s,hubid=0,max-clients=0' % lo,
         "Parameter 'max-clients' expects a number of clients (1..1024)",
         False),
        ('stream,id=n0,server=on,hubid=0,max-clients=1025,addr.type=unix,'
         'addr.path=/x',
         "Parameter 'max-clients' expects a number of clients (1..1024)",
         False),
        ('stream,id=n0,server=on,hubid=0,vlan=4095,addr.type=unix,'
         'addr.path=/x', "Parameter 'vlan' expects a VLAN id (1..4094)",
         False),
        ('socket,id=n0,listen=%s,hubid=x' % lo,
         "Parameter 'hubid' expects an integer", False),
        ('socket,id=n0,listen=127.0.0.1:%d,hubid=0' % busy_port,
         "can't bind ip=127.0.0.1 to socket: Address already in use", False),
        # -netdev dgram: QEMU 7.2's checks, in its order.
        ('dgram,id=n0', 'dgram requires local= parameter', True),
        ('dgram,id=n0,remote.type=unix,remote.path=/x',
         'dgram requires local= parameter', True),
        ('dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=%d'
         % port, 'type=inet or type=unix requires remote parameter', True),
        ('dgram,id=n0,local.type=unix,local.path=/x,remote.type=inet,'
         'remote.host=127.0.0.1,remote.port=%d' % port,
         'remote and local types must be the same', True),
        ('dgram,id=n0,local.type=fd,local.str=3,remote.type=inet,'
         'remote.host=127.0.0.1,remote.port=%d' % port,
         "don't set remote with local.fd", True),
        ('dgram,id=n0,local.type=unix,local.path=/x,remote.type=inet,'
         'remote.host=230.0.0.1,remote.port=%d' % port,
         'only support inet or fd type for local', True),
        ('dgram,id=n0,local.type=inet,local.host=300.1.1.1,local.port=%d,'
         'remote.type=inet,remote.host=127.0.0.1,remote.port=%d'
         % (port, port), "host address '300.1.1.1' is not a valid IPv4 "
         "address", True),
        ('dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=x,'
         'remote.type=inet,remote.host=127.0.0.1,remote.port=%d' % port,
         "port number 'x' is invalid", True),
        ('dgram,id=n0,local.type=unix,local.path=/nonexistent/x,'
         'remote.type=unix,remote.path=/nonexistent/y',
         "can't bind unix=/nonexistent/x to socket: No such file or "
         "directory", True),
        ('dgram,id=n0,local.type=fd,local.str=99',
         "n0: Can't use file descriptor 99: Bad file descriptor", True),
        ('dgram,id=n0,local.type=fd,local.str=2',
         'Unable to query local socket address: Socket operation on '
         'non-socket', True),
        # -netdev user (libslirp): QEMU 7.2's checks and words.
        ('user,id=u,hostfwd=bogus',
         "Invalid host forwarding rule 'bogus' (No : separators)", True),
        ('user,id=u,hostfwd=sctp::1-:2',
         "Invalid host forwarding rule 'sctp::1-:2' (Bad protocol name)",
         True),
        ('user,id=u,hostfwd=tcp:127.0.0.1',
         "Invalid host forwarding rule 'tcp:127.0.0.1' (Missing : "
         "separator)", True),
        ('user,id=u,hostfwd=tcp:300.0.0.1:1-:2',
         "Invalid host forwarding rule 'tcp:300.0.0.1:1-:2' (Bad host "
         "address)", True),
        ('user,id=u,hostfwd=tcp::1:2',
         "Invalid host forwarding rule 'tcp::1:2' (Bad host port "
         "separator)", True),
        ('user,id=u,hostfwd=udp::x-:2',
         "Invalid host forwarding rule 'udp::x-:2' (Bad host port)", True),
        ('user,id=u,hostfwd=tcp::1-2',
         "Invalid host forwarding rule 'tcp::1-2' (Missing guest address)",
         True),
        ('user,id=u,hostfwd=tcp::1-x:2',
         "Invalid host forwarding rule 'tcp::1-x:2' (Bad guest address)",
         True),
        ('user,id=u,hostfwd=tcp::1-:0',
         "Invalid host forwarding rule 'tcp::1-:0' (Bad guest port)", True),
        ('user,id=u,hostfwd=tcp:127.0.0.1:%d-:22' % busy_port,
         "Could not set up host forwarding rule 'tcp:127.0.0.1:%d-:22'"
         % busy_port, True),
        # hostfwd= repeated: QEMU sets rules up last first.
        ('user,id=u,hostfwd=tcp:127.0.0.1:%d-:22,hostfwd=tcp:127.0.0.1:%d-:23'
         % (port, port),
         "Could not set up host forwarding rule 'tcp:127.0.0.1:%d-:22'"
         % port, True),
        ('user,id=u,net=10.0.2.0/33',
         'Invalid netmask provided (must be in range 4-32)', True),
        ('user,id=u,net=nonsense', 'Failed to parse netmask', True),
        ('user,id=u,net=10.0.0.0/255.255.0.x',
         'Failed to parse netmask (trailing chars)', True),
        ('user,id=u,host=nonsense', 'Failed to parse host', True),
        ('user,id=u,host=10.0.3.2', "Host doesn't belong to network", True),
        ('user,id=u,dns=10.0.2.2', 'DNS must be different from host', True),
        ('user,id=u,restrict=on,dns=10.0.3.3',
         "DNS doesn't belong to network", True),
        ('user,id=u,dhcpstart=10.0.3.15', "DHCP doesn't belong to network",
         True),
        ('user,id=u,dhcpstart=10.0.2.3',
         'DHCP must be different from host and DNS', True),
        ('user,id=u,ipv4=off,ipv6=off', 'IPv4 and IPv6 disabled', True),
        ('user,id=u,ipv4=off,net=10.0.0.0/8',
         'IPv4 disabled but netmask/host/dns provided', True),
        ('user,id=u,ipv6=off,ipv6-prefix=fd00::',
         'IPv6 disabled but prefix/host6/dns6 provided', True),
        ('user,id=u,ipv6-prefix=nonsense', 'Failed to parse IPv6 prefix',
         True),
        ('user,id=u,ipv6-prefixlen=127', 'Invalid IPv6 prefix provided '
         '(IPv6 prefix length must be between 0 and 126)', True),
        ('user,id=u,ipv6-net=fd00::/x',
         "Parameter 'ipv6-prefixlen' expects a number", True),
        ('user,id=u,ipv6-net=fd00::,ipv6-host=fd00:0:0:1::2',
         "IPv6 Host doesn't belong to network", True),
        ('user,id=u,ipv6-net=fd00::/64,ipv6-host=fd01::2',
         "IPv6 Host doesn't belong to network", True),
        ('user,id=u,domainname=', "'domainname' parameter cannot be empty",
         True),
        ('user,id=u,guestfwd=bogus', "Invalid guest forwarding rule 'bogus'",
         True),
        # vmwire only: QEMU lets a scalar repeat (the last one wins).
        ('user,id=u,net=10.0.2.0/24,net=10.0.3.0/24',
         "Parameter 'net' is given more than once", False),
        # vmwire only: mtu= is an extension; chardev/cmd: guestfwd targets.
        ('user,id=u,mtu=67',
         "Parameter 'mtu' expects a value between 68 and 65520", False),
        ('user,id=u,mtu=65521',
         "Parameter 'mtu' expects a value between 68 and 65520", False),
        ('user,id=u,guestfwd=tcp:10.0.2.100:1234-tcp:127.0.0.1:4321',
         "guest forwarding target 'tcp:127.0.0.1:4321' is not supported: "
         "vmwire forwards to unix:/PATH or cmd:COMMAND only", False),
        # vmwire only: QEMU 7.2's dgram cannot resolve IPv6 at all.
        ('dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=%d,'
         'remote.type=inet,remote.host=::1,remote.port=%d' % (port, port),
         'local and remote address families differ', False),
        ('dgram,id=n0,local.type=inet,local.host=nosuchif0,local.port=0,'
         'remote.type=inet,remote.host=ff05::1,remote.port=%d' % port,
         "can't find the interface of 'nosuchif0'", False),
    ]


def argv_cases(port, port2):
    """(argv, whole expected output, qemu argv or None) for whole lines.

    The qemu column is the argument list QEMU 7.2 is checked with (its
    message must be the same after the prefix); None: no QEMU equivalent.
    """
    lo, lo2 = '127.0.0.1:%d' % port, '127.0.0.1:%d' % port2
    n0 = 'socket,id=n0,listen=' + lo
    rows = []

    def row(argv, out, qemu=None):
        rows.append((argv, out, qemu))

    dup = 'socket,id=n0,listen=' + lo2
    row(['-netdev', n0, '-netdev', dup],
        "vmwire: -netdev %s: Duplicate ID 'n0' for netdev\n" % dup,
        ['-netdev', n0, '-netdev', dup])
    # nic-stub is vmwire's own model; QEMU's NICs word these the same way
    # ("Property 'virtio-net-device.netdev' can't find value 'nope'").
    for dev, msg in [
            ('nic-stub,id=s0,netdev=nope',
             "Property 'nic-stub.netdev' can't find value 'nope'"),
            ('nic-stub,id=s0,netdev=n0,mac=zz',
             "Property 'nic-stub.mac' doesn't take value 'zz'"),
            ('nic-stub,id=s0,netdev=n0,mac=52:54:00:00:00',
             "Property 'nic-stub.mac' doesn't take value '52:54:00:00:00'"),
            ('nic-stub,id=s0,netdev=n0,mac=01:00:5e:00:00:01',
             "Property 'nic-stub.mac' doesn't take value "
             "'01:00:5e:00:00:01'"),
            ('nic-stub,id=s0,netdev=n0,ip=10.0.2.300',
             "Property 'nic-stub.ip' doesn't take value '10.0.2.300'"),
            ('nic-stub,id=s0,netdev=n0,ip=10.0.2.100/33',
             "Property 'nic-stub.ip' doesn't take value '10.0.2.100/33'"),
            ('nic-stub,id=s0,netdev=n0,ip=stub',
             "Property 'nic-stub.ip' doesn't take value 'stub'"),
            # QEMU: "Property 'virtio-net-pci.bogus' not found".
            ('nic-stub,id=s0,netdev=n0,bogus=1',
             "Property 'nic-stub.bogus' not found"),
            ('nosuch,id=s0,netdev=n0',
             "'nosuch' is not a valid device model name"),
            ('netdev=n0', "Parameter 'driver' is missing"),
            # QEMU checks device ids as it checks netdev ids.
            ('nic-stub,id=9s,netdev=n0',
             "Parameter 'id' expects an identifier")]:
        row(['-netdev', n0, '-device', dev],
            'vmwire: -device %s: %s\n' % (dev, msg))
    # The netdev is taken by the first device (devices come after netdevs
    # whatever the order on the command line).
    second = 'nic-stub,id=s1,netdev=n0'
    row(['-device', 'nic-stub,id=s0,netdev=n0', '-netdev', n0,
         '-device', second],
        "vmwire: -device %s: Property 'nic-stub.netdev' can't take value "
        "'n0', it's in use\n" % second)
    dup_dev = 'nic-stub,id=s0'
    row(['-netdev', n0, '-device', 'nic-stub,id=s0,netdev=n0',
         '-device', dup_dev],
        "vmwire: -device %s: Duplicate ID 's0' for device\n" % dup_dev)
    # A hubid= listener has no peer of its own: its connections do.
    multi = 'socket,id=l0,listen=%s,hubid=0' % lo
    row(['-netdev', multi, '-device', 'nic-stub,id=s0,netdev=l0'],
        "vmwire: -device nic-stub,id=s0,netdev=l0: Property "
        "'nic-stub.netdev' can't take value 'l0', it's in use\n")
    row(['-netdev', multi, '-netdev', 'hubport,id=p0,hubid=1,netdev=l0'],
        "vmwire: -netdev hubport,id=p0,hubid=1,netdev=l0: netdev 'l0' is "
        "already in use\n")
    # The first bad option ends it: the second is never looked at.
    row(['-netdev', 'socket,id=a,bogus=1', '-netdev', 'socket,id=b'],
        "vmwire: -netdev socket,id=a,bogus=1: Invalid parameter 'bogus'\n",
        ['-netdev', 'socket,id=a,bogus=1', '-netdev', 'socket,id=b'])
    for flag in ('-netdev', '-device'):
        row([flag], 'vmwire: %s: requires an argument\n' % flag, [flag])
        row(['-netdev', n0, flag],
            'vmwire: %s: requires an argument\n' % flag, ['-netdev', n0, flag])
    for bad in ('-bogus', '--bogus', 'bogus', '-'):
        row([bad], "vmwire: %s: invalid option\n"
                   "Try 'vmwire --help' for more information.\n" % bad)
    return rows


# --- QEMU, to check the table against ------------------------------------------

def qemu_72():
    """The QEMU binary if it is QEMU 7.2, else None (with the reason)."""
    qemu = shutil.which(qemu_binary())
    if not qemu:
        return None, '%s not found' % qemu_binary()
    try:
        out = subprocess.run([qemu, '--version'], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return None, str(e)
    if not re.match(r'QEMU emulator version 7\.2\.', out.stdout):
        return None, 'not QEMU 7.2: ' + out.stdout.split('\n')[0]
    return qemu, None


def qemu_message(qemu, args):
    """(exit code, QEMU's first output line without its prefix, output)."""
    try:
        res = subprocess.run([qemu] + QEMU_ARGS + args,
                             stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return None, '', '(QEMU still running after 10 s)'
    out = res.stdout + res.stderr
    first = out.split('\n')[0]
    if first.startswith(QEMU_PREFIX):
        first = first[len(QEMU_PREFIX):]
    return res.returncode, first, out


# --- the checks ------------------------------------------------------------------

def check_netdev_table(t, qemu, port, busy_port, far):
    for opts, msg, same_as_qemu in netdev_cases(port, busy_port, far):
        expected = 'vmwire: -netdev %s: %s\n' % (opts, msg)
        rc, out = run_vmwire(['-netdev', opts], timeout=5)
        t.ok(rc == 1 and out == expected, '-netdev %s: %s' % (opts, msg),
             diag='exit %s, expected 1\ngot:      %r\nexpected: %r'
                  % (rc, out, expected))
        if qemu and same_as_qemu:
            qrc, qmsg, qout = qemu_message(qemu, ['-netdev', opts])
            want = '-netdev %s: %s' % (opts, msg)
            t.ok(qrc == 1 and qmsg == want,
                 'QEMU 7.2 says the same for -netdev %s' % opts,
                 diag='QEMU exit %s\n%s' % (qrc, qout))


def check_argv_table(t, qemu, port, port2):
    for argv, expected, qemu_argv in argv_cases(port, port2):
        rc, out = run_vmwire(argv, timeout=5)
        t.ok(rc == 1 and out == expected, 'vmwire %s' % ' '.join(argv),
             diag='exit %s, expected 1\ngot:      %r\nexpected: %r'
                  % (rc, out, expected))
        if qemu and qemu_argv is not None:
            qrc, qmsg, qout = qemu_message(qemu, qemu_argv)
            want = expected.split('\n')[0][len('vmwire: '):]
            t.ok(qrc == 1 and qmsg == want,
                 'QEMU 7.2 says the same for %s' % ' '.join(qemu_argv),
                 diag='QEMU exit %s\n%s' % (qrc, qout))


def check_wrong_socket_type(t, qemu):
    """fd= of a socket that is neither SOCK_STREAM nor SOCK_DGRAM."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with a, b:
        fd = a.fileno()
        opts = 'socket,id=n0,fd=%d' % fd
        msg = ('socket type=%d for fd=%d must be either SOCK_DGRAM or '
               'SOCK_STREAM' % (socket.SOCK_SEQPACKET, fd))
        expected = 'vmwire: -netdev %s: %s\n' % (opts, msg)
        res = subprocess.run(vmwire_command() + ['-netdev', opts],
                             pass_fds=[fd], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             timeout=10 * TIMEOUT_SCALE)
        t.ok(res.returncode == 1 and res.stdout == expected,
             '-netdev fd= of a SOCK_SEQPACKET socket: ' + msg,
             diag='exit %s\ngot:      %r\nexpected: %r'
                  % (res.returncode, res.stdout, expected))
        if qemu:
            res = subprocess.run([qemu] + QEMU_ARGS + ['-netdev', opts],
                                 pass_fds=[fd], stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=10)
            t.ok(res.returncode == 1 and res.stderr ==
                 QEMU_PREFIX + '-netdev %s: %s\n' % (opts, msg),
                 'QEMU 7.2 says the same for fd= of a SOCK_SEQPACKET socket',
                 diag=res.stderr)


def project_version():
    with open(os.path.join(REPO_ROOT, 'meson.build')) as f:
        match = re.search(r"version:\s*'([^']+)'", f.read())
    return match.group(1) if match else None


def check_help_version(t):
    for flag in ('--help', '-h', '-help'):
        rc, out = run_vmwire([flag])
        t.ok(rc == 0 and out.startswith('usage: vmwire [-netdev OPTIONS]...')
             and all(form in out for form in (
                 '-netdev socket,id=ID,listen=[HOST]:PORT',
                 '-netdev socket,id=ID,connect=HOST:PORT',
                 '-netdev socket,id=ID,udp=HOST:PORT,localaddr=HOST:PORT',
                 '-netdev socket,id=ID,mcast=GROUP:PORT[,localaddr=ADDR]',
                 '-netdev socket,id=ID,fd=N', '-device nic-stub,'))
             and 'ready' not in out,
             '%s exits 0 and shows the usage of every option' % flag,
             diag='exit %s\n%s' % (rc, out))
    # --help wins even after a bad option value (options are applied later).
    rc, out = run_vmwire(['-netdev', 'socket,id=n0,bogus=1', '--help'])
    t.ok(rc == 0 and out.startswith('usage: vmwire '),
         '--help after a bad -netdev shows the usage, exit 0',
         diag='exit %s\n%s' % (rc, out))
    version = project_version()
    rc, out = run_vmwire(['--version'])
    t.ok(rc == 0 and out == 'vmwire version %s\n' % version,
         '--version prints "vmwire version %s"' % version,
         diag='exit %s\n%r' % (rc, out))


def check_no_peer(t, sig):
    """A netdev without a peer: warned, ready, listening; exit 0 on sig."""
    port = free_port()
    name = signal.Signals(sig).name
    with Vmwire(['-netdev', 'socket,id=n0,listen=127.0.0.1:%d' % port]) as v:
        t.ok(v.log() == 'vmwire: warning: netdev n0 has no peer\n'
                        'vmwire: ready\n',
             'netdev without a peer: the warning, then ready (%s run)' % name,
             diag=v.log())
        t.ok(wait_port_bound(port, 'tcp', 5 * TIMEOUT_SCALE),
             'and it listens on 127.0.0.1:%d' % port, diag=v.log())
        v.proc.send_signal(sig)
        try:
            rc = v.proc.wait(5 * TIMEOUT_SCALE)
        except subprocess.TimeoutExpired:
            rc = None
        t.ok(rc == 0, '%s: exit status 0' % name,
             diag='exit %s\n%s' % (rc, v.log()))
        t.ok(v.log().endswith('vmwire: ready\nvmwire: shutting down\n'),
             '%s: "vmwire: shutting down" is the last line' % name,
             diag=v.log())
        t.ok(not wait_port_bound(port, 'tcp', 0),
             '%s: the port is closed after exit' % name)


def port_is_free(port):
    """True if we can bind and listen on 127.0.0.1:port (no SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(('127.0.0.1', port))
            s.listen(1)
        except OSError:
            return False
    return True


def check_nothing_left(t):
    """A failing option after a listener: exit 1, the listener is gone."""
    port, port2 = free_port(), free_port()
    bad = 'socket,id=b,bogus=1'
    argv = ['-netdev', 'socket,id=a,listen=127.0.0.1:%d' % port,
            '-netdev', 'socket,id=c,connect=127.0.0.1:%d' % port2,
            '-netdev', bad]
    rc, out = run_vmwire(argv, timeout=5)
    expected = "vmwire: -netdev %s: Invalid parameter 'bogus'\n" % bad
    t.ok(rc == 1 and out == expected,
         'a bad -netdev after a listen= and a connect=: its message, exit 1'
         ' (no leak report)', diag='exit %s\n%r' % (rc, out))
    t.ok(port_is_free(port) and not wait_port_bound(port, 'tcp', 0),
         'nothing is left listening on 127.0.0.1:%d' % port)
    # The same with the failure in a -device, after every netdev exists.
    dev = 'nic-stub,netdev=a,mac=bad'
    rc, out = run_vmwire(['-netdev', 'socket,id=a,listen=127.0.0.1:%d' % port,
                          '-device', dev])
    t.ok(rc == 1 and out == "vmwire: -device %s: Property 'nic-stub.mac' "
                            "doesn't take value 'bad'\n" % dev,
         'a bad -device after a listen=: its message, exit 1',
         diag='exit %s\n%r' % (rc, out))
    t.ok(port_is_free(port),
         'nothing is left listening on 127.0.0.1:%d' % port)


def main(t):
    qemu, why = qemu_72()
    if not qemu:
        t.diag('QEMU 7.2 not available (%s): the table is not checked '
               'against QEMU' % why)
    port, port2 = free_port(), free_port()
    far = non_local_address()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        check_netdev_table(t, qemu, port, busy.getsockname()[1], far)
    check_argv_table(t, qemu, port, port2)
    check_wrong_socket_type(t, qemu)
    check_help_version(t)
    check_no_peer(t, signal.SIGTERM)
    check_no_peer(t, signal.SIGINT)
    check_nothing_left(t)


if __name__ == '__main__':
    with TAP() as tap:
        main(tap)
