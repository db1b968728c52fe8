#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# An allocator call whose return is never seen (left by longjmp here; a call in flight
# while a forked child's return probes attach, in the wild) is counted as stale_entry and
# hides nothing: later calls from further down the stack are not taken for calls nested
# in it (alloc_target's lost_return, with libtarget_jmpalloc.so).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

run_one()
{
	local bin=$1 b pid out
	b=$(basename "$bin")
	start_target t "$bin" lost_return
	pid=${T_PID[t]}
	start_tool s -p "$pid" "${JSON_ARGS[@]}"
	wait_tracing s "$pid"
	assert_grep "$b: the toy allocator is traced" "${S_ERR[s]}" \
		"tracing pid $pid .*libtarget_jmpalloc.so"
	run_scenario t lost_return
	stop_tool s INT 5 "$b"
	out=${S_OUT[s]}
	assert_json "$b: leak_deeper live_bytes" "$out" "ssum(last, 'live_bytes', $pid, 'leak_deeper')" \
		100000
	assert_json "$b: leak_deeper live_objects" "$out" \
		"ssum(last, 'live_objects', $pid, 'leak_deeper')" 1000
	assert_json "$b: the jumped-out call is one stale_entry" "$out" "drop('stale_entry')" 1
	assert_json "$b: no site at the jumped-out call" "$out" \
		"len(sites(last, $pid, 'lost_return'))" 0
	stop_target t
}

setup
for bin in "$TARGET_DIR/alloc_target" "$TARGET_DIR/alloc_target_fp"; do
	run_one "$bin"
done
finish
