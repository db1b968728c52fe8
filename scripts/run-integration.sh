#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs every tests/integration/test_*.sh (as root) and prints "N passed, N failed, N skipped".
# A test that exits 77 is skipped, except under CI=true, where it counts as a failure.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1

# Per-test bound: a hung test must not hang the suite (the tests bound each run themselves).
# A hang bound, not a speed target: test_python_sites runs nine interpreters, and a machine
# shared with other tracers can take several times as long as an idle one.
TEST_TIMEOUT=${TEST_TIMEOUT:-900}

passed=0
failed=0
skipped=0
failures=()

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/integration/test_*.sh)

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	printf '=== %s\n' "$name"
	start=$(date +%s)
	timeout -k 10 "$TEST_TIMEOUT" bash "$t"
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		printf '=== %s: PASS (%ds)\n' "$name" "$secs"
		passed=$((passed + 1))
		;;
	77)
		if [ "${CI:-}" = true ]; then
			printf '=== %s: FAIL (skipped, and skips are failures under CI=true)\n' "$name"
			failed=$((failed + 1))
			failures+=("$name")
		else
			printf '=== %s: SKIP\n' "$name"
			skipped=$((skipped + 1))
		fi
		;;
	124 | 137)
		printf '=== %s: FAIL (timed out after %ds)\n' "$name" "$TEST_TIMEOUT"
		failed=$((failed + 1))
		failures+=("$name")
		;;
	*)
		printf '=== %s: FAIL (exit %d, %ds)\n' "$name" "$rc" "$secs"
		failed=$((failed + 1))
		failures+=("$name")
		;;
	esac
done

[ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[*]}"
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
