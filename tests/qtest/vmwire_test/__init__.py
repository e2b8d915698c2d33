"""vmwire_test: the library behind vmwire's real-binary tests (tests/qtest/).

It runs the real `vmwire` daemon and real QEMU guests and watches them from
outside. Python 3 standard library only. One module per concern; this
file re-exports their public names, so `from vmwire_test import Vmwire`
works (the QMP client is imported as `from vmwire_test.qmp import QMP`,
the vhost-user frontend as `from vmwire_test import vhost_user`):

    process.py   every child and temporary directory, and their cleanup
    tap.py       TAP
    ports.py     free_port, wait_port_bound
    daemon.py    Vmwire, run_vmwire, check_vmwire_exit
    guest.py     Guest and the guest shell snippets
    qmp.py       QMP, the QMP client (see its docstring)
    frames.py    Ethernet and ARP frames, stream records
    peer.py      StreamPeer
    vhost_user.py  VhostUserFrontend, a vhost-user frontend (memfd memory,
                 split rings, eventfds) with raw access for fault tests
                 (see its docstring; type-checked with mypy --strict)


    TAP          results in TAP; a context manager that turns an exception
                 into a failed test and always ends with the plan
    free_port    a free loopback port
    wait_port_bound  wait until some process has bound/listens on a port
    tempdir      a temporary directory that is always removed
    Vmwire       the daemon: started, waited for "vmwire: ready", stopped
    VmwireRuns   the exits of one vmwire per scenario, checked at the end
    run_vmwire   run the daemon to completion: (exit code, output)
    Guest        a tiny Linux guest in QEMU (virtio-net) that runs one shell
                 command and reports "VMWIRE-RESULT rc=N" on its console
    ping_cmd, ping_stats   a guest ping command and the parse of its output
    wait_ping_cmd  a guest command that waits (bounded) until an IP answers
    section      the console text after a marker line "== NAME"
    qemu_info_network  `info network` text without vmwire's counters lines
    dhcp_cmd, dhcp_lease   a guest command that takes a DHCP lease with
                 udhcpc and applies it, and the parse of what it printed
    QMP, QMPError, QMPClosed, QMPTimeout, error_of   the QMP client
    StreamPeer   a Python peer speaking QEMU's stream framing (4-byte
                 big-endian length, then the frame) over TCP: connect (or
                 wrap an accepted socket), send_frames, recv_frame with a
                 timeout, recv_all (everything until quiet), wait_closed;
                 PeerClosed on EOF or reset
    mac_bytes, mac_str, stream_record, eth_frame, parse_eth, arp_frame,
    inet_checksum,
    arp_fields   build and take apart Ethernet (optionally 802.1Q-tagged)
                 and ARP frames, byte for byte

Example (the vmwire options are illustrative):

    with TAP() as t:
        port = free_port()
        with Vmwire(['-netdev', f'socket,id=s0,listen=127.0.0.1:{port}',
                     '-device', 'nic-stub,netdev=s0,ip=10.0.0.1']) as v, \\
             Guest(f'socket,connect=127.0.0.1:{port}', ip='10.0.0.2/24',
                   run=ping_cmd('10.0.0.1')) as g:
            rc, console = g.wait(60)
            t.ok(rc == 0, 'guest pings the nic-stub', diag=console)

A stream peer (say, on a vmwire listen= netdev with a nic-stub at
10.0.2.100):

    with StreamPeer(port) as peer:
        peer.send_frames([arp_frame(1, PEER_MAC, '10.0.2.15', None,
                                    '10.0.2.100')])
        reply = peer.recv_frame(timeout=5)      # None on timeout
        dst, src, vid, ethertype, payload = parse_eth(reply)

Nothing is left behind: every child is stopped and reaped and every temporary
directory removed when its context ends, when the test raises, on SIGINT,
SIGTERM or SIGHUP, and at interpreter exit; children also get SIGKILL from the
kernel (PR_SET_PDEATHSIG) if this process is killed outright.

Environment:
    VMWIRE_BIN          the daemon (default: build/vmwire in the repo)
    VMWIRE_GUEST_DIR    guest image directory (default: build/guest in the
                        repo); built on first use by scripts/build-guest.sh
    VMWIRE_QEMU         the QEMU binary (default: qemu-system-x86_64)
    VMWIRE_ALLOW_SKIP   1: skip_all exits 77 (skip); otherwise 1 (fail)
    VMWIRE_TEST_KEEP    1: keep temporary directories (for debugging)
"""

from .daemon import (SANITIZER_REPORT, Vmwire, VmwireError, VmwireRuns,
                     check_vmwire_exit, run_vmwire, vmwire_binary,
                     vmwire_command)
from .frames import (BROADCAST, ETH_P_8021Q, ETH_P_ARP,
                     ETH_P_IP, arp_fields, arp_frame, eth_frame,
                     inet_checksum, mac_bytes, mac_str, parse_eth,
                     stream_record)
from .guest import (BUILD_GUEST, GUEST_SH_PRELUDE,
                    GUEST_SH_RECEIVE_COUNT, KERNEL_CMDLINE_MAX, Guest,
                    GuestError, GuestUnavailable, dhcp_cmd, dhcp_lease,
                    guest_dir, guest_done_handshake, guest_done_listen,
                    guest_image, ping_cmd, ping_stats, qemu_binary, section,
                    wait_ping_cmd)
from .peer import PeerClosed, StreamPeer
from .ports import free_port, wait_port_bound
from .process import (REPO_ROOT, TIMEOUT_SCALE, TestInterrupted,
                      cpu_seconds, remove_stale_dirs, rss_kib, tempdir)
from .qmp import (QMP, QMPClosed, QMPError, QMPTimeout,
                  error_of, qemu_info_network)
from .tap import TAP

__all__ = [
    'arp_fields', 'arp_frame', 'BROADCAST', 'BUILD_GUEST', 'check_vmwire_exit',
    'cpu_seconds', 'rss_kib',
    'dhcp_cmd', 'dhcp_lease', 'error_of', 'eth_frame', 'ETH_P_8021Q',
    'ETH_P_ARP', 'ETH_P_IP', 'free_port', 'Guest', 'guest_dir',
    'inet_checksum',
    'guest_done_handshake', 'guest_done_listen', 'guest_image',
    'GUEST_SH_PRELUDE', 'GUEST_SH_RECEIVE_COUNT', 'GuestError',
    'GuestUnavailable', 'KERNEL_CMDLINE_MAX', 'mac_bytes', 'mac_str',
    'parse_eth', 'PeerClosed', 'ping_cmd', 'ping_stats', 'qemu_binary',
    'qemu_info_network', 'QMP', 'QMPClosed', 'QMPError', 'QMPTimeout',
    'remove_stale_dirs', 'REPO_ROOT', 'run_vmwire', 'SANITIZER_REPORT',
    'section', 'stream_record',
    'StreamPeer', 'TAP', 'tempdir', 'TestInterrupted', 'TIMEOUT_SCALE',
    'Vmwire', 'vmwire_binary', 'vmwire_command', 'VmwireError', 'VmwireRuns',
    'wait_ping_cmd', 'wait_port_bound',
]
