import pytest

from swarmctl import cli
from swarmctl.runner import PlaybookRun


def test_help_and_version_exit_zero(capsys):
    assert cli.main(["--help"]) == 0
    assert "exit codes" in capsys.readouterr().out
    assert cli.main(["--version"]) == 0


@pytest.mark.parametrize("argv", [[], ["nosuchcommand"], ["up", "--limit"], ["lab"]])
def test_bad_usage_exits_two(argv, capsys):
    assert cli.main(argv) == 2


def test_up_without_inventory_or_lab_explains(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SWARMCTL_HOME", str(tmp_path))
    assert cli.main(["up", "--lab", "nolab"]) == 2
    err = capsys.readouterr().err
    assert "no lab named 'nolab' is up" in err and "swarmctl lab up" in err


def test_missing_inventory_file(tmp_path, capsys):
    assert cli.main(["up", "-i", str(tmp_path / "nope.yml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_lab_down_needs_yes_without_a_terminal(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SWARMCTL_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert cli.main(["lab", "down", "--name", "x"]) == 2
    assert "--yes" in capsys.readouterr().err


def test_flags_pass_through_to_ansible_playbook(tmp_path):
    run = PlaybookRun("site.yml", tmp_path / "inv.yml", extra_vars=["a=1", "@vars.yml"], limit="base3",
                      check=True, diff=True, verbosity=2, tags="swarm")
    assert run.ansible_args() == ["-e", "a=1", "-e", "@vars.yml", "--limit", "base3", "--tags", "swarm",
                                  "--check", "--diff"]
    line = run.command_line()
    assert line.startswith("ANSIBLE_CONFIG=") and "ansible-playbook -i" in line and line.endswith("-vv")
    from swarmctl import paths

    assert run.environment()["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    cache = paths.fact_cache_dir(run.inventory)
    assert cache.is_relative_to(paths.state_dir() / "facts")
    assert cache != paths.fact_cache_dir(tmp_path / "other.yml")
