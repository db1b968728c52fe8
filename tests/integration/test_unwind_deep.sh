#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Whole native stacks: deep_target leaks 3, 5 and 8 calls below main and 4 calls deep inside
# a library it dlopens after tracing started; each site must list every frame, in order.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# What calls main in Debian 12's glibc 2.36: __libc_start_call_main (a static function, named
# by libc6-dbg's symbols), called by __libc_start_main, called by the executable's _start.
# _start's CFI marks the return address undefined: the stack ends there.
libc_tail()
{
	printf '%s\n' "__libc_start_call_main (libc.so.6)" "__libc_start_main (libc.so.6)" "_start ($1)"
}

# pylist ITEM...: the Python repr of a list of strings, as json_eval prints it.
pylist()
{
	python3 -c 'import sys; print(sys.argv[1:])' "$@"
}

# FRAMES: Python expression, a site's frames as "symbol (module)", innermost first.
FRAMES="[f.get('symbol') + ' (' + f.get('module', '?') + ')' for f in s['frames']]"

# check_leak LEAF BYTES OBJECTS CALLER...: exactly one site is called from LEAF; it holds
# BYTES in OBJECTS, and its stack is malloc, LEAF, each CALLER (in $B), main, then libc's.
check_leak()
{
	local leaf=$1 bytes=$2 objects=$3 want=() f
	shift 3
	want=("malloc (libc.so.6)")
	for f in "$leaf" "$@" main; do
		want+=("$f ($B)")
	done
	mapfile -t -O ${#want[@]} want < <(libc_tail "$B")
	assert_json "$B: $leaf site: live bytes, objects" "$OUT" \
		"[(s['live_bytes'], s['live_objects']) for s in sites(last, $PID, '$leaf')]" \
		"[($bytes, $objects)]"
	assert_json "$B: $leaf site: frames" "$OUT" \
		"[$FRAMES for s in sites(last, $PID, '$leaf')]" "[$(pylist "${want[@]}")]"
	check_returns "$leaf"
}

# check_returns LEAF: every frame of LEAF's site in $B sits at the return address of a call
# in its function: a real caller, not a stack slot that happens to hold a code address.
check_returns()
{
	local leaf=$1 sym bad=() off
	while read -r sym off; do
		[[ " $(call_returns "$BIN" "$sym" | tr -d '[],') " == *" $off "* ]] ||
			bad+=("$sym+$off")
	done < <(json_eval "$OUT" "'\n'.join('%s %d' % (f['symbol'], f['offset'])
		for s in sites(last, $PID, '$leaf') for f in s['frames'][1:]
		if f.get('module') == '$B' and f['symbol'] != '_start')")
	assert_eq "$B: $leaf site: frames in $B not at a call's return address" "" "${bad[*]}"
}

# code_mappings: the most code mappings allocscope's unwinder has had for PID so far (-v
# prints a line each time it reads the process's mappings again), 0 before the first.
code_mappings()
{
	sed -n "s/^allocscope: unwinding pid $PID: \([0-9]*\) code mappings.*/\1/p" "${S_ERR[s]}" |
		sort -n | tail -1 | grep . || echo 0
}

# run_deep BINARY SCENARIO...: traces BINARY through the scenarios; OUT holds the reports.
run_deep()
{
	local s n0 deadline
	BIN=$1
	B=$(basename "$BIN")
	shift
	start_target t "$BIN" "$@"
	PID=${T_PID[t]}
	start_tool s -p "$PID" -v "${JSON_ARGS[@]}" ${TOOL_ARGS:-}
	wait_tracing s "$PID"
	wait_for_line "${S_ERR[s]}" "^allocscope: unwinding pid $PID: " "$ATTACH_TIMEOUT" ||
		die "$B: -v printed no 'unwinding pid $PID' line"
	n0=$(code_mappings)
	for s in "$@"; do
		run_scenario t "$s"
		# The library appears in the first dl_deep: wait until allocscope has read the
		# process's mappings again, the library's among them, before the next run
		# leaks through it.
		[ "$s" = dl_deep ] || continue
		deadline=$(deadline_ms "$SCENARIO_TIMEOUT")
		while [ "$(code_mappings)" -le "$n0" ]; do
			[ "$(date +%s%3N)" -lt "$deadline" ] && { sleep 0.05; continue; }
			show "${S_ERR[s]}"
			die "$B: no 'unwinding pid $PID' line with more than $n0 code mappings"
		done
	done
	stop_tool s INT 5 "$B"
	assert_eq "$B: allocscope exit status" 0 "$TOOL_RC"
	OUT=${S_OUT[s]}
	json_eval "$OUT" 'len(reports)' >/dev/null ||
		{ show "$OUT"; show "${S_ERR[s]}"; die "$B: output is not JSON lines"; }
}

check_deep()
{
	check_leak d3_leaf 9990 30 d3_b d3_a
	check_leak d5_leaf 27750 50 d5_d d5_c d5_b d5_a
	check_leak d8_leaf 71040 80 d8_g d8_f d8_e d8_d d8_c d8_b d8_a
}

setup
for t in deep_target deep_target_fp libdeep_dl.so; do
	[ -e "$TARGET_DIR/$t" ] || die "$TARGET_DIR/$t not built (run make all)"
done

# -O2 without frame pointers, and the library loaded after attach, run three times.
run_deep "$TARGET_DIR/deep_target" deep3 deep5 deep8 dl_deep dl_deep dl_deep
check_deep
# Every allocation is counted, whatever its stack: 3 x 40 x 444 B.
assert_json "$B: deep_dl_leaf sites: live bytes, objects" "$OUT" \
	"(ssum(last, 'live_bytes', $PID, 'deep_dl_leaf'), ssum(last, 'live_objects', $PID, 'deep_dl_leaf'))" \
	"(53280, 120)"
# The first run leaks right after dlopen, before allocscope has read the new library's
# unwind tables: the walker stops at its first frame and asks for a rescan, so those 40
# blocks may sit in a site of their own, cut after deep_dl_leaf. Later runs must be whole.
TOP="max(sites(last, $PID, 'deep_dl_leaf'), key=lambda s: s['live_bytes'])"
assert_ge "$B: deep_dl_leaf top site objects" 80 "$(json_eval "$OUT" "${TOP}['live_objects']")"
want=("malloc (libc.so.6)")
for f in deep_dl_leaf deep_dl_c deep_dl_b deep_dl_entry; do
	want+=("$f (libdeep_dl.so)")
done
for f in dl_b dl_a main; do
	want+=("$f ($B)")
done
mapfile -t -O ${#want[@]} want < <(libc_tail "$B")
assert_json "$B: deep_dl_leaf top site: frames" "$OUT" "(lambda s: $FRAMES)($TOP)" \
	"$(pylist "${want[@]}")"
assert_json "$B: deep_dl_leaf top site: stack not cut" "$OUT" "${TOP}['stack_cut']" None
# A site cut short says why, so the reader knows its stack is partial.
assert_json "$B: deep_dl_leaf cut sites say no_mapping" "$OUT" \
	"sorted(set(s['stack_cut'] for s in sites(last, $PID, 'deep_dl_leaf') if len(s['frames']) < 11))" \
	"$(json_eval "$OUT" "'[]' if len(sites(last, $PID, 'deep_dl_leaf')) == 1 else \"['no_mapping']\"")"
log "$B: deep_dl_leaf sites (objects, frames): $(json_eval "$OUT" \
	"[(s['live_objects'], len(s['frames'])) for s in sites(last, $PID, 'deep_dl_leaf')]")"
stop_target t
assert_eq "$B: target exit status" 0 $?

# -O0 with frame pointers: the same frames.
run_deep "$TARGET_DIR/deep_target_fp" deep3 deep5 deep8
check_deep
stop_target t
assert_eq "$B: target exit status" 0 $?
# --max-depth 4: malloc and four callers, the cut said and counted once per allocation.
TOOL_ARGS="--max-depth 4" run_deep "$TARGET_DIR/deep_target" deep8
assert_json "$B --max-depth 4: d8_leaf site: frames" "$OUT" \
	"[$FRAMES for s in sites(last, $PID, 'd8_leaf')]" \
	"[$(pylist "malloc (libc.so.6)" "d8_leaf ($B)" "d8_g ($B)" "d8_f ($B)" "d8_e ($B)")]"
assert_json "$B --max-depth 4: d8_leaf site: stack_cut" "$OUT" \
	"[s['stack_cut'] for s in sites(last, $PID, 'd8_leaf')]" "['depth_cap']"
assert_json "$B --max-depth 4: truncated_stacks.depth_cap" "$OUT" \
	"last['truncated_stacks']['depth_cap']" 80
stop_target t

finish
