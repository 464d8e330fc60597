"""Identity resolution: which contact a record belongs to, merges, conflicts and unmerge.

* :mod:`hub.identity.rules` — the effective rules (kinds, strength, limits, block-list).
* :mod:`hub.identity.resolver` — batched resolution, union, merge, strong conflicts.
* :mod:`hub.identity.unmerge` — split a contact by rebuilding its component.
* :mod:`hub.identity.review` — the merge-conflict review queue.
"""

from hub.identity.rules import IdentityError, KindRule, Rules, build_rules

__all__ = ["IdentityError", "KindRule", "Rules", "build_rules"]
