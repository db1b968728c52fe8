#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --placement entry (every probe on the function's first instruction) must account exactly
# as the default placement does; only the cost differs.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SCENARIOS=(leak_malloc churn leak_calloc grow_realloc realloc_free leak_memalign
	leak_reallocarray)

setup
start_target t "$TARGET_DIR/alloc_target" "${SCENARIOS[@]}"
pid=${T_PID[t]}
start_tool s -p "$pid" "${JSON_ARGS[@]}" --placement entry
wait_tracing s "$pid"
for scen in "${SCENARIOS[@]}"; do
	# churn is 200000 single-stepped probe hits at entry placement: allow time.
	run_scenario t "$scen" 90
done
stop_tool s INT 5 "entry"
assert_eq "exit status" 0 "$TOOL_RC"
out=${S_OUT[s]}

# check SYMBOL FIELD EXPECTED [total]: the final report's value, or the sum over all reports.
check()
{
	if [ "${4:-}" = total ]; then
		assert_json "entry: $1 $2 over all reports" "$out" "total('$2', $pid, '$1')" "$3"
	else
		assert_json "entry: $1 $2" "$out" "ssum(last, '$2', $pid, '$1')" "$3"
	fi
}
check leak_malloc live_bytes 100000
check leak_malloc live_objects 1000
check churn live_bytes 0
check churn allocs 100000 total
check churn frees 100000 total
check leak_calloc live_bytes 60000
check grow_realloc live_bytes 65536
check grow_realloc live_objects 1
check realloc_free live_bytes 0
check realloc_free frees 1 total
check leak_memalign live_bytes 25600
check leak_memalign live_objects 100
check leak_reallocarray live_bytes 10000
check leak_reallocarray live_objects 25
assert_json "entry: no negative live bytes" "$out" \
	"[s['live_bytes'] for _, s in every_site() if s['live_bytes'] < 0]" "[]"
log "entry: drops $(json_eval "$out" "last.get('drops')")"
stop_target t
finish
