#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Whole-system mode (no --pid, no --comm): a process started after allocscope is traced
# with exact numbers and named frames, even though nobody named it.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
start_tool s -i 1 -T 200 -s live --format json
out=${S_OUT[s]}
if ! wait_for_line "${S_ERR[s]}" 'tracing every process using .*libc\.so' "$ATTACH_TIMEOUT"; then
	show "${S_ERR[s]}"
	die "allocscope did not attach to libc for every process"
fi
start_target t "$TARGET_DIR/alloc_target" leak_malloc leak_calloc
pid=${T_PID[t]}
run_scenario t leak_malloc
run_scenario t leak_calloc
sleep 1.5
stop_tool s INT 5
assert_eq "allocscope exit status" 0 "$TOOL_RC"
assert_json "last report covers all processes" "$out" "last['targets']" "all processes"
assert_json "leak_malloc live bytes of a process started later" "$out" \
	"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 100000
assert_json "leak_malloc live objects" "$out" "ssum(last, 'live_objects', $pid, 'leak_malloc')" 1000
assert_json "leak_calloc live bytes" "$out" "ssum(last, 'live_bytes', $pid, 'leak_calloc')" 60000
assert_json "the site names its module" "$out" \
	"sorted({s['frames'][1]['module'] for s in sites(last, $pid, 'leak_malloc')})" \
	"['alloc_target']"
stop_target t
finish
