#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Targets that control the files allocscope reads: a process in its own user and mount
# namespace with a crafted libc bound over the libc path, one that hides its libc behind an
# empty tmpfs, one that truncates its library as allocscope opens it, chroots and a
# container whose debug-file path is a symlink out of it, and processes caught before ld.so
# mapped their libc. The traced processes keep running; allocscope reads only the files
# really mapped, never a host file through a target's symlink, and exits 0.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
# The checks are per process, several of which run one binary: one row per process.
LIBC=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' /proc/$$/maps)
[ -n "$LIBC" ] || skip "bash maps no libc.so.6"
for t in late_libc pivot_exec trunc_lib; do
	[ -x "$TARGET_DIR/$t" ] || die "$TARGET_DIR/$t not built (run make all)"
done
command -v objdump >/dev/null || skip "objdump not found"

# A copy of alloc_target named COMM (the comm a process of it gets). Echoes its path.
named_target()
{
	mkdir -p "$TMP/bin" && cp "$TARGET_DIR/alloc_target" "$TMP/bin/$1" || die "cannot copy"
	echo "$TMP/bin/$1"
}

# check_victim LABEL OUT PID: the victim's exact sites in the final report.
check_victim()
{
	assert_json "$1: victim's leak_malloc live_bytes" "$2" \
		"ssum(last, 'live_bytes', $3, 'leak_malloc')" 100000
	assert_json "$1: victim's leak_malloc live_objects" "$2" \
		"ssum(last, 'live_objects', $3, 'leak_malloc')" 1000
	assert_json "$1: victim's churn frees over all reports" "$2" \
		"total('frees', $3, 'churn')" 100000
}

# --- A crafted libc bound over the libc path in an unprivileged namespace -----------------
# The attacker (nobody, user + mount namespace) maps the real libc, then binds a copy whose
# `free` points into the middle of an instruction over the libc path: only its own view
# changes. A root victim of the same comm maps the real libc.

# start_attacker NAME COMM
start_attacker()
{
	# shellcheck disable=SC2016 # expanded by the attacker's shell
	start_target "$1" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		unshare -Urm sh -c 'mount --bind "$1" "$2" || exit 1
			printf %s "$3" >/proc/$$/comm; echo "pid $$"; read -r _' \
		sh "$TMP/crafted.so" "$LIBC" "$2"
	cmp -s "/proc/${T_PID[$1]}/root$LIBC" "$TMP/crafted.so" ||
		skip "cannot bind a file in an unprivileged user namespace here"
}

