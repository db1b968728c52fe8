#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make install puts the binary in $(DESTDIR)$(PREFIX)/sbin, the man page in share/man/man8
# and the bash completion in share/bash-completion/completions, PREFIX defaulting to
# /usr/local; make uninstall removes them. Into a temporary DESTDIR: needs no root.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

[ -x "$ALLOCSCOPE" ] || die "$ALLOCSCOPE not built (run make all)"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/allocscope-$TEST_NAME.XXXXXX") || die "mktemp failed"
trap cleanup EXIT

# run_make ARGS...: make in the tree, outside any make this test runs under (its jobserver).
run_make()
{
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -C "$ROOT" --no-print-directory "$@" \
		>"$TMP/make.out" 2>&1
}

# check_installed ROOT: the three files under ROOT, as built and with their modes.
check_installed()
{
	local r=$1 f
	for f in "$r/sbin/allocscope:$ALLOCSCOPE:755" "$r/share/man/man8/allocscope.8:$ROOT/allocscope.8:644" \
		"$r/share/bash-completion/completions/allocscope:$ROOT/scripts/allocscope.bash-completion:644"; do
		local dst=${f%%:*} rest=${f#*:}
		local src=${rest%:*} mode=${rest##*:}
		if cmp -s "$src" "$dst"; then
			pass "installed ${dst#"$TMP"/} is $(basename "$src")"
		else
			fail "${dst#"$TMP"/}: missing or not $src"
		fi
		assert_eq "mode of ${dst#"$TMP"/}" "$mode" "$(stat -c %a "$dst" 2>/dev/null)"
	done
}

run_make install DESTDIR="$TMP/dest" PREFIX=/usr
assert_eq "make install DESTDIR PREFIX=/usr: exit status" 0 "$?"
check_installed "$TMP/dest/usr"
assert_eq "the installed binary runs" "allocscope 0.1.0" "$("$TMP/dest/usr/sbin/allocscope" --version)"
assert_eq "nothing installed outside PREFIX" "$TMP/dest/usr" \
	"$(find "$TMP/dest" -mindepth 1 -maxdepth 1 | sed 's|/*$||' | tr '\n' ' ' | sed 's/ $//')"

run_make install DESTDIR="$TMP/dflt"
assert_eq "make install DESTDIR: exit status" 0 "$?"
check_installed "$TMP/dflt/usr/local"

run_make uninstall DESTDIR="$TMP/dest" PREFIX=/usr
assert_eq "make uninstall: exit status" 0 "$?"
assert_eq "files left after make uninstall" "" "$(find "$TMP/dest" -type f | tr '\n' ' ')"

finish
