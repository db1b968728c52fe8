#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Exact accounting per allocator: every scenario of alloc_target with a known result,
# checked in the final JSON report, for the -O2 (no frame pointer) and -O0 (frame pointer) builds.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SCENARIOS=(leak_malloc churn leak_calloc grow_realloc grow_in_place realloc_shrink realloc_free leak_memalign
	leak_aligned leak_reallocarray leak_legacy_align failed_alloc untracked_free dlopen_leak)

# check_live SITE_SYMBOL LIVE_BYTES LIVE_OBJECTS: summed over the final report's sites whose
# caller (frames[1]) is SITE_SYMBOL.
check_live()
{
	local sym=$1 bytes=$2 objects=$3
	assert_json "$B: $sym live_bytes" "$OUT" "ssum(last, 'live_bytes', $PID, '$sym')" "$bytes"
	assert_json "$B: $sym live_objects" "$OUT" "ssum(last, 'live_objects', $PID, '$sym')" \
		"$objects"
}

# check_total SITE_SYMBOL FIELD N: a per-interval field summed over every report.
check_total()
{
	assert_json "$B: $1 $2 over all reports" "$OUT" "total('$2', $PID, '$1')" "$3"
}

# check_fn SITE_SYMBOL ALLOCATOR...: frames[0] of every such site, in every report that
# shows it, names one of ALLOCATORS.
check_fn()
{
	local sym=$1
	shift
	local want
	want=$(printf "'%s'," "$@")
	assert_json "$B: $sym frames[0] is one of $*" "$OUT" \
		"(len(seen($PID, '$sym')) > 0 and
		  all(frame(s, 0).get('symbol') in ($want) for s in seen($PID, '$sym')))" \
		true
}

# check_caller SITE_SYMBOL: frames[1] of every such site, in every report that shows it, is
# exact: in this binary, at the return address of one of SITE_SYMBOL's calls. Sites that
# free all they take (churn, realloc_free) are only in the reports of the intervals they ran.
check_caller()
{
	local sym=$1 rets
	rets=$(call_returns "$BIN" "$sym")
	assert_json "$B: $sym frames[1] at a return address $rets in ($B)" "$OUT" \
		"(len(seen($PID, '$sym')) > 0 and
		  all(frame(s, 1).get('offset') in $rets and frame(s, 1).get('module') == '$B'
		      for s in seen($PID, '$sym')))" \
		true
}

run_one()
{
	local bin=$1 sym
	BIN=$bin
	B=$(basename "$bin")
	start_target t "$bin" "${SCENARIOS[@]}"
	PID=${T_PID[t]}
	start_tool s -p "$PID" "${JSON_ARGS[@]}"
	wait_tracing s "$PID"
	for scen in "${SCENARIOS[@]}"; do
		run_scenario t "$scen" 60
	done
	stop_tool s INT 5 "$B"
	assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
	OUT=${S_OUT[s]}
	if ! json_eval "$OUT" 'len(reports)' >/dev/null; then
		fail "$B: output is not JSON lines: $(json_eval "$OUT" 'len(reports)')"
		show "${S_ERR[s]}"
		stop_target t
		return
	fi
	assert_json "$B: last report is final" "$OUT" "last.get('final')" true

	check_live leak_malloc 100000 1000
	check_total leak_malloc allocs 1000
	check_fn leak_malloc malloc

	check_live churn 0 0
	check_total churn allocs 100000
	check_total churn frees 100000

	check_live leak_calloc 60000 200
	check_fn leak_calloc calloc

	# A realloc is an allocation of its new size and a free of the block it replaces, as
	# pprof's alloc_space counts it: realloc(NULL, 16), then 12 resizes up to 65536.
	check_live grow_realloc 65536 1
	check_fn grow_realloc realloc
	check_total grow_realloc allocs 13
	check_total grow_realloc alloc_bytes 131056
	check_total grow_realloc frees 12
	check_total grow_realloc free_bytes 65520
	check_total grow_realloc reallocs 12

	# malloc(4096), then 1000 resizes 64 B larger each (in place).
	check_live grow_in_place 68096 1
	check_total grow_in_place allocs 1001
	check_total grow_in_place alloc_bytes $((4096 + 1000 * 4096 + 64 * 1000 * 1001 / 2))
	check_total grow_in_place frees 1000
	check_total grow_in_place reallocs 1000

	check_live realloc_shrink 1000 1
	check_total realloc_shrink reallocs 1

	# realloc(p, 0) frees p: a free, no resize.
	check_live realloc_free 0 0
	check_total realloc_free allocs 1
	check_total realloc_free frees 1
	check_total realloc_free reallocs 0

	check_live leak_memalign 25600 100
	check_fn leak_memalign posix_memalign

	# glibc 2.36 exports aligned_alloc and memalign at one address: either name is right.
	check_live leak_aligned 6400 50
	check_fn leak_aligned aligned_alloc memalign

	check_live leak_reallocarray 10000 25
	check_fn leak_reallocarray reallocarray

	check_live legacy_memalign 1920 20
	check_fn legacy_memalign memalign aligned_alloc
	check_live legacy_valloc 10000 10
	check_fn legacy_valloc valloc

	for sym in leak_malloc churn leak_calloc grow_realloc grow_in_place realloc_shrink realloc_free leak_memalign \
		leak_aligned leak_reallocarray legacy_memalign legacy_valloc; do
		check_caller "$sym"
	done

	# With frame pointers the whole stack is there: the scenarios are called from main.
	if [ "$B" = alloc_target_fp ]; then
		assert_json "$B: leak_malloc frames[2] (frame-pointer walk)" "$OUT" \
			"sorted(set(frame(s, 2).get('symbol') for s in sites(last, $PID, 'leak_malloc')))" \
			"['main']"
	fi

	assert_json "$B: failed_alloc has no site in any report" "$OUT" \
		"sum(len(sites(r, $PID, 'failed_alloc')) for r in reports)" 0
	assert_ge "$B: drops.calloc_overflow" 2 "$(json_eval "$OUT" "drop('calloc_overflow')")"
	# A reallocarray that overflows fails and leaves its block live.
	check_live keep_after_overflow 777 1

	assert_ge "$B: drops.untracked_free" 10 "$(json_eval "$OUT" "drop('untracked_free')")"
	assert_json "$B: no site with negative live bytes or objects in any report" "$OUT" \
		"[(frame(s, 1).get('symbol'), s['live_bytes'], s['live_objects']) for _, s in every_site()
		  if s['live_bytes'] < 0 or s['live_objects'] < 0]" \
		"[]"
	assert_json "$B: no negative live_bytes in any report header" "$OUT" \
		"[r['live_bytes'] for r in reports if r['live_bytes'] < 0]" "[]"

	# A library loaded after tracing started: its call site must still be resolved.
	check_live dl_leak 10000 10
	assert_json "$B: dl_leak module" "$OUT" \
		"sorted(set(s['frames'][1].get('module') for s in sites(last, $PID, 'dl_leak')))" \
		"['libtarget_dl.so']"

	assert_json "$B: every site belongs to pid $PID" "$OUT" \
		"sorted(set(s['pid'] for r in reports for s in r['sites']))" "[$PID]"
	log "$B: drops $(json_eval "$OUT" "last.get('drops')")"

	stop_target t
	assert_eq "$B: target exit status" 0 $?
}

