"""swarmctl_certificate_info runs here, on the control machine (documentation: plugins/modules/swarmctl_certificate_info.py)."""

from __future__ import annotations


from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import controller_action
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_pki import CERTIFICATE_INFO_SPEC, PkiError, certificate_info

ActionModule = controller_action(CERTIFICATE_INFO_SPEC, certificate_info, PkiError)
