# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034
# Helpers for the root integration tests: environment checks with skip codes, a temporary
# directory with cleanup, targets driven over fifos, the tool under `timeout`, JSON asserts.
#
# A test sources this file, calls `setup`, and ends with `finish`. Skips exit 77, except
# under CI=true, where a test that cannot run is a failure.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ALLOCSCOPE=${ALLOCSCOPE:-$ROOT/.output/allocscope}
TARGET_DIR=${TARGET_DIR:-$ROOT/.output/targets}
TEST_NAME=$(basename "$0" .sh)

# Seconds. Every bound below is a hang bound, not a speed target (those belong in
# scripts/bench.sh): other tests and whole-system tracers may share the machine, so each is
# several times what an idle machine needs. A target lives at most TARGET_TIMEOUT, one tool
# run at most TOOL_TIMEOUT. TIME_SCALE multiplies each of them and stop_tool's limits:
# make vmtest sets it for the guest's emulated CPUs.
TIME_SCALE=${TIME_SCALE:-1}
TARGET_TIMEOUT=${TARGET_TIMEOUT:-$((300 * TIME_SCALE))}
TOOL_TIMEOUT=${TOOL_TIMEOUT:-$((240 * TIME_SCALE))}
# How long to wait for "tracing pid" after the tool starts (BPF load, symbol tables).
ATTACH_TIMEOUT=${ATTACH_TIMEOUT:-$((30 * TIME_SCALE))}
# How long a target may take to start, to run one scenario, and to exit once told to.
START_TIMEOUT=${START_TIMEOUT:-$((20 * TIME_SCALE))}
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-$((60 * TIME_SCALE))}
EXIT_TIMEOUT=${EXIT_TIMEOUT:-$((20 * TIME_SCALE))}

# The python3 that reads reports: the system's, found once. A pyenv shim on PATH is a shell
# script that costs a second or more per call on a loaded machine, and tests call it often.
PYTHON3=${PYTHON3:-$(PATH=/usr/bin:/bin:$PATH command -v python3)}
python3()
{
	"$PYTHON3" "$@"
}

# The JSON report options every test uses (-T 100: the targets have fewer sites). Exact
# counts need every call traced: --max-overhead 0 keeps the governor from taking a churning
# target's heap probes away (test_governor.sh tests the governor).
JSON_ARGS=(-i 1 -T 100 --format json --max-overhead 0)

NPASS=0
NFAIL=0
TMP=
declare -A T_PID T_WRAP T_FD T_OUT T_ERR  # targets, by the test's name for them
declare -A S_PID S_WRAP S_OUT S_ERR S_START # tool runs, by the test's name for them
TOOL_RC=
TOOL_ELAPSED=

log()
{
	printf '%s: %s\n' "$TEST_NAME" "$*"
}

pass()
{
	NPASS=$((NPASS + 1))
	printf 'PASS %s: %s\n' "$TEST_NAME" "$*"
}

fail()
{
	NFAIL=$((NFAIL + 1))
	printf 'FAIL %s: %s\n' "$TEST_NAME" "$*"
}

skip()
{
	if [ "${CI:-}" = true ]; then
		printf 'FAIL %s: cannot run under CI: %s\n' "$TEST_NAME" "$*"
		exit 1
	fi
	printf 'SKIP %s: %s\n' "$TEST_NAME" "$*"
	exit 77
}

# Fails the test at once: something it depends on did not happen.
die()
{
	fail "$*"
	exit 1
}

require_env()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF (/sys/kernel/btf/vmlinux)"
	[ -d /sys/bus/event_source/devices/uprobe ] || skip "kernel has no uprobe PMU"
	[ -x "$PYTHON3" ] || skip "python3 not found"
	command -v timeout >/dev/null || skip "timeout not found"
	[ -x "$ALLOCSCOPE" ] || die "$ALLOCSCOPE not built (run make all)"
	local t
	for t in alloc_target alloc_target_fp libtarget_dl.so; do
		[ -e "$TARGET_DIR/$t" ] || die "$TARGET_DIR/$t not built (run make all)"
	done
}

