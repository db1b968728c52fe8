# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# One measurement per call for scripts/bench.sh (sourced): start a workload held at a gate,
# attach the row's tracer, open the gate, time the work, detach. Every workload waits until
# its process runs its own program (not the shell that forked it) before the tracer attaches.

# running PID: PID exists and has not exited (a child not yet reaped is a zombie).
running()
{
	local state
	state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# tracer_start ROW PID LOG: starts ROW's tracer on PID; sets SW (its timeout wrapper) and SPID.
tracer_start()
{
	local row=$1 pid=$2 log=$3 ready deadline

	SW="" SPID=""
	[ "${R_TOOL[$row]}" = none ] && return 0
	if [ "${R_TOOL[$row]}" = bpftrace ]; then
		# -p resolves "libc" and symbolizes in PID; the script filters on its argument.
		timeout -k 5 900 bpftrace -p "$pid" "$MEMLEAK_BT" "$pid" >"$log.out" 2>"$log.err" \
			</dev/null &
		ready="^memleak.bt: tracing"
	else
		# A long interval: no report is printed while the work is timed.
		# shellcheck disable=SC2086 # the arguments are words
		timeout -k 5 900 "$ALLOCSCOPE" -p "$pid" -i 3600 ${R_ARGS[$row]} >"$log.out" \
			2>"$log.err" </dev/null &
		ready="tracing pid $pid\\b"
	fi
	SW=$!
	PIDS+=("$SW")
	deadline=$(($(date +%s) + 120))
	until grep -Eq -- "$ready" "$log.out" "$log.err" 2>/dev/null; do
		if ! running "$SW" || [ "$(date +%s)" -ge "$deadline" ]; then
			ERR="${R_TOOL[$row]} did not attach: $(grep -v RLIMIT_MEMLOCK "$log.err" | head -1)"
			kill -TERM "$SW" 2>/dev/null
			wait "$SW" 2>/dev/null
			SW=""
			return 1
		fi
		sleep 0.05
	done
	SPID=$(pgrep -P "$SW" | head -1)
}

# tracer_stop ROW LOG: Ctrl-C for the tracer (allocscope exits by itself once its target is
# gone), SIGTERM after a minute; fails unless it exits 0.
tracer_stop()
{
	local rc i

	[ -z "$SW" ] && return 0
	[ -n "$SPID" ] && kill -INT "$SPID" 2>/dev/null
	for ((i = 0; i < 1200; i++)); do
		running "$SW" || break
		sleep 0.05
	done
	if running "$SW"; then
		kill -TERM "$SW"
		ERR="${R_TOOL[$1]} ignored SIGINT for 60 s"
	fi
	wait "$SW"
	rc=$?
	SW=""
	[ "$rc" -eq 0 ] && return 0
	[ -z "$ERR" ] && ERR="${R_TOOL[$1]} exited with $rc: $(grep -v RLIMIT_MEMLOCK "$2.err" | tail -1)"
	return 1
}

# cpu_mark / cpu_since: the tracer's CPU per wall second over the timed work, in TCPU.
cpu_mark()
{
	CPU0="" W0=$(date +%s.%N)
	[ -n "$SPID" ] && CPU0=$(tool_cpu "$SPID")
}
cpu_since()
{
	local c1
	TCPU=""
	[ -n "$CPU0" ] && c1=$(tool_cpu "$SPID") && TCPU=$(cpu_per_s "$CPU0" "$c1" "$W0")
}

# wait_reading PID SECONDS: until PID blocks in read(2) on its stdin, so it has exec'd and
# loaded its libraries.
wait_reading()
{
	local deadline=$(($(date +%s) + $2)) nr fd

	while running "$1" && [ "$(date +%s)" -lt "$deadline" ]; do
		read -r nr fd _ <"/proc/$1/syscall" 2>/dev/null
		[ "$nr" = 0 ] && [ "$fd" = 0x0 ] && return 0
		sleep 0.02
	done
	return 1
}

# gated ROW LOG CMD...: runs CMD (it prints "pid N", waits for a line on stdin, prints its
# result line, then waits for another line or exits) under ROW's tracer; leaves the result
# line's value in VALUE for the RESULT regex's first word after it.
gated()
{
	local row=$1 log=$2 key=$3 fifo fd tw tpid
	shift 3
	fifo=$log.in
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	timeout -k 5 900 "$@" <"$fifo" >"$log.target" 2>&1 &
	tw=$!
	PIDS+=("$tw")
	if ! wait_for "$log.target" '^pid [0-9]+$' 30; then
		ERR="$1 did not start: $(head -1 "$log.target")"
		kill -TERM "$tw" 2>/dev/null
		wait "$tw" 2>/dev/null
		exec {fd}>&-
		return 1
	fi
	tpid=$(sed -n 's/^pid //p' "$log.target")
	tracer_start "$row" "$tpid" "$log" || {
		kill -TERM "$tw" 2>/dev/null
		wait "$tw" 2>/dev/null
		exec {fd}>&-
		return 1
	}
	cpu_mark
	echo go >&"$fd"
	wait_for "$log.target" "^$key " 900 || ERR="no '$key' line from $1"
	cpu_since
	VALUE=$(sed -n "s/^$key //p" "$log.target")
	tracer_stop "$row" "$log" || VALUE=""
	echo quit >&"$fd"
	wait "$tw" 2>/dev/null
	exec {fd}>&-
	[ -n "$VALUE" ]
}

run_churn()
{
	gated "$1" "$2" ns_per_pair "$BENCH_TARGET" "$PAIRS"
}

run_json()
{
	gated "$1" "$2" ns_per_iter "$JSON_PY" "$PY_WORKLOAD" app "$JSON_RECORDS" || return 1
	VALUE=$(awk -v ns="$VALUE" 'BEGIN { printf "%.0f", 1e9 / ns }')
}

# sqlite_script: the SQL of the table build (one INSERT statement per row, in one
# transaction, as an application would issue them), then the count it must print.
sqlite_script()
{
	[ -s "$TMP/build.sql" ] && return
	awk -v n="$SQLITE_ROWS" 'BEGIN {
		print "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, email TEXT, score REAL);"
		print "BEGIN;"
		for (i = 1; i <= n; i++)
			printf "INSERT INTO t(name, email, score) VALUES (\x27user%d\x27, " \
				"\x27user%d@example.org\x27, %d.5);\n", (i * 7919) % n, i, i % 1000
		print "COMMIT;"
		print "CREATE INDEX t_name ON t(name);"
		print "CREATE INDEX t_score ON t(score, email);"
		print "SELECT count(*) FROM t;"
	}' >"$TMP/build.sql"
}

