#!/usr/bin/python
# swarmctl: the rollouts of several services, started apart, followed together, each to its own end.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_rollouts
short_description: Follow the rollouts of several swarm services together, each to its own end
description:
  - Runs on a manager. Follows every given rollout at once - one look at each service still rolling, twice a
    second - until each converges, pauses, rolls back or runs out of its O(rollouts[].wait_timeout), and
    reports each on its own. Ten services updated together take about as long as the slowest, not the sum.
  - The rollouts are the C(follow) results of M(swarmctl.swarm.swarmctl_service) run with O(swarmctl.swarm.swarmctl_service#module:wait=false),
    which starts a service's update and returns at once.
  - The task fails when any rollout did not converge (a rollback, when it did not roll back), with one message per such service (how it ended, what it
    runs now, its failing tasks); the others are reported converged. It changes nothing itself.
options:
  rollouts:
    description: The rollouts to follow.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Service name.
        type: str
        required: true
      since:
        description: The engine's time when the rollout started (ISO 8601).
        type: str
        required: true
      mode:
        description: The service's mode as the engine has it, e.g. C(Replicated) with its C(Replicas), or C(Global).
        type: dict
        required: true
      expect_rollout:
        description: Whether the change replaces the service's tasks (else only their end state counts).
        type: bool
        default: true
      verb:
        description:
          - What was done, for messages (creating, updating, recreating), or C(rolling back) for a rollback started
            with O(swarmctl.swarm.swarmctl_service#module:rollback=true), which succeeds when it rolled back.
        type: str
        default: updating
      image:
        description: The image asked for, for messages.
        type: str
        default: ""
      wait_timeout:
        description: Seconds to follow this rollout before giving up on it.
        type: int
        default: 300
      resumed:
        description:
          - A rollout found under way (a run interrupted while it followed it), not started by this run. It fails
            only when it paused or the service no longer runs O(rollouts[].declared_image).
        type: bool
        default: false
      declared_image:
        description: With O(rollouts[].resumed), the image the service is declared with.
        type: str
        default: ""
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
  - swarmctl.swarm.swarmctl_docker
attributes:
  idempotent:
    description: It only reads; following a finished rollout again reports how it ended.
    support: full
requirements:
  - No Docker SDK; the engine is asked over its socket
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Start every service's update, without waiting
  swarmctl.swarm.swarmctl_service:
    name: "{{ item.name }}"
    image: "{{ item.image }}"
    wait: false
  loop: "{{ my_services }}"
  register: started

- name: Follow them together
  swarmctl.swarm.swarmctl_rollouts:
    rollouts: "{{ started.results | selectattr('follow', 'defined') | map(attribute='follow') | list }}"
"""

RETURN = r"""
rollouts:
  description: >-
    Per service, how its rollout ended (converged, paused, rolled_back, timeout), its running tasks (C(6/6)),
    the failing tasks, the seconds it was followed, and the tasks it did not wait for (unplaced_tasks - while a
    node is away, the ones no node can take now; also said as warnings).
  returned: always
  type: dict
failed_services:
  description: The services whose rollout did not converge.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_docker import DOCKER_COMMON_ARGS
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_engine_api import EngineAPIError, engine_api
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_service import (
    RolloutFollower,
    follow_rollouts,
    live_image,
    parse_time,
    rollout_failure,
    same_image,
)

ROLLOUT_OPTIONS = dict(
    name=dict(type="str", required=True),
    since=dict(type="str", required=True),
    mode=dict(type="dict", required=True),
    expect_rollout=dict(type="bool", default=True),
    verb=dict(type="str", default="updating"),
    image=dict(type="str", default=""),
    wait_timeout=dict(type="int", default=300),
    resumed=dict(type="bool", default=False),
    declared_image=dict(type="str", default=""),
)

ARGUMENT_SPEC = dict(
    rollouts=dict(type="list", elements="dict", required=True, options=ROLLOUT_OPTIONS),
    **DOCKER_COMMON_ARGS,
)


ROLLING_BACK = "rolling back"


def judge(api, rollout: dict, outcome) -> tuple[str, str]:
    """(problem, warning) for one finished rollout: a problem fails the task, a warning is said."""
    state, running, failures, message = outcome
    if rollout["verb"] == ROLLING_BACK:
        if state == "rolled_back":
            return "", ""
        return (f"rollback of {rollout['name']} did not complete: {state.replace('_', ' ')} ({message}); "
                f"{running} tasks running"), ""
    if state == "converged":
        return "", ""
    now_image = live_image(api, rollout["name"])
    if rollout["resumed"]:
        declared = bool(now_image) and same_image(rollout["declared_image"], now_image)
        if state != "paused" and declared:
            return "", (f"service {rollout['name']}: an update under way when this run came "
                        f"{state.replace('_', ' ')} ({message}); the service runs its declared spec")
    return rollout_failure(rollout["name"], rollout["image"], rollout["verb"], state, now_image, failures, message,
                           running, rollout["wait_timeout"]), ""


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    rollouts = module.params["rollouts"]
    result = dict(changed=False, rollouts={}, failed_services=[])
    if module.check_mode or not rollouts:
        module.exit_json(**result)
    api = engine_api(module)
    try:
        followers = [RolloutFollower(api, r["name"], parse_time(r["since"]), r["mode"], r["expect_rollout"],
                                     r["wait_timeout"]) for r in rollouts]
        follow_rollouts(api, followers)
        problems = []
        for rollout, follower in zip(rollouts, followers):
            state, running, failures, dummy = follower.outcome
            result["rollouts"][rollout["name"]] = dict(rollout=state, running=running, failed_tasks=failures,
                                                       seconds=follower.seconds, unplaced_tasks=follower.unplaced)
            for line in follower.unplaced:
                module.warn(line)
            problem, warning = judge(api, rollout, follower.outcome)
            if problem:
                problems.append(problem)
                result["failed_services"].append(rollout["name"])
            if warning:
                module.warn(warning)
    except EngineAPIError as exc:
        module.fail_json(msg=f"following rollouts: the engine refused: {exc.explanation}", **result)
    except OSError as exc:
        module.fail_json(msg=f"following rollouts: cannot reach the Docker engine at {module.params['docker_host']}: "
                             f"{exc}. Is it running? (systemctl status docker)", **result)
    if problems:
        module.fail_json(msg=" | ".join(problems), **result)
    result["msg"] = "; ".join(f"{name}: {r['rollout']} ({r['running']}) in {r['seconds']}s"
                              for name, r in result["rollouts"].items())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
