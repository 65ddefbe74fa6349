"""swarmctl_ca runs here, on the control machine (documentation: plugins/modules/swarmctl_ca.py)."""

from __future__ import annotations


from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import controller_action
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_pki import CA_SPEC, PkiError, ensure_ca

ActionModule = controller_action(CA_SPEC, ensure_ca, PkiError)
