#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make vmtest: boots Debian 12's own kernel (the linux-image package linux-image-amd64
# depends on, downloaded, never installed) under qemu-system-x86_64 with TCG, the host's
# root shared read-only over 9p, and runs a smoke subset of the integration tests in the
# guest. Prints each test's result; exits 1 if one of the smoke tests fails.
#
# VMTEST_TESTS       the smoke subset (default below); VMTEST_SEPARATE: tests run too but
#                    reported apart, not counted in the exit status (default test_system)
# VMTEST_PY          the one pyenv version test_python_sites runs (default 3.11)
# VMTEST_KERNEL_PKG  another kernel package (default: what linux-image-amd64 depends on)
# VMTEST_ACCEL       qemu's -accel (default tcg,thread=multi); VMTEST_TIMEOUT: hang bound, s
# VMTEST_KERNEL_ARGS kernel parameters beyond the console's (default quiet; loglevel=7 puts
#                    the backtraces of soft lockups and oopses in the console log)
# The kernel, initramfs, console log and results live in .output/vmtest/.

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/.output/vmtest
# The smoke subset: one run of every BPF path that differs by kernel (attach, CFI and
# frame-pointer walks, Python frames, dlopen rescans), and the error paths.
SMOKE="test_errors test_semantics test_unwind_deep test_python_sites test_system test_no_bpf_loop"
TESTS=${VMTEST_TESTS:-$SMOKE}
SEPARATE=${VMTEST_SEPARATE-}
PY=${VMTEST_PY:-3.11}
ACCEL=${VMTEST_ACCEL:-tcg,thread=multi}
TIMEOUT=${VMTEST_TIMEOUT:-900}
KARGS=${VMTEST_KERNEL_ARGS-quiet}
# Loaded in this order by scripts/vmtest/init.
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci 9pnet
9pnet_virtio netfs fscache 9p overlay"

die()
{
	echo "vmtest: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, and the guest shares the host's root)"
[ -x "$ROOT/.output/allocscope" ] || die "$ROOT/.output/allocscope not built (run make all)"
mkdir -p "$OUT/deb"

# The host tools: installed here only, not by scripts/install-deps.sh (CI does not boot VMs).
# busybox-static: the initramfs has no libc to load a dynamic busybox with.
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v cpio >/dev/null ||
	! dpkg -s busybox-static >/dev/null 2>&1; then
	echo "vmtest: installing qemu-system-x86 busybox-static cpio"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		qemu-system-x86 busybox-static cpio >"$OUT/apt.log" 2>&1 ||
		die "apt-get install failed (see $OUT/apt.log)"
fi

# The generic flavour: the cloud one has no 9p (CONFIG_NET_9P unset).
PKG=${VMTEST_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1)}
[ -n "$PKG" ] || die "apt-cache knows no kernel package linux-image-amd64 depends on"
KVER=${PKG#linux-image-}
KROOT=$OUT/kernel-$KVER
if [ ! -e "$KROOT/boot/vmlinuz-$KVER" ]; then
	echo "vmtest: downloading $PKG (apt-get download; not installed)"
	rm -f "$OUT/deb/${PKG}_"*.deb
	(cd "$OUT/deb" && apt-get download -q "$PKG" >/dev/null 2>&1) ||
		die "apt-get download $PKG failed"
	rm -rf "$KROOT"
	dpkg -x "$OUT/deb/${PKG}_"*.deb "$KROOT" || die "dpkg -x failed"
fi

# The initramfs: busybox, the modules, scripts/vmtest/init.
IRD=$OUT/initramfs
rm -rf "$IRD"
mkdir -p "$IRD/bin" "$IRD/lib/modules" "$IRD/proc" "$IRD/sys" "$IRD/dev" "$IRD/mnt"
cp /bin/busybox "$IRD/bin/busybox"
for m in $MODULES; do
	f=$(find "$KROOT/lib/modules/$KVER" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
	[ -n "$f" ] || die "module $m not in $PKG"
	case $f in
	*.xz) xz -dc "$f" >"$IRD/lib/modules/$m.ko" ;;
	*) cp "$f" "$IRD/lib/modules/$m.ko" ;;
	esac
done
cp "$ROOT/scripts/vmtest/init" "$IRD/init"
chmod 755 "$IRD/init"
(cd "$IRD" && find . | cpio -o -H newc --quiet | gzip -1) >"$OUT/initramfs.cpio.gz" ||
	die "cannot build the initramfs"

# What the guest runs: scripts/vmtest/guest.sh reads run.conf from the results share.
RES=$OUT/results
rm -rf "$RES"
mkdir -p "$RES"
PYENV=${PYENV_ROOT:-/root/.pyenv}/versions
cat >"$RES/run.conf" <<CONF
ROOT='$ROOT'
TESTS='$TESTS $SEPARATE'
export CI=true TIME_SCALE=4 PY_VERSIONS='$PY' DEBIAN_PY='' PYENV_ROOT='${PYENV%/versions}'
export SEMANTICS_BINS=alloc_target
CONF

echo "vmtest: booting $KVER under qemu ($ACCEL): $TESTS${SEPARATE:+ (and $SEPARATE, apart)}"
start=$(date +%s)
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "$ACCEL" -cpu max -smp 2 -m 3G \
	-kernel "$KROOT/boot/vmlinuz-$KVER" -initrd "$OUT/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 $KARGS vmtest_script=$ROOT/scripts/vmtest/guest.sh" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$RES,mount_tag=results,security_model=none,multidevs=remap" \
	-serial "file:$OUT/console.log" -display none -no-reboot -nodefaults
qrc=$?
secs=$(($(date +%s) - start))
[ "$qrc" -eq 124 ] && echo "vmtest: qemu still running after ${TIMEOUT}s: killed"
echo "vmtest: guest kernel $(cat "$RES/kernel" 2>/dev/null || echo '(none: see the console)'), ${secs}s"

# report TEST: prints its result line (and its failures); returns 0 if it passed.
report()
{
	local t=$1 rc secs
	if [ ! -s "$RES/$t.rc" ]; then
		printf 'vmtest: %-20s FAIL (no result: did not run or did not finish)\n' "$t"
		return 1
	fi
	read -r rc secs <"$RES/$t.rc"
	if [ "$rc" -eq 0 ]; then
		printf 'vmtest: %-20s PASS (%ss) %s\n' "$t" "$secs" "$(tail -1 "$RES/$t.log")"
		return 0
	fi
	printf 'vmtest: %-20s FAIL (exit %s, %ss) %s\n' "$t" "$rc" "$secs" "$(tail -1 "$RES/$t.log")"
	grep -E '^(FAIL|SKIP) ' "$RES/$t.log" | head -20 | sed 's/^/    /'
	return 1
}

failed=0
for t in $TESTS; do
	report "$t" || failed=$((failed + 1))
done
if [ -n "$SEPARATE" ]; then
	echo "vmtest: reported apart, not counted in the exit status:"
	for t in $SEPARATE; do
		report "$t"
	done
fi
if [ "$failed" -gt 0 ] || grep -q 'BUG:\|Oops\|Kernel panic' "$OUT/console.log"; then
	echo "vmtest: the guest console's end ($OUT/console.log):"
	tail -8 "$OUT/console.log" | sed 's/^/    /'
fi
echo "vmtest: logs in $RES"
[ "$failed" -eq 0 ]
