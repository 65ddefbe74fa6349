#!/usr/bin/python
# swarmctl: Debian packages installed from a package bundle alone (no mirror needed).

from __future__ import annotations

DOCUMENTATION = r"""
module: swarmctl_packages
short_description: Install the Debian packages a host lacks from a package bundle, with no mirror
description:
  - Installs those of O(packages) that are not installed, and what they need, from the bundle O(bundle) made by
    M(swarmctl.swarm.swarmctl_package_bundle). apt reads the bundle's repository alone, through its own package
    lists in a scratch directory; the host's sources and lists are neither read nor changed, so a host with no
    route to any mirror installs as well.
  - Refuses a bundle made for another release or architecture, or one without a package asked for, before
    anything is installed.
  - With O(remove_bundle), the bundle file is removed once every package is installed.
  - Check mode reports what would be installed; the bundle need not be there yet.
extends_documentation_fragment:
  - swarmctl.swarm.swarmctl_attributes
options:
  packages:
    description: Debian package names the host must have.
    type: list
    elements: str
    required: true
  bundle:
    description: Path of the bundle (a tar file) on the host.
    type: path
    required: true
  remove_bundle:
    description: Remove the bundle file after (the packages are then installed; it is only a copy).
    type: bool
    default: true
notes:
  - Debian and Ubuntu only (apt and dpkg).
author: swarmctl developers (@swarmctl)
"""

EXAMPLES = r"""
- name: The engine from the bundle the control machine copied here
  swarmctl.swarm.swarmctl_packages:
    packages: [docker.io, python3-docker]
    bundle: /var/cache/swarmctl/package-bundle.tar
"""

RETURN = r"""
installed:
  description: The packages of O(packages) that were (or would be) installed.
  returned: success
  type: list
  elements: str
  sample: [docker.io, python3-docker]
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_bundle import install
from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import missing_packages


def main():
    module = AnsibleModule(argument_spec=dict(packages=dict(type="list", elements="str", required=True),
                                              bundle=dict(type="path", required=True),
                                              remove_bundle=dict(type="bool", default=True)),
                           supports_check_mode=True)
    if not shutil.which("apt-get") or not shutil.which("dpkg-query"):
        module.fail_json(msg="this host has no apt-get/dpkg: swarmctl installs Debian/Ubuntu packages only")
    p = module.params
    missing = missing_packages(module, p["packages"])
    leftover = p["remove_bundle"] and os.path.exists(p["bundle"])
    if module.check_mode or not (missing or leftover):
        module.exit_json(changed=bool(missing or leftover), installed=missing)
    if missing:
        if not os.path.exists(p["bundle"]):
            module.fail_json(msg=f"{', '.join(missing)} missing, and no package bundle at {p['bundle']} to install "
                                 "them from. Nothing was installed.")
        install(module, missing, p["bundle"])
    if leftover:
        os.unlink(p["bundle"])
    module.exit_json(changed=True, installed=missing)


if __name__ == "__main__":
    main()
