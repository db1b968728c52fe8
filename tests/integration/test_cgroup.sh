#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --cgroup and --container on real cgroups made below this test's own cgroup, in the v2
# hierarchy and in a v1 one where they are mounted. A target inside is traced and counted
# exactly while an identical one outside is not; a process moved in after the start is
# followed, and so is the child it forks. Cgroups named as docker and Kubernetes name theirs
# (docker-ID.scope, kubepods...pod<UID>.../cri-containerd-ID.scope, /docker/ID) give each
# process its container id, pod UID and pid inside, and --container finds one by a prefix.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
bin=$TARGET_DIR/alloc_target

# mount_of FSTYPE [OPTION]: the mount point of the first FSTYPE mount (with OPTION among its
# superblock options), from mountinfo, whose optional fields end at " - ".
mount_of()
{
	awk -v fs="$1" -v opt="${2:-}" '{
		for (i = 7; i <= NF && $i != "-"; i++) ;
		if ($(i + 1) != fs) next
		if (opt != "" && ("," $(i + 3) ",") !~ ("," opt ",")) next
		print $5; exit }' /proc/self/mountinfo
}

# own_cgroup REGEX: this shell's path in the hierarchy whose /proc/self/cgroup line
# matches REGEX (e.g. '^0::' for v2).
own_cgroup()
{
	grep -E "$1" /proc/self/cgroup | head -1 | cut -d: -f3-
}

