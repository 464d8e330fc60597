"""``hub contacts`` against the real store."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import cli
from hub.store.models import MergeEdge

from .conftest import at, event, rec


@pytest.fixture
def run(db, rules):
    def invoke(*args):
        return CliRunner().invoke(cli, list(args), obj={"db": db, "rules": rules}, catch_exceptions=False)

    return invoke


@pytest.fixture
def customer(apply):
    return apply([
        ("crm_main", "contacts", "1001", rec(("crm_id", "1001"), ("phone", "13800138001"), attributes={"name": "王伟"}, ts=at(0),
                                             events=[event("lead_created", 0, "l1")])),
        ("wecom", "external_contacts", "wmXXXX", rec(("wecom_external_userid", "wmXXXX"), ("phone", "+8613800138001"),
                                                     events=[event("wecom_friend_added", 1, "f1"), event("chat", 3, "m1")])),
    ])[0].contact_id


def test_show_by_any_identity(run, customer):
    for identity in ("phone:+8613800138001", "phone:138 0013 8001", "wecom_external_userid:wmXXXX", "crm_id:crm_main:1001",
                     f"contact:{customer}"):
        result = run("contacts", "show", identity)
        assert result.exit_code == 0, result.output
        assert f"contact {customer}  王伟" in result.output
        assert "crm_id:crm_main:1001" in result.output and "set by crm_main" in result.output
    data = json.loads(run("contacts", "show", "crm_id:crm_main:1001", "--json").output)
    assert data["id"] == customer and len(data["links"]) == 2


def test_malformed_identity_exits_2(run, customer):
    result = run("contacts", "show", "phone:abc")
    assert result.exit_code == 2
    assert "phone:abc: not a valid phone number" in result.stderr
    assert run("contacts", "history", "fax:1").exit_code == 2
    missing = run("contacts", "show", "phone:+8613900000000")
    assert missing.exit_code == 1 and "no contact" in missing.stderr


def test_history_paginates_and_filters(run, customer):
    first = run("contacts", "history", "crm_id:crm_main:1001", "--limit", "2")
    lines = first.output.splitlines()
    assert "chat" in lines[0] and "wecom_friend_added" in lines[1]
    cursor = lines[-1].split("--before ")[1]
    second = run("contacts", "history", "crm_id:crm_main:1001", "--limit", "2", "--before", cursor)
    assert "lead_created" in second.output and "--before" not in second.output
    only = run("contacts", "history", "phone:+8613800138001", "--connector", "crm_main")
    assert "lead_created" in only.output and "chat" not in only.output
    kinds = run("contacts", "history", "phone:+8613800138001", "--kind", "chat", "--json")
    assert [e["native_id"] for e in json.loads(kinds.output)["events"]] == ["m1"]
    assert run("contacts", "history", "phone:+8613800138001", "--before", "nope").exit_code == 2


def test_unmerge_and_conflicts(run, apply, db):
    a = apply([("crm_main", "contacts", "1", rec(("crm_id", "1")))])[0].contact_id
    b = apply([("wecom", "ext", "wmB", rec(("wecom_external_userid", "wmB"), ("phone", "13800138009")))])[0].contact_id
    apply([("crm_main", "contacts", "1", rec(("crm_id", "1"), ("phone", "13800138009")))])
    apply([("crm_main", "contacts", "2", rec(("crm_id", "2"), ("phone", "13800138009")))])  # conflict
    conflicts = run("contacts", "conflicts")
    assert "open" in conflicts.output and "crm_main:1" in conflicts.output and "crm_main:2" in conflicts.output
    with db.session() as s:
        edge = s.execute(select(MergeEdge.id)).scalar_one()
    assert f"edge {edge}: {b} -> {a}" in run("contacts", "show", f"contact:{b}").output
    result = run("contacts", "unmerge", str(b), "--edge", str(edge), "--actor", "alice")
    assert result.exit_code == 0 and f"split into {a}, {b}" in result.output
    assert run("contacts", "unmerge", str(b), "--edge", str(edge)).exit_code == 1
    assert run("contacts", "unmerge", str(b)).exit_code == 2
    conflict_id = run("contacts", "conflicts").output.split()[0].lstrip("#")
    resolved = run("contacts", "resolve", conflict_id, "--keep-apart", "--actor", "alice")
    assert resolved.exit_code == 0 and "kept_apart" in resolved.output
    assert "kept_apart" in run("contacts", "conflicts", "--status", "all").output


def test_history_prints_local_time_with_offset(monkeypatch):
    from datetime import datetime, timezone

    from hub.cli.contacts import _ts

    at = datetime(2026, 11, 22, 1, 5, tzinfo=timezone.utc)
    assert _ts(at) == "2026-11-22 09:05:00 +08:00"
    monkeypatch.setenv("HUB_TIMEZONE", "UTC")
    assert _ts(at) == "2026-11-22 01:05:00 +00:00"
