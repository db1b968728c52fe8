#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Processes that are not targets do not pay: while allocscope traces one process, another
# running the same program against the same libc never takes a uprobe trap. The kernel maps
# its "[uprobes]" page into a process at the first trap, so the bystander must not have it.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
start_target target "$TARGET_DIR/alloc_target" leak_malloc churn leak_malloc churn
start_target bystander "$TARGET_DIR/alloc_target" leak_malloc churn leak_malloc churn
tpid=${T_PID[target]}
bpid=${T_PID[bystander]}
for mode in auto perf; do
	start_tool "s_$mode" -p "$tpid" --attach "$mode" "${JSON_ARGS[@]}"
	wait_tracing "s_$mode" "$tpid"
	run_scenario target leak_malloc
	run_scenario bystander leak_malloc
	run_scenario target churn
	run_scenario bystander churn
	assert_eq "--attach $mode: target has taken uprobe traps ([uprobes] mapped)" 1 \
		"$(grep -c '\[uprobes\]' "/proc/$tpid/maps")"
	assert_eq "--attach $mode: bystander has taken none ([uprobes] not mapped)" 0 \
		"$(grep -c '\[uprobes\]' "/proc/$bpid/maps")"
	stop_tool "s_$mode" INT 5
	assert_eq "--attach $mode: allocscope exit status" 0 "$TOOL_RC"
	assert_json "--attach $mode: bystander's pid appears in no report" "${S_OUT[s_$mode]}" \
		"sum(len(sites(r, $bpid)) for r in reports)" 0
done
stop_target target
stop_target bystander
finish
