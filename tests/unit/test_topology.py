import pytest

from swarmctl.lab.topology import LabSpec, TopologyError, gateway, plan


def test_default_is_the_seed_environment():
    hosts = plan(LabSpec())
    assert [(h.name, h.group, h.address) for h in hosts] == [
        ("base2", "managers", "172.25.78.12"),
        ("base3", "workers", "172.25.78.13"),
        ("base4", "workers", "172.25.78.14"),
        ("foundation78", "registry", "172.25.78.78"),
    ]


def test_ha_topology_on_another_subnet():
    hosts = plan(LabSpec(name="ha", managers=3, workers=2, subnet="10.20.30.0/24", registry=False))
    assert [h.group for h in hosts] == ["managers"] * 3 + ["workers"] * 2
    assert [h.address for h in hosts] == [f"10.20.30.{n}" for n in range(12, 17)]
    assert [h.name for h in hosts] == ["base2", "base3", "base4", "base5", "base6"]


def test_growing_workers_keeps_existing_names_and_addresses():
    small = {h.name: h.address for h in plan(LabSpec(workers=2))}
    grown = {h.name: h.address for h in plan(LabSpec(workers=3))}
    assert all(grown[name] == address for name, address in small.items())
    assert grown["base5"] == "172.25.78.15"


def test_gateway_is_first_address():
    assert gateway("172.25.78.0/24") == "172.25.78.1"


@pytest.mark.parametrize(
    "spec, message",
    [
        (LabSpec(managers=0), "at least one manager"),
        (LabSpec(workers=-1), "--workers must be 0 or more"),
        (LabSpec(subnet="172.25.78.5/24"), "not a network address"),
        (LabSpec(subnet="10.0.0.0/28"), "too small"),
        (LabSpec(subnet="fd00::/64"), "IPv4"),
        (LabSpec(name="Bad_Name"), "lab name"),
        (LabSpec(managers=40, workers=40), "at most"),
        (LabSpec(registry_host="base3"), "clashes"),
    ],
)
def test_bad_requests_say_what_to_change(spec, message):
    with pytest.raises(TopologyError, match=message):
        plan(spec)


def test_spec_round_trip():
    spec = LabSpec(name="x", managers=3, workers=0, registry=False)
    assert LabSpec.from_dict(spec.to_dict()) == spec
    assert LabSpec.from_dict({"name": "y", "unknown": 1}) == LabSpec(name="y")
