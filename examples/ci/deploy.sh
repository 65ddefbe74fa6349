#!/usr/bin/env bash
# The deploy job of the example pipelines (gitlab-ci.yml, github-actions.yml), runnable by hand too: one
# `swarmctl up`, which converges the cluster and rolls the application's new image out, and an exit code that
# says how it went.
#
#   SWARMCTL_INVENTORY  the inventory (in the repository; no secret in it, see below)
#   APP_IMAGE           the image to roll out, e.g. registry.example.com/shop:$CI_COMMIT_SHA; the inventory
#                       reads it (inventory-vars.yml), so the image a run deploys is the one the inventory
#                       declares and the next run keeps it
#
# Secrets come from the CI's secret store as environment variables, never on a command line: the inventory
# reads them itself (`value: "{{ lookup('ansible.builtin.env', 'APP_DB_PASSWORD') }}"`), and swarmctl keeps
# every value out of its output and artifacts. An unset variable is an empty value, refused before any host
# is touched.
#
# Exit codes (swarmctl's own): 0 deployed, 2 bad input (nothing was touched), 3 a host failed - a rollout that
# failed and was rolled back (or paused) among them, 4 a host was unreachable, 1 anything else. The run's
# summary is kept in swarmctl-up.jsonl.summary for the pipeline to keep as an artifact.
set -uo pipefail

: "${SWARMCTL_INVENTORY:?set SWARMCTL_INVENTORY to the inventory}"
: "${APP_IMAGE:?set APP_IMAGE to the image to roll out}"

swarmctl up -i "$SWARMCTL_INVENTORY" --json > swarmctl-up.jsonl
rc=$?

# The summary line ({"event": "summary", "status", "changed", ...}) kept; what failed, said.
python3 - swarmctl-up.jsonl > swarmctl-up.jsonl.summary <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
# A run refused before it started (bad input, exit 2) ends with an error event instead of a summary.
summary = ([e for e in events if e.get("event") == "summary"] or events[-1:] or [{}])[-1]
print(json.dumps(summary))
print("swarmctl up: %s, %s changed" % (summary.get("status", "refused"), summary.get("changed", 0)), file=sys.stderr)
for event in events:
    if event.get("event") == "error" or event.get("status") in ("failed", "unreachable"):
        where = " on %s" % event["host"] if event.get("host") else ""
        print("  %s%s: %s" % (event.get("task", "refused"), where, event.get("msg", "")), file=sys.stderr)
PY

case "$rc" in
    0) echo "deployed $APP_IMAGE" >&2 ;;
    2) echo "bad input: nothing was touched" >&2 ;;
    3) echo "not deployed: a host failed (a rollout that failed is rolled back, see above)" >&2 ;;
    *) echo "not deployed (exit $rc)" >&2 ;;
esac
exit "$rc"