setup()
{
	require_env
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/allocscope-$TEST_NAME.XXXXXX") || die "mktemp failed"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# alive PID: PID, a background job of this shell, is still running. Unlike kill -0, this
# cannot be fooled by another process that got the number after the job was reaped.
alive()
{
	jobs -rp | grep -qx "$1"
}

# Kills everything the test started, then removes TMP. Only this shell's running jobs (the
# `timeout` wrappers) are signalled; they pass the signal on to the target or allocscope.
cleanup()
{
	local rc=$? p
	for p in $(jobs -rp); do
		kill -TERM "$p" 2>/dev/null
	done
	# allocscope detaches its probes on SIGTERM: give it a moment before SIGKILL.
	for _ in $(seq 50); do
		[ -z "$(jobs -rp)" ] && break
		sleep 0.1
	done
	# A wrapper killed outright cannot pass the signal on: kill what it runs first.
	for p in $(jobs -rp); do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${KEEP_TMP:-0}" = 1 ] || { [ "$rc" -ne 0 ] && [ "${KEEP_TMP:-}" = fail ]; }; then
			log "kept $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
	exit "$rc"
}

finish()
{
	printf '%s: %d passed, %d failed\n' "$TEST_NAME" "$NPASS" "$NFAIL"
	[ "$NFAIL" -eq 0 ] || exit 1
	exit 0
}

# deadline_ms SECONDS: the clock in milliseconds SECONDS (may be fractional) from now.
deadline_ms()
{
	awk -v t="$1" -v now="$(date +%s%3N)" 'BEGIN { printf "%.0f\n", now + t * 1000 }'
}

# wait_for_line FILE REGEX TIMEOUT_S: 0 once a line of FILE matches the ERE, 1 on timeout.
wait_for_line()
{
	local file=$1 re=$2 t=$3 deadline
	deadline=$(deadline_ms "$t")
	while :; do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		[ "$(date +%s%3N)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# Shows the end of a file on failures, indented.
show()
{
	local file=$1 n=${2:-15}
	[ -s "$file" ] || { printf '    (%s is empty)\n' "$(basename "$file")"; return; }
	printf '    --- %s (last %d lines)\n' "$(basename "$file")" "$n"
	tail -n "$n" "$file" | cut -c1-300 | sed 's/^/    /'
}

# A target's files are $TMP/NAME.target.*, a tool run's $TMP/NAME.tool.*: a target and a tool
# run may share a name without one's output overwriting the other's. A name is reused only
# once its previous holder has ended.

# start_target NAME BINARY SCENARIO...: starts the target on a fifo it reads "go" lines from.
# Sets T_PID[NAME] (the target itself), T_OUT[NAME], T_ERR[NAME].
start_target()
{
	local name=$1 bin=$2 fifo fd
	shift 2
	[ -n "${T_WRAP[$name]:-}" ] && alive "${T_WRAP[$name]}" &&
		die "start_target $name: a target of that name is still running"
	fifo=$TMP/$name.target.in
	T_OUT[$name]=$TMP/$name.target.out
	T_ERR[$name]=$TMP/$name.target.err
	rm -f "$fifo"
	mkfifo "$fifo" || die "mkfifo $fifo"
	# Read-write: neither side blocks in open(), and the target never sees EOF early.
	exec {fd}<>"$fifo"
	T_FD[$name]=$fd
	timeout -k 2 "$TARGET_TIMEOUT" "$bin" "$@" <"$fifo" >"${T_OUT[$name]}" 2>"${T_ERR[$name]}" &
	T_WRAP[$name]=$!
	wait_for_line "${T_OUT[$name]}" '^pid [0-9]+$' "$START_TIMEOUT" ||
		{ show "${T_ERR[$name]}"; die "target $name ($bin) did not start in ${START_TIMEOUT}s"; }
	T_PID[$name]=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "${T_OUT[$name]}" | head -1)
}

# send_line NAME [TEXT]: writes a line ("go" by default) to the target's stdin.
send_line()
{
	printf '%s\n' "${2:-go}" >&"${T_FD[$1]}"
}

# run_scenario NAME SCENARIO [TIMEOUT_S]: sends "go" and waits for "done SCENARIO".
run_scenario()
{
	local name=$1 scen=$2 t=${3:-$SCENARIO_TIMEOUT} out before deadline
	out=${T_OUT[$name]}
	# A scenario may run more than once: wait for one more "done" line than before.
	before=$(grep -c "^done $scen\$" "$out")
	send_line "$name" go
	deadline=$(deadline_ms "$t")
	while [ "$(grep -c "^done $scen\$" "$out")" -le "$before" ]; do
		if [ "$(date +%s%3N)" -ge "$deadline" ]; then
			show "$out"
			show "${T_ERR[$name]}"
			die "target $name: no 'done $scen' in ${t}s"
		fi
		sleep 0.05
	done
}

# stop_target NAME: sends the final line and waits for the target to exit; returns its status.
stop_target()
{
	local name=$1 rc fd deadline
	send_line "$name" quit
	deadline=$(deadline_ms "$EXIT_TIMEOUT")
	while alive "${T_WRAP[$name]}" && [ "$(date +%s%3N)" -lt "$deadline" ]; do
		sleep 0.05
	done
	if alive "${T_WRAP[$name]}"; then
		log "target $name still running ${EXIT_TIMEOUT} s after its last line: killing it"
		kill -TERM "${T_WRAP[$name]}" 2>/dev/null
	fi
	wait "${T_WRAP[$name]}"
	rc=$?
	T_PID[$name]=
	fd=${T_FD[$name]}
	exec {fd}>&-
	return $rc
}

# kill_target NAME: ends a target that is not meant to finish its scenarios.
kill_target()
{
	local fd=${T_FD[$1]}
	kill -TERM "${T_WRAP[$1]}" 2>/dev/null
	wait "${T_WRAP[$1]}" 2>/dev/null
	T_PID[$1]=
	exec {fd}>&-
}

target_alive()
{
	[ -n "${T_PID[$1]}" ] && kill -0 "${T_PID[$1]}" 2>/dev/null
}

# start_tool NAME ARGS...: runs allocscope ARGS under timeout, stdout and stderr to files.
# Sets S_PID[NAME] (allocscope itself), S_OUT[NAME], S_ERR[NAME].
start_tool()
{
	local name=$1 deadline
	shift
	[ -n "${S_WRAP[$name]:-}" ] && alive "${S_WRAP[$name]}" &&
		die "start_tool $name: a tool run of that name is still running"
	S_OUT[$name]=$TMP/$name.tool.out
	S_ERR[$name]=$TMP/$name.tool.err
	printf '%s\n' "$ALLOCSCOPE $*" >"$TMP/$name.tool.cmd"
	S_START[$name]=$(date +%s%3N)
	timeout -k 5 "$TOOL_TIMEOUT" "$ALLOCSCOPE" "$@" >"${S_OUT[$name]}" 2>"${S_ERR[$name]}" \
		</dev/null &
	S_WRAP[$name]=$!
	S_PID[$name]=
	# Signals go to allocscope itself: timeout would forward one to the whole group as well.
	deadline=$(deadline_ms "$START_TIMEOUT")
	while [ "$(date +%s%3N)" -lt "$deadline" ]; do
		S_PID[$name]=$(pgrep -P "${S_WRAP[$name]}" | head -1)
		[ -n "${S_PID[$name]}" ] && break
		alive "${S_WRAP[$name]}" || break
		sleep 0.02
	done
}

# wait_tracing NAME PID [TIMEOUT_S]: waits for "tracing pid PID" on the tool's stderr.
wait_tracing()
{
	local name=$1 pid=$2 t=${3:-$ATTACH_TIMEOUT}
	wait_for_line "${S_ERR[$name]}" "tracing pid $pid\\b" "$t" && return 0
	show "${S_ERR[$name]}"
	die "allocscope ($(cat "$TMP/$name.tool.cmd")) did not report 'tracing pid $pid' in ${t}s"
}

# wait_tool NAME TIMEOUT_S: waits for the tool to exit by itself; sets TOOL_RC and
# TOOL_ELAPSED (ms since start_tool). Returns 1 if it is still running after TIMEOUT_S.
wait_tool()
{
	local name=$1 t=$2 deadline
	deadline=$(deadline_ms "$t")
	while alive "${S_WRAP[$name]}"; do
		if [ "$(date +%s%3N)" -ge "$deadline" ]; then
			TOOL_RC=
			return 1
		fi
		sleep 0.05
	done
	TOOL_ELAPSED=$(($(date +%s%3N) - S_START[$name]))
	wait "${S_WRAP[$name]}"
	TOOL_RC=$?
	S_PID[$name]=
	return 0
}

# stop_tool NAME [SIGNAL] [LIMIT_S] [WHAT]: signals allocscope (INT by default) and waits for
# it to exit. Fails the test (messages prefixed with WHAT) if that takes more than LIMIT_S
# (default 5), but waits 15 s longer before killing it, so a slow exit is told apart from a
# hang and the output can still be checked. Sets TOOL_RC ("killed" if it had to be killed)
# and TOOL_ELAPSED (ms from the signal to the exit).
stop_tool()
{
	local name=$1 sig=${2:-INT} limit=$((${3:-5} * TIME_SCALE)) what=${4:+$4: } since
	[ -n "${S_PID[$name]}" ] && alive "${S_WRAP[$name]}" &&
		kill -"$sig" "${S_PID[$name]}" 2>/dev/null
	since=$(date +%s%3N)
	if wait_tool "$name" $((limit + 15)); then
		TOOL_ELAPSED=$(($(date +%s%3N) - since))
		[ "$TOOL_ELAPSED" -le $((limit * 1000)) ] && return 0
		fail "${what}allocscope took $TOOL_ELAPSED ms to exit after SIG$sig (limit $limit s)"
		return 1
	fi
	kill -KILL "${S_PID[$name]}" 2>/dev/null
	wait "${S_WRAP[$name]}" 2>/dev/null
	S_PID[$name]=
	TOOL_RC=killed
	fail "${what}allocscope still running $((limit + 15)) s after SIG$sig: killed"
	show "${S_ERR[$name]}"
	return 1
}

# The names of allocscope's BPF programs (bpf/*.bpf.[ch]).
ALLOCSCOPE_PROGS="alloc_enter alloc_exit alloc_session free_enter noop_probe proc_exit proc_exec
proc_fork mmap_enter map_exit munmap_enter mremap_enter brk_enter fault_user
madvise_enter oom_victim"

# bpf_progs: "id:name" of every loaded BPF program with one of allocscope's names, sorted.
bpf_progs()
{
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
names = set(sys.argv[1].split())
for p in json.load(sys.stdin):
    if p.get("name") in names:
        print("%d:%s" % (p["id"], p["name"]))
' "$ALLOCSCOPE_PROGS" | sort
}

# tool_progs NAME: "id:name" of the BPF programs tool run NAME holds, sorted: the prog_id of
# each of its descriptors. Other allocscope runs on this machine may load programs of the
# same names at any moment: only these are the run's own.
tool_progs()
{
	local ids
	ids=$(cat /proc/"${S_PID[$1]}"/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p' |
		sort -u)
	[ -n "$ids" ] || return 0
	bpf_progs | grep -E "^($(printf '%s' "$ids" | tr '\n' '|')):"
}

# progs_left PROGS: prints those of PROGS ("id:name" lines) still loaded after a wait of up
# to EXIT_TIMEOUT: a program's memory is released after an RCU grace period.
progs_left()
{
	local left deadline
	deadline=$(deadline_ms "$EXIT_TIMEOUT")
	while :; do
		left=$(comm -12 <(printf '%s\n' "$1" | sed '/^$/d') <(bpf_progs))
		[ -z "$left" ] || [ "$(date +%s%3N)" -ge "$deadline" ] && break
		sleep 0.2
	done
	printf '%s' "$left" | tr '\n' ' '
}

# json_eval FILE EXPR: evaluates a Python expression over the JSON reports in FILE.
# In scope: reports (every line parsed), last (the last one, the final report), and
#   sites(r, pid=None, sym=None)    sites of report r, by pid and frames[1].symbol
#   ssum(r, field, pid=None, sym=None)  sum of a site field over those sites
#   total(field, pid=None, sym=None)    ssum over every report (per-interval fields)
#   drop(name)                      last["drops"][name]
#   frame(s, i)                     frames[i] of site s, {} if it has none
#   every_site()                    (report index, site) over every report
#   syms(s)                         the symbols of site s's frames, innermost first
#   through(r, fn, pid=None)        sites of report r whose stack passes through function fn
#   seen(pid=None, sym=None)        sites(r, pid, sym) over every report: a report shows a
#                                   site only while it holds live bytes or was active in the
#                                   interval, so a site that frees all it takes (churn) is
#                                   only in the reports of the intervals it ran in, maybe
#                                   not in `last`
# Prints the result; exits 2 with a message if a line is not a JSON object.
json_eval()
{
	# -S: no site module, a third less start-up time, which many calls add up to.
	python3 -S - "$1" "$2" <<'EOF'
import json, sys

path, expr = sys.argv[1], sys.argv[2]
reports = []
with open(path) as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            print("line %d is not JSON: %s: %.120s" % (n, e, line.strip()))
            sys.exit(2)
        if not isinstance(obj, dict):
            print("line %d is not a JSON object" % n)
            sys.exit(2)
        reports.append(obj)
if not reports:
    print("no reports")
    sys.exit(2)
last = reports[-1]

def caller(s):
    fr = s.get("frames") or []
    return fr[1].get("symbol") if len(fr) > 1 else None

def sites(r, pid=None, sym=None):
    return [s for s in r.get("sites", [])
            if (pid is None or s.get("pid") == pid) and (sym is None or caller(s) == sym)]

def ssum(r, field, pid=None, sym=None):
    return sum(s.get(field, 0) for s in sites(r, pid, sym))

def total(field, pid=None, sym=None):
    return sum(ssum(r, field, pid, sym) for r in reports)

def drop(name):
    return last.get("drops", {}).get(name)

def frame(s, i):
    fr = s.get("frames") or []
    return fr[i] if len(fr) > i else {}

def every_site():
    return [(i, s) for i, r in enumerate(reports) for s in r.get("sites", [])]

def syms(s):
    return [f.get("symbol") for f in s.get("frames") or []]

def seen(pid=None, sym=None):
    return [s for r in reports for s in sites(r, pid, sym)]

def through(r, fn, pid=None):
    return [s for s in r.get("sites", [])
            if (pid is None or s.get("pid") == pid) and fn in syms(s)]

res = eval(expr)
if isinstance(res, bool):
    res = "true" if res else "false"
print(res)
EOF
}

# poll_json FILE EXPR TIMEOUT_S [WANT]: waits until json_eval FILE EXPR prints WANT (true by
# default); returns 1 when TIMEOUT_S pass first.
poll_json()
{
	local deadline want=${4:-true}
	deadline=$(deadline_ms "$3")
	while [ "$(date +%s%3N)" -lt "$deadline" ]; do
		[ "$(json_eval "$1" "$2" 2>/dev/null)" = "$want" ] && return 0
		sleep 0.2
	done
	return 1
}

# call_returns BINARY FUNCTION: the offsets into FUNCTION of the instructions that follow
# its calls (the return addresses an exact frames[1] can have), as a Python list.
call_returns()
{
	objdump -d --no-show-raw-insn --disassemble="$2" "$1" | python3 -c '
import re, sys
start, rets, after_call = None, [], False
for line in sys.stdin:
    m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
    if m:
        start = int(m.group(1), 16) if m.group(2) == sys.argv[1] else None
        continue
    m = re.match(r"^ +([0-9a-f]+):\s+(\S+)", line)
    if not m or start is None:
        continue
    if after_call:
        rets.append(int(m.group(1), 16) - start)
    after_call = m.group(2).startswith("call")
print(sorted(rets))
' "$2"
}

# assert_eq WHAT EXPECTED GOT
assert_eq()
{
	if [ "$2" = "$3" ]; then
		pass "$1 = $3"
	else
		fail "$1: expected $2, got $3"
	fi
}

# assert_ge WHAT MIN GOT (integers)
assert_ge()
{
	if [[ "$3" =~ ^-?[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
		pass "$1 = $3 (>= $2)"
	else
		fail "$1: expected >= $2, got $3"
	fi
}

# assert_le WHAT MAX GOT (integers)
assert_le()
{
	if [[ "$3" =~ ^-?[0-9]+$ ]] && [ "$3" -le "$2" ]; then
		pass "$1 = $3 (<= $2)"
	else
		fail "$1: expected <= $2, got $3"
	fi
}

# assert_json WHAT FILE EXPR EXPECTED: json_eval FILE EXPR must print EXPECTED.
assert_json()
{
	local got
	got=$(json_eval "$2" "$3" 2>&1)
	assert_eq "$1" "$4" "$got"
}

# assert_grep WHAT FILE REGEX
assert_grep()
{
	if grep -Eq -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1: no line of $(basename "$2") matches /$3/"
		show "$2"
	fi
}
