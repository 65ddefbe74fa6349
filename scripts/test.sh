#!/usr/bin/env bash
# The whole test suite: unit tests, then lab tests on real hosts (systemd + sshd containers reached
# over SSH), including the molecule scenario. Sets the machine up first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The dashboard's test drives Debian's Chromium headless.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "[test] installing chromium and chromium-driver from Debian (for the dashboard test)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
             --no-install-recommends chromium chromium-driver >/dev/null; }
fi
VENV=${SWARMCTL_VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
# Two processes (pytest-xdist): each lab's tests are one group on one worker (tests/lab/conftest.py), so the
# shared lab's tests run beside the HA lab's; most of a lab test's time is waiting on Swarm, not the CPU.
exec "$VENV/bin/pytest" -q --durations=20 -n "${SWARMCTL_TEST_WORKERS:-2}" --dist loadgroup "$@"
