#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Fails when a C source differs from what clang-format (the project's .clang-format) makes of it.
set -u
cd "$(dirname "$0")/.."
bad=0
for f in user/*.[ch] include/*.h bpf/*.bpf.c bpf/*.bpf.h tests/unit/*.c tests/targets/*.c tests/bench/*.c; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "needs formatting: $f"
		bad=1
	fi
done
[ "$bad" -eq 0 ] && echo "format: ok"
exit "$bad"
