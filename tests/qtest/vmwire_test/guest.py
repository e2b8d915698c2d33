"""vmwire_test.guest: tiny Linux guests in QEMU, and the shell snippets
they run.

Guest boots the image scripts/build-guest.sh makes (built once, under a
lock) with one virtio-net NIC and runs one shell command; its console shows
VMWIRE-GUEST-UP, the command's output and VMWIRE-RESULT rc=N.  The rest of
the module writes guest commands (ping_cmd, wait_ping_cmd, dhcp_cmd, the
GUEST_SH_* pieces) and parses what they print (ping_stats, dhcp_lease,
section).
"""

import base64
import fcntl
import json
import os
import re
import shlex
import subprocess
import time

from .process import (REPO_ROOT, TIMEOUT_SCALE, _kill_and_reap,
                      _make_temp_dir, _read_text, _remove_dir, _spawn)

BUILD_GUEST = os.path.join(REPO_ROOT, 'scripts', 'build-guest.sh')

# x86 COMMAND_LINE_SIZE is 2048 including the terminating NUL.
KERNEL_CMDLINE_MAX = 2047


class GuestError(Exception):
    """QEMU could not be started for a guest."""


class GuestUnavailable(Exception):
    """The guest image could not be built (the only reason to skip a test)."""


def guest_dir():
    """The guest image directory: $VMWIRE_GUEST_DIR or build/guest."""
    path = os.environ.get('VMWIRE_GUEST_DIR') or os.path.join(REPO_ROOT,
                                                              'build', 'guest')
    return os.path.abspath(path)


_guest_image = None


def guest_image():
    """Build the guest image if needed; returns (kernel, initrd) paths.

    scripts/build-guest.sh is cached, and runs under a lock so parallel tests
    build once. Raises GuestUnavailable with the script's message on failure.
    The kernel is the decompressed vmlinux (PVH boot, ~2 s faster under TCG)
    when the build produced one, vmlinuz otherwise.
    """
    global _guest_image
    if _guest_image:
        return _guest_image
    out = guest_dir()
    try:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, '.build.lock'), 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            res = subprocess.run(['bash', BUILD_GUEST, out],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=300)
    except (OSError, subprocess.SubprocessError) as e:
        raise GuestUnavailable(str(e)) from e
    if res.returncode != 0:
        raise GuestUnavailable(res.stdout.decode(errors='replace').strip())
    kernel = os.path.join(out, 'vmlinux')
    if not os.path.exists(kernel):
        kernel = os.path.join(out, 'vmlinuz')
    _guest_image = (kernel, os.path.join(out, 'initramfs.cpio.gz'))
    return _guest_image


def qemu_binary():
    return os.environ.get('VMWIRE_QEMU') or 'qemu-system-x86_64'


def _netdev_id(opts):
    """The id= of a -netdev argument (dotted or JSON), or None."""
    if opts.lstrip().startswith('{'):
        return json.loads(opts).get('id')
    for part in opts.split(','):
        if part.startswith('id='):
            return part[3:]
    return None


_mac_counter = 0


def _next_mac():
    global _mac_counter
    _mac_counter += 1
    pid = os.getpid()
    return '52:54:%02x:%02x:%02x:%02x' % ((pid >> 16) & 0xff, (pid >> 8) & 0xff,
                                          pid & 0xff, _mac_counter & 0xff)


