#!/usr/bin/env bash
# The whole test suite: unit tests, then lab tests on real hosts (systemd + sshd containers reached
# over SSH), including the molecule scenario. Sets the machine up first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${SWARMCTL_VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
exec "$VENV/bin/pytest" -q --durations=15 "$@" tests