run_sqlite()
{
	local row=$1 log=$2 fifo=$2.in fd tpid t0 t1

	sqlite_script
	mkfifo "$fifo"
	exec {fd}<>"$fifo"
	sqlite3 -batch :memory: <"$fifo" >"$log.target" 2>&1 &
	tpid=$!
	PIDS+=("$tpid")
	wait_reading "$tpid" 30 || { ERR="sqlite3 did not start"; exec {fd}>&-; return 1; }
	tracer_start "$row" "$tpid" "$log" || {
		kill -TERM "$tpid"
		wait "$tpid"
		exec {fd}>&-
		return 1
	}
	cpu_mark
	t0=$(date +%s.%N)
	# .quit, not EOF: the tracer inherited the fifo's write end too.
	printf '.read %s\n.quit\n' "$TMP/build.sql" >&"$fd"
	wait "$tpid"
	exec {fd}>&-
	t1=$(date +%s.%N)
	cpu_since
	tracer_stop "$row" "$log" || return 1
	if [ "$(tail -1 "$log.target")" != "$SQLITE_ROWS" ]; then
		ERR="sqlite3: $(head -1 "$log.target")"
		return 1
	fi
	VALUE=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# run_redis: a private redis-server on a unix socket in TMP, no persistence, stopped after.
run_redis()
{
	local row=$1 log=$2 sock=$TMP/redis.sock rpid i ok=""

	rm -f "$sock"
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save "" \
		--appendonly no --dir "$TMP" --logfile "$log.server" --daemonize no </dev/null &
	rpid=$!
	PIDS+=("$rpid")
	for ((i = 0; i < 600; i++)); do
		[ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ] && ok=1 && break
		sleep 0.05
	done
	if [ -z "$ok" ]; then
		ERR="redis-server did not start: $(tail -1 "$log.server")"
		kill -TERM "$rpid" 2>/dev/null
		wait "$rpid" 2>/dev/null
		return 1
	fi
	tracer_start "$row" "$rpid" "$log" || {
		kill -TERM "$rpid"
		wait "$rpid" 2>/dev/null
		return 1
	}
	cpu_mark
	timeout -k 5 900 redis-benchmark -s "$sock" -t set -n "$REDIS_REQUESTS" --csv \
		>"$log.target" 2>&1
	cpu_since
	VALUE=$(awk -F'"' '$2 == "SET" { printf "%.0f", $4 }' "$log.target")
	tracer_stop "$row" "$log" || VALUE=""
	kill -TERM "$rpid"
	wait "$rpid" 2>/dev/null
	[ -n "$VALUE" ] && return 0
	[ -z "${ERR:-}" ] && ERR="redis-benchmark: $(grep -v '^"test"' "$log.target" | head -1)"
	return 1
}

# run_row ROW ROUND: one measurement of ROW; VALUE, TCPU on success, ERR on failure.
run_row()
{
	local log=$TMP/${1//\//-}.$2

	# shellcheck disable=SC2034 # TCPU is read by bench.sh
	VALUE="" TCPU="" ERR=""
	"run_${R_WORK[$1]}" "$1" "$log"
}
