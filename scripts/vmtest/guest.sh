#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# PID 1 of the vmtest guest (after scripts/vmtest/init): mounts what the integration tests
# need, runs the tests named in /vmtest-results/run.conf, and writes each one's output and
# exit status to the results share for scripts/vmtest.sh to read. Then powers off.

R=/vmtest-results
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

# The host's /proc/mounts-derived state is not ours: mount what a booted system would have.
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug

# run.conf sets ROOT (the source tree), TESTS (test names) and the tests' environment.
# shellcheck source=/dev/null
. "$R/run.conf"
uname -r >"$R/kernel"
cd "$ROOT" || exit 1
for t in $TESTS; do
	echo "vmtest guest: $t" >/dev/console
	start=$(date +%s)
	timeout -k 10 "${TEST_TIMEOUT:-600}" bash "tests/integration/$t.sh" >"$R/$t.log" 2>&1
	echo "$? $(($(date +%s) - start))" >"$R/$t.rc"
done
sync
echo "vmtest guest: done" >/dev/console
# Power off; should that fail, PID 1 exiting panics and -no-reboot ends qemu.
echo 1 >/proc/sys/kernel/sysrq
echo o >/proc/sysrq-trigger
sleep 10
