#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Output formats and run length: the text report's shape and width, the JSON schema,
# -n COUNT, -d SECS and -o FILE.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

HEADER_KEYS="time interval_s final mode scope targets live_bytes live_change alloc_rate free_rate
alloc_bytes_rate free_bytes_rate realloc_rate realloc_bytes_rate nsites drops truncated_stacks
sites"
SITE_KEYS="pid comm exited live_bytes live_objects growth_bytes growth_rate allocs frees
alloc_bytes free_bytes reallocs frames"
FRAME_KEYS="addr symbol offset module"
DROP_KEYS="live_full site_full stack_full inflight_full missing_entry stale_entry
untracked_free event_lost calloc_overflow thread_exit_free page_full fault_vma_busy"
STOP_KEYS="no_mapping no_cfi unsupported read_fault bad_frame depth_cap"

pykeys()
{
	# shellcheck disable=SC2086
	printf "'%s'," $1
}

setup
# leak_malloc twice: once for each tool run that must see its blocks.
start_target t "$TARGET_DIR/alloc_target" leak_malloc leak_malloc
pid=${T_PID[t]}

# Text, with a report taken while leak_malloc's blocks are live.
start_tool text -p "$pid" -i 1 -T 100
wait_tracing text "$pid"
run_scenario t leak_malloc
sleep 1.5
stop_tool text INT 5 "text"
assert_eq "text: exit status" 0 "$TOOL_RC"
txt=${S_OUT[text]}
assert_grep "text: a header line mentions the interval" "$txt" 'interval'
assert_grep "text: a frame line names leak_malloc and its line (alloc_target.c:N)" "$txt" \
	'^ +leak_malloc \(alloc_target\.c:[0-9]+\)$'
wide=$(awk 'length($0) >= 100 { n++ } END { print n + 0 }' "$txt")
assert_eq "text: lines of 100 columns or more" 0 "$wide"
[ "$wide" -eq 0 ] || awk 'length($0) >= 100' "$txt" | head -3 | sed 's/^/    /'
if grep -q '^{' "$txt"; then
	fail "text: output contains JSON lines"
else
	pass "text: no JSON lines"
fi

# JSON: every line an object with the documented keys.
start_tool json -p "$pid" "${JSON_ARGS[@]}"
wait_tracing json "$pid"
run_scenario t leak_malloc
# Two interval reports after the blocks are live, then the final one.
before=$(wc -l <"${S_OUT[json]}")
deadline=$(deadline_ms 30)
while [ "$(wc -l <"${S_OUT[json]}")" -lt $((before + 2)) ] && [ "$(date +%s%3N)" -lt "$deadline" ]; do
	sleep 0.1
done
stop_tool json INT 5 "json"
assert_eq "json: exit status" 0 "$TOOL_RC"
js=${S_OUT[json]}
n=$(json_eval "$js" 'len(reports)')
assert_ge "json: reports, every line parsed" 3 "$n"
assert_json "json: header keys" "$js" \
	"sorted(set([$(pykeys "$HEADER_KEYS")]) - set().union(*[r.keys() for r in reports]))" "[]"
assert_json "json: every report has every header key" "$js" \
	"[i for i, r in enumerate(reports) if not set([$(pykeys "$HEADER_KEYS")]) <= set(r)]" "[]"
assert_json "json: drop counters" "$js" \
	"[k for k in [$(pykeys "$DROP_KEYS")] if not isinstance(last['drops'].get(k), int)]" "[]"
assert_json "json: no unknown drop counter" "$js" \
	"sorted(set(last['drops']) - set([$(pykeys "$DROP_KEYS")]))" "[]"
assert_json "json: truncated-stack counters" "$js" \
	"[k for k in [$(pykeys "$STOP_KEYS")] if not isinstance(last['truncated_stacks'].get(k), int)]" \
	"[]"
assert_json "json: alloc_target's stacks all reach the outermost frame" "$js" \
	"sum(last['truncated_stacks'].values())" 0
assert_json "json: site keys" "$js" \
	"[k for k in [$(pykeys "$SITE_KEYS")] for _, s in every_site() if k not in s][:5]" \
	"[]"
assert_json "json: frame keys" "$js" \
	"[k for k in [$(pykeys "$FRAME_KEYS")] for _, s in every_site() for f in s['frames']
	  if k not in f][:5]" \
	"[]"
assert_json "json: the live leak_malloc site is reported" "$js" \
	"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 100000
assert_json "json: frames[0] of leak_malloc is malloc" "$js" \
	"[s['frames'][0]['symbol'] for s in sites(last, $pid, 'leak_malloc')]" "['malloc']"
