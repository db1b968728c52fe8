#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python beyond one process and beyond malloc: multiprocessing workers forked after
# allocscope started (--children), workers that existed and leaked before it started, and
# small objects that only pymalloc's mmap'd arenas reveal (tests/targets/py_workers.py).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
WORKERS_PY=$ROOT/tests/targets/py_workers.py
line_of() { grep -n "$1" "$WORKERS_PY" | head -1 | cut -d: -f1; }
LEAK_LINE=$(line_of WORKER_LEAK_LINE)
SMALL_LINE=$(line_of SMALL_LINE)
POOL_LINE=$(line_of POOL_LEAK_LINE)

# The first Python frame of a site: (file basename, line, function), or None.
PYTOP="(lambda s: next(((f['file'].rsplit('/', 1)[-1], f['line'], f['symbol'])
                        for f in s['frames'] if f.get('module') == 'python'), None))"

# children PY: the parent is named, its two workers are found by --children.
children()
{
	local py=$1 tag=$2 pid out workers
	start_target "w$tag" "$py" "$WORKERS_PY" fork
	pid=${T_PID[w$tag]}
	# One row per worker (--children groups identical stacks by default).
	start_tool "c$tag" -p "$pid" --children --group-by process "${JSON_ARGS[@]}"
	wait_tracing "c$tag" "$pid"
	run_scenario "w$tag" fork
	sleep 1.5
	stop_tool "c$tag" INT 5 "$tag children"
	out=${S_OUT[c$tag]}
	workers="[s for s in last['sites'] if s['pid'] != $pid and
	          s['frames'][0]['symbol'] == 'malloc' and
	          $PYTOP(s) == ('py_workers.py', $LEAK_LINE, 'worker_loop')]"
	# Both: a call in flight when a child's return probes attach no longer
	# hides the rest of that child's life (stale_entry).
	assert_json "$tag: workers with a site at py_workers.py:$LEAK_LINE worker_loop" "$out" \
		"len(set(s['pid'] for s in $workers))" 2
	assert_json "$tag: each worker's 700-character strings there" "$out" \
		"sorted(set((s['live_objects'], s['live_bytes'] // s['live_objects'])
		            for s in $workers))" "[(300, 749)]"
	assert_grep "$tag: the fork is announced" "${S_ERR[c$tag]}" "forked from a target"
	kill_target "w$tag"
}

