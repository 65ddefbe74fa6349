# Running a swarmctl host module without AnsiballZ, for the modules every formation and every re-run calls
# (swarm_info, swarm, node, service, status). Control-machine side only; never imported by code on hosts.
#
# Why: a module run through AnsiballZ spends ~0.2-0.3 s of the host's CPU importing Ansible's own
# module_utils (basic and what it pulls in) before the module does anything; these modules then make a few
# requests to the engine's socket in ~0.05 s. On a small machine that CPU is what a formation waits for.
#
# How: the action plugin validates the arguments on the control machine (the module's ARGUMENT_SPEC, the
# same validation AnsibleModule does), then pipes one Python script to the host's interpreter, over the
# same connection and privilege escalation a pipelined module would use. The script carries the module's
# source, the swarmctl module_utils it imports, and a stand-in for the few AnsibleModule members these
# modules use (params, check_mode, _diff, exit_json, fail_json, warn). Anything else the module imports
# makes it ineligible, and the action plugin runs it as an ordinary module instead.

from __future__ import annotations

import importlib.util
import json
import os
import re

_IMPORT = re.compile(r"^\s*(?:from|import)\s+(ansible(?:_collections)?(?:\.[\w.]+)?)(?:\s+import\s+(\w+))?", re.M)
BASIC = "ansible.module_utils.basic"

# ansible.module_utils.basic on the host, as far as these modules use it.
_BASIC = r'''
import json as _json
import sys as _sys

_RUN = _sys.modules["__swarmctl_light__"]
NOT_LIGHT = "_swarmctl_not_light"


def _jsonable(value):
    """What AnsibleModule's encoder would make of values JSON has no type for."""
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def missing_required_lib(library, reason=None, url=None):
    return f"Failed to import the required Python library ({library}) on this host's Python {_sys.executable}."


class AnsibleModule:
    def __init__(self, argument_spec=None, supports_check_mode=False, **unsupported):
        self._warnings = []
        if unsupported and _json.loads(_json.dumps(unsupported)) != _RUN.RULES:
            # Rules (required_if, ...) other than those the control machine checked, or another option: before
            # the module does anything, hand it back to be run as an ordinary module, which checks them.
            self._finish({NOT_LIGHT: f"AnsibleModule({', '.join(sorted(unsupported))}=...)"})
        if _RUN.CHECK_MODE and not supports_check_mode:
            self._finish(dict(skipped=True, msg=f"remote module ({_RUN.MODULE_NAME}) does not support check mode"))
        self.params = _RUN.PARAMS
        self.check_mode = _RUN.CHECK_MODE
        self._diff = _RUN.DIFF

    def __getattr__(self, name):
        raise AttributeError(f"the light runner's AnsibleModule has no {name}; run this module as an ordinary one "
                             "(tests/unit/test_light_runner.py lists what it has)")

    def warn(self, warning):
        self._warnings.append(str(warning))

    def exit_json(self, **result):
        self._finish(result)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        self._finish(result)

    def _finish(self, result):
        if self._warnings:
            result["warnings"] = self._warnings
        result.setdefault("changed", False)
        _sys.stdout.write(_json.dumps(result, default=_jsonable))
        _sys.stdout.flush()
        _sys.exit(1 if result.get("failed") else 0)
'''

# Serves ansible.module_utils.<name> from the sources the script carries, then runs the module as __main__.
_BOOT = r'''
import importlib.util, json, sys, types

run = types.ModuleType("__swarmctl_light__")
run.__dict__.update(json.loads(_ARGS))
sys.modules["__swarmctl_light__"] = run
# Every package above a carried source (ansible, ansible.module_utils, ansible_collections, ...), served empty.
_PACKAGES = {".".join(name.split(".")[:i]) for name in run.SOURCES for i in range(1, name.count(".") + 1)}


# A finder and loader by protocol: subclassing importlib.abc's would import importlib.resources too, a fifth of
# the script's start.
class _Sources:
    def find_spec(self, name, path=None, target=None):
        if name in _PACKAGES or name in run.SOURCES:
            return importlib.util.spec_from_loader(name, self, is_package=name in _PACKAGES)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if module.__name__ in _PACKAGES:
            module.__path__ = []
            return
        source = run.SOURCES[module.__name__]
        exec(compile(source, module.__name__.replace(".", "/") + ".py", "exec"), module.__dict__)


sys.meta_path.insert(0, _Sources())
main = {"__name__": "__main__", "__file__": run.MODULE_NAME + ".py"}
exec(compile(run.MODULE_SOURCE, run.MODULE_NAME + ".py", "exec"), main)
'''


