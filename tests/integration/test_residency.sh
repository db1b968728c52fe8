#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Mappings count what is resident, and every report reconciles with RssAnon: four threads
# with their 8 MiB stacks and arenas of their own (two made inside free) are categories, not
# sites, and what the report explains is within 15 % of the process's anonymous RSS; a 1 GiB
# PROT_NONE reservation counts the pages touched in its committed parts; a mapping whose
# upper half was unmapped counts the lower half; malloc'd blocks never touched are told
# apart; a Python dict workload and the demo's target reconcile within 15 % too.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

BIN=$TARGET_DIR/mem_target
MiB=$((1 << 20))

# run NAME FORMAT SCENARIO...: traces a mem_target through its scenarios; the final report
# (taken while the target still runs) is in ${S_OUT[NAME]}, its pid in PID.
run()
{
	local name=$1 fmt=$2 scen
	shift 2
	start_target "$name" "$BIN" "$@"
	PID=${T_PID[$name]}
	start_tool "$name" -p "$PID" -i 1 -T 100 --format "$fmt"
	wait_tracing "$name" "$PID"
	for scen in "$@"; do
		run_scenario "$name" "$scen"
	done
	stop_tool "$name" INT 5 "$name"
	assert_eq "$name: allocscope exit status" 0 "$TOOL_RC"
	stop_target "$name"
	assert_eq "$name: target exit status" 0 $?
	OUT=${S_OUT[$name]}
}

# What a process line explains: the live heap that is resident, the allocator's memory
# beyond it, mapping sites, stacks and the written data pages of mapped files.
EXPLAINED="(p['heap_live'] - p['heap_not_resident'] + p['allocator'] + p['mappings']
           + p['thread_stacks'] + p['data'])"

# Frames of mapping sites: frame 0 is the system call.
MAPS="[s for s in last['sites'] if frame(s, 0).get('module') == 'syscall']"

# within15 OUT WHAT: the final report's explained bytes are within 15 % of RssAnon.
within15()
{
	assert_json "$2: explained within 15 % of RssAnon" "$1" \
		"(lambda p: abs($EXPLAINED - p['rss_anon']) <= 0.15 * p['rss_anon'])(last['processes'][0])" \
		true
	log "$2: $(json_eval "$1" "last['processes']")"
}

setup
[ -x "$BIN" ] || die "$BIN not built (run make all)"

run threads json threads
assert_json "threads: the leak, at its site" "$OUT" "ssum(last, 'live_bytes', $PID, 'thread_leak')" \
	600000
assert_json "threads: no mapping is a site (stacks and arenas are categories)" "$OUT" \
	"[syms(s) for s in $MAPS]" "[]"
assert_json "threads: no site passes through pthread_create's mmap or the arena code" "$OUT" \
	"[syms(s) for s in last['sites'] if {'alloc_new_heap', 'arena_get2', 'mmap'} & set(syms(s))]" \
	"[]"
assert_json "threads: 4 thread stacks" "$OUT" "last['thread_stacks']['count']" 4
assert_json "threads: each stack maps 8 MiB and a guard page or two" "$OUT" \
	"(lambda m: 4 * 8 * $MiB <= m <= 4 * (8 * $MiB + 65536))(last['thread_stacks']['mapped_bytes'])" \
	true
assert_json "threads: stacks are mostly untouched (resident under 1 MiB)" "$OUT" \
	"0 < last['thread_stacks']['resident_bytes'] < $MiB" true
# Each arena's heap is 64 MiB once glibc unmapped the head or tail of its 128 MiB mapping
# (an unmap that does not start where the mapping did): 4 of them and a small [heap].
assert_json "threads: allocator mapped = 4 arenas of 64 MiB (trims subtracted) and [heap]" \
	"$OUT" "(lambda m: 256 * $MiB <= m < 264 * $MiB)(last['allocator']['mapped_bytes'])" true
assert_json "threads: one process line, this one" "$OUT" \
	"[(p['pid'], p['comm']) for p in last['processes']]" "[($PID, 'mem_target')]"
assert_json "threads: heap_live in the process line" "$OUT" \
	"last['processes'][0]['heap_live'] >= 600000" true
assert_json "threads: explained within 15 % of RssAnon" "$OUT" \
	"(lambda p: abs($EXPLAINED - p['rss_anon']) <= 0.15 * p['rss_anon'])(last['processes'][0])" \
	true
assert_json "threads: unexplained is RssAnon less the rest" "$OUT" \
	"(lambda p: p['unexplained'] == p['rss_anon'] - $EXPLAINED)(last['processes'][0])" true