# existing PY: a consumer whose two workers were forked, and leaked, before allocscope
# started. --children finds them at start, says how many, and lists all three processes in
# the header; what the workers keep after the attach is theirs, at their leaking line.
existing()
{
	local py=$1 pid out workers all sites listed
	start_target p "$py" "$WORKERS_PY" pool
	pid=${T_PID[p]}
	run_scenario p pool
	workers=$(sed -n 's/^workers //p' "${T_OUT[p]}")
	# shellcheck disable=SC2086 # one pid per word
	listed=$(printf '%s\n' $workers | sort -n | paste -sd,)
	all=$(printf '%s\n' "$pid" "$listed" | tr , '\n' | sort -n | paste -sd,)
	start_tool e -p "$pid" --children --group-by process "${JSON_ARGS[@]}"
	if wait_for_line "${S_ERR[e]}" \
		"tracing pid $pid \(python3\) and its 2 existing descendants: ${listed//,/, }\$" \
		"$ATTACH_TIMEOUT"; then
		pass "existing workers: the start names both workers"
	else
		fail "existing workers: no 'tracing pid $pid (...) and its 2 existing descendants' line"
		show "${S_ERR[e]}"
	fi
	run_scenario p pool
	stop_tool e INT 5 "existing workers"
	assert_eq "existing workers: exit status" 0 "$TOOL_RC"
	out=${S_OUT[e]}
	sites="[s for s in last['sites'] if s['pid'] in ($listed,) and
	        s['frames'][0]['symbol'] == 'malloc' and
	        $PYTOP(s) == ('py_workers.py', $POOL_LINE, 'pool_leak')]"
	assert_json "existing workers: the workers' sites at py_workers.py:$POOL_LINE pool_leak" \
		"$out" "sorted(set(s['pid'] for s in $sites))" "[${listed//,/, }]"
	# Only the strings kept after the attach: 300 each, none of the 300 from before.
	assert_json "existing workers: each worker's strings kept after the attach" "$out" \
		"sorted(set((s['live_objects'], s['live_bytes'] // s['live_objects']) for s in $sites))" \
		"[(300, 749)]"
	assert_json "existing workers: JSON targets lists the 3 processes" "$out" \
		"(last['scope'], [t['pid'] for t in last['targets']],
		  sorted(set(t['comm'] for t in last['targets'])))" \
		"('pid', [${all//,/, }], ['python3'])"

	# The text header counts and lists them.
	start_tool h -p "$pid" --children -i 1 -n 1
	wait_tool h $((ATTACH_TIMEOUT + 10)) || { fail "existing workers: text run hangs"; stop_tool h; }
	assert_grep "existing workers: text header 'pids $all (3 processes)'" "${S_OUT[h]}" \
		"^allocscope .* interval [0-9.]+s  pids $all \(3 processes\)"
	stop_target p
	assert_eq "existing workers: target exit status" 0 $?
}

# Without --children the workers stay untraced.
no_children()
{
	local py=$1 pid out
	start_target wn "$py" "$WORKERS_PY" fork
	pid=${T_PID[wn]}
	start_tool cn -p "$pid" "${JSON_ARGS[@]}"
	wait_tracing cn "$pid"
	run_scenario wn fork
	sleep 1
	stop_tool cn INT 5 "no children"
	out=${S_OUT[cn]}
	assert_json "without --children: sites of other processes" "$out" \
		"len([s for r in reports for s in r['sites'] if s['pid'] != $pid])" 0
	kill_target wn
}

# arenas PY TAG ARENA: 200000 small tuples appear as mmap'd arenas at the appending line.
arenas()
{
	local py=$1 tag=$2 arena=$3 pid out site all
	start_target "a$tag" "$py" "$WORKERS_PY" small
	pid=${T_PID[a$tag]}
	start_tool "m$tag" -p "$pid" "${JSON_ARGS[@]}"
	wait_tracing "m$tag" "$pid"
	run_scenario "a$tag" small
	sleep 1
	stop_tool "m$tag" INT 5 "$tag arenas"
	out=${S_OUT[m$tag]}
	site="[s for s in last['sites'] if s['frames'] and s['frames'][0]['symbol'] == 'mmap'
	       and $PYTOP(s) == ('py_workers.py', $SMALL_LINE, 'keep_small')]"
	all="[s for s in last['sites'] if s['frames'] and s['frames'][0]['symbol'] == 'mmap'
	      and ($PYTOP(s) or ('',))[-1] == 'keep_small']"
	assert_json "$tag: keep_small's mmap sites, by line: one at py_workers.py:$SMALL_LINE" \
		"$out" "[$PYTOP(s)[1] for s in $all]" "[$SMALL_LINE]"
	# The tuples and their negative ints at the appending line: 200000 x (80 + 32) bytes
	# = 21.4 MiB, in arenas of 1 MiB (256 KiB before 3.10), less what still fitted in the
	# arenas mapped before (18.5 MiB of new arenas on 3.9). Live bytes are what is resident
	# of them: the tuples filled them, so 16 MiB or more of it too.
	assert_json "$tag: keep_small's mappings: whole arenas of $arena bytes, 16 MiB or more" \
		"$out" "(lambda b: (b % $arena, b >= 16 << 20))(sum(s['mapped_bytes'] for s in $all))" \
		"(0, True)"
	assert_json "$tag: keep_small's arenas: 16 MiB or more resident, no more than mapped" \
		"$out" "[16 << 20 <= s['live_bytes'] <= s['mapped_bytes'] for s in $all]" "[True]"
	assert_json "$tag: mmap site's frames: the system call, libc's wrapper, Python" "$out" \
		"[(f['symbol'], f['module']) for f in ${site}[0]['frames']][:2]" \
		"[('mmap', 'syscall'), ('mmap', 'libc.so.6')]"
	kill_target "a$tag"
}

setup
PY311=$(ls -d "$PYENV_VERSIONS"/3.11.*/bin/python3 2>/dev/null | tail -1)
PY39=$(ls -d "$PYENV_VERSIONS"/3.9.*/bin/python3 2>/dev/null | tail -1)
[ -x "$PY311" ] && [ -x "$PY39" ] || die "pyenv 3.9 and 3.11 are needed under $PYENV_VERSIONS"
children "$PY311" py311
children /usr/bin/python3.11 debian311
no_children "$PY311"
existing "$PY311"
arenas "$PY311" py311 $((1 << 20))
arenas /usr/bin/python3.11 debian311 $((1 << 20))
arenas "$PY39" py39 $((256 << 10))
finish
