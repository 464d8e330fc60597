"""Property tests (hypothesis) on the real store: order independence, the strong-id
invariant, and unmerge restoring the partition."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings, strategies as st
from sqlalchemy import select

from hub.contacts.apply import ApplyItem, apply_batch
from hub.identity.unmerge import unmerge
from hub.store.models import Contact, Identity, MergeEdge

from hub.testing.store import truncate

from .conftest import identity_partition, make_rules_, partition, rec

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Generous weak limits: order independence is promised only where no limit binds.
RULES = make_rules_(kinds={"phone": {"max_per_contact": 100}, "email": {"max_per_contact": 100}})

PHONES = ["13900000001", "13900000002", "13900000003", "13800138000"]  # the last is block-listed
EMAILS = ["a@example.cn", "b@example.cn", "null"]
UNIONIDS = ["oA", "oB", "oC"]
CRM = ["1", "2", "3"]

identity = st.one_of(
    st.tuples(st.just("phone"), st.sampled_from(PHONES)),
    st.tuples(st.just("email"), st.sampled_from(EMAILS)),
    st.tuples(st.just("wechat_unionid"), st.sampled_from(UNIONIDS)),
    st.tuples(st.just("crm_id"), st.sampled_from(CRM)),
)
records = st.lists(st.lists(identity, min_size=0, max_size=3), min_size=1, max_size=10)


def items_of(idsets: list[list[tuple[str, str]]]) -> list[ApplyItem]:
    return [ApplyItem("crm_main", "s", str(i), rec(*ids)) for i, ids in enumerate(idsets)]


def expected_components(idsets) -> list[set[tuple[str, str]]]:
    """Offline union-find over shared, non-blocked, normalised identifiers."""
    parent = list(range(len(idsets)))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    owner = {}
    norm = []
    for i, ids in enumerate(idsets):
        keep = set()
        for kind, raw in ids:
            value = RULES.normalize(kind, raw, "crm_main")
            if value is None or RULES.blocked(kind, raw, value):
                continue
            keep.add((kind, value))
            if (kind, value) in owner:
                a, b = find(owner[(kind, value)]), find(i)
                parent[max(a, b)] = min(a, b)
            else:
                owner[(kind, value)] = i
        norm.append(keep)
    comps: dict[int, set] = {}
    for i, keep in enumerate(norm):
        comps.setdefault(find(i), set()).update(keep)
    return list(comps.values())


def no_strong_conflicts(idsets) -> bool:
    for comp in expected_components(idsets):
        for kind in ("wechat_unionid", "crm_id"):
            if len({v for k, v in comp if k == kind}) > 1:
                return False
    return True


def run(db, items, batch_size):
    for start in range(0, len(items), batch_size):
        with db.session() as s:
            apply_batch(s, RULES, {}, items[start:start + batch_size])
    with db.session() as s:
        return partition(s)


@SETTINGS
@given(idsets=records, data=st.data())
def test_partition_does_not_depend_on_arrival_order(db, idsets, data):
    assume(no_strong_conflicts(idsets))
    items = items_of(idsets)
    shuffled = data.draw(st.permutations(items))
    sizes = data.draw(st.tuples(st.integers(1, 10), st.integers(1, 10)))
    truncate(db)
    first = run(db, items, sizes[0])
    truncate(db)
    second = run(db, shuffled, sizes[1])
    assert first == second
    # and it is exactly the connected components of shared identifiers
    assert len(first) == len(expected_components(idsets))


@SETTINGS
@given(idsets=records, batch_size=st.integers(1, 10))
def test_no_contact_holds_two_strong_values_of_one_kind(db, idsets, batch_size):
    truncate(db)
    run(db, items_of(idsets), batch_size)
    with db.session() as s:
        held: dict[tuple[int, str], set[str]] = {}
        for cid, kind, value in s.execute(select(Identity.contact_id, Identity.kind, Identity.value)):
            if RULES.kinds[kind].strong:
                held.setdefault((cid, RULES.scope(kind, value)), set()).add(value)
        assert all(len(values) == 1 for values in held.values())
        # identities always point at surviving contacts
        merged = set(s.execute(select(Contact.id).where(Contact.merged_into.is_not(None))).scalars())
        assert not merged & {cid for cid, _ in held}


@SETTINGS
@given(idsets=records, picks=st.tuples(st.integers(0, 100), st.integers(0, 100)))
def test_unmerge_restores_partition_from_before_the_merge(db, idsets, picks):
    truncate(db)
    run(db, items_of(idsets), 5)
    with db.session() as s:
        before_links, before_ids = partition(s), identity_partition(s)
        groups = sorted(sorted(g) for g in before_ids)
    assume(len(groups) >= 2)
    left = groups[picks[0] % len(groups)]
    others = [g for g in groups if g != left]
    right = others[picks[1] % len(others)]
    bridge = ApplyItem("bridge", "s", "x", rec(*(tuple(left[0].split(":", 1)), tuple(right[0].split(":", 1)))))
    with db.session() as s:
        (result,) = apply_batch(s, RULES, {}, [bridge])
    assume(result.merged_ids)  # the two contacts were compatible, so they merged
    with db.session() as s:
        edge = s.execute(select(MergeEdge.id).where(MergeEdge.connector == "bridge")).scalar_one()
        unmerge(s, result.contact_id, edge_id=edge, rules=RULES, actor="test")
    with db.session() as s:
        after_links = {g - {"bridge/s/x"} for g in partition(s)} - {frozenset()}
        assert after_links == before_links
        assert identity_partition(s) == before_ids
