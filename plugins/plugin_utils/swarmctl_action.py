# Action plugins for swarmctl's modules. controller_action: the control-machine modules (CA, certificates,
# secrets) run in the Ansible worker itself: no Python start and no module transfer per task, which on a
# busy control machine is most of a local task's cost. light_module_action: a host module run without
# AnsiballZ (see swarmctl_light), hiding results that carry secrets. Never imported by code on hosts.

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.executor.module_common import _get_shebang
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_light import NOT_LIGHT, load_module, parse_result
from ansible.plugins.action import ActionBase
from ansible.plugins.action.normal import ActionModule as ModuleAction


def controller_action(argument_spec: dict, operation, error_type=Exception):
    """Make an ActionModule class that validates its arguments and runs operation(args, check_mode, diff)."""

    class ActionModule(ActionBase):
        _requires_connection = False
        TRANSFERS_FILES = False
        ARGUMENT_SPEC = argument_spec

        def run(self, tmp=None, task_vars=None):
            result = super().run(tmp, task_vars)
            dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
            try:
                result.update(operation(args, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff)))
            except error_type as exc:
                raise AnsibleActionFail(str(exc)) from None
            return result

    return ActionModule


# This collection's module_utils package, as its modules import it.
UTILS_PACKAGE = __name__.rsplit(".plugin_utils.", 1)[0] + ".module_utils"
# Its name as tasks give it (swarmctl.swarm).
COLLECTION = ".".join(__name__.split(".")[1:3])

# Which way a light module ran ("light", or "module" for the ordinary AnsiballZ path), in its result.
RUNNER_KEY = "_swarmctl_runner"


def _hide_secrets(result: dict, secret_keys: tuple[str, ...]) -> dict:
    if any(key in result for key in secret_keys):
        result["_ansible_no_log"] = True
    return result


_LOADED: dict = {}


def _light_module(module_name: str):
    """This collection's module as the light runner needs it, read once per control-machine process."""
    if module_name not in _LOADED:
        plugins = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        _LOADED[module_name] = load_module(plugins, module_name, UTILS_PACKAGE)
    return _LOADED[module_name]


def _light_interpreter(action: ActionBase, task_vars: dict):
    """The host's Python as a pipelined module would run it, or None: run as an ordinary module."""
    if action._task.async_val or not action._is_pipelining_enabled("new"):
        return None
    try:
        shebang, dummy = _get_shebang("/usr/bin/python", task_vars, action._templar)
    except Exception:  # discovery still to do (the ordinary path does it), or anything unexpected
        return None
    return shebang


def _light_command(action: ActionBase, module, params: dict, interpreter: str) -> tuple[str, bytes]:
    """The command that runs the module on the host, and the script it reads from standard input."""
    script = module.script(params, action._task.check_mode, action._task.diff)
    command = action._connection._shell.build_module_command(action._compute_environment_string(), interpreter, "")
    # Bytes: the local connection hands in_data to the process as it is (ssh would encode a str itself).
    return command, script.encode()


def _run_light(action: ActionBase, module, params: dict, interpreter: str) -> dict:
    """The module's answer from the host (NOT_LIGHT in it: run it as an ordinary module)."""
    command, script = _light_command(action, module, params, interpreter)
    res = action._low_level_execute_command(command, sudoable=True, in_data=script)
    return parse_result(res.get("stdout", ""), res.get("stderr", ""), res.get("rc", 1))


def _light_plan(action: ActionBase, module_name: str, module_args: dict, task_vars: dict):
    """(module, validated parameters, interpreter) to run module_name light from this task, or None: run it as an
    ordinary module."""
    module = _light_module(module_name)
    interpreter = _light_interpreter(action, task_vars) if module.utils is not None else None
    if interpreter is None:
        return None
    validated = ArgumentSpecValidator(module.spec, **module.rules).validate(module_args)
    if validated.error_messages:
        raise AnsibleActionFail(f"{module_name}: {'; '.join(validated.error_messages)}")
    return module, validated.validated_parameters, interpreter


