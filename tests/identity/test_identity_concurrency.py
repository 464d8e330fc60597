"""Two workers resolving overlapping batches at the same time (real threads, real
transactions): whoever loses a claim merges with the winner, so the end state is the same
one contact per person as when the batches run one after the other."""

from __future__ import annotations

import threading

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import exc as sa_exc, select

from hub.contacts.apply import ApplyItem, apply_batch
from hub.store.models import Contact, Identity
from hub.testing.store import truncate

from tests.identity.conftest import make_rules_, partition, rec

RULES = make_rules_()


def person(i: int) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str]]:
    return ("phone", f"1390000{i:04d}"), ("email", f"p{i}@example.cn"), ("wechat_unionid", f"o{i}")


def apply_with_retry(db, items) -> None:
    """One job: the batch in one transaction, redone if the database picked it as a
    deadlock victim or a serialization failure (as a failed job is retried)."""
    for _attempt in range(10):
        try:
            with db.session() as s:
                apply_batch(s, RULES, {}, items)
            return
        except sa_exc.OperationalError:
            continue
    raise AssertionError("batch never committed")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(people=st.integers(5, 40), data=st.data())
def test_concurrent_workers_end_with_one_contact_per_person(db, people, data):
    truncate(db)
    # Worker A sees CRM rows (phone + e-mail), worker B WeCom rows (e-mail + unionid), each in
    # its own order: both create a contact for the same e-mail and one of them loses the claim.
    a = [ApplyItem("crm", "rows", f"a{i}", rec(person(i)[0], person(i)[1])) for i in range(people)]
    b = [ApplyItem("wecom", "contacts", f"b{i}", rec(person(i)[1], person(i)[2])) for i in range(people)]
    a, b = data.draw(st.permutations(a)), data.draw(st.permutations(b))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(items):
        try:
            start.wait()
            apply_with_retry(db, items)
        except BaseException as exc:  # reported below, not swallowed by the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(items,)) for items in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with db.session() as s:
        groups = partition(s)
        live = s.execute(select(Contact.id).where(Contact.merged_into.is_(None))).scalars().all()
        owners = {}
        for kind, value, cid in s.execute(select(Identity.kind, Identity.value, Identity.contact_id)):
            owners.setdefault(cid, set()).add(kind)
    assert groups == {frozenset({f"crm/rows/a{i}", f"wecom/contacts/b{i}"}) for i in range(people)}
    assert len(live) == people
    assert all(kinds == {"phone", "email", "wechat_unionid"} for kinds in owners.values()) and len(owners) == people
