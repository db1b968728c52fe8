#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Cost of tracing: nanoseconds per malloc(64) + free pair in bench_target, untraced, under
# empty probes at the tool's places (the floor), under allocscope, and with entry probes.
#
# Rounds interleave the modes so drift in the machine hits them alike; medians are reported.
# Environment: BENCH_PAIRS (1000000), BENCH_ENTRY_PAIRS (100000), BENCH_ROUNDS (5),
# ALLOCSCOPE, BENCH_TARGET.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ALLOCSCOPE=${ALLOCSCOPE:-$ROOT/.output/allocscope}
BENCH_TARGET=${BENCH_TARGET:-$ROOT/.output/targets/bench_target}
PAIRS=${BENCH_PAIRS:-1000000}
ENTRY_PAIRS=${BENCH_ENTRY_PAIRS:-100000}
ROUNDS=${BENCH_ROUNDS:-5}

# mode name, pairs, allocscope options ("-" = untraced)
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
declare -A MODE_DESC=(
	[untraced]="no tracer"
	[bystander]="allocscope tracing another process that uses the same libc"
	[floor]="empty programs at the tool's probe places"
	[allocscope]="the tool"
	[entry]="empty programs, every probe at function entry"
)
declare -A RESULTS

die()
{
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (uprobes and BPF)"
[ -x "$ALLOCSCOPE" ] || die "$ALLOCSCOPE not built (make all)"
[ -x "$BENCH_TARGET" ] || die "$BENCH_TARGET not built (make all)"
[[ "$PAIRS" =~ ^[1-9][0-9]*$ && "$ENTRY_PAIRS" =~ ^[1-9][0-9]*$ ]] || die "bad BENCH_PAIRS"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/allocscope-bench.XXXXXX") || die "mktemp failed"
PIDS=()
cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for FILE REGEX SECONDS
wait_for()
{
	local deadline=$(($(date +%s) + $3))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# run_mode MODE ROUND: one measurement; sets NS to the ns per pair.
run_mode()
{
	local mode=$1 round=$2 pairs=${MODE_PAIRS[$1]} args=${MODE_ARGS[$1]} fifo fd tw tpid sw spid rc
	local traced
	local log=$TMP/$mode.$round
	fifo=$log.in
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	timeout -k 5 600 "$BENCH_TARGET" "$pairs" <"$fifo" >"$log.target" 2>&1 &
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
	echo go >&"$fd"
	wait_for "$log.target" '^ns_per_pair ' 600 || die "$mode: bench_target did not finish"
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
}

# median "N N N": the median of space-separated numbers.
median()
{
	tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bench: $ROUNDS rounds; $PAIRS malloc(64)+free pairs ($ENTRY_PAIRS for entry) in $BENCH_TARGET"
for round in $(seq "$ROUNDS"); do
	for mode in "${MODES[@]}"; do
		run_mode "$mode" "$round"
		RESULTS[$mode]+="$NS "
		printf 'bench: round %d %-10s %10s ns/pair\n' "$round" "$mode" "$NS"
	done
done

echo
printf '%-10s %9s %12s %10s %10s  %s\n' MODE PAIRS "NS/PAIR" "+NS/PAIR" "x FLOOR" "ROUNDS (ns/pair)"
base=$(median "${RESULTS[untraced]}")
floor=$(median "${RESULTS[floor]}")
for mode in "${MODES[@]}"; do
	m=$(median "${RESULTS[$mode]}")
	printf '%-10s %9s %12.1f %10.1f %10s  %s\n' "$mode" "${MODE_PAIRS[$mode]}" "$m" \
		"$(awk -v a="$m" -v b="$base" 'BEGIN { print a - b }')" \
		"$(awk -v a="$m" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')" "${RESULTS[$mode]}"
done
echo
printf 'allocscope / floor = %s (median ns per pair, %s / %s)\n' \
	"$(awk -v a="$(median "${RESULTS[allocscope]}")" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')" \
	"$(median "${RESULTS[allocscope]}")" "$floor"
echo
echo "Commands (PID = bench_target's, which prints it and starts on a line on stdin):"
for mode in "${MODES[@]}"; do
	if [ "${MODE_ARGS[$mode]}" = - ]; then
		printf '  %-10s %s %s   (%s)\n' "$mode" "$BENCH_TARGET" "${MODE_PAIRS[$mode]}" \
			"${MODE_DESC[$mode]}"
	else
		args=${MODE_ARGS[$mode]}
		who=PID
		[ "$mode" = bystander ] && who="\$(pgrep -n sleep)"
		printf '  %-10s %s -p %s -i 3600%s   (%s)\n' "$mode" "$ALLOCSCOPE" "$who" \
			"${args:+ $args}" "${MODE_DESC[$mode]}"
	fi
done
