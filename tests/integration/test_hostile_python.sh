#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python processes that lie to allocscope through their own memory.
# 1. A CPython 3.13 process that rewrites its _Py_DebugOffsets (code_object.filename :=
#    0xfff0, past any code object) is traced beside an honest one: allocscope exits 0,
#    says Python frames are off for the liar and reports its leak with native frames, and
#    the honest process gets its Python frames at the exact line.
# 2. A CPython 3.11+ process with 300 distinct stacks, 42 Python frames deep, every
#    function named with 16 KB of emoji: allocscope's peak RSS stays under RSS_MAX_KB, it
#    exits 0, and the leak shows the name cut to 256 bytes with its file and line.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# Hang bounds only, generous: other tracers (whole-system ones too) may load the host.
ATTACH_S=${ATTACH_S:-90}
TOOL_TIMEOUT=${TOOL_TIMEOUT_HOSTILE:-300}
TARGET_TIMEOUT=${TARGET_TIMEOUT_HOSTILE:-400}

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
OFFSETS_PY=$ROOT/tests/targets/py_debugoffsets.py
LONGNAMES_PY=$ROOT/tests/targets/py_longnames.py
PYREPORT=$ROOT/tests/integration/pyreport.py
REPORT_PY=/usr/bin/python3
[ -x "$REPORT_PY" ] || REPORT_PY=python3

# allocscope's peak RSS tracing the long names: ~19 MB measured; 426 MB before names were
# capped and interned. The name, code and stack budgets (user/pysym.c) add 28 MB at most.
RSS_MAX_KB=${RSS_MAX_KB:-65536}
# The report options: a JSON report a second, sites ranked by live bytes.
ARGS=(-i 1 -s live -T 100 --format json --max-overhead 0)

# pyenv_python MINOR: the newest pyenv CPython 3.MINOR, or nothing.
pyenv_python()
{
	local d
	for d in $(printf '%s\n' "$PYENV_VERSIONS/3.$1".* | sort -V -r); do
		[ -x "$d/bin/python3.$1" ] && { echo "$d/bin/python3.$1"; return; }
	done
}

# marker FILE TEXT: the number of the line of FILE that ends in "# site: TEXT".
marker()
{
	grep -n -- "# site: $2\$" "$1" | cut -d: -f1
}

# pick FILE PID [pyreport.py options]: KEY=VALUE lines of the top matching site.
pick()
{
	"$REPORT_PY" "$PYREPORT" "$@" 2>&1
}

# field KEY LINES: the value of KEY in pick's output.
field()
{
	sed -n "s/^$1=//p" <<<"$2" | head -1
}

# stop_and_check NAME WHAT: ends a tool run with SIGINT (its final report follows) and
# checks that it exited by itself with status 0.
stop_and_check()
{
	stop_tool "$1" INT 30 "$2"
	if [ "$TOOL_RC" = 0 ]; then
		pass "$2: allocscope exit status = 0"
	else
		fail "$2: allocscope exit status: expected 0, got $TOOL_RC"
		show "${S_ERR[$1]}"
	fi
}

