#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --mode rss: no allocator probe is attached, yet the leaking functions of alloc_target and
# deep_target rank first with their leaks rounded to pages, under another tracer's return
# probes too; a malloc/free churn grows nothing; munmap, madvise, brk shrink and mremap give
# pages back where they were charged; transparent huge pages count their size; a Python dict
# workload names its growing line; the process line reconciles with RssAnon.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

MiB=$((1 << 20))
# Every fault counted: exact figures, whatever the machine's speed.
RSS=(--mode rss --fault-sample 1 -i 1 -T 100 --format json -s live)

# leak_range OUT FN LEAK CHUNKS: the sites whose stacks pass through FN hold the LEAK bytes
# rounded to pages. Malloc's chunks (CHUNKS bytes: the requests with their 16-byte headers)
# fill pages from the break; the first may be one the program touched before tracing (up to
# 8 KiB less), the last partly filled, and the target's array of kept pointers may take a
# few pages of its own: at most a quarter more than the chunks and 16 KiB.
leak_range()
{
	local out=$1 fn=$2 leak=$3 chunks=$4
	assert_json "$B: $fn holds its $leak bytes in pages" "$out" \
		"(lambda b: $leak - 8192 <= b <= $chunks * 5 // 4 + 16384)(
		    sum(s['live_bytes'] for s in through(last, '$fn', $PID)))" true
	log "$B: $fn: $(json_eval "$out" "sum(s['live_bytes'] for s in through(last, '$fn', $PID))") B"
}

# no_heap_probes NAME: the tool run holds no link of an allocator probe program, and its
# page-fault program is attached.
no_heap_probes()
{
	local progs ids linked
	progs=$(tool_progs "$1")
	ids=$(printf '%s\n' "$progs" | cut -d: -f1 | tr '\n' ' ')
	linked=$(bpftool link list -j 2>/dev/null | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1].split()}
names = dict(l.split(":")[::-1] for l in sys.argv[2].split())
by_id = {v: k for k, v in names.items()}
print(" ".join(sorted(by_id[str(l["prog_id"])] for l in json.load(sys.stdin)
                      if l.get("prog_id") in ids)))
' "$ids" "$progs")
	assert_eq "$1: links of allocator probes" "" \
		"$(printf '%s\n' $linked | grep -E '^(alloc_enter|alloc_exit|free_enter)$' | tr '\n' ' ')"
	assert_eq "$1: the page-fault tracepoint is linked" 1 \
		"$(printf '%s\n' $linked | grep -c '^fault_user$')"
}

setup
for b in alloc_target deep_target mem_target; do
	[ -x "$TARGET_DIR/$b" ] || die "$TARGET_DIR/$b not built (run make all)"
done

# alloc_target: two leaks and a churn between them.
B=alloc_target
start_target a "$TARGET_DIR/alloc_target" leak_malloc churn leak_calloc
PID=${T_PID[a]}
start_tool a -p "$PID" "${RSS[@]}" -v
wait_tracing a "$PID"
assert_grep "$B: -v says no allocator probe is attached" "${S_ERR[a]}" \
	"mode rss: page faults; no allocator uprobes are attached"
assert_grep "$B: the tracing line names page faults" "${S_ERR[a]}" \
	"tracing pid $PID \(alloc_target\): page faults, no allocator probes"
no_heap_probes a
for scen in leak_malloc churn leak_calloc; do
	run_scenario a "$scen" 60
done
stop_tool a INT 5 "$B"
assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
OUT=${S_OUT[a]}
assert_json "$B: mode rss in the report" "$OUT" "last['mode']" rss
assert_json "$B: frame 0 of every site is the page fault" "$OUT" \
	"{(frame(s, 0).get('symbol'), frame(s, 0).get('module')) for s in last['sites']}" \
	"{('page fault', 'fault')}"
assert_json "$B: the largest site is leak_malloc's" "$OUT" \
	"'leak_malloc' in syms(last['sites'][0])" true
assert_json "$B: every site of 16 KiB and more is a leak's" "$OUT" \
	"[syms(s) for s in last['sites'] if s['live_bytes'] >= 16384
	  and not {'leak_malloc', 'leak_calloc'} & set(syms(s))]" "[]"
