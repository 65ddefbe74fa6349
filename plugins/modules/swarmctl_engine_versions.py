#!/usr/bin/python
# swarmctl: which versions of the engine's packages a host runs, and what an upgrade would change.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_engine_versions
short_description: Compare the engine's installed packages with the versions wanted, on Debian/Ubuntu hosts
description:
  - Reads the installed version of each package of O(versions) (dpkg) and the versions the host's repositories
    offer (C(apt-cache policy)), and returns the packages whose installed version is not the wanted one.
  - C(latest) means the repositories' candidate version. The package lists are refreshed first when they are
    older than O(lists_max_age) seconds, so "latest" means what the mirror offers now, and again when a wanted
    version is not in them.
  - A wanted version the repositories do not offer fails with the versions they do offer.
  - On a host whose engine is its own (Docker's C(docker-ce), or one installed by hand), Debian's C(docker.io),
    C(containerd) and C(runc) are left out when they are not installed (RV(left_alone)).
  - Changes nothing on the host (refreshing the package lists aside), in check mode or not; M(swarmctl.swarm.swarmctl_docker_engine)
    installs the versions, with its engine stopped.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  versions:
    description: Package name to wanted version, or C(latest).
    type: dict
    required: true
  offered:
    description:
      - Package name to version, as a package bundle holds them (the manifest of a bundle made by
        M(swarmctl.swarm.swarmctl_package_bundle); see the C(swarmctl_bundle_versions) filter); the versions come
        from there instead of the host's repositories, which are neither read nor refreshed (hosts with no route
        to a mirror). C(latest) then means the bundle's version, and a version the bundle does not hold fails.
    type: dict
  lists_max_age:
    description: Refresh the package lists (apt-get update) when they are older than this many seconds; 0 always does.
    type: int
    default: 3600
notes:
  - Debian and Ubuntu only (apt and dpkg).
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: What would bring the engine to the repositories' newest packages
  swarmctl.swarm.swarmctl_engine_versions:
    versions: {docker.io: latest, containerd: latest, runc: latest, python3-docker: latest}
  register: engine_versions

- name: What would bring the engine to the versions of the package bundle on the control machine (offline hosts)
  swarmctl.swarm.swarmctl_engine_versions:
    versions: {docker.io: latest, containerd: latest, runc: latest, python3-docker: latest}
    offered: "{{ 'package-bundles' | swarmctl.swarm.swarmctl_bundle_versions('debian-12-amd64') }}"
- name: containerd at a given build
  swarmctl.swarm.swarmctl_engine_versions:
    versions: {containerd: "1.6.20~ds1-1+deb12u2"}
"""

RETURN = r"""
installed:
  description: Package name to its installed version (null when it is not installed).
  returned: always
  type: dict
  sample: {containerd: "1.6.20~ds1-1+deb12u3", docker.io: "20.10.24+dfsg1-1+deb12u1+b6"}
changes:
  description: The packages whose installed version is not the wanted one - package, installed, wanted.
  returned: always
  type: list
  elements: dict
  sample: [{package: containerd, installed: "1.6.20~ds1-1+deb12u3", wanted: "1.6.20~ds1-1+deb12u2"}]
engine_package:
  description: The package the host's dockerd comes from (C(docker.io), or the host's own such as C(docker-ce)).
  returned: always
  type: str
left_alone:
  description: Debian's engine packages (C(docker.io), C(containerd), C(runc)) of O(versions) left out because the
    host's engine is its own and does not have them - upgrade that engine with its own packages.
  returned: always
  type: list
  elements: str
lists_refreshed:
  description: Whether the package lists were refreshed (apt-get update) first.
  returned: always
  type: bool
"""

import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import (
    DEBIAN_ENGINE_PARTS,
    engine_owner,
    installed_versions,
    own_engine,
    plan_versions,
)


def main():
    module = AnsibleModule(argument_spec=dict(versions=dict(type="dict", required=True),
                                              offered=dict(type="dict"),
                                              lists_max_age=dict(type="int", default=3600)),
                           supports_check_mode=True)
    if not shutil.which("apt-cache") or not shutil.which("dpkg-query"):
        module.fail_json(msg="this host has no apt-cache/dpkg: swarmctl upgrades the engine from Debian/Ubuntu packages only")
    wanted = {str(name): str(version) for name, version in module.params["versions"].items()}
    # An engine of the host's own (docker-ce, a binary): Debian's engine packages it lacks are not brought in.
    owner = engine_owner(module)
    left_alone = []
    if own_engine(owner):
        parts = [name for name in wanted if name in DEBIAN_ENGINE_PARTS]
        left_alone = [name for name, version in installed_versions(module, parts).items() if version is None]
        wanted = {name: version for name, version in wanted.items() if name not in left_alone}
    plan = plan_versions(module, wanted, module.params["lists_max_age"], module.params["offered"])
    if plan["problems"]:
        # A version the repositories (or the bundle) do not offer is the caller's input, not the host's fault (swarmctl: exit 2).
        module.fail_json(msg="; ".join(plan["problems"]) + ". Nothing was changed.", installed=plan["installed"],
                         swarmctl_bad_input=True)
    module.exit_json(changed=False, installed=plan["installed"], changes=plan["changes"],
                     lists_refreshed=plan["refreshed"], engine_package=owner, left_alone=left_alone)


if __name__ == "__main__":
    main()
