#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Stack truth rate: the frames allocscope reports for a leak, compared one by one with the
# frames gdb unwinds (with DWARF) at a breakpoint on that very allocation; 100 % required.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions

# gdb's physical frames at the breakpoint, innermost first, up to main (or to the outermost
# frame when main is not on the stack: python's main tail-calls Py_BytesMain), one
# "symbol<TAB>offset<TAB>module" line each. Frames gdb infers from DWARF are skipped, as no
# stack holds them: inlined calls (they share their caller's frame) and tail calls (gdb
# rebuilds them from DW_TAG_call_site: python 3.9's PyRun_AnyFileExFlags ends with
# `jmp PyRun_SimpleFileExFlags`, which returns straight to Py_RunMain). Names are the ELF symbols (`info symbol`, as allocscope reads .symtab/.dynsym),
# not DWARF names; a caller's pc is a return address, so its symbol is that of pc - 1.
write_gdb_script()
{
	cat >"$TMP/frames.py" <<'EOF'
import os, re
import gdb

out = []
f = gdb.newest_frame()
while f is not None:
    if f.type() not in (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME):
        pc = f.pc()
        back = 1 if out else 0
        info = gdb.execute("info symbol 0x%x" % (pc - back), to_string=True).strip()
        m = re.match(r"^(.+?)(?: \+ (\d+))? in section \S+(?: of (.+))?$", info)
        if m:
            name, off, mod = m.group(1), int(m.group(2) or 0) + back, m.group(3)
        else:
            name, off, mod = "[unknown]", 0, None
        if mod is None:
            mod = gdb.current_progspace().filename
        out.append((name, off, os.path.basename(os.path.realpath(mod))))
        if name == "main":
            break
    f = f.older()
for name, off, mod in out:
    print("GDBFRAME\t%s\t%d\t%s" % (name, off, mod))
EOF
}

# gdb_frames NAME SIZE CMD...: runs CMD under gdb, feeding it "go" lines, with a breakpoint
# on malloc's first instruction taken only for a request of SIZE bytes (a size nothing else
# in the target asks for); writes the frames to $TMP/NAME.gdb.
gdb_frames()
{
	local name=$1 size=$2
	shift 2
	printf 'go\ngo\n' >"$TMP/go.txt"
	# Stop at main first: libc is mapped then, so "malloc" is libc's, not the PLT entry.
	# (The arguments are paths and scenario names: no quoting needed in gdb's run line.)
	timeout -k 5 180 gdb -batch -nx -ex 'set pagination off' -ex 'set confirm off' \
		-ex 'set backtrace past-main on' -ex 'break main' -ex "run ${*:2} < $TMP/go.txt" \
		-ex "break *malloc if \$rdi == $size" -ex continue -ex "source $TMP/frames.py" \
		-ex kill "$1" >"$TMP/$name.gdbout" 2>&1
	sed -n 's/^GDBFRAME\t//p' "$TMP/$name.gdbout" >"$TMP/$name.gdb"
	[ -s "$TMP/$name.gdb" ] || { show "$TMP/$name.gdbout"; die "$name: gdb gave no frames"; }
}

# tool_frames NAME BINARY SCENARIO ARGS...: traces one run of BINARY ARGS... through
# SCENARIO; writes the frames of the site with the most live bytes to $TMP/NAME.tool.
tool_frames()
{
	local name=$1 bin=$2 scen=$3 pid
	shift 3
	start_target "$name" "$bin" "$@"
	pid=${T_PID[$name]}
	start_tool "s$name" -p "$pid" --no-python "${JSON_ARGS[@]}"
	wait_tracing "s$name" "$pid"
	run_scenario "$name" "$scen"
	stop_tool "s$name" INT 5 "$name"
	assert_eq "$name: allocscope exit status" 0 "$TOOL_RC"
	json_eval "${S_OUT[s$name]}" "'\n'.join('%s\t%d\t%s' % (f.get('symbol'), f.get('offset', -1),
		f.get('module')) for f in max(sites(last, $pid), key=lambda s: s['live_bytes'])['frames'])" \
		>"$TMP/$name.tool" || { show "$TMP/$name.tool"; show "${S_ERR[s$name]}"; }
	stop_target "$name"
}

