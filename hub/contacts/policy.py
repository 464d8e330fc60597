"""Field conflict policy: which of two competing attribute values wins.

One function, :func:`wins`, used when a record is applied, when two contacts merge and
when an unmerge recomputes attributes from the records, so all three agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Union

from hub.config.model import FieldPolicy


@dataclass(frozen=True)
class AttrValue:
    """An attribute value with its provenance."""

    value: Any
    connector: str
    source_ts: datetime | None


Policies = Union[Mapping[str, FieldPolicy], Callable[[str], FieldPolicy], None]


def policy_for(policies: Policies, name: str) -> FieldPolicy:
    """Like :meth:`HubConfig.field_policy`: the field's policy, else ``default``, else latest."""
    if policies is None:
        return FieldPolicy()
    if callable(policies) and not isinstance(policies, Mapping):
        return policies(name)
    if hasattr(policies, "field_policy"):
        return policies.field_policy(name)  # a HubConfig
    return policies.get(name) or policies.get("default") or FieldPolicy()


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict, tuple, set)):
        return not value
    return False


def _newer_or_same(incoming: AttrValue, current: AttrValue) -> bool:
    """``latest``: the newer source timestamp wins; unknown timestamps count as oldest.

    On a tie the current value stays unless the same connector writes again (it changed its
    mind without a new timestamp): two systems with equal timestamps must not flip-flop the
    value on every re-read.
    """
    if incoming.source_ts == current.source_ts:
        return incoming.connector == current.connector
    if current.source_ts is None:
        return True
    if incoming.source_ts is None:
        return False
    return incoming.source_ts > current.source_ts


def wins(policy: FieldPolicy, current: AttrValue | None, incoming: AttrValue) -> bool:
    """True if ``incoming`` should replace ``current`` under ``policy``.

    ``none`` never stores (the field is not synced). Blank incoming values never create an
    attribute, but may clear one under ``latest`` (the source really emptied it).
    """
    if policy.policy == "none":
        return False
    if current is None:
        return not is_blank(incoming.value)
    if policy.policy == "prefer" and policy.prefer:
        preferred = policy.prefer
        if incoming.connector == preferred:
            if current.connector == preferred and not _newer_or_same(incoming, current):
                return False  # an older version of the preferred record, processed late
            if policy.unless_blank and is_blank(incoming.value):
                # The preferred source emptied the field: record that only over its own value,
                # so other sources can fill it on their next write.
                return current.connector == preferred
            return True
        if current.connector == preferred:
            return policy.unless_blank and is_blank(current.value)
        return _newer_or_same(incoming, current)
    return _newer_or_same(incoming, current)