# What the host's program answers, instead of a result, when the module needs more of AnsibleModule than the
# stand-in has: the action plugin then runs it as an ordinary module.
NOT_LIGHT = "_swarmctl_not_light"


class NotLight(Exception):
    """The module imports something the light runner does not carry: run it as an ordinary module."""


def imported_utils(source: str, utils_package: str) -> set[str]:
    """Full names of the module_utils a source imports directly: ansible.module_utils.basic and those of
    utils_package (this collection's, e.g. ansible_collections.swarmctl.swarm.plugins.module_utils). NotLight for
    any other import from ansible or a collection."""
    def carried(full):
        return full == BASIC or (full.startswith(utils_package + ".") and full.count(".") == utils_package.count(".") + 1)

    names = set()
    for package, name in _IMPORT.findall(source):
        # "from P import N" names either something in module P or the module P.N.
        full = package if carried(package) else f"{package}.{name}"
        if not carried(full):
            raise NotLight(f"imports {package}")
        names.add(full)
    return names


def utils_closure(module_source: str, read_util, utils_package: str) -> dict[str, str]:
    """{full module name: source} for every module_util the module needs, transitively.

    read_util(name) returns the source of utils_package.<name>. Only the collection's own module_utils and
    `basic` (stood in for) are allowed; anything else raises NotLight."""
    sources, pending = {}, sorted(imported_utils(module_source, utils_package))
    while pending:
        full = pending.pop()
        if full == BASIC or full in sources:
            continue
        source = read_util(full.rsplit(".", 1)[1])
        sources[full] = source
        pending.extend(sorted(imported_utils(source, utils_package)))
    sources[BASIC] = _BASIC
    return sources


class LightModule:
    """A module of this collection as the light runner needs it: its source, argument spec and rules
    (ARGUMENT_RULES: required_if, ... as it gives them to AnsibleModule), and the module_utils it imports
    (None when it imports something the light runner does not carry)."""

    def __init__(self, name: str, source: str, spec: dict, rules: dict, utils: dict[str, str] | None):
        self.name, self.source, self.spec, self.rules, self.utils = name, source, spec, rules, utils

    def script(self, params: dict, check_mode: bool, diff: bool) -> str:
        """The program for these (already validated) parameters; see remote_script."""
        return remote_script(self.name, self.source, self.utils, params, self.rules, check_mode, diff)


def load_module(plugins_dir: str, module_name: str, utils_package: str) -> LightModule:
    """plugins_dir/modules/<module_name>.py, with its module_utils read from plugins_dir/module_utils."""
    module_path = os.path.join(plugins_dir, "modules", f"{module_name}.py")
    with open(module_path) as handle:
        source = handle.read()
    spec = importlib.util.spec_from_file_location(f"_swarmctl_light_{module_name}", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def read_util(name):
        with open(os.path.join(plugins_dir, "module_utils", f"{name}.py")) as handle:
            return handle.read()

    try:
        utils = utils_closure(source, read_util, utils_package)
    except NotLight:
        utils = None
    return LightModule(module_name, source, module.ARGUMENT_SPEC, getattr(module, "ARGUMENT_RULES", {}), utils)


def remote_script(module_name: str, module_source: str, utils: dict[str, str], params: dict, rules: dict,
                  check_mode: bool, diff: bool) -> str:
    """The Python program piped to the host's interpreter: it prints the module's result as JSON. rules: the
    argument rules (required_if, ...) the control machine checked params against, with the argument spec."""
    args = dict(PARAMS=params, RULES=rules, CHECK_MODE=bool(check_mode), DIFF=bool(diff), SOURCES=utils,
                MODULE_NAME=module_name, MODULE_SOURCE=module_source)
    return f"_ARGS = {json.dumps(args)!r}\n{_BOOT}"


def parse_result(stdout: str, stderr: str, rc: int) -> dict:
    """The module's result, or a failure that carries what the host printed."""
    try:
        result = json.loads(stdout)
        if isinstance(result, dict):
            return result
    except ValueError:
        pass
    last = (stderr.strip().splitlines() or stdout.strip().splitlines() or ["no output"])[-1]
    return dict(failed=True, rc=rc, msg=f"the module failed on the host (rc={rc}): {last}",
                module_stdout=stdout, module_stderr=stderr)
