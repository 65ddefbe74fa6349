"""swarmctl_service runs on the host without AnsiballZ when it can (module_utils/swarmctl_light.py)
(documentation: plugins/modules/swarmctl_service.py)."""

from __future__ import annotations

import os

import ansible.module_utils

_PLUGINS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.join(_PLUGINS, "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(os.path.join(_PLUGINS, "module_utils"))

from ansible.module_utils.swarmctl_action import light_module_action  # noqa: E402

ActionModule = light_module_action(os.path.join(_PLUGINS, "modules", "swarmctl_service.py"))
