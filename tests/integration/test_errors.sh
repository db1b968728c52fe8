#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Exit statuses and error messages: a missing pid (2), a missing pid beside a live one
# (traced, 0), a kernel thread (5), unreadable maps (3), bad options and values (64), an
# unprivileged user (3), a target without an allocator (5), --help (0, every option listed).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# run_cmd NAME CMD...: runs CMD under timeout (a hang bound); sets RC, and OUT/ERR to the
# output files.
run_cmd()
{
	local name=$1
	shift
	OUT=$TMP/$name.out
	ERR=$TMP/$name.err
	timeout -k 2 "$ATTACH_TIMEOUT" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
}

# expect_error NAME STATUS CMD...: CMD exits with STATUS after one "allocscope: " line.
expect_error()
{
	local name=$1 status=$2
	shift 2
	run_cmd "$name" "$@"
	assert_eq "$name: exit status" "$status" "$RC"
	assert_eq "$name: 'allocscope: ' lines on stderr" 1 "$(grep -c '^allocscope: ' "$ERR")"
	[ "$RC" = "$status" ] || show "$ERR" 5
}

setup
start_target t "$TARGET_DIR/alloc_target" leak_malloc
pid=${T_PID[t]}

missing=999999
while kill -0 "$missing" 2>/dev/null; do
	missing=$((missing + 1))
done
expect_error "--pid $missing" 2 "$ALLOCSCOPE" --pid "$missing" -i 1
assert_grep "--pid $missing: the message names the pid" "$ERR" "^allocscope: .*\\b$missing\\b"

# A gone pid among live ones is said and skipped; the live one is traced.
run_cmd "-p live,gone" "$ALLOCSCOPE" -p "$pid,$missing" -d 1
assert_eq "-p live,gone: exit status" 0 "$RC"
assert_grep "-p live,gone: the gone pid is named" "$ERR" \
	"^allocscope: no process with pid $missing; tracing the others\$"
assert_grep "-p live,gone: the live pid is traced" "$ERR" "^allocscope: tracing pid $pid "
gone2=$((missing + 1))
while kill -0 "$gone2" 2>/dev/null; do
	gone2=$((gone2 + 1))
done
run_cmd "-p gone,gone" "$ALLOCSCOPE" -p "$missing,$gone2" -d 1
assert_eq "-p gone,gone: exit status" 2 "$RC"
assert_eq "-p gone,gone: one line per pid" 2 \
	"$(grep -Ec "^allocscope: no process with pid ($missing|$gone2)\$" "$ERR")"

# A kernel thread has no user memory: its own status (5) and message, not "no process".
kthread=$(pgrep -x kthreadd | head -1)
if [ -n "$kthread" ]; then
	expect_error "-p kthreadd" 5 "$ALLOCSCOPE" -p "$kthread" -d 1
	assert_grep "-p kthreadd: says it is a kernel thread" "$ERR" \
		"^allocscope: pid $kthread \(kthreadd\) maps no memory: a kernel thread"
else
	log "no kthreadd visible here: the kernel-thread case is not run"
fi
# A process whose maps root may not read (pid 1 from inside a sandbox's namespaces):
# a privilege error (3), not "no process".
if [ -e /proc/1/maps ] && ! cat /proc/1/maps >/dev/null 2>&1; then
	expect_error "-p 1 (maps unreadable)" 3 "$ALLOCSCOPE" -p 1 -d 1
	assert_grep "-p 1: says why" "$ERR" "^allocscope: pid 1 \(.*\): cannot read /proc/1/maps"
else
	log "/proc/1/maps is readable here: the unreadable-maps case is not run"
fi

expect_error "-i abc" 64 "$ALLOCSCOPE" -p "$pid" -i abc
expect_error "--frob" 64 "$ALLOCSCOPE" -p "$pid" --frob
expect_error "--pid 1 --comm x" 64 "$ALLOCSCOPE" --pid 1 --comm x
expect_error "--format xml" 64 "$ALLOCSCOPE" -p "$pid" --format xml
expect_error "-s bogus" 64 "$ALLOCSCOPE" -p "$pid" -s bogus
expect_error "--probe-mode bogus" 64 "$ALLOCSCOPE" -p "$pid" --probe-mode bogus
expect_error "--placement bogus" 64 "$ALLOCSCOPE" -p "$pid" --placement bogus
expect_error "-p abc" 64 "$ALLOCSCOPE" -p abc
expect_error "--max-overhead 101" 64 "$ALLOCSCOPE" -p "$pid" --max-overhead 101
assert_grep "--max-overhead 101: says the range" "$ERR" \
	"^allocscope: invalid --max-overhead .101.: expected a number from 0 to 100$"
