"""What a user types: -e values, inventories, lab names, masking (swarmctl/inputs.py, swarmctl/paths.py)."""

import json
import os
import stat

import pytest

from swarmctl import paths
from swarmctl.inputs import (
    MASK,
    InputError,
    check_inventory_syntax,
    is_secret_name,
    mask_values,
    parse_extra_var,
    parse_extra_vars,
)
from swarmctl.runner import PlaybookRun


@pytest.mark.parametrize("name", ["swarmctl_registry_password", "api_key", "join_token", "secret", "db.passwd",
                                  "my-unlock", "vault_pass", "registry_credentials", "keys"])
def test_secret_looking_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["monkey", "keyboard", "swarmctl_registry_name", "services_image", "replicas",
                                  "tokenizer"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_key_value_json_and_files_parse_like_ansible(tmp_path):
    (tmp_path / "vars.yml").write_text("a: 1\nnested: {password: hunter22}\n")
    parsed = parse_extra_vars(["x=1 y='two words'", '{"z": [1, 2]}', "@vars.yml"], cwd=tmp_path)
    assert [item.data for item in parsed.items] == [{"x": "1", "y": "two words"}, {"z": [1, 2]},
                                                    {"a": 1, "nested": {"password": "hunter22"}}]
    assert parsed.items[2].path == tmp_path / "vars.yml"  # relative to the user's directory, made absolute
    assert parsed.secret_values() == {"hunter22"}


def test_a_file_of_variables_is_found_from_the_users_directory_not_the_playbooks(tmp_path, monkeypatch):
    (tmp_path / "services.yml").write_text("swarmctl_services: []\n")
    monkeypatch.chdir(tmp_path)
    run = PlaybookRun("site.yml", tmp_path / "inv.yml", extra_vars=["@services.yml"])
    assert run.ansible_args() == ["-e", f"@{tmp_path / 'services.yml'}"]


@pytest.mark.parametrize("value, words", [
    ("{bad json", ["{bad json", "JSON or YAML"]),
    ("@missing.yml", ["missing.yml", "no such file"]),
    ("@", ["needs a file name"]),
    ("justaword", ["'justaword' is not key=value"]),
    ("1abc=2", ["'1abc' is not a variable name"]),
    ("[1, 2]", ["JSON object"]),
    ("a='unclosed", ["quote"]),
])
def test_bad_extra_vars_name_the_value(tmp_path, value, words):
    with pytest.raises(InputError) as err:
        parse_extra_var(value, tmp_path)
    for word in words:
        assert word in str(err.value)


def test_a_file_that_is_not_a_mapping_or_not_yaml(tmp_path):
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    (tmp_path / "broken.yml").write_text("a: [1\n")
    with pytest.raises(InputError, match="must hold a mapping"):
        parse_extra_var("@list.yml", tmp_path)
    with pytest.raises(InputError, match=r"broken.yml.*line 2"):
        parse_extra_var("@broken.yml", tmp_path)


def test_a_vault_file_is_passed_on_unread(tmp_path):
    (tmp_path / "vault.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    item = parse_extra_var("@vault.yml", tmp_path)
    assert item.kind == "file" and item.data is None


def test_secrets_are_masked_in_the_shown_command_and_never_on_a_command_line(tmp_path):
    run = PlaybookRun("site.yml", tmp_path / "inv.yml",
                      extra_vars=["swarmctl_registry_password=s3cr3t-value replicas=3",
                                  '{"api_token": "tok-123456", "image": "web:v2"}'])
    shown = run.command_line()
    assert "s3cr3t-value" not in shown and "tok-123456" not in shown
    assert f"swarmctl_registry_password={MASK}" in shown and "replicas=3" in shown and "web:v2" in shown
    args = run.ansible_args(tmp_path)
    assert "s3cr3t-value" not in " ".join(args)
    files = [a[1:] for a in args if a.startswith("@")]
    assert len(files) == 2
    for file in files:
        assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    assert json.loads(open(files[0]).read())["swarmctl_registry_password"] == "s3cr3t-value"


def test_mask_values_at_any_depth():
    data = {"a": 1, "db": {"password": "x", "user": "u"}, "tokens": ["t1", "t2"]}
    assert mask_values(data) == {"a": 1, "db": {"password": MASK, "user": "u"}, "tokens": [MASK, MASK]}


def test_inventory_yaml_errors_name_the_line(tmp_path):
    bad = tmp_path / "inv.yml"
    bad.write_text("all:\n  children: [unclosed\n")
    with pytest.raises(InputError, match=r"inv.yml is not valid YAML \(line 3"):
        check_inventory_syntax(bad)
    folder = tmp_path / "site"
    (folder / "group_vars").mkdir(parents=True)
    (folder / "hosts.yml").write_text("all:\n  hosts: {a: {}}\n")
    (folder / "group_vars" / "all.yml").write_text("x: [\n")
    with pytest.raises(InputError, match="all.yml"):
        check_inventory_syntax(folder)


def test_inventory_with_ansible_tags_and_ini_inventories_pass(tmp_path):
    tagged = tmp_path / "inv.yml"
    tagged.write_text("all:\n  vars:\n    p: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n"
                      "    q: !unsafe '{{ x }}'\n")
    check_inventory_syntax(tagged)
    ini = tmp_path / "hosts"
    ini.write_text("[managers]\nbase2 ansible_host=10.0.0.2\n")
    check_inventory_syntax(ini)


@pytest.mark.parametrize("name", ["../..", "..", "a/b", "", "Lab", "x" * 25, "-lab", "lab name", "lab\n"])
def test_lab_names_that_would_leave_the_labs_folder_are_refused(name):
    with pytest.raises(paths.BadName):
        paths.lab_dir(name)


def test_lab_names_stay_inside_the_labs_folder():
    assert paths.lab_dir("pytest-ha").parent == paths.state_dir() / "labs"
