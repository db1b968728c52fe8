#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The man page and the bash completion stay in step with --help: the man page's OPTIONS
# list every option --help prints, with the same argument, and nothing else; it renders
# without a groff warning, through man -l too. The completion offers exactly --help's
# options, knows which take a value, and completes pids, process names, --format's
# choices, files and commands. Needs no root and no BPF.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

MAN=$ROOT/allocscope.8
COMPLETION=$ROOT/scripts/allocscope.bash-completion

[ -x "$ALLOCSCOPE" ] || die "$ALLOCSCOPE not built (run make all)"
command -v groff >/dev/null || skip "groff not found (groff-base)"
command -v man >/dev/null || skip "man not found (man-db)"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/allocscope-$TEST_NAME.XXXXXX") || die "mktemp failed"
trap cleanup EXIT

# Option heads, one a line: "-p, --pid=PID[,PID...]", "--children". In --help they are
# indented 2 or 6 columns (descriptions, 29); in the rendered man page, 7.
"$ALLOCSCOPE" --help >"$TMP/help" || die "--help failed"
sed -nE 's/^ {2,6}((-[[:alnum:]], )?--[^ ]+).*/\1/p' "$TMP/help" | sort >"$TMP/help.opts"
groff -man -Tascii -rLL=200n "$MAN" 2>/dev/null | col -bx |
	sed -n '/^OPTIONS/,/^[A-Z]/{/^ \{7\}-/p}' | sed 's/^ *//' | sort >"$TMP/man.opts"
assert_ge "options in --help" 30 "$(wc -l <"$TMP/help.opts")"
missing=$(comm -23 "$TMP/help.opts" "$TMP/man.opts" | tr '\n' ' ')
extra=$(comm -13 "$TMP/help.opts" "$TMP/man.opts" | tr '\n' ' ')
assert_eq "options of --help the man page lacks (or spells otherwise)" "" "$missing"
assert_eq "options of the man page --help lacks" "" "$extra"

groff -man -Tutf8 -ww -z "$MAN" 2>"$TMP/groff.err"
assert_eq "groff -man -Tutf8 -ww: exit status" 0 "$?"
assert_eq "groff -man -Tutf8 -ww: warnings" "" "$(cat "$TMP/groff.err")"
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" >"$TMP/man.txt" 2>"$TMP/man.err"
assert_eq "man -l: exit status" 0 "$?"
assert_eq "man -l: warnings" "" "$(cat "$TMP/man.err")"
assert_grep "man -l: the EXIT STATUS section has 127" "$TMP/man.txt" "^ +127 +The command of -c was not found"

# The completion's lists against --help's: every name, and which take a value.
sed 's/=.*//; s/, /\n/' "$TMP/help.opts" | sort >"$TMP/help.names"
grep -F = "$TMP/help.opts" | sed 's/=.*//; s/, /\n/' | sort >"$TMP/help.valued"
# shellcheck disable=SC1090,SC2154
(. "$COMPLETION" && printf '%s\n' "$_allocscope_options") | tr -s ' ' '\n' | sort >"$TMP/comp.names"
# shellcheck disable=SC1090,SC2154
(. "$COMPLETION" && printf '%s\n' "$_allocscope_takes_value") | tr -s ' ' '\n' |
	sort >"$TMP/comp.valued"
assert_eq "completion: options, against --help" "" \
	"$(diff "$TMP/help.names" "$TMP/comp.names" | grep '^[<>]' | tr '\n' ' ')"
assert_eq "completion: options that take a value, against --help" "" \
	"$(diff "$TMP/help.valued" "$TMP/comp.valued" | grep '^[<>]' | tr '\n' ' ')"

# complete WORDS...: COMPREPLY for the last word, '|'-separated and sorted, from a bash that
# sourced the completion (COMP_WORDS and COMP_CWORD as readline sets them).
complete_words()
{
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _allocscope
		printf "%s\n" "${COMPREPLY[@]}" | sort -u | paste -sd "|"' _ "$COMPLETION" "$@"
}

assert_eq "complete '--form'" "--format" "$(complete_words allocscope --form)"
assert_eq "complete '-p 1 --no-'" "--no-census|--no-mappings|--no-python" \
	"$(complete_words allocscope -p 1 --no-)"
assert_eq "complete '--format '" "folded|json|pprof|text" "$(complete_words allocscope --format '')"
assert_eq "complete '--format=p' (split at '=' by readline)" "pprof" \
	"$(complete_words allocscope --format = p)"
assert_eq "complete '-s '" "allocs|growth|live|trend" "$(complete_words allocscope -s '')"
assert_eq "complete '-i ' (a number: nothing)" "" "$(complete_words allocscope -i '')"
sleep 300 &
spid=$!
assert_eq "complete '-p <a running pid>'" "$spid" \
	"$(complete_words allocscope -p "$spid" | tr '|' '\n' | grep -x "$spid")"
assert_eq "complete '-p 1,<a running pid>'" "1,$spid" \
	"$(complete_words allocscope -p "1,$spid" | tr '|' '\n' | grep -x "1,$spid")"
comm=$(cat /proc/$spid/comm)
assert_eq "complete '--comm ${comm:0:3}' offers $comm" "$comm" \
	"$(complete_words allocscope --comm "${comm:0:3}" | tr '|' '\n' | grep -x "$comm")"
kill "$spid"
wait "$spid" 2>/dev/null
: >"$TMP/report-one.json"
: >"$TMP/report-two.json"
assert_eq "complete '-o <dir>/report-'" "$TMP/report-one.json|$TMP/report-two.json" \
	"$(complete_words allocscope -o "$TMP/report-")"
assert_eq "complete '-c ' with a command name" "allocscope-test-cmd" \
	"$(PATH=$TMP:$PATH && : >"$TMP/allocscope-test-cmd" && chmod +x "$TMP/allocscope-test-cmd" &&
		PATH=$PATH complete_words allocscope -c allocscope-test-c)"
assert_eq "complete after '--': the command's files" "$TMP/report-one.json|$TMP/report-two.json" \
	"$(complete_words allocscope -p 1 -- ls "$TMP/report-")"

finish