check_debug_offsets()
{
	local py liar honest line got
	py=$(pyenv_python 13)
	if [ -z "$py" ]; then
		log "no pyenv CPython 3.13: _Py_DebugOffsets case left out"
		return
	fi
	line=$(marker "$OFFSETS_PY" leak)
	start_target liar "$py" "$OFFSETS_PY" corrupt
	start_target honest "$py" "$OFFSETS_PY"
	liar=${T_PID[liar]}
	honest=${T_PID[honest]}
	start_tool offsets -p "$liar,$honest" "${ARGS[@]}"
	wait_tracing offsets "$liar" "$ATTACH_S"
	wait_tracing offsets "$honest" "$ATTACH_S"
	run_scenario liar leak 60
	run_scenario honest leak 60
	# Both leaks are in a report: 200 objects of 100033 B each.
	wait_for_line "${S_OUT[offsets]}" "\"pid\": ?$liar\\b.*\"live_objects\": ?200\\b" 60 ||
		log "no report line shows the liar's 200 objects yet"
	stop_and_check offsets "3.13 _Py_DebugOffsets"
	if target_alive liar && target_alive honest; then
		pass "both targets alive after tracing"
	else
		fail "a target died while traced"
	fi
	assert_grep "stderr: Python frames off for pid $liar, with the field" "${S_ERR[offsets]}" \
		"^allocscope: pid $liar: .*_Py_DebugOffsets refused \(code_object\.filename = 0xfff0 .*\): Python frames off"
	assert_grep "stderr: Python frames on for pid $honest" "${S_ERR[offsets]}" \
		"^allocscope: pid $honest runs CPython 3\.13 \(.+\): Python frames on\$"

	got=$(pick "${S_OUT[offsets]}" "$liar" --min-objects 200 --per-object 100033 100100)
	assert_eq "liar: its leak is a site" 1 "$(field found "$got")"
	assert_eq "liar: no Python frames in that site" "" "$(field pystack "$got")"
	if [[ "$(field stack "$got")" == *"_PyEval_EvalFrameDefault (libpython3.13"* ]]; then
		pass "liar: the site's native frames reach the eval loop"
	else
		fail "liar: native stack expected through _PyEval_EvalFrameDefault: $(field stack "$got")"
	fi

	got=$(pick "${S_OUT[offsets]}" "$honest" --python --per-object 100033 100100)
	assert_eq "honest: its leak's first Python frame" "py_debugoffsets.py:$line leak" \
		"$(field py0 "$got")"
	assert_eq "honest: live objects at that site" 200 "$(field live_objects "$got")"
	stop_target liar
	stop_target honest
}

# watch_hwm PID FILE: writes PID's VmHWM (peak RSS, kB) to FILE every 50 ms while it runs.
watch_hwm()
{
	local v
	while [ -r "/proc/$1/status" ]; do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -n "$v" ] && echo "$v" >"$2"
		sleep 0.05
	done
}

check_long_names()
{
	local py pid line want hwm_job hwm
	py=$(pyenv_python 11)
	[ -z "$py" ] && [ -x /usr/bin/python3.11 ] && py=/usr/bin/python3.11
	if [ -z "$py" ]; then
		log "no CPython 3.11: long names case left out"
		return
	fi
	line=$(marker "$LONGNAMES_PY" leak)
	start_target long "$py" "$LONGNAMES_PY" 300 40
	pid=${T_PID[long]}
	start_tool names -p "$pid" "${ARGS[@]}"
	watch_hwm "${S_PID[names]}" "$TMP/names.hwm" &
	hwm_job=$!
	wait_tracing names "$pid" "$ATTACH_S"
	run_scenario long leak 60
	wait_for_line "${S_OUT[names]}" "py_longnames\\.py\", ?\"line\": ?$line\\b" 60 ||
		log "no report line shows py_longnames.py:$line yet"
	stop_and_check names "long names"
	wait "$hwm_job"
	hwm=$(cat "$TMP/names.hwm" 2>/dev/null)
	assert_le "long names: allocscope's peak RSS (VmHWM, kB)" "$RSS_MAX_KB" "${hwm:-none}"
	if target_alive long; then
		pass "long names: target alive after tracing"
	else
		fail "long names: target died while traced"
	fi

	# 5 + 62 x 4 bytes of the name, then "...": 256 bytes.
	want="'leak_' + chr(0x1F600) * 62 + '...'"
	assert_json "long names: sites whose first Python frame is py_longnames.py:$line, cut" \
		"${S_OUT[names]}" \
		"len([s for s in sites(last, pid=$pid) if [(f['file'].endswith('/py_longnames.py'), f['line'], f['symbol']) for f in s['frames'] if f.get('module') == 'python'][:1] == [(True, $line, $want)]]) > 0" \
		true
	assert_json "long names: no Python name longer than 256 bytes" "${S_OUT[names]}" \
		"max(len(f['symbol'].encode()) for _, s in every_site() for f in s['frames'] if f.get('module') == 'python')" \
		256
	stop_target long
}

setup
check_debug_offsets
check_long_names
finish
