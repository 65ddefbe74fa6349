"""swarmctl_certificate_info runs here, on the control machine (documentation: plugins/modules/swarmctl_certificate_info.py)."""

from __future__ import annotations

import os

import ansible.module_utils

_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
if _UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_UTILS)

from ansible.module_utils.swarmctl_action import controller_action  # noqa: E402
from ansible.module_utils.swarmctl_pki import CERTIFICATE_INFO_SPEC, PkiError, certificate_info  # noqa: E402

ActionModule = controller_action(CERTIFICATE_INFO_SPEC, certificate_info, PkiError)
