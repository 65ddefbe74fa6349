"""Every module's DOCUMENTATION agrees with the argument spec it runs with: the same options, types, defaults,
choices, required flags and list elements, suboptions included. ansible-doc shows the documentation; the spec
decides what a task may pass - the two must not tell a user different things."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

from helpers import ROOT, host_module

MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("swarmctl_*.py"))


class _Captured(Exception):
    pass


def argument_spec(name: str):
    """The spec the module runs with: its module-level ARGUMENT_SPEC, or what main() hands AnsibleModule.
    For a module whose work is all in its action plugin, the spec that plugin validates against."""
    module = host_module(name)
    if hasattr(module, "ARGUMENT_SPEC"):
        return module.ARGUMENT_SPEC
    if not hasattr(module, "main") or not hasattr(module, "AnsibleModule"):
        action = ROOT / "plugins" / "action" / f"{name}.py"
        if not action.exists():
            return None
        loaded = importlib.util.module_from_spec(importlib.util.spec_from_file_location(f"{name}_action", action))
        loaded.__spec__.loader.exec_module(loaded)
        return getattr(loaded, "ARGUMENT_SPEC", None) or getattr(loaded.ActionModule, "ARGUMENT_SPEC", None)

    def capture(*args, **kwargs):
        raise _Captured(kwargs.get("argument_spec", args[0] if args else None))

    module.AnsibleModule = capture
    try:
        module.main()
    except _Captured as captured:
        return captured.args[0]
    raise AssertionError(f"{name}.main() did not build an AnsibleModule")


def fragment_options(name: str) -> dict:
    """The options a doc fragment of plugins/doc_fragments adds (the name as a module gives it: FRAGMENT, or
    FRAGMENT.VAR for another part of it than DOCUMENTATION)."""
    fragment, _, var = name.removeprefix("swarmctl.swarm.").partition(".")
    path = ROOT / "plugins" / "doc_fragments" / f"{fragment}.py"
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - the project's own file
    return yaml.safe_load(getattr(namespace["ModuleDocFragment"], (var or "documentation").upper())).get("options") or {}


def disagreements(documented: dict, spec: dict, where: str) -> list[str]:
    found = []
    for option in sorted(set(documented) - set(spec)):
        found.append(f"{where}{option}: documented, not in the argument spec")
    for option, rules in spec.items():
        doc = documented.get(option)
        if doc is None:
            found.append(f"{where}{option}: in the argument spec, not documented")
            continue
        pairs = {
            "type": (doc.get("type", "str"), rules.get("type", "str")),
            "default": (doc.get("default"), rules.get("default")),
            "choices": (doc.get("choices"), rules.get("choices")),
            "required": (bool(doc.get("required", False)), bool(rules.get("required", False))),
            "elements": (doc.get("elements"), rules.get("elements")),
            "aliases": (sorted(doc.get("aliases") or []), sorted(rules.get("aliases") or [])),
        }
        for what, (said, runs) in pairs.items():
            if said != runs:
                found.append(f"{where}{option}: {what} documented as {said!r}, the spec has {runs!r}")
        if rules.get("options") or doc.get("suboptions"):
            found += disagreements(doc.get("suboptions") or {}, rules.get("options") or {}, f"{where}{option}.")
    return found


@pytest.mark.parametrize("name", MODULES)
def test_documentation_agrees_with_the_argument_spec(name):
    spec = argument_spec(name)
    if spec is None:
        pytest.fail("no argument spec found: give the module (or its action plugin) one")
    doc = yaml.safe_load(host_module(name).DOCUMENTATION)
    documented = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        documented.update(fragment_options(fragment))
    assert disagreements(documented, spec, "") == []
