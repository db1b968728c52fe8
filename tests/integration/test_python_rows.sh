#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# One stack is one row. json.loads results kept in a list (tests/targets/py_json.py): the C
# decoder reaches malloc by six native paths from one Python line, which is one row with
# six native paths in its JSON detail. Four multiprocessing workers leaking on one line
# (tests/targets/py_pool.py), traced with -p: one row counting 4 processes by default,
# four rows with --group-by process.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
JSON_PY=$ROOT/tests/targets/py_json.py
POOL_PY=$ROOT/tests/targets/py_pool.py
LEAK_LINE=$(grep -n '# WORKER_LEAK_LINE$' "$POOL_PY" | cut -d: -f1)

# The first Python frame of a site: (file basename, line), or ().
PYTOP="(lambda s: next(((f['file'].rsplit('/', 1)[-1], f['line'])
                        for f in s['frames'] if f.get('module') == 'python'), ()))"

# json_rows PYTHON TAG ENTRY: py_json.py's strings are one malloc row at json/decoder.py's
# scan_once line, with six native paths, each entering _json at function ENTRY (empty: its
# frames are not named).
json_rows()
{
	local py=$1 tag=$2 entry=$3 decoder line pid n chars rows lo hi
	decoder=$("$py" -c 'import json.decoder as d; print(d.__file__)') ||
		{ fail "$tag: $py does not run"; return; }
	line=$(grep -n 'obj, end = self.scan_once(s, idx)' "$decoder" | head -1 | cut -d: -f1)
	[ -n "$line" ] || { fail "$tag: no scan_once line in $decoder"; return; }
	start_target "j$tag" "$py" "$JSON_PY"
	pid=${T_PID[j$tag]}
	wait_for_line "${T_OUT[j$tag]}" '^strings ' "$START_TIMEOUT"
	read -r n chars <<<"$(sed -n 's/^strings \([0-9]*\) chars \([0-9]*\)$/\1 \2/p' \
		"${T_OUT[j$tag]}")"
	start_tool "j$tag" -p "$pid" -s live "${JSON_ARGS[@]}"
	wait_tracing "j$tag" "$pid"
	run_scenario "j$tag" json
	stop_tool "j$tag" INT 5 "$tag json"
	assert_eq "$tag json: allocscope exit status" 0 "$TOOL_RC"
	kill_target "j$tag"
	rows="[s for s in last['sites'] if s['frames'][0]['symbol'] == 'malloc'
	       and $PYTOP(s) == ('decoder.py', $line)]"
	assert_json "$tag json: malloc rows at decoder.py:$line" "${S_OUT[j$tag]}" "len($rows)" 1
	assert_json "$tag json: its live objects (one str each)" "${S_OUT[j$tag]}" \
		"[s['live_objects'] for s in $rows]" "[$n]"
	# A str of N ASCII characters: N bytes, a NUL and the header (48 B, 40 B from 3.12).
	lo=$((chars + n * 41))
	hi=$((chars + n * 49))
	assert_json "$tag json: its live bytes in [$lo, $hi]" "${S_OUT[j$tag]}" \
		"[$lo <= s['live_bytes'] <= $hi for s in $rows]" "[True]"
	assert_json "$tag json: its native paths" "${S_OUT[j$tag]}" \
		"[len(s['native_paths']) for s in $rows]" "[6]"
	assert_json "$tag json: its native paths add up to the row (bytes, stacks)" \
		"${S_OUT[j$tag]}" "[(sum(p['live_bytes'] for p in s['native_paths']) == s['live_bytes'],
		   sum(p['stacks'] for p in s['native_paths']) == s['stacks']) for s in $rows]" \
		"[(True, True)]"
	assert_json "$tag json: each path's outermost frame is in _json" "${S_OUT[j$tag]}" \
		"sorted(set(p['frames'][-1]['module'].split('.')[0] for s in $rows
		            for p in s['native_paths']))" "['_json']"
	[ -n "$entry" ] && assert_json "$tag json: each path enters the decoder at $entry" \
		"${S_OUT[j$tag]}" \
		"sorted(set(p['frames'][-1]['symbol'] for s in $rows for p in s['native_paths']))" \
		"['$entry']"
}

# pool PYTHON: four workers' 300 strings each at one line.
pool()
{
	local py=$1 workers w pids rows list
	start_target p "$py" "$POOL_PY"
	run_scenario p fork
	workers=$(sed -n 's/^workers //p' "${T_OUT[p]}")
	pids=${workers// /,}
	list="sorted([$pids])"
	start_tool stack -p "$pids" "${JSON_ARGS[@]}"
	start_tool proc -p "$pids" --group-by process "${JSON_ARGS[@]}"
	for w in $workers; do
		wait_tracing stack "$w"
		wait_tracing proc "$w"
	done
	run_scenario p leak
	stop_tool stack INT 5 "workers, default"
	assert_eq "workers, default: allocscope exit status" 0 "$TOOL_RC"
	stop_tool proc INT 5 "workers, --group-by process"
	assert_eq "workers, --group-by process: allocscope exit status" 0 "$TOOL_RC"
	stop_target p
	rows="[s for s in last['sites'] if s['frames'][0]['symbol'] == 'malloc'
	       and $PYTOP(s) == ('py_pool.py', $LEAK_LINE)]"
	assert_json "workers, default: rows at py_pool.py:$LEAK_LINE" "${S_OUT[stack]}" \
		"len($rows)" 1
	assert_json "workers, default: that row's processes, and its pids are the workers" \
		"${S_OUT[stack]}" "[(s['processes'], sorted(s['pids']) == $list) for s in $rows]" \
		"[(4, True)]"
	assert_json "workers, default: its objects and bytes per object" "${S_OUT[stack]}" \
		"[(s['live_objects'], s['live_bytes'] // s['live_objects']) for s in $rows]" \
		"[(1200, 749)]"
	assert_json "workers, --group-by process: rows at py_pool.py:$LEAK_LINE, one per worker" \
		"${S_OUT[proc]}" "(sorted(s['pid'] for s in $rows) == $list,
		                   [(s['processes'], s['pids']) == (1, [s['pid']]) for s in $rows])" \
		"(True, [True, True, True, True])"
	assert_json "workers, --group-by process: each row's objects and bytes per object" \
		"${S_OUT[proc]}" \
		"sorted(set((s['live_objects'], s['live_bytes'] // s['live_objects']) for s in $rows))" \
		"[(300, 749)]"
}

setup
PY312=$(ls -d "$PYENV_VERSIONS"/3.12.*/bin/python3 2>/dev/null | tail -1)
PY311=$(ls -d "$PYENV_VERSIONS"/3.11.*/bin/python3 2>/dev/null | tail -1)
[ -x "$PY312" ] && [ -x "$PY311" ] || die "pyenv 3.11 and 3.12 are needed under $PYENV_VERSIONS"
# _json is a library of its own; Debian's is stripped, so its frames have no names (and
# differed by address alone).
json_rows "$PY312" py312 scanner_call
[ -x /usr/bin/python3.11 ] && json_rows /usr/bin/python3.11 debian311 ""
pool "$PY311"
finish
