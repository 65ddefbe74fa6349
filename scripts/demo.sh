#!/usr/bin/env bash
# The main job, start to finish, on the local lab: set the machine up, start the lab's hosts,
# provision them with swarmctl, and show the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${SWARMCTL_VENV:-.venv}
swarmctl() { "$VENV/bin/swarmctl" "$@"; }

swarmctl lab up
swarmctl up
swarmctl lab status
