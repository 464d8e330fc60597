"""Fixtures for identity resolution and contact store tests (real SQLite / PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from hub.canonical import CanonicalEvent, CanonicalRecord
from hub.config.model import IdentityRules
from hub.contacts.apply import ApplyItem, apply_batch
from hub.identity import build_rules
from hub.identity_kinds import BUILTIN_KINDS
from hub.plugins import IdentityKindSpec, Registry
from hub.store.models import Contact, Identity, Link


#: Built-in identity kinds only: these tests must not depend on which plugins are installed.
BUILTIN = Registry(identity_kinds={k.kind: IdentityKindSpec(k.kind, k.strong, k.max_per_contact, k.normalize) for k in BUILTIN_KINDS})


def make_rules_(**kwargs):
    return build_rules(BUILTIN, IdentityRules(**kwargs))

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rec(*identities: tuple[str, str], attributes: dict[str, Any] | None = None, tags=(), events=(), ts: datetime | None = None,
        deleted: bool = False) -> CanonicalRecord:
    return CanonicalRecord(identities=list(identities), attributes=dict(attributes or {}), tags=list(tags),
                           events=list(events), source_updated_at=ts, deleted=deleted)


def event(kind: str, minutes: int, native_id: str | None = None, summary: str = "") -> CanonicalEvent:
    return CanonicalEvent(kind=kind, occurred_at=at(minutes), summary=summary or kind, native_id=native_id)


@pytest.fixture
def rules():
    return make_rules_()


@pytest.fixture
def make_rules() -> Callable[..., Any]:
    return make_rules_


@pytest.fixture
def apply(db, rules):
    """``apply(items, rules=None, policies=None)`` in one committed transaction."""

    def run(items, *, rules_=None, policies=None):
        with db.session() as session:
            return apply_batch(session, rules_ or rules, policies or {}, [ApplyItem(*item) for item in items])

    return run


def partition(session) -> set[frozenset[str]]:
    """Links grouped by surviving contact: ``{frozenset("instance/stream/native"), …}``."""
    groups: dict[int, set[str]] = {}
    for connector, stream, native, cid in session.execute(select(Link.connector, Link.stream, Link.native_id, Link.contact_id)):
        groups.setdefault(cid, set()).add(f"{connector}/{stream}/{native}")
    return {frozenset(g) for g in groups.values()}


def identity_partition(session) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for kind, value, cid in session.execute(select(Identity.kind, Identity.value, Identity.contact_id)):
        groups.setdefault(cid, set()).add(f"{kind}:{value}")
    return {frozenset(g) for g in groups.values()}


def live_contacts(session) -> int:
    return session.execute(select(func.count()).select_from(Contact).where(Contact.merged_into.is_(None))).scalar_one()
