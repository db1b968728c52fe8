#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The governor's goal (part of `make bench`): a churning bench_target under --max-overhead 5 is
# demoted to RSS mode, and its throughput after the demotion is at least 80 % of untraced.
# Environment: BENCH_GOVERNOR_PAIRS (2000000 pairs per timed run), ALLOCSCOPE, BENCH_TARGET.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
ALLOCSCOPE=${ALLOCSCOPE:-$ROOT/.output/allocscope}
BENCH_TARGET=${BENCH_TARGET:-$ROOT/.output/targets/bench_target}
GOVERNOR_PAIRS=${BENCH_GOVERNOR_PAIRS:-2000000}
[[ "$GOVERNOR_PAIRS" =~ ^[1-9][0-9]*$ ]] || die "bad BENCH_GOVERNOR_PAIRS '$GOVERNOR_PAIRS'"
[ "$(id -u)" -eq 0 ] || die "needs root (uprobes and BPF)"

bench_tmpdir allocscope-bench-gov

alive_pid()
{
	kill -0 "$1" 2>/dev/null
}

# governor_runs RUNS ALLOCSCOPE_ARGS...: one bench_target process makes RUNS timed runs of
# BENCH_GOVERNOR_PAIRS pairs untraced, then allocscope attaches with ALLOCSCOPE_ARGS, runs go
# on until it has demoted the process (at most DEMOTE_RUNS), and RUNS more are timed. One
# process for both: where its heap and code fall moves a 15 ns loop by a third from one
# process to the next. Sets BASE and NS to the medians of the untraced and the demoted runs'
# ns per pair, DEMOTED to allocscope's stderr line ("" if none).
DEMOTE_RUNS=20
governor_runs()
{
	local runs=$1 log=$TMP/governor fifo fd tw sw spid i done_runs=0 first
	shift
	NS="" BASE="" DEMOTED=""
	fifo=$log.in
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	timeout -k 5 900 "$BENCH_TARGET" "$GOVERNOR_PAIRS" 1 $((2 * runs + DEMOTE_RUNS)) \
		<"$fifo" >"$log.target" 2>&1 &
	tw=$!
	PIDS+=("$tw")
	wait_for "$log.target" '^pid [0-9]+$' 10 || die "bench_target did not start"
	for ((i = 0; i < runs; i++)); do
		run_once "$tw" "$fd" $((done_runs += 1)) "$log"
	done
	timeout -k 5 900 "$ALLOCSCOPE" -p "$(sed -n 's/^pid //p' "$log.target")" "$@" \
		>"$log.out" 2>"$log.err" </dev/null &
	sw=$!
	PIDS+=("$sw")
	wait_for "$log.err" 'tracing pid' 60 || die "allocscope did not attach ($log.err)"
	while [ -z "$DEMOTED" ] && [ "$done_runs" -lt $((runs + DEMOTE_RUNS)) ]; do
		run_once "$tw" "$fd" $((done_runs += 1)) "$log"
		DEMOTED=$(grep -m1 'heap probes removed' "$log.err")
	done
	first=$((done_runs + 1))
	for ((i = 0; i < runs; i++)); do
		run_once "$tw" "$fd" $((done_runs += 1)) "$log"
	done
	# Its remaining runs are not needed: allocscope first (Ctrl-C), then the target.
	spid=$(pgrep -P "$sw" | head -1)
	[ -n "$spid" ] && kill -INT "$spid"
	wait "$sw"
	kill -TERM "$tw" 2>/dev/null
	wait "$tw"
	exec {fd}>&-
	BASE=$(median "$(sed -n 's/^ns_per_pair //p' "$log.target" | head -n "$runs" | xargs)")
	NS=$(median "$(sed -n 's/^ns_per_pair //p' "$log.target" | tail -n +"$first" | xargs)")
}

# run_once PID FD N LOG: starts bench_target's Nth run and waits for its result line.
run_once()
{
	echo go >&"$2"
	until [ "$(grep -c '^ns_per_pair' "$4.target")" -ge "$3" ]; do
		alive_pid "$1" || die "bench_target ended early ($4.target)"
		sleep 0.05
	done
}

# governor: --max-overhead takes a churning target's heap probes away; its throughput
# afterwards against its own untraced runs (goal: at least 80 %).
governor()
{
	echo "governor: a churning bench_target under --max-overhead 5 (goal: throughput after" \
		"the demotion at least 80 % of untraced):"
	governor_runs 3 -i 0.5 --max-overhead 5
	if [ -z "$DEMOTED" ]; then
		echo "  not demoted in $DEMOTE_RUNS runs; allocscope said:"
		sed "s/^/    /" "$TMP/governor.err"
		return
	fi
	printf '  untraced %s ns/pair, after the demotion %s ns/pair: throughput %s %%: goal %s\n' \
		"$BASE" "$NS" "$(awk -v a="$BASE" -v b="$NS" 'BEGIN { printf "%.0f", 100 * a / b }')" \
		"$(awk -v a="$BASE" -v b="$NS" 'BEGIN { print (a / b >= 0.8 ? "met" : "NOT met") }')"
	echo "  allocscope said: ${DEMOTED#allocscope: }"
	echo "  command: $ALLOCSCOPE -p PID -i 0.5 --max-overhead 5   (PID: $BENCH_TARGET" \
		"$GOVERNOR_PAIRS 1 N: 3 runs untraced, then allocscope; the median of the 3 runs" \
		"after the one that saw the demotion)"
}

governor
