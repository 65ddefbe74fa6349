"""swarmctl_swarm_info runs on the host without AnsiballZ when it can (plugin_utils/swarmctl_light.py); a result
carrying join tokens or the unlock key is hidden from output and logs
(documentation: plugins/modules/swarmctl_swarm_info.py)."""

from __future__ import annotations

from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import light_module_action

ActionModule = light_module_action("swarmctl_swarm_info", ("tokens", "unlock_key"))
