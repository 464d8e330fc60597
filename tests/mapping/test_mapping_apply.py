"""Running mappings: inbound records, outbound payloads, per-record rejection, explain,
crm_id namespaces, conditions, and a transform contributed by a plugin."""

import types
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hub.canonical import CanonicalEvent
from hub.mapping import MappingError, MappingRecordError, canonical_view, load_mapping
from hub.plugins import build_registry
from hub.hookspecs import hookimpl

SH = ZoneInfo("Asia/Shanghai")

LEADS = """
direction: inbound
connector: feiyu
stream: leads
fields:
  name: {from: [name, contact.name], transforms: [strip]}
  phone: {from: [telephone, contact.mobile], transforms: [phone]}
  backup_phone: {to: identities.phone, from: "phones[*]", transforms: [{phone: {on_invalid: null}}]}
  email: {from: email, transforms: [{email: {on_invalid: null}}]}
  wecom_external_userid: external_userid
  gender: {from: gender, transforms: [{map: {values: {1: 男, 2: 女}, default: 未知}}]}
  tags: {from: "labels[*].name", transforms: [strip]}
  intent:
    to: tags
    from: remark
    transforms: [{keywords: {rules: {询价: [多少钱, 怎么卖], 价格敏感: [太贵了], 物流: [发货]}}}]
  vip:
    to: tags
    from: level
    when: {path: level, in: [A, S]}
    transforms: [{const: VIP}]
updated_at: {from: modify_time, transforms: [datetime]}
deleted: {from: status, transforms: [{map: {values: {deleted: true}, default: false}}]}
events:
  lead_created:
    occurred_at: {from: create_time, transforms: [datetime]}
    summary: {template: "飞鱼线索：{campaign}"}
    native_id: clue_id
    data: {ad_id: ad_id, campaign: campaign}
  lead_won:
    when: {path: state, equals: 3}
    occurred_at: {from: modify_time, transforms: [datetime]}
"""

RECORD = {
    "clue_id": 9001,
    "name": " 张三 ",
    "telephone": "+86 138-0013-8000",
    "phones": ["139 0000 0000", "junk", "+86 138 0013 8000"],
    "email": "Zhang@Example.com",
    "external_userid": "wmABC",
    "gender": "1",
    "labels": [{"name": " 老客户"}, {"name": "华南"}],
    "remark": "怎么卖？太贵了",
    "level": "A",
    "modify_time": 1714528800000,
    "create_time": "2024-05-01 09:00:00",
    "ad_id": 17001,
    "campaign": "春季",
    "state": 3,
}


def test_inbound_record(compile_text):
    m = compile_text(LEADS)
    out = m.apply(RECORD)
    assert out.identities == [
        ("phone", "+8613800138000"),
        ("phone", "+8613900000000"),
        ("email", "zhang@example.com"),
        ("wecom_external_userid", "wmABC"),
    ]
    assert out.attributes == {"name": "张三", "gender": "男"}
    assert out.tags == ["老客户", "华南", "询价", "价格敏感", "VIP"]
    assert out.source_updated_at == datetime(2024, 5, 1, 10, 0, tzinfo=SH)
    assert out.deleted is False
    assert out.events == [
        CanonicalEvent("lead_created", datetime(2024, 5, 1, 9, 0, tzinfo=SH), "飞鱼线索：春季",
                       {"ad_id": 17001, "campaign": "春季"}, "9001"),
        CanonicalEvent("lead_won", datetime(2024, 5, 1, 10, 0, tzinfo=SH), "", {}, None),
    ]


def test_fallbacks_conditions_and_missing_values(compile_text):
    m = compile_text(LEADS)
    out = m.apply({"contact": {"name": "李四", "mobile": "13800138000"}, "level": "B", "status": "deleted",
                   "create_time": "2024-05-01 09:00:00", "state": 1})
    assert out.attributes == {"name": "李四"}
    assert out.identities == [("phone", "+8613800138000")]
    assert out.tags == []
    assert out.deleted is True
    assert [e.kind for e in out.events] == ["lead_created"]
    assert out.events[0].native_id is None and out.events[0].summary == ""  # template with nothing to render


def test_bad_record_names_field_and_value(compile_text):
    m = compile_text(LEADS)
    with pytest.raises(MappingRecordError) as info:
        m.apply(dict(RECORD, telephone="12345"))
    err = info.value
    assert err.field == "fields.phone"
    assert err.value == "12345"
    assert err.message == "fields.phone: invalid phone number '12345'"
    with pytest.raises(MappingRecordError, match=r"^events.lead_created.occurred_at: invalid date/time 'soon'$"):
        m.apply(dict(RECORD, create_time="soon"))
    with pytest.raises(MappingRecordError, match="a record must be a JSON object"):
        m.apply(["not", "a", "record"])