# 1000 x malloc(100): 112-byte chunks; 200 x calloc(10, 30): 320-byte chunks.
leak_range "$OUT" leak_malloc 100000 112000
leak_range "$OUT" leak_calloc 60000 64000
assert_json "$B: churn (100000 x malloc(64) + free) grows at most a page" "$OUT" \
	"sum(s['live_bytes'] for s in through(last, 'churn', $PID)) <= 4096" true
assert_json "$B: no page table drop" "$OUT" "drop('page_full')" 0
stop_target a

# Another tracer's return probe on malloc (here allocscope in heap mode) replaces malloc's
# return address on the stack while malloc runs: a fault inside malloc walks through it to
# the real caller.
B=foreign
start_target f "$TARGET_DIR/alloc_target" leak_malloc
PID=${T_PID[f]}
start_tool fh -p "$PID" -i 60
wait_tracing fh "$PID"
start_tool f -p "$PID" "${RSS[@]}"
wait_tracing f "$PID"
run_scenario f leak_malloc 60
stop_tool f INT 5 "$B"
assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
stop_tool fh INT 5 "$B heap"
OUT=${S_OUT[f]}
leak_range "$OUT" leak_malloc 100000 112000
assert_json "$B: no stack cut at malloc's hijacked return address" "$OUT" \
	"[syms(s) for s in last['sites'] if s.get('stack_cut') == 'no_mapping']" "[]"
stop_target f

# deep_target -O2 (no frame pointers): the leaking leaf under its callers, ranked by size.
B=deep_target
start_target d "$TARGET_DIR/deep_target" deep3 deep5 deep8
PID=${T_PID[d]}
start_tool d -p "$PID" "${RSS[@]}"
wait_tracing d "$PID"
for scen in deep3 deep5 deep8; do
	run_scenario d "$scen" 60
done
stop_tool d INT 5 "$B"
assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
OUT=${S_OUT[d]}
assert_json "$B: the largest site is deep8's, whole from d8_leaf to main" "$OUT" \
	"(lambda f: all(x in f for x in ['d8_leaf', 'd8_g', 'd8_a', 'main']))(syms(last['sites'][0]))" \
	true
# 80 x malloc(888), 50 x malloc(555), 30 x malloc(333): chunks of 896, 560 and 336 bytes.
leak_range "$OUT" d8_leaf 71040 71680
leak_range "$OUT" d5_leaf 27750 28000
leak_range "$OUT" d3_leaf 9990 10080
stop_target d

# Releases, each charged to the function that touched the pages (frame 1, the faulting
# instruction): every figure exact.
B=mem_target
start_target m "$TARGET_DIR/mem_target" reserve partial advise brk_shrink remap huge huge_off
PID=${T_PID[m]}
start_tool m -p "$PID" "${RSS[@]}"
wait_tracing m "$PID"
for scen in reserve partial advise brk_shrink remap huge huge_off; do
	run_scenario m "$scen" 60
done
stop_tool m INT 5 "$B"
assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
OUT=${S_OUT[m]}
assert_json "$B: reserve: the 320 pages touched in 1 GiB" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'reserve')" $((320 * 4096))
assert_json "$B: partial: the half left after munmap" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'partial')" $((4 * MiB))
assert_json "$B: advise: MADV_DONTNEED and MADV_FREE give back" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'advise')" $((1 * MiB))
assert_json "$B: brk_shrink: the break lowered gives back" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'brk_shrink')" $((256 * 1024))
assert_json "$B: remap: pages moved by mremap are given back at their new place" "$OUT" \
	"ssum(last, 'live_bytes', $PID, 'remap')" $((1 * MiB))
# Two huge pages where the kernel made them (a fault each, charged 2 MiB), else 1024 small
# pages (the first of each 2 MiB charged as huge, then corrected): 4 MiB either way.
assert_json "$B: huge: 4 MiB with MADV_HUGEPAGE, huge pages or not" "$OUT" \
	"sum(s['live_bytes'] for s in through(last, 'huge', $PID))" $((4 * MiB))
# Huge pages refused: each 2 MiB charged as huge at its first fault, corrected at its second.
assert_json "$B: huge_off: small pages after the guess, 4 MiB" "$OUT" \
	"sum(s['live_bytes'] for s in through(last, 'huge_off', $PID))" $((4 * MiB))
