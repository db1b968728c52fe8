#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python frames: in a CPython process a site's stack is the allocator in libc.so.6, then the
# Python frames it runs (file, line, function), innermost first. Three scripts, each on
# every pyenv CPython 3.6-3.13 and Debian's python3.11, in JSON reports: a worker keeping
# 700 B strs per message (exact lines, Class.method qualnames on 3.11+), a start-up loader
# growing one string by concatenation (attached before it starts), and two threads
# allocating different sizes from different functions (each thread's allocations under its
# own function). Then the worker once in a text report.
#
# PY_VERSIONS (pyenv version prefixes) and DEBIAN_PY (empty: none) choose the interpreters;
# the loader and the threads run on those of PY_ALL_SCRIPTS and Debian's (the versions where
# the frame layout or the thread state's lookup changes: 3.7-3.9 are 3.10's but for
# offsets, which the worker checks on each), as each run costs a BPF load.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
# The interpreters: pyenv version prefixes and a system python; each one absent is logged
# and left out.
PY_VERSIONS=${PY_VERSIONS:-"3.6 3.7 3.8 3.9 3.10 3.11 3.12 3.13"}
PY_ALL_SCRIPTS=${PY_ALL_SCRIPTS:-"3.6 3.10 3.11 3.12 3.13"}
DEBIAN_PY=${DEBIAN_PY-/usr/bin/python3.11}

SESSIONS_PY=$ROOT/tests/targets/py_sessions.py
LOADER_PY=$ROOT/tests/targets/py_loader.py
THREADS_PY=$ROOT/tests/targets/py_threads.py

# The reports are read by the system's python3, not whichever one a pyenv shim picks.
PYREPORT=$ROOT/tests/integration/pyreport.py
REPORT_PY=/usr/bin/python3
[ -x "$REPORT_PY" ] || REPORT_PY=python3

# Each tool run reports every second until the sites a check needs are there (the targets
# allocate at a pace a loaded machine slows down), then stops; the final report is checked.
PY_ARGS=(-i 1 -s live -T 20 --format json --max-overhead 0)

declare -A SITE   # the site pick chose, by pyreport.py's keys
PICK_OUT=         # the report file and pid of the last pick, for failure messages
PICK_PID=

