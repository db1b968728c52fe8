#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Whole-system mode (no --pid, no --comm): a process started after allocscope is traced
# with exact numbers and whole stacks, even though nobody named it and its first event is
# an allocator's own heap reservation; and allocscope's own allocations, libdw's while it
# builds unwind tables included, never trap on the probes it placed in every process.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
# One row per process: other programs on the machine (other tests' alloc_target) may have
# the very stacks checked here, which --group-by stack would sum into one row.
start_tool s -v -i 1 -T 200 -s live --group-by process --format json
out=${S_OUT[s]}
if ! wait_for_line "${S_ERR[s]}" 'tracing every process using .*libc\.so' "$ATTACH_TIMEOUT"; then
	show "${S_ERR[s]}"
	die "allocscope did not attach to libc for every process"
fi
start_target t "$TARGET_DIR/alloc_target" leak_malloc leak_calloc
pid=${T_PID[t]}
# Its first event (stdio's buffer: malloc's first brk) announces it; its tables follow.
if ! wait_for_line "${S_ERR[s]}" "unwinding pid $pid:" "$ATTACH_TIMEOUT"; then
	show "${S_ERR[s]}"
	die "no unwind tables were built for pid $pid, a process started after allocscope"
fi
run_scenario t leak_malloc
run_scenario t leak_calloc
# A C++ program's first event is malloc's first brk (libstdc++'s start-up pool): an
# allocator's reservation, which must announce the process all the same.
start_target c "$TARGET_DIR/cache_target" fill
cpid=${T_PID[c]}
wait_for_line "${S_ERR[s]}" "unwinding pid $cpid:" "$ATTACH_TIMEOUT" ||
	fail "no unwind tables were built for pid $cpid (cache_target), whose first event is a brk"
# Its first event comes while ld.so still maps libraries; each code mapping ld.so makes
# asks for the tables again, so by main every code mapping has its table. The count the
# unwinder reports (-v) must reach what the maps show (less [vsyscall] and [uprobes]).
ncode=$(awk '$2 ~ /x/ && $6 != "[vsyscall]" && $6 != "[uprobes]"' "/proc/$cpid/maps" | wc -l)
if wait_for_line "${S_ERR[s]}" "unwinding pid $cpid: $ncode code mappings" "$ATTACH_TIMEOUT"; then
	pass "cache_target: the unwinder knows all $ncode code mappings before the scenario"
else
	fail "cache_target: the unwinder never reported $ncode code mappings for pid $cpid"
	grep "unwinding pid $cpid:" "${S_ERR[s]}" | sed 's/^/    /'
	sed 's/^/    /' "/proc/$cpid/maps"
fi
run_scenario c fill
sleep 1.5
stop_tool s INT 5
assert_eq "allocscope exit status" 0 "$TOOL_RC"
assert_json "last report covers all processes" "$out" "(last['scope'], last['targets'])" \
	"('all', [])"
assert_json "leak_malloc live bytes of a process started later" "$out" \
	"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 100000
assert_json "leak_malloc live objects" "$out" "ssum(last, 'live_objects', $pid, 'leak_malloc')" 1000
assert_json "leak_calloc live bytes" "$out" "ssum(last, 'live_bytes', $pid, 'leak_calloc')" 60000
assert_json "the site names its module" "$out" \
	"sorted({s['frames'][1]['module'] for s in sites(last, $pid, 'leak_malloc')})" \
	"['alloc_target']"
# Whole stacks, not cut at the first frame (stack_cut: no_mapping).
for fn in leak_malloc leak_calloc; do
	assert_json "$fn's stacks reach main and __libc_start_main" "$out" \
		"sorted({tuple(f for f in syms(s) if f in ('$fn', 'main', '__libc_start_main'))
		         for s in sites(last, $pid, '$fn')})" \
		"[('$fn', 'main', '__libc_start_main')]"
done
HANDLE="app::Server::handle(int)"
assert_json "cache_target: live bytes of the sites through $HANDLE" "$out" \
	"ssum({'sites': through(last, '$HANDLE', $cpid)}, 'live_bytes') >= 307200" true
assert_json "cache_target: those stacks reach main and __libc_start_main" "$out" \
	"sorted({tuple(f for f in syms(s) if f in ('serve_requests()', 'main', '__libc_start_main'))
	         for s in through(last, '$HANDLE', $cpid)})" \
	"[('serve_requests()', 'main', '__libc_start_main')]"
assert_grep "allocscope's own allocations hit none of its probes" "${S_ERR[s]}" \
	'allocator probes hit by allocscope itself: 0$'
stop_target t
stop_target c
finish
