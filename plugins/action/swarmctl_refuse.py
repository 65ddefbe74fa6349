"""Refuse a request that does not fit the cluster's state (see the module of the same name): a failure marked as
bad input (swarmctl_bad_input), which swarmctl reports with exit code 2, not as a host that failed."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = dict(msg=dict(type="str", required=True))


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars or {})
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        result.update(failed=True, changed=False, swarmctl_bad_input=True, msg=args["msg"])
        return result
