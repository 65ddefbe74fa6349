# Swarm secrets and configs cannot change in place: swarmctl names each version after its content
# (NAME-DIGEST) and moves services to the new name. The pure parts of that, shared by the module that keeps
# the objects and the filter that points services at them.

from __future__ import annotations

import hashlib
import hmac
import re

KINDS = ("secret", "config")
DIGEST_LENGTH = 12
# Swarm takes object names of at most 64 characters; the digest and its dash take 13 of them.
NAME_MAX = 64 - DIGEST_LENGTH - 1
NAME_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9])?$")
FAMILY_LABEL = "io.swarmctl.family"
DIGEST_LABEL = "io.swarmctl.digest"
KIND_LABEL = "io.swarmctl.kind"


def name_problem(name) -> str | None:
    """Why name cannot name a family of versions; None when it can."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        return (f"name {name!r} is not a swarm object name (letters, digits, '_', '.', '-', starting and ending "
                "with a letter or digit)")
    if len(name) > NAME_MAX:
        return f"name {name!r} is longer than {NAME_MAX} characters (swarmctl adds a dash and a {DIGEST_LENGTH}-character digest)"
    return None


def digest(kind: str, data: str, key: str | None) -> str:
    """The version's digest: keyed (HMAC) when a key is given, so that a digest in a name or label tells
    nothing about a secret's value to whoever can list secrets, even for a short password."""
    payload = f"{kind}\0{data}".encode()
    if key:
        return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()[:DIGEST_LENGTH]
    return hashlib.sha256(payload).hexdigest()[:DIGEST_LENGTH]


def versioned_name(name: str, version: str) -> str:
    return f"{name}-{version}"


def family_members(objects: list, name: str) -> list:
    """The objects of the family NAME (made by swarmctl, labelled with it)."""
    return [o for o in objects if (o.get("Spec", {}).get("Labels") or {}).get(FAMILY_LABEL) == name]


def _referred_ids(service: dict, kind: str) -> set:
    """IDs of the secrets (or configs) one service refers to."""
    field, key = ("Secrets", "SecretID") if kind == "secret" else ("Configs", "ConfigID")
    refs = service.get("Spec", {}).get("TaskTemplate", {}).get("ContainerSpec", {}).get(field) or []
    return {ref.get(key) for ref in refs}


def used_ids(services: list, kind: str) -> set:
    """IDs of the secrets (or configs) any service refers to."""
    return set().union(*(_referred_ids(svc, kind) for svc in services))


def users_of(services: list, kind: str, ids: set) -> list:
    """Names of the services that refer to any of the secrets (or configs) with these IDs."""
    return sorted(svc.get("Spec", {}).get("Name", svc.get("ID", "")) for svc in services
                  if _referred_ids(svc, kind) & ids)


def stale_versions(objects: list, services: list, kind: str, name: str, current: str) -> list:
    """The family's other versions that no service refers to any more: safe to remove."""
    used = used_ids(services, kind)
    return sorted((o for o in family_members(objects, name)
                   if o["Spec"]["Name"] != current and o["ID"] not in used), key=lambda o: o["Spec"]["Name"])


def point_at_versions(refs, kind: str, versions: dict, pending: bool = False) -> list:
    """A service's secret (or config) references with each name of a family swarmctl keeps replaced by the
    family's current version. The file in the task keeps the family's name, so a new version changes nothing
    the program sees but the content: /run/secrets/NAME for a secret, /NAME for a config, unless a target is
    given. versions: family name -> versioned name. pending: mark those references as made in this run (a
    check-mode run may name a version that does not exist yet). Other references are left as they are."""
    out = []
    for ref in refs or []:
        ref = dict(ref)
        family = ref.get("name")
        if family in versions:
            ref["name"] = versions[family]
            ref.setdefault("target", family if kind == "secret" else f"/{family}")
            if pending:
                ref["pending"] = True
        out.append(ref)
    return out
