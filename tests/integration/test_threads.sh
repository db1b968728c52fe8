#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Threads: a block allocated on one thread and freed on another is freed (cross_thread), and
# four threads allocating at once are each counted exactly (mt_leak), in both builds. Threads
# that end while traced (thread_exit): glibc's flush of their caches is counted as
# thread_exit_free, not as frees of untracked blocks.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

run_one()
{
	local bin=$1 b pid out
	b=$(basename "$bin")
	start_target t "$bin" cross_thread mt_leak
	pid=${T_PID[t]}
	start_tool s -p "$pid" "${JSON_ARGS[@]}"
	wait_tracing s "$pid"
	run_scenario t cross_thread 30
	run_scenario t mt_leak 60
	stop_tool s INT 5 "$b"
	assert_eq "$b: allocscope exit status" 0 "$TOOL_RC"
	out=${S_OUT[s]}
	assert_json "$b: last report is final" "$out" "last.get('final')" true
	assert_json "$b: produce live_bytes" "$out" "ssum(last, 'live_bytes', $pid, 'produce')" 0
	assert_json "$b: produce live_objects" "$out" "ssum(last, 'live_objects', $pid, 'produce')" 0
	assert_json "$b: produce allocs over all reports" "$out" "total('allocs', $pid, 'produce')" 100
	assert_json "$b: produce frees over all reports" "$out" "total('frees', $pid, 'produce')" 100
	assert_json "$b: produce alloc_bytes over all reports" "$out" \
		"total('alloc_bytes', $pid, 'produce')" 30000
	assert_json "$b: produce free_bytes over all reports" "$out" \
		"total('free_bytes', $pid, 'produce')" 30000
	assert_json "$b: no negative live bytes" "$out" \
		"[s['live_bytes'] for r in reports for s in r['sites'] if s['live_bytes'] < 0]" "[]"
	assert_json "$b: mt_worker live_bytes" "$out" "ssum(last, 'live_bytes', $pid, 'mt_worker')" 128000
	assert_json "$b: mt_worker live_objects" "$out" "ssum(last, 'live_objects', $pid, 'mt_worker')" \
		1000
	assert_json "$b: mt_churn live_bytes" "$out" "ssum(last, 'live_bytes', $pid, 'mt_churn')" 0
	assert_json "$b: mt_churn allocs over all reports" "$out" "total('allocs', $pid, 'mt_churn')" \
		80000
	assert_json "$b: mt_churn frees over all reports" "$out" "total('frees', $pid, 'mt_churn')" \
		80000
	log "$b: drops $(json_eval "$out" "last.get('drops')")"
	stop_target t
	assert_eq "$b: target exit status" 0 $?
}

# glibc keeps 7 blocks per size in each thread's cache (tcache) and frees them, and the cache,
# when the thread ends: 4 x (32 x 7 + 1) frees of blocks the program freed before.
thread_exit()
{
	local pid out
	start_target te "$TARGET_DIR/alloc_target" thread_exit
	pid=${T_PID[te]}
	start_tool te -p "$pid" "${JSON_ARGS[@]}"
	wait_tracing te "$pid"
	run_scenario te thread_exit 30
	stop_tool te INT 5
	assert_eq "thread_exit: allocscope exit status" 0 "$TOOL_RC"
	out=${S_OUT[te]}
	assert_json "thread_exit: te_fill allocs and frees, live bytes" "$out" \
		"(total('allocs', $pid, 'te_fill'), total('frees', $pid, 'te_fill'),
		  ssum(last, 'live_bytes', $pid, 'te_fill'))" "(1024, 1024, 0)"
	assert_json "thread_exit: the caches' flush is counted as thread_exit_free" "$out" \
		"drop('thread_exit_free')" 900
	assert_json "thread_exit: no free of an untracked block" "$out" "drop('untracked_free')" 0
	stop_target te
}

setup
run_one "$TARGET_DIR/alloc_target"
run_one "$TARGET_DIR/alloc_target_fp"
thread_exit
finish
