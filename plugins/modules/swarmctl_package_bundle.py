#!/usr/bin/python
# swarmctl: make a package bundle (Debian packages and all they depend on, one tar) from this host's mirror.

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_package_bundle
short_description: Download Debian packages and everything they depend on into one bundle for other hosts
description:
  - Resolves O(packages) and everything they depend on (C(apt-cache depends --recurse), recommendations left out),
    downloads them from this host's repositories and writes them, with a flat repository's C(Packages) index
    and a manifest, to the tar file O(dest). M(swarmctl.swarm.swarmctl_packages) installs from it on hosts of
    the same release and architecture, with no repository of their own.
  - The whole dependency closure goes in, essential packages too, so the bundle serves a host whatever it
    already has installed.
  - A bundle at O(dest) for the same packages and platform, younger than O(max_age) seconds, is kept
    (C(changed=false)).
  - Installs nothing on this host. Check mode reports what it would do and downloads nothing.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  packages:
    description: Debian package names the bundle must let a host install.
    type: list
    elements: str
    required: true
  dest:
    description: Path of the bundle (a tar file) on this host.
    type: path
    required: true
  versions:
    description:
      - Package name to the version the bundle holds it at, instead of the mirror's newest (C(latest) is the
        newest). A package named here need not be in O(packages); it goes in with what it depends on.
      - A bundle holds one version of each package; M(swarmctl.swarm.swarmctl_engine_versions) reads them with
        its O(swarmctl.swarm.swarmctl_engine_versions#module:offered) option to upgrade offline hosts from it.
    type: dict
    default: {}
  max_age:
    description: Seconds an existing bundle for the same packages stays good; 0 always makes it again.
    type: int
    default: 86400
notes:
  - Debian and Ubuntu only (apt and dpkg).
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: One download of the engine's packages, for the cluster's other hosts
  swarmctl.swarm.swarmctl_package_bundle:
    packages: [docker.io, python3-docker]
    dest: /var/cache/swarmctl/package-bundle.tar
  register: bundle

- name: A bundle with containerd at the build the cluster was tested with
  swarmctl.swarm.swarmctl_package_bundle:
    packages: [docker.io, python3-docker]
    versions: {containerd: "1.6.20~ds1-1+deb12u1"}
    dest: /var/cache/swarmctl/package-bundle.tar
"""

RETURN = r"""
platform:
  description: The distribution, release and architecture the bundle is for (a host must match it).
  returned: success
  type: str
  sample: debian-12-amd64
debs:
  description: The packages in the bundle - package, version, file, size.
  returned: success, not in check mode
  type: list
  elements: dict
size:
  description: The bundle's size in bytes.
  returned: success, not in check mode
  type: int
"""

import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_bundle import build, host_platform, pinned, read_manifest


def main():
    module = AnsibleModule(argument_spec=dict(packages=dict(type="list", elements="str", required=True),
                                              dest=dict(type="path", required=True),
                                              versions=dict(type="dict", default={}),
                                              max_age=dict(type="int", default=86400)),
                           supports_check_mode=True)
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        module.fail_json(msg="this host has no apt-get/dpkg: a package bundle is made on a Debian/Ubuntu host")
    p = module.params
    platform = host_platform(module)
    current = read_manifest(p["dest"])
    if (current and current.get("platform") == platform and sorted(current.get("packages", [])) == sorted(p["packages"])
            and current.get("versions", {}) == pinned(p["versions"]) and time.time() - current.get("created", 0) < p["max_age"]):
        module.exit_json(changed=False, platform=platform, debs=current["debs"], size=os.path.getsize(p["dest"]))
    if module.check_mode:
        module.exit_json(changed=True, platform=platform)
    manifest = build(module, p["packages"], p["dest"], p["versions"])
    module.exit_json(changed=True, platform=platform, debs=manifest["debs"], size=os.path.getsize(p["dest"]))


if __name__ == "__main__":
    main()
