#!/bin/bash
# build-guest.sh - build the tiny Linux guest used by vmwire's real-guest tests.
#
# Usage: scripts/build-guest.sh OUTDIR
#
# Produces OUTDIR/vmlinuz (the newest Debian kernel installed in /boot that has
# a matching /lib/modules/VERSION), OUTDIR/vmlinux (the same kernel
# decompressed, only if it has CONFIG_PVH=y: QEMU boots such an ELF directly
# through its PVH entry point, which saves the ~2 s that decompressing the
# kernel costs under TCG) and OUTDIR/initramfs.cpio.gz: busybox-static,
# the virtio-net-over-PCI modules with their dependencies (from modules.dep),
# and an /init that configures eth0 from the kernel command line, runs one
# base64-encoded shell command and powers off:
#
#   vmwire.ip=A.B.C.D/NN    IPv4 address for eth0 (optional)
#   vmwire.ip6=ADDR/NN      IPv6 address for eth0, without DAD (optional)
#   vmwire.run=BASE64       the command, run with sh (missing: rc=127)
#
# The console (ttyS0) shows "VMWIRE-GUEST-UP" just before the command runs and
# "VMWIRE-RESULT rc=N" after it, whatever happens; then the guest powers off.
#
# Cached: does nothing if all outputs exist and are newer than this script
# and the kernel. Outputs are replaced atomically, so concurrent builds are safe.
set -euo pipefail

die() { echo "build-guest.sh: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
outdir=$1
self=$(readlink -f "$0")

# Modules for virtio-net over PCI; dependencies are resolved from modules.dep.
WANTED_MODULES="virtio_pci virtio_net"

# --- pick the kernel -------------------------------------------------------
# The newest /boot/vmlinuz-VERSION with a /lib/modules/VERSION directory (the
# host may run another kernel, so uname -r is no help).
kver=""
for k in $(for f in /boot/vmlinuz-*; do [ -e "$f" ] && echo "${f#/boot/vmlinuz-}"; done | sort -V -r); do
    if [ -f "/lib/modules/$k/modules.dep" ]; then kver=$k; break; fi
done
[ -n "$kver" ] || die "no kernel found: need /boot/vmlinuz-VERSION and /lib/modules/VERSION/modules.dep (install linux-image-amd64)"
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$kernel" ] || die "$kernel is not readable (run as root, or make it readable)"

busybox=/bin/busybox
[ -x "$busybox" ] || busybox=/usr/bin/busybox
[ -x "$busybox" ] || die "busybox not found (install busybox-static)"
if command -v ldd >/dev/null && ldd "$busybox" 2>&1 | grep -q '=>'; then
    die "$busybox is dynamically linked; install busybox-static"
fi
command -v cpio >/dev/null || die "cpio not found (install cpio)"
command -v gzip >/dev/null || die "gzip not found"

pvh=no
if grep -q '^CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null && command -v python3 >/dev/null; then
    pvh=yes
fi

# --- cache check -------------------------------------------------------------
outputs="vmlinuz initramfs.cpio.gz"
[ $pvh = no ] || outputs="$outputs vmlinux"
up_to_date=yes
for f in $outputs; do
    if ! [ -f "$outdir/$f" ] || ! [ "$outdir/$f" -nt "$self" ] || ! [ "$outdir/$f" -nt "$kernel" ]; then
        up_to_date=no
    fi
done
[ $up_to_date = no ] || exit 0

mkdir -p "$outdir"
work=$(mktemp -d "$outdir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}

# --- busybox -------------------------------------------------------------------
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

# --- modules, in load order (dependencies first) ------------------------------
declare -A seen=()
order=()
# module_path NAME: the modules.dep path (relative to $moddir) of module NAME.
module_path() {
    # modules.dep keys are paths like kernel/drivers/net/virtio_net.ko[.xz];
    # module names may use - or _ interchangeably in file names.
    local name=$1 alt=${1//_/-}
    awk -F: -v a="$name" -v b="$alt" '{
        n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n)
        if (n == a || n == b) { print $1; exit }
    }' "$moddir/modules.dep"
}
add_module() {   # add_module PATH: add PATH after its dependencies
    local path=$1 dep
    [ -z "${seen[$path]:-}" ] || return 0
    seen[$path]=1
    for dep in $(awk -F: -v p="$path" '$1 == p { print $2; exit }' "$moddir/modules.dep"); do
        add_module "$dep"
    done
    order+=("$path")
}
for m in $WANTED_MODULES; do
    if grep -q "/$m.ko" "$moddir/modules.builtin" 2>/dev/null; then continue; fi
    p=$(module_path "$m")
    [ -n "$p" ] || die "module $m not found in $moddir/modules.dep"
    add_module "$p"
done
: > "$root/lib/modules/load-order"
for p in "${order[@]}"; do
    src=$moddir/$p
    base=$(basename "$p")
    case $base in   # busybox insmod wants plain .ko files
        *.ko)     cp "$src" "$root/lib/modules/$base" ;;
        *.ko.xz)  base=${base%.xz};  xz -dc "$src" > "$root/lib/modules/$base" ;;
        *.ko.zst) base=${base%.zst}; zstd -qdc "$src" > "$root/lib/modules/$base" ;;
        *.ko.gz)  base=${base%.gz};  gzip -dc "$src" > "$root/lib/modules/$base" ;;
        *) die "unknown module format: $src" ;;
    esac
    echo "$base" >> "$root/lib/modules/load-order"
