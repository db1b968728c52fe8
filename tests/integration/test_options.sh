#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Filters, limits and ranking: --min-size and --max-size decide which allocations count;
# --max-live-blocks bounds tracking; -T caps the sites per report; -s picks the first site;
# --sample-bytes marks its reports as estimates.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# traced NAME SCENARIO... -- ARGS...: one tool run over the given scenarios; sets OUT.
traced()
{
	local name=$1 scen=()
	shift
	while [ "$1" != -- ]; do
		scen+=("$1")
		shift
	done
	shift
	start_tool "$name" -p "$PID" "$@"
	wait_tracing "$name" "$PID"
	for s in "${scen[@]}"; do
		run_scenario t "$s"
	done
	stop_tool "$name" INT 5 "$name"
	assert_eq "$name: exit status" 0 "$TOOL_RC"
	OUT=${S_OUT[$name]}
}

setup
# leak_malloc: 100 B blocks; leak_calloc: 10 x 30 = 300 B blocks; churn: 64 B blocks.
start_target t "$TARGET_DIR/alloc_target" leak_malloc leak_calloc leak_malloc leak_calloc \
	leak_malloc leak_calloc churn
PID=${T_PID[t]}

traced min leak_malloc leak_calloc -- "${JSON_ARGS[@]}" --min-size 200
assert_json "--min-size 200: leak_malloc (100 B) not counted" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'leak_malloc')" 0
assert_json "--min-size 200: leak_calloc (300 B) counted" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'leak_calloc')" 60000

traced max leak_malloc leak_calloc -- "${JSON_ARGS[@]}" --max-size 200
assert_json "--max-size 200: leak_malloc (100 B) counted" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'leak_malloc')" 100000
assert_json "--max-size 200: leak_calloc (300 B) not counted" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'leak_calloc')" 0

traced top leak_malloc leak_calloc churn -- -i 1 --format json -T 1 -s live
assert_json "-T 1: sites per report" "$OUT" "max(len(r['sites']) for r in reports)" 1
assert_json "-T 1 -s live: the final report's site" "$OUT" \
	"[(s['frames'][1]['symbol'], s['live_bytes']) for s in last['sites']]" \
	"[('leak_malloc', 100000)]"
assert_json "-T 1: nsites counts every site" "$OUT" "last['nsites'] >= 3" true

kill_target t

# --max-live-blocks 1024 with 1200 blocks kept: every block is either tracked or counted
# in drops.live_full, and at least 176 cannot be tracked.
start_target t "$TARGET_DIR/alloc_target" leak_malloc leak_calloc
PID=${T_PID[t]}
traced live leak_malloc leak_calloc -- "${JSON_ARGS[@]}" --max-live-blocks 1024
assert_json "--max-live-blocks 1024: tracked + live_full" "$OUT" \
	"(ssum(last, 'live_objects', $PID, 'leak_malloc') + ssum(last, 'live_objects', $PID, 'leak_calloc')
	  + drop('live_full'))" 1200
assert_ge "--max-live-blocks 1024: drops.live_full" 176 "$(json_eval "$OUT" "drop('live_full')")"
assert_json "--max-live-blocks 1024: no negative live bytes" "$OUT" \
	"[s['live_bytes'] for _, s in every_site() if s['live_bytes'] < 0]" "[]"
stop_target t

# --sample-bytes 1: every block of 2 bytes or more crosses a gap (at most ~8 bytes), and a
# block 16 times the mean or larger weighs its size: exact figures, marked as estimates. The
# size filter applies before sampling.
start_target t "$TARGET_DIR/alloc_target" leak_malloc leak_calloc
PID=${T_PID[t]}
traced sample leak_malloc leak_calloc -- "${JSON_ARGS[@]}" --sample-bytes 1 --min-size 200
assert_json "--sample-bytes 1 --min-size 200: leak_calloc live bytes, objects, samples" "$OUT" \
	"(ssum(last, 'live_bytes', $PID, 'leak_calloc'), ssum(last, 'live_objects', $PID, 'leak_calloc'),
	  ssum(last, 'samples', $PID, 'leak_calloc'))" "(60000, 200, 200)"
assert_json "--sample-bytes 1 --min-size 200: leak_malloc (100 B) not counted" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'leak_malloc')" 0
assert_json "--sample-bytes 1: the header says sampled" "$OUT" \
	"(last['sample_bytes'], last['estimated'])" "(1, True)"
stop_target t

start_target t "$TARGET_DIR/alloc_target" leak_malloc churn
PID=${T_PID[t]}
traced allocs leak_malloc churn -- -i 1 --format json -T 1 -s allocs
assert_json "-T 1 -s allocs: churn (100000 allocs) leads the report where it ran" "$OUT" \
	"any(frame(s, 1).get('symbol') == 'churn' and s['allocs'] > 0 for _, s in every_site())" \
	true
assert_json "-T 1 -s allocs: no report ranks another site first while churn allocates" "$OUT" \
	"[frame(r['sites'][0], 1).get('symbol') for r in reports
	  if r['sites'] and r['alloc_rate'] * r['interval_s'] > 50000 and
	     frame(r['sites'][0], 1).get('symbol') != 'churn']" \
	"[]"
stop_target t
finish
