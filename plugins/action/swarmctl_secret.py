"""swarmctl_secret runs here, on the control machine (documentation: plugins/modules/swarmctl_secret.py)."""

from __future__ import annotations


from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import controller_action
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_pki import SECRET_SPEC, PkiError, ensure_secret

ActionModule = controller_action(SECRET_SPEC, ensure_secret, PkiError)
