#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --comm follows execs: a process of that name started by anyone (here, the test's shell,
# which is no target) is announced by its exec and traced, not left to the next scan of
# /proc; its leak is counted exactly. A comm made of escape sequences reaches allocscope's
# messages as '?', never as an escape.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup

comm=cx_$$
cp "$TARGET_DIR/alloc_target" "$TMP/$comm" || die "cannot copy alloc_target"
start_tool c --comm "$comm" -v "${JSON_ARGS[@]}"
wait_for_line "${S_ERR[c]}" '[Ww]aiting' 20 || { show "${S_ERR[c]}"; die "no waiting line"; }
pids=()
for i in 1 2 3 4; do
	start_target "t$i" "$TMP/$comm" leak_malloc
	pids+=("${T_PID[t$i]}")
done
for pid in "${pids[@]}"; do
	if wait_for_line "${S_ERR[c]}" "pid $pid exec'd $comm: attaching" 20; then
		pass "pid $pid announced by its exec"
	else
		fail "pid $pid: no exec announcement"
		show "${S_ERR[c]}" 30
	fi
	wait_tracing c "$pid" 20
done
run_scenario t4 leak_malloc 30
stop_tool c INT 10 "$comm"
assert_eq "allocscope exit status" 0 "$TOOL_RC"
assert_json "leak_malloc live_bytes of the last process" "${S_OUT[c]}" \
	"ssum(last, 'live_bytes', ${pids[3]}, 'leak_malloc')" 100000
for i in 1 2 3 4; do
	target_alive "t$i" && pass "t$i still running" || fail "t$i died"
done
# t1-t3 never ran their scenario: ended, not asked to finish.
for i in 1 2 3; do
	kill_target "t$i"
done
stop_target t4 >/dev/null

# A name that is an escape sequence: shown, never obeyed.
evil=$'\e[31mx\x9b'"$$"
evil=${evil:0:15}
cp "$TARGET_DIR/alloc_target" "$TMP/$evil" || die "cannot copy alloc_target"
start_target e "$TMP/$evil" leak_malloc
start_tool esc -p "${T_PID[e]}" -i 1
wait_tracing esc "${T_PID[e]}" 20
run_scenario e leak_malloc 30
stop_tool esc INT 10 "escape"
assert_eq "escape: allocscope exit status" 0 "$TOOL_RC"
assert_grep "escape: the comm is shown with '?' for ESC" "${S_ERR[esc]}" \
	"tracing pid ${T_PID[e]} \(\?\[31mx\?"
if grep -q $'\e' "${S_ERR[esc]}" "${S_OUT[esc]}"; then
	fail "escape: an ESC byte reached allocscope's output"
else
	pass "escape: no ESC byte in messages or the text report"
fi
assert_grep "escape: the text report names the site" "${S_OUT[esc]}" "leak_malloc"
stop_target e >/dev/null

finish
