#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The stack walk's cost, part of `make bench` after the cost table (scripts/bench.sh): ns per
# malloc(64) + free pair in bench_target untraced, under empty probes at the tool's places
# (the floor), under allocscope, beside another traced process, with entry probes, and with
# the stack walk at several depths (--unwind cfi against --unwind fp, which stops at the
# first frame of code built without frame pointers). Then the unwinder's memory for a Python
# process, the time to build unwind tables for large binaries, and allocscope's idle CPU.
#
# Rounds interleave the modes so drift in the machine hits them alike; medians are reported.
# Environment: BENCH_WALK_PAIRS (200000), BENCH_ENTRY_PAIRS (50000), BENCH_DEEP_PAIRS (100000),
# BENCH_DEPTHS ("8 16 32"), BENCH_WALK_ROUNDS (3), BENCH_PYTHON (a python3 with an allocation
# loop; "none" skips), BENCH_CFI_FILES (ELF files for cfi_bench; "none" skips), ALLOCSCOPE,
# BENCH_TARGET, CFI_BENCH.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
ALLOCSCOPE=${ALLOCSCOPE:-$ROOT/.output/allocscope}
BENCH_TARGET=${BENCH_TARGET:-$ROOT/.output/targets/bench_target}
CFI_BENCH=${CFI_BENCH:-$ROOT/.output/tools/cfi_bench}
PAIRS=${BENCH_WALK_PAIRS:-200000}
ENTRY_PAIRS=${BENCH_ENTRY_PAIRS:-50000}
DEEP_PAIRS=${BENCH_DEEP_PAIRS:-100000}
ROUNDS=${BENCH_WALK_ROUNDS:-3}
read -ra DEPTHS <<<"${BENCH_DEPTHS:-8 16 32}"
# The walk's goals (README "Cost"): per frame, per process, per 100 MB binary.
GOAL_NS_PER_FRAME=150
GOAL_PY_KIB=4096
GOAL_BUILD_MS=1000

# mode name, pairs, stack depth in bench_target, allocscope options ("-" = untraced)
MODES=(untraced bystander floor allocscope entry)
declare -A MODE_ARGS=(
	[untraced]="-"
	[bystander]=""
	[floor]="--probe-mode noop"
	[allocscope]=""
	[entry]="--probe-mode noop --placement entry"
)
declare -A MODE_PAIRS=([untraced]=$PAIRS [bystander]=$PAIRS [floor]=$PAIRS [allocscope]=$PAIRS
	[entry]=$ENTRY_PAIRS)
declare -A MODE_DEPTH=([untraced]=1 [bystander]=1 [floor]=1 [allocscope]=1 [entry]=1)
declare -A MODE_DESC=(
	[untraced]="no tracer"
	[bystander]="allocscope tracing another process that uses the same libc"
	[floor]="empty programs at the tool's probe places"
	[allocscope]="the tool"
	[entry]="empty programs, every probe at function entry"
)
# The walk at each depth, cfi next to fp so the pair meets the same machine state. The
# JSON report (printed only at exit) tells how many frames each walk recorded.
for d in "${DEPTHS[@]}"; do
	for how in cfi fp; do
		name=$how-$d
		MODES+=("$name")
		MODE_ARGS[$name]="--unwind $how --format json -s allocs -T 1"
		MODE_PAIRS[$name]=$DEEP_PAIRS
		MODE_DEPTH[$name]=$d
		MODE_DESC[$name]="the tool, malloc $d frames below main, --unwind $how"
	done
done
declare -A RESULTS FRAMES TOOLCPU
OVERLAPS=""

[ "$(id -u)" -eq 0 ] || die "needs root (uprobes and BPF)"
[ -x "$ALLOCSCOPE" ] || die "$ALLOCSCOPE not built (make all)"
[ -x "$BENCH_TARGET" ] || die "$BENCH_TARGET not built (make all)"
[[ "$PAIRS" =~ ^[1-9][0-9]*$ && "$ENTRY_PAIRS" =~ ^[1-9][0-9]*$ &&
	"$DEEP_PAIRS" =~ ^[1-9][0-9]*$ ]] ||
	die "bad BENCH_WALK_PAIRS, BENCH_ENTRY_PAIRS or BENCH_DEEP_PAIRS"
