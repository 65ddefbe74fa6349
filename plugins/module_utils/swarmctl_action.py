# Action plugins for swarmctl's modules. controller_action: the control-machine modules (CA, certificates,
# secrets) run in the Ansible worker itself: no Python start and no module transfer per task, which on a
# busy control machine is most of a local task's cost. secret_result_action: a host module whose result may
# carry secrets. Never imported by code that runs on hosts.

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as ModuleAction


def controller_action(argument_spec: dict, operation, error_type=Exception):
    """Make an ActionModule class that validates its arguments and runs operation(args, check_mode, diff)."""

    class ActionModule(ActionBase):
        _requires_connection = False
        TRANSFERS_FILES = False

        def run(self, tmp=None, task_vars=None):
            result = super().run(tmp, task_vars)
            _, args = self.validate_argument_spec(argument_spec=argument_spec)
            try:
                result.update(operation(args, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff)))
            except error_type as exc:
                raise AnsibleActionFail(str(exc)) from None
            return result

    return ActionModule


def secret_result_action(secret_keys: tuple[str, ...]):
    """Make an ActionModule class that runs its module on the host as usual, and hides a result carrying any of
    secret_keys (join tokens, an unlock key) the way no_log does: shown as censored, kept whole in a registered
    variable. A failure carries none of them and stays readable, which a no_log on the task would hide too."""

    class ActionModule(ModuleAction):
        def run(self, tmp=None, task_vars=None):
            result = super().run(tmp, task_vars)
            if any(key in result for key in secret_keys):
                result["_ansible_no_log"] = True
            return result

    return ActionModule
