#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Text reports fit the width they are given: COLUMNS=80, and an 80-column terminal (a pty
# under script(1), sized with stty) lay out no line past 80 columns, the site row whole
# (RATE and FREES give way, long names are shortened with "..."); a file without COLUMNS keeps the
# 100-column layout. The target: four workers leaking on one line in a function of a long
# name (tests/targets/py_pool.py), shown as one row of "4 procs".

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
POOL_PY=$ROOT/tests/targets/py_pool.py
LONG_NAME=worker_keeping_strings_in_a_list_that_only_grows_so_that_its_name_is_long

# widest FILE: the widest line of the reports in FILE (characters; allocscope's messages and
# script(1)'s first and last lines left out).
widest()
{
	python3 -c '
import sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().replace("\r", "").split("\n")
print(max([len(l) for l in lines if not l.startswith(("allocscope: ", "Script "))] or [0]))' "$1"
}

# report_checks WHAT FILE: the final report of FILE, laid out for 80 columns.
report_checks()
{
	local what=$1 file=$2 final
	final=$TMP/$(basename "$file").final
	tr -d '\r' <"$file" | sed -n '/(final)$/,$p' >"$final"
	[ -s "$final" ] || { fail "$what: no final report"; show "$file"; return; }
	assert_le "$what: the widest report line" 80 "$(widest "$file")"
	assert_grep "$what: the header row without RATE and FREES" "$final" \
		'^  #       LIVE    OBJS      GROWTH  TREND   ALLOCS  PROCESS$'
	assert_grep "$what: the workers' row counts 4 processes" "$final" \
		'^ +[0-9]+ +[0-9.]+ KiB +1200 .* 4 procs python3'
	assert_grep "$what: the long function name is shortened" "$final" \
		"^ +py_pool\\.py:$LEAK_LINE ${LONG_NAME:0:20}[a-z_]*\\.\\.\\.\$"
}

setup
command -v script >/dev/null || skip "script (util-linux) not found"
command -v stty >/dev/null || skip "stty not found"
PY311=$(ls -d "$PYENV_VERSIONS"/3.11.*/bin/python3 2>/dev/null | tail -1)
[ -x "$PY311" ] || die "pyenv 3.11 is needed under $PYENV_VERSIONS"
LEAK_LINE=$(grep -n '# WORKER_LEAK_LINE$' "$POOL_PY" | cut -d: -f1)
start_target p "$PY311" "$POOL_PY"
run_scenario p fork
workers=$(sed -n 's/^workers //p' "${T_OUT[p]}")
pids=${workers// /,}

COLUMNS=80 start_tool cols -p "$pids" -i 1 -s live
COLUMNS= start_tool file -p "$pids" -i 1 -s live
mkfifo "$TMP/keys" || die "mkfifo"
exec {keys}<>"$TMP/keys"
# script(1) runs the command through $SHELL -c: exec, so that the shell is not what reports
# the exit status. Its pty has no size without a terminal on its input: stty gives one.
timeout -k 2 "$TOOL_TIMEOUT" script -qfec \
	"stty cols 80 rows 24 && exec env -u COLUMNS $ALLOCSCOPE -p $pids -i 1 -s live" \
	"$TMP/tty.out" <"$TMP/keys" >/dev/null 2>&1 &
wrap=$!
for w in $workers; do
	wait_tracing cols "$w"
	wait_tracing file "$w"
	wait_for_line "$TMP/tty.out" "tracing pid $w\\b" "$ATTACH_TIMEOUT" ||
		{ show "$TMP/tty.out"; die "allocscope did not start tracing on the terminal"; }
done
run_scenario p leak
stop_tool cols INT 5 "COLUMNS=80"
assert_eq "COLUMNS=80: allocscope exit status" 0 "$TOOL_RC"
stop_tool file INT 5 "a file"
assert_eq "a file: allocscope exit status" 0 "$TOOL_RC"
printf '\003' >&"$keys"
wait "$wrap"
assert_eq "an 80-column terminal: allocscope exit status after Ctrl-C" 0 "$?"
exec {keys}>&-
stop_target p

report_checks "COLUMNS=80" "${S_OUT[cols]}"
report_checks "an 80-column terminal" "$TMP/tty.out"
# A file keeps the layout of 100 columns, names shortened at 100.
assert_grep "a file: the header row with RATE" "${S_OUT[file]}" \
	'^  #       LIVE    OBJS      GROWTH          RATE  TREND   ALLOCS    FREES  PROCESS$'
assert_le "a file: the widest report line" 100 "$(widest "${S_OUT[file]}")"
assert_grep "a file: the long function name whole" "${S_OUT[file]}" \
	"^ +py_pool\\.py:$LEAK_LINE $LONG_NAME\$"
finish
