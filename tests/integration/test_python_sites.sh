#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python frames: in a CPython process a site's stack is the allocator in libc.so.6, then the
# Python frames it runs (file, line, function), innermost first. Three scripts, each on
# every pyenv CPython 3.6-3.13 and Debian's python3.11: a worker keeping 700 B strs per
# message (exact lines, Class.method qualnames on 3.11+), a start-up loader growing one
# string by concatenation (attached before it starts), and two threads allocating different
# sizes from different functions (each thread's allocations under its own function).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
# The interpreters, as pyenv version prefixes; each one absent is logged and left out.
PY_VERSIONS=${PY_VERSIONS:-"3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13"}
DEBIAN_PY=${DEBIAN_PY-/usr/bin/python3.11}

SESSIONS_PY=$ROOT/tests/targets/py_sessions.py
LOADER_PY=$ROOT/tests/targets/py_loader.py
THREADS_PY=$ROOT/tests/targets/py_threads.py

# The reports are read by the system's python3, not whichever one a pyenv shim picks.
PYREPORT=$ROOT/tests/integration/pyreport.py
REPORT_PY=/usr/bin/python3
[ -x "$REPORT_PY" ] || REPORT_PY=python3

# Seconds each tool run traces; one final report, sites ranked by live bytes.
RUN_SECS=${RUN_SECS:-2}
PY_ARGS=(-d "$RUN_SECS" -s live -T 20 --format json)

declare -A SITE   # the site pick chose, by pyreport.py's keys
PICK_OUT=         # the report file and pid of the last pick, for failure messages
PICK_PID=

# marker_line FILE TEXT: the number of the line of FILE that ends in "# site: TEXT".
marker_line()
{
	local n
	n=$(grep -n -- "# site: $2\$" "$1" | cut -d: -f1)
	[[ "$n" =~ ^[0-9]+$ ]] || die "$(basename "$1"): no single line ends in '# site: $2'"
	printf '%s\n' "$n"
}

# pick FILE PID [pyreport.py options]: fills SITE with the top matching site.
pick()
{
	local out rc k v
	PICK_OUT=$1
	PICK_PID=$2
	SITE=()
	out=$("$REPORT_PY" "$PYREPORT" "$@" 2>&1)
	rc=$?
	while IFS='=' read -r k v; do
		[ -n "$k" ] && SITE[$k]=$v
	done <<<"$out"
	[ "$rc" -eq 0 ] || SITE[found]="pyreport.py failed ($rc): $out"
}

# The Python sites of the last pick's report, for failure messages.
show_sites()
{
	printf '    the report'"'"'s top Python sites of pid %s:\n' "$PICK_PID"
	"$REPORT_PY" "$PYREPORT" "$PICK_OUT" "$PICK_PID" --python --dump 8 2>&1 |
		cut -c1-400 | sed 's/^/      /'
}

# found WHAT: passes if pick found a site; else fails, showing the report's Python sites.
found()
{
	if [ "${SITE[found]}" = 1 ]; then
		return 0
	fi
	fail "$1: no such site (${SITE[found]:-no output})"
	show_sites
	return 1
}

# none WHAT: passes if pick found no site; else fails, showing the one it found.
none()
{
	if [ "${SITE[found]}" = 0 ]; then
		pass "$1: none"
		return
	fi
	fail "$1: expected none, found ${SITE[count]:-?}, the top one: ${SITE[found]}"
	printf '    site: %s\n' "${SITE[stack]}"
}

# expect WHAT KEY EXPECTED: SITE[KEY] is EXPECTED; else fails, showing the site.
expect()
{
	if [ "${SITE[$2]}" = "$3" ]; then
		pass "$1 = $3"
		return
	fi
	fail "$1: expected '$3', got '${SITE[$2]}'"
	printf '    site: %s\n' "${SITE[stack]}"
}

# expect_match WHAT KEY ERE
expect_match()
{
	if [[ "${SITE[$2]}" =~ $3 ]]; then
		pass "$1 = ${SITE[$2]}"
		return
	fi
	fail "$1: expected /$3/, got '${SITE[$2]}'"
	printf '    site: %s\n' "${SITE[stack]}"
}

