#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Leak or churn: alloc_target's slow_leak keeps 4096 B every 10 ms in cache_insert() and
# allocates and frees 8 blocks at each step in handle_request(). The leak must be flagged as
# growing in each of the last K intervals, ranked first by --sort trend, with old bytes and
# an old block; the churn must not, and its blocks must be young. The final report ends
# with the whole-session summary, in JSON and in text.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
start_target t "$TARGET_DIR/alloc_target" slow_leak
pid=${T_PID[t]}

# JSON: six reports a second apart, a trend over the last three, old past 2 s.
start_tool json -p "$pid" -i 1 -n 6 --trend-intervals 3 --sort trend --old-age 2 \
	--format json -T 100 --max-overhead 0
wait_tracing json "$pid"
send_line t go # slow_leak runs until its next line
wait_tool json 60 || { stop_tool json INT 5 "json"; fail "json: -n 6 did not end the run"; }
assert_eq "json: exit status" 0 "$TOOL_RC"
js=${S_OUT[json]}
assert_json "json: reports" "$js" "len(reports)" 6
assert_json "json: the last report is final" "$js" "last['final']" true
assert_json "json: the leaking site ranks first" "$js" "caller(last['sites'][0])" cache_insert
# A report that came late can leave the next interval a few milliseconds long, with no
# leak step in it: the flag is only asserted over intervals that hold several steps.
short=$(json_eval "$js" "min(r['interval_s'] for r in reports[-3:]) < 0.1")
if [ "$short" = true ]; then
	log "an interval of the last three lasted under 0.1 s: the growing flag is not asserted"
else
	assert_json "json: the leaking site grew in each of the last 3 intervals" "$js" \
		"[sites(last, sym='cache_insert')[0]['trend'][k] for k in ('intervals', 'grew', 'growing')]" \
		"[3, 3, True]"
fi
assert_json "json: the churning site is not flagged" "$js" \
	"[s['trend']['growing'] for s in sites(last, sym='handle_request')]" "[False]"
assert_json "json: the leaking site has old bytes (older than 2 s)" "$js" \
	"sites(last, sym='cache_insert')[0]['age']['old_bytes'] > 0" true
assert_json "json: its oldest block is at least 2 s old" "$js" \
	"sites(last, sym='cache_insert')[0]['age']['oldest_s'] >= 2" true
assert_json "json: the age threshold is --old-age" "$js" \
	"sites(last, sym='cache_insert')[0]['age']['old_threshold_s']" 2.0
# Churn frees its blocks within microseconds: a block may be live at the walk, never 2 s old.
assert_json "json: the churning site has no old bytes" "$js" \
	"[(s['age'] or {}).get('old_bytes', 0) for s in sites(last, sym='handle_request')]" "[0]"
assert_json "json: the live table was walked whole" "$js" \
	"[last['age_walk']['truncated'], last['age_walk']['blocks'] > 0]" "[False, True]"
assert_json "json: only the final report has a summary" "$js" \
	"[i for i, r in enumerate(reports) if 'summary' in r]" "[5]"
assert_json "json: the summary covers the six reports" "$js" \
	"[last['summary']['reports'], last['summary']['duration_s'] >= 5]" "[6, True]"
assert_json "json: the summary's net growth of the target is positive" "$js" \
	"[p['net_bytes'] > 0 for p in last['summary']['processes'] if p['pid'] == $pid]" "[True]"
assert_json "json: the summary's top site is the leak, with its trend" "$js" \
	"[caller(last['summary']['top_sites'][0]), last['summary']['top_sites'][0]['trend']['intervals']]" \
	"['cache_insert', 3]"
assert_json "json: the summary counts frees (the churn)" "$js" \
	"last['summary']['frees'] > 0 and last['summary']['alloc_bytes'] > last['summary']['free_bytes']" \
	true

# Text: the TREND column, the age line under a row, and the summary after the final report.
start_tool text -p "$pid" -i 1 -n 4 --trend-intervals 2 --old-age 1 -T 100 --max-overhead 0
wait_tracing text "$pid"
wait_tool text 60 || { stop_tool text INT 5 "text"; fail "text: -n 4 did not end the run"; }
assert_eq "text: exit status" 0 "$TOOL_RC"
txt=${S_OUT[text]}
assert_grep "text: a TREND column" "$txt" '^ +# +LIVE .* TREND +ALLOCS'
assert_grep "text: a row flagged as growing in both intervals" "$txt" '^ +[0-9]+ .* \+2/2 '
assert_grep "text: an age line with old bytes" "$txt" \
	'^       oldest [0-9.]+s, [0-9.]+ (KiB|MiB) older than 1s$'
assert_grep "text: the session summary" "$txt" '^session: 4 reports over [0-9.]+s$'
assert_grep "text: the target's net growth" "$txt" "^net growth: pid $pid alloc_target \\+"
assert_grep "text: the leak among the top sites, flagged" "$txt" \
	'^ 1 .* \+2/2 growing [0-9]+ alloc_target  cache_insert \(alloc_target\.c:[0-9]+\)$'

send_line t stop
wait_for_line "${T_OUT[t]}" '^done slow_leak$' "$SCENARIO_TIMEOUT" || fail "slow_leak did not finish"
stop_target t
finish
