#!/usr/bin/env python3
"""The Debian package: built, checked by lintian, installed on a clean
Debian 12 and started there, as a user of the .deb would.

  build     `dpkg-buildpackage -us -uc -b` in a copy of the source tree in
            a temporary directory (the .deb lands in its parent, never
            beside the developer's tree); build directories (any directory
            holding meson-private/), .git and debian/'s own build leftovers
            are not copied.
  lintian   `lintian` on the .changes prints no error (E: line); its
            warnings are shown as diagnostics.
  install   a minimal Debian 12 (`debootstrap --variant=minbase bookworm`
            from the mirror in /etc/apt/sources.list*), made once and kept
            as $VMWIRE_DEB_CACHE/bookworm.tar (default
            /var/cache/vmwire-test), unpacked fresh into the test's
            temporary directory; `apt-get install ./vmwire_*.deb` inside it
            resolves the libraries from the archive (downloaded .debs are
            kept in $VMWIRE_DEB_CACHE/archives).  `dpkg -L vmwire` lists
            every file `meson install` installs (`meson introspect
            --installed` of the package's build directory: the binary, the
            vhost-user description, and whatever is added later; a man page
            may be gzipped), and the description names the binary the
            package installed.
  units     each system unit (service, socket) with an [Install] section
            is enabled by the postinst; user units are not enabled for
            every user.
  run       the packaged /usr/bin/vmwire, run inside the chroot (its own
            mount namespace with /proc), prints its version and
            "vmwire: ready"; a peer speaking QEMU's stream framing on its
            unix listener gets the nic-stub's ARP reply, byte for byte;
            SIGTERM ends it with status 0.
  cleanup   nothing stays mounted under the chroot (every mount is made in
            a private mount namespace that ends with its process).

Needs root, dpkg-dev, debhelper, lintian and debootstrap (the Makefile's
TEST_DEPS) and the Debian archive; each step's time is printed.
"""

import fcntl
import glob
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwire_test import (REPO_ROOT, TAP, TIMEOUT_SCALE,  # noqa: E402
                         arp_fields, arp_frame, stream_record, tempdir)
from vmwire_test.process import _kill_and_reap, _spawn  # noqa: E402

CACHE = os.environ.get('VMWIRE_DEB_CACHE', '/var/cache/vmwire-test')
SUITE = 'bookworm'
STUB_MAC = bytes.fromhex('525400000264')
PEER_MAC = bytes.fromhex('525400aa0001')
SOCKET_IN_CHROOT = '/run/vmwire-deb-test.sock'
# What dpkg-buildpackage leaves in debian/ when run in a tree.
DEBIAN_LEFTOVERS = {'.debhelper', 'vmwire', 'tmp', 'files',
                    'debhelper-build-stamp', 'vmwire.substvars'}


