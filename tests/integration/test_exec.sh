#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A traced process execs a new image: the old image's sites and blocks are dropped, stderr
# says so, and the new image is traced from its first allocation with exact numbers.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
start_target t "$TARGET_DIR/alloc_target" leak_malloc exec_into_calloc
pid=${T_PID[t]}
start_tool s -p "$pid" "${JSON_ARGS[@]}"
out=${S_OUT[s]}
wait_tracing s "$pid"
run_scenario t leak_malloc

# exec: the new image prints its pid line again, then waits for a line to run leak_calloc.
send_line t go
deadline=$(deadline_ms "$START_TIMEOUT")
while [ "$(grep -c '^pid ' "${T_OUT[t]}")" -lt 2 ] && [ "$(date +%s%3N)" -lt "$deadline" ]; do
	sleep 0.05
done
assert_eq "the new image announced itself" 2 "$(grep -c '^pid ' "${T_OUT[t]}")"
if wait_for_line "${S_ERR[s]}" "pid $pid exec'd" "$ATTACH_TIMEOUT"; then
	pass "stderr says pid $pid exec'd"
else
	fail "no \"pid $pid exec'd\" line on stderr within $ATTACH_TIMEOUT s"
	show "${S_ERR[s]}"
fi
# The new image is attached again before it allocates.
deadline=$(deadline_ms "$ATTACH_TIMEOUT")
while [ "$(grep -c "tracing pid $pid " "${S_ERR[s]}")" -lt 2 ] &&
	[ "$(date +%s%3N)" -lt "$deadline" ]; do
	sleep 0.05
done
assert_eq "tracing lines for pid $pid (before and after exec)" 2 \
	"$(grep -c "tracing pid $pid " "${S_ERR[s]}")"
run_scenario t leak_calloc
sleep 1.5
stop_tool s INT 5
assert_eq "allocscope exit status" 0 "$TOOL_RC"
assert_json "new image: leak_calloc live bytes" "$out" \
	"ssum(last, 'live_bytes', $pid, 'leak_calloc')" 60000
assert_json "new image: leak_calloc live objects" "$out" \
	"ssum(last, 'live_objects', $pid, 'leak_calloc')" 200
assert_json "old image's leak_malloc site is gone after the exec" "$out" \
	"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 0
stop_target t
finish
