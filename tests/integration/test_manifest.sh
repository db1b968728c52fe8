#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# deploy/kubernetes cannot rot: its YAML passes `yamllint -s` with the directory's config,
# the DaemonSet keeps what allocscope needs on a node (hostPID, privileged, the push to
# Pyroscope under the node's name), and every option of its args is one `allocscope --help`
# lists, with a value allocscope accepts.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

DIR=$ROOT/deploy/kubernetes
MANIFEST=$DIR/allocscope.yaml

setup
command -v yamllint >/dev/null || skip "yamllint not installed (scripts/install-deps.sh)"
[ -r "$MANIFEST" ] || die "$MANIFEST is missing"

if yamllint -s -c "$DIR/.yamllint" "$DIR" >"$TMP/lint" 2>&1; then
	pass "yamllint -s deploy/kubernetes"
else
	fail "yamllint -s deploy/kubernetes"
	show "$TMP/lint" 30
fi

# The DaemonSet's container: its facts, then its args, one per line, with $(VAR) replaced by
# the env value the manifest gives VAR (a sample node name for the downward API's).
python3 - "$MANIFEST" >"$TMP/facts" 2>"$TMP/facts.err" <<'EOF'
import re, sys, yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
ds = kinds["DaemonSet"]
pod = ds["spec"]["template"]["spec"]
(c,) = pod["containers"]
env = {}
for e in c.get("env", []):
    env[e["name"]] = e.get("value", "node-1" if "valueFrom" in e else "")
print("kinds", " ".join(sorted(kinds)))
print("namespace", ds["metadata"]["namespace"])
print("hostPID", pod.get("hostPID"))
print("privileged", c.get("securityContext", {}).get("privileged"))
print("tolerates_all", any(t.get("operator") == "Exists" and "key" not in t
                           for t in pod.get("tolerations", [])))
print("limits", sorted(c.get("resources", {}).get("limits", {})))
print("push_app_from", next((e["valueFrom"]["fieldRef"]["fieldPath"] for e in c["env"]
                             if "valueFrom" in e and "$(%s)" % e["name"] in
                             " ".join(c["args"])), None))
for a in c.get("command", [])[1:] + c["args"]:
    print("arg", re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a))
EOF
[ -s "$TMP/facts" ] || { show "$TMP/facts.err"; die "cannot read the DaemonSet from $MANIFEST"; }
fact()
{
	sed -n "s/^$1 //p" "$TMP/facts"
}
assert_eq "objects" "DaemonSet Namespace ServiceAccount" "$(fact kinds)"
assert_eq "namespace" allocscope "$(fact namespace)"
assert_eq "hostPID" True "$(fact hostPID)"
assert_eq "privileged" True "$(fact privileged)"
assert_eq "tolerates every taint" True "$(fact tolerates_all)"
assert_eq "resource limits" "['cpu', 'memory']" "$(fact limits)"
assert_eq "--push-app from the downward API" spec.nodeName "$(fact push_app_from)"

mapfile -t args < <(fact arg)
assert_eq "--mode in the args" --mode=rss "$(printf '%s\n' "${args[@]}" | grep -- '^--mode')"
assert_eq "--push in the args" --push=http://pyroscope.pyroscope:4040 \
	"$(printf '%s\n' "${args[@]}" | grep -- '^--push=')"
"$ALLOCSCOPE" --help >"$TMP/help" || die "allocscope --help failed"
for a in "${args[@]}"; do
	case $a in
	--*) opt=${a%%=*} ;;
	-?*) opt=${a:0:2} ;;
	*) continue ;; # a value of the option before
	esac
	# As argp lists them: "  -p, --pid=PID", "      --mode=MODE", "  -v, --verbose".
	if grep -Eq -- "^ +(-[a-zA-Z], )?$opt([=, ]|\$)|^ +$opt, --" "$TMP/help"; then
		pass "allocscope --help lists $opt"
	else
		fail "allocscope --help does not list $opt (deploy/kubernetes/allocscope.yaml)"
	fi
done
# argp parses every option, and checks its value, before --help stops it.
if "$ALLOCSCOPE" "${args[@]}" --help >/dev/null 2>"$TMP/parse"; then
	pass "allocscope accepts the manifest's args: ${args[*]}"
else
	fail "allocscope refuses the manifest's args: ${args[*]}"
	show "$TMP/parse"
fi

finish
