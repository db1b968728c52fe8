#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Kernels before 5.17 have no bpf_loop: allocscope must still load, saying so, and walk
# frame-pointer stacks with a bounded loop. ALLOCSCOPE_NO_BPF_LOOP=1 makes the kernel
# probe answer "absent" here; the fallback must count exactly and give the frames
# --unwind fp gives (on this kernel, through bpf_loop) for the same site.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
start_target t "$TARGET_DIR/alloc_target_fp" leak_malloc
pid=${T_PID[t]}

ALLOCSCOPE_NO_BPF_LOOP=1 start_tool nl -p "$pid" "${JSON_ARGS[@]}"
start_tool fp -p "$pid" --unwind fp "${JSON_ARGS[@]}"
wait_tracing nl "$pid"
wait_tracing fp "$pid"
assert_grep "the fallback says why" "${S_ERR[nl]}" \
	"no bpf_loop \(Linux 5.17\+\): native stacks are walked with frame pointers only"
run_scenario t leak_malloc
stop_tool nl INT 10 "fallback"
assert_eq "fallback: allocscope exit status" 0 "$TOOL_RC"
stop_tool fp INT 10 "--unwind fp"
assert_eq "--unwind fp: allocscope exit status" 0 "$TOOL_RC"
assert_json "fallback: leak_malloc live_bytes" "${S_OUT[nl]}" \
	"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 100000
assert_json "fallback: leak_malloc live_objects" "${S_OUT[nl]}" \
	"ssum(last, 'live_objects', $pid, 'leak_malloc')" 1000
assert_json "fallback: the stack reaches main" "${S_OUT[nl]}" \
	"sorted({tuple(syms(s)[1:3]) for s in sites(last, $pid, 'leak_malloc')})" \
	"[('leak_malloc', 'main')]"
fp_frames=$(json_eval "${S_OUT[fp]}" \
	"sorted({tuple(syms(s)) for s in sites(last, $pid, 'leak_malloc')})")
assert_json "fallback: the same frames as --unwind fp" "${S_OUT[nl]}" \
	"sorted({tuple(syms(s)) for s in sites(last, $pid, 'leak_malloc')})" "$fp_frames"
stop_target t
finish
