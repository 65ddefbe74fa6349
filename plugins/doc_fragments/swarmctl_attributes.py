"""What swarmctl's modules support: check mode, every one; diff mode, those that say what they change
(C(swarmctl_attributes.diff))."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

    DIFF = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""
