#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# What tracing costs, in one run (`make bench`): a malloc(64)+free churn (bench_target)
# untraced, under empty programs at allocscope's probe places (the floor), under allocscope's
# modes and under a bpftrace memleak-style script (scripts/memleak.bt, the peer); then three
# real workloads (an sqlite3 table build, redis-benchmark SET, a Python JSON loop) untraced,
# exact, in RSS mode and under the governor. One table of medians; rounds interleave every
# row so drift in a shared machine hits them alike, and every ratio comes from this run.
# A row whose option this allocscope lacks (per --help) reads "n/a (option not available)".
# Then the governor's goal (scripts/bench-governor.sh), the stack walk's costs
# (scripts/bench-walk.sh), Python frames' (bench-python.sh) and the Python heap census's
# (bench-census.sh).
#
# Environment: BENCH_ROUNDS (5), BENCH_PAIRS (300000 churn pairs per run),
# BENCH_SQLITE_ROWS (20000), BENCH_REDIS_REQUESTS (20000), BENCH_JSON_RECORDS (20000),
# BENCH_WORKLOADS ("churn sqlite redis json"), BENCH_EXTRAS ("governor walk python census"; "none"),
# BENCH_INSTALL (1: apt-get what is missing; 0: never), BENCH_JSON_PYTHON (/usr/bin/python3.11),
# ALLOCSCOPE, BENCH_TARGET. bench-walk.sh, bench-python.sh and bench-census.sh read their own
# variables.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$ROOT/scripts/bench-lib.sh"
ALLOCSCOPE=${ALLOCSCOPE:-$ROOT/.output/allocscope}
BENCH_TARGET=${BENCH_TARGET:-$ROOT/.output/targets/bench_target}
MEMLEAK_BT=$ROOT/scripts/memleak.bt
PY_WORKLOAD=$ROOT/tests/bench/py_alloc.py
JSON_PY=${BENCH_JSON_PYTHON:-/usr/bin/python3.11}
ROUNDS=${BENCH_ROUNDS:-5}
PAIRS=${BENCH_PAIRS:-300000}
SQLITE_ROWS=${BENCH_SQLITE_ROWS:-20000}
REDIS_REQUESTS=${BENCH_REDIS_REQUESTS:-20000}
JSON_RECORDS=${BENCH_JSON_RECORDS:-20000}
read -ra WORKLOADS <<<"${BENCH_WORKLOADS:-churn sqlite redis json}"
read -ra EXTRAS <<<"${BENCH_EXTRAS:-governor walk python census}"
T_START=$(date +%s)