def test_apply_many_rejects_bad_records_and_continues(compile_text):
    m = compile_text(LEADS)
    batch = [RECORD, dict(RECORD, telephone="12345"), dict(RECORD, name="王五"), dict(RECORD, modify_time="never")]
    results, rejected = m.apply_many(batch)
    assert [r is None for r in results] == [False, True, False, True]
    assert results[2].attributes["name"] == "王五"
    assert [(i, e.field, e.value) for i, e in rejected] == [(1, "fields.phone", "12345"), (3, "events.lead_won.occurred_at", "never")]


def test_required_and_field_when(compile_text):
    m = compile_text("""
        fields:
          crm_id: {from: id, required: true}
          stage:
            from: stage
            when: {present: true}
            transforms: [upper]
    """, instance="crm_main")
    assert m.apply({"id": 1, "stage": ""}).attributes == {}
    with pytest.raises(MappingRecordError, match="^fields.crm_id: required value is missing$"):
        m.apply({"stage": "x"})


def test_crm_id_namespaced_by_instance(compile_text):
    text = """
        fields:
          crm_id: {from: id, namespace: instance}
          alt: {to: identities.crm_id, template: "{instance}:{legacy_id}"}
          other: {to: identities.crm_id, from: erp_id, namespace: erp}
    """
    m = compile_text(text, instance="crm_main")
    assert m.apply({"id": 1001, "legacy_id": "L7", "erp_id": "E1"}).identities == [
        ("crm_id", "crm_main:1001"), ("crm_id", "crm_main:L7"), ("crm_id", "erp:E1")]
    assert m.apply({"id": 1002}).identities == [("crm_id", "crm_main:1002")]  # no "crm_main:" from the template
    with pytest.raises(MappingError, match="namespace: instance needs the connector instance name"):
        compile_text(text, instance=None)
    with pytest.raises(MappingError, match="namespace only applies to identities"):
        compile_text("fields: {name: {from: n, namespace: instance}}", instance="x")


OUTBOUND = """
direction: outbound
connector: crm
sink: contacts
fields:
  Name: attributes.name
  Mobile: {from: "identities.phone[0]", transforms: [{template: "{value}"}]}
  Level: {from: attributes.tier, transforms: [{lookup: {table: tier_to_level, default: C}}]}
  Tags: {from: tags, transforms: [{join: ","}]}
  Id: native_id
  Owner: {to: extra.owner.name, from: attributes.owner}
  Remark: {from: attributes.remark, keep_null: true}
  ChangedName:
    from: attributes.name
    when: {path: changed, contains: name}
"""


def test_outbound_payload(compile_text):
    m = compile_text(OUTBOUND, lookups={"tier_to_level": {"gold": "A"}}, name="crm.contacts.out.yaml")
    assert m.direction == "outbound" and m.sink == "contacts"
    view = canonical_view(
        42, attributes={"name": "张三", "tier": "gold", "owner": "小王"},
        identities={"phone": ["+8613800138000"], "email": []}, tags=["VIP", "华南"], native_id="C-7", changed=["tier"])
    assert set(view) == {"contact_id", "attributes", "identities", "tags", "native_id", "changed"}
    assert m.apply(view) == {
        "Name": "张三", "Mobile": "+8613800138000", "Level": "A", "Tags": "VIP,华南", "Id": "C-7",
        "Remark": None, "extra": {"owner": {"name": "小王"}},
    }
    view2 = canonical_view(43, attributes={"name": "李四", "tier": "iron"}, changed=["name"])
    assert m.apply(view2) == {"Name": "李四", "Level": "C", "Tags": "", "Remark": None, "ChangedName": "李四"}


def test_outbound_failure_names_field(compile_text):
    m = compile_text("""
        direction: outbound
        fields:
          Age: {from: attributes.age, transforms: [int]}
    """)
    with pytest.raises(MappingRecordError, match="^fields.Age: not an integer: 'old'$"):
        m.apply(canonical_view(1, attributes={"age": "old"}))


