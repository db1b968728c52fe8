#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Libraries whose CFI is built to hurt the tracer: one FDE of 128001 rows (quadratic for a
# replay per row), mapped before attach and dlopen'd while tracing, and a compression bomb
# (a zlib section inflating to 256 MiB beside the real .debug_frame). allocscope still
# starts, reports dl_leak()'s exact bytes, exits 0 promptly, and its peak RSS stays bounded.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
BIN=$TARGET_DIR/alloc_target
BIG=$TARGET_DIR/libcfibig_dl.so
BOMB=$TARGET_DIR/libcfibomb_dl.so
for f in "$BIN" "$BIG" "$BOMB"; do
	[ -e "$f" ] || die "$f not built (run make all)"
done
# Hang bounds, not timing goals (make bench times the builds): a scenario on a loaded machine,
# and allocscope's exit after SIGINT (the libdw path waited 69 s for the worker's build).
RUN_BOUND=60
EXIT_BOUND=60
# allocscope's peak RSS with the bomb mapped (the libdw path took 534 MB on a 512 MiB bomb).
RSS_BOUND_KB=$((200 * 1024))

# dl_sites NAME PID [N]: the first N (default all 4) of (module, live bytes, objects, whole
# stack up to main) for each site whose caller of malloc is dl_leak, in the last report.
dl_sites()
{
	json_eval "${S_OUT[$1]}" "[t[:${3:-4}] for t in [(frame(s, 1).get('module'), s['live_bytes'],
		s['live_objects'], 'main' in syms(s)) for s in sites(last, $2, 'dl_leak')]]"
}

# case_big WHEN: the big library mapped before attach ("before": its table is built while
# allocscope starts, so stacks through it are whole) or dlopen'd after ("after": built while
# tracing; the worker may still be at it when SIGINT comes). 10 x malloc(1000) in dl_leak;
# exit 0 within the bound. SIGINT, not -d: a loaded machine may take longer than -d's
# seconds to run the scenario; both end through the same exit path.
case_big()
{
	local when=$1 name=big_$1 pid runs=(dlopen_leak)
	# Before attach, a first run maps the library (and leaks unseen).
	[ "$when" = before ] && runs+=(dlopen_leak)
	start_target "$name" env ALLOC_TARGET_DL="$BIG" "$BIN" "${runs[@]}"
	pid=${T_PID[$name]}
	[ "$when" = before ] && run_scenario "$name" dlopen_leak
	start_tool "$name" -p "$pid" "${JSON_ARGS[@]}"
	wait_tracing "$name" "$pid" 30
	run_scenario "$name" dlopen_leak "$RUN_BOUND"
	stop_tool "$name" INT "$EXIT_BOUND" "$when"
	assert_eq "$when: allocscope exit status" 0 "$TOOL_RC"
	if [ "$when" = before ]; then
		assert_eq "$when: dl_leak site (module, bytes, objects, whole stack)" \
			"[('libcfibig_dl.so', 10000, 10, True)]" "$(dl_sites "$name" "$pid")"
	else
		assert_eq "$when: dl_leak site (module, bytes, objects)" \
			"[('libcfibig_dl.so', 10000, 10)]" "$(dl_sites "$name" "$pid" 3)"
	fi
	stop_target "$name"
}

case_big before
case_big after

# The bomb: mapped before attach, so its table (from .debug_frame) is built at start-up.
start_target bomb env ALLOC_TARGET_DL="$BOMB" "$BIN" dlopen_leak dlopen_leak
PID=${T_PID[bomb]}
run_scenario bomb dlopen_leak
start_tool bomb -v -p "$PID" "${JSON_ARGS[@]}"
wait_tracing bomb "$PID" 30
run_scenario bomb dlopen_leak "$RUN_BOUND"
deadline=$(deadline_ms 20)
# (A report may be half written when read: its NUL bytes are dropped with the rest.)
until [ "$(dl_sites bomb "$PID" 2>/dev/null | tr -d '\0')" = \
	"[('libcfibomb_dl.so', 10000, 10, True)]" ]; do
	if [ "$(date +%s%3N)" -ge "$deadline" ]; then
		show "${S_OUT[bomb]}"
		fail "bomb: no report of dl_leak's 10000 B with a whole stack in 20 s"
		break
	fi
	sleep 0.2
done
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/${S_PID[bomb]}/status" 2>/dev/null)
stop_tool bomb INT "$EXIT_BOUND" bomb
assert_eq "bomb: allocscope exit status" 0 "$TOOL_RC"
assert_eq "bomb: dl_leak site (module, bytes, objects, whole stack)" \
	"[('libcfibomb_dl.so', 10000, 10, True)]" "$(dl_sites bomb "$PID")"
assert_le "bomb: allocscope peak RSS (VmHWM, KiB)" "$RSS_BOUND_KB" "${HWM:-unknown}"
stop_target bomb
finish