def run(argv, timeout, env=None, cwd=None):
    """(exit status, output) of argv; output is stdout and stderr."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, cwd=cwd,
                       timeout=timeout * TIMEOUT_SCALE)
    return p.returncode, p.stdout.decode('utf-8', errors='replace')


def tail(text, lines=40):
    return '\n'.join(text.rstrip('\n').split('\n')[-lines:])


class Steps:
    """Wall-clock time of each step, printed as a diagnostic."""

    def __init__(self, t):
        self.t = t
        self.times = []

    def timed(self, name, fn, *args):
        start = time.monotonic()
        try:
            return fn(*args)
        finally:
            spent = time.monotonic() - start
            self.times.append((name, spent))
            self.t.diag('time: %s %.1f s' % (name, spent))


# --- the source copy and the build ------------------------------------------

def skip_entry(rel_dir, name, full):
    if name in ('.git', '__pycache__') or name.startswith('obj-'):
        return True
    if rel_dir == 'debian' and name in DEBIAN_LEFTOVERS:
        return True
    return os.path.isdir(os.path.join(full, 'meson-private'))


def copy_source(dest):
    """The working tree (tracked or not) without build directories."""
    for top, dirs, files in os.walk(REPO_ROOT):
        rel = os.path.relpath(top, REPO_ROOT)
        rel = '' if rel == '.' else rel
        dirs[:] = [d for d in dirs
                   if not skip_entry(rel, d, os.path.join(top, d))]
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for f in files:
            if rel == 'debian' and f in DEBIAN_LEFTOVERS:
                continue
            shutil.copy2(os.path.join(top, f), os.path.join(dest, rel, f),
                         follow_symlinks=False)


def build_env(home):
    """A plain environment: nothing of meson test's (MALLOC_PERTURB_,
    sanitizer options) reaches the package build."""
    return {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': home,
            'LC_ALL': 'C.UTF-8', 'DEB_BUILD_OPTIONS': 'parallel=2'}


def build_package(t, work):
    src = os.path.join(work, 'src')
    copy_source(src)
    rc, out = run(['nice', '-n', '10', 'dpkg-buildpackage', '-us', '-uc',
                   '-b'], 1200, env=build_env(work), cwd=src)
    debs = glob.glob(os.path.join(work, 'vmwire_*.deb'))
    changes = glob.glob(os.path.join(work, 'vmwire_*.changes'))
    t.ok(rc == 0 and len(debs) == 1 and len(changes) == 1,
         'dpkg-buildpackage -us -uc -b builds one vmwire .deb',
         diag=lambda: 'exit %d, debs %r\n%s' % (rc, debs, tail(out, 60)))
    if rc != 0 or len(debs) != 1 or len(changes) != 1:
        return None
    return debs[0], changes[0], src


def beside_tree():
    """Package files in the developer tree's parent directory."""
    return set(glob.glob(os.path.join(os.path.dirname(REPO_ROOT),
                                      'vmwire_*')))


def check_lintian(t, changes):
    rc, out = run(['lintian', '--fail-on', 'error', changes], 300)
    errors = [ln for ln in out.split('\n') if ln.startswith('E: ')]
    others = [ln for ln in out.split('\n') if re.match(r'[WIP]: ', ln)]
    if others:
        t.diag('lintian says:\n' + '\n'.join(others))
    t.ok(rc == 0 and not errors, 'lintian finds no error in the package',
         diag=lambda: 'exit %d\n%s' % (rc, tail(out)))


# --- the clean Debian 12 -----------------------------------------------------

def sources_mirror():
    """The Debian mirror apt uses here (the first source with `bookworm`
    and `main`), from /etc/apt/sources.list and sources.list.d/."""
    paths = (['/etc/apt/sources.list'] +
             sorted(glob.glob('/etc/apt/sources.list.d/*.list')) +
             sorted(glob.glob('/etc/apt/sources.list.d/*.sources')))
    for path in paths:
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            continue
        found = (mirror_in_deb822(text) if path.endswith('.sources')
                 else mirror_in_one_line(text))
        if found:
            return found
    return 'http://deb.debian.org/debian'


def mirror_in_one_line(text):
    for line in text.split('\n'):
        words = re.sub(r'\[[^]]*\]', '', line.split('#')[0]).split()
        if len(words) >= 4 and words[0] == 'deb' and words[2] == SUITE and \
                'main' in words[3:]:
            return words[1]
    return None


def mirror_in_deb822(text):
    for stanza in re.split(r'\n\s*\n', text):
        fields = {}
        for line in stanza.split('\n'):
            m = re.match(r'([A-Za-z-]+):\s*(.*)', line)
            if m:
                fields[m.group(1).lower()] = m.group(2).split()
        if 'deb' in fields.get('types', []) and \
                SUITE in fields.get('suites', []) and \
                'main' in fields.get('components', []) and fields.get('uris'):
            return fields['uris'][0]
    return None


