#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Cost of Python frames: a CPython workload (tests/bench/py_alloc.py) untraced, traced with
# native stacks only (--no-python) and with Python frames (the default), rounds interleaved,
# medians reported. "alloc" times one traced malloc+free pair per iteration, DEPTH Python
# frames deep; "app" is json work per record, end to end; "tuples" makes and drops small
# objects, untraced, traced and traced with --python-objects (a trap per object).
# Environment: BENCH_PYTHON (a python3; default pyenv's newest 3.11), BENCH_PY_ROUNDS (3),
# BENCH_PY_N (100000), BENCH_PY_APP_N (20000), BENCH_PY_DEPTHS ("5 20"), ALLOCSCOPE.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ALLOCSCOPE=${ALLOCSCOPE:-$ROOT/.output/allocscope}
WORKLOAD=$ROOT/tests/bench/py_alloc.py
ROUNDS=${BENCH_PY_ROUNDS:-3}
N=${BENCH_PY_N:-100000}
APP_N=${BENCH_PY_APP_N:-20000}
read -ra DEPTHS <<<"${BENCH_PY_DEPTHS:-5 20}"
GOAL_NS=1000 # Python frames: at most 1 µs more per traced allocation than native stacks
PY=${BENCH_PYTHON:-$(find /root/.pyenv/versions -maxdepth 3 -path '*/3.11.*/bin/python3' \
	2>/dev/null | sort -V | tail -1)}
MODES=(untraced native python)
declare -A MODE_ARGS=([untraced]="-" [native]="--no-python" [python]="" [objects]="--python-objects")
TUPLE_MODES=(untraced python objects)
declare -A RESULTS
TMP=$(mktemp -d /tmp/allocscope-benchpy.XXXXXX)
trap 'pkill -P $$ 2>/dev/null; rm -rf "$TMP"' EXIT

[ -x "$PY" ] || { echo "  skipped: no python3 (set BENCH_PYTHON)"; exit 0; }

# run WORKLOAD_ARGS MODE: one run; prints ns per iteration.
run()
{
	local mode=$1 tpid spid out=$TMP/out err=$TMP/err
	shift
	rm -f "$out" "$err" "$TMP/in"
	mkfifo "$TMP/in"
	"$PY" "$WORKLOAD" "$@" <"$TMP/in" >"$out" &
	tpid=$!
	exec 9>"$TMP/in"
	while ! grep -q '^pid' "$out" 2>/dev/null; do sleep 0.02; done
	if [ "${MODE_ARGS[$mode]}" != "-" ]; then
		# shellcheck disable=SC2086 # options are words
		"$ALLOCSCOPE" -p "$tpid" -i 3600 ${MODE_ARGS[$mode]} >/dev/null 2>"$err" &
		spid=$!
		while ! grep -q "tracing pid $tpid" "$err" 2>/dev/null; do
			kill -0 "$spid" 2>/dev/null || { cat "$err" >&2; exit 1; }
			sleep 0.05
		done
	fi
	echo go >&9
	wait "$tpid"
	exec 9>&-
	[ -n "${spid:-}" ] && { kill -INT "$spid"; wait "$spid"; }
	sed -n 's/^ns_per_iter //p' "$out"
}

median()
{
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "Python frames: $("$PY" -c 'import sys; print(sys.version.split()[0])') ($PY), $ROUNDS rounds"
for ((r = 1; r <= ROUNDS; r++)); do
	for d in "${DEPTHS[@]}"; do
		for m in "${MODES[@]}"; do
			RESULTS[alloc-$d-$m]+="$(run "$m" alloc "$N" "$d") "
		done
	done
	for m in "${MODES[@]}"; do
		RESULTS[app-$m]+="$(run "$m" app "$APP_N") "
	done
	for m in "${TUPLE_MODES[@]}"; do
		RESULTS[tuples-$m]+="$(run "$m" tuples "$N") "
	done
done

printf '  %-28s %10s %10s %10s %14s\n' "workload (ns per iteration)" untraced native python \
	"python-native"
for d in "${DEPTHS[@]}"; do
	# shellcheck disable=SC2086 # results are words
	u=$(median ${RESULTS[alloc-$d-untraced]}) n=$(median ${RESULTS[alloc-$d-native]}) \
		p=$(median ${RESULTS[alloc-$d-python]})
	extra=$(awk -v p="$p" -v n="$n" 'BEGIN { printf "%.0f", p - n }')
	printf '  %-28s %10.0f %10.0f %10.0f %14s\n' "alloc pair, $d Python frames" "$u" "$n" "$p" \
		"$extra"
	verdict=$([ "$extra" -le "$GOAL_NS" ] && echo met || echo "NOT met")
	echo "    per traced allocation, Python frames add $extra ns over native stacks" \
		"(goal <= $GOAL_NS ns: $verdict)"
done
# shellcheck disable=SC2086
u=$(median ${RESULTS[app-untraced]}) n=$(median ${RESULTS[app-native]}) \
	p=$(median ${RESULTS[app-python]})
printf '  %-28s %10.0f %10.0f %10.0f %14s\n' "app (json per record)" "$u" "$n" "$p" \
	"$(awk -v p="$p" -v n="$n" 'BEGIN { printf "%.0f", p - n }')"
awk -v u="$u" -v n="$n" -v p="$p" 'BEGIN { printf "    end to end: native stacks %.2fx untraced, Python frames %.2fx untraced (%.2fx native)\n", n / u, p / u, p / n }'
# shellcheck disable=SC2086
u=$(median ${RESULTS[tuples-untraced]}) p=$(median ${RESULTS[tuples-python]}) \
	o=$(median ${RESULTS[tuples-objects]})
printf '  %-28s %10.0f %10s %10.0f %14s\n' "tuples (2 objects each)" "$u" "" "$p" \
	"objects $(printf '%.0f' "$o")"
awk -v u="$u" -v p="$p" -v o="$o" 'BEGIN { printf "    --python-objects: %.1fx untraced (%.2fx without it), %.1f us more per small object\n", o / u, p / u, (o - p) / 2000 }'
echo "  commands: $ALLOCSCOPE -p PID [--no-python | --python-objects];" \
	"$PY $WORKLOAD alloc $N DEPTH | app $APP_N | tuples $N"
