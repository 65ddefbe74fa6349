# Controller-side action plugins for swarmctl's control-machine modules (CA, certificates, secrets).
# They run in the Ansible worker itself: no Python start and no module transfer per task, which on a
# busy control machine is most of a local task's cost. Never imported by code that runs on hosts.

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


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
