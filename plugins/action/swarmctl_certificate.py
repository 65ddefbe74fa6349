"""swarmctl_certificate runs here, on the control machine (documentation: plugins/modules/swarmctl_certificate.py)."""

from __future__ import annotations


from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_action import controller_action
from ansible_collections.swarmctl.swarm.plugins.plugin_utils.swarmctl_pki import CERTIFICATE_SPEC, PkiError, ensure_certificate

ActionModule = controller_action(CERTIFICATE_SPEC, ensure_certificate, PkiError)