assert_json "$B: huge_off: one fault per page" "$OUT" \
	"sum(s['allocs'] for r in reports for s in through(r, 'huge_off', $PID))" 1024
log "$B: huge: $(json_eval "$OUT" "sum(s['allocs'] for r in reports for s in through(r, 'huge', $PID))") faults"
stop_target m

# A target that grows after attach (4 KiB every 10 ms in cache_insert): the pages faulted in
# explain its RssAnon within 15 % once 3 MiB grew; the text report says how.
B=slow_leak
start_target s "$TARGET_DIR/alloc_target" slow_leak
PID=${T_PID[s]}
start_tool s -p "$PID" --mode rss -i 1 -T 5 --format json
wait_tracing s "$PID"
send_line s go
deadline=$(deadline_ms "$SCENARIO_TIMEOUT")
while :; do
	tail -n 1 "${S_OUT[s]}" >"$TMP/s.last"
	[ "$(json_eval "$TMP/s.last" "last['live_bytes'] >= 3 * $MiB" 2>/dev/null)" = true ] && break
	[ "$(date +%s%3N)" -lt "$deadline" ] || die "$B: 3 MiB never faulted in ${SCENARIO_TIMEOUT}s"
	sleep 0.2
done
stop_tool s INT 5 "$B"
assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
OUT=${S_OUT[s]}
assert_json "$B: the largest site is cache_insert's" "$OUT" \
	"'cache_insert' in syms(last['sites'][0])" true
assert_json "$B: faulted within 15 % of RssAnon" "$OUT" \
	"(lambda p: abs(p['faulted'] - p['rss_anon']) <= 0.15 * p['rss_anon'])(last['processes'][0])" \
	true
assert_json "$B: nothing but the pages faulted (and written file data) explains it" "$OUT" \
	"(lambda p: (p['heap_live'], p['allocator'], p['mappings'], p['thread_stacks'],
	             p['unexplained'] == p['rss_anon'] - p['faulted'] - p['data']))(last['processes'][0])" \
	"(0, 0, 0, 0, True)"
log "$B: $(json_eval "$OUT" "last['processes']")"
start_tool st -p "$PID" --mode rss -i 1 -n 1
wait_tool st 30 || die "$B: text run did not end"
assert_grep "$B: text: the reconciliation's part" "${S_OUT[st]}" \
	"^  faulted [0-9.]+ [KM]iB \+ data [0-9.]+ [KM]iB \(faulted: pages faulted in since attach, less those given back\)$"
send_line s stop
stop_target s

# Python: small objects live in pymalloc's arenas, each page charged to the line whose
# object first touched it.
B=python
start_target py /usr/bin/python3.11 "$ROOT/tests/targets/py_dicts.py"
PID=${T_PID[py]}
start_tool py -p "$PID" --mode rss -i 1 -T 10 --format json -s live
wait_tracing py "$PID"
run_scenario py load
stop_tool py INT 5 "$B"
assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
OUT=${S_OUT[py]}
assert_json "$B: the largest site is a growing line of load()" "$OUT" \
	"(lambda f: [(x.get('file', '').split('/')[-1], x.get('symbol')) for x in f[1:]
	             if x.get('module') == 'python'][:2])(last['sites'][0]['frames'])" \
	"[('py_dicts.py', 'load'), ('py_dicts.py', '<module>')]"
assert_json "$B: the lines of load() that build records hold most of it" "$OUT" \
	"sum(s['live_bytes'] for s in last['sites'] if any(x.get('symbol') == 'load'
	     and x.get('line') in (10, 11, 12, 13, 14) for x in s['frames'])) > 50 * $MiB" true
assert_json "$B: faulted within 15 % of RssAnon" "$OUT" \
	"(lambda p: abs(p['faulted'] - p['rss_anon']) <= 0.15 * p['rss_anon'])(last['processes'][0])" \
	true
log "$B: $(json_eval "$OUT" "[(s['live_bytes'], [x.get('line') for x in s['frames'] if x.get('module') == 'python']) for s in last['sites'][:4]]")"
kill_target py
finish