# Random container ids, so concurrent runs and real containers never share one.
new_id()
{
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

MADE=()       # cgroup directories made, parents first
HOME_PROCS=() # where a process moved in goes back to: each hierarchy's own cgroup.procs

# make_cgroup DIR: mkdir -p, remembering each level made for the cleanup.
make_cgroup()
{
	local d=$1 up=()
	while [ ! -d "$d" ]; do
		up=("$d" "${up[@]}")
		d=$(dirname "$d")
	done
	for d in "${up[@]}"; do
		mkdir "$d" || die "cannot make cgroup $d"
		MADE+=("$d")
	done
}

# Moves every process out of the cgroups made (back to the test's own), then removes them,
# deepest first: a cgroup with a process in it cannot be removed.
cgroup_cleanup()
{
	local i d p home
	for ((i = ${#MADE[@]} - 1; i >= 0; i--)); do
		d=${MADE[$i]}
		[ -d "$d" ] || continue
		for home in "${HOME_PROCS[@]}"; do
			[ "${d#"$(dirname "$home")"}" != "$d" ] || continue
			while read -r p; do
				echo "$p" >"$home" 2>/dev/null
			done <"$d/cgroup.procs"
		done
		rmdir "$d" 2>/dev/null || log "could not remove cgroup $d"
	done
}
trap 'rc=$?; cgroup_cleanup; (exit $rc); cleanup' EXIT

# move PID DIR: puts PID into cgroup DIR.
move()
{
	echo "$1" >"$2/cgroup.procs" || die "cannot move pid $1 into $2"
}

# host_pid NAME: a target started under unshare --pid --fork prints its pid inside (1); its
# pid here is the child of unshare, the child of the timeout wrapper.
host_pid()
{
	local u
	u=$(pgrep -P "${T_WRAP[$1]}" | head -1)
	pgrep -P "$u" | head -1
}

V2=$(mount_of cgroup2)
V1=$(mount_of cgroup pids)
V1_LINE='^[0-9]+:([^:]*,)?pids(,[^:]*)?:'
if [ -z "$V1" ]; then
	V1=$(mount_of cgroup name=systemd)
	V1_LINE='^[0-9]+:name=systemd:'
fi
[ -n "$V2" ] || [ -n "$V1" ] || skip "no cgroup hierarchy is mounted"

# Errors, before any BPF is loaded.
run_error()
{
	local what=$1 rc=$2 re=$3
	shift 3
	timeout "$TOOL_TIMEOUT" "$ALLOCSCOPE" "$@" -d 1 >"$TMP/err.out" 2>"$TMP/err.err"
	assert_eq "$what: exit status" "$rc" "$?"
	assert_grep "$what: message" "$TMP/err.err" "$re"
}
run_error "--cgroup naming no cgroup" 64 \
	"--cgroup /no-such-cgroup-$$: no such cgroup in any hierarchy under /sys/fs/cgroup" \
	--cgroup "/no-such-cgroup-$$"
run_error "--cgroup under /sys/fs/cgroup naming no cgroup" 64 \
	"--cgroup ${V2:-$V1}/no-such-cgroup-$$: no such cgroup" \
	--cgroup "${V2:-$V1}/no-such-cgroup-$$"
run_error "--cgroup with .." 64 "invalid --cgroup '/a/../b'" --cgroup /a/../b
run_error "--container matching no process" 2 \
	"--container 0000ffff0000: no running process is in a container" \
	--container 0000ffff0000
run_error "--cgroup with --pid" 64 "neither combines with --pid" --cgroup / -p 1
run_error "--container too short" 64 "invalid --container 'abc'" --container abc

if [ -z "$V2" ]; then
	log "SKIP v2: no cgroup2 hierarchy is mounted"
else
	own=$(own_cgroup '^0::')
	[ "$own" = / ] && own=
	base=$V2$own/allocscope-cg2-$$
	HOME_PROCS+=("$V2$own/cgroup.procs")
	id1=$(new_id)
	id2=$(new_id)
	id4=${id1:0:8}$(new_id | cut -c9-) # shares id1's first 8 digits
	uid=$(new_id | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1_\2_\3_\4_\5/')
	pod=$base/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$uid.slice
	make_cgroup "$base/docker-$id1.scope"
	make_cgroup "$base/docker-$id4.scope"
	make_cgroup "$pod/cri-containerd-$id2.scope"
	make_cgroup "$base/late"
	make_cgroup "$base/zombie"

	start_target in "$bin" leak_malloc
	start_target out "$bin" leak_malloc
	start_target kube unshare --pid --fork --kill-child "$bin" leak_calloc
	kpid=$(host_pid kube)
	[ -n "$kpid" ] || die "no pid for the target under unshare"
	move "${T_PID[in]}" "$base/docker-$id1.scope"
	move "$kpid" "$pod/cri-containerd-$id2.scope"
	sleep 300 &
	sleeper=$!
	move "$sleeper" "$base/docker-$id4.scope"

	# A zombie in the cgroup (its parent, exec'd into sleep, never reaps it) maps no memory.
	# The parent is moved in before it forks, so the zombie is born there.
	mkfifo "$TMP/zombie.go" || die "mkfifo"
	exec {zfd}<>"$TMP/zombie.go"
	timeout "$TARGET_TIMEOUT" bash -c 'read -r _ <"$0"; /bin/true & exec sleep 300' \
		"$TMP/zombie.go" 2>"$TMP/zombie.err" &
	zwrap=$!
	deadline=$(deadline_ms "$START_TIMEOUT")
	until zparent=$(pgrep -P "$zwrap" -x bash); do
		[ "$(date +%s%3N)" -lt "$deadline" ] || die "the zombie's parent did not start"
		sleep 0.05
	done
	move "$zparent" "$base/zombie"
	echo go >&"$zfd"
	zpid=
	until [ -n "$zpid" ] && grep -q '^State:.Z' "/proc/$zpid/status" 2>/dev/null; do
		if [ "$(date +%s%3N)" -ge "$deadline" ]; then
			show "$TMP/zombie.err"
			die "no zombie under pid $zparent"
		fi
		sleep 0.05
		zpid=$(pgrep -P "$zparent" -x true)
	done

	# The form relative to the hierarchy's root resolves too: run as nobody, it gets as far as
	# the privilege check (the v1 run below traces with it).
	# (A copy: the tree may sit where nobody cannot reach, such as under /root.)
	{ mkdir "$TMP/nobody" && cp "$ALLOCSCOPE" "$TMP/nobody/allocscope" &&
		chmod 755 "$TMP" "$TMP/nobody" "$TMP/nobody/allocscope"; } || die "cannot copy allocscope"
	timeout "$TOOL_TIMEOUT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$TMP/nobody/allocscope" --cgroup "$own/allocscope-cg2-$$" -d 1 >"$TMP/err.out" \
		2>"$TMP/err.err"
	assert_eq "relative --cgroup, as nobody: exit status" 3 "$?"
	assert_grep "relative --cgroup, as nobody: message" "$TMP/err.err" "must run as root"

	run_error "--container with an ambiguous prefix" 64 \
		"--container ${id1:0:8} is ambiguous: it starts the ids of (${id1:0:12}, ${id4:0:12}|${id4:0:12}, ${id1:0:12})" \
		--container "${id1:0:8}"

	start_tool cg --cgroup "$base" --group-by process "${JSON_ARGS[@]}"
	start_tool ct --container "${id2:0:12}" "${JSON_ARGS[@]}"
	wait_tracing cg "${T_PID[in]}"
	wait_tracing cg "$kpid"
	wait_tracing ct "$kpid"
	assert_grep "the start names the container" "${S_ERR[cg]}" \
		"^allocscope: tracing pid ${T_PID[in]} \(alloc_target\) in container ${id1:0:12}: "

	# A shell moved in after the start, then forking a target of its own.
	mkfifo "$TMP/late.go" "$TMP/child.in" || die "mkfifo"
	exec {lfd}<>"$TMP/late.go"
	exec {cfd}<>"$TMP/child.in"
	cat >"$TMP/late.sh" <<EOF
#!/bin/bash
read -r _ <"$TMP/late.go"
"$bin" leak_malloc <"$TMP/child.in" >"$TMP/child.out"
exit 0
EOF
	chmod 755 "$TMP/late.sh"
	timeout "$TARGET_TIMEOUT" "$TMP/late.sh" &
	lwrap=$!
	deadline=$(deadline_ms "$START_TIMEOUT")
	until late=$(pgrep -P "$lwrap" -x late.sh); do
		[ "$(date +%s%3N)" -lt "$deadline" ] || die "late.sh did not start"
		sleep 0.05
	done
	move "$late" "$base/late"
	wait_tracing cg "$late"
	# The late process was found by a rescan after the first, which met the zombie again.
	assert_eq "the zombie is said to map no memory once, not at every rescan" 1 \
		"$(grep -c "pid $zpid (true) maps no memory" "${S_ERR[cg]}")"
	echo go >&"$lfd"
	wait_for_line "$TMP/child.out" '^pid [0-9]+$' "$START_TIMEOUT" || die "the late child did not start"
	child=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/child.out")
	wait_tracing cg "$child"

	run_scenario in leak_malloc
	run_scenario out leak_malloc
	run_scenario kube leak_calloc
	echo go >&"$cfd"
	wait_for_line "$TMP/child.out" '^done leak_malloc$' "$SCENARIO_TIMEOUT" ||
		die "the late child did not finish leak_malloc"
	stop_tool cg INT 5 "--cgroup v2"
	assert_eq "--cgroup v2: exit status" 0 "$TOOL_RC"
	stop_tool ct INT 5 "--container"
	assert_eq "--container: exit status" 0 "$TOOL_RC"

	out=${S_OUT[cg]}
	IN=${T_PID[in]} OUT=${T_PID[out]}
	assert_json "v2: the target inside, leak_malloc (live bytes, objects)" "$out" \
		"(ssum(last, 'live_bytes', $IN, 'leak_malloc'), ssum(last, 'live_objects', $IN, 'leak_malloc'))" \
		"(100000, 1000)"
	assert_json "v2: the target in the pod, leak_calloc live bytes" "$out" \
		"ssum(last, 'live_bytes', $kpid, 'leak_calloc')" 60000
	assert_json "v2: the child of the process moved in later, leak_malloc live bytes" "$out" \
		"ssum(last, 'live_bytes', $child, 'leak_malloc')" 100000
	assert_json "v2: the identical target outside is in no report" "$out" \
		"[r for r in reports if $OUT in [s['pid'] for s in r['sites']] + [t['pid'] for t in r['targets']]]" "[]"
	assert_json "v2: scope" "$out" "last['scope']" cgroup
	assert_json "v2: the docker target's container, no pod, no pid inside" "$out" \
		"[(t.get('container'), t.get('pod_uid'), t.get('nspid')) for t in last['targets'] if t['pid'] == $IN]" \
		"[('${id1:0:12}', None, None)]"
	assert_json "v2: the pod target's container, pod UID and pid inside" "$out" \
		"[(t.get('container'), t.get('pod_uid'), t.get('nspid')) for t in last['targets'] if t['pid'] == $kpid]" \
		"[('${id2:0:12}', '${uid//_/-}', 1)]"
	assert_json "v2: processes[] carries them too" "$out" \
		"[(p.get('container'), p.get('pod_uid'), p.get('nspid')) for p in last['processes'] if p['pid'] == $kpid]" \
		"[('${id2:0:12}', '${uid//_/-}', 1)]"
	assert_json "v2: a process outside containers has no container field" "$out" \
		"[sorted(t) for t in last['targets'] if t['pid'] == $late]" "[['comm', 'pid']]"

	out=${S_OUT[ct]}
	assert_grep "--container: the full id is named" "${S_ERR[ct]}" "container ${id2:0:12} is $id2"
	assert_json "--container: only the container's process" "$out" \
		"sorted(set(s['pid'] for r in reports for s in r['sites']))" "[$kpid]"
	assert_json "--container: its leak_calloc live bytes" "$out" \
		"ssum(last, 'live_bytes', $kpid, 'leak_calloc')" 60000
	assert_json "--container: scope" "$out" "last['scope']" container

	stop_target in
	stop_target out
	stop_target kube
	echo quit >&"$cfd"
	kill "$sleeper"
	wait "$sleeper" 2>/dev/null
fi

if [ -z "$V1" ]; then
	log "SKIP v1: no cgroup v1 hierarchy is mounted"
else
	own=$(own_cgroup "$V1_LINE")
	[ "$own" = / ] && own=
	base=$V1$own/allocscope-cg1-$$
	HOME_PROCS+=("$V1$own/cgroup.procs")
	id3=$(new_id)
	make_cgroup "$base/docker/$id3"
	start_target in1 "$bin" leak_malloc
	start_target out1 "$bin" leak_malloc
	move "${T_PID[in1]}" "$base/docker/$id3"
	start_tool v1 --cgroup "$own/allocscope-cg1-$$" "${JSON_ARGS[@]}"
	wait_tracing v1 "${T_PID[in1]}"
	run_scenario in1 leak_malloc
	run_scenario out1 leak_malloc
	stop_tool v1 INT 5 "--cgroup v1"
	assert_eq "--cgroup v1: exit status" 0 "$TOOL_RC"
	out=${S_OUT[v1]}
	IN=${T_PID[in1]} OUT=${T_PID[out1]}
	assert_json "v1: the target inside, leak_malloc live bytes" "$out" \
		"ssum(last, 'live_bytes', $IN, 'leak_malloc')" 100000
	assert_json "v1: the identical target outside is in no report" "$out" \
		"[r for r in reports if $OUT in [s['pid'] for s in r['sites']] + [t['pid'] for t in r['targets']]]" "[]"
	assert_json "v1: the cgroupfs driver's /docker/ID names the container" "$out" \
		"[t.get('container') for t in last['targets']]" "['${id3:0:12}']"
	stop_target in1
	stop_target out1
fi
finish
