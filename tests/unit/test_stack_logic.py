"""swarmctl_stack's pure parts: compose interpolation for check mode, the prediction, spec comparison, and the
filter that gathers the files a compose file names."""

from __future__ import annotations

import pytest

from helpers import host_module
from swarmctl_filters import swarmctl_compose_files, swarmctl_stack_shapes
from swarmctl_validate_inventory import check_stacks

stack = host_module("swarmctl_stack")


@pytest.mark.parametrize("text, env, expected", [
    ("web:${TAG}", {"TAG": "v2"}, "web:v2"),
    ("web:${TAG:-v1}", {}, "web:v1"),
    ("web:${TAG-v1}", {}, "web:v1"),
    ("web:$TAG", {"TAG": "v3"}, "web:v3"),
    ("web:v1", {"TAG": "v9"}, "web:v1"),
])
def test_interpolation_as_compose_does_it(text, env, expected, monkeypatch):
    monkeypatch.delenv("TAG", raising=False)
    assert stack.interpolate(text, env) == expected


def _live(image):
    return {"Spec": {"TaskTemplate": {"ContainerSpec": {"Image": image}}}}


def test_check_mode_predicts_created_removed_and_reimaged_services():
    compose = {"services": {"front": {"image": "reg/web:${TAG}"}, "back": {"image": "reg/web:v1"},
                            "new": {"image": "reg/x:1"}}}
    before = {"front": _live("reg/web:v1@sha256:" + "a" * 64), "back": _live("reg/web:v1@sha256:" + "b" * 64),
              "old": _live("reg/y:1")}
    assert stack.predict(compose, {"TAG": "v2"}, before, prune=True) == {
        "created": ["new"], "updated": ["front"], "removed": ["old"]}
    assert stack.predict(compose, {"TAG": "v1"}, before, prune=False) == {
        "created": ["new"], "updated": [], "removed": []}


def test_engine_owned_fields_are_no_difference():
    a = {"TaskTemplate": {"ForceUpdate": 1, "ContainerSpec": {"Image": "x"}}}
    b = {"TaskTemplate": {"ForceUpdate": 2, "ContainerSpec": {"Image": "x"}}}
    assert stack._comparable(a) == stack._comparable(b)
    assert stack._comparable(a) != stack._comparable({"TaskTemplate": {"ContainerSpec": {"Image": "y"}}})


def test_the_files_a_compose_file_names_are_gathered_and_kept_inside_its_folder(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.ini").write_text("a=1\n")
    (tmp_path / "token.txt").write_text("t0k3n\n")
    compose = tmp_path / "compose.yml"
    compose.write_text("services: {}\nconfigs: {app: {file: ./conf/app.ini}, ext: {external: true}}\n"
                       "secrets: {token: {file: token.txt}}\n")
    assert swarmctl_compose_files(str(compose)) == {"conf/app.ini": "a=1\n", "token.txt": "t0k3n\n"}
    compose.write_text("services: {}\nsecrets: {token: {file: ../outside.txt}}\n")
    with pytest.raises(Exception, match="inside the compose file's folder"):
        swarmctl_compose_files(str(compose))


def test_the_inventory_check_of_stacks_hides_env_values(tmp_path):
    (tmp_path / "shop.yml").write_text("services: {}\n")
    given = [{"name": "shop", "compose": "shop.yml", "env": {"DB_PASSWORD": "hunter2"}},
             {"name": "bad name", "compose": "missing.yml"}, {"name": "shop", "compose": "shop.yml", "envv": {}}]
    shapes = swarmctl_stack_shapes(given, str(tmp_path))
    assert "hunter2" not in repr(shapes)
    problems = check_stacks(shapes)
    assert not any(p.startswith("stack 'shop': compose") for p in problems)
    assert any("'bad name'" in p and "not a stack name" in p for p in problems)
    assert any("missing.yml" in p and "not a file" in p for p in problems)
    assert any("'envv' is not a stack key (did you mean 'env'?)" in p for p in problems)
    assert any("'shop' is declared more than once" in p for p in problems)
