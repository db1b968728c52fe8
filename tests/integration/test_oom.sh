#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A target grows without bound in a memory cgroup of 64 MiB until the OOM killer kills it:
# a report comes at once, naming the victim ("OOM-killed: pid N (comm)", JSON oom_victim),
# with its growing site as it stood at the kill. allocscope goes on tracing a second target
# (heap mode, JSON), or ends with that report as its final one when the victim was its only
# target (--mode rss, text: the exit must not give the victim's pages back before the report).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

LIMIT=$((64 << 20))
MIN_LIVE=$((40 << 20)) # the site's share of the 64 MiB: the rest is the program and libc
KILL_TIMEOUT=$((60 * TIME_SCALE))
CG=

# make_memcg: creates CG, a memory cgroup limited to LIMIT without swap, under this shell's
# own cgroup: cgroup v2 (at /sys/fs/cgroup, or /sys/fs/cgroup/unified beside v1) where its
# memory controller is on, else v1's memory hierarchy. In v2 a cgroup that holds processes
# cannot hand controllers to its children, so the new one goes under the nearest ancestor
# that gives them memory already (the root, at worst).
make_memcg()
{
	local root own parent
	for root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		grep -qw memory "$root/cgroup.controllers" 2>/dev/null || continue
		own=$(sed -n 's/^0:://p' /proc/self/cgroup)
		parent=$root$own
		while [ "$parent" != "$root" ] && ! grep -qw memory "$parent/cgroup.subtree_control"; do
			parent=$(dirname "$parent")
		done
		grep -qw memory "$parent/cgroup.subtree_control" ||
			skip "cgroup v2 at $root does not give its children the memory controller"
		CG=$parent/allocscope-oom.$$
		mkdir "$CG" || die "mkdir $CG"
		echo "$LIMIT" >"$CG/memory.max" || die "cannot set $CG/memory.max"
		[ -e "$CG/memory.swap.max" ] && echo 0 >"$CG/memory.swap.max"
		log "cgroup v2: $CG"
		return
	done
	root=/sys/fs/cgroup/memory
	[ -e "$root/memory.limit_in_bytes" ] || skip "no memory cgroup controller (v1 or v2)"
	own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' /proc/self/cgroup)
	CG=$root$own/allocscope-oom.$$
	mkdir "$CG" || die "mkdir $CG"
	echo "$LIMIT" >"$CG/memory.limit_in_bytes" || die "cannot set $CG/memory.limit_in_bytes"
	echo 0 >"$CG/memory.swappiness" 2>/dev/null
	log "cgroup v1: $CG"
}

# Kills what is left in the cgroup (a grower the kill missed: only this test's) and removes
# it, then cleans up as every test does.
# shellcheck disable=SC2317 # run by the EXIT trap
oom_cleanup()
{
	local rc=$? p
	[ -n "${S_PID[t]:-}" ] && kill -CONT "${S_PID[t]}" 2>/dev/null
	if [ -n "$CG" ] && [ -d "$CG" ]; then
		while read -r p; do
			kill -KILL "$p" 2>/dev/null
		done <"$CG/cgroup.procs"
		for _ in $(seq 100); do
			[ -z "$(cat "$CG/cgroup.procs" 2>/dev/null)" ] && break
			sleep 0.1
		done
		rmdir "$CG" 2>/dev/null || log "could not remove $CG"
	fi
	(exit "$rc")
	cleanup
}

# start_grower NAME: an alloc_target ready to run grow_until_oom, moved into the cgroup.
start_grower()
{
	start_target "$1" "$TARGET_DIR/alloc_target" grow_until_oom
	echo "${T_PID[$1]}" >"$CG/cgroup.procs" || die "cannot move pid ${T_PID[$1]} into $CG"
}

# grow NAME: starts the growth and waits for the OOM killer; returns the target's status as
# its timeout wrapper gives it (137: SIGKILL).
grow()
{
	local name=$1 deadline fd=${T_FD[$1]}
	send_line "$name" go
	deadline=$(deadline_ms "$KILL_TIMEOUT")
	while alive "${T_WRAP[$name]}" && [ "$(date +%s%3N)" -lt "$deadline" ]; do
		sleep 0.05
	done
	if alive "${T_WRAP[$name]}"; then
		show "${T_OUT[$name]}"
		die "target $name (pid ${T_PID[$name]}) not OOM-killed within $KILL_TIMEOUT s"
	fi
	wait "${T_WRAP[$name]}" 2>/dev/null
	local rc=$?
	T_PID[$name]=
	exec {fd}>&-
	return $rc
}

setup
trap oom_cleanup EXIT
make_memcg
grep -q total_vm /sys/kernel/tracing/events/oom/mark_victim/format 2>/dev/null ||
	grep -q total_vm /sys/kernel/debug/tracing/events/oom/mark_victim/format 2>/dev/null
counters=$? # 0: the kernel's tracepoint gives the victim's memory (Linux 6.8+)

