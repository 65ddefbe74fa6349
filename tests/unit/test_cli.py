import json

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
    (tmp_path / "vars.yml").write_text("b: 2\n")
    run = PlaybookRun("site.yml", tmp_path / "inv.yml", extra_vars=["a=1", "@vars.yml"], limit="base3",
                      check=True, diff=True, verbosity=2, tags="swarm", cwd=tmp_path)
    assert run.ansible_args() == ["-e", "a=1", "-e", f"@{tmp_path}/vars.yml", "--limit", "base3", "--tags", "swarm",
                                  "--check", "--diff"]
    line = run.command_line()
    assert line.startswith("ANSIBLE_CONFIG=") and "ansible-playbook -i" in line and line.endswith("-vv")
    from swarmctl import paths

    assert run.environment()["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    cache = paths.fact_cache_dir(run.inventory)
    assert cache.is_relative_to(paths.state_dir() / "facts")
    assert cache != paths.fact_cache_dir(tmp_path / "other.yml")


@pytest.mark.parametrize("argv, expected", [
    (["dashboard", "--port", "99999"], "not a TCP port"),
    (["dashboard", "--port", "http"], "not a TCP port"),
    (["dashboard", "--bind", "my-laptop"], "not an IP address"),
    (["dashboard", "--interval", "0"], "seconds between"),
    (["lab", "down", "--name", "../..", "--yes"], "is not allowed"),
    (["lab", "status", "--name", "../x"], "is not allowed"),
    (["up", "--lab", "../../etc"], "is not allowed"),
    (["up", "--lab", "nolab", "-e", "{bad"], "no lab named"),
])
def test_bad_values_are_usage_errors_that_name_them(argv, expected, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SWARMCTL_HOME", str(tmp_path))
    assert cli.main(argv) == 2
    assert expected in capsys.readouterr().err


def test_dashboard_answers_only_to_its_own_address():
    from swarmctl.dashboard.server import host_allowed

    assert host_allowed("127.0.0.1:8765", "127.0.0.1") and host_allowed("localhost:8765", "127.0.0.1")
    assert not host_allowed("attacker.example:8765", "127.0.0.1")  # DNS rebinding
    assert not host_allowed(None, "127.0.0.1")
    assert host_allowed("10.0.0.5:8765", "0.0.0.0") and not host_allowed("evil.example", "0.0.0.0")
    assert host_allowed("[::1]:8765", "::1") and not host_allowed("10.0.0.6", "10.0.0.5")


def test_the_dashboard_warns_when_it_listens_beyond_this_machine(tmp_path):
    from swarmctl.dashboard.collector import CollectorError
    from swarmctl.dashboard.server import serve

    said = []
    with pytest.raises(CollectorError):  # no such inventory: it stops there, after the warning
        serve(tmp_path / "none.yml", "0.0.0.0", 0, 1.0, said.append)
    assert said and "other machines can reach it" in said[0] and "--bind 127.0.0.1" in said[0]
    said.clear()
    with pytest.raises(CollectorError):
        serve(tmp_path / "none.yml", "127.0.0.1", 0, 1.0, said.append)
    assert said == []


def test_upgrade_versions_and_batch_become_the_playbooks_variables():
    assert cli.upgrade_vars([], 1) == {"upgrade_batch": 1}
    assert cli.upgrade_vars(["containerd=1.6.20~ds1-1+deb12u2", "docker.io=latest"], 2) == {
        "upgrade_batch": 2, "upgrade_versions": {"containerd": "1.6.20~ds1-1+deb12u2", "docker.io": "latest"}}


def test_a_package_bundles_versions_become_the_playbooks_variable():
    parser = cli.build_parser()
    args = parser.parse_args(["package-bundle", "--host", "base2", "--version", "containerd=1.6.20~ds1-1+deb12u1"])
    assert json.loads(cli._service_vars(args)[0]) == {"bundle_host": "base2",
                                                       "bundle_versions": {"containerd": "1.6.20~ds1-1+deb12u1"}}
    args = parser.parse_args(["package-bundle", "--host", "base2"])
    assert json.loads(cli._service_vars(args)[0]) == {"bundle_host": "base2"}
    with pytest.raises(cli.UsageError, match="PACKAGE=VERSION"):
        cli._service_vars(parser.parse_args(["package-bundle", "--host", "base2", "--version", "containerd"]))


def test_export_writes_a_new_file_only(tmp_path):
    parser = cli.build_parser()
    target = tmp_path / "services.yml"
    args = parser.parse_args(["export", "web", "api", "--output", str(target)])
    assert json.loads(cli._service_vars(args)[0]) == {"export_file": str(target), "export_services": ["web", "api"]}
    target.write_text("mine\n")
    with pytest.raises(cli.UsageError, match="exists: export writes a new file and never replaces one"):
        cli._service_vars(args)
    with pytest.raises(cli.UsageError, match="does not exist"):
        cli._service_vars(parser.parse_args(["export", "-o", str(tmp_path / "nope" / "services.yml")]))
    assert target.read_text() == "mine\n"


@pytest.mark.parametrize("versions, batch, expected", [
    (["containerd"], 1, "PACKAGE=VERSION"),
    (["=1.0"], 1, "PACKAGE=VERSION"),
    (["containerd="], 1, "PACKAGE=VERSION"),
    ([], 0, "--batch"),
])
def test_bad_upgrade_arguments_say_what_is_expected(versions, batch, expected):
    with pytest.raises(cli.UsageError, match=expected):
        cli.upgrade_vars(versions, batch)


def test_status_tells_a_drain_swarmctl_left_from_one_a_person_made():
    from swarmctl.status import render_status

    node = {"hostname": "base3", "role": "worker", "state": "ready", "addr": "10.0.0.3"}
    status = {"answered_by": "base2", "services": [], "reconciler": {"error": "x"}, "nodes": [
        dict(node, availability="drain", labels={"io.swarmctl.drained": "active"}),
        dict(node, hostname="base4", availability="drain", labels={})]}
    lines = render_status(status).splitlines()
    assert "drain (by swarmctl, run cut short)" in next(line for line in lines if "base3" in line)
    assert "cut short" not in next(line for line in lines if "base4" in line)


def test_rotation_keeps_the_newest_runs_and_any_run_still_going(monkeypatch, tmp_path):
    import os

    from swarmctl import paths, runner

    monkeypatch.setenv("SWARMCTL_HOME", str(tmp_path))
    root = paths.runs_dir()
    root.mkdir(parents=True)
    runs = []
    for index in range(6):
        run_dir = root / f"run-{index}"
        run_dir.mkdir()
        runs.append(run_dir)
    (runs[0] / runner.IN_PROGRESS).write_text("")  # a run whose swarmctl ended: its lock went with it
    going = runner._mark_in_progress(runs[1])  # the oldest, but another swarmctl still runs it
    for index, run_dir in enumerate(runs):
        os.utime(run_dir, (1000 + index, 1000 + index))
    try:
        runner._rotate_runs(keep=3)
        assert sorted(p.name for p in root.iterdir()) == ["run-1", "run-3", "run-4", "run-5"]
    finally:
        going.close()
    runner._rotate_runs(keep=3)
    assert sorted(p.name for p in root.iterdir()) == ["run-3", "run-4", "run-5"]
