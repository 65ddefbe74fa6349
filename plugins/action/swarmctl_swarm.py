"""swarmctl_swarm runs on the host as a module; a result carrying join tokens or the unlock key is hidden from
output and logs (documentation: plugins/modules/swarmctl_swarm.py)."""

from __future__ import annotations

import os

import ansible.module_utils

_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
if _UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_UTILS)

from ansible.module_utils.swarmctl_action import secret_result_action  # noqa: E402

ActionModule = secret_result_action(("tokens", "unlock_key"))
