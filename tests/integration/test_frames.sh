#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Frames that are not a symbol of a file: JIT code in anonymous memory (named from the
# process's /tmp/perf-PID.map, which must be its own regular file; otherwise shown as [jit],
# never as the last symbol of some file), code of a stripped file (module+0xFILEOFFSET, the
# offset alloc_target's symbol table predicts) and the source line of a -g build's call.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

JIT=$TARGET_DIR/jit_target
STRIPPED=$TARGET_DIR/alloc_target_stripped
SRC=$ROOT/tests/targets/alloc_target.c
# jit_target's function: the return address of its malloc call is at +0x15.
JIT_RET=21

setup
for b in "$JIT" "$STRIPPED"; do
	[ -x "$b" ] || die "$b not built (run make all)"
done
MAPS=()
cleanup_maps()
{
	rm -rf "${MAPS[@]}"
}
trap 'rc=$?; cleanup_maps; (exit $rc); cleanup' EXIT

# wait_json NAME EXPR WANT: waits until EXPR over tool run NAME's reports is WANT.
wait_json()
{
	poll_json "${S_OUT[$1]}" "$2" "$SCENARIO_TIMEOUT" "$3" && return 0
	fail "$1: no report where $2 = $3"
	return 1
}

# jit NAME SCENARIO...: a jit_target; sets CODE[NAME] and DEEP[NAME], the addresses of its
# functions that call malloc and jit_helper.
declare -A CODE DEEP
jit()
{
	start_target "$1" "$JIT" "${@:2}"
	CODE[$1]=$(sed -n 's/^code 0x\([0-9a-f]*\) .*/\1/p' "${T_OUT[$1]}")
	DEEP[$1]=$(sed -n 's/^code .* 0x\([0-9a-f]*\)$/\1/p' "${T_OUT[$1]}")
	[ -n "${CODE[$1]}" ] && [ -n "${DEEP[$1]}" ] || die "target $1 printed no code address"
	MAPS+=("/tmp/perf-${T_PID[$1]}.map")
}

jit named perf_map jit_leak jit_deep
jit bare jit_leak jit_deep
for n in link fifo long owner; do
	jit $n jit_leak
done
# Hostile maps, each in place before the JIT code runs. A symlink, here to a file that would
# name the code: not followed.
printf '%x 17 linked_fn\n' "0x${CODE[link]}" >"$TMP/elsewhere.map"
ln -s "$TMP/elsewhere.map" "/tmp/perf-${T_PID[link]}.map"
# A FIFO nobody writes: must not block allocscope.
mkfifo "/tmp/perf-${T_PID[fifo]}.map"
# A 1 MiB line (skipped), then a good line (read); and a good map of another owner (nobody).
{
	printf '%x 17 ' "0x${CODE[long]}"
	head -c $((1 << 20)) /dev/zero | tr '\0' A
	printf '\n%x 17 after_long_line\n' "0x${CODE[long]}"
} >"/tmp/perf-${T_PID[long]}.map"
printf '%x 17 not_its_own\n' "0x${CODE[owner]}" >"/tmp/perf-${T_PID[owner]}.map"
chown nobody "/tmp/perf-${T_PID[owner]}.map"

NAMES="named bare link fifo long owner"
PIDS=$(for n in $NAMES; do printf '%s,' "${T_PID[$n]}"; done)
# JSON and text, from two allocscope runs side by side: a run sees only what is allocated
# after it starts.
start_tool jit -p "${PIDS%,}" "${JSON_ARGS[@]}" -s live
start_tool jtext -p "${T_PID[named]},${T_PID[bare]}" -i 1 -s live -T 100
for n in $NAMES; do
	wait_tracing jit "${T_PID[$n]}"
done
wait_tracing jtext "${T_PID[named]}"
wait_tracing jtext "${T_PID[bare]}"
run_scenario named perf_map
for n in $NAMES; do
	run_scenario "$n" jit_leak
done
run_scenario named jit_deep
run_scenario bare jit_deep
# Until every target's jit_leak site (and the two jit_deep sites) are in a report.
wait_json jit "sorted(s['pid'] for s in last['sites'] if s['live_objects'] == 300)" \
	"$(python3 -c "print(sorted([${PIDS%,}, ${T_PID[named]}, ${T_PID[bare]}]))")"