# The header's rates give blocks allocated and freed, and resizes apart by their net change:
# grow_in_place alone is 1 malloc of 4096 B and 1000 resizes adding 64000 B, not 36 MB
# allocated and freed. Summed over the JSON reports (rate x interval, each within 1 %: the
# intervals are printed to the millisecond), then the text line of one report covering the
# whole run.
realloc_rates()
{
	local out
	# near FIELD WANT: the field summed over the reports is WANT, within 1 % and what the
	# intervals' rounding to the millisecond can move it (a short final interval has a
	# large rate: 1 block in 4.4 ms reads 227.273/s x 0.004 s).
	near() {
		echo "abs(sum(r['$1'] * r['interval_s'] for r in reports) - $2) <=
		      0.01 * $2 + sum(abs(r['$1']) * 0.0005 for r in reports)"
	}
	start_target r "$TARGET_DIR/alloc_target" grow_in_place grow_in_place
	start_tool r -p "${T_PID[r]}" "${JSON_ARGS[@]}"
	wait_tracing r "${T_PID[r]}"
	run_scenario r grow_in_place
	stop_tool r INT 5 "realloc rates"
	out=${S_OUT[r]}
	assert_json "header: blocks allocated: 1, of 4096 B" "$out" \
		"($(near alloc_rate 1), $(near alloc_bytes_rate 4096))" "(True, True)"
	assert_json "header: blocks freed: none" "$out" \
		"($(near free_rate 0), $(near free_bytes_rate 0))" "(True, True)"
	assert_json "header: resizes: 1000, adding 64000 B" "$out" \
		"($(near realloc_rate 1000), $(near realloc_bytes_rate 64000))" "(True, True)"
	assert_json "header: live bytes" "$out" "last['live_bytes']" 68096
	if [ "$NFAIL" -gt 0 ]; then
		json_eval "$out" "[(r['interval_s'], r['alloc_rate'], r['alloc_bytes_rate'],
		                    r['realloc_rate'], r['realloc_bytes_rate']) for r in reports]"
	fi

	start_tool rt -p "${T_PID[r]}" -i 600
	wait_tracing rt "${T_PID[r]}"
	run_scenario r grow_in_place
	stop_tool rt INT 5 "realloc rate line"
	assert_grep "text: the rate line gives 4 KiB allocated, nothing freed, the resizes apart" \
		"${S_OUT[rt]}" \
		'^allocs [0-9.]+/s \([0-9.]+ (B|KiB)/s\)  frees 0\.0/s \(0 B/s\)  reallocs [0-9.k]+/s \(\+[0-9.]+ (B|KiB)/s\)$'
	stop_target r
}

setup
realloc_rates
# SEMANTICS_BINS: the builds to check (make vmtest checks the -O2 one only, for time).
for b in ${SEMANTICS_BINS:-alloc_target alloc_target_fp}; do
	run_one "$TARGET_DIR/$b"
done
finish
