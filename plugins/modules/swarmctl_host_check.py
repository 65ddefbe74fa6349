#!/usr/bin/python
# swarmctl: the first look at a host. The work is done by the action plugin of the same name
# (plugins/action/swarmctl_host_check.py): it runs a command over the connection, and the setup module
# only when facts are needed. This file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_host_check
short_description: Reach a host, gather its facts when needed, and check swarmctl can provision it
description:
  - Runs one shell command on the host over its connection (no Python needed), which also says its platform and
    which of O(packages) it lacks; a host that cannot be reached is reported unreachable.
  - Reads the host's facts when the fact cache holds nothing for it, when the cached facts do not list the host's
    inventory address (they belong to another host of the same name), or when O(refresh) is set; otherwise the
    cached facts are used. The facts swarmctl needs come from the same shell command, named as the setup module
    names them (C(distribution), C(os_family), C(service_mgr), C(all_ipv4_addresses), C(default_ipv4)); the setup
    module runs only for O(gather_subset).
  - Records C(swarmctl_node_address), the address the node uses for swarm traffic, as a host fact (kept in
    the fact cache) - O(advertise_addr) when given, else the inventory address when the host owns it, else the
    address of its default route.
  - Fails for a host whose OS family is not in O(supported_os_families) or that does not run systemd, with
    what it runs.
  - With O(swarm), also asks the host's Docker engine where it stands in a swarm, as
    M(swarmctl.swarm.swarmctl_swarm_info) with O(swarmctl.swarm.swarmctl_swarm_info#module:engine_missing_ok) does,
    in the same task (this needs privilege escalation); RV(local), RV(swarm) and RV(quorum) are its answer.
    With pipelining on (and no O(gather_subset) to gather), the command and the engine's question go to the host in
    one exec, run with privilege escalation.
  - Changes nothing on the host; check mode behaves the same.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  gather_subset:
    description:
      - Ansible fact subsets to gather as well with the setup module (its C(gather_subset)), when facts are read.
      - swarmctl needs none of them.
    type: list
    elements: str
    default: []
  refresh:
    description: Read the host's facts even when cached ones are usable.
    type: bool
    default: false
  supported_os_families:
    description: OS families (C(ansible_facts.os_family)) swarmctl can install the Docker engine on.
    type: list
    elements: str
    required: true
  advertise_addr:
    description: Address for swarm traffic, when the inventory sets one.
    type: str
  packages:
    description: Debian packages whose absence to report (RV(missing_packages)).
    type: list
    elements: str
    default: []
  swarm:
    description:
      - Also ask the host's engine where it stands in a swarm (RV(local), RV(swarm), RV(quorum)); a host with no
        engine yet answers C(local.state=no-engine).
    type: bool
    default: false
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: Reach the host, read its facts when the cache has none, check it can be provisioned
  swarmctl.swarm.swarmctl_host_check:
    supported_os_families: [Debian]
    refresh: "{{ swarmctl_refresh_facts | default(false) }}"

- name: The same, and where the host's engine stands in a swarm (registered as swarm_info, as discovery reads it)
  swarmctl.swarm.swarmctl_host_check:
    supported_os_families: [Debian]
    swarm: true
  become: true
  register: swarm_info
"""

RETURN = r"""
gathered:
  description: Whether the host's facts were read in this run (false when the cached ones were used).
  returned: success
  type: bool
platform:
  description: The host's distribution, release and architecture (what a package bundle must be made for).
  returned: success
  type: str
  sample: debian-12-amd64
missing_packages:
  description: Those of O(packages) that are not installed (Debian's C(docker.io) never, on a host whose engine
    is its own - see RV(engine_package)).
  returned: success
  type: list
  elements: str
engine_package:
  description: The package the host's dockerd comes from - C(docker.io), another such as C(docker-ce) (the host's
    own engine, kept), C((no package)) for one installed by hand, or empty when there is no dockerd.
  returned: success
  type: str
  sample: docker-ce
ansible_facts:
  description:
    - When read, C(distribution), C(os_family), C(nodename), C(hostname), C(service_mgr), C(all_ipv4_addresses)
      and C(default_ipv4) (C(address), C(interface), C(gateway)), with the setup module's facts for O(gather_subset).
    - Always C(swarmctl_node_address).
  returned: success
  type: dict
  sample:
    distribution: Debian
    os_family: Debian
    nodename: base2
    hostname: base2
    service_mgr: systemd
    all_ipv4_addresses: [172.25.78.12]
    default_ipv4: {address: 172.25.78.12, interface: eth0, gateway: 172.25.78.1}
    swarmctl_node_address: 172.25.78.12
local:
  description: The engine's own view of its swarm membership, as M(swarmctl.swarm.swarmctl_swarm_info) returns it.
  returned: with O(swarm)
  type: dict
swarm:
  description: On a manager of a swarm with a leader, the swarm and its nodes, as M(swarmctl.swarm.swarmctl_swarm_info)
    returns them (never join tokens).
  returned: with O(swarm), on a manager
  type: dict
quorum:
  description: Whether the swarm has a leader.
  returned: with O(swarm), on a manager
  type: bool
"""
