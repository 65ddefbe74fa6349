"""The dashboard reads the cluster with swarmctl_status, the module `swarmctl status` runs: the program it pipes to a
manager is the light runner's, carrying that module and its module_utils, with the inventory's reconciler port."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from swarmctl.dashboard.collector import status_program


def arguments_of(program: str) -> dict:
    """What the program's first line (_ARGS = '...') hands the host's Python."""
    return json.loads(ast.literal_eval(program.split("\n", 1)[0].split(" = ", 1)[1]))


def params_of(program: str) -> dict:
    return arguments_of(program)["PARAMS"]


def test_the_dashboard_runs_swarmctl_status_with_its_tasks_and_the_inventorys_reconciler_port():
    program = status_program({"name": "base2", "reconciler_status_port": 9777})
    args = arguments_of(program)
    assert args["MODULE_NAME"] == "swarmctl_status"
    assert "def task_rows(" in args["MODULE_SOURCE"] and "def summarize_node(" in "".join(args["SOURCES"].values())
    assert args["PARAMS"]["tasks"] is True
    assert args["PARAMS"]["reconciler_url"] == "http://127.0.0.1:9777/status"
    assert args["PARAMS"]["docker_host"]  # the module's own defaults, applied as Ansible applies them
    # Without a port in the inventory the module's default stands.
    assert params_of(status_program({"name": "base2"}))["reconciler_url"] == "http://127.0.0.1:9610/status"


def test_the_program_runs_on_a_bare_python_and_answers_as_the_module_does():
    # This machine is in no swarm (or has no engine): the module's own refusal, as JSON, from a Python that can
    # import nothing of this checkout.
    proc = subprocess.run([sys.executable, "-I", "-"], input=status_program({"name": "here"}), capture_output=True,
                          text=True, timeout=60)
    result = json.loads(proc.stdout)
    assert result["failed"] is True and ("not in a swarm" in result["msg"] or "no Docker engine" in result["msg"])