def test_explain_traces_sources_and_steps(compile_text):
    m = compile_text(LEADS)
    ex = m.explain(dict(RECORD, telephone=None, contact={"mobile": "12345"}))
    phone = next(t for t in ex.traces if t.label == "fields.phone")
    assert (phone.source, phone.raw, phone.error) == ("contact.mobile", "12345", "invalid phone number '12345'")
    name = next(t for t in ex.traces if t.label == "fields.name")
    assert (name.source, name.raw, name.steps, name.value) == ("name", " 张三 ", [("strip", "张三")], "张三")
    assert ex.result is None and ex.error.field == "fields.phone"
    ok = m.explain(RECORD)
    assert ok.error is None and ok.result == m.apply(RECORD)
    vip = next(t for t in m.explain(dict(RECORD, level="B")).traces if t.label == "fields.vip")
    assert vip.skipped


# --- plugins ------------------------------------------------------------------------------

def make_plugin(calls: list):
    plugin = types.ModuleType("hub_test_mask_plugin")

    def mask(keep: int = 4):
        calls.append(keep)

        def masked(value, record):
            text = str(value)
            if len(text) <= keep:
                raise ValueError(f"too short to mask: {text!r}")
            return "*" * (len(text) - keep) + text[-keep:]

        return masked

    def explode():
        return lambda value, record: 1 / 0

    @hookimpl
    def hub_register_transforms(register):
        register("mask", mask)
        register("explode", explode)

    plugin.hub_register_transforms = hub_register_transforms
    return plugin


def test_plugin_transform_in_a_mapping(write, monkeypatch):
    monkeypatch.setenv("HUB_LOAD_PLUGINS", "")
    calls: list = []
    reg = build_registry(extra_plugins=[make_plugin(calls)])
    assert "mask" in reg.transforms and "phone" in reg.transforms
    path = write("m.yaml", """
        fields:
          card: {from: "cards[*]", transforms: [strip, {mask: {keep: 2}}]}
          id_no: {from: id_no, transforms: [mask]}
    """)
    m = load_mapping(path, registry=reg)
    records = [{"cards": [" 62220001 ", "62220002"], "id_no": "110101199001011234"}, {"id_no": None}] * 50
    results, rejected = m.apply_many(records)
    assert results[0].attributes == {"card": ["******01", "******02"], "id_no": "**************1234"}
    assert results[1].attributes == {}  # plugin transforms never see None
    assert rejected == []
    assert calls == [2, 4]  # factories ran once each, at load — not per record
    with pytest.raises(MappingRecordError, match=r"^fields.id_no: too short to mask: '12'$"):
        m.apply({"id_no": "12"})
    with pytest.raises(MappingError, match="transform 'mask': unknown option 'keeep' \\(did you mean 'keep'\\?\\)"):
        load_mapping(write("bad.yaml", "fields: {x: {from: x, transforms: [{mask: {keeep: 1}}]}}\n"), registry=reg)


def test_a_crashing_plugin_transform_rejects_the_record_not_the_batch(write, monkeypatch):
    monkeypatch.setenv("HUB_LOAD_PLUGINS", "")
    reg = build_registry(extra_plugins=[make_plugin([])])
    m = load_mapping(write("m.yaml", "fields: {x: {from: x, transforms: [explode]}, y: y}\n"), registry=reg)
    results, rejected = m.apply_many([{"y": 1}, {"x": 5, "y": 2}])
    assert results[0].attributes == {"y": 1}
    assert rejected[0][0] == 1 and rejected[0][1].message == "fields.x: ZeroDivisionError: division by zero"
    assert rejected[0][1].value == 5


def test_compiled_mapping_does_not_reread_its_file(write, registry):
    path = write("m.yaml", "fields: {name: {from: n, transforms: [upper]}}\n")
    m = load_mapping(path, registry=registry)
    path.write_text("fields: {name: {from: other}}\n")
    assert m.apply({"n": "a", "other": "b"}).attributes == {"name": "A"}


def test_mapping_text_is_never_executed_as_code(tmp_path, registry):
    """The compiler generates Python from a mapping; hostile keys, paths, literals and
    templates must stay data."""
    import yaml

    canary = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    evil = f"x'); {payload}; (\"'"
    spec = {
        "direction": "inbound",
        "connector": "example",
        "stream": "contacts",
        "fields": {
            "name": {"const": evil},
            "city": {"template": "{a}" + evil},
            "company": {"from": evil},
            "note" + evil.replace(".", "_").replace("[", "").replace("]", ""): {"from": "a"},
        },
    }
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    try:
        mapping = load_mapping(path, registry=registry)
        out = mapping.apply({evil: "v", "a": "A"})
    except MappingError:
        out = None  # refusing a hostile name is fine too; executing it is not
    assert not canary.exists()
    if out is not None:
        assert out.attributes["name"] == evil
        assert out.attributes["city"] == "A" + evil