# 1. Heap mode, JSON, two targets: the victim is reported at once, the other goes on.
start_grower g
start_target b "$TARGET_DIR/alloc_target" slow_leak
G=${T_PID[g]}
B=${T_PID[b]}
start_tool j -p "$G" -p "$B" "${JSON_ARGS[@]}"
out=${S_OUT[j]}
wait_tracing j "$G"
wait_tracing j "$B"
send_line b go # slow_leak: 4096 B every 10 ms in cache_insert() until its next line
grow g
assert_eq "the grower's status (its timeout wrapper's: 128 + SIGKILL)" 137 $?
wait_for_line "${S_ERR[j]}" "pid $G \\(alloc_target\\) was killed by the OOM killer" 20 ||
	fail "no 'pid $G (alloc_target) was killed by the OOM killer' line on stderr"
poll_json "$out" "any(r.get('oom_victim') == $G for r in reports)" 20 ||
	fail "no report with oom_victim $G within 20 s"
# Reports after the kill's must still show the other target.
poll_json "$out" "len([r for r in reports[[i for i, r in enumerate(reports)
	if r.get('oom_victim') == $G][0] + 1:] if sites(r, $B, 'cache_insert')]) >= 2" 20 ||
	fail "no two reports of pid $B's cache_insert after the kill"
assert_eq "allocscope still running after the kill" yes "$(alive "${S_WRAP[j]}" && echo yes)"
stop_tool j INT 5
assert_eq "allocscope exit status" 0 "$TOOL_RC"
send_line b # ends slow_leak
stop_target b
assert_json "reports naming an OOM victim" "$out" \
	"[r['oom_victim'] for r in reports if 'oom_victim' in r]" "[$G]"
oom="[r for r in reports if r.get('oom_victim') == $G][0]"
assert_json "the victim's name" "$out" "${oom}['oom_victims'][0]['comm']" alloc_target
assert_json "the kill's report is not the final one" "$out" "${oom}['final']" false
assert_json "grow_until_oom's live bytes at the kill are >= $MIN_LIVE" "$out" \
	"ssum($oom, 'live_bytes', $G, 'grow_until_oom') >= $MIN_LIVE" true
assert_json "grow_until_oom is within the cgroup's limit" "$out" \
	"ssum($oom, 'live_bytes', $G, 'grow_until_oom') <= $LIMIT" true
assert_json "the victim's sites are marked exited" "$out" \
	"all(s['exited'] for s in sites($oom, $G))" true
assert_json "the victim's sites are shown once" "$out" \
	"len([1 for r in reports if sites(r, $G, 'grow_until_oom') and
	      sites(r, $G, 'grow_until_oom')[0]['exited']])" 1
assert_json "pid $B is still a target in the kill's report" "$out" \
	"[t['pid'] for t in ${oom}['targets']]" "[$B]"
if [ "$counters" -eq 0 ]; then
	assert_json "the kernel's anon-rss of the victim is >= $MIN_LIVE and <= $LIMIT" "$out" \
		"$MIN_LIVE <= ${oom}['oom_victims'][0]['anon_rss_bytes'] <= $LIMIT" true
else
	log "the kernel's mark_victim tracepoint carries no memory counters (Linux 6.8+)"
fi

# 2. --mode rss, text, the victim alone: the report at once is the final one, and its pages
# are still charged to grow_until_oom although the process exited before the report.
start_grower r
R=${T_PID[r]}
start_tool t -p "$R" --mode rss --fault-sample 1 -i 1 -T 100 --max-overhead 0
wait_tracing t "$R"
# allocscope stopped, the victim's exit comes before allocscope reads the kill's event: the
# race a loaded machine may run, made certain.
kill -STOP "${S_PID[t]}"
grow r
assert_eq "the rss grower's status" 137 $?
kill -CONT "${S_PID[t]}"
if wait_tool t 20; then
	assert_eq "allocscope exit status after its only target's kill" 0 "$TOOL_RC"
else
	fail "allocscope still running 20 s after its only target was killed"
	stop_tool t INT 5
fi
# The last report (from its header line on): final, naming the victim, and the LIVE of the
# row whose stack has grow_until_oom.
read -r final named live <<<"$(python3 - "${S_OUT[t]}" "$R" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
last = text[text.rfind("\nallocscope ") + 1:] if "\nallocscope " in text else text
units = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
live, row = 0, None
for line in last.splitlines():
    m = re.match(r"^\s*\d+\s+([\d.]+) (B|KiB|MiB|GiB)\s", line)
    if m:
        row = float(m.group(1)) * units[m.group(2)]
    elif not line.strip():
        row = None
    elif row is not None and "grow_until_oom" in line:
        live, row = max(live, int(row)), None
print("yes" if "(final)" in last.splitlines()[0] else "no",
      "yes" if "OOM-killed: pid %s (alloc_target)" % sys.argv[2] in last else "no", live)
EOF
)"
assert_eq "the last text report is final" yes "$final"
assert_eq "it says 'OOM-killed: pid $R (alloc_target)'" yes "$named"
assert_ge "grow_until_oom's LIVE in it (rss)" "$MIN_LIVE" "$live"
assert_le "grow_until_oom's LIVE within the limit" "$LIMIT" "$live"
if [ "$named" != yes ] || [ "$live" -lt "$MIN_LIVE" ]; then
	show "${S_OUT[t]}" 40
	show "${S_ERR[t]}"
fi

finish
