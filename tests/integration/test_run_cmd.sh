#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# allocscope -c CMD and -- PROGRAM ARGS: the command runs with the operator's environment
# and stdio, and is traced from its first allocation: the mallocs of its library's and its
# own constructors, made before main, are in the reports with their exact bytes, beside
# main's. When the command exits,
# allocscope prints its final report, names the command's status and exits 0. A command
# that cannot be run gets a shell's status (127, 126); -c with --pid is bad usage.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

CTOR=$TARGET_DIR/ctor_target
CTOR_BYTES=7777
MAIN_BYTES=5555
LIB_BYTES=3333 # ctor_lib.c

# wait_job PID TIMEOUT_S: waits for a background job of this shell to end; sets RC.
wait_job()
{
	local deadline
	deadline=$(deadline_ms "$2")
	while alive "$1" && [ "$(date +%s%3N)" -lt "$deadline" ]; do
		sleep 0.05
	done
	if alive "$1"; then
		RC=hung
		return 1
	fi
	wait "$1"
	RC=$?
}

setup
[ -x "$CTOR" ] || die "$CTOR not built (run make all)"

# -c "CMD ARGS": its stdin is this fifo, its stdout the tool's (the operator's), where the
# target prints its pid; reports go to -o.
mkfifo "$TMP/in" || die "mkfifo"
exec {infd}<>"$TMP/in"
CTOR_TARGET_ENV=from-operator timeout -k 5 "$TOOL_TIMEOUT" "$ALLOCSCOPE" \
	-c "$CTOR $CTOR_BYTES $MAIN_BYTES 3" "${JSON_ARGS[@]}" -o "$TMP/c.json" \
	<"$TMP/in" >"$TMP/c.out" 2>"$TMP/c.err" &
job=$!
wait_for_line "$TMP/c.out" '^pid [0-9]+$' "$ATTACH_TIMEOUT" ||
	{ show "$TMP/c.err"; die "-c: the command did not start"; }
pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/c.out")
assert_grep "-c: the command got its arguments and the operator's environment" "$TMP/c.out" \
	"^ctor $CTOR_BYTES main $MAIN_BYTES env from-operator\$"
assert_grep "-c: the command is traced" "$TMP/c.err" "^allocscope: tracing pid $pid \\(ctor_target\\)"
poll_json "$TMP/c.json" "ssum(last, 'live_bytes', $pid, 'main_alloc') == $MAIN_BYTES" 30 ||
	{ show "$TMP/c.err"; fail "-c: no report showed main_alloc's $MAIN_BYTES live bytes"; }
assert_json "-c: the constructor's site, before main: live bytes" "$TMP/c.json" \
	"ssum(last, 'live_bytes', $pid, 'ctor_alloc')" "$CTOR_BYTES"
assert_json "-c: the constructor's site: blocks" "$TMP/c.json" \
	"ssum(last, 'live_objects', $pid, 'ctor_alloc')" 1
assert_json "-c: the constructor's site is called from the constructor" "$TMP/c.json" \
	"[syms(s)[2] for s in sites(last, $pid, 'ctor_alloc')]" "['before_main']"
assert_json "-c: the library constructor's site, run by ld.so's _dl_init" "$TMP/c.json" \
	"[(s['live_bytes'], s['live_objects'], syms(s)[2]) for s in sites(last, $pid, 'lib_ctor_alloc')]" \
	"[($LIB_BYTES, 1, 'lib_init')]"
assert_json "-c: main's site" "$TMP/c.json" \
	"[(s['live_bytes'], syms(s)[2]) for s in sites(last, $pid, 'main_alloc')]" \
	"[($MAIN_BYTES, 'main')]"

# A line on its stdin ends the command (status 3): allocscope follows with its final report.
printf 'quit\n' >&"$infd"
wait_job "$job" 30 || fail "-c: allocscope still running 30 s after the command exited"
exec {infd}>&-
assert_eq "-c: allocscope's exit status after the command exited" 0 "$RC"
assert_grep "-c: the command's own status is said" "$TMP/c.err" \
	"^allocscope: $CTOR \\(pid $pid\\) exited with status 3\$"
assert_json "-c: the final report still has the constructor's site" "$TMP/c.json" \
	"(last['final'], ssum(last, 'live_bytes', $pid, 'ctor_alloc'))" "(True, $CTOR_BYTES)"

# -- PROGRAM ARGS: the same, without quoting, a NAME=value first as a shell takes it; stdin at
# EOF ends it at once, so the whole run is the final report.
timeout -k 5 "$TOOL_TIMEOUT" "$ALLOCSCOPE" "${JSON_ARGS[@]}" -o "$TMP/d.json" \
	-- CTOR_TARGET_ENV="set by -- A=b" "$CTOR" 4444 0 0 </dev/null >"$TMP/d.out" 2>"$TMP/d.err"
assert_eq "--: exit status" 0 "$?"
assert_grep "--: NAME=value went to the command's environment" "$TMP/d.out" \
	"^ctor 4444 main 0 env set by -- A=b\$"
dpid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/d.out")
assert_json "--: the constructor's site in the final report" "$TMP/d.json" \
	"(last['final'], ssum(last, 'live_bytes', ${dpid:-0}, 'ctor_alloc'))" "(True, 4444)"
assert_grep "--: the command's status" "$TMP/d.err" \
	"^allocscope: $CTOR \\(pid $dpid\\) exited with status 0\$"

# Commands that cannot run: a shell's statuses, one line, no BPF loaded.
timeout -k 2 "$ATTACH_TIMEOUT" "$ALLOCSCOPE" -c "$TMP/missing --flag" >"$TMP/m.out" 2>"$TMP/m.err"
assert_eq "missing command: exit status" 127 "$?"
assert_eq "missing command: stderr" \
	"allocscope: cannot run '$TMP/missing': No such file or directory" "$(cat "$TMP/m.err")"
: >"$TMP/noexec"
timeout -k 2 "$ATTACH_TIMEOUT" "$ALLOCSCOPE" -c "$TMP/noexec" >"$TMP/n.out" 2>"$TMP/n.err"
assert_eq "non-executable command: exit status" 126 "$?"
assert_eq "non-executable command: stderr" \
	"allocscope: cannot run '$TMP/noexec': Permission denied" "$(cat "$TMP/n.err")"
timeout -k 2 "$ATTACH_TIMEOUT" "$ALLOCSCOPE" -c "$CTOR" --pid "$$" >"$TMP/u.out" 2>"$TMP/u.err"
assert_eq "-c with --pid: exit status" 64 "$?"
assert_grep "-c with --pid: the reason" "$TMP/u.err" \
	"^allocscope: -c runs a command and traces it: it cannot be combined with --pid or --comm\$"

finish
