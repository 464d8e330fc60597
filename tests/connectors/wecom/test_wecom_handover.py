"""The WeCom side of the departure hand-over (connectors/wecom/handover.py): the delete_user
callback as a departure signal, direct_leader kept for after the member left, department
members from user/simplelist, resigned transfers and their statuses read back — real HTTP
into the sandbox."""

from __future__ import annotations

import pytest

from hub.connector import PermanentError
from hub.connector.handover import DONE, FAILED, LIMIT, REFUSED, WAITING
from hub.mapping import load_mapping
from hub.testing import read_all

from connectors.wecom.handover import WeComHandOver
from connectors.wecom.members import MemberDirectory
from connectors.wecom.webhook import WeComWebhook

from pathlib import Path

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


def handle(connector, sandbox, fields):
    return WeComWebhook(connector).handle(sandbox.callback(fields))


def customers_of(sandbox, userid):
    return sorted(e for (e, u) in sandbox.relations if u == userid)


def test_a_delete_user_callback_is_a_follow_users_record_that_signals_the_departure(connector, sandbox):
    result = handle(connector, sandbox, {"Event": "change_contact", "ChangeType": "delete_user", "UserID": "lisi",
                                         "CreateTime": 1767571200})
    [(stream, record)] = result.records
    assert stream == "follow_users" and record.native_id == "lisi" and record.deleted
    assert record.data == {"userid": "lisi", "event": {"change_type": "delete_user", "create_time": 1767571200}}
    assert record.dedupe_key == "wecom:sys:1767571200:delete_user:lisi"  # WeCom's retries collapse
    assert MemberDirectory(connector).entry_stored("lisi")["departed"] is True
    [mapped], rejected = load_mapping(MAPPINGS / "wecom.follow_users.yaml").apply_many([record.data])
    assert rejected == [] and mapped.identities == []  # a member is no contact
    assert [(e.kind, e.data) for e in mapped.events] == [("member_left", {"departed_member": "lisi"})]
    # Other member callbacks and the scan's own records signal nothing.
    assert handle(connector, sandbox, {"Event": "change_contact", "ChangeType": "update_user", "UserID": "wangwu"}).records == []
    [scanned], _ = load_mapping(MAPPINGS / "wecom.follow_users.yaml").apply_many([{"userid": "lisi", "name": "李四"}])
    assert scanned.events == []


def test_unassigned_pairs_carry_the_departed_member(connector, sandbox):
    records, _ = read_all(connector, "unassigned")
    mapped, rejected = load_mapping(MAPPINGS / "wecom.unassigned.yaml").apply_many([r.data for r in records])
    assert rejected == [] and mapped
    assert {e.data["departed_member"] for m in mapped for e in m.events} == {"zhaoliu"}


def test_the_manager_comes_from_direct_leader_and_is_kept_for_after_the_departure(connector, sandbox):
    handover = WeComHandOver(connector)
    assert handover.managers("lisi") == ["zhangsan"]
    assert handover.managers("wangwu") == []
    sandbox.members["lisi"]["direct_leader"] = ["sunqi", "zhangsan"]
    read_all(connector, "follow_users")  # the scan keeps direct_leader in the directory too
    assert MemberDirectory(connector).entry_stored("lisi")["direct_leader"] == ["sunqi", "zhangsan"]
    del sandbox.members["lisi"]  # deleted from WeCom's directory: user/get answers 60111
    assert WeComHandOver(connector).managers("lisi") == ["sunqi", "zhangsan"]
    handle(connector, sandbox, {"Event": "change_contact", "ChangeType": "delete_user", "UserID": "sunqi"})
    assert WeComHandOver(connector).managers("lisi") == ["zhangsan"]  # a manager who left too is skipped


def test_direct_leader_from_a_member_callback_is_remembered(connector, sandbox):
    handle(connector, sandbox, {"Event": "change_contact", "ChangeType": "update_user", "UserID": "sunqi",
                                "DirectLeader": "lisi,wangwu"})
    assert MemberDirectory(connector).entry_stored("sunqi")["direct_leader"] == ["lisi", "wangwu"]


def test_department_members_are_listed_with_user_simplelist(connector, sandbox):
    added = sandbox.add_records("follow_users", 2)
    handover = WeComHandOver(connector)
    assert handover.department_members("2") == ["zhangsan", "lisi", *added]  # 赵六 left: not listed
    body = [d for p, d in sandbox.calls if p == "user/simplelist"][-1]
    assert body["department_id"] == "2"
    sandbox.follow_users.remove(added[0])  # no customer-contact permission: may not take over
    handle(connector, sandbox, {"Event": "change_contact", "ChangeType": "delete_user", "UserID": "lisi"})
    assert WeComHandOver(connector).department_members("2") == ["zhangsan", added[1]]
    assert handover.department_members("7") == []


def test_sandbox_simplelist_answers_like_wecom(connector, sandbox):
    everyone = connector.client.get("user/simplelist", department_id=1, fetch_child=1)["userlist"]
    assert {u["userid"] for u in everyone} == {u for u, m in sandbox.members.items() if m["status"] != 5}
    assert set(everyone[0]) == {"userid", "name", "department"}
    with pytest.raises(PermanentError) as info:
        connector.client.get("user/simplelist", department_id="x")
    assert info.value.code == 40058


def test_transfer_payload_and_statuses_read_back_without_transferring_again(connector, sandbox):
    for _ in range(3):
        sandbox.add_customer(userid="lisi")
    a, b, c, d, *rest = customers_of(sandbox, "lisi")
    sandbox.depart_member("lisi")
    handover = WeComHandOver(connector)
    assert handover.relation("external_contacts", f"{a}:lisi") == (a, "lisi") and handover.relation("unassigned", "x") is None
    del sandbox.relations[(d, "lisi")]  # no longer lisi's customer: WeCom answers 40096 for it
    payload = handover.payload("lisi", "zhangsan", [a, b, c, d])
    assert payload == {"handover_userid": "lisi", "takeover_userid": "zhangsan", "external_userid": [a, b, c, d], "resigned": True}
    connector.write("transfers", payload, idempotency_key="k1")
    requests = len(sandbox.effects("transfers"))
    assert handover.statuses(payload, "k1") == {a: (WAITING, ""), b: (WAITING, ""), c: (WAITING, ""), d: (FAILED, "WeCom errcode 40096")}
    sandbox.advance_transfers(refuse={a})
    sandbox.transfers[("lisi", "zhangsan", True)][b]["status"] = 4
    got = handover.statuses(payload, "k1")
    assert (got[a], got[b], got[c]) == ((REFUSED, ""), (LIMIT, ""), (DONE, ""))
    # Without the sink's memo (another process, Redis lost) the statuses come from transfer_result alone.
    assert WeComHandOver(connector).statuses(payload, "unknown-key")[c] == (DONE, "")
    assert len(sandbox.effects("transfers")) == requests  # only transfer_result was called
    assert [p for p, _ in sandbox.calls].count("externalcontact/resigned/transfer_customer") == 1


def test_describe_names_members(connector):
    assert WeComHandOver(connector).describe("lisi") == "李四（lisi）"
    assert WeComHandOver(connector).describe("nobody") == "nobody"
