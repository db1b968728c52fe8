#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs the Debian packages `make bench` measures with, when missing: the peer tracer
# (bpftrace) and the real workloads (sqlite3, redis-server, redis-tools). Not part of
# scripts/install-deps.sh: the tests never need them.
set -euo pipefail

# The bench starts its own redis-server on a unix socket in a temporary directory; the
# package's system service (started by apt on hosts that allow it) is left as it is.
packages=(bpftrace sqlite3 redis-server redis-tools python3.11)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bench: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