def make_base_tarball(t, tarball):
    """debootstrap a minbase bookworm once; later runs unpack the tar."""
    root = tarball + '.root'
    shutil.rmtree(root, ignore_errors=True)
    mirror = sources_mirror()
    t.diag('debootstrap --variant=minbase %s from %s into %s'
           % (SUITE, mirror, tarball))
    rc, out = run(['debootstrap', '--variant=minbase', SUITE, root, mirror],
                  1200)
    if rc == 0:
        rc, out2 = run(['tar', '-C', root, '--numeric-owner', '-cf',
                        tarball + '.new', '.'], 300)
        out += out2
    shutil.rmtree(root, ignore_errors=True)
    if rc != 0:
        raise RuntimeError('debootstrap failed:\n' + tail(out))
    os.rename(tarball + '.new', tarball)


def unpack_base(t, root):
    """A fresh clean bookworm in root (the cached tarball, made if
    missing; a lock keeps two runs from making it at once)."""
    os.makedirs(os.path.join(CACHE, 'archives', 'partial'), exist_ok=True)
    tarball = os.path.join(CACHE, SUITE + '.tar')
    with open(os.path.join(CACHE, 'lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(tarball):
            make_base_tarball(t, tarball)
    os.makedirs(root)
    rc, out = run(['tar', '-C', root, '--numeric-owner', '-xf', tarball], 300)
    if rc != 0:
        raise RuntimeError('unpacking %s failed:\n%s' % (tarball, out))
    shutil.copy('/etc/resolv.conf', os.path.join(root, 'etc/resolv.conf'))
    # No service starts while packages install in a chroot.
    policy = os.path.join(root, 'usr/sbin/policy-rc.d')
    with open(policy, 'w') as f:
        f.write('#!/bin/sh\nexit 101\n')
    os.chmod(policy, 0o755)


# Mounts exist only in the private mount namespace of `unshare --mount`
# (propagation private), so they end with the command.
CHROOT_SCRIPT = '''set -e
root=$1; shift
mount -t proc proc "$root/proc"
if [ -n "$ARCHIVES" ]; then
    mount --bind "$ARCHIVES" "$root/var/cache/apt/archives"
fi
exec chroot "$root" "$@"
'''


def chroot_argv(root, argv):
    return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
            CHROOT_SCRIPT, 'sh', root] + argv


def chroot_env(archives=''):
    return {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C.UTF-8',
            'DEBIAN_FRONTEND': 'noninteractive', 'ARCHIVES': archives,
            'HOME': '/root'}


def in_chroot(root, argv, timeout, archives=''):
    return run(chroot_argv(root, argv), timeout, env=chroot_env(archives))


def install_package(t, root, deb):
    shutil.copy(deb, os.path.join(root, 'tmp'))
    target = '/tmp/' + os.path.basename(deb)
    install = ['apt-get', 'install', '-y', '-q', '--no-install-recommends',
               target]
    archives = os.path.join(CACHE, 'archives')
    # One apt at a time on the shared archives/ (apt-get gives up at once
    # on a held lock, it does not wait).
    with open(os.path.join(CACHE, 'lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rc, out = in_chroot(root, install, 600, archives)
        if rc != 0:
            # The cached package lists may name versions the mirror has
            # dropped since: fetch them again once.
            t.diag('apt-get install failed, updating the lists:\n' +
                   tail(out))
            in_chroot(root, ['apt-get', 'update', '-q'], 300)
            rc, out = in_chroot(root, install, 600, archives)
    t.ok(rc == 0, 'apt-get install ./%s succeeds in a clean Debian 12'
         % os.path.basename(deb), diag=lambda: tail(out))
    return rc == 0


# --- what the package holds --------------------------------------------------

def meson_installed(src):
    """Every path `meson install` installs, per the package's build dir."""
    builddirs = glob.glob(os.path.join(src, 'obj-*'))
    if len(builddirs) != 1:
        return None
    rc, out = run(['meson', 'introspect', '--installed', builddirs[0]], 60)
    return sorted(json.loads(out).values()) if rc == 0 else None


def packaged_as(path):
    """Where a file meson installs at path may be in the package: man
    pages get gzipped, system units move to /lib/systemd/system
    (debian/rules, for Debian 12's dh_installsystemd)."""
    paths = [path, path + '.gz']
    unit_dir = '/usr/lib/systemd/system/'
    if path.startswith(unit_dir):
        paths.append('/lib/systemd/system/' + path[len(unit_dir):])
    return paths


def check_contents(t, root, src):
    rc, out = in_chroot(root, ['dpkg', '-L', 'vmwire'], 60)
    listed = set(out.split('\n'))
    expected = meson_installed(src)
    t.ok(expected is not None and '/usr/bin/vmwire' in expected,
         'meson introspect --installed names /usr/bin/vmwire',
         diag=lambda: repr(expected))
    missing = [p for p in expected or []
               if not listed & set(packaged_as(p))]
    t.ok(rc == 0 and expected and not missing,
         'dpkg -L vmwire lists everything meson installs (%d files)'
         % len(expected or []),
         diag=lambda: 'missing %r\ndpkg -L:\n%s' % (missing, out))
    t.diag('meson installs: ' + ' '.join(expected or []))
    check_vhost_user_json(t, root)
    check_units_enabled(t, root, listed)


def check_vhost_user_json(t, root):
    path = os.path.join(root, 'usr/share/qemu/vhost-user/50-vmwire.json')
    try:
        with open(path) as f:
            desc = json.load(f)
    except (OSError, ValueError) as e:
        desc = {'error': str(e)}
    binary = desc.get('binary', '')
    t.ok(desc.get('type') == 'net' and binary == '/usr/bin/vmwire' and
         os.access(os.path.join(root, binary.lstrip('/')), os.X_OK),
         'the vhost-user description names the installed /usr/bin/vmwire',
         diag=lambda: repr(desc))


def wanted_by(path):
    """The WantedBy= targets of a unit file."""
    with open(path, errors='replace') as f:
        return [w for m in re.finditer(r'^WantedBy=(.*)$', f.read(), re.M)
                for w in m.group(1).split()]


def check_units_enabled(t, root, listed):
    """Each system service or socket unit the package ships with an
    [Install] section is enabled by its postinst (Debian 12's
    dh_installsystemd saw it); user units are not enabled for every user
    (debian/rules)."""
    for unit in sorted(p for p in listed if re.match(
            r'(/usr)?/lib/systemd/(system|user)/[^/]+\.(service|socket)$',
            p)):
        name = os.path.basename(unit)
        kind = unit.split('/')[-2]
        for target in wanted_by(os.path.join(root, unit.lstrip('/'))):
            link = os.path.join(root, 'etc/systemd', kind, target + '.wants',
                                name)
            if kind == 'system':
                t.ok(os.path.islink(link), 'installing the package enabled '
                     '%s (%s wants it)' % (name, target),
                     diag=lambda: 'no symlink %s' % link)
            else:
                t.ok(not os.path.lexists(link), 'the user unit %s is not '
                     'enabled for every user' % name,
                     diag=lambda: 'symlink %s exists' % link)


# --- the packaged daemon -----------------------------------------------------

def package_version(src):
    rc, out = run(['dpkg-parsechangelog', '-S', 'Version'], 30, cwd=src)
    return out.strip()


def check_version(t, root, src):
    rc, out = in_chroot(root, ['vmwire', '--version'], 30)
    version = package_version(src)
    t.ok(rc == 0 and version and version in out,
         'the packaged vmwire --version prints %s' % version,
         diag=lambda: 'exit %d: %s' % (rc, out))


def wait_for_line(log_path, pattern, proc, timeout):
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        with open(log_path, errors='replace') as f:
            if re.search(pattern, f.read(), re.M):
                return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def recv_record(sock, timeout):
    """One stream record's frame, or None on timeout or EOF."""
    buf = b''
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while len(buf) < 4 or len(buf) < 4 + int.from_bytes(buf[:4], 'big'):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return None
        data = sock.recv(65536)
        if not data:
            return None
        buf += data
    return buf[4:4 + int.from_bytes(buf[:4], 'big')]


def arp_exchange(path):
    """Send an ARP request for the nic-stub, return the reply frame."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(path)
        s.sendall(stream_record(arp_frame(1, PEER_MAC, '10.0.2.15', None,
                                          '10.0.2.100')))
        return recv_record(s, 10)


def run_packaged_daemon(t, root, work):
    args = ['/usr/bin/vmwire', '-netdev',
            'stream,id=n0,server=on,addr.type=unix,addr.path=' +
            SOCKET_IN_CHROOT,
            '-device', 'nic-stub,netdev=n0,mac=52:54:00:00:02:64,'
            'ip=10.0.2.100/24']
    log = os.path.join(work, 'vmwire.log')
    proc = _spawn(chroot_argv(root, args), log, env=chroot_env())
    try:
        ready = wait_for_line(log, r'^vmwire: ready$', proc, 20)
        t.ok(ready, 'the packaged vmwire prints "vmwire: ready" in the '
             'chroot', diag=lambda: open(log, errors='replace').read())
        if ready:
            check_arp_reply(t, arp_exchange(
                os.path.join(root, SOCKET_IN_CHROOT.lstrip('/'))))
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15 * TIMEOUT_SCALE)
        except subprocess.TimeoutExpired:
            rc = 'still running after 15 s'
        t.ok(rc == 0, 'SIGTERM ends the packaged vmwire with status 0',
             diag=lambda: 'status %s\n%s' % (
                 rc, open(log, errors='replace').read()))
    finally:
        _kill_and_reap(proc)


def check_arp_reply(t, reply):
    expected = arp_frame(2, STUB_MAC, '10.0.2.100', PEER_MAC, '10.0.2.15')
    # The nic-stub pads to Ethernet's minimum of 60 bytes.
    t.ok(reply is not None and reply[:len(expected)] == expected and
         arp_fields(reply)[0] == 2,
         'a QEMU-framed peer on its unix listener gets the nic-stub\'s ARP '
         'reply', diag=lambda: 'got %r\nwanted %r' % (
             reply and reply.hex(), expected.hex()))


def mounts_under(path):
    with open('/proc/self/mountinfo') as f:
        return [ln.split()[4] for ln in f
                if ln.split()[4].startswith(path.rstrip('/') + '/')]


def detach_mounts(path):
    """Never remove a tree with something mounted in it: detach first."""
    for mount in sorted(mounts_under(path), reverse=True):
        run(['umount', '--lazy', mount], 30)


# --- main --------------------------------------------------------------------

def in_debian_12(t, steps, work, built):
    deb, changes, src = built
    root = os.path.join(work, 'root')
    steps.timed('chroot', unpack_base, t, root)
    if not steps.timed('apt-get install', install_package, t, root, deb):
        return
    check_contents(t, root, src)
    check_version(t, root, src)
    steps.timed('run', run_packaged_daemon, t, root, work)
    left = mounts_under(root)
    t.ok(not left, 'nothing is left mounted under the chroot',
         diag=lambda: repr(left))


def main():
    with TAP() as t:
        if os.geteuid() != 0:
            t.skip_all('needs root (debootstrap, chroot, mount)')
        steps = Steps(t)
        with tempdir('deb') as work:
            before = beside_tree()
            built = steps.timed('dpkg-buildpackage', build_package, t, work)
            t.ok(beside_tree() == before, 'nothing was written beside the '
                 'developer\'s tree', diag=lambda: repr(beside_tree()))
            if built is None:
                return
            steps.timed('lintian', check_lintian, t, built[1])
            try:
                in_debian_12(t, steps, work, built)
            finally:
                detach_mounts(work)
        t.diag('time: total %.1f s' % sum(s for _, s in steps.times))


if __name__ == '__main__':
    main()