class Guest:
    """A tiny Linux guest in QEMU (TCG) that runs one shell command.

    netdev_opts is a -netdev argument for its virtio-net NIC, dotted
    ('socket,connect=127.0.0.1:5000'; id=n0 is added if it has no id=) or
    JSON; None means no NIC (unless vhost_user is given). vhost_user=PATH
    puts the NIC on vhost-user instead: QEMU connects to the backend
    listening on unix socket PATH (see vhost_user_argv), with reconnect=N
    seconds after the backend goes away (None: never); netdev_opts must then
    be None. ip / ip6 ('10.0.0.2/24', 'fd00::2/64') are
    assigned to eth0; run is the shell command (the guest's busybox sh). mac
    defaults to a locally administered address unique in this process. extra
    is appended to QEMU's command line.

    Entering starts QEMU, exiting kills it and removes its temporary files.
    The console (ttyS0) shows VMWIRE-GUEST-UP just before the command runs,
    its output, then VMWIRE-RESULT rc=N; then the guest powers off.
    """

    MEMORY = '256'
    # no_timer_check: under TCG on a loaded machine the kernel's IO-APIC
    # timer check can miss its ticks and panic ("IO-APIC + timer doesn't
    # work!"), which a busy CI machine hit; the check proves nothing here.
    KERNEL_ARGS = 'console=ttyS0 quiet panic=-1 mitigations=off no_timer_check'

    def __init__(self, netdev_opts, ip=None, run=None, mac=None, ip6=None,
                 extra=(), append='', vhost_user=None, reconnect=None):
        if vhost_user is not None and netdev_opts is not None:
            raise ValueError('Guest: netdev_opts and vhost_user are '
                             'exclusive')
        self.netdev_opts = netdev_opts
        self.vhost_user = vhost_user
        self.reconnect = reconnect
        self.ip = ip
        self.ip6 = ip6
        self.run = run
        self.mac = mac or _next_mac()
        self.extra = [str(a) for a in extra]
        self.append = append
        self.proc = None
        self.started_at = None
        self._dir = None

    def kernel_cmdline(self):
        words = [self.KERNEL_ARGS]
        if self.ip:
            words.append('vmwire.ip=' + self.ip)
        if self.ip6:
            words.append('vmwire.ip6=' + self.ip6)
        if self.run is not None:
            words.append('vmwire.run=' +
                         base64.b64encode(self.run.encode()).decode())
        if self.append:
            words.append(self.append)
        line = ' '.join(words)
        if len(line) > KERNEL_CMDLINE_MAX:
            raise ValueError('guest command too long: kernel command line '
                             'would be %d bytes, the limit is %d'
                             % (len(line), KERNEL_CMDLINE_MAX))
        return line

    def qemu_argv(self):
        kernel, initrd = guest_image()
        argv = [qemu_binary(), '-M', 'pc', '-accel', 'tcg',
                '-m', self.MEMORY, '-nodefaults', '-no-user-config',
                '-display', 'none', '-no-reboot',
                '-serial', 'file:' + os.path.join(self._dir, 'console.log'),
                '-kernel', kernel, '-initrd', initrd,
                '-append', self.kernel_cmdline()]
        if self.netdev_opts is not None:
            opts = self.netdev_opts
            netdev_id = _netdev_id(opts)
            if netdev_id is None:
                netdev_id = 'n0'
                if opts.lstrip().startswith('{'):
                    opts = json.dumps(dict(json.loads(opts), id='n0'))
                else:
                    opts += ',id=n0'
            # romfile= : no PXE option ROM; we boot with -kernel, so it is
            # not needed, and QEMU then needs no ipxe-qemu ROM files.
            argv += ['-netdev', opts, '-device',
                     'virtio-net-pci,netdev=%s,mac=%s,romfile='
                     % (netdev_id, self.mac)]
        if self.vhost_user is not None:
            argv += vhost_user_argv(self.vhost_user, self.mac, self.MEMORY,
                                    self.reconnect)
        return argv + self.extra

    def start(self):
        self.kernel_cmdline()        # fail early on a too long command
        guest_image()
        self._dir = _make_temp_dir('guest')
        argv = self.qemu_argv()
        self.started_at = time.monotonic()
        try:
            self.proc = _spawn(argv, os.path.join(self._dir, 'qemu.log'))
        except OSError as e:
            self.close()
            raise GuestError('cannot start %s: %s' % (argv[0], e)) from e
        return self

    def console(self):
        """The guest console so far (\\r\\n turned into \\n)."""
        return _read_text(os.path.join(self._dir, 'console.log')) \
            if self._dir else ''

    def qemu_log(self):
        """What QEMU itself printed (errors, warnings)."""
        return _read_text(os.path.join(self._dir, 'qemu.log')) \
            if self._dir else ''

    def wait_console(self, regex, timeout=60.0, since=0):
        """Wait until regex (re.MULTILINE) matches the console from offset
        since; returns the match, or None on timeout or QEMU exit."""
        pattern = re.compile(regex, re.MULTILINE)
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while True:
            exited = self.proc.poll() is not None
            match = pattern.search(self.console(), since)
            if match or exited or time.monotonic() >= deadline:
                return match
            time.sleep(0.05)

    def wait_up(self, timeout=60.0):
        """Wait for VMWIRE-GUEST-UP; returns seconds since start, or None."""
        if self.wait_console(r'^VMWIRE-GUEST-UP$', timeout) is None:
            return None
        return time.monotonic() - self.started_at

    def wait(self, timeout=60.0):
        """Wait for the command's result: returns (rc, console_text).

        rc is None if the guest did not report within timeout (QEMU is then
        killed) or QEMU ended without a result line; console_text then ends
        with what QEMU printed, to explain why.
        """
        match = self.wait_console(r'^VMWIRE-RESULT rc=(\d+)$', timeout)
        if match:
            try:
                self.proc.wait(10)       # the guest powers itself off
            except subprocess.TimeoutExpired:
                pass
            self.kill()
            return int(match.group(1)), self.console()
        running = self.proc.poll() is None
        self.kill()
        why = ('no result after %gs' % timeout if running else
               'QEMU exited with status %s and no result' % self.proc.returncode)
        text = self.console() + '\n[vmwire_test: %s]\n' % why
        qemu = self.qemu_log().strip()
        if qemu:
            text += '[QEMU output]\n%s\n' % qemu
        return None, text

    def kill(self):
        """Stop QEMU now (SIGKILL) and reap it. Idempotent."""
        if self.proc is not None:
            _kill_and_reap(self.proc)

    def close(self):
        self.kill()
        if self._dir:
            _remove_dir(self._dir)
            self._dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False