# The command that produced this output, with the environment that changes it.
command_line()
{
	local v words=()

	while IFS= read -r v; do
		words+=("${v%%=*}=$(printf '%q' "${v#*=}")")
	done < <(env | grep -E '^(BENCH_[A-Z_]+|ALLOCSCOPE)=' | sort)
	if [ -n "${MAKELEVEL:-}" ]; then
		words+=(make bench)
	else
		words+=("$0" "$@")
	fi
	echo "${words[*]}"
}
COMMAND=$(command_line "$@")

[ "$(id -u)" -eq 0 ] || die "needs root (uprobes and BPF)"
[ -x "$ALLOCSCOPE" ] || die "$ALLOCSCOPE not built (make all)"
[ -x "$BENCH_TARGET" ] || die "$BENCH_TARGET not built (make all)"
for v in ROUNDS PAIRS SQLITE_ROWS REDIS_REQUESTS JSON_RECORDS; do
	[[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "bad BENCH_$v '${!v}'"
done
for w in "${WORKLOADS[@]}"; do
	[[ "$w" =~ ^(churn|sqlite|redis|json)$ ]] || die "unknown workload '$w' in BENCH_WORKLOADS"
done
# Another allocscope slows the machine, and traps our workloads too when it traces every
# process: wait a while for it to end, then go on and name the runs it overlapped.
for ((i = 0; i < ${BENCH_WAIT:-120}; i++)); do
	pgrep -x allocscope >/dev/null || break
	[ "$i" -eq 0 ] && echo "bench: waiting up to ${BENCH_WAIT:-120} s for other allocscope" \
		"processes to exit: $(pgrep -x allocscope | xargs)"
	sleep 1
done
if [ "${BENCH_INSTALL:-1}" != 0 ]; then
	"$ROOT/scripts/bench-deps.sh" || echo "bench: could not install every package; rows" \
		"that need a missing one read n/a"
fi

HELP=$("$ALLOCSCOPE" --help 2>&1)
# With a governor, every row but the governor's runs without a limit, so "exact" stays exact.
NOLIMIT="" GOVERNOR="" GOVERNOR_LABEL="governor: --max-overhead at its default"
if has_option "$HELP" max-overhead; then
	NOLIMIT=" --max-overhead 0"
	d=$(option_default "$HELP" max-overhead)
	[ -n "$d" ] && GOVERNOR="--max-overhead $d" GOVERNOR_LABEL="governor: $GOVERNOR (default), -i 1"
fi

# Rows: ROWS in table order; per row its workload, tracer (none, allocscope, bpftrace), the
# allocscope option it needs ("" none), its label and allocscope's arguments.
ROWS=()
declare -A R_WORK R_TOOL R_NEEDS R_LABEL R_ARGS RESULTS TOOLCPU FAILS
OVERLAPS="" SYSWIDE="" RUNS=0
add_row()
{
	local name=$2/$1
	ROWS+=("$name")
	R_WORK[$name]=$2 R_TOOL[$name]=$3 R_NEEDS[$name]=$4 R_LABEL[$name]=$5 R_ARGS[$name]=${6:-}
}
for w in "${WORKLOADS[@]}"; do
	add_row untraced "$w" none "" "untraced"
	if [ "$w" = churn ]; then
		add_row floor "$w" allocscope "" "floor: empty programs (--probe-mode noop)" \
			"--probe-mode noop$NOLIMIT"
	fi
	add_row exact "$w" allocscope "" "exact (allocscope's default)" "${NOLIMIT# }"
	if [ "$w" = churn ]; then
		add_row floor-entry "$w" allocscope "" \
			"entry+free floor: empty programs, no return probes (--probe-mode noop-entry)" \
			"--probe-mode noop-entry$NOLIMIT"
		add_row min-size "$w" allocscope "" "exact, --min-size 1M (rejects every call)" \
			"--min-size 1M$NOLIMIT"
		add_row sample "$w" allocscope sample-bytes "--sample-bytes 512K" \
			"--sample-bytes 512K$NOLIMIT"
	fi
	add_row rss "$w" allocscope mode "--mode rss" "--mode rss$NOLIMIT"
	if [ "$w" = churn ]; then
		add_row bpftrace "$w" bpftrace "" "peer: bpftrace scripts/memleak.bt"
	else
		# The governor decides at each report: one a second, as an operator would run it.
		add_row governor "$w" allocscope max-overhead "$GOVERNOR_LABEL" "-i 1 $GOVERNOR"
	fi
done
declare -A W_TITLE=(
	[churn]="churn: bench_target, $PAIRS malloc(64)+free pairs (ns per pair)"
	[sqlite]="sqlite3: $SQLITE_ROWS-row table build + index in :memory: (wall s)"
	[redis]="redis: redis-benchmark -t set -n $REDIS_REQUESTS against redis-server (req/s)"
	[json]="python3.11: json dumps+loads of $JSON_RECORDS records (records/s)"
)
# Workloads whose figure is a rate: their slowdown is untraced / traced.
declare -A W_RATE=([redis]=1 [json]=1)

# unavailable ROW: why ROW cannot run here, or nothing.
unavailable()
{
	local row=$1
	if [ -n "${R_NEEDS[$row]}" ] && ! has_option "$HELP" "${R_NEEDS[$row]}"; then
		echo "n/a (option not available)"
	elif [ "${R_TOOL[$row]}" = bpftrace ] && ! command -v bpftrace >/dev/null; then
		echo "n/a (bpftrace not installed)"
	else
		case ${R_WORK[$row]} in
		sqlite) command -v sqlite3 >/dev/null || echo "n/a (sqlite3 not installed)" ;;
		redis) command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
			echo "n/a (redis-server or redis-benchmark not installed)" ;;
		json) [ -x "$JSON_PY" ] || echo "n/a ($JSON_PY not installed)" ;;
		esac
	fi
}

bench_tmpdir allocscope-bench

# foreign_tracers: allocscope processes running between our runs (ours run only within one);
# those without -p, --comm, -c or -- (a command; --comm matches --command too) trace every
# process, our workloads included.
foreign_tracers()
{
	local p args
	for p in $(pgrep -x allocscope); do
		args=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
		if [[ " $args" =~ \ (-p|--pid|-c|--comm|--\ ) ]]; then
			echo -n "pid "
		else
			echo -n "all "
		fi
	done
}

# shellcheck source=scripts/bench-runs.sh
. "$ROOT/scripts/bench-runs.sh"

echo "command: $COMMAND"
echo "bench: $ROUNDS rounds of: ${ROWS[*]}"
for row in "${ROWS[@]}"; do
	FAILS[$row]=$(unavailable "$row")
done
for round in $(seq "$ROUNDS"); do
	for row in "${ROWS[@]}"; do
		[[ "${FAILS[$row]}" == n/a* ]] && continue
		RUNS=$((RUNS + 1))
		others=$(foreign_tracers)
		t0=$(date +%s)
		if run_row "$row" "$round"; then
			RESULTS[$row]+="$VALUE "
			[ -n "$TCPU" ] && TOOLCPU[$row]+="$TCPU "
		else
			RESULTS[$row]+="fail "
			[ -z "${FAILS[$row]}" ] && FAILS[$row]="failed: $ERR"
		fi
		others+=$(foreign_tracers)
		[[ "$others" == *all* ]] && SYSWIDE+="$row/$round "
		[[ "$others" == *pid* ]] && OVERLAPS+="$row/$round "
		printf 'bench: round %d %-16s %s   (%d s)\n' "$round" "$row" "${VALUE:-failed: $ERR}" \
			$(($(date +%s) - t0))
	done
done
T_TABLE=$(date +%s)

echo
# shellcheck source=scripts/bench-table.sh
. "$ROOT/scripts/bench-table.sh"
print_table
# With uprobe sessions a call rejected at entry takes no return trap: its goal is the entry+free
# floor, not the floor with returns.
if [ -n "${RESULTS[churn/min-size]:-}" ] && [ -n "${RESULTS[churn/floor-entry]:-}" ]; then
	echo "min-size / entry+free floor: $(ratio "$(median "${RESULTS[churn/min-size]}")" \
		"$(median "${RESULTS[churn/floor-entry]}")") (goal: at most 1.15 with uprobe sessions)"
fi
if [ -n "$SYSWIDE" ]; then
	echo "WARNING: an allocscope tracing every process ran during (row/round): ${SYSWIDE% };" \
		"it trapped those workloads too, their figures are suspect" | fold -s -w 100
fi
if [ -n "$OVERLAPS" ]; then
	echo "note: another allocscope tracing other processes (load on the machine) ran during" \
		"$(wc -w <<<"$OVERLAPS") of $RUNS runs" | fold -s -w 100
fi
echo
print_commands
echo
echo "duration: $((T_TABLE - T_START)) s for the table"
for extra in "${EXTRAS[@]}"; do
	case $extra in
	governor)
		echo
		"$ROOT/scripts/bench-governor.sh"
		;;
	walk)
		echo
		"$ROOT/scripts/bench-walk.sh"
		;;
	python)
		echo
		"$ROOT/scripts/bench-python.sh"
		;;
	census)
		echo
		"$ROOT/scripts/bench-census.sh"
		;;
	none) ;;
	*) echo "bench: unknown BENCH_EXTRAS part '$extra' (governor, walk, python, census, none)" ;;
	esac
done
echo
echo "bench: done in $(($(date +%s) - T_START)) s"
