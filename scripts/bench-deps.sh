#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs the Debian packages `make bench` measures with, when missing: the peer tracer
# (bpftrace) and the real workloads (sqlite3, redis-server, redis-tools). Not part of
# scripts/install-deps.sh: the tests never need them.
set -euo pipefail

# The bench starts its own redis-server on a unix socket in a temporary directory; the
# package's system service (started by apt on hosts that allow it) is left as it is.
packages=(bpftrace sqlite3 redis-server redis-tools python3.11)

exec "$(dirname "$0")/install-deps.sh" "${packages[@]}"
