#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The allocator a target really uses is the one traced: jemalloc and tcmalloc preloaded,
# a private copy of libc (another inode, as in a container) deleted after start, and the
# malloc linked into a static executable.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

LIBDIR=/usr/lib/x86_64-linux-gnu
SCENARIOS=(leak_malloc leak_calloc grow_realloc leak_memalign churn)

# run_case LABEL MODULE ENV...: runs the scenarios under allocscope and checks exact
# numbers, with frame 0 in MODULE. BIN overrides the target program.
run_case()
{
	local label=$1 module=$2 pid out s
	shift 2
	start_target "$label" env "$@" "${BIN:-$TARGET_DIR/alloc_target}" "${SCENARIOS[@]}"
	pid=${T_PID[$label]}
	[ -n "$AFTER_START" ] && eval "$AFTER_START"
	start_tool "$label" -p "$pid" "${JSON_ARGS[@]}"
	out=${S_OUT[$label]}
	wait_tracing "$label" "$pid"
	for s in "${SCENARIOS[@]}"; do
		run_scenario "$label" "$s"
	done
	sleep 1.5
	stop_tool "$label" INT 5
	assert_eq "$label: allocscope exit status" 0 "$TOOL_RC"
	assert_grep "$label: stderr names $module among the traced objects" "${S_ERR[$label]}" \
		"tracing pid $pid .*$module"
	assert_json "$label: leak_malloc live bytes" "$out" \
		"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 100000
	assert_json "$label: leak_calloc live bytes" "$out" \
		"ssum(last, 'live_bytes', $pid, 'leak_calloc')" 60000
	assert_json "$label: grow_realloc live bytes/objects" "$out" \
		"(ssum(last, 'live_bytes', $pid, 'grow_realloc'),
		  ssum(last, 'live_objects', $pid, 'grow_realloc'))" "(65536, 1)"
	assert_json "$label: leak_memalign live bytes" "$out" \
		"ssum(last, 'live_bytes', $pid, 'leak_memalign')" 25600
	assert_json "$label: churn live bytes" "$out" "ssum(last, 'live_bytes', $pid, 'churn')" 0
	assert_json "$label: frame 0 of leak_malloc is in $module" "$out" \
		"sorted({frame(s, 0).get('module') for s in sites(last, $pid, 'leak_malloc')})" \
		"['$module']"
	stop_target "$label"
}

setup
for lib in libjemalloc.so.2:jemalloc libtcmalloc_minimal.so.4:tcmalloc; do
	file=${lib%%:*}
	if [ ! -e "$LIBDIR/$file" ]; then
		[ "${CI:-}" = true ] && fail "$LIBDIR/$file missing (scripts/install-deps.sh installs it)"
		log "skipping ${lib##*:}: $LIBDIR/$file not installed"
		continue
	fi
	module=$(basename "$(readlink -f "$LIBDIR/$file")")
	AFTER_START="" run_case "${lib##*:}" "$module" LD_PRELOAD="$LIBDIR/$file"
done

# A libc of its own, removed from disk once loaded: probed through /proc/PID/map_files.
mkdir -p "$TMP/privlib"
cp "$LIBDIR/libc.so.6" "$TMP/privlib/libc.so.6"
AFTER_START='rm -f "$TMP/privlib/libc.so.6"' \
	run_case private_libc libc.so.6 LD_LIBRARY_PATH="$TMP/privlib"

# Statically linked: the executable itself defines malloc and free.
if cc -static -O2 -g -fomit-frame-pointer -pthread "$ROOT/tests/targets/alloc_target.c" \
	-o "$TMP/alloc_static" 2>"$TMP/static.err"; then
	BIN=$TMP/alloc_static AFTER_START="" run_case static alloc_static PATH="$PATH"
else
	fail "cannot link a static alloc_target: $(grep -m1 error "$TMP/static.err")"
fi
finish
