#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Whole stacks through C++ without frame pointers: cache_target's never-evicting cache leaks
# through libstdc++'s operator new, under demangled methods, up to main and _start.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
BIN=$TARGET_DIR/cache_target
[ -x "$BIN" ] || die "$BIN not built (run make all)"
B=$(basename "$BIN")
# The module is the file mapped: libstdc++.so.6 is a symlink to libstdc++.so.6.0.30 here.
STDCXX=$(basename "$(readlink -f "$(ldd "$BIN" | awk '/libstdc\+\+/ { print $3 }')")")
[ -n "$STDCXX" ] || die "$B does not link libstdc++"

PUT="app::Cache::put(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&, unsigned long)"
# The map's out-of-line (weak, templated) members, named as the demangler names them.
MAP_INDEX=$(nm -C "$BIN" | sed -n 's/^[0-9a-f]* W \(std::__detail::_Map_base<.*>::operator\[\](.*)\)$/\1/p')
REHASH=$(nm -C "$BIN" | sed -n 's/^[0-9a-f]* W \(std::_Hashtable<.*>::_M_rehash(.*)\)$/\1/p')
for fn in "$MAP_INDEX" "$REHASH"; do
	if [ -z "$fn" ] || [ "$(printf '%s\n' "$fn" | wc -l)" != 1 ]; then
		die "$B: expected one out-of-line _Map_base::operator[] and _M_rehash, got: $fn"
	fi
done
NEW=("malloc (libc.so.6)" "operator new(unsigned long) ($STDCXX)")
# From put down: the caller chain, then what calls main in glibc 2.36 (names from libc6-dbg).
OUTER=("$PUT ($B)" "app::Server::handle(int) ($B)" "serve_requests() ($B)" "main ($B)"
	"__libc_start_call_main (libc.so.6)" "__libc_start_main (libc.so.6)" "_start ($B)")
FRAMES="[f.get('symbol') + ' (' + f.get('module', '?') + ')' for f in s['frames']]"

pylist()
{
	python3 -c 'import sys; print(sys.argv[1:])' "$@"
}

start_target t "$BIN" fill
PID=${T_PID[t]}
start_tool s -p "$PID" "${JSON_ARGS[@]}"
wait_tracing s "$PID"
run_scenario t fill
stop_tool s INT 5
assert_eq "allocscope exit status" 0 "$TOOL_RC"
OUT=${S_OUT[s]}
json_eval "$OUT" 'len(reports)' >/dev/null ||
	{ show "$OUT"; show "${S_ERR[s]}"; die "output is not JSON lines"; }

# by_frame2 SYMBOL: the sites through put whose frames[2] (operator new's caller) is SYMBOL.
by_frame2()
{
	printf "[s for s in through(last, '%s', %s) if frame(s, 2).get('symbol') == '%s']" \
		"$PUT" "$PID" "$1"
}

# The values: operator new called by put itself (the vector code is inlined there).
assert_json "values site: live bytes, objects" "$OUT" \
	"[(s['live_bytes'], s['live_objects']) for s in $(by_frame2 "$PUT")]" "[(300000, 100)]"
assert_json "values site: frames" "$OUT" "[$FRAMES for s in $(by_frame2 "$PUT")]" \
	"[$(pylist "${NEW[@]}" "${OUTER[@]}")]"
# The map's nodes (72 B each): allocated in the out-of-line operator[] put calls.
assert_json "nodes site: live bytes, objects" "$OUT" \
	"[(s['live_bytes'], s['live_objects']) for s in $(by_frame2 "$MAP_INDEX")]" "[(7200, 100)]"
assert_json "nodes site: frames" "$OUT" "[$FRAMES for s in $(by_frame2 "$MAP_INDEX")]" \
	"[$(pylist "${NEW[@]}" "$MAP_INDEX ($B)" "${OUTER[@]}")]"
# The bucket array, grown by _M_rehash under operator[]: only the last one is still live.
assert_json "buckets site: live objects" "$OUT" \
	"[s['live_objects'] for s in $(by_frame2 "$REHASH")]" "[1]"
assert_json "buckets site: frames" "$OUT" "[$FRAMES for s in $(by_frame2 "$REHASH")]" \
	"[$(pylist "${NEW[@]}" "$REHASH ($B)" "$MAP_INDEX ($B)" "${OUTER[@]}")]"
# Everything put allocated is in these three sites: no stack cut short into a site of its own.
assert_json "sites through put" "$OUT" "len(through(last, '$PUT', $PID))" 3
stop_target t
assert_eq "target exit status" 0 $?
finish