def vhost_user_argv(path, mac, memory, reconnect=None, netdev_id='n0'):
    """QEMU arguments for a virtio-net NIC on a vhost-user backend that
    listens on unix socket path.

    - The backend maps guest memory, so all of it must be shareable: a memfd
      backend of the guest's -m size (megabytes, a string or int) as the one
      NUMA node's memory.
    - The chardev (id 'c' + netdev_id) connects to path; reconnect=N (seconds)
      makes QEMU connect again N s after the backend went away.
    - vectors=0: QEMU 7.2 under TCG crashes in msix_set_vector_notifiers
      when a vhost-user virtio-net-pci has MSI-X, so the device uses INTx.
    """
    chardev = 'c' + netdev_id
    socket_opts = 'socket,id=%s,path=%s' % (chardev, path)
    if reconnect is not None:
        socket_opts += ',reconnect=%d' % reconnect
    return ['-object', 'memory-backend-memfd,id=mem,size=%sM,share=on'
            % memory,
            '-numa', 'node,memdev=mem',
            '-chardev', socket_opts,
            '-netdev', 'vhost-user,id=%s,chardev=%s' % (netdev_id, chardev),
            '-device', 'virtio-net-pci,netdev=%s,mac=%s,vectors=0,romfile='
            % (netdev_id, mac)]


# --- guest commands ------------------------------------------------------------------

def ping_cmd(target, count=3, interval=0.2, wait=2):
    """A guest shell command pinging target count times, bounded in time.

    busybox ping: -i interval between requests, -W seconds to wait for the
    last reply, -w an overall deadline so it never hangs. Exit status 0 if at
    least one reply came back (use ping_stats to require all of them).
    IPv6 targets work too (busybox ping picks the family from the address).
    """
    deadline = int(count * interval + wait + 3)
    return 'ping -c %d -i %s -W %d -w %d %s' % (count, interval, wait,
                                                 deadline, shlex.quote(target))


def ping_stats(console):
    """(transmitted, received) from the last busybox ping summary, or None."""
    found = re.findall(r'^(\d+) packets transmitted, (\d+) packets received',
                       console, re.MULTILINE)
    if not found:
        return None
    return int(found[-1][0]), int(found[-1][1])


# Guest shell pieces for tests whose guests run several steps.  PRELUDE:
# rc (0 unless a step called fail), fail MESSAGE, wait_for IP TRIES (one
# ping a second until IP answers; status 1 if it never did).
GUEST_SH_PRELUDE = r'''
rc=0
fail() { echo "FAILED: $*"; rc=1; }
wait_for() {
    i=0
    until ping -c 1 -W 1 "$1" > /dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt "$2" ] || return 1
    done
    return 0    # not the status of the loop's last [ ] test
}
'''


