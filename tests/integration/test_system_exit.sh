#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Whole-system mode ends promptly while node and CPython (big unwind tables, many
# allocations) run, and leaves nothing attached: no uprobe link and no uprobe event of its.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

DURATION=3

setup
command -v node >/dev/null || skip "node not found"
command -v python3 >/dev/null || skip "python3 not found"
command -v bpftool >/dev/null || skip "bpftool not found"

# Allocating all the time, so their allocations trap on the probes until the very end.
timeout -k 2 "$TARGET_TIMEOUT" node -e '
let kept = [];
setInterval(() => {
	for (let i = 0; i < 200; i++) kept.push(Buffer.alloc(4096));
	if (kept.length > 20000) kept = [];
}, 5);' &
node_wrap=$!
timeout -k 2 "$TARGET_TIMEOUT" python3 -c '
import time
kept = []
while True:
    kept.append(bytearray(1000))
    if len(kept) > 10000:
        kept = []
    time.sleep(0.0002)' &
py_wrap=$!
sleep 1
alive "$node_wrap" && alive "$py_wrap" || die "node or python3 did not start"

now() { date +%s.%N; }
# secs A B: B - A, one decimal.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
# le A B: A <= B (decimals).
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

t0=$(now)
start_tool s -v -d "$DURATION"
pid=${S_PID[s]}
wait_for_line "${S_ERR[s]}" 'tracing every process using .*libc\.so' "$ATTACH_TIMEOUT" ||
	{ show "${S_ERR[s]}"; die "allocscope did not attach to libc for every process"; }
t_up=$(now)
t_final=
while alive "${S_WRAP[s]}"; do
	[ -z "$t_final" ] && grep -q '(final)' "${S_OUT[s]}" && t_final=$(now)
	le "$(secs "$t0" "$(now)")" $((DURATION + 60)) || break
	sleep 0.05
done
t_exit=$(now)
[ -z "$t_final" ] && grep -q '(final)' "${S_OUT[s]}" && t_final=$t_exit
if ! wait_tool s 1; then
	kill -KILL "$pid" 2>/dev/null
	show "${S_ERR[s]}"
	die "-d $DURATION: allocscope still running $((DURATION + 60)) s after start"
fi
assert_eq "allocscope exit status" 0 "$TOOL_RC"
# Hang bounds, not speed claims. -d counts from the end of start-up (loading the programs,
# reading every process's maps, attaching), which a loaded machine slows; from there,
# DURATION s, the final report and the exit, which detaches every probe at once (~0.2 s
# here): 4 s cover a loaded machine, where a table build left running or a detach per
# probe took 14 to 61 s.
up=$(secs "$t0" "$t_up")
run=$(secs "$t_up" "$t_exit")
le "$run" $((DURATION + 4)) && pass "-d $DURATION returned $run s after start-up ($up s)" ||
	fail "-d $DURATION returned $run s after start-up ($up s; limit $((DURATION + 4)) s)"
if [ -n "$t_final" ]; then
	tail_s=$(secs "$t_final" "$t_exit")
	le "$tail_s" 3 && pass "exited $tail_s s after the final report (<= 3)" ||
		fail "exited $tail_s s after the final report (limit 3 s)"
fi
assert_grep "a final report was printed" "${S_OUT[s]}" '\(final\)'
assert_grep "node was traced" "${S_ERR[s]}" "unwinding pid [0-9]+:"
links=$(bpftool link list 2>/dev/null | grep -E "allocscope\($pid\)" || true)
assert_eq "bpftool links held by pid $pid after exit" "" "$links"
events=$(grep -E "libbpf_${pid}_" /sys/kernel/tracing/uprobe_events 2>/dev/null || true)
assert_eq "uprobe events of pid $pid after exit" "" "$events"
alive "$node_wrap" && alive "$py_wrap" && pass "node and python3 still run"
finish
