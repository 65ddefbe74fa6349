"""What swarmctl's modules support: check mode, every one; diff mode, those that say what they change
(C(swarmctl_attributes.diff))."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: In check mode nothing changes, and the result says what would change.
    support: full
  diff_mode:
    description: Shows what changed (in check mode, what would change) when run with C(--diff).
    support: none
"""

    DIFF = r"""
attributes:
  check_mode:
    description: In check mode nothing changes, and the result says what would change.
    support: full
  diff_mode:
    description: Shows what changed (in check mode, what would change) when run with C(--diff).
    support: full
"""