# truth NAME: compares $TMP/NAME.tool with $TMP/NAME.gdb frame by frame; prints the rate.
truth()
{
	local name=$1 line rate
	line=$(python3 - "$TMP/$1.gdb" "$TMP/$1.tool" <<'EOF'
import re, sys

def norm(name):
    # gdb and allocscope may pick different ELF aliases of one address, and GCC clones carry
    # suffixes: glibc's hidden __GI_ aliases and __libc_malloc/__malloc are malloc;
    # __libc_start_main_impl is the versioned __libc_start_main; ".constprop.0", ".isra.0",
    # ".part.0" and ".cold" name clones of one source function (gdb drops the last ".0").
    name = re.sub(r"^__GI_+", "", name)
    name = {"libc_malloc": "malloc", "__libc_malloc": "malloc", "__malloc": "malloc",
            "__libc_start_main_impl": "__libc_start_main"}.get(name, name)
    return re.sub(r"(\.(constprop|isra|part|cold|lto_priv)(\.\d+)?)+$", "", name)

def frames(path):
    with open(path) as f:
        return [tuple(l.rstrip("\n").split("\t")) for l in f if l.strip()]

gdb, tool = frames(sys.argv[1]), frames(sys.argv[2])
good = 0
for i, g in enumerate(gdb):
    t = tool[i] if i < len(tool) else None
    ok = t is not None and norm(t[0]) == norm(g[0]) and t[1] == g[1] and t[2] == g[2]
    good += ok
    if not ok:
        print("  frame %d: gdb %s+%s (%s), allocscope %s" % (i, g[0], g[1], g[2],
              "%s+%s (%s)" % t if t else "nothing"), file=sys.stderr)
extra = tool[len(gdb):]
if extra and gdb[-1][0] != "main":
    print("  allocscope has %d frames past gdb's outermost" % len(extra), file=sys.stderr)
print("%d %d %.1f" % (good, len(gdb), 100.0 * good / len(gdb)))
EOF
	)
	read -r good total rate <<<"$line"
	printf 'stack truth %s: %s/%s frames (%s %%)\n' "$name" "$good" "$total" "$rate"
	if [ -n "$total" ] && [ "$good" = "$total" ]; then
		pass "$name: allocscope's frames are gdb's, up to main"
	else
		fail "$name: stack truth $good/$total: allocscope's frames differ from gdb's"
		sed 's/^/    gdb:        /' "$TMP/$name.gdb"
		sed 's/^/    allocscope: /' "$TMP/$name.tool"
	fi
}

setup
command -v gdb >/dev/null || skip "gdb not found (scripts/install-deps.sh installs it)"
write_gdb_script

# deep_target's 8-deep leak: malloc(888) in d8_leaf.
gdb_frames deep8 888 "$TARGET_DIR/deep_target" deep8
tool_frames deep8 "$TARGET_DIR/deep_target" deep8 deep8
truth deep8

# cache_target: the cache value, operator new(3000) in app::Cache::put.
gdb_frames cache 3000 "$TARGET_DIR/cache_target" fill
tool_frames cache "$TARGET_DIR/cache_target" fill fill
truth cache

# python: 100033-byte bytes objects (tests/targets/py_leak.py), three of 3.9 .. 3.13.
LEAK_PY=$ROOT/tests/targets/py_leak.py
n=0
for v in 3.9 3.11 3.12 3.13; do
	for py in "$PYENV_VERSIONS/$v".*/bin/python3; do
		[ -x "$py" ] || continue
		gdb_frames "python$v" 100033 "$py" "$LEAK_PY"
		tool_frames "python$v" "$py" leak "$LEAK_PY"
		truth "python$v"
		n=$((n + 1))
		break
	done
	[ "$n" -ge 3 ] && break
done
[ "$n" -gt 0 ] || log "no pyenv python 3.9 .. 3.13 under $PYENV_VERSIONS: python not compared"
finish
