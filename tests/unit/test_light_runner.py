"""The light module runner (plugin_utils/swarmctl_light.py): the script a host's Python runs instead of an AnsiballZ
payload. The scripts run here under this machine's Python, as they would on a host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.plugins.loader import shell_loader
from ansible_collections.swarmctl.swarm.plugins.plugin_utils import swarmctl_action
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import UTILS_PACKAGE, _hide_secrets
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_light import NotLight, parse_result, remote_script, utils_closure

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def read_util(name: str) -> str:
    return (PLUGINS / "module_utils" / f"{name}.py").read_text()


def run_light(module_name: str, source: str, params: dict, check_mode=False, diff=False, utils=None,
              rules=None) -> tuple[dict, int]:
    utils = utils if utils is not None else utils_closure(source, read_util, UTILS_PACKAGE)
    script = remote_script(module_name, source, utils, params, rules or {}, check_mode, diff)
    # -I: nothing from this checkout or the venv's ansible may be imported by accident; the script brings it all.
    proc = subprocess.run([sys.executable, "-I", "-"], input=script, capture_output=True, text=True, timeout=60)
    return parse_result(proc.stdout, proc.stderr, proc.returncode), proc.returncode


STUB = '''
from __future__ import annotations
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_swarm import tolerance

def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    p = module.params
    if p["how"] == "fail":
        module.fail_json(msg="refused: " + p["secret"], extra=1)
    if p["how"] == "raise":
        raise RuntimeError("boom")
    module.warn("careful")
    module.exit_json(changed=not module.check_mode, tolerance=tolerance(p["managers"]), diff_asked=module._diff,
                     kinds={"a"}, raw=b"x")

if __name__ == "__main__":
    main()
'''


def test_only_swarmctl_module_utils_are_carried_and_basic_is_stood_in_for():
    source = (PLUGINS / "modules" / "swarmctl_swarm.py").read_text()
    utils = utils_closure(source, read_util, UTILS_PACKAGE)
    assert UTILS_PACKAGE == "ansible_collections.swarmctl.swarm.plugins.module_utils"
    assert set(utils) == {"ansible.module_utils.basic", f"{UTILS_PACKAGE}.swarmctl_docker",
                          f"{UTILS_PACKAGE}.swarmctl_engine_api", f"{UTILS_PACKAGE}.swarmctl_swarm"}
    assert "class AnsibleModule" in utils["ansible.module_utils.basic"]
    with pytest.raises(NotLight, match="common.text"):
        utils_closure("from ansible.module_utils.common.text.converters import to_text\n", read_util, UTILS_PACKAGE)


def test_the_module_runs_with_its_params_and_check_and_diff_modes():
    result, rc = run_light("stub", STUB, {"how": "ok", "managers": 5, "secret": "x"}, check_mode=True, diff=True)
    assert rc == 0
    assert result == {"changed": False, "tolerance": 2, "diff_asked": True, "warnings": ["careful"], "kinds": ["a"],
                      "raw": "x"}
    result, _ = run_light("stub", STUB, {"how": "ok", "managers": 3, "secret": "x"})
    assert result["changed"] is True and result["tolerance"] == 1


def test_a_failure_and_an_exception_come_back_as_failed_results():
    result, rc = run_light("stub", STUB, {"how": "fail", "managers": 1, "secret": "s3cret"})
    assert rc == 1 and result["failed"] is True and result["msg"] == "refused: s3cret" and result["extra"] == 1
    result, rc = run_light("stub", STUB, {"how": "raise", "managers": 1, "secret": "x"})
    assert rc == 1 and result["failed"] is True and "RuntimeError: boom" in result["msg"]
    assert "Traceback" in result["module_stderr"]


def test_a_real_module_runs_through_it_where_no_engine_answers(tmp_path):
    source = (PLUGINS / "modules" / "swarmctl_swarm_info.py").read_text()
    params = {"tokens": False, "unlock_key": False, "engine_missing_ok": True,
              "docker_host": f"unix://{tmp_path}/no-such.sock", "timeout": 5}
    result, rc = run_light("swarmctl_swarm_info", source, params)
    assert rc == 0, result
    assert result["changed"] is False and result["local"]["state"] == "no-engine"
    result, rc = run_light("swarmctl_swarm_info", source, dict(params, engine_missing_ok=False))
    assert rc == 1 and "no Docker engine at unix://" in result["msg"]


def test_params_survive_the_trip_whatever_they_hold():
    params = {"how": "fail", "managers": 1, "secret": "quote\" back\\slash \u00e9 \U0001F600 new\nline '''"}
    result, _ = run_light("stub", STUB, params)
    assert result["msg"] == "refused: " + params["secret"]


def test_output_that_is_not_a_result_is_a_failure_that_shows_it():
    result = parse_result("Traceback...\n", "SyntaxError: invalid syntax\n", 1)
    assert result["failed"] and "SyntaxError: invalid syntax" in result["msg"] and result["rc"] == 1
    assert parse_result(json.dumps({"changed": True}), "", 0) == {"changed": True}


def test_results_carrying_secrets_are_hidden_and_others_are_not():
    assert _hide_secrets({"tokens": {"worker": "t"}}, ("tokens", "unlock_key"))["_ansible_no_log"] is True
    assert "_ansible_no_log" not in _hide_secrets({"failed": True, "msg": "no"}, ("tokens", "unlock_key"))


@pytest.mark.parametrize("name", ["swarmctl_swarm_info", "swarmctl_swarm", "swarmctl_node", "swarmctl_service",
                                  "swarmctl_status", "swarmctl_rollouts"])
def test_the_light_modules_use_only_what_the_stand_in_has(name):
    """A module or module_util run this way may use only the AnsibleModule members the stand-in provides."""
    import re

    source = (PLUGINS / "modules" / f"{name}.py").read_text()
    used = set()
    for text in [source, *utils_closure(source, read_util, UTILS_PACKAGE).values()]:
        used |= set(re.findall(r"\bmodule\.(\w+)", text))
    assert used <= {"params", "check_mode", "_diff", "exit_json", "fail_json", "warn"}, used
    assert (PLUGINS / "action" / f"{name}.py").read_text().count("light_module_action(") == 1


def test_anything_the_stand_in_does_not_carry_sends_the_module_back_to_the_ordinary_path():
    needs_more = STUB.replace("supports_check_mode=True)", "supports_check_mode=True, required_if=[('a', 1, ['b'])])")
    result, rc = run_light("stub", needs_more, {"how": "ok", "managers": 1, "secret": "x"})
    assert rc == 0 and result == {"_swarmctl_not_light": "AnsibleModule(required_if=...)", "changed": False}
    # The same rules, checked on the control machine with the argument spec (the module's ARGUMENT_RULES): it runs.
    result, rc = run_light("stub", needs_more, {"how": "ok", "managers": 1, "secret": "x"},
                           rules={"required_if": [("a", 1, ["b"])]})
    assert rc == 0 and result["tolerance"] == 0 and "_swarmctl_not_light" not in result
    no_check = STUB.replace("supports_check_mode=True", "supports_check_mode=False")
    result, _ = run_light("stub", no_check, {"how": "ok", "managers": 1, "secret": "x"}, check_mode=True)
    assert result["skipped"] is True and "does not support check mode" in result["msg"]
    missing = STUB.replace('module.warn("careful")', 'module.run_command(["true"])')
    result, rc = run_light("stub", missing, {"how": "ok", "managers": 1, "secret": "x"})
    assert rc == 1 and "has no run_command" in result["msg"]


@pytest.mark.parametrize("pipelining, runner", [("True", "light"), ("False", "module")])
def test_the_action_plugin_runs_over_a_local_connection_both_ways(tmp_path, pipelining, runner):
    """A pipeline that runs swarmctl on a manager itself: ansible_connection=local, light path and ordinary."""
    import os

    playbook = tmp_path / "local.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - swarmctl.swarm.swarmctl_swarm_info:\n        engine_missing_ok: true\n"
        f"        docker_host: unix://{tmp_path}/no-such.sock\n      register: info\n"
        "    - ansible.builtin.copy:\n        content: '{{ info | to_json }}'\n"
        f"        dest: {tmp_path}/result.json\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(PLUGINS.parent / "ansible.cfg"), "ANSIBLE_PIPELINING": pipelining,
           "SWARMCTL_MODULE_CACHE": str(tmp_path / "modules"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["local"]["state"] == "no-engine" and result["_swarmctl_runner"] == runner


@pytest.mark.parametrize("pipelining, runner", [("True", "light"), ("False", "module")])
def test_the_host_check_asks_the_engine_in_its_own_step_both_ways(tmp_path, pipelining, runner):
    """swarmctl_host_check with swarm: the engine's answer (from inside another action; light: in one exec with
    the host query), light and ordinary, over a local connection. Facts are set beforehand, so nothing is gathered
    from this machine."""
    import os

    playbook = tmp_path / "check.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.set_fact: {distribution: Debian, os_family: Debian, service_mgr: systemd, cacheable: true}\n"
        "    - swarmctl.swarm.swarmctl_host_check:\n"
        "        gather_subset: ['!all']\n        supported_os_families: [Debian]\n        swarm: true\n"
        "        packages: [dpkg, swarmctl-no-such-package]\n"
        "      register: check\n"
        "    - ansible.builtin.copy:\n        content: '{{ check | to_json }}'\n"
        f"        dest: {tmp_path}/result.json\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(PLUGINS.parent / "ansible.cfg"), "ANSIBLE_PIPELINING": pipelining,
           "SWARMCTL_MODULE_CACHE": str(tmp_path / "modules"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
           "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts")}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(playbook)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["gathered"] is False and result["_swarmctl_runner"] == runner
    # The shell query's part of the answer (in the same exec as the engine's on the light path).
    assert result["platform"].startswith("debian-") and result["missing_packages"] == ["swarmctl-no-such-package"]
    # This machine's engine, if it runs, is in no swarm; with none running the answer says so.
    assert result["local"]["state"] in ("no-engine", "inactive"), result["local"]
    assert "tokens" not in result and "swarm" not in result


class _LocalAction:
    """Just what run_command_then_module uses of an action plugin; commands run in this machine's shell."""

    def __init__(self):
        self._task = SimpleNamespace(check_mode=False, diff=False, async_val=0)
        self._connection = SimpleNamespace(_shell=shell_loader.get("sh"))
        self.commands = []

    def _compute_environment_string(self):
        return ""

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None):
        self.commands.append(cmd)
        proc = subprocess.run(["/bin/sh", "-c", cmd], input=in_data, capture_output=True, timeout=60)
        return dict(rc=proc.returncode, stdout=proc.stdout.decode(), stderr=proc.stderr.decode())

    def _execute_module(self, **kwargs):
        raise AssertionError("the ordinary module path was taken")


@pytest.mark.parametrize("command, ok", [("echo one; echo two", True), ("echo half; false", False)])
def test_a_command_and_a_light_module_go_to_the_host_in_one_exec(monkeypatch, tmp_path, command, ok):
    monkeypatch.setattr(swarmctl_action, "_light_interpreter", lambda action, task_vars: sys.executable)
    action = _LocalAction()
    reached, answer = swarmctl_action.run_command_then_module(
        action, command, "swarmctl_swarm_info",
        {"engine_missing_ok": True, "docker_host": f"unix://{tmp_path}/no-such.sock"}, {})
    assert len(action.commands) == 1
    if ok:
        assert reached["rc"] == 0 and reached["stdout"].split() == ["one", "two"]
        assert answer["local"]["state"] == "no-engine" and answer["_swarmctl_runner"] == "light"
    else:  # the module is not asked after a failed command, and the command's failure is what is reported
        assert reached["rc"] != 0 and "half" in reached["stdout"] and answer["failed"]