# marker VAR FILE TEXT: sets VAR to the number of the line of FILE that ends in
# "# site: TEXT".
marker()
{
	local n
	n=$(grep -n -- "# site: $3\$" "$2" | cut -d: -f1)
	[[ "$n" =~ ^[0-9]+$ ]] || die "$(basename "$2"): no single line ends in '# site: $3'"
	printf -v "$1" '%s' "$n"
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

# The top sites of the last pick's report, for failure messages.
show_sites()
{
	printf '    the report'"'"'s top sites of pid %s, by live bytes:\n' "$PICK_PID"
	"$REPORT_PY" "$PYREPORT" "$PICK_OUT" "$PICK_PID" --dump 8 2>&1 |
		cut -c1-400 | sed 's/^/      /'
}

# found WHAT: passes if pick found a site; else fails, showing the report's top sites.
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
	fail "$1: expected none, found ${SITE[count]:-?} (${SITE[found]}); the top one:"
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

# until_sites NAME PID SPEC...: waits up to SCENARIO_TIMEOUT for a report of tool run NAME
# in which each SPEC (pyreport.py options, split at spaces) matches a site of PID.
until_sites()
{
	local name=$1 pid=$2 spec ok deadline
	shift 2
	deadline=$(deadline_ms "$SCENARIO_TIMEOUT")
	while :; do
		ok=1
		for spec in "$@"; do
			# shellcheck disable=SC2086
			"$REPORT_PY" "$PYREPORT" "${S_OUT[$name]}" "$pid" $spec 2>/dev/null |
				grep -qx found=1 || { ok=; break; }
		done
		[ -n "$ok" ] && return 0
		[ "$(date +%s%3N)" -ge "$deadline" ] && return 1
		sleep 0.3
	done
}

# trace NAME PID WHAT TARGET SCENARIO [SPEC...]: one allocscope run over PID. Once it traces
# PID: with TARGET, runs its SCENARIO; with SPECs, waits for them (until_sites). Then stops
# it. Returns 1 (having failed the test) if allocscope did not exit with status 0.
trace()
{
	local name=$1 pid=$2 what=$3 target=$4 scen=$5
	shift 5
	start_tool "$name" -p "$pid" "${PY_ARGS[@]}"
	wait_tracing "$name" "$pid"
	[ -n "$target" ] && run_scenario "$target" "$scen"
	[ $# -gt 0 ] && ! until_sites "$name" "$pid" "$@" &&
		log "$what: no report with sites matching '$*' in ${SCENARIO_TIMEOUT}s"
	stop_tool "$name" INT 5 "$what" || return 1
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
	local label="$1 sessions" py=$2 v=$3 t=$4-sessions pid cls='' want
	# co_qualname from 3.11 on, co_name before.
	[ "${v#3.}" -ge 11 ] && cls=Consumer.
	start_target "$t" "$py" "$SESSIONS_PY"
	pid=${T_PID[$t]}
	trace "$t-tool" "$pid" "$label" "" "" "--python --min-objects 500"
	kill_target "$t"
	says_python "$label" "$t-tool" "$pid" "$v"
	pick "${S_OUT[$t-tool]}" "$pid" --python
	found "$label: top Python site" || return
	expect "$label: top Python site: allocator" alloc "malloc (libc.so.6)"
	expect "$label: top Python site: frame after the allocator" next python
	expect "$label: top Python site: first Python frame" py0 \
		"py_sessions.py:$L_APPEND ${cls}on_message"
	expect "$label: top Python site: its file" py0_file "$SESSIONS_PY"
	expect "$label: top Python site: second Python frame" py1 \
		"py_sessions.py:$L_CONSUME ${cls}consume"
	want="py_sessions.py:$L_APPEND ${cls}on_message | py_sessions.py:$L_CONSUME ${cls}consume"
	expect "$label: top Python site: Python frames" pystack "$want | py_sessions.py:$L_LOOP <module>"
	expect_range "$label: top Python site: live objects" live_objects 500
	# A 700-character str: 700 B, a NUL and the header (48 B, 40 B from 3.12).
	expect_range "$label: top Python site: live bytes per object" per_object 700 760
}

# check_text LABEL PYTHON VERSION TAG: the text report shows py_sessions.py's Python frames
# under the allocator as "file:line function" lines, innermost first.
check_text()
{
	local label="$1 sessions, text report" py=$2 v=$3 t=$4-text pid cls='' want got
	[ "${v#3.}" -ge 11 ] && cls=Consumer.
	start_target "$t" "$py" "$SESSIONS_PY"
	pid=${T_PID[$t]}
	start_tool "$t-tool" -p "$pid" -i 1 -s live -T 5
	wait_tracing "$t-tool" "$pid"
	wait_for_line "${S_OUT[$t-tool]}" "py_sessions\\.py:$L_APPEND ${cls}on_message\$" \
		"$SCENARIO_TIMEOUT"
	stop_tool "$t-tool" INT 5 "$label"
	kill_target "$t"
	assert_eq "$label: allocscope exit status" 0 "$TOOL_RC"
	want="malloc+0x0 (libc.so.6) | py_sessions.py:$L_APPEND ${cls}on_message"
	want="$want | py_sessions.py:$L_CONSUME ${cls}consume | py_sessions.py:$L_LOOP <module>"
	got=$(sed 's/^ *//' "${S_OUT[$t-tool]}" |
		grep -x -B1 -A2 -F "py_sessions.py:$L_APPEND ${cls}on_message" | head -4 |
		paste -sd'|' | sed 's/|/ | /g')
	if [ "$got" = "$want" ]; then
		pass "$label: frame lines = $got"
	else
		fail "$label: expected the frame lines '$want', got '$got'"
		show "${S_OUT[$t-tool]}" 30
	fi
}

# check_loader LABEL PYTHON VERSION TAG: py_loader.py's string, grown by concatenation at
# start-up (after allocscope attached), is the top site by live bytes, in load_all.
check_loader()
{
	local label="$1 loader" py=$2 v=$3 t=$4-loader pid size
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
		"py_loader.py:$L_CONCAT load_all | py_loader.py:$L_CALL <module>"
	expect "$label: top site: its file" py0_file "$LOADER_PY"
	if [ -z "$size" ]; then
		fail "$label: the target printed no 'loaded <length>' line"
		show "${T_OUT[$t]}"
		return
	fi
	expect_range "$label: top site: live bytes (the string has $size characters)" live_bytes \
		"$size"
}

# check_threads LABEL PYTHON VERSION TAG: py_threads.py's 1000-character strs are under
# alpha_worker, its 2000-character ones under beta_worker, never the other way round.
check_threads()
{
	local label="$1 threads" py=$2 v=$3 t=$4-threads pid out
	start_target "$t" "$py" "$THREADS_PY"
	pid=${T_PID[$t]}
	trace "$t-tool" "$pid" "$label" "" "" "--first alpha_worker --min-objects 100" \
		"--first beta_worker --min-objects 100"
	stop_target "$t"
	assert_eq "$label: target exit status" 0 $?
	says_python "$label" "$t-tool" "$pid" "$v"
	out=${S_OUT[$t-tool]}
	# The workers allocate in Python code, each with its own thread state.
	pick "$out" "$pid"
	assert_eq "$label: allocations without a thread state (python_no_thread)" 0 \
		"${SITE[no_thread]}"
	# A str of N characters: N B, a NUL and the header (48 B, 40 B from 3.12).
	pick "$out" "$pid" --first alpha_worker
	if found "$label: top alpha_worker site"; then
		expect "$label: top alpha_worker site: allocator" alloc "malloc (libc.so.6)"
		expect "$label: top alpha_worker site: first Python frame" py0 \
			"py_threads.py:$L_ALPHA alpha_worker"
		# The bottom of the worker thread's stack, not the main thread's <module>.
		expect_match "$label: top alpha_worker site: last Python frame" py_last \
			'^threading\.py:[0-9]+ (Thread\.)?_bootstrap$'
		expect_range "$label: top alpha_worker site: live objects" live_objects 100
		expect_range "$label: top alpha_worker site: live bytes per object" per_object 1000 1100
	fi
	pick "$out" "$pid" --first beta_worker
	if found "$label: top beta_worker site"; then
		expect "$label: top beta_worker site: allocator" alloc "malloc (libc.so.6)"
		expect "$label: top beta_worker site: first Python frame" py0 \
			"py_threads.py:$L_BETA beta_worker"
		# The bottom of the worker thread's stack, not the main thread's <module>.
		expect_match "$label: top beta_worker site: last Python frame" py_last \
			'^threading\.py:[0-9]+ (Thread\.)?_bootstrap$'
		expect_range "$label: top beta_worker site: live objects" live_objects 100
		expect_range "$label: top beta_worker site: live bytes per object" per_object 2000 2100
	fi
	# Many objects of the other thread's size under a function: the wrong thread's frames.
	pick "$out" "$pid" --through alpha_worker --min-objects 10 --per-object 1900 2200
	none "$label: sites through alpha_worker with 10+ objects of ~2000 B"
	pick "$out" "$pid" --through beta_worker --min-objects 10 --per-object 900 1200
	none "$label: sites through beta_worker with 10+ objects of ~1000 B"
}

# py_version PYTHON: sets V (3.11) and LABEL ("python 3.11.7", with the path outside pyenv).
py_version()
{
	local full
	full=$("$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') ||
		{ fail "$1 does not run"; return 1; }
	V=${full%.*}
	LABEL="python $full"
	[[ "$1" == "$PYENV_VERSIONS"/* ]] || LABEL="$LABEL ($1)"
}

# check_python PYTHON TAG: the three scripts on one interpreter (the worker only, on a
# version not in PY_ALL_SCRIPTS).
check_python()
{
	py_version "$1" || return
	check_sessions "$LABEL" "$1" "$V" "$2"
	if [[ "$1" == "$PYENV_VERSIONS"/* && " $PY_ALL_SCRIPTS " != *" $V "* ]]; then
		log "$LABEL: the loader and the threads run on $PY_ALL_SCRIPTS and Debian's only"
		return
	fi
	check_loader "$LABEL" "$1" "$V" "$2"
	check_threads "$LABEL" "$1" "$V" "$2"
}

setup
# The lines the sites must name.
marker L_APPEND "$SESSIONS_PY" "on_message append"
marker L_CONSUME "$SESSIONS_PY" "consume call"
marker L_LOOP "$SESSIONS_PY" "main loop"
marker L_CONCAT "$LOADER_PY" "concat"
marker L_CALL "$LOADER_PY" "load call"
marker L_ALPHA "$THREADS_PY" "alpha append"
marker L_BETA "$THREADS_PY" "beta append"
pys=()
for v in $PY_VERSIONS; do
	have=
	for d in "$PYENV_VERSIONS/$v".*; do
		[ -x "$d/bin/python3" ] && pys+=("$d/bin/python3") && have=1 && break
	done
	[ -n "$have" ] || log "no pyenv python $v under $PYENV_VERSIONS: not tested"
done
if [ -x "$DEBIAN_PY" ]; then
	pys+=("$DEBIAN_PY")
elif [ -n "$DEBIAN_PY" ]; then
	log "no $DEBIAN_PY: not tested"
fi
[ ${#pys[@]} -gt 0 ] || skip "no python $PY_VERSIONS under $PYENV_VERSIONS, and no $DEBIAN_PY"
n=0
for py in "${pys[@]}"; do
	n=$((n + 1))
	check_python "$py" "p$n"
done
# Text reports show the same frames: once, on the last interpreter.
py_version "${pys[-1]}" && check_text "$LABEL" "${pys[-1]}" "$V" text
finish