[ ${#DEPTHS[@]} -ge 2 ] || die "BENCH_DEPTHS needs two depths or more"
for d in "${DEPTHS[@]}"; do
	[[ "$d" =~ ^[1-9][0-9]*$ && "$d" -le 100 ]] || die "bad depth '$d' in BENCH_DEPTHS (1-100)"
done

bench_tmpdir allocscope-bench


# target_cmd MODE: bench_target's command line (no depth argument at depth 1, as before).
target_cmd()
{
	local cmd="$BENCH_TARGET ${MODE_PAIRS[$1]}"

	[ "${MODE_DEPTH[$1]}" -gt 1 ] && cmd+=" ${MODE_DEPTH[$1]}"
	echo "$cmd"
}

# foreign_tracer [PID]: true if an allocscope other than PID traces every process (no -p or
# -c): its probes trap our target too. One that traces other processes only adds load.
foreign_tracer()
{
	local p
	for p in $(pgrep -x allocscope | grep -vx "${1:-0}"); do
		[[ " $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" =~ \ (-p|--pid|-c|--comm) ]] ||
			return 0
	done
	return 1
}

# run_mode MODE ROUND: one measurement; sets NS to the ns per pair and NFRAMES to the frames
# in the final JSON report's top call site ("" when the mode prints none).
run_mode()
{
	local mode=$1 round=$2 args=${MODE_ARGS[$1]} fifo fd tw tpid sw spid rc
	local traced targs=("${MODE_PAIRS[$1]}")
	local log=$TMP/$mode.$round
	[ "${MODE_DEPTH[$mode]}" -gt 1 ] && targs+=("${MODE_DEPTH[$mode]}")
	fifo=$log.in
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	timeout -k 5 600 "$BENCH_TARGET" "${targs[@]}" <"$fifo" >"$log.target" 2>&1 &
	tw=$!
	PIDS+=("$tw")
	wait_for "$log.target" '^pid [0-9]+$' 10 || die "bench_target did not start"
	tpid=$(sed -n 's/^pid //p' "$log.target")
	if [ "$args" != - ]; then
		traced=$tpid
		if [ "$mode" = bystander ]; then
			sleep 900 &
			PIDS+=("$!")
			traced=$!
		fi
		# A long interval: no report is printed while the loop is timed.
		# shellcheck disable=SC2086
		timeout -k 5 900 "$ALLOCSCOPE" -p "$traced" -i 3600 $args >"$log.out" \
			2>"$log.err" </dev/null &
		sw=$!
		PIDS+=("$sw")
		wait_for "$log.err" "tracing pid $traced\\b" 60 ||
			{ cat "$log.err" >&2; die "allocscope $args: no 'tracing pid $traced'"; }
		spid=$(pgrep -P "$sw" | head -1)
	fi
	foreign_tracer "$spid" && OVERLAPS+="$mode/$round "
	[ -n "$spid" ] && cpu0=$(tool_cpu "$spid") && w0=$(date +%s.%N)
	echo go >&"$fd"
	wait_for "$log.target" '^ns_per_pair ' 600 || die "$mode: bench_target did not finish"
	TOOL_CPU_S=
	[ -n "$spid" ] && TOOL_CPU_S=$(cpu_per_s "$cpu0" "$(tool_cpu "$spid")" "$w0")
	foreign_tracer "$spid" && OVERLAPS+="$mode/$round "
	if [ -n "$spid" ]; then
		kill -INT "$spid"
		wait "$sw"
		rc=$?
		[ "$rc" -eq 0 ] || { cat "$log.err" >&2; die "allocscope $args exited with $rc"; }
	fi
	echo quit >&"$fd"
	wait "$tw"
	exec {fd}>&-
	NS=$(sed -n 's/^ns_per_pair //p' "$log.target")
	NFRAMES=
	if [[ "$args" == *"--format json"* ]]; then
		NFRAMES=$(grep '"final":true' "$log.out" | tail -1 | grep -o '"addr":' | wc -l)
	fi
}






print_commands()
{
	local mode args who
	echo "Commands (PID = bench_target's, which prints it and starts on a line on stdin):"
	for mode in "${MODES[@]}"; do
		args=${MODE_ARGS[$mode]}
		if [ "$args" = - ]; then
			printf '  %-10s %s   (%s)\n' "$mode" "$(target_cmd "$mode")" "${MODE_DESC[$mode]}"
			continue
		fi
		who=PID
		[ "$mode" = bystander ] && who="\$(pgrep -n sleep)"
		printf '  %-10s %s -p %s -i 3600%s   (%s)\n' "$mode" "$ALLOCSCOPE" "$who" \
			"${args:+ $args}" "${MODE_DESC[$mode]}"
		[ "${MODE_DEPTH[$mode]}" -gt 1 ] && printf '  %-10s   with PID from: %s\n' "" \
			"$(target_cmd "$mode")"
	done
}

# The walk's cost per frame: slopes over depth, and the whole walk against fp's.
print_walk()
{
	local d0=${DEPTHS[0]} d1=${DEPTHS[-1]} prev="" d c0 c1 f0 f1 fm slope fslope net whole
	local cm=()

	echo "Stack walk (medians in ns per pair; frames: entries in the reported stack, malloc included):"
	printf '  %-6s %10s %10s %10s %7s %8s %9s\n' DEPTH "CFI" "FP" "CFI-FP" "CFI/FP" FRAMES \
		"FP FRAMES"
	for d in "${DEPTHS[@]}"; do
		cm[d]=$(median "${RESULTS[cfi-$d]}")
		fm=$(median "${RESULTS[fp-$d]}")
		printf '  %-6s %10.1f %10.1f %10.1f %7.2f %8s %9s\n' "$d" "${cm[d]}" "$fm" \
			"$(calc "${cm[d]} - $fm")" "$(awk -v a="${cm[d]}" -v b="$fm" 'BEGIN { print a / b }')" \
			"${FRAMES[cfi-$d]}" "${FRAMES[fp-$d]}"
	done
	for d in "${DEPTHS[@]}"; do
		[ -n "$prev" ] && printf '  cfi slope %s -> %s frames: %s ns per frame\n' "$prev" "$d" \
			"$(calc "(${cm[d]} - ${cm[prev]}) / ($d - $prev)")"
		prev=$d
	done
	c0=${cm[d0]}
	c1=${cm[d1]}
	f0=$(median "${RESULTS[fp-$d0]}")
	f1=$(median "${RESULTS[fp-$d1]}")
	slope=$(calc "($c1 - $c0) / ($d1 - $d0)")
	fslope=$(calc "($f1 - $f0) / ($d1 - $d0)")
	net=$(calc "$slope - $fslope")
	echo
	printf 'per frame walked = (cfi-%s - cfi-%s) / %s = (%s - %s) / %s = %s ns\n' "$d1" "$d0" \
		"$((d1 - d0))" "$c1" "$c0" "$((d1 - d0))" "$slope"
	printf '  the same, round by round: %s\n' "$(paste -d' ' <(tr ' ' '\n' <<<"${RESULTS[cfi-$d0]}") \
		<(tr ' ' '\n' <<<"${RESULTS[cfi-$d1]}") | awk -v n="$((d1 - d0))" \
		'NF == 2 { printf "%s%.1f", sep, ($2 - $1) / n; sep = " " }')"
	printf '  the same slope with fp (the deeper recursion without a walk): %s ns per frame;' \
		"$fslope"
	printf ' cfi net of it: %s ns\n' "$net"
	if [[ "${FRAMES[cfi-$d1]}" =~ ^[0-9]+$ && "${FRAMES[fp-$d1]}" =~ ^[0-9]+$ &&
		"${FRAMES[cfi-$d1]}" -gt "${FRAMES[fp-$d1]}" ]]; then
		whole=$(calc "($c1 - $f1) / (${FRAMES[cfi-$d1]} - ${FRAMES[fp-$d1]})")
		printf '  whole walk at depth %s: (cfi - fp) / (%s - %s frames) = %s ns per frame\n' \
			"$d1" "${FRAMES[cfi-$d1]}" "${FRAMES[fp-$d1]}" "$whole"
		# What the per-frame slope leaves over: the walk's setup and its outermost frames.
		printf '  fixed part of a cfi walk: (cfi - fp) - slope x extra frames = %s ns\n' \
			"$(calc "($c1 - $f1) - $slope * (${FRAMES[cfi-$d1]} - ${FRAMES[fp-$d1]})")"
	fi
	printf 'goal: at most %s ns per frame: %s\n' "$GOAL_NS_PER_FRAME" \
		"$(met "$slope" "$GOAL_NS_PER_FRAME")"
}

# python_memory: the unwinder's maps for a Python process, from allocscope -v's
# "unwinding pid" line while it traces a python3 running an allocation loop.
python_memory()
{
	local py=${BENCH_PYTHON:-} pw pypid sw spid line kib log=$TMP/python

	if [ -z "$py" ]; then
		py=$(find /root/.pyenv/versions "${PYENV_ROOT:-/nonexistent}/versions" -maxdepth 3 \
			-path '*/3.11.*/bin/python3' 2>/dev/null | sort -V | tail -1)
		[ -n "$py" ] || py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
	fi
	echo "Unwinder memory for a Python process (goal: under $((GOAL_PY_KIB / 1024)) MiB):"
	if [ "$py" = none ]; then
		echo "  skipped (BENCH_PYTHON=none)"
		return
	fi
	if [ ! -x "$py" ]; then
		echo "  skipped: no python3${py:+ at $py} (set BENCH_PYTHON)"
		return
	fi
	timeout -k 5 300 "$py" -c 'import os
print("pid", os.getpid(), flush=True)
while True:
    kept = [{"k": str(i), "v": [i] * 8} for i in range(1000)]' >"$log.target" 2>&1 &
	pw=$!
	PIDS+=("$pw")
	if ! wait_for "$log.target" '^pid [0-9]+$' 10; then
		echo "  skipped: $py did not start"
		return
	fi
	pypid=$(sed -n 's/^pid //p' "$log.target")
	timeout -k 5 300 "$ALLOCSCOPE" -v -p "$pypid" -i 3600 >"$log.out" 2>"$log.err" </dev/null &
	sw=$!
	PIDS+=("$sw")
	if wait_for "$log.err" "tracing pid $pypid\\b" 60; then
		wait_for "$log.err" "unwinding pid $pypid:" 30
		spid=$(pgrep -P "$sw" | head -1)
		kernel_memlock "$spid" >"$log.memlock"
		sleep 1 # the allocation loop runs traced
		kill -INT "$spid"
	fi
	wait "$sw"
	kill -TERM "$pw"
	wait "$pw" 2>/dev/null
	line=$(grep -m1 "unwinding pid $pypid:" "$log.err")
	if [ -z "$line" ]; then
		echo "  no 'unwinding pid' line from allocscope -v:"
		sed 's/^/    /' "$log.err" | tail -5
		return
	fi
	kib=$(sed -n 's/.*rows (\([0-9.]*\) KiB.*/\1/p' <<<"$line")
	echo "  $line"
	[ -s "$log.memlock" ] && echo "  $(cat "$log.memlock")"
	printf '  %s KiB: goal %s\n' "$kib" "$(met "$kib" "$GOAL_PY_KIB")"
	echo "  command: $ALLOCSCOPE -v -p PID -i 3600   (PID: $py -c '<allocation loop>')"
}

# kernel_memlock PID: the kernel's memlock for the unwinder's maps, as bpftool shows them,
# when PID is the only allocscope (the rows maps carry no owner).
kernel_memlock()
{
	command -v bpftool >/dev/null && command -v python3 >/dev/null || return
	[ "$(pgrep -x allocscope)" = "$1" ] || return
	bpftool -j map show 2>/dev/null | python3 -c '
import json, sys
maps = [m for m in json.load(sys.stdin)
        if m.get("name") in ("unw_rows", "unw_procs", "unwind_tables")]
n = sum(1 for m in maps if m["name"] == "unw_rows")
kib = sum(m.get("bytes_memlock", 0) for m in maps) / 1024
print(f"kernel memlock (bpftool): {kib:.1f} KiB in {n} unw_rows maps, unw_procs, unwind_tables")
' 2>/dev/null
}

# table_builds: cfi_bench on a 100 MB library, libc and a libpython.
table_builds()
{
	local files=() f py ms

	echo "Unwind table builds (goal: a 100 MB binary in under $GOAL_BUILD_MS ms):"
	if [ "${BENCH_CFI_FILES:-}" = none ]; then
		echo "  skipped (BENCH_CFI_FILES=none)"
		return
	fi
	if [ ! -x "$CFI_BENCH" ]; then
		echo "  building $CFI_BENCH (make tools)"
		make -C "$ROOT" --no-print-directory tools >"$TMP/tools.log" 2>&1 ||
			{ sed 's/^/    /' "$TMP/tools.log" | tail -5; }
	fi
	if [ ! -x "$CFI_BENCH" ]; then
		echo "  skipped: $CFI_BENCH is not built and 'make tools' did not build it"
		return
	fi
	if [ -n "${BENCH_CFI_FILES:-}" ]; then
		read -ra files <<<"$BENCH_CFI_FILES"
	else
		py=$(find /root/.pyenv/versions -maxdepth 3 -path '*/3.11.*/lib/libpython3.11.so.1.0' \
			2>/dev/null | sort -V | tail -1)
		for f in /usr/lib/x86_64-linux-gnu/libLLVM-14.so.1 \
			"$(ldd "$BENCH_TARGET" | awk '/libc\.so/ { print $3 }')" \
			"${py:-/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0}"; do
			if [ -r "$f" ]; then
				files+=("$f")
			else
				echo "  skipped: ${f:-libc} (not found)"
			fi
		done
	fi
	[ ${#files[@]} -gt 0 ] || return
	for f in "${files[@]}"; do
		printf '  %-58s %6.1f MB\n' "$f" "$(calc "$(stat -Lc %s "$f") / 1e6")"
	done
	foreign_tracer && echo "  WARNING: an allocscope traces every process: its" \
		"return probes on malloc slow these builds"
	"$CFI_BENCH" "${files[@]}" >"$TMP/cfi_bench.out" 2>&1
	sed 's/^/  /' "$TMP/cfi_bench.out"
	echo "  command: $CFI_BENCH ${files[*]}   (build_ms: the best of 3 builds)"
	for f in "${files[@]}"; do
		[ "$(stat -Lc %s "$f")" -ge 100000000 ] || continue
		ms=$(awk -v f="$f" '$NF == f && NF == 6 { print $5 }' "$TMP/cfi_bench.out")
		[ -n "$ms" ] && printf '  %s: %s ms: goal %s\n' "$(basename "$f")" "$ms" \
			"$(met "$ms" "$GOAL_BUILD_MS")"
	done
}

# idle_cost: allocscope's own CPU per second with --pid against a process that does nothing
# (BENCH_IDLE_S seconds, 10 by default, after its first rescan and report were due).
idle_cost()
{
	local secs=${BENCH_IDLE_S:-10} idle sw spid c0 w0 cps log=$TMP/idle

	echo "allocscope's own CPU while its target is idle (goal: at most 1 % of a core):"
	sleep 900 &
	idle=$!
	PIDS+=("$idle")
	timeout -k 5 300 "$ALLOCSCOPE" -p "$idle" -i 2 >"$log.out" 2>"$log.err" </dev/null &
	sw=$!
	PIDS+=("$sw")
	if ! wait_for "$log.err" "tracing pid $idle\\b" 60; then
		echo "  skipped: allocscope did not attach:"
		sed 's/^/    /' "$log.err" | tail -5
		return
	fi
	spid=$(pgrep -P "$sw" | head -1)
	sleep 6 # past the 5 s at which an unmoved rescan deadline once turned the poll into a spin
	c0=$(tool_cpu "$spid")
	w0=$(date +%s.%N)
	sleep "$secs"
	cps=$(cpu_per_s "$c0" "$(tool_cpu "$spid")" "$w0")
	kill -INT "$spid"
	wait "$sw"
	printf '  %s CPU s per s over %s s: goal %s\n' "$cps" "$secs" "$(met "$cps" 0.01)"
	echo "  command: $ALLOCSCOPE -p PID -i 2   (PID: sleep 900)"
}

echo "Stack walk and setup costs (scripts/bench-walk.sh; another allocscope's probes would be" \
	"timed with ours: the rounds it overlaps are named below)"
echo "bench: $ROUNDS rounds; $PAIRS malloc(64)+free pairs ($ENTRY_PAIRS for entry," \
	"$DEEP_PAIRS at depths ${DEPTHS[*]}) in $BENCH_TARGET"
for round in $(seq "$ROUNDS"); do
	for mode in "${MODES[@]}"; do
		run_mode "$mode" "$round"
		RESULTS[$mode]+="$NS "
		[ -n "$TOOL_CPU_S" ] && TOOLCPU[$mode]+="$TOOL_CPU_S "
		FRAMES[$mode]=$NFRAMES
		printf 'bench: round %d %-10s %10s ns/pair%s\n' "$round" "$mode" "$NS" \
			"${NFRAMES:+, $NFRAMES frames}"
	done
done

echo
printf '%-10s %9s %5s %12s %10s %10s %9s  %s\n' MODE PAIRS DEPTH "NS/PAIR" "+NS/PAIR" "x FLOOR" \
	"TOOL CPU" "ROUNDS (ns/pair)"
base=$(median "${RESULTS[untraced]}")
floor=$(median "${RESULTS[floor]}")
for mode in "${MODES[@]}"; do
	m=$(median "${RESULTS[$mode]}")
	printf '%-10s %9s %5s %12.1f %10.1f %10s %9s  %s\n' "$mode" "${MODE_PAIRS[$mode]}" \
		"${MODE_DEPTH[$mode]}" "$m" "$(calc "$m - $base")" \
		"$(awk -v a="$m" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')" \
		"$( [ -n "${TOOLCPU[$mode]}" ] && median "${TOOLCPU[$mode]}" || echo -)" "${RESULTS[$mode]}"
done
echo "TOOL CPU: allocscope's own utime + stime per wall second while the loop ran (median;" \
	"1.000 = a whole core), from /proc/PID/stat"
echo
printf 'allocscope / floor = %s (median ns per pair, %s / %s)\n' \
	"$(awk -v a="$(median "${RESULTS[allocscope]}")" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')" \
	"$(median "${RESULTS[allocscope]}")" "$floor"
if [ -n "$OVERLAPS" ]; then
	echo "bench: WARNING: an allocscope tracing every process ran during (mode/round):" \
		"$(tr ' ' '\n' <<<"$OVERLAPS" | sort -u | xargs); their figures are suspect"
fi
echo
print_walk
echo
print_commands
echo
python_memory
echo
table_builds
echo
idle_cost

# hostile_builds: one FDE of 128001 rows (libcfibig_dl.so, which a replay of the program per
# row took 83 s to build) beside libc, each program run once.
hostile_builds()
{
	local big=$ROOT/.output/targets/libcfibig_dl.so libc

	libc=$(ldd "$BENCH_TARGET" | awk '/libc\.so/ { print $3 }')
	echo "Unwind table builds, a 128001-row FDE and libc:"
	if [ ! -x "$CFI_BENCH" ] || [ ! -r "$big" ] || [ ! -r "$libc" ]; then
		echo "  skipped: needs $CFI_BENCH (make tools), $big (make all) and libc"
		return
	fi
	"$CFI_BENCH" "$big" "$libc" 2>&1 | sed 's/^/  /'
	echo "  command: $CFI_BENCH $big $libc   (build_ms: the best of 3 builds)"
}
echo
hostile_builds
