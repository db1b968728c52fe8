#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The attach path of kernels without uprobe_multi (--attach perf: one perf-event uprobe per
# probe) gives the same exact numbers, tail calls included, and detaches cleanly.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SCENARIOS=(leak_malloc grow_realloc leak_reallocarray realloc_free churn cross_thread)

setup
start_target t "$TARGET_DIR/alloc_target" "${SCENARIOS[@]}"
pid=${T_PID[t]}
start_tool s -p "$pid" -v --attach perf "${JSON_ARGS[@]}"
out=${S_OUT[s]}
wait_tracing s "$pid"
ours=$(tool_progs s)
assert_grep "-v names the attach path" "${S_ERR[s]}" 'attaching with perf-event uprobes'
for scen in "${SCENARIOS[@]}"; do
	run_scenario t "$scen"
done
stop_tool s INT 10
assert_eq "allocscope exit status" 0 "$TOOL_RC"
assert_json "leak_malloc live bytes/objects" "$out" \
	"(ssum(last, 'live_bytes', $pid, 'leak_malloc'), ssum(last, 'live_objects', $pid, 'leak_malloc'))" \
	"(100000, 1000)"
assert_json "grow_realloc live bytes/objects" "$out" \
	"(ssum(last, 'live_bytes', $pid, 'grow_realloc'), ssum(last, 'live_objects', $pid, 'grow_realloc'))" \
	"(65536, 1)"
assert_json "leak_reallocarray live bytes (reallocarray -> realloc -> malloc)" "$out" \
	"ssum(last, 'live_bytes', $pid, 'leak_reallocarray')" 10000
assert_json "realloc_free live bytes" "$out" "ssum(last, 'live_bytes', $pid, 'realloc_free')" 0
assert_json "produce (freed by another thread) live bytes" "$out" \
	"ssum(last, 'live_bytes', $pid, 'produce')" 0
assert_json "no missing or stale entries" "$out" \
	"(drop('missing_entry'), drop('stale_entry'))" "(0, 0)"
assert_ge "programs loaded by this run" 3 "$(printf '%s' "$ours" | grep -c .)"
assert_eq "programs of this run left loaded after SIGINT" "" "$(progs_left "$ours")"
stop_target t
finish