def guest_done_listen(port, timeout=75):
    """Guest shell: listen on TCP port for the other guest's "done" (see
    guest_done_handshake), for at most timeout seconds; start it before
    anything else."""
    return ('timeout %d nc -l -p %d > /tmp/peer_done &\n'
            'listener=$!\n' % (timeout, port))


def guest_done_handshake(peer, port):
    """Guest shell: tell peer (which runs guest_done_listen(port)) that
    this guest is done, then wait for its word, so that neither guest
    powers off while the other still needs it."""
    return (r'''i=0
until echo done | nc -w 3 %(peer)s %(port)d; do
    i=$((i + 1))
    [ $i -lt 10 ] || { fail "cannot tell %(peer)s we are done"; break; }
    sleep 1
done
wait $listener
[ "$(cat /tmp/peer_done)" = done ] || fail "no word from %(peer)s"
''' % {'peer': shlex.quote(peer), 'port': port})


# Guest shell: accept one TCP connection on port 5001 and print
# "== recv" and then how many bytes it brought; "== end" after.  nc's
# stdin is a FIFO that never ends, so nc does not hang up first.
GUEST_SH_RECEIVE_COUNT = ('mkfifo /tmp/f; exec 3<>/tmp/f\n'
                          'echo "== recv"\n'
                          'nc -l -p 5001 < /tmp/f | wc -c\n'
                          'echo "== end"\n')


def wait_ping_cmd(target, tries=30):
    """A guest shell snippet that pings target once a second until it
    answers, at most tries times; it prints "FAILED: TARGET never answered"
    if it never does (and goes on).  Use it where the other end may come up
    after this guest; what it waits for is not counted."""
    return ('i=0; until ping -c 1 -W 1 %(t)s > /dev/null 2>&1; do '
            'i=$((i + 1)); [ $i -lt %(n)d ] || '
            '{ echo "FAILED: %(t)s never answered"; break; }; done\n'
            % {'t': shlex.quote(target), 'n': tries})


def dhcp_cmd(iface='eth0', tries=10):
    """A guest shell snippet: bring iface up, take a DHCP lease with
    busybox udhcpc, apply it (address, default route) and print
    "VMWIRE-LEASE ip=A mask=N router=R dns=D host=H" (parse with
    dhcp_lease()), or "VMWIRE-LEASE none" when no server answered.  The
    address is also left in /tmp/dhcp.ip for the commands that follow."""
    script = ('#!/bin/sh\n'
              'case "$1" in bound|renew)\n'
              '  ip addr flush dev "$interface"\n'
              '  ip addr add "$ip/$mask" dev "$interface"\n'
              '  for r in $router; do ip route add default via "$r"; done\n'
              '  echo "$ip" > /tmp/dhcp.ip\n'
              '  echo "VMWIRE-LEASE ip=$ip mask=$mask router=$router '
              'dns=$dns host=$hostname"\n'
              'esac\n')
    return ('ip link set %(i)s up\n'
            'printf %%s %(s)s > /tmp/dhcp.sh; chmod +x /tmp/dhcp.sh\n'
            'udhcpc -i %(i)s -s /tmp/dhcp.sh -q -n -t %(n)d -T 1 '
            '|| echo "VMWIRE-LEASE none"\n'
            % {'i': shlex.quote(iface), 's': shlex.quote(script),
               'n': tries})


def dhcp_lease(console):
    """The lease dhcp_cmd() printed: a dict (ip, mask, router, dns, host),
    or None."""
    match = re.search(r'^VMWIRE-LEASE (ip=.*)$', console, re.MULTILINE)
    if not match:
        return None
    return dict(re.findall(r'(\w+)=(\S*)', match.group(1)))


def section(console, name):
    """The console text after the marker line '== name' up to the next
    '== ' line (or the end); '' if there is no such marker."""
    match = re.search(r'^== %s$(.*?)(?=^== |\Z)' % re.escape(name), console,
                      re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ''
