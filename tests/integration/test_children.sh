#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --children on a process tree that exists before allocscope starts: a shell whose child
# shell runs alloc_target (a grandchild), beside a stripped static child no allocator can be
# found in. The grandchild is traced and its blocks counted exactly; the static child is
# named, counted apart and skipped, and the run goes on.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
static=$TMP/static_stripped
printf '#include <unistd.h>\nint main(void) { pause(); return 0; }\n' |
	cc -static -s -O1 -x c - -o "$static" 2>"$TMP/cc.err" ||
	die "cannot build a static executable: $(head -1 "$TMP/cc.err")"
fifo=$TMP/grandchild.in
mkfifo "$fifo" || die "mkfifo $fifo"
exec {gfd}<>"$fifo"
# The inner shell stays (a last command would be exec'd in its place): a real middle level.
cat >"$TMP/tree.sh" <<EOF
#!/bin/bash
"$static" &
bash -c '"\$0" leak_malloc <"\$1" >"\$2"; exit 0' "$TARGET_DIR/alloc_target" "$fifo" \
	"$TMP/grandchild.out" &
wait
EOF
chmod 755 "$TMP/tree.sh"
timeout "$TARGET_TIMEOUT" "$TMP/tree.sh" &
wrap=$!
wait_for_line "$TMP/grandchild.out" '^pid [0-9]+$' "$START_TIMEOUT" ||
	die "alloc_target did not start under $TMP/tree.sh"
gpid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$TMP/grandchild.out")
ppid=$(pgrep -P "$wrap" -x tree.sh)
mid=$(awk '{ print $4 }' "/proc/$gpid/stat")
spid=$(pgrep -P "$ppid" -x static_stripped)
[ -n "$ppid" ] && [ -n "$spid" ] && [ "$(awk '{ print $4 }' "/proc/$mid/stat")" = "$ppid" ] ||
	die "unexpected tree: tree.sh '$ppid', static '$spid', middle '$mid', alloc_target $gpid"
log "tree: $ppid (tree.sh) -> $spid (static_stripped), $mid (bash) -> $gpid (alloc_target)"

start_tool c -p "$ppid" --children "${JSON_ARGS[@]}"
if wait_for_line "${S_ERR[c]}" "tracing pid $ppid \(tree.sh\) and its 2 existing descendants: \
$mid, $gpid; 1 more could not be traced\$" "$ATTACH_TIMEOUT"; then
	pass "the start names the two traced descendants and counts the untraceable one"
else
	fail "no 'tracing pid $ppid (tree.sh) and its 2 existing descendants' line"
	show "${S_ERR[c]}"
fi
assert_grep "the static child is named" "${S_ERR[c]}" \
	"pid $spid \(static_stripped\) maps no object that defines malloc and free"
printf 'go\n' >&"$gfd"
wait_for_line "$TMP/grandchild.out" '^done leak_malloc$' "$SCENARIO_TIMEOUT" ||
	die "alloc_target did not finish leak_malloc"
stop_tool c INT 5 "--children tree"
assert_eq "exit status" 0 "$TOOL_RC"
out=${S_OUT[c]}
assert_json "the grandchild's leak_malloc: live bytes and objects" "$out" \
	"(ssum(last, 'live_bytes', $gpid, 'leak_malloc'), ssum(last, 'live_objects', $gpid, 'leak_malloc'))" \
	"(100000, 1000)"
assert_json "JSON targets: the shell, the middle shell and the grandchild, by pid" "$out" \
	"[t['pid'] for t in last['targets']]" \
	"[$(printf '%s\n' "$ppid" "$mid" "$gpid" | sort -n | paste -sd, | sed 's/,/, /g')]"

printf 'quit\n' >&"$gfd"
kill "$spid"
wait "$wrap"
assert_eq "the tree's exit status once its children ended" 0 $?
finish