# expect_range WHAT KEY MIN [MAX]: SITE[KEY] is an integer in [MIN, MAX].
expect_range()
{
	local v=${SITE[$2]} what=">= $3"
	[ -n "${4:-}" ] && what="in [$3, $4]"
	if [[ "$v" =~ ^-?[0-9]+$ ]] && [ "$v" -ge "$3" ] && { [ -z "${4:-}" ] || [ "$v" -le "$4" ]; }
	then
		pass "$1 = $v ($what)"
		return
	fi
	fail "$1: expected $what, got '$v'"
	printf '    site: %s\n' "${SITE[stack]}"
}

# trace NAME PID WHAT [TARGET SCENARIO]: one allocscope run of RUN_SECS over PID, waiting for
# "tracing pid" and, with TARGET, running its SCENARIO once attached. Returns 1 (having
# failed the test) if allocscope did not exit by itself with status 0.
trace()
{
	local name=$1 pid=$2 what=$3
	start_tool "$name" -p "$pid" "${PY_ARGS[@]}"
	wait_tracing "$name" "$pid"
	[ -n "${4:-}" ] && run_scenario "$4" "$5"
	if ! wait_tool "$name" $((RUN_SECS + 20)); then
		stop_tool "$name" INT 5 "$what"
		fail "$what: allocscope -d $RUN_SECS still running $((RUN_SECS + 20)) s after start"
		return 1
	fi
	if [ "$TOOL_RC" != 0 ]; then
		fail "$what: allocscope exit status: expected 0, got $TOOL_RC"
		show "${S_ERR[$name]}"
		return 1
	fi
	pass "$what: allocscope exit status = 0"
}

# says_python WHAT NAME PID VERSION: the tool's stderr announces Python frames for PID.
says_python()
{
	assert_grep "$1: stderr: pid $3 runs CPython $4 (...): Python frames on" "${S_ERR[$2]}" \
		"^allocscope: pid $3 runs CPython ${4//./\\.} \(.+\): Python frames on\$"
}

# check_sessions LABEL PYTHON VERSION TAG: py_sessions.py's top Python site, by live bytes,
# is the 700 B strs kept in Consumer.on_message, called from Consumer.consume.
check_sessions()
{
	local label="$1 sessions" py=$2 v=$3 t=$4-sessions pid cls=
	local l_append l_consume l_loop
	l_append=$(marker_line "$SESSIONS_PY" "on_message append")
	l_consume=$(marker_line "$SESSIONS_PY" "consume call")
	l_loop=$(marker_line "$SESSIONS_PY" "main loop")
	# co_qualname from 3.11 on, co_name before.
	[ "${v#3.}" -ge 11 ] && cls=Consumer.
	start_target "$t" "$py" "$SESSIONS_PY"
	pid=${T_PID[$t]}
	trace "$t-tool" "$pid" "$label"
	kill_target "$t"
	says_python "$label" "$t-tool" "$pid" "$v"
	pick "${S_OUT[$t-tool]}" "$pid" --python
	found "$label: top Python site" || return
	expect "$label: top Python site: allocator" alloc "malloc (libc.so.6)"
	expect "$label: top Python site: frame after the allocator" next python
	expect "$label: top Python site: first Python frame" py0 \
		"py_sessions.py:$l_append ${cls}on_message"
	expect "$label: top Python site: its file" py0_file "$SESSIONS_PY"
	expect "$label: top Python site: second Python frame" py1 \
		"py_sessions.py:$l_consume ${cls}consume"
	expect "$label: top Python site: Python frames" pystack \
		"py_sessions.py:$l_append ${cls}on_message | py_sessions.py:$l_consume ${cls}consume | py_sessions.py:$l_loop <module>"
	expect_range "$label: top Python site: live objects" live_objects 500
	# A 700-character str: 700 B, a NUL and the header (48 B, 40 B from 3.12).
	expect_range "$label: top Python site: live bytes per object" per_object 700 760
}

