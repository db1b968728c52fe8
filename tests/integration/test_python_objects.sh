#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --python-objects: CPython's small objects (pymalloc's, never malloc's) are charged to the
# Python line that made them. tests/targets/py_objects.py keeps 2-tuples of fresh ints on
# one line beside a json.loads churn on another; traced with --python-objects, at least
# SHARE_MIN % of what the Python rows of each pyenv interpreter grew by since tracing began
# (live bytes, where positive: objects, list resizes and, for what was not probed, arenas) is
# at rows whose innermost Python frame is the keeping line, and that line holds at least the
# ints it kept. Debian's python3.11, whose build inlines pymalloc into its hot callers, is
# probed at those inlined copies, and held to the same share; a 3.11 under tracemalloc is
# refused with the reason, and still traced. Then the same workload without the option: it
# runs and reports its Python rows as before. One allocscope run per mode, for every
# interpreter at once, and one where the governor (--max-overhead) takes the object probes
# away with the others.
#
# PY_VERSIONS (pyenv version prefixes) and DEBIAN_PY (empty: none) choose the interpreters.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
PY_VERSIONS=${PY_VERSIONS:-"3.6 3.11 3.13"}
DEBIAN_PY=${DEBIAN_PY-/usr/bin/python3.11}
OBJECTS_PY=$ROOT/tests/targets/py_objects.py
PYREPORT=$ROOT/tests/integration/pyreport.py
SHARE_MIN=70
KEEP_LINE=$(grep -n '# site: keep$' "$OBJECTS_PY" | cut -d: -f1)
CHURN_LINE=$(grep -n '# site: churn$' "$OBJECTS_PY" | cut -d: -f1)
# -s live: the rows that hold the most since tracing began come first; -T: every row.
ARGS=(-i 1 -s live -T 500 --format json --max-overhead 0 --group-by process)

declare -A SHARE # pyreport.py --share's keys, of the last share call

# share FILE PID: fills SHARE with the keeping line's part of PID's Python rows.
share()
{
	local k v
	SHARE=()
	while IFS='=' read -r k v; do
		[ -n "$k" ] && SHARE[$k]=$v
	done < <(python3 "$PYREPORT" "$1" "$2" --python --share "py_objects.py:$KEEP_LINE" 2>&1)
}

# The interpreters found: tag -> binary.
declare -A PYS
TAGS=()
for v in $PY_VERSIONS; do
	py=$(printf '%s\n' "$PYENV_VERSIONS/$v".* 2>/dev/null | grep -E "/$v\.[0-9]+$" |
		sort -V | tail -n 1)/bin/python3
	if [ ! -x "$py" ]; then
		log "no pyenv CPython $v: left out"
		continue
	fi
	PYS[$v]=$py
	TAGS+=("$v")
done
if [ -n "$DEBIAN_PY" ] && [ -x "$DEBIAN_PY" ]; then
	# Two: the second process's probes come from the first one's scan of the file.
	PYS[debian]=$DEBIAN_PY
	PYS[debian2]=$DEBIAN_PY
	TAGS+=(debian debian2)
fi

