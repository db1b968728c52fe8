#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs the Debian packages allocscope builds and tests with, when missing; with
# arguments, those packages instead (scripts/bench-deps.sh).
set -euo pipefail

# Build: compilers, libbpf + bpftool (skeletons), libelf/zlib (ELF symbols), libdw (CFI),
# capstone (probe placement), g++'s libstdc++ (C++ demangling). Tests: cmocka,
# python3 (JSON assertions), util-linux's setpriv (unprivileged runs), jemalloc and
# tcmalloc (targets using another allocator), gdb (the reference stacks of the stack truth
# test), libc6-dbg (glibc's static functions by name, e.g. __libc_start_call_main),
# python3.11 (Debian's LTO-built interpreter, one of the Python targets). libjemalloc-dev:
# allocscope's own allocator, linked into it so its allocations never reach the libc malloc
# it probes in every process. strace (which files a hostile target makes allocscope open)
# and nodejs (a whole-system run beside a JIT process with large unwind tables): tests.
# --format pprof: protobuf-c-compiler and libprotobuf-c-dev (protoc-c generates the C code
# of pprof's profile.proto at build time), golang-github-google-pprof-dev (which ships that
# profile.proto, so none is copied into the tree); golang-go: tests read the profiles back
# with `go tool pprof`. libcurl4-openssl-dev: --push POSTs profiles over HTTP(S).
# yamllint: test_manifest.sh lints deploy/kubernetes (its python3-yaml reads the manifest).
# groff-base and man-db: a test renders allocscope.8 (groff -ww, man -l) for warnings.
packages=(make gcc g++ clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libdw-dev
	libcapstone-dev libcmocka-dev binutils python3 python3.11 util-linux procps libjemalloc2
	libjemalloc-dev libtcmalloc-minimal4 gdb libc6-dbg strace nodejs protobuf-c-compiler
	libprotobuf-c-dev golang-github-google-pprof-dev golang-go libcurl4-openssl-dev groff-base
	man-db yamllint)
[ $# -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "$(basename "$0"): installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
