"""swarmctl_rollouts runs on the host without AnsiballZ when it can (plugin_utils/swarmctl_light.py)
(documentation: plugins/modules/swarmctl_rollouts.py)."""

from __future__ import annotations

from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import light_module_action

ActionModule = light_module_action("swarmctl_rollouts")