assert_json "json: frames[1] module" "$js" \
	"[s['frames'][1]['module'] for s in sites(last, $pid, 'leak_malloc')]" "['alloc_target']"
assert_json "json: frames[1] addr is hex, offset an int" "$js" \
	"all(frame(s, 1)['addr'].startswith('0x') and isinstance(frame(s, 1)['offset'], int)
	     for s in sites(last, $pid, 'leak_malloc'))" \
	true
assert_json "json: time is UTC ISO 8601" "$js" \
	"all(__import__('re').fullmatch(r'\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ', r['time'])
	     for r in reports)" \
	true
assert_json "json: only the last report is final" "$js" "[r['final'] for r in reports][-3:]" \
	"$(python3 -c "print([False, False, True][-min(3, $n):])")"
# Reports are due on a fixed schedule: one taken late on a loaded machine shortens the next
# interval. The bounds catch a unit mistake (ms for s, 10x), not scheduling delays.
assert_json "json: interval_s of full intervals of -i 1 within [0.3, 5]" "$js" \
	"[r['interval_s'] for r in reports[:-1] if not 0.3 <= r['interval_s'] <= 5]" "[]"
assert_json "json: scope and targets: the pid and its comm" "$js" \
	"(last['scope'], last['targets'])" "('pid', [{'pid': $pid, 'comm': 'alloc_target'}])"

# -n 2: exactly two reports, then exit 0.
start_tool count -p "$pid" --format json -T 100 -i 1 -n 2
if wait_tool count $((ATTACH_TIMEOUT + 10)); then
	assert_eq "-n 2: exit status" 0 "$TOOL_RC"
else
	fail "-n 2: still running after $((ATTACH_TIMEOUT + 10)) s"
	stop_tool count INT 5
fi
assert_eq "-n 2: report lines" 2 "$(wc -l <"${S_OUT[count]}")"
assert_json "-n 2: final flags" "${S_OUT[count]}" "[r['final'] for r in reports]" "[False, True]"

# -d 2: ends by itself, 2 s after it started tracing (not before). How much later is a
# speed matter for scripts/bench.sh; here it is only bounded, as a hang.
start_tool dur -p "$pid" --format json -T 100 -i 1 -d 2
if wait_tool dur $((ATTACH_TIMEOUT + 10)); then
	assert_eq "-d 2: exit status" 0 "$TOOL_RC"
	assert_ge "-d 2: ms from start to exit" 2000 "$TOOL_ELAPSED"
	log "-d 2: exited $TOOL_ELAPSED ms after start"
else
	fail "-d 2: still running after $((ATTACH_TIMEOUT + 10)) s"
	stop_tool dur INT 5
fi
assert_json "-d 2: last report is final" "${S_OUT[dur]}" "last['final']" true

# -o FILE: the reports go to the file, nothing to stdout.
start_tool file -p "$pid" --format json -T 100 -i 1 -n 1 -o "$TMP/report.json"
wait_tool file $((ATTACH_TIMEOUT + 10)) ||
	{ fail "-o: still running after $((ATTACH_TIMEOUT + 10)) s"; stop_tool file INT 5; }
assert_eq "-o: exit status" 0 "$TOOL_RC"
assert_eq "-o: bytes on stdout" 0 "$(wc -c <"${S_OUT[file]}")"
assert_json "-o: the file holds one final report" "$TMP/report.json" \
	"[r['final'] for r in reports]" "[True]"

stop_target t
assert_eq "target exit status" 0 $?

# A reader that goes away (`allocscope | head -3`) ends allocscope quietly, with status 0.
start_target h "$TARGET_DIR/alloc_target" slow_leak
send_line h go
t0=$(date +%s%3N)
# timeout's 124 would tell a hang from a quiet exit.
timeout $((ATTACH_TIMEOUT + 10)) "$ALLOCSCOPE" -p "${T_PID[h]}" -i 0.3 2>"$TMP/head.err" </dev/null |
	head -3 >"$TMP/head.out"
rc=${PIPESTATUS[0]}
assert_eq "allocscope | head -3: exit status" 0 "$rc"
log "allocscope | head -3: exited after $(($(date +%s%3N) - t0)) ms"
assert_eq "allocscope | head -3: lines read" 3 "$(wc -l <"$TMP/head.out")"
assert_eq "allocscope | head -3: error lines" 0 "$(grep -c '^allocscope: .*fail' "$TMP/head.err")"
send_line h stop
stop_target h
finish
