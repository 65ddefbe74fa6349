#!/usr/bin/env bash
# The main job, start to finish, on the local lab: set the machine up, start the lab's hosts,
# provision them (engines, certificates, TLS registry, swarm, the demo web service behind the load
# balancer), show the balancing, roll v1 out to v2, and show the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${SWARMCTL_VENV:-.venv}
swarmctl() { "$VENV/bin/swarmctl" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "lab hosts"
swarmctl lab up
step "swarmctl up: engines, certificates, registry, swarm, services"
swarmctl up
address=$(swarmctl lab status --json | python3 -c 'import json,sys; print(next(h["address"] for h in json.load(sys.stdin)["hosts"] if h["group"] == "workers"))')
step "12 requests to http://$address:8080/ (the answering replica changes)"
for _ in $(seq 1 12); do curl -s -m 3 "http://$address:8080/" || echo "(no answer)"; done
step "rolling update to v2 (2 tasks at a time, 5 s apart; waits for the result)"
swarmctl update web --image westos.org/web:v2
for _ in $(seq 1 6); do curl -s -m 3 "http://$address:8080/" || echo "(no answer)"; done
step "status"
swarmctl status
