#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Profile formats: --format folded (root-first frames, live bytes: flame graphs) and
# --format pprof -o FILE (read back with go tool pprof), each report replacing -o FILE, and
# --push URL (each report POSTed to a local receiver that records the requests).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# The folded line of leak_malloc, from the program's entry to the allocator. The exact bytes
# are alloc_target's: 1000 x malloc(100), all kept. glibc's frames are named from libc6-dbg.
LEAK_LINE='_start;__libc_start_main;__libc_start_call_main;main;leak_malloc;malloc 100000'
LEAK_TAIL=';leak_malloc;malloc 100000'

# has_leak FILE: a line of FILE ends with LEAK_TAIL.
has_leak()
{
	grep -qF -- "$LEAK_TAIL" "$1" 2>/dev/null && grep -q -- "$LEAK_TAIL\$" "$1"
}

# wait_leak NAME FILE: waits until FILE holds the leak line, or the tool ended.
wait_leak()
{
	local name=$1 file=$2 deadline
	deadline=$(deadline_ms 30)
	until has_leak "$file"; do
		alive "${S_WRAP[$name]}" && [ "$(date +%s%3N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

setup
command -v go >/dev/null || skip "go not found (golang-go): go tool pprof reads the profiles"
export HOME=$TMP PPROF_TMPDIR=$TMP
# Once for each tool run: a run sees only the blocks allocated after it attached.
start_target t "$TARGET_DIR/alloc_target" leak_malloc leak_malloc leak_malloc leak_malloc
pid=${T_PID[t]}

# folded on standard output: reports one after the other, a blank line between two.
start_tool folded -p "$pid" -i 1 --format folded
wait_tracing folded "$pid"
run_scenario t leak_malloc
wait_leak folded "${S_OUT[folded]}" || fail "folded: no line ending '$LEAK_TAIL' in 30 s"
# One more report after the line: there are two reports at least, so a separator.
before=$(grep -c '^$' "${S_OUT[folded]}")
deadline=$(deadline_ms 30)
while [ "$(grep -c '^$' "${S_OUT[folded]}")" -le "$before" ] &&
	[ "$(date +%s%3N)" -lt "$deadline" ]; do
	sleep 0.1
done
stop_tool folded INT 5 "folded"
assert_eq "folded: exit status" 0 "$TOOL_RC"
out=${S_OUT[folded]}
# The last report alone: what follows the last blank line.
last=$TMP/folded.last
awk 'BEGIN { RS = "" } { block = $0 } END { print block }' "$out" >"$last"
leak=$(grep -- "$LEAK_TAIL\$" "$last")
assert_eq "folded: leak_malloc lines in the last report" 1 "$(grep -c -- "$LEAK_TAIL\$" "$last")"
# Root first: the program's entry (_start) begins the line, the allocator ends it.
assert_eq "folded: the leak's line, root first" "$LEAK_LINE" "$leak"
log "folded: $leak"
bad=$(grep -Evc '^([^; ][^;]*;)*[^; ][^;]* [0-9]+$' "$last")
assert_eq "folded: lines not 'frame;...;frame COUNT'" 0 "$bad"
assert_eq "folded: blank lines in the last report" 0 "$(grep -c '^$' "$last")"
nblank=$(grep -c '^$' "$out")
nblocks=$(awk 'BEGIN { RS = "" } END { print NR }' "$out")
assert_eq "folded: reports separated by one blank line each" $((nblocks - 1)) "$nblank"

# folded -o FILE: each report replaces FILE; no temporary file is left beside it.
mkdir "$TMP/fo"
start_tool fofile -p "$pid" -i 1 --format folded -o "$TMP/fo/heap.folded"
wait_tracing fofile "$pid"
run_scenario t leak_malloc
wait_leak fofile "$TMP/fo/heap.folded" || fail "folded -o: no leak line in 30 s"
stop_tool fofile INT 5 "folded -o"
assert_eq "folded -o: exit status" 0 "$TOOL_RC"
assert_eq "folded -o: bytes on stdout" 0 "$(wc -c <"${S_OUT[fofile]}")"
assert_eq "folded -o: one profile in FILE (no blank line)" 0 \
	"$(grep -c '^$' "$TMP/fo/heap.folded")"
assert_eq "folded -o: leak_malloc lines" 1 "$(grep -c -- "$LEAK_TAIL\$" "$TMP/fo/heap.folded")"
assert_eq "folded -o: files in the directory" "heap.folded" "$(ls -A "$TMP/fo")"

# pprof: -o is required, with a usage error.
timeout 20 "$ALLOCSCOPE" -p "$pid" --format pprof >"$TMP/noo.out" 2>"$TMP/noo.err"
assert_eq "pprof without -o: exit status" 64 "$?"
assert_grep "pprof without -o: says why" "$TMP/noo.err" \
	"^allocscope: --format pprof writes a file: give it with -o FILE\$"

# pprof -o FILE, read by go tool pprof.
start_tool pprof -p "$pid" -i 1 --format pprof -o "$TMP/heap.pb.gz"
wait_tracing pprof "$pid"
run_scenario t leak_malloc
# A report after the scenario replaces the file: its inode changes.
first=$(stat -c %i "$TMP/heap.pb.gz" 2>/dev/null)
deadline=$(deadline_ms 30)
while [ "$(date +%s%3N)" -lt "$deadline" ]; do
	ino=$(stat -c %i "$TMP/heap.pb.gz" 2>/dev/null)
	[ -n "$ino" ] && [ "$ino" != "$first" ] && break
	sleep 0.1
done
stop_tool pprof INT 5 "pprof"
assert_eq "pprof: exit status" 0 "$TOOL_RC"
if [ -n "$ino" ] && [ "$ino" != "$first" ]; then
	pass "pprof: a later report replaced the file"
else
	fail "pprof: the file was not replaced by a second report in 30 s"
fi
assert_eq "pprof: gzip magic" "1f8b" "$(head -c 2 "$TMP/heap.pb.gz" | od -An -tx1 | tr -d ' \n')"

top=$TMP/pprof.top
go tool pprof -top -unit=B -sample_index=inuse_space "$TMP/heap.pb.gz" >"$top" 2>"$TMP/pprof.err" ||
	{ fail "go tool pprof -top: exit status $?"; show "$TMP/pprof.err"; }
# "flat flat% sum% cum cum% NAME": leak_malloc holds 100000 B, malloc's own (flat) share.
assert_eq "pprof: inuse_space (cum) of leak_malloc" "100000B" \
	"$(awk '$6 == "leak_malloc" { print $4 }' "$top")"
assert_ge "pprof: inuse_space (flat) of malloc" 100000 \
	"$(awk '$6 == "malloc" { sub("B", "", $1); print $1 }' "$top")"
go tool pprof -raw -sample_index=inuse_space "$TMP/heap.pb.gz" >"$TMP/pprof.raw" 2>&1
assert_grep "pprof: sample types" "$TMP/pprof.raw" \
	'^alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes'
assert_grep "pprof: the leak's sample: 1000 objects, 100000 bytes in use" "$TMP/pprof.raw" \
	'^ +[0-9]+ +[0-9]+ +1000 +100000: '
assert_grep "pprof: the program is the profile's first mapping" "$TMP/pprof.raw" \
	"^1: 0x0/0x[0-9a-f]+/0x0 $TARGET_DIR/alloc_target "
go tool pprof -tags -unit=B -sample_index=inuse_space "$TMP/heap.pb.gz" >"$TMP/pprof.tags" 2>&1
assert_grep "pprof: the pid label" "$TMP/pprof.tags" "^ *pid: Total"
assert_grep "pprof: the pid's value" "$TMP/pprof.tags" "^ +100000(\.0)?B \( +100%\): $pid\$"
assert_grep "pprof: the comm label" "$TMP/pprof.tags" \
	"^ +100000(\.0)?B \( +100%\): alloc_target\$"
# leak_malloc named with its source line, in alloc_target mapped from its file.
assert_grep "pprof: leak_malloc with its source line" "$TMP/pprof.raw" \
	" M=[0-9]+ leak_malloc tests/targets/alloc_target\.c:[0-9]+ "

# --push: a receiver on a free local port records each request's path, query, type and body.
mkdir "$TMP/push"
# "$PYTHON3" itself, not lib.sh's python3 function: $! must be the receiver, to end it.
"$PYTHON3" - "$TMP/push" <<'PY' >"$TMP/push/receiver.log" 2>&1 &
import http.server, os, sys

out = sys.argv[1]

class Ingest(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = len([f for f in os.listdir(out) if f.endswith(".req")])
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(os.path.join(out, "%d.body" % n), "wb") as f:
            f.write(body)
        with open(os.path.join(out, "%d.req.tmp" % n), "w") as f:
            f.write("%s\n%s\n" % (self.path, self.headers.get("Content-Type")))
        os.rename(os.path.join(out, "%d.req.tmp" % n), os.path.join(out, "%d.req" % n))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), Ingest)
with open(os.path.join(out, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(out, "port.tmp"), os.path.join(out, "port"))
srv.timeout = 1
while True:
    srv.handle_request()
PY
recv=$!
wait_for_line "$TMP/push/port" '^[0-9]+$' 20 || die "the receiver did not start"
port=$(cat "$TMP/push/port")
start_tool push -p "$pid" -i 1 -T 100 --push "http://127.0.0.1:$port/" --push-app leaktest
wait_tracing push "$pid"
run_scenario t leak_malloc
# The request of a report taken after the scenario: the last one by the time the tool stops.
deadline=$(deadline_ms 30)
nreq=$(find "$TMP/push" -name '*.req' | wc -l)
while [ "$(find "$TMP/push" -name '*.req' | wc -l)" -le "$nreq" ] &&
	[ "$(date +%s%3N)" -lt "$deadline" ]; do
	sleep 0.1
done
stop_tool push INT 5 "push"
assert_eq "push: exit status" 0 "$TOOL_RC"
kill "$recv" 2>/dev/null
wait "$recv" 2>/dev/null
last=$(($(find "$TMP/push" -name '*.req' | wc -l) - 1))
assert_ge "push: requests received" 2 $((last + 1))
read -r path <"$TMP/push/$last.req"
log "push: $path"
# The query, decoded: exactly name, from, until and format.
python3 -c '
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
q = u.parse_qs(p.query, keep_blank_values=True)
print(p.path, q["name"][0], sorted(q), int(q["until"][0]) - int(q["from"][0]) in (0, 1, 2),
      q["format"][0])
' "$path" >"$TMP/push/query"
assert_eq "push: path, name, query keys, until - from, format" \
	"/ingest leaktest{hostname=$(hostname)} ['format', 'from', 'name', 'until'] True pprof" \
	"$(cat "$TMP/push/query")"
assert_eq "push: from is this run's time" 1 \
	"$(python3 -c 'import sys, time, urllib.parse as u
q = u.parse_qs(u.urlsplit(sys.argv[1]).query)
print(int(abs(int(q["from"][0]) - time.time()) < 120))' "$path")"
assert_eq "push: content type" "application/octet-stream" "$(sed -n 2p "$TMP/push/$last.req")"
go tool pprof -top -unit=B -sample_index=inuse_space "$TMP/push/$last.body" \
	>"$TMP/push.top" 2>&1
assert_eq "push: the body's inuse_space (cum) of leak_malloc" "100000B" \
	"$(awk '$6 == "leak_malloc" { print $4 }' "$TMP/push.top")"

# A server that is not there: said once per report, tracing goes on, exit status 0.
start_tool nopush -p "$pid" -i 1 --push "http://127.0.0.1:$port" -n 2
wait_tool nopush $((ATTACH_TIMEOUT + 30)) ||
	{ fail "push to nothing: still running"; stop_tool nopush INT 5; }
assert_eq "push to nothing: exit status" 0 "$TOOL_RC"
assert_eq "push to nothing: messages" 2 \
	"$(grep -c "^allocscope: push to http://127.0.0.1:$port failed: " "${S_ERR[nopush]}")"
assert_grep "push to nothing: the reports still printed" "${S_OUT[nopush]}" 'interval'

stop_target t
assert_eq "target exit status" 0 $?

# A CPython process: Python frames as "file:line function" (folded) and as functions with
# their file and line (pprof). py_leak.py keeps 200 bytes objects of 100033 B per "go".
PY=/usr/bin/python3.11
if [ -x "$PY" ]; then
	PY_LEAK=$ROOT/tests/targets/py_leak.py
	start_target py "$PY" "$PY_LEAK"
	ppid=${T_PID[py]}
	start_tool pyf -p "$ppid" -i 1 --format folded -o "$TMP/py.folded"
	wait_tracing pyf "$ppid"
	run_scenario py leak
	PY_TAIL=';py_leak.py:11 leak;malloc 20006600'
	deadline=$(deadline_ms 30)
	until grep -q -- "$PY_TAIL\$" "$TMP/py.folded" 2>/dev/null; do
		[ "$(date +%s%3N)" -lt "$deadline" ] || break
		sleep 0.1
	done
	stop_tool pyf INT 5 "python folded"
	assert_eq "python folded: the leak's line" "py_leak.py:17 <module>$PY_TAIL" \
		"$(grep -- "$PY_TAIL\$" "$TMP/py.folded")"
	start_tool pyp -p "$ppid" -i 1 --format pprof -o "$TMP/py.pb.gz"
	wait_tracing pyp "$ppid"
	run_scenario py leak
	stop_tool pyp INT 5 "python pprof"
	go tool pprof -raw "$TMP/py.pb.gz" >"$TMP/py.raw" 2>&1
	assert_grep "python pprof: leak() with its file and line" "$TMP/py.raw" \
		"^ +[0-9]+: 0x0 leak $PY_LEAK:11 s=0\$"
	# Through malloc only: leak() also grows its list (realloc), a site of its own.
	go tool pprof -top -unit=B -sample_index=inuse_space -focus='^malloc$' "$TMP/py.pb.gz" \
		>"$TMP/py.top" 2>&1
	assert_eq "python pprof: inuse_space (cum) of leak through malloc" "20006600B" \
		"$(awk '$6 == "leak" { print $4 }' "$TMP/py.top")"
	stop_target py
else
	log "$PY not found: the Python frames are not checked"
fi
finish