setup
[ ${#TAGS[@]} -gt 0 ] || skip "no CPython to run"
[ -n "$KEEP_LINE" ] && [ -n "$CHURN_LINE" ] || die "py_objects.py lost its site markers"

# go_all: one "go" to every target at once, then waits for each one's "done objects".
go_all()
{
	local t deadline
	declare -A want
	for t in "${TAGS[@]}"; do
		want[$t]=$(($(grep -c '^done objects$' "${T_OUT[$t]}") + 1))
		send_line "$t" go
	done
	deadline=$(deadline_ms "$SCENARIO_TIMEOUT")
	for t in "${TAGS[@]}"; do
		while [ "$(grep -c '^done objects$' "${T_OUT[$t]}")" -lt "${want[$t]}" ]; do
			[ "$(date +%s%3N)" -lt "$deadline" ] && { sleep 0.05; continue; }
			show "${T_ERR[$t]}"
			die "target $t: no 'done objects' in ${SCENARIO_TIMEOUT}s"
		done
	done
}

pids=
for t in "${TAGS[@]}"; do
	start_target "$t" "${PYS[$t]}" "$OBJECTS_PY"
	pids=${pids:+$pids,}${T_PID[$t]}
done
KEPT=$(sed -n 's/^kept \([0-9]*\)$/\1/p' "${T_OUT[${TAGS[0]}]}")
# A process whose object allocator tracemalloc wraps (its hook keeps pymalloc's table as
# its context): refused, with the reason.
hooked=
[ -n "${PYS[3.11]:-}" ] && start_target hooked env PYTHONTRACEMALLOC=1 "${PYS[3.11]}" \
	"$OBJECTS_PY" && hooked=${T_PID[hooked]}

# With --python-objects.
start_tool obj -p "$pids${hooked:+,$hooked}" --python-objects "${ARGS[@]}"
for t in "${TAGS[@]}"; do
	wait_tracing obj "${T_PID[$t]}"
done
[ -n "$hooked" ] && wait_tracing obj "$hooked"
go_all
stop_tool obj INT 5 "--python-objects"
assert_eq "--python-objects: allocscope exit status" 0 "$TOOL_RC"
if [ -n "$hooked" ]; then
	assert_grep "3.11 under tracemalloc: refused, with the reason" "${S_ERR[obj]}" \
		"^allocscope: pid $hooked: --python-objects: its object allocator is wrapped by a hook \(a debug build, PYTHONMALLOC=debug or tracemalloc\): not probed"
	kill_target hooked
fi

for t in "${TAGS[@]}"; do
	pid=${T_PID[$t]}
	if [ "${t#debian}" != "$t" ]; then
		assert_grep "$t: the inlined copies of its object allocator are found" \
			"${S_ERR[obj]}" "^allocscope: pid $pid: --python-objects: python3\.11 inlines its object allocator into its callers \([0-9]+ places\): probed at [0-9]+ copies taking blocks and [0-9]+ giving them back\$"
		assert_grep "$t: they are probed" "${S_ERR[obj]}" \
			"^allocscope: tracing pid $pid \(python3\.11\): [0-9]+ probes in libc\.so\.6, python3\.11 \(objects, inlined\)\$"
	else
		assert_grep "$t: its object allocator is probed" "${S_ERR[obj]}" \
			"^allocscope: tracing pid $pid \(.*\): [0-9]+ probes in .*libpython3\.[0-9]+m?\.so\.1\.0 \(objects\)\$"
	fi
	share "${S_OUT[obj]}" "$pid"
	log "$t: keeping line py_objects.py:$KEEP_LINE holds ${SHARE[share_bytes]} of ${SHARE[share_total]} bytes of the Python rows (${SHARE[share_pct]} %), ${SHARE[share_objects]} objects"
	assert_ge "$t: % of the Python rows' growth at the keeping line" "$SHARE_MIN" \
		"${SHARE[share_pct]:-none}"
	# Each tuple holds two new ints: pymalloc objects no malloc probe ever sees (the
	# tuples themselves may come from the interpreter's free list).
	assert_ge "$t: objects at the keeping line" $((2 * KEPT)) "${SHARE[share_objects]:-none}"
done

# The governor: a target whose probes cost more than --max-overhead loses its object
# probes with the others; it then allocates without a trap.
gov=${TAGS[0]}
if [ -n "$gov" ]; then
	pid=${T_PID[$gov]}
	start_tool gov -p "$pid" --python-objects -i 1 --format json --max-overhead 1
	wait_tracing gov "$pid"
	run_scenario "$gov" objects
	if wait_for_line "${S_ERR[gov]}" "pid $pid: probes cost .* heap probes removed" \
		"$SCENARIO_TIMEOUT"; then
		pass "$gov, --max-overhead 1: its heap probes are taken away"
		run_scenario "$gov" objects
	else
		fail "$gov, --max-overhead 1: no 'heap probes removed' for pid $pid"
		show "${S_ERR[gov]}"
	fi
	stop_tool gov INT 5 "--max-overhead 1"
	assert_eq "$gov, --max-overhead 1: allocscope exit status" 0 "$TOOL_RC"
	assert_json "$gov, --max-overhead 1: traps per second of the demoted target, last report" \
		"${S_OUT[gov]}" "[p['traps_per_s'] for p in last['cost']['processes'] if p['pid'] == $pid]" \
		"[0.0]"
fi

# Without it: the same workload, its Python rows as before (list resizes, arenas).
start_tool plain -p "$pids" "${ARGS[@]}"
for t in "${TAGS[@]}"; do
	wait_tracing plain "${T_PID[$t]}"
done
go_all
stop_tool plain INT 5 "without --python-objects"
assert_eq "without --python-objects: allocscope exit status" 0 "$TOOL_RC"
for t in "${TAGS[@]}"; do
	pid=${T_PID[$t]}
	share "${S_OUT[plain]}" "$pid"
	log "$t, without --python-objects: the keeping line holds ${SHARE[share_bytes]} of ${SHARE[share_total]} bytes of the Python rows (${SHARE[share_pct]} %)"
	assert_ge "$t, without --python-objects: bytes of its Python rows" 1 \
		"${SHARE[share_total]:-none}"
	if grep -q "tracing pid $pid\b.*(objects)" "${S_ERR[plain]}"; then
		fail "$t, without --python-objects: its object allocator was probed"
	else
		pass "$t, without --python-objects: no object allocator probes"
	fi
	stop_target "$t"
	assert_eq "$t: target exit status" 0 $?
done
finish
