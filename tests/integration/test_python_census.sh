#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The Python heap census, one allocscope run over CPython 3.6, 3.11 and 3.13 (pyenv) and
# Debian's stripped python3.11: each target builds, after the first census, a dict of
# 2,000,000 int keys to 2,000,000 distinct ints and 100,000 short strs
# (tests/targets/py_census.py). Each process's "python_types" then show int grown by
# 4,000,000 objects and str by 100,000 since the first census (within 10 %), and dict bytes holding the dict's table, a malloc'd block the heap
# probes know; no pool unreadable, no census truncated. Each target's untouched 8 GiB
# reservation is not read: its page tables stay small (VmPTE).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
CENSUS_PY=$ROOT/tests/targets/py_census.py

# newest PREFIX: the newest pyenv interpreter of that minor version, if installed.
newest()
{
	local d
	d=$(printf '%s\n' "$PYENV_VERSIONS/$1".* | grep -E "/$1\.[0-9]+$" | sort -V | tail -1)
	[ -n "$d" ] && [ -x "$d/bin/python3" ] && echo "$d/bin/python3"
}

setup
declare -A PY=()
for v in 3.6 3.11 3.13; do
	p=$(newest "$v") && PY[pyenv$v]=$p
done
[ -x /usr/bin/python3.11 ] && PY[debian3.11]=/usr/bin/python3.11
for tag in pyenv3.6 pyenv3.11 pyenv3.13 debian3.11; do
	[ -n "${PY[$tag]:-}" ] || skip "$tag: no such interpreter installed"
done

pids=()
for tag in "${!PY[@]}"; do
	start_target "$tag" "${PY[$tag]}" "$CENSUS_PY"
	pids+=("${T_PID[$tag]}")
done
list=$(IFS=,; echo "${pids[*]}")
# A budget no loaded machine runs out of: truncation is not what this test is about.
start_tool c -p "$list" --census-budget 30000 "${JSON_ARGS[@]}"
for pid in "${pids[@]}"; do
	wait_tracing c "$pid"
done

# census_of PID EXPR: EXPR over each report's census rows of PID, by type ('rows').
census_py="lambda pid, f: [f({t['type']: t for t in r.get('python_types', []) if t['pid'] == pid},
                             [h for h in r.get('python_heaps', []) if h['pid'] == pid])
                           for r in reports]"
# Every target censused once before it builds: that census is the start.
deadline=$(deadline_ms 60)
for pid in "${pids[@]}"; do
	until [ "$(json_eval "${S_OUT[c]}" "any(($census_py)($pid, lambda t, h: bool(h and h[0]['pools'] and 'int' in t)))" 2>/dev/null)" = true ]; do
		[ "$(date +%s%3N)" -lt "$deadline" ] || { show "${S_ERR[c]}"; die "no census of pid $pid in 60 s"; }
		sleep 0.2
	done
done
for tag in "${!PY[@]}"; do
	run_scenario "$tag" census 120
done
# Then a census after every build.
deadline=$(deadline_ms 60)
for pid in "${pids[@]}"; do
	until [ "$(json_eval "${S_OUT[c]}" "(($census_py)($pid, lambda t, h: t.get('int', {}).get('start_growth_objects', 0)))[-1] > 3000000" 2>/dev/null)" = true ]; do
		[ "$(date +%s%3N)" -lt "$deadline" ] || break
		sleep 0.2
	done
done
stop_tool c INT 10
assert_eq "allocscope exit status" 0 "$TOOL_RC"

out=${S_OUT[c]}
for tag in "${!PY[@]}"; do
	pid=${T_PID[$tag]}
	table=$(sed -n 's/^table \([0-9]*\)$/\1/p' "${T_OUT[$tag]}")
	last="(($census_py)($pid, lambda t, h: (t, h)))[-1]"
	assert_json "$tag: census complete, nothing unreadable" "$out" \
		"[(h['truncated'], h['unreadable_pools']) for h in ($last)[1]]" "[(False, 0)]"
	assert_json "$tag: int grew by 4,000,000 objects since the first census (10 %)" "$out" \
		"3600000 <= ($last)[0]['int']['start_growth_objects'] <= 4400000" true
	assert_json "$tag: str grew by 100,000 short strs since the first census (10 %)" "$out" \
		"100000 <= ($last)[0]['str']['start_growth_objects'] <= 110000" true
	assert_json "$tag: int objects at least 4,000,000" "$out" \
		"($last)[0]['int']['objects'] >= 4000000" true
	assert_json "$tag: int bytes are 32-byte blocks" "$out" \
		"($last)[0]['int']['bytes'] >= 32 * 4000000" true
	assert_ge "$tag: the target's dict table" 16000000 "$table"
	assert_json "$tag: dict bytes >= the table ($table)" "$out" \
		"($last)[0]['dict']['bytes'] >= $table" true
	pte=$(awk '/^VmPTE:/ { print $2 }' "/proc/$pid/status")
	assert_le "$tag: the target's page tables (VmPTE kB) after the censuses" 4096 "$pte"
	stop_target "$tag"
done
finish
