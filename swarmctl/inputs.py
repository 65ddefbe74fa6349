"""What a user types, checked before any host is contacted, and kept out of sight where it is secret.

- Extra variables (`-e`): `key=value`, JSON/YAML, or `@file`, as ansible-playbook takes them. Each is
  parsed here, so `-e '{bad json'` or `-e @missing.yml` is a usage error that names the value; `@file` is
  read relative to the user's directory (the playbook runs elsewhere). Values given inline reach Ansible
  through a file of the run (0600, removed when the run ends) rather than its command line, and every
  display of them masks the values of secret-looking names.
- Inventories: a YAML inventory that does not parse is named with the line of the problem, instead of
  Ansible's "no hosts in group managers" later on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MASK = "********"
# Variable names whose values are never shown: secret, password, passwd, token, key(s), unlock, vault,
# credential(s), as whole words of a snake_case name (registry_password, api_key; not keyboard or monkey).
_SECRET_WORDS = r"secrets?|passwords?|passwd|pass|passphrase|tokens?|keys?|unlock|vault|credentials?|private"
SECRET_NAME = re.compile(rf"(^|[_.\-])(?:{_SECRET_WORDS})([_.\-]|$)", re.I)
_VAULT_HEADER = "$ANSIBLE_VAULT"


class InputError(ValueError):
    """Bad input: the message names the value and says what to type instead."""


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(str(name)))


def mask_values(data, secret: bool = False):
    """data with the values of secret-looking keys (at any depth) replaced by MASK."""
    if isinstance(data, dict):
        return {k: mask_values(v, secret or is_secret_name(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_values(v, secret) for v in data]
    return MASK if secret else data


class _TolerantLoader(yaml.SafeLoader):
    """YAML as Ansible reads it, for a syntax check: its own tags (!vault, !unsafe) are accepted as values."""


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_TolerantLoader.add_multi_constructor("!", _any_tag)


def load_yaml(text: str, what: str):
    try:
        return yaml.load(text, Loader=_TolerantLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{what} is not valid YAML{where}: {problem}") from None


@dataclass
class ExtraVar:
    given: str  # as the user typed it
    kind: str  # "file" | "inline"
    data: dict | None = None  # parsed (None for a vault-encrypted file, which Ansible decrypts)
    path: Path | None = None  # kind == "file": absolute

    def display(self) -> str:
        """How this value is shown: files by path, inline values with secrets masked."""
        if self.kind == "file":
            return f"@{self.path}"
        if re.match(r"^\s*[\[{]", self.given):
            return json.dumps(mask_values(self.data))
        return " ".join(f"{k}={MASK if is_secret_name(k) else shlex.quote(str(v))}" for k, v in self.data.items())


@dataclass
class ExtraVars:
    items: list[ExtraVar] = field(default_factory=list)

    def display_args(self) -> list[str]:
        args: list[str] = []
        for item in self.items:
            args += ["-e", item.display()]
        return args

    def secret_values(self) -> set[str]:
        """The values that must never be printed: those of secret-looking names."""
        found: set[str] = set()

        def walk(data, secret=False):
            if isinstance(data, dict):
                for k, v in data.items():
                    walk(v, secret or is_secret_name(k))
            elif isinstance(data, list):
                for v in data:
                    walk(v, secret)
            elif secret and data not in (None, "") and not isinstance(data, bool):
                found.add(str(data))

        for item in self.items:
            walk(item.data or {})
        return {v for v in found if len(v) >= 4}  # masking "1" or "yes" everywhere would garble output

    def ansible_args(self, run_dir: Path) -> list[str]:
        """-e arguments for ansible-playbook: files by absolute path, inline values in files of run_dir (0600)."""
        args: list[str] = []
        for index, item in enumerate(self.items):
            if item.kind == "file":
                args += ["-e", f"@{item.path}"]
                continue
            path = run_dir / f"extra-vars-{index}.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(item.data, handle)
            args += ["-e", f"@{path}"]
        return args


def parse_extra_var(value: str, cwd: Path | None = None) -> ExtraVar:
    """One -e value, parsed as ansible-playbook would take it; InputError if it cannot be."""
    cwd = cwd or Path.cwd()
    if value.startswith("@"):
        name = value[1:]
        if not name:
            raise InputError("-e @ needs a file name: -e @vars.yml")
        path = (cwd / Path(name).expanduser()).resolve()
        if not path.is_file():
            raise InputError(f"-e {value}: no such file ({path}); give the path of a YAML or JSON file of variables")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"-e {value}: cannot read {path}: {exc}") from None
        if text.lstrip().startswith(_VAULT_HEADER):
            return ExtraVar(value, "file", None, path)
        data = load_yaml(text, f"-e {value} ({path})")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InputError(f"-e {value}: {path} must hold a mapping of variable names to values, "
                             f"not a {type(data).__name__}")
        return ExtraVar(value, "file", data, path)
    if re.match(r"^\s*[\[{]", value):
        try:
            data = json.loads(value)
        except ValueError:
            data = load_yaml(value, f"-e {shlex.quote(shorten(value))} (JSON or YAML)")
        if not isinstance(data, dict):
            raise InputError(f"-e {shorten(value)}: extra variables must be a JSON object "
                             "({\"name\": value, ...}), not a list")
        return ExtraVar(value, "inline", data)
    data = {}
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise InputError(f"-e {shorten(value)}: {exc} (quote values that hold spaces: -e 'name=\"a b\"')") from None
    if not words:
        raise InputError("-e needs variables: key=value, a JSON object, or @file")
    for word in words:
        name, sep, val = word.partition("=")
        if not sep or not name:
            raise InputError(f"-e {shorten(value)}: {word!r} is not key=value; use key=value, a JSON object, "
                             "or @file")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise InputError(f"-e {shorten(value)}: {name!r} is not a variable name (letters, digits, _)")
        data[name] = val
    return ExtraVar(value, "inline", data)


def parse_extra_vars(values: list[str], cwd: Path | None = None) -> ExtraVars:
    return ExtraVars([parse_extra_var(v, cwd) for v in values])


def shorten(text: str, width: int = 60) -> str:
    """A value for an error message, cut short and with secret-looking assignments masked."""
    text = re.sub(rf"(\w*(?:{_SECRET_WORDS})\w*\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,}}]+)", rf"\1{MASK}", text,
                  flags=re.I)
    return text if len(text) <= width else text[: width - 3] + "..."


def check_inventory_syntax(path: Path) -> None:
    """A YAML inventory (file, or the YAML files of an inventory folder) that does not parse: InputError."""
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".json"))
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"inventory {file}: cannot read it: {exc}") from None
        if text.lstrip().startswith(_VAULT_HEADER):
            continue
        if file.suffix not in (".yml", ".yaml", ".json") and not _looks_like_yaml(text):
            continue  # an INI inventory (or a script): Ansible parses it, and fails clearly (see runner)
        data = load_yaml(text, f"inventory {file}")
        if file is path and data is not None and not isinstance(data, dict):
            raise InputError(f"inventory {file} must be a mapping (all: children: managers: ...), "
                             f"not a {type(data).__name__}")


def _looks_like_yaml(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    return first.strip() == "---" or bool(re.match(r"^[A-Za-z_][\w.-]*:\s*$", first))