done

# --- /init ---------------------------------------------------------------------
cat > "$root/init" <<'INIT'
#!/bin/sh
# vmwire test guest init: set up the network from /proc/cmdline, run the
# command given as vmwire.run=BASE64, print VMWIRE-RESULT rc=N, power off.
# Whatever fails, the result line is printed and the guest powers off.
export PATH=/bin
rc=127

finish() {
    echo "VMWIRE-RESULT rc=$rc"
    sync
    poweroff -f
    # poweroff failed: reboot via sysrq (-no-reboot makes QEMU exit), and if
    # even that fails, exiting init makes the kernel panic (panic=-1 reboots).
    echo o > /proc/sysrq-trigger 2>/dev/null
    exit "$rc"
}
trap finish EXIT

mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
if [ -c /dev/console ]; then exec </dev/console >/dev/console 2>&1; fi
mkdir -p /dev/pts /dev/shm
mount -t tmpfs tmpfs /tmp 2>/dev/null

while read -r mod; do
    insmod "/lib/modules/$mod" || echo "vmwire-init: insmod $mod failed"
done < /lib/modules/load-order

ip4='' ip6='' run=''
for arg in $(cat /proc/cmdline); do
    case $arg in
        vmwire.ip=*)  ip4=${arg#vmwire.ip=} ;;
        vmwire.ip6=*) ip6=${arg#vmwire.ip6=} ;;
        vmwire.run=*) run=${arg#vmwire.run=} ;;
    esac
done

# If there is a virtio network device (virtio id 1), give eth0 a moment to
# appear, in case the driver probes it asynchronously.
if grep -qx 0x0001 /sys/bus/virtio/devices/*/device 2>/dev/null; then
    i=0
    while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 40 ]; do usleep 50000; i=$((i + 1)); done
fi
if [ -e /sys/class/net/eth0 ]; then
    # No duplicate address detection (busybox ip has no "nodad" flag).
    echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad 2>/dev/null
    [ -n "$ip4" ] && { ip addr add "$ip4" dev eth0 || echo "vmwire-init: bad vmwire.ip=$ip4"; }
    [ -n "$ip6" ] && { ip -6 addr add "$ip6" dev eth0 || echo "vmwire-init: bad vmwire.ip6=$ip6"; }
    ip link set eth0 up
elif [ -n "$ip4$ip6" ]; then
    echo "vmwire-init: no eth0, addresses not assigned"
fi
ip link set lo up

# Wait (2 s at most; a NIC whose link is down stays so) until eth0 can send:
# - IPv4 needs the carrier: the qdisc is activated at once when the link goes
#   up with the carrier on, or on the carrier-on event.
# - IPv6 also needs operstate "up", which the kernel's linkwatch sets at most
#   once a second: right after the driver's probe that costs ~1 s, so we only
#   wait for it when an IPv6 address was asked for.
want=carrier
[ -z "$ip6" ] || want=operstate
i=0
while [ -e /sys/class/net/eth0 ] && [ $i -lt 40 ]; do
    case $want:$(cat /sys/class/net/eth0/$want 2>/dev/null) in
        carrier:1 | operstate:up) break ;;
    esac
    usleep 50000; i=$((i + 1))
done

if [ -n "$run" ]; then
    if echo "$run" | base64 -d > /tmp/run.sh 2>/dev/null; then
        echo "VMWIRE-GUEST-UP"
        sh /tmp/run.sh </dev/null
        rc=$?
    else
        echo "vmwire-init: vmwire.run is not valid base64"
        rc=126
    fi
else
    echo "vmwire-init: no vmwire.run= on the kernel command line"
fi
exit "$rc"
INIT
chmod 755 "$root/init"

# --- pack, then move into place atomically ------------------------------------
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) \
    | gzip -6 > "$work/initramfs.cpio.gz"
cp "$kernel" "$work/vmlinuz"
if [ $pvh = yes ]; then
    # The bzImage payload is one compressed stream; find it and inflate it.
    # Failure is not fatal: the tests then boot vmlinuz, only more slowly.
    python3 - "$kernel" "$work/vmlinux" <<'PY' || { echo "build-guest.sh: warning: could not extract vmlinux, guests will boot vmlinuz" >&2; rm -f "$work/vmlinux"; }
import gzip, lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
formats = [(b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)),
           (b"\x5d\x00\x00", lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE)),
           (b"\x1f\x8b\x08", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS))]
for magic, make in formats:
    start = data.find(magic)
    while start >= 0:
        try:
            out = make().decompress(data[start:])
        except (lzma.LZMAError, zlib.error, EOFError):
            out = b""
        if out[:4] == b"\x7fELF":
            open(sys.argv[2], "wb").write(out)
            sys.exit(0)
        start = data.find(magic, start + 1)
sys.exit("no ELF payload found in " + sys.argv[1])
PY
fi
mv -f "$work/vmlinuz" "$outdir/vmlinuz"
[ ! -f "$work/vmlinux" ] || mv -f "$work/vmlinux" "$outdir/vmlinux"
mv -f "$work/initramfs.cpio.gz" "$outdir/initramfs.cpio.gz"
echo "build-guest.sh: built guest in $outdir (kernel $kver, modules: ${order[*]##*/})"