stop_tool jit INT 5 "jit"
assert_eq "jit: allocscope exit status" 0 "$TOOL_RC"
js=${S_OUT[jit]}
# jit_frame NAME [FRAME BYTES CODE]: frames[FRAME] (1) of NAME's site of BYTES (jit_leak's
# 900000) as (symbol, offset, module, addr - CODE).
jit_frame()
{
	local i=${2:-1}
	json_eval "$js" "[(frame(s, $i)['symbol'], frame(s, $i)['offset'], frame(s, $i)['module'],
		int(frame(s, $i)['addr'], 16) - 0x${4:-${CODE[$1]}}) for s in sites(last, ${T_PID[$1]})
		if s['live_bytes'] == ${3:-900000} and s['live_objects'] == 300]"
}
assert_eq "jit: perf map names the JIT function" \
	"[('jit_leak_fn', $JIT_RET, '[jit]', $JIT_RET)]" "$(jit_frame named)"
assert_eq "jit: without a perf map, JIT code unnamed (not a file's last symbol)" \
	"[('[unknown]', 0, '[jit]', $JIT_RET)]" "$(jit_frame bare)"
# JIT code as a deeper caller: malloc <- jit_helper <- JIT code.
assert_json "jit: jit_deep's frames[1] is jit_helper" "$js" \
	"sorted((s['pid'], frame(s, 1)['symbol'], frame(s, 1)['module']) for s in last['sites']
		if s['live_bytes'] == 600000)" \
	"$(python3 -c "print(sorted([(${T_PID[named]}, 'jit_helper', 'jit_target'),
		(${T_PID[bare]}, 'jit_helper', 'jit_target')]))")"
assert_eq "jit: perf map names the JIT caller of jit_helper (frames[2])" \
	"[('jit_deep_fn', $JIT_RET, '[jit]', $JIT_RET)]" \
	"$(jit_frame named 2 600000 "${DEEP[named]}")"
assert_eq "jit: without a perf map, the JIT caller of jit_helper is [jit] (frames[2])" \
	"[('[unknown]', 0, '[jit]', $JIT_RET)]" "$(jit_frame bare 2 600000 "${DEEP[bare]}")"
assert_eq "jit: perf map that is a symlink: not followed" \
	"[('[unknown]', 0, '[jit]', $JIT_RET)]" "$(jit_frame link)"
assert_eq "jit: perf map that is a FIFO: ignored" \
	"[('[unknown]', 0, '[jit]', $JIT_RET)]" "$(jit_frame fifo)"
assert_eq "jit: perf map with a 1 MiB line: the line skipped, the next one read" \
	"[('after_long_line', $JIT_RET, '[jit]', $JIT_RET)]" "$(jit_frame long)"
assert_eq "jit: perf map owned by another user: ignored" \
	"[('[unknown]', 0, '[jit]', $JIT_RET)]" "$(jit_frame owner)"
assert_json "jit: the JIT frames carry no file offset" "$js" \
	"[f for s in last['sites'] for f in s['frames'] if f['module'] == '[jit]' and 'file_offset' in f]" \
	"[]"

# The text report: "jit_leak_fn+0x15 ([jit])", and the bare code by its address.
wait_for_line "${S_OUT[jtext]}" '^ +jit_leak_fn' "$SCENARIO_TIMEOUT"
stop_tool jtext INT 5 "jit text"
assert_eq "jit text: exit status" 0 "$TOOL_RC"
assert_grep "jit text: the named JIT frame" "${S_OUT[jtext]}" '^ +jit_leak_fn\+0x15 \(\[jit\]\)$'
assert_grep "jit text: the unnamed JIT frame" "${S_OUT[jtext]}" \
	"^ +0x$(printf '%x' $((0x${CODE[bare]} + JIT_RET))) \\(\\[jit\\]\\)\$"
for n in $NAMES; do
	target_alive "$n" || fail "target $n died"
	stop_target "$n"
done

# Stripped code by file offset, -g code by file:line. The stripped copy's code bytes and
# offsets are alloc_target's, so alloc_target's symbol table says where leak_malloc is.
start_target full "$TARGET_DIR/alloc_target" leak_malloc
start_target strip "$STRIPPED" leak_malloc
start_tool files -p "${T_PID[full]},${T_PID[strip]}" "${JSON_ARGS[@]}"
start_tool ftext -p "${T_PID[full]},${T_PID[strip]}" -i 1 -s live -T 100
for t in files ftext; do
	wait_tracing $t "${T_PID[full]}"
	wait_tracing $t "${T_PID[strip]}"
