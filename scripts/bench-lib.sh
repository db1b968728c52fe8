# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# Helpers shared by the bench scripts (sourced): a temporary directory and the processes to
# end with the script, waiting, medians, CPU time of a process, and whether the allocscope
# binary has an option.

die()
{
	echo "bench: $*" >&2
	exit 1
}

# bench_tmpdir NAME: TMP, a new directory removed at exit, and PIDS, the processes a run
# started, each sent SIGTERM at exit (Ctrl-C included).
bench_tmpdir()
{
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || die "mktemp failed"
	PIDS=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}

# wait_for FILE REGEX SECONDS
wait_for()
{
	local deadline=$(($(date +%s) + $3))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# tool_cpu PID: utime + stime of PID so far, in clock ticks (/proc/PID/stat); fails once
# PID is gone.
tool_cpu()
{
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null
}

# cpu_per_s TICKS0 TICKS1 WALL0: CPU seconds per wall second since WALL0, 3 decimals.
cpu_per_s()
{
	awk -v a="$1" -v b="$2" -v w0="$3" -v w1="$(date +%s.%N)" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f", (b - a) / hz / (w1 - w0) }'
}

# median "N N N": the median of space-separated numbers (other words are ignored).
median()
{
	tr ' ' '\n' <<<"$1" | grep -E '^-?[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# calc EXPR: awk arithmetic, one decimal.
calc()
{
	awk "BEGIN { printf \"%.1f\", $1 }"
}

# met VALUE GOAL: "met" when VALUE <= GOAL.
met()
{
	awk -v v="$1" -v g="$2" 'BEGIN { print (v <= g ? "met" : "NOT met") }'
}

# has_option HELP OPTION: true if allocscope's --help text HELP lists --OPTION (a whole
# option name: --mode is not --probe-mode).
has_option()
{
	grep -Eq -- "(^|[ ,])--$2([=[ ]|$)" <<<"$1"
}

# option_default HELP OPTION: the number after "default" in --OPTION's description, if any.
option_default()
{
	awk -v opt="--$2" '
		index($0, opt "=") || index($0, opt " ") { on = 1; print; next }
		on && match($0, /^ +-/) && RLENGTH < 10 { exit } # the next option, not a wrapped line
		on { print }' <<<"$1" | tr '\n' ' ' | grep -Eo 'default[: ]+[0-9.]+' | head -1 |
		grep -Eo '[0-9.]+$'
}
