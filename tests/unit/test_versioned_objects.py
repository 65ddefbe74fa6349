"""Secrets and configs kept as versions named after their content: the pure rules (digest, names, which
versions go, how a service's references move), and the filters the services role uses."""

from __future__ import annotations

import pytest

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_versioned import (
    DIGEST_LENGTH,
    FAMILY_LABEL,
    NAME_MAX,
    digest,
    name_problem,
    point_at_versions,
    stale_versions,
    used_ids,
    users_of,
    versioned_name,
)
from swarmctl_filters import (swarmctl_object_refs, swarmctl_object_shapes, swarmctl_object_value,
                              swarmctl_object_versions)
from swarmctl_validate_inventory import check_absent_objects_unused, check_objects


def test_the_digest_follows_the_value_and_the_key():
    plain = digest("secret", "hunter2", None)
    assert len(plain) == DIGEST_LENGTH and plain == digest("secret", "hunter2", None)
    keyed = digest("secret", "hunter2", "k1")
    assert keyed != plain and keyed != digest("secret", "hunter2", "k2")
    assert keyed != digest("secret", "hunter3", "k1")
    assert digest("config", "x", None) != digest("secret", "x", None)
    assert versioned_name("db", keyed) == f"db-{keyed}"


@pytest.mark.parametrize("name, ok", [
    ("db-password", True), ("a", True), ("app.conf_v1", True),
    ("-lead", False), ("trail-", False), ("has space", False), ("", False), (None, False),
    ("x" * NAME_MAX, True), ("x" * (NAME_MAX + 1), False),
])
def test_family_names(name, ok):
    assert (name_problem(name) is None) is ok


def _obj(oid, name, family=None):
    return {"ID": oid, "Spec": {"Name": name, "Labels": {FAMILY_LABEL: family} if family else {}}}


def _svc(*secret_ids):
    return {"Spec": {"TaskTemplate": {"ContainerSpec": {"Secrets": [{"SecretID": s} for s in secret_ids]}}}}


def test_only_unused_older_versions_of_the_family_are_stale():
    objects = [_obj("1", "db-aaa", "db"), _obj("2", "db-bbb", "db"), _obj("3", "db-ccc", "db"),
               _obj("4", "db-by-hand"), _obj("5", "other-aaa", "other")]
    # db-bbb still used (a rollout on its way), db-ccc current, the user's own and another family untouched.
    stale = stale_versions(objects, [_svc("2"), _svc("5")], "secret", "db", "db-ccc")
    assert [o["Spec"]["Name"] for o in stale] == ["db-aaa"]


def test_references_move_to_the_current_version_and_keep_their_file():
    refs = [{"name": "db"}, {"name": "tls", "target": "server.pem", "mode": "0400"}, {"name": "theirs"}]
    versions = {"db": "db-111", "tls": "tls-222"}
    assert point_at_versions(refs, "secret", versions) == [
        {"name": "db-111", "target": "db"},
        {"name": "tls-222", "target": "server.pem", "mode": "0400"},
        {"name": "theirs"},
    ]
    assert point_at_versions([{"name": "app"}], "config", {"app": "app-3"}, pending=True) == [
        {"name": "app-3", "target": "/app", "pending": True}]
    assert refs[0] == {"name": "db"}, "the inventory's own list is left as it was"


def test_filters_list_kinds_and_names_only_and_read_files_exactly(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "app.ini").write_text("a = 1\n\n")
    secrets = [{"name": "db", "value": "s3cret"}]
    configs = [{"name": "app", "file": "files/app.ini"}]
    refs = swarmctl_object_refs(secrets, configs)
    assert refs == [{"kind": "secret", "name": "db", "state": "present"},
                    {"kind": "config", "name": "app", "state": "present"}]
    assert swarmctl_object_refs([{"name": "old", "state": "absent"}], None) == [
        {"kind": "secret", "name": "old", "state": "absent"}]
    assert "s3cret" not in repr(refs)
    assert swarmctl_object_value(configs[0], str(tmp_path)) == "a = 1\n\n", "trailing newlines kept"
    assert swarmctl_object_value(secrets[0], str(tmp_path)) == "s3cret"
    results = [{"item": refs[0], "version": "db-1"}, {"item": refs[1], "version": "app-2"}]
    assert swarmctl_object_versions(results) == {"secret": {"db": "db-1"}, "config": {"app": "app-2"}}


def test_the_inventory_check_names_what_is_wrong_and_never_shows_a_value(tmp_path):
    (tmp_path / "ok.txt").write_text("x")
    given = [
        {"name": "good", "value": "hunter2"},
        {"name": "good-file", "file": "ok.txt"},
        {"name": "both", "value": "hunter2", "file": "ok.txt"},
        {"name": "neither"},
        {"name": "number", "value": 12345},
        {"name": "missing", "file": "nope.txt"},
        {"name": "bad name!", "value": "hunter2"},
        {"name": "good", "value": "hunter2"},
        {"name": "typo", "valeu": "hunter2"},
        "just-a-string",
        {"name": "unset", "value": ""},
    ]
    problems = check_objects(swarmctl_object_shapes(given, str(tmp_path)), "secret")
    text = "\n".join(problems)
    assert "hunter2" not in text and "12345" not in text
    assert not any("good-file" in p for p in problems)
    assert any("'both'" in p and "exactly one of value" in p for p in problems)
    assert any("'neither'" in p and "exactly one of value" in p for p in problems)
    assert any("'number'" in p and "must be text, not a number" in p for p in problems)
    assert any("'missing'" in p and "is not a file" in p for p in problems)
    assert any("'bad name!'" in p and "not a swarm object name" in p for p in problems)
    assert any("'good' is declared more than once" in p for p in problems)
    assert any("'valeu' is not a secret key (did you mean 'value'?)" in p for p in problems)
    assert any("swarmctl_secrets[9] must be a mapping" in p for p in problems)
    assert any("'unset'" in p and "value is empty" in p for p in problems)
    assert not any("'good'" in p and "empty" in p for p in problems)
    assert check_objects("db", "config") and check_objects(None, "config") == []


def test_the_services_that_still_refer_to_a_family_are_named():
    services = [dict(_svc("1"), Spec=dict(_svc("1")["Spec"], Name="api")), dict(_svc("2", "3"), ID="x")]
    assert used_ids(services, "secret") == {"1", "2", "3"}
    assert users_of(services, "secret", {"1"}) == ["api"]
    assert users_of(services, "secret", {"3", "9"}) == ["x"]
    assert users_of(services, "config", {"1"}) == []


def test_an_absent_secret_needs_no_value_and_no_service_may_name_it():
    given = [{"name": "old", "state": "absent"}, {"name": "gone", "state": "deleted"}]
    problems = check_objects(swarmctl_object_shapes(given, ""), "secret")
    assert problems == ["secret 'gone': state must be present or absent, not 'deleted'"]
    values = {"swarmctl_secrets": given, "swarmctl_configs": [{"name": "app", "state": "absent"}],
              "swarmctl_services": [{"name": "api", "secrets": [{"name": "old"}], "configs": [{"name": "app"}]},
                                    {"name": "web", "secrets": [{"name": "kept"}]}]}
    assert check_absent_objects_unused(values) == [
        "service 'api' names secret 'old', which swarmctl_secrets says is absent: take it out of the service's "
        "secrets, or keep the secret",
        "service 'api' names config 'app', which swarmctl_configs says is absent: take it out of the service's "
        "configs, or keep the config"]