done
run_scenario full leak_malloc
run_scenario strip leak_malloc
wait_json files "sorted(s['pid'] for s in last['sites'] if s['live_objects'] == 1000)" \
	"$(python3 -c "print(sorted([${T_PID[full]}, ${T_PID[strip]}]))")"
stop_tool files INT 5 "files"
assert_eq "files: allocscope exit status" 0 "$TOOL_RC"
js=${S_OUT[files]}
# leak_malloc's file offset: its st_value through the PT_LOAD segment holding it.
sym_off=$(python3 - "$TARGET_DIR/alloc_target" <<'PY'
import re, subprocess, sys
exe = sys.argv[1]
syms = subprocess.run(["readelf", "-sW", exe], capture_output=True, text=True).stdout
value = [int(l.split()[1], 16) for l in syms.splitlines() if l.split()[-1:] == ["leak_malloc"]][0]
for l in subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True).stdout.splitlines():
    f = l.split()
    if f[:1] == ["LOAD"]:
        off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
        if vaddr <= value < vaddr + filesz:
            print(value - vaddr + off)
PY
)
ret=$(json_eval "$js" "[frame(s, 1)['offset'] for s in sites(last, ${T_PID[full]}, 'leak_malloc')]")
ret=${ret#[}
ret=${ret%]}
[[ "$ret" =~ ^[0-9]+$ ]] || die "files: alloc_target's leak_malloc frame not found ($ret)"
want_off=$((sym_off + ret))
log "leak_malloc at file offset $sym_off, its call returns to +$ret: 0x$(printf '%x' $want_off)"
assert_eq "files: alloc_target's frame file_offset = leak_malloc's + return offset" \
	"[$want_off]" \
	"$(json_eval "$js" "[frame(s, 1).get('file_offset') for s in sites(last, ${T_PID[full]}, 'leak_malloc')]")"
assert_eq "files: stripped frames[1] (symbol, module, file_offset)" \
	"[('[unknown]', 'alloc_target_stripped', $want_off)]" \
	"$(json_eval "$js" "[(frame(s, 1)['symbol'], frame(s, 1)['module'], frame(s, 1).get('file_offset'))
		for s in sites(last, ${T_PID[strip]}) if s['live_objects'] == 1000]")"
assert_eq "files: stripped frames[1] path and build-id" \
	"[('$STRIPPED', '$(readelf -n "$STRIPPED" | sed -n 's/.*Build ID: //p')')]" \
	"$(json_eval "$js" "[(frame(s, 1).get('path'), frame(s, 1).get('build_id'))
		for s in sites(last, ${T_PID[strip]}) if s['live_objects'] == 1000]")"
line=$(grep -n '/\* site: leak_malloc \*/' "$SRC" | cut -d: -f1)
assert_eq "files: alloc_target's leak_malloc frame: file and line" "[('alloc_target.c', $line)]" \
	"$(json_eval "$js" "[(frame(s, 1).get('file', '').split('/')[-1], frame(s, 1).get('line'))
		for s in sites(last, ${T_PID[full]}, 'leak_malloc')]")"
assert_eq "files: the allocator's own frame has no line" "[None]" \
	"$(json_eval "$js" "[frame(s, 0).get('line') for s in sites(last, ${T_PID[full]}, 'leak_malloc')]")"

wait_for_line "${S_OUT[ftext]}" '^ +alloc_target_stripped\+' "$SCENARIO_TIMEOUT"
wait_for_line "${S_OUT[ftext]}" '^ +leak_malloc ' "$SCENARIO_TIMEOUT"
stop_tool ftext INT 5 "files text"
assert_eq "files text: exit status" 0 "$TOOL_RC"
assert_grep "files text: the stripped frame as module+0xFILEOFFSET" "${S_OUT[ftext]}" \
	"^ +alloc_target_stripped\\+0x$(printf '%x' $want_off)\$"
assert_grep "files text: the -g frame as function (file:line)" "${S_OUT[ftext]}" \
	"^ +leak_malloc \\(alloc_target\\.c:$line\\)\$"
stop_target full
stop_target strip
finish