# check_loader LABEL PYTHON VERSION TAG: py_loader.py's string, grown by concatenation at
# start-up (after allocscope attached), is the top site by live bytes, in load_all.
check_loader()
{
	local label="$1 loader" py=$2 v=$3 t=$4-loader pid size l_concat l_call
	l_concat=$(marker_line "$LOADER_PY" "concat")
	l_call=$(marker_line "$LOADER_PY" "load call")
	start_target "$t" "$py" "$LOADER_PY"
	pid=${T_PID[$t]}
	trace "$t-tool" "$pid" "$label" "$t" load
	size=$(sed -n 's/^loaded \([0-9]*\)$/\1/p' "${T_OUT[$t]}")
	stop_target "$t"
	assert_eq "$label: target exit status" 0 $?
	says_python "$label" "$t-tool" "$pid" "$v"
	pick "${S_OUT[$t-tool]}" "$pid"
	found "$label: top site" || return
	expect_match "$label: top site: allocator" alloc '^(malloc|realloc) \(libc\.so\.6\)$'
	expect "$label: top site: frame after the allocator" next python
	expect "$label: top site: Python frames" pystack \
		"py_loader.py:$l_concat load_all | py_loader.py:$l_call <module>"
	expect "$label: top site: its file" py0_file "$LOADER_PY"
	expect_range "$label: top site: live bytes (the string has $size characters)" live_bytes \
		"${size:-1}"
}

# check_threads LABEL PYTHON VERSION TAG: py_threads.py's 1000-character strs are under
# alpha_worker, its 2000-character ones under beta_worker, never the other way round.
check_threads()
{
	local label="$1 threads" py=$2 v=$3 t=$4-threads pid out l_alpha l_beta
	l_alpha=$(marker_line "$THREADS_PY" "alpha append")
	l_beta=$(marker_line "$THREADS_PY" "beta append")
	start_target "$t" "$py" "$THREADS_PY"
	pid=${T_PID[$t]}
	trace "$t-tool" "$pid" "$label"
	stop_target "$t"
	assert_eq "$label: target exit status" 0 $?
	says_python "$label" "$t-tool" "$pid" "$v"
	out=${S_OUT[$t-tool]}
	pick "$out" "$pid"; log "$label: python_no_thread ${SITE[no_thread]}"
	# A str of N characters: N B, a NUL and the header (48 B, 40 B from 3.12).
	pick "$out" "$pid" --first alpha_worker
	if found "$label: top alpha_worker site"; then
		expect "$label: top alpha_worker site: allocator" alloc "malloc (libc.so.6)"
		expect "$label: top alpha_worker site: first Python frame" py0 \
			"py_threads.py:$l_alpha alpha_worker"
		expect_range "$label: top alpha_worker site: live objects" live_objects 100
		expect_range "$label: top alpha_worker site: live bytes per object" per_object 1000 1100
	fi
	pick "$out" "$pid" --first beta_worker
	if found "$label: top beta_worker site"; then
		expect "$label: top beta_worker site: allocator" alloc "malloc (libc.so.6)"
		expect "$label: top beta_worker site: first Python frame" py0 \
			"py_threads.py:$l_beta beta_worker"
		expect_range "$label: top beta_worker site: live objects" live_objects 100
		expect_range "$label: top beta_worker site: live bytes per object" per_object 2000 2100
	fi
	# Many objects of the other thread's size under a function: the wrong thread's frames.
	pick "$out" "$pid" --through alpha_worker --min-objects 10 --per-object 1900 2200
	none "$label: sites through alpha_worker with 10+ objects of ~2000 B"
	pick "$out" "$pid" --through beta_worker --min-objects 10 --per-object 900 1200
	none "$label: sites through beta_worker with 10+ objects of ~1000 B"
}

# check_python PYTHON TAG: the three scripts on one interpreter.
check_python()
{
	local py=$1 tag=$2 v full label
	v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ||
		{ fail "$py does not run"; return; }
	full=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
	label="python $full"
	[[ "$py" == "$PYENV_VERSIONS"/* ]] || label="$label ($py)"
	check_sessions "$label" "$py" "$v" "$tag"
	check_loader "$label" "$py" "$v" "$tag"
	check_threads "$label" "$py" "$v" "$tag"
}

setup
pys=()
for v in $PY_VERSIONS; do
	found=
	for d in "$PYENV_VERSIONS/$v".*; do
		[ -x "$d/bin/python3" ] && pys+=("$d/bin/python3") && found=1 && break
	done
	[ -n "$found" ] || log "no pyenv python $v under $PYENV_VERSIONS: not tested"
done
if [ -x "$DEBIAN_PY" ]; then
	pys+=("$DEBIAN_PY")
else
	log "no $DEBIAN_PY: not tested"
fi
[ ${#pys[@]} -gt 0 ] || skip "no python $PY_VERSIONS under $PYENV_VERSIONS, and no $DEBIAN_PY"
n=0
for py in "${pys[@]}"; do
	n=$((n + 1))
	check_python "$py" "p$n"
done
finish