assert_json "threads: every leaked block was touched" "$OUT" \
	"last['processes'][0]['heap_not_resident']" 0
log "threads: $(json_eval "$OUT" "last['processes']")"

run maps json reserve partial
assert_json "reserve: resident = the 320 pages touched, mapped = 1 GiB" "$OUT" \
	"[(s['live_bytes'], s['resident_bytes'], s['mapped_bytes']) for s in $MAPS
	  if frame(s, 2).get('symbol') == 'reserve']" "[(1310720, 1310720, 1073741824)]"
assert_json "partial: the lower half, all of it resident" "$OUT" \
	"[(s['live_bytes'], s['mapped_bytes']) for s in $MAPS
	  if frame(s, 2).get('symbol') == 'partial']" "[(4194304, 4194304)]"
assert_json "maps: header live bytes count what is resident" "$OUT" \
	"last['live_bytes'] < 16 * $MiB" true

# Requested and never touched: 90 MiB of the 100 MiB live are not resident (each block is
# a mapping of its own, 10 MiB and the page that holds glibc's chunk header).
run untouched json untouched
assert_json "untouched: live heap bytes are requested bytes" "$OUT" \
	"last['processes'][0]['heap_live'] >= 100 * $MiB" true
assert_json "untouched: 9 blocks of 10 MiB not resident" "$OUT" \
	"last['processes'][0]['heap_not_resident']" $((90 * MiB))
within15 "$OUT" untouched

run text text threads reserve partial
FINAL=$TMP/final.txt
sed -n '/(final)$/,$p' "$OUT" >"$FINAL"
assert_grep "text: thread stacks line" "$FINAL" "^thread stacks: 4 x 8\.0 MiB mapped, [0-9.]+ KiB resident$"
assert_grep "text: allocator line" "$FINAL" "^allocator: [0-9.]+ KiB resident \(25[6-9]\.[0-9] MiB mapped\)$"
assert_grep "text: reconciliation line" "$FINAL" \
	"^pid $PID mem_target: explained [0-9]+ % of [0-9.]+ MiB anon RSS \(-?[0-9.]+ [KM]?i?B unexplained\)$"
assert_grep "text: its parts" "$FINAL" \
	"^  heap [0-9.]+ KiB \+ allocator [0-9.]+ KiB \+ mappings 5\.2 MiB \+ stacks [0-9.]+ KiB \+ data [0-9.]+ KiB$"
assert_grep "text: the reservation's row says of how much address space" "$FINAL" \
	"^       1\.2 MiB resident of 1\.0 GiB mapped$"
assert_eq "text: two mapping sites" 2 "$(grep -c '^       mmap (system call)$' "$FINAL")"
# A Python dict workload: 100000 session records, about 60 MB in pymalloc's arenas and
# malloc'd dict tables, against the interpreter's 7 MB from before tracing.
start_target py /usr/bin/python3.11 "$ROOT/tests/targets/py_dicts.py"
PID=${T_PID[py]}
start_tool py -p "$PID" -i 1 -T 100 --format json
wait_tracing py "$PID"
run_scenario py load
stop_tool py INT 5 "python"
assert_eq "python: allocscope exit status" 0 "$TOOL_RC"
within15 "${S_OUT[py]}" python
assert_json "python: pymalloc's arenas are mapping sites holding most of it" "${S_OUT[py]}" \
	"last['processes'][0]['mappings'] > 40 * $MiB" true
kill_target py

# The demo's target (scripts/demo.sh): 4 KiB kept every 10 ms beside malloc/free churn,
# traced until 2 MiB are live.
start_target demo "$TARGET_DIR/alloc_target" slow_leak
PID=${T_PID[demo]}
start_tool demo -p "$PID" -i 1 -T 100 --format json
wait_tracing demo "$PID"
send_line demo go
deadline=$(deadline_ms "$SCENARIO_TIMEOUT")
while :; do
	tail -n 1 "${S_OUT[demo]}" >"$TMP/demo.last"
	[ "$(json_eval "$TMP/demo.last" "last['live_bytes'] >= 2 * $MiB" 2>/dev/null)" = true ] &&
		break
	[ "$(date +%s%3N)" -lt "$deadline" ] || die "demo: 2 MiB never live in ${SCENARIO_TIMEOUT}s"
	sleep 0.2
done
stop_tool demo INT 5 "demo"
assert_eq "demo: allocscope exit status" 0 "$TOOL_RC"
within15 "${S_OUT[demo]}" demo
send_line demo stop
stop_target demo
finish
