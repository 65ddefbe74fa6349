from __future__ import annotations

import pytest

from helpers import lab_leftovers, owned_lab
from swarmctl.lab.lab import Lab, docker_client
from swarmctl.lab.topology import LabSpec

# The shared labs have their own names and subnets, so they never collide with a user's `lab`.
SHARED_LAB = LabSpec(name="pytest", managers=1, workers=2, subnet="172.25.90.0/24")
HA_LAB = LabSpec(name="pytest-ha", managers=3, workers=2, subnet="172.25.91.0/24")


# The fixture that brings up each lab -> the group of tests that share it. With pytest-xdist (scripts/test.sh runs
# `-n 2 --dist loadgroup`) a group runs on one worker, so each lab is made once and used by one process, while
# the other labs' groups run beside it.
LAB_GROUPS = {"shared_lab": "shared-lab", "ha_lab": "ha-lab", "own_lab": "own-lab"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Tests that take the shared HA lab's swarm apart and rebuild it (recover, restore onto fresh hosts) run last,
    so every other test of that lab meets the swarm `swarmctl up` made, whatever order the files come in."""
    items.sort(key=lambda item: item.get_closest_marker("rebuilds_swarm") is not None)
    for item in items:
        groups = sorted({group for fixture, group in LAB_GROUPS.items() if fixture in item.fixturenames})
        if len(groups) > 1:  # two workers would each bring up one of its labs, and a lab must have one owner
            raise pytest.UsageError(f"{item.nodeid} uses the labs of {' and '.join(groups)}; a test may use one")
        if groups:
            item.add_marker(pytest.mark.xdist_group(groups[0]))


@pytest.fixture(scope="session")
def engine():
    try:
        return docker_client()
    except Exception as exc:  # the suite needs an engine: say how to get one
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def shared_lab(engine):
    """The seed's topology (1 manager, 2 workers, a registry host), up for the whole session."""
    held = owned_lab(SHARED_LAB.name)
    lab = Lab(SHARED_LAB.name, client=engine)
    lab.down()  # a session always starts from fresh hosts, whatever an interrupted run left
    result = lab.up(SHARED_LAB)
    yield lab, result
    lab.down()
    held.close()
    assert lab_leftovers(engine, SHARED_LAB.name) == {"containers": [], "volumes": [], "networks": []}


@pytest.fixture(scope="session")
def converged(shared_lab):
    """The shared lab after one `swarmctl up`: engines, registry, images."""
    from helpers import swarmctl

    from helpers import running_tasks_per_node

    lab, result = shared_lab
    run = swarmctl("up", "-i", result["inventory"], "--json")
    assert run.rc == 0, run
    # What the main job itself left, before any test rolls web (a start-first update may leave it 3/2/1).
    result["web_tasks_after_up"] = running_tasks_per_node(lab, "web", "base2")
    return lab, result, run


@pytest.fixture(scope="session")
def ha_lab(engine):
    """Three managers, two workers and a registry host, provisioned once for the session."""
    from helpers import swarmctl

    held = owned_lab(HA_LAB.name)
    lab = Lab(HA_LAB.name, client=engine)
    lab.down()
    result = lab.up(HA_LAB)
    run = swarmctl("up", "-i", result["inventory"], "--json")
    assert run.rc == 0, run
    yield lab, result
    lab.down()
    held.close()
    assert lab_leftovers(engine, HA_LAB.name) == {"containers": [], "volumes": [], "networks": []}