# attack_run LABEL ARGS...: the attacker and a victim of one comm, traced with ARGS
# (%A and %V stand for their pids).
attack_run()
{
	local label=$1 comm=hfy_$$ a v args=()
	shift
	start_attacker att "$comm"
	start_target vic "$(named_target "$comm")" churn leak_malloc
	a=${T_PID[att]} v=${T_PID[vic]}
	for x in "$@"; do x=${x//%A/$a}; args+=("${x//%V/$v}"); done
	start_tool s "${args[@]}" -v --group-by process "${JSON_ARGS[@]}"
	wait_tracing s "$a"
	wait_tracing s "$v"
	run_scenario vic churn 60
	run_scenario vic leak_malloc 30
	if target_alive vic; then
		pass "$label: the victim is alive after 100000 frees"
	else
		fail "$label: the victim died"
		show "${T_ERR[vic]}"
	fi
	stop_tool s INT 5 "$label"
	assert_eq "$label: allocscope exit status" 0 "$TOOL_RC"
	check_victim "$label" "${S_OUT[s]}" "$v"
	stop_target vic
	kill_target att
}

section_attack()
{
	local off
	chmod 711 "$TMP"
	off=$(python3 "$ROOT/tests/integration/craft_libc.py" "$LIBC" "$TMP/crafted.so") ||
		die "cannot craft the libc copy"
	chmod 644 "$TMP/crafted.so"
	log "crafted libc: free at +0x$off, inside an instruction of the real free"
	attack_run "--comm" --comm hfy_$$
	attack_run "-p A,B" -p %A,%V
}

# --- A libc hidden behind an empty tmpfs, then a victim of the same comm -----------------
section_hider()
{
	local comm=hfz_$$
	# shellcheck disable=SC2016 # expanded by the hider's shell
	start_target hid unshare -m --propagation private sh -c \
		'mount -t tmpfs none "$1" || exit 1; printf %s "$2" >/proc/$$/comm; echo "pid $$"; read -r _' \
		sh "$(dirname "$LIBC")" "$comm"
	[ -e "/proc/${T_PID[hid]}/root$LIBC" ] && die "the hider's libc path still exists"
	start_tool h --comm "$comm" -v --group-by process "${JSON_ARGS[@]}"
	wait_tracing h "${T_PID[hid]}"
	pass "hider: traced through map_files although its libc path is hidden"
	start_target vic "$(named_target "$comm")" churn leak_malloc
	wait_tracing h "${T_PID[vic]}"
	pass "hider: a victim of the same comm is traced after it"
	run_scenario vic churn 60
	run_scenario vic leak_malloc 30
	stop_tool h INT 5 hider
	assert_eq "hider: allocscope exit status" 0 "$TOOL_RC"
	check_victim hider "${S_OUT[h]}" "${T_PID[vic]}"
	stop_target vic
	kill_target hid
}

# --- A target truncating its own library while allocscope reads it -----------------------
section_truncate()
{
	local big= f i unwind
	for f in /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0 /usr/lib/x86_64-linux-gnu/libcapstone.so.4 \
		/usr/lib/x86_64-linux-gnu/libstdc++.so.6; do
		[ -r "$f" ] && big=$(readlink -f "$f") && break
	done
	[ -n "$big" ] || die "no library to copy"
	# The truncation races with allocscope's reads: three runs each with the unwinder's
	# tables (which read the file too) and without them.
	for i in 1 2 3 fp1 fp2 fp3; do
		cp "$big" "$TMP/big$i.so" || die "cannot copy $big"
		start_target tr "$TARGET_DIR/trunc_lib" "$TMP/big$i.so"
		wait_for_line "${T_OUT[tr]}" '^loaded$' 10 ||
			{ show "${T_ERR[tr]}"; die "trunc_lib did not load"; }
		unwind=()
		[[ $i == fp* ]] && unwind=(--unwind fp)
		start_tool trs -p "${T_PID[tr]}" -d 2 "${unwind[@]}" "${JSON_ARGS[@]}"
		wait_tool trs 60 || die "allocscope -d 2 still running after 60 s"
		assert_grep "truncate $i: the library was truncated while allocscope read it" \
			"${T_OUT[tr]}" '^truncated [0-9]+$'
		assert_eq "truncate $i: allocscope exit status (135: SIGBUS)" 0 "$TOOL_RC"
		kill_target tr
	done
}

# --- Chroots ---------------------------------------------------------------------------------
# make_root DIR COMM: a root holding alloc_target as /bin/COMM and copies of its libraries.
make_root()
{
	local dir=$1 lib
	mkdir -p "$dir/bin" || die "mkdir $dir"
	cp "$TARGET_DIR/alloc_target" "$dir/bin/$2" || die "cannot copy alloc_target"
	for lib in $(ldd "$TARGET_DIR/alloc_target" | grep -o '/[^ ]*'); do
		mkdir -p "$dir$(dirname "$lib")" && cp "$(readlink -f "$lib")" "$dir$lib" ||
			die "cannot copy $lib"
	done
}

# A plain chroot: its maps show host paths (the chroot's directory and all).
section_chroot()
{
	local comm=hfc_$$
	make_root "$TMP/chroot" "$comm"
	start_target ch chroot "$TMP/chroot" "/bin/$comm" leak_malloc
	start_tool ch -p "${T_PID[ch]}" "${JSON_ARGS[@]}"
	wait_tracing ch "${T_PID[ch]}"
	run_scenario ch leak_malloc 30
	stop_tool ch INT 5 chroot
	assert_eq "chroot: allocscope exit status" 0 "$TOOL_RC"
	assert_json "chroot: leak_malloc live_bytes" "${S_OUT[ch]}" \
		"ssum(last, 'live_bytes', ${T_PID[ch]}, 'leak_malloc')" 100000
	stop_target ch
}

# A container (own mount namespace, pivot_root): the build-id path of its libc's debug file
# is an absolute symlink to a host file, which must resolve inside the container.
section_container()
{
	local comm=hfp_$$ root=$TMP/container bid real=$ALLOCSCOPE child
	command -v strace >/dev/null || skip "strace not found"
	make_root "$root" "$comm"
	bid=$(readelf -n "$LIBC" | awk '/Build ID/ { print $3; exit }')
	[ -n "$bid" ] || die "libc has no build-id"
	echo secret >"$TMP/host_secret"
	mkdir -p "$root/usr/lib/debug/.build-id/${bid:0:2}"
	ln -s "$TMP/host_secret" "$root/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug"
	start_target ct "$TARGET_DIR/pivot_exec" "$root" "/bin/$comm" leak_malloc
	cat >"$TMP/traced_allocscope" <<EOS
#!/bin/sh
exec strace -f -y -o "$TMP/strace.out" -e trace=open,openat,openat2 "$real" "\$@"
EOS
	chmod +x "$TMP/traced_allocscope"
	ALLOCSCOPE=$TMP/traced_allocscope
	start_tool ct -p "${T_PID[ct]}" "${JSON_ARGS[@]}"
	ALLOCSCOPE=$real
	# Signals go to allocscope, strace's child; strace exits with its status.
	for _ in $(seq 100); do
		child=$(pgrep -P "${S_PID[ct]}" | head -1)
		[ -n "$child" ] && break
		sleep 0.05
	done
	[ -n "$child" ] || die "strace started no allocscope"
	S_PID[ct]=$child
	wait_tracing ct "${T_PID[ct]}" 30
	run_scenario ct leak_malloc 30
	stop_tool ct INT 10 container
	assert_eq "container: allocscope exit status" 0 "$TOOL_RC"
	assert_json "container: leak_malloc live_bytes" "${S_OUT[ct]}" \
		"ssum(last, 'live_bytes', ${T_PID[ct]}, 'leak_malloc')" 100000
	assert_grep "container: the build-id debug path was looked up" "$TMP/strace.out" \
		"\\.build-id/${bid:0:2}/${bid:2}\\.debug"
	if grep -q host_secret "$TMP/strace.out"; then
		fail "container: allocscope opened the host file the container's symlink names"
		grep host_secret "$TMP/strace.out" | head -3 | sed 's/^/    /'
	else
		pass "container: the host file behind the container's symlink was never opened"
	fi
	stop_target ct
}

# --- --comm: processes caught before their libc is mapped -----------------------------------
# late_libc (static, stripped: no allocator) waits for a line, then execs alloc_target under
# the same comm. Each is seen without an allocator first, then traced after its exec.
section_late()
{
	local comm=hfl_$$ pids=() pid i
	mkdir -p "$TMP/bin" "$TMP/dyn"
	cp "$TARGET_DIR/late_libc" "$TMP/bin/$comm" || die "cannot copy late_libc"
	cp "$TARGET_DIR/alloc_target" "$TMP/dyn/$comm" || die "cannot copy alloc_target"
	start_tool l --comm "$comm" -v --group-by process "${JSON_ARGS[@]}"
	wait_for_line "${S_ERR[l]}" '[Ww]aiting' 10 || die "no waiting line"
	for i in 1 2 3; do
		start_target "l$i" "$TMP/bin/$comm" "$TMP/dyn/$comm" leak_malloc
		pid=${T_PID[l$i]}
		wait_for_line "${S_ERR[l]}" "pid $pid .*maps no object" 15 ||
			{ show "${S_ERR[l]}"; die "pid $pid: no line saying it maps no allocator"; }
		send_line "l$i" exec
		wait_tracing l "$pid"
		run_scenario "l$i" leak_malloc 30
		pids+=("$pid")
	done
	stop_tool l INT 5 late
	assert_eq "late libc: allocscope exit status" 0 "$TOOL_RC"
	assert_eq "late libc: processes traced after their exec" 3 \
		"$(grep -cE "tracing pid ($(IFS='|'; echo "${pids[*]}")) " "${S_ERR[l]}")"
	for pid in "${pids[@]}"; do
		assert_json "late libc: pid $pid leak_malloc live_bytes" "${S_OUT[l]}" \
			"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 100000
	done
	for i in 1 2 3; do stop_target "l$i"; done
}

# --- --comm: short-lived processes that allocate at once, one after another -----------------
# Each allocates from its first instruction on (churn, then slow_leak until a line comes)
# and exits once traced.
section_loop()
{
	local comm=hfn_$$ bin i n=0 seen=0 pid
	bin=$(named_target "$comm")
	start_tool n --comm "$comm" --group-by process "${JSON_ARGS[@]}"
	wait_for_line "${S_ERR[n]}" '[Ww]aiting' 10 || die "no waiting line"
	for i in $(seq 10); do
		start_target nt "$bin" --no-wait churn slow_leak
		pid=${T_PID[nt]}
		wait_tracing n "$pid"
		# A report with a site of it: its allocations are seen, not just probed.
		wait_for_line "${S_OUT[n]}" "\"pid\":$pid," 15 && seen=$((seen + 1))
		send_line nt
		stop_target nt && n=$((n + 1))
	done
	stop_tool n INT 5 loop
	assert_eq "loop: allocscope exit status" 0 "$TOOL_RC"
	assert_eq "loop: processes that ran to their end" 10 "$n"
	assert_eq "loop: processes traced" 10 "$(grep -c "tracing pid [0-9]* ($comm)" "${S_ERR[n]}")"
	assert_eq "loop: processes whose sites were reported" 10 "$seen"
}

# HOSTILE_SECTIONS picks some (e.g. to run one against an older build).
for section in ${HOSTILE_SECTIONS:-attack hider truncate chroot container late loop}; do
	"section_$section"
done
finish
