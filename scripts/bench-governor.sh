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

# governor_runs NAME RUNS [ALLOCSCOPE ARGS...]: bench_target's RUNS timed runs of
# BENCH_GOVERNOR_PAIRS pairs, untraced without ARGS; with ARGS under allocscope, the first run
# goes until allocscope demotes the process (or ends), and only the later runs count. Sets NS
# to the median of the counted runs' ns per pair, DEMOTED to the stderr line ("" if none).
governor_runs()
{
	local runs=$2 log=$TMP/governor.$1 fifo fd tw sw="" spid i first=1
	shift 2
	NS="" DEMOTED=""
	fifo=$log.in
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	timeout -k 5 600 "$BENCH_TARGET" "$GOVERNOR_PAIRS" 1 "$runs" <"$fifo" >"$log.target" 2>&1 &
	tw=$!
	PIDS+=("$tw")
	wait_for "$log.target" '^pid [0-9]+$' 10 || die "bench_target did not start"
	if [ $# -gt 0 ]; then
		timeout -k 5 900 "$ALLOCSCOPE" -p "$(sed -n 's/^pid //p' "$log.target")" "$@" \
			>"$log.out" 2>"$log.err" </dev/null &
		sw=$!
		PIDS+=("$sw")
		wait_for "$log.err" 'tracing pid' 60 || die "allocscope did not attach ($log.err)"
		echo go >&"$fd"
		wait_for "$log.target" '^ns_per_pair' 600 || die "bench_target's first run did not end"
		DEMOTED=$(grep -m1 'heap probes removed' "$log.err")
		first=2
	fi
	for i in $(seq "$first" "$runs"); do
		echo go >&"$fd"
		until [ "$(grep -c '^ns_per_pair' "$log.target")" -ge "$i" ]; do
			alive_pid "$tw" || die "bench_target ended early ($log.target)"
			sleep 0.05
		done
	done
	echo quit >&"$fd"
	[ -n "$sw" ] && { spid=$(pgrep -P "$sw" | head -1); [ -n "$spid" ] && kill -INT "$spid"; wait "$sw"; }
	wait "$tw"
	exec {fd}>&-
	NS=$(median "$(sed -n 's/^ns_per_pair //p' "$log.target" | tail -n +"$first" | xargs)")
}

# governor: --max-overhead takes a churning target's heap probes away; its throughput
# afterwards against untraced (goal: at least 80 %).
governor()
{
	local base gov
	echo "governor: a churning bench_target under --max-overhead 5 (goal: throughput after" \
		"the demotion at least 80 % of untraced):"
	governor_runs untraced 3
	base=$NS
	governor_runs governed 4 -i 0.5 --max-overhead 5
	gov=$NS
	if [ -z "$DEMOTED" ]; then
		echo "  not demoted during the first run; allocscope said:"
		sed "s/^/    /" "$TMP/governor.governed.err"
		return
	fi
	printf '  untraced %s ns/pair, after the demotion %s ns/pair: throughput %s %%: goal %s\n' \
		"$base" "$gov" "$(awk -v a="$base" -v b="$gov" 'BEGIN { printf "%.0f", 100 * a / b }')" \
		"$(awk -v a="$base" -v b="$gov" 'BEGIN { print (a / b >= 0.8 ? "met" : "NOT met") }')"
	echo "  allocscope said: ${DEMOTED#allocscope: }"
	echo "  command: $ALLOCSCOPE -p PID -i 0.5 --max-overhead 5   (PID: $BENCH_TARGET" \
		"$GOVERNOR_PAIRS 1 4; the median of runs 2-4)"
}

governor
