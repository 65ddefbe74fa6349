"""Decide how `swarmctl recover` rebuilds a swarm that lost quorum (see the module of the same name), on the control
machine, from what every host's engine said. A plan that does not fit the swarm's state is refused as bad input
(swarmctl_bad_input: exit code 2), before anything changes."""

from __future__ import annotations


from ansible.plugins.action import ActionBase

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import RecoveryRefused, recovery_joiners, recovery_plan

ARGUMENT_SPEC = dict(
    hosts=dict(type="list", elements="str", required=True),
    register=dict(type="str", default="recover_info"),
    managers_wanted=dict(type="int", required=True),
    nodes=dict(type="list", elements="dict"),
    plan=dict(type="dict"),
)


def _answer(result) -> dict | None:
    """A host's swarm_info result, or None when the host or its engine did not answer."""
    if not isinstance(result, dict) or result.get("unreachable") or result.get("failed") or "local" not in result:
        return None
    if result["local"].get("state") == "no-engine":
        return None
    return result


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hostvars = task_vars.get("hostvars", {})
        found = {h: _answer(hostvars[h].get(args["register"])) for h in args["hosts"] if h in hostvars}
        result["changed"] = False
        try:
            plan = args["plan"] or recovery_plan(found, args["hosts"])
        except RecoveryRefused as exc:
            result.update(failed=True, swarmctl_bad_input=True, msg=str(exc))
            return result
        if args["nodes"] is not None:
            plan = dict(plan, joiners=recovery_joiners(args["nodes"], found, plan, args["managers_wanted"], args["hosts"]))
        result["plan"] = plan
        result["msg"] = f"rebuild the swarm from {plan['chosen']}: {plan['why']}"
        return result