def _ordinary_module(action: ActionBase, module_name: str, module_args: dict, task_vars: dict) -> dict:
    answer = action._execute_module(module_name=f"{COLLECTION}.{module_name}", module_args=module_args,
                                    task_vars=task_vars)
    answer[RUNNER_KEY] = "module"
    return answer


def run_module(action: ActionBase, module_name: str, module_args: dict, task_vars: dict) -> dict:
    """Run this collection's module module_name from inside another action plugin's task (its connection, its
    privilege escalation, its check mode): light where it can be, else as an ordinary module. Returns the module's
    result; a failure is a result with failed set, as from _execute_module."""
    plan = _light_plan(action, module_name, module_args, task_vars)
    if plan is not None:
        answer = _run_light(action, *plan)
        if NOT_LIGHT not in answer:
            answer[RUNNER_KEY] = "light"
            return answer
    return _ordinary_module(action, module_name, module_args, task_vars)


# Between a shell command's output and a module's answer in one exec (run_command_then_module).
_SEPARATOR = "--swarmctl-module-answer--"


def run_command_then_module(action: ActionBase, command: str, module_name: str, module_args: dict,
                            task_vars: dict) -> tuple[dict, dict]:
    """A shell command (as the connection's user) and then this collection's module module_name (as run_module
    runs it): (the command's result, as from _low_level_execute_command; the module's result). Where the module
    can run light both go to the host in one exec, with privilege escalation (each exec is a round trip and a
    process on both machines, which is most of a no-change run's cost on a large cluster); the command gets no
    standard input. A command that fails (rc not 0) leaves the module unasked: its answer is then a failure."""
    plan = _light_plan(action, module_name, module_args, task_vars)
    if plan is None:
        reached = action._low_level_execute_command(command)
        if reached.get("rc") != 0:
            return reached, dict(failed=True, msg="the command before the module failed")
        return reached, _ordinary_module(action, module_name, module_args, task_vars)
    module_command, script = _light_command(action, *plan)
    res = action._low_level_execute_command(
        f"{{ {command}\n}} </dev/null && echo {_SEPARATOR} && {module_command}", sudoable=True, in_data=script)
    before, found, after = res.get("stdout", "").partition(_SEPARATOR)
    if not found:  # the command failed, or the shell did not get as far
        return dict(res, rc=res.get("rc") or 1), dict(failed=True, msg="the command before the module failed")
    answer = parse_result(after, res.get("stderr", ""), res.get("rc", 1))
    if NOT_LIGHT in answer:
        answer = _ordinary_module(action, module_name, module_args, task_vars)
    else:
        answer[RUNNER_KEY] = "light"
    return dict(res, rc=0, stdout=before), answer


def light_module_action(module_name: str, secret_keys: tuple[str, ...] = ()):
    """Make an ActionModule class that runs this collection's module module_name without AnsiballZ (swarmctl_light), or as
    an ordinary module when that cannot be done here (no pipelining, async, an interpreter not yet discovered,
    a module_util the light runner does not carry). A result carrying any of secret_keys (join tokens, an unlock
    key) is hidden the way no_log does it: shown as censored, kept whole in a registered variable. A failure
    carries none of them and stays readable, which a no_log on the task would hide too."""

    class ActionModule(ModuleAction):
        def run(self, tmp=None, task_vars=None):
            task_vars = task_vars or {}
            module = _light_module(module_name)
            interpreter = _light_interpreter(self, task_vars) if module.utils is not None else None
            if interpreter is None:
                return self._ordinary(tmp, task_vars)
            result = ActionBase.run(self, tmp, task_vars)
            validation, params = self.validate_argument_spec(argument_spec=module.spec, **module.rules)
            answer = _run_light(self, module, params, interpreter)
            if NOT_LIGHT in answer:
                return self._ordinary(tmp, task_vars)
            result.update(answer)
            result = remove_values(result, validation._no_log_values)
            result[RUNNER_KEY] = "light"
            return _hide_secrets(result, secret_keys)

        def _ordinary(self, tmp, task_vars):
            result = super().run(tmp, task_vars)
            result[RUNNER_KEY] = "module"
            return _hide_secrets(result, secret_keys)

    return ActionModule
