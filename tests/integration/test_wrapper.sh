#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A preloaded allocator wrapper (libshim_malloc.so: malloc, calloc, realloc and free forwarding
# to libc's through dlsym(RTLD_NEXT), as heaptrack's preload library does): each call is counted
# once, at the wrapper, where calls bind; libc's malloc and free, reached only from inside the
# wrapper, are not probed, so no free is taken for one of an untracked block. Both for a
# process running before allocscope (--pid) and for one it catches as ld.so maps its
# libraries (--comm, a process started later).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SHIM=$TARGET_DIR/libshim_malloc.so
SCENARIOS=(leak_malloc churn leak_calloc grow_realloc leak_memalign)

setup
[ -e "$SHIM" ] || die "$SHIM missing (make all builds it)"
start_target w env LD_PRELOAD="$SHIM" "$TARGET_DIR/alloc_target" "${SCENARIOS[@]}"
pid=${T_PID[w]}
start_tool w -p "$pid" -v "${JSON_ARGS[@]}"
wait_tracing w "$pid"
for s in "${SCENARIOS[@]}"; do
	run_scenario w "$s"
done
sleep 1.5
stop_tool w INT 5
assert_eq "allocscope exit status" 0 "$TOOL_RC"
out=${S_OUT[w]} err=${S_ERR[w]}
assert_grep "-v: the wrapper is in the link map before libc" "$err" \
	"pid $pid: libshim_malloc.so is #[0-9]+ in the link map: probing malloc, calloc, realloc, free"
assert_grep "-v: libc's malloc and free are not probed, and why" "$err" \
	"pid $pid: libc.so.6: not probing malloc, calloc, realloc, free: calls bind to libshim_malloc.so's"
# Exact numbers at each site: counted once, not once at the wrapper and once at libc.
assert_json "leak_malloc live bytes/objects" "$out" \
	"(ssum(last, 'live_bytes', $pid, 'leak_malloc'), ssum(last, 'live_objects', $pid, 'leak_malloc'))" \
	"(100000, 1000)"
assert_json "leak_malloc allocs over all reports" "$out" "total('allocs', $pid, 'leak_malloc')" 1000
assert_json "churn allocs and frees over all reports" "$out" \
	"(total('allocs', $pid, 'churn'), total('frees', $pid, 'churn'))" "(100000, 100000)"
assert_json "churn live bytes" "$out" "ssum(last, 'live_bytes', $pid, 'churn')" 0
assert_json "leak_calloc live bytes" "$out" "ssum(last, 'live_bytes', $pid, 'leak_calloc')" 60000
assert_json "grow_realloc live bytes/objects" "$out" \
	"(ssum(last, 'live_bytes', $pid, 'grow_realloc'), ssum(last, 'live_objects', $pid, 'grow_realloc'))" \
	"(65536, 1)"
# posix_memalign is libc's own: the wrapper does not define it.
assert_json "leak_memalign live bytes" "$out" "ssum(last, 'live_bytes', $pid, 'leak_memalign')" 25600
assert_json "no free taken for one of an untracked block" "$out" "drop('untracked_free')" 0
# The stack: the wrapper's malloc, then the leaking function, on to main.
assert_json "leak_malloc: one site" "$out" "len(sites(last, $pid, 'leak_malloc'))" 1
assert_json "leak_malloc: frame 0 is the wrapper's malloc" "$out" \
	"[(frame(s, 0).get('symbol'), frame(s, 0).get('module')) for s in sites(last, $pid, 'leak_malloc')]" \
	"[('malloc', 'libshim_malloc.so')]"
assert_json "leak_malloc: main calls it" "$out" \
	"['main' in syms(s) for s in sites(last, $pid, 'leak_malloc')]" "[True]"
assert_json "memalign: frame 0 is libc's" "$out" \
	"sorted({frame(s, 0).get('module') for s in sites(last, $pid, 'leak_memalign')})" \
	"['libc.so.6']"
stop_target w
assert_eq "target exit status" 0 $?

# Started after allocscope, attached at its exec: the link map is read while ld.so works.
cp "$TARGET_DIR/alloc_target" "$TMP/shimmed"
start_tool c --comm shimmed -v "${JSON_ARGS[@]}"
wait_for_line "${S_ERR[c]}" '[Ww]aiting' "$ATTACH_TIMEOUT" ||
	{ show "${S_ERR[c]}"; die "--comm shimmed: no waiting line"; }
start_target c env LD_PRELOAD="$SHIM" "$TMP/shimmed" leak_malloc churn
pid=${T_PID[c]}
wait_tracing c "$pid"
run_scenario c leak_malloc
run_scenario c churn
stop_tool c INT 5
assert_eq "--comm: allocscope exit status" 0 "$TOOL_RC"
out=${S_OUT[c]}
assert_grep "--comm: libc's malloc and free are not probed" "${S_ERR[c]}" \
	"pid $pid: libc.so.6: not probing malloc, calloc, realloc, free: calls bind to libshim_malloc.so's"
assert_json "--comm: leak_malloc live bytes/objects" "$out" \
	"(ssum(last, 'live_bytes', $pid, 'leak_malloc'), ssum(last, 'live_objects', $pid, 'leak_malloc'))" \
	"(100000, 1000)"
assert_json "--comm: churn allocs and frees over all reports" "$out" \
	"(total('allocs', $pid, 'churn'), total('frees', $pid, 'churn'))" "(100000, 100000)"
assert_json "--comm: no free taken for one of an untracked block" "$out" "drop('untracked_free')" 0
stop_target c
finish
