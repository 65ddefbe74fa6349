"""The repository as an Ansible collection, used the way an Ansible user uses one: built with ansible-galaxy,
installed into a collections folder of its own, and called by FQCN from a playbook of the user's own, run from
another directory with no ansible.cfg of this project (nothing of this checkout on any Ansible path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import BIN, ROOT, install_collection, on, user_ansible

pytestmark = pytest.mark.lab

SERVICE = "collection-demo"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    return install_collection(tmp_path_factory.mktemp("collection"))


USER_PLAYBOOK = """
- name: A user's own play on the swarm, with swarmctl's modules by their collection names
  hosts: managers[0]
  become: true
  gather_facts: false
  tasks:
    - name: Read the swarm
      swarmctl.swarm.swarmctl_swarm_info:
      register: info

    - name: The swarm this manager leads, already formed, so nothing to change
      swarmctl.swarm.swarmctl_swarm:
        init: true
        advertise_addr: "{{ ansible_host }}"
      register: formed

    - name: A service of the user's own, followed until its tasks run
      swarmctl.swarm.swarmctl_service:
        name: collection-demo
        image: "{{ demo_image }}"
        replicas: 2
        wait_timeout: 120
      register: deployed

    - name: The same service again
      swarmctl.swarm.swarmctl_service:
        name: collection-demo
        image: "{{ demo_image }}"
        replicas: 2
      register: again

    - name: The cluster as swarmctl reports it
      swarmctl.swarm.swarmctl_status:
      register: status

    - name: What the user expects, read with the collection's filter too
      ansible.builtin.assert:
        that:
          - info.swarm.nodes | length == 3
          - formed is not changed
          - deployed is changed
          - deployed._swarmctl_runner == 'module'  # no pipelining in this user's ansible.cfg: AnsiballZ
          - again is not changed
          - "'collection-demo' in (status.services | map(attribute='name'))"
          - groups['all'] | select('in', groups['managers'] + groups['workers'])
            | swarmctl.swarm.swarmctl_nodes_named(hostvars, info.swarm.nodes) | length == 3

    - name: Remove the service
      swarmctl.swarm.swarmctl_service:
        name: collection-demo
        state: absent
"""


def test_each_module_documents_itself_from_the_installed_collection(installed, tmp_path):
    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("swarmctl_*.py"))
    proc = user_ansible(installed, tmp_path, str(BIN / "ansible-doc"), "--json", *(f"swarmctl.swarm.{m}" for m in modules))
    assert proc.returncode == 0, proc.stderr[-3000:]
    docs = json.loads(proc.stdout)
    assert sorted(docs) == [f"swarmctl.swarm.{m}" for m in modules]
    for name, doc in docs.items():
        assert doc["doc"]["options"] is not None and doc["examples"], name
    listed = user_ansible(installed, tmp_path, str(BIN / "ansible-doc"), "-t", "filter", "-l", "swarmctl.swarm")
    assert listed.returncode == 0 and "swarmctl.swarm.swarmctl_nodes_named" in listed.stdout, listed.stderr


def test_a_users_playbook_drives_the_swarm_through_the_installed_collection(installed, converged, tmp_path):
    lab, result, _ = converged
    image = on(lab, "base2", "docker", "service", "inspect", "web", "--format",
               "{{.Spec.TaskTemplate.ContainerSpec.Image}}").split("@")[0]
    (tmp_path / "site.yml").write_text(USER_PLAYBOOK)
    try:
        proc = user_ansible(installed, tmp_path, str(BIN / "ansible-playbook"), "-i", result["inventory"], "site.yml",
                        "-e", json.dumps({"demo_image": image}))
        assert proc.returncode == 0, (proc.stdout[-6000:], proc.stderr[-3000:])
        assert "All assertions passed" in proc.stdout and "failed=0" in proc.stdout, proc.stdout[-6000:]
    finally:
        on(lab, "base2", "docker", "service", "rm", SERVICE, check=False)
    assert SERVICE not in on(lab, "base2", "docker", "service", "ls", "--format", "{{.Name}}")
