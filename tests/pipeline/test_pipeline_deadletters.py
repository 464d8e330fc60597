"""Dead letters from a mapping bug are recovered by fixing the mapping (issue 17): a replay
re-renders from the current mapping, ``--as-was`` re-sends the stored payload, and dead
letters can be discarded. Everything is audited."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hub.cli import cli
from hub.pipeline.deadletters import discard, list_dead, replay
from hub.pipeline.inline import sync_inline
from hub.reload import reload
from hub.store.models import AuditEntry, OutboxRow
from tests.pipeline.sql_pair import FIXED, crm_to_members  # noqa: F401  (fixture)

def dlq(runtime, *args):
    return CliRunner().invoke(cli, ["dlq", *args], obj={"config_file": runtime.config.source_file, "runtime": runtime})


def test_a_fixed_mapping_fixes_its_dead_letters(crm_to_members):
    runtime, src, dst, tmp_path = crm_to_members
    src.add_records("rows", 3)
    first = CliRunner().invoke(cli, ["sync", "crm.rows", "--inline"], obj={"config_file": runtime.config.source_file, "runtime": runtime})
    assert first.exit_code == 1, first.output  # dead-lettered writes are a failed sync
    assert "dead=3" in first.output and "0 rejected, 3 dead-lettered: see `hub dlq list`" in first.output
    assert dst.effects("rows") == []
    dead = list_dead(runtime.db)
    assert len(dead) == 3 and all("'level' is not writable" in d.error for d in dead)

    # as it was: the stored payload still has `level`, so it dies again
    again = dlq(runtime, "replay", dead[0].ref, "--as-was", "--inline")
    assert again.exit_code == 0, again.output
    assert "replayed 1 deliveries (as they were)" in again.output
    assert len(list_dead(runtime.db)) == 3 and dst.effects("rows") == []

    # fix the mapping; the replay renders each contact again with it
    (tmp_path / "members.rows.out.yaml").write_text(FIXED, encoding="utf-8")
    assert reload(runtime)
    fixed = dlq(runtime, "replay", "--all", "--inline")
    assert fixed.exit_code == 0, fixed.output
    assert "replayed 3 deliveries (re-rendered with the current mapping)" in fixed.output
    assert list_dead(runtime.db) == []
    written = {e["name"]: e for e in dst.effects("rows")}
    source = {r["name"]: r for r in (src.row(str(i)) for i in range(1, 4))}
    assert set(written) == set(source) and all(written[n]["tier"] == source[n]["tier"] for n in source)
    with runtime.db.session() as s:
        modes = [a.detail.get("mode") for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "dlq.replay").order_by(AuditEntry.id))]
        assert modes == ["as_was", "rerendered", "rerendered", "rerendered"]
        keys = list(s.scalars(select(OutboxRow.idempotency_key)))
        assert len(set(keys)) == 3  # re-rendered writes carry new idempotency keys


def test_a_contact_the_current_mapping_cannot_render_stays_dead_with_the_reason(crm_to_members):
    runtime, src, dst, tmp_path = crm_to_members
    src.add_records("rows", 1)
    sync_inline(runtime, "crm", "rows")
    (dead,) = list_dead(runtime.db)
    (tmp_path / "members.rows.out.yaml").write_text(FIXED + "  city: {from: attributes.no_such, required: true}\n", encoding="utf-8")
    reload(runtime)
    result = dlq(runtime, "replay", dead.ref, "--inline")
    assert result.exit_code == 1
    assert f"{dead.ref} still dead: the current mapping cannot render contact" in result.output
    assert [d.ref for d in list_dead(runtime.db)] == [dead.ref]


def test_discard_is_audited_and_hides_the_dead_letter(crm_to_members):
    runtime, src, dst, tmp_path = crm_to_members
    src.add_records("rows", 2)
    sync_inline(runtime, "crm", "rows")
    first, second = sorted(list_dead(runtime.db), key=lambda d: d.id)
    result = dlq(runtime, "discard", first.ref)
    assert result.exit_code == 0 and "discarded 1 deliveries and 0 records" in result.output
    assert [d.ref for d in list_dead(runtime.db)] == [second.ref]
    again = dlq(runtime, "discard", first.ref)
    assert again.exit_code == 2 and "not dead letters" in again.output
    assert dlq(runtime, "discard").exit_code == 2  # neither refs nor --all
    assert discard(runtime, None, actor="ui:ops")["outbox"] == 1
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "discarded")) == 2
        actors = [(a.actor, a.target) for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "dlq.discard").order_by(AuditEntry.id))]
    assert actors == [("cli", first.ref), ("ui:ops", second.ref)]
    with pytest.raises(ValueError):
        replay(runtime, [first.ref], actor="test")
