#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Whole native stacks (--no-python) through CPython built without frame pointers (pyenv's
# -O3 builds linking libpython3.X.so): a script's large bytes objects, eval loop to _start.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions

# The leaking script: 200 x 100033-byte bytes objects per "go", each through malloc.
LEAK_PY=$ROOT/tests/targets/py_leak.py

FRAMES="[f.get('symbol') + ' (' + f.get('module', '?') + ')' for f in s['frames']]"

# Frames every version has, in this order: the allocation in bytes_repeat, the eval loop,
# the script's code object, the run of the file, the entry point. python's main is
# `jmp Py_BytesMain`, a tail call: main is not on the stack, and Py_BytesMain's caller is
# __libc_start_call_main. Other frames may sit among these: 3.9 has _PyEval_EvalCode and a
# second _PyEval_EvalFrameDefault for the call of leak(), 3.12 run_eval_code_obj and
# pymain_run_python.constprop.0 (inlined elsewhere).
check_version()
{
	local py=$1 v lib exe out top frames mid
	v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	lib=libpython$v.so.1.0
	exe=$(basename "$(readlink -f "$py")")
	ldd "$py" | grep -q "$lib" || { fail "$py does not link $lib"; return; }
	start_target "py$v" "$py" "$LEAK_PY"
	PID=${T_PID[py$v]}
	start_tool "s$v" -p "$PID" --no-python "${JSON_ARGS[@]}"
	wait_tracing "s$v" "$PID"
	run_scenario "py$v" leak
	stop_tool "s$v" INT 5 "python $v"
	assert_eq "python $v: allocscope exit status" 0 "$TOOL_RC"
	out=${S_OUT[s$v]}
	json_eval "$out" 'len(reports)' >/dev/null ||
		{ show "$out"; show "${S_ERR[s$v]}"; fail "python $v: output is not JSON lines"; return; }
	top="max(through(last, 'bytes_repeat', $PID), key=lambda s: s['live_bytes'])"
	frames="(lambda s: $FRAMES)($top)"
	assert_json "python $v: top bytes_repeat site: live bytes, objects" "$out" \
		"(lambda s: (s['live_bytes'], s['live_objects']))($top)" "(20006600, 200)"
	log "python $v: frames $(json_eval "$out" "[f.get('symbol') for f in ($top)['frames']]")"
	assert_json "python $v: top site: first 3 frames" "$out" "${frames}[:3]" \
		"['malloc (libc.so.6)', '_PyObject_Malloc ($lib)', 'bytes_repeat ($lib)']"
	assert_json "python $v: top site: last 4 frames" "$out" "${frames}[-4:]" \
		"['Py_BytesMain ($lib)', '__libc_start_call_main (libc.so.6)', '__libc_start_main (libc.so.6)', '_start ($exe)']"
	mid="['_PyEval_EvalFrameDefault ($lib)', 'PyEval_EvalCode ($lib)', 'run_mod ($lib)', 'Py_RunMain ($lib)']"
	# Those of frames 3..-5 that are in mid, repeats in a row merged: mid itself, in order.
	assert_json "python $v: top site: frames in between, in order" "$out" \
		"(lambda fr: [x for i, x in enumerate(fr) if i == 0 or fr[i - 1] != x])(
		   [x for x in ${frames}[3:-4] if x in $mid])" "$mid"
	assert_json "python $v: top site: every frame named, in $lib, libc.so.6 or $exe" "$out" \
		"[x for x in $frames if x.startswith('[') or
		  not x.endswith(('($lib)', '(libc.so.6)', '($exe)'))]" "[]"
	stop_target "py$v"
	assert_eq "python $v: exit status" 0 $?
}

setup
pys=()
for v in 3.9 3.11 3.12 3.13; do
	for d in "$PYENV_VERSIONS/$v".*; do
		[ -x "$d/bin/python3" ] && pys+=("$d/bin/python3") && break
	done
done
[ ${#pys[@]} -gt 0 ] || skip "no pyenv python 3.9, 3.11, 3.12 or 3.13 under $PYENV_VERSIONS"
for py in "${pys[@]}"; do
	check_version "$py"
done
finish
