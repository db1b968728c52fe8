# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# The table of scripts/bench.sh (sourced): medians per row, slowdown against the untraced
# row of the same workload (time ratio; for rates, untraced / traced), the churn's ratio to
# the floor, the tracer's own CPU, and every round's figure; then each row's command.

# fmt WORKLOAD VALUE: the figure in the workload's unit and precision.
fmt()
{
	case $1 in
	churn) printf '%.1f' "$2" ;;
	sqlite) printf '%.3f' "$2" ;;
	*) printf '%.0f' "$2" ;;
	esac
}

# ratio A B: A / B to two decimals, "-" without both.
ratio()
{
	if [ -z "$1" ] || [ -z "$2" ]; then
		echo -
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f\n", a / b }'
}

print_table()
{
	local row w="" m base floor slow xfloor cpu

	echo "allocscope cost, measured in one run: $COMMAND"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, load average" \
		"$(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds interleaved, medians"
	printf '%-44s %11s %9s %8s %8s  %s\n' "" MEDIAN SLOWDOWN "x FLOOR" "TOOL CPU" "ROUNDS"
	for row in "${ROWS[@]}"; do
		if [ "${R_WORK[$row]}" != "$w" ]; then
			w=${R_WORK[$row]}
			echo "${W_TITLE[$w]}"
			base=$(median "${RESULTS[$w/untraced]}")
			floor=$(median "${RESULTS[$w/floor]:-}")
		fi
		m=$(median "${RESULTS[$row]:-}")
		if [ -z "$m" ]; then
			printf '  %-42s %s\n' "${R_LABEL[$row]}" "${FAILS[$row]:-no result}"
			continue
		fi
		if [ -n "${W_RATE[$w]:-}" ]; then
			slow=$(ratio "$base" "$m")
		else
			slow=$(ratio "$m" "$base")
		fi
		xfloor=-
		[ "$w" = churn ] && [ "$row" != churn/untraced ] && xfloor=$(ratio "$m" "$floor")
		cpu=$(median "${TOOLCPU[$row]:-}")
		printf '  %-42s %11s %9s %8s %8s  %s\n' "${R_LABEL[$row]}" "$(fmt "$w" "$m")" \
			"$slow" "$xfloor" "${cpu:--}" "${RESULTS[$row]% }"
		[ -n "${FAILS[$row]}" ] && printf '  %-42s %s\n' "" "(some rounds ${FAILS[$row]})"
	done
	echo "SLOWDOWN: time ratio to untraced (rates: untraced / traced). x FLOOR: to the empty" \
		"programs. TOOL CPU: the tracer's user+system CPU per wall second during the work" \
		"(1.000 = a core)." | fold -s -w 100
}

print_commands()
{
	local row args w

	echo "Commands (PID: the workload's process; allocscope attaches before the work starts):"
	for w in "${WORKLOADS[@]}"; do
		case $w in
		churn) echo "  churn:  $BENCH_TARGET $PAIRS   (prints its pid, starts on a line on stdin)" ;;
		sqlite) echo "  sqlite: sqlite3 -batch :memory: < '.read build.sql'   ($SQLITE_ROWS" \
			"INSERTs in one transaction, two indexes)" ;;
		redis) echo "  redis:  redis-server --port 0 --unixsocket S --save '' --appendonly no;" \
			"redis-benchmark -s S -t set -n $REDIS_REQUESTS --csv" ;;
		json) echo "  json:   $JSON_PY $PY_WORKLOAD app $JSON_RECORDS" ;;
		esac
	done
	for row in "${ROWS[@]}"; do
		[ "${R_WORK[$row]}" = churn ] || [ "${row#*/}" != untraced ] || continue
		[ "${R_TOOL[$row]}" = none ] && continue
		if [ "${R_TOOL[$row]}" = bpftrace ]; then
			printf '  %-16s bpftrace -p PID %s PID\n' "$row" "$MEMLEAK_BT"
		else
			args=${R_ARGS[$row]}
			printf '  %-16s %s -p PID -i 3600%s\n' "$row" "$ALLOCSCOPE" "${args:+ $args}"
		fi
	done
}