expect_error "--sample-bytes 0" 64 "$ALLOCSCOPE" -p "$pid" --sample-bytes 0
assert_grep "--sample-bytes 0: the message gives the range" "$ERR" \
	"^allocscope: invalid --sample-bytes '0': expected bytes from 1 to 1G between samples"
expect_error "--sample-bytes 2G" 64 "$ALLOCSCOPE" -p "$pid" --sample-bytes 2G
expect_error "--sample-bytes with --probe-mode noop" 64 "$ALLOCSCOPE" -p "$pid" \
	--sample-bytes 64K --probe-mode noop
expect_error "--trend-intervals 17" 64 "$ALLOCSCOPE" -p "$pid" --trend-intervals 17
assert_grep "--trend-intervals 17: says the range" "$ERR" \
	"^allocscope: invalid --trend-intervals '17': expected a number from 1 to 16$"
expect_error "--old-age 0" 64 "$ALLOCSCOPE" -p "$pid" --old-age 0

# Unprivileged: a copy every user may run, so the check is about privileges, not paths.
{ mkdir "$TMP/nobody" && cp "$ALLOCSCOPE" "$TMP/nobody/allocscope" &&
	chmod 755 "$TMP" "$TMP/nobody" "$TMP/nobody/allocscope"; } || die "cannot copy allocscope"
expect_error "not root" 3 setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$TMP/nobody/allocscope" -p "$pid" -i 1
assert_grep "not root: the message mentions root" "$ERR" '^allocscope: .*[Rr]oot'

# No allocator: a stripped static executable has no malloc symbol anywhere in its maps.
static=$TMP/static_stripped
if printf '#include <unistd.h>\nint main(void) { pause(); return 0; }\n' |
	cc -static -s -O1 -x c - -o "$static" 2>"$TMP/cc.err"; then
	timeout "$TARGET_TIMEOUT" "$static" &
	swrap=$!
	deadline=$(deadline_ms "$START_TIMEOUT")
	spid=
	while [ "$(date +%s%3N)" -lt "$deadline" ]; do
		spid=$(pgrep -P "$swrap")
		[ -n "$spid" ] && [ "$(readlink "/proc/$spid/exe")" = "$static" ] && break
		spid=
		sleep 0.02
	done
	[ -n "$spid" ] || die "$static did not start in ${START_TIMEOUT}s"
	expect_error "stripped static target" 5 "$ALLOCSCOPE" -p "$spid" -i 1
	# With --comm it is not fatal: said once (not at every rescan), then allocscope waits.
	start_tool comm --comm static_stripped -i 1
	wait_for_line "${S_ERR[comm]}" "no traceable process named 'static_stripped' yet" \
		"$ATTACH_TIMEOUT"
	assert_grep "--comm untraceable: waits for a traceable one" "${S_ERR[comm]}" \
		"no traceable process named 'static_stripped' yet"
	# allocscope rescans every second (-i 1) meanwhile: the process is not reported again.
	sleep 2.5
	stop_tool comm INT 5 "--comm untraceable"
	assert_eq "--comm untraceable: exit status after SIGINT" 0 "$TOOL_RC"
	assert_eq "--comm untraceable: reported once over the rescans" 1 \
		"$(grep -c "pid $spid (static_stripped) maps no object" "${S_ERR[comm]}")"
	kill "$swrap"
	wait "$swrap" 2>/dev/null
else
	fail "cannot build a static executable: $(head -1 "$TMP/cc.err")"
fi

run_cmd help "$ALLOCSCOPE" --help
assert_eq "--help: exit status" 0 "$RC"
for opt in -p --pid -c --comm -i -n --count -d --duration -T -s --min-size --max-size \
	--sample-bytes --format -o -v --probe-mode --placement --help; do
	re="(^|[^-[:alnum:]])$opt([^-[:alnum:]]|\$)"
	if grep -Eq -- "$re" "$OUT"; then
		pass "--help lists $opt"
	else
		fail "--help does not list $opt"
	fi
done
assert_eq "--help: nothing on stderr" 0 "$(wc -c <"$ERR")"

kill_target t
finish
