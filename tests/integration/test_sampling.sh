#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --sample-bytes: a site sampled 1000 times or more has its live bytes and objects estimated
# within 10 % of the exact figures (one sampled run with uprobe sessions, one on the fallback
# path, one exact, all on the same target); frees of unsampled blocks are not counted as
# untracked; reports say they are estimates; unsampled calls take no return probe.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# leak_sampled: 200000 x malloc(256) kept. churn: 100000 x malloc(64) + free.
BYTES=51200000
OBJECTS=200000

# near TOOL FIELD WANT: leak_sampled's FIELD in TOOL's final report is within 10 % of WANT.
near()
{
	assert_json "$1: leak_sampled $2 within 10 % of $3" "${S_OUT[$1]}" \
		"abs(ssum(last, '$2', $PID, 'leak_sampled') - $3) <= 0.10 * $3" true
	log "$1: leak_sampled $2 $(json_eval "${S_OUT[$1]}" "ssum(last, '$2', $PID, 'leak_sampled')")"
}

setup
start_target t "$TARGET_DIR/alloc_target" leak_sampled churn
PID=${T_PID[t]}

start_tool exact -p "$PID" "${JSON_ARGS[@]}"
start_tool sess -p "$PID" "${JSON_ARGS[@]}" --sample-bytes 8K -v
ALLOCSCOPE_NO_SESSIONS=1 start_tool fall -p "$PID" "${JSON_ARGS[@]}" --sample-bytes 8K -v
start_tool text -p "$PID" -i 600 --sample-bytes 8K
for s in exact sess fall text; do
	wait_tracing "$s" "$PID"
done
assert_grep "sess: sampled over uprobe sessions" "${S_ERR[sess]}" "attaching with uprobe session links"
assert_grep "fall: sampled over the fallback path" "${S_ERR[fall]}" "no uprobe sessions"
run_scenario t leak_sampled
run_scenario t churn
for s in exact sess fall text; do
	stop_tool "$s" INT 10 "$s"
	assert_eq "$s: exit status" 0 "$TOOL_RC"
done

assert_json "exact: leak_sampled live_bytes" "${S_OUT[exact]}" \
	"ssum(last, 'live_bytes', $PID, 'leak_sampled')" "$BYTES"
assert_json "exact: leak_sampled live_objects" "${S_OUT[exact]}" \
	"ssum(last, 'live_objects', $PID, 'leak_sampled')" "$OBJECTS"
assert_json "exact: header says exact" "${S_OUT[exact]}" \
	"(last['sample_bytes'], last['estimated'], any('samples' in s for _, s in every_site()))" \
	"(0, False, False)"

for s in sess fall; do
	out=${S_OUT[$s]}
	assert_json "$s: header says sampled and estimated" "$out" \
		"(last['sample_bytes'], last['estimated'])" "(8192, True)"
	assert_ge "$s: leak_sampled samples" 1000 \
		"$(json_eval "$out" "ssum(last, 'samples', $PID, 'leak_sampled')")"
	near "$s" live_bytes "$BYTES"
	near "$s" live_objects "$OBJECTS"
	# churn freed 100000 blocks, most never sampled: failed lookups, not untracked frees.
	assert_json "$s: drops.untracked_free" "$out" "drop('untracked_free')" 0
	assert_json "$s: no site with negative live bytes or objects in any report" "$out" \
		"[s['live_bytes'] for _, s in every_site() if s['live_bytes'] < 0 or s['live_objects'] < 0]" \
		"[]"
done

# With sessions, the 300000 calls mostly go unsampled (about 7000 are sampled) and take no
# return probe.
skips=$(sed -n 's/.*uprobe sessions: \([0-9]*\) calls skipped.*/\1/p' "${S_ERR[sess]}")
returns=$(sed -n 's/.*skipped their return probe, \([0-9]*\) returns ran.*/\1/p' "${S_ERR[sess]}")
assert_ge "sess: calls that skipped their return probe" 280000 "$skips"
assert_le "sess: returns that ran" 20000 "$returns"

assert_grep "text: the header says the figures are estimates" "${S_OUT[text]}" \
	"^sampled: about one allocation per 8.0 KiB \(--sample-bytes\); bytes, objects"

stop_target t
finish
