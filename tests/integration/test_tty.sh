#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# On a terminal, Ctrl-C makes the tty echo "^C" where the cursor is: the final report must
# start on a line of its own, not glued to it. Run under script(1), whose pty turns a 0x03
# byte on its input into SIGINT and the "^C" echo, as a user's terminal does.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
command -v script >/dev/null || skip "script (util-linux) not found"
start_target t "$TARGET_DIR/alloc_target" leak_malloc
pid=${T_PID[t]}
mkfifo "$TMP/keys" || die "mkfifo"
exec {keys}<>"$TMP/keys"
# script(1) runs the command through $SHELL -c: exec, so that the shell (dash under CI's
# SHELL=/bin/sh dies of the SIGINT) is not what reports the exit status.
timeout -k 2 "$TOOL_TIMEOUT" script -qfec "exec $ALLOCSCOPE -p $pid -i 3600" "$TMP/tty.out" \
	<"$TMP/keys" >/dev/null 2>&1 &
wrap=$!
wait_for_line "$TMP/tty.out" "tracing pid $pid\\b" "$ATTACH_TIMEOUT" ||
	{ show "$TMP/tty.out"; die "allocscope did not start tracing on the terminal"; }
printf '\003' >&"$keys"
wait "$wrap"
assert_eq "allocscope on a terminal: exit status after Ctrl-C" 0 "$?"
tr -d '\r' <"$TMP/tty.out" >"$TMP/tty.txt"
assert_grep "the terminal echoed ^C" "$TMP/tty.txt" '\^C'
assert_grep "the final header starts its own line" "$TMP/tty.txt" '^allocscope [0-9-]+ .*\(final\)$'
if grep -q '\^Callocscope' "$TMP/tty.txt"; then
	fail "the final header is glued to ^C"
	show "$TMP/tty.txt"
else
	pass "no header glued to ^C"
fi
exec {keys}>&-
kill_target t
finish
