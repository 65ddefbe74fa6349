"""daemon.json merged, not written whole (plugins/module_utils/swarmctl_daemon_json.py)."""

import pytest

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_daemon_json import (
    DaemonJsonError,
    data_root_problem,
    describe,
    load,
    needs_restart,
    plan,
)

LOGS = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}
USERS = {"data-root": "/srv/docker", "log-driver": "local", "max-concurrent-downloads": 6,
         "default-address-pools": [{"base": "10.201.0.0/16", "size": 24}]}


def test_a_fresh_host_gets_the_defaults_and_records_them():
    merged = plan({}, None, {}, LOGS)
    assert merged["config"] == LOGS and merged["owned"] == LOGS
    assert merged["added"] == ["log-driver", "log-opts"] and merged["kept"] == []


def test_the_hosts_own_keys_are_kept_and_its_log_driver_gets_no_options_of_ours():
    merged = plan(USERS, None, {}, LOGS)
    assert merged["config"] == USERS
    assert merged["added"] == merged["changed"] == merged["removed"] == []
    assert merged["kept"] == sorted(USERS) and merged["skipped_defaults"] == ["log-driver", "log-opts"]
    assert "kept the host's own" in describe(merged)


def test_defaults_fill_gaps_beside_the_hosts_own_keys():
    current = {"max-concurrent-downloads": 6, "default-address-pools": [{"base": "10.201.0.0/16", "size": 24}]}
    merged = plan(current, None, {}, LOGS)
    assert merged["config"] == {**current, **LOGS}
    assert merged["added"] == ["log-driver", "log-opts"] and merged["kept"] == sorted(current)
    assert merged["owned"] == LOGS


def test_keys_swarmctl_no_longer_wants_are_removed_but_never_the_hosts_own():
    tls = {"hosts": ["fd://", "tcp://0.0.0.0:2376"], "tlsverify": True}
    current = {**LOGS, **tls, "debug": True}
    merged = plan(current, {**LOGS, **tls}, {}, LOGS)
    assert merged["removed"] == ["hosts", "tlsverify"] and merged["config"] == {**LOGS, "debug": True}
    # A key swarmctl set that the owner changed since is the owner's now.
    edited = {**current, "tlsverify": False}
    assert "tlsverify" in plan(edited, {**LOGS, **tls}, {}, LOGS)["config"]


def test_enforced_keys_win_and_are_reported_as_changed():
    merged = plan({"debug": False, "labels": ["a=b"]}, {}, {"debug": True}, {})
    assert merged["changed"] == ["debug"] and merged["config"] == {"debug": True, "labels": ["a=b"]}


def test_reloadable_keys_only_need_a_reload():
    assert not needs_restart(plan({}, {}, {"debug": True, "labels": ["x=y"]}, {}))
    assert needs_restart(plan({}, {}, {"log-level": "warn"}, {}))
    assert needs_restart(plan(LOGS, LOGS, {}, {**LOGS, "log-opts": {"max-size": "20m"}}))


def test_moving_data_root_of_an_engine_with_data_is_refused():
    merged = plan({}, {}, {"data-root": "/srv/docker"}, {})
    problem = data_root_problem("/var/lib/docker", merged)
    assert "from /var/lib/docker to /srv/docker" in problem and "nothing was changed" in problem
    assert data_root_problem(None, merged) is None  # no engine yet: its first start uses it
    assert data_root_problem("/srv/docker", plan(USERS, None, {}, LOGS)) is None


def test_daemon_json_that_is_not_json_is_an_error_that_says_so():
    with pytest.raises(DaemonJsonError, match="not valid JSON"):
        load("{broken", "/etc/docker/daemon.json")
    with pytest.raises(DaemonJsonError, match="JSON object"):
        load("[1]", "/etc/docker/daemon.json")
    assert load(None, "x") == {} and load("  \n", "x") == {}
