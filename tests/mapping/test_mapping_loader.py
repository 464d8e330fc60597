"""Loading: file:line key.path errors collected all at once, did-you-mean, headers,
``extends`` field by field, and discovery order."""

from pathlib import Path

import pytest

from hub.mapping import MappingError, find_mapping, load_mapping
from hub.mapping.discovery import SHIPPED_DIR, mapping_filename


def errors_of(compile_text, text, **kw) -> list[str]:
    with pytest.raises(MappingError) as info:
        compile_text(text, **kw)
    return info.value.errors


def test_unknown_transform_names_file_line_and_field(write, registry):
    path = write("mappings/feiyu.leads.yaml", """
        direction: inbound
        connector: feiyu
        stream: leads
        fields:
          name: {from: name, transforms: [strip]}
          city: city
          email:
            from: email
            transforms: [email]
          remark: remark
          phone:
            from: telephone
            transforms: [strip, phnoe]
    """)
    with pytest.raises(MappingError) as info:
        load_mapping(path, registry=registry)
    assert info.value.errors == [f"{path}:13 fields.phone: unknown transform 'phnoe' (did you mean 'phone'?)"]


def test_all_problems_are_collected(compile_text, tmp_path):
    errors = errors_of(compile_text, """
        direction: inbound
        feilds: {}
        fields:
          name: {form: name}
          phone: {from: "tel..x", transforms: [phone]}
          mood: {from: m, transforms: [{map: {values: {1: a}, on_missing: maybe}}]}
          x: {from: a, const: 1}
          y: {to: identities.phnoe}
          z: {to: contacts.name}
          w: {from: a, transforms: [{lookup: tiers}]}
        events:
          called: {occurred_at: t, sumary: s}
    """)
    text = "\n".join(errors)
    f = str(tmp_path / "m.yaml")
    assert f"{f}:2 feilds: unknown key (did you mean 'fields'?)" in errors
    assert f"{f}:4 fields.name.form: unknown key (did you mean 'from'?)" in errors
    assert f"{f}:5 fields.phone: invalid path 'tel..x': empty key at position 4" in errors
    assert "fields.mood: transform 'map': on_missing must be keep, null or error" in text
    assert "fields.x: give only one of from, const, template" in text
    assert "fields.y.to: unknown identity kind 'phnoe' (did you mean 'phone'?)" in text
    assert "fields.z.to: 'contacts.name' is not a target" in text
    assert "fields.w: transform 'lookup': unknown lookup table 'tiers'" in text
    assert f"{f}:12 events.called.sumary: unknown key (did you mean 'summary'?)" in errors
    assert len(errors) == 9


def test_header_checks(compile_text):
    errors = errors_of(compile_text, """
        direction: sideways
        fields: {a: a}
    """)
    assert any("direction must be inbound or outbound, got 'sideways'" in e for e in errors)
    errors = errors_of(compile_text, """
        direction: outbound
        fields: {a: attributes.a}
        events: {x: {occurred_at: t}}
    """, name="c.sink.out.yaml")
    assert any("events: unknown key (only inbound mappings have it)" in e for e in errors)
    errors = errors_of(compile_text, "direction: inbound\n")
    assert any("the mapping has no fields or events" in e for e in errors)


def test_invalid_yaml_and_non_mapping(compile_text, tmp_path):
    errors = errors_of(compile_text, "fields: [unclosed\n")
    assert errors[0].startswith(f"{tmp_path / 'm.yaml'}:") and "invalid YAML" in errors[0]
    errors = errors_of(compile_text, "- a\n- b\n")
    assert "a mapping file is a YAML mapping" in errors[0]


def test_direction_from_file_name(compile_text):
    m = compile_text("fields: {Name: attributes.name}\n", name="crm.contacts.out.yaml")
    assert m.direction == "outbound"
    m = compile_text("fields: {name: name}\n", name="crm.contacts.yaml")
    assert m.direction == "inbound"


def test_outbound_paths_must_start_at_the_view(compile_text):
    errors = errors_of(compile_text, """
        direction: outbound
        fields:
          Name: attribute.name
          Tel: {from: "identities.phone[0]"}
    """)
    assert len(errors) == 1
    assert "fields.Name: outbound paths start with one of contact_id, attributes" in errors[0]
    assert "did you mean 'attributes'?" in errors[0]


def test_extends_overrides_and_extends_field_by_field(write, registry):
    write("shipped/crm.contacts.yaml", """
        direction: inbound
        connector: crm
        stream: contacts
        fields:
          name: {from: name, transforms: [strip]}
          city: city
          phone: {from: mobile, transforms: [phone]}
    """)
    custom = write("custom/crm.contacts.yaml", """
        extends: ../shipped/crm.contacts.yaml
        fields:
          city: {from: addr.city, transforms: [upper]}   # override
          phone: null                                     # remove
          tier: level                                     # add
    """)
    m = load_mapping(custom, registry=registry)
    assert m.connector == "crm" and m.stream == "contacts"
    out = m.apply({"name": " 张三 ", "city": "x", "addr": {"city": "sz"}, "mobile": "13800138000", "level": "A"})
    assert out.attributes == {"name": "张三", "city": "SZ", "tier": "A"}
    assert out.identities == []
    assert [Path(f).name for f in m.files] == ["crm.contacts.yaml", "crm.contacts.yaml"]


def test_errors_in_inherited_fields_name_the_base_file(write, registry):
    base = write("base.yaml", """
        fields:
          phone: {from: tel, transforms: [phnoe]}
    """)
    child = write("child.yaml", """
        extends: base.yaml
        fields:
          name: {from: name, transforms: [stirp]}
    """)
    with pytest.raises(MappingError) as info:
        load_mapping(child, registry=registry)
    assert sorted(info.value.errors) == sorted([
        f"{base}:2 fields.phone: unknown transform 'phnoe' (did you mean 'phone'?)",
        f"{child}:3 fields.name: unknown transform 'stirp' (did you mean 'strip'?)",
    ])


def test_extends_problems(write, registry):
    a = write("a.yaml", "extends: b.yaml\nfields: {x: x}\n")
    write("b.yaml", "extends: a.yaml\nfields: {y: y}\n")
    with pytest.raises(MappingError, match="circular extends"):
        load_mapping(a, registry=registry)
    c = write("c.yaml", "extends: nowhere.yaml\nfields: {x: x}\n")
    with pytest.raises(MappingError, match="extends 'nowhere.yaml': file not found"):
        load_mapping(c, registry=registry)
    write("o.out.yaml", "fields: {X: attributes.x}\n")
    d = write("d.yaml", "extends: o.out.yaml\nfields: {x: x}\n")
    with pytest.raises(MappingError, match="that mapping is outbound, this one is inbound"):
        load_mapping(d, registry=registry)


def test_discovery_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert mapping_filename("feiyu", "leads", "inbound") == "feiyu.leads.yaml"
    assert mapping_filename("crm", "contacts", "outbound") == "crm.contacts.out.yaml"
    assert find_mapping("nosuch", "stream", "inbound") is None
    local = tmp_path / "mappings" / "nosuch.stream.yaml"
    local.parent.mkdir()
    local.write_text("fields: {a: a}\n")
    assert find_mapping("nosuch", "stream", "inbound") == Path.cwd() / "mappings" / "nosuch.stream.yaml"
    override = tmp_path / "elsewhere.yaml"
    override.write_text("fields: {b: b}\n")
    assert find_mapping("nosuch", "stream", "inbound", override=str(override)) == override
    with pytest.raises(MappingError, match="mapping file not found"):
        find_mapping("nosuch", "stream", "inbound", override=str(tmp_path / "typo.yaml"))
    assert SHIPPED_DIR.is_dir() and (SHIPPED_DIR / "README.md").is_file()


def test_local_file_can_extend_the_shipped_file_of_the_same_name(tmp_path, monkeypatch, registry):
    """./mappings/x.yaml with ``extends: x.yaml`` extends the next one found, never itself."""
    monkeypatch.chdir(tmp_path)
    shipped_like = tmp_path / "vendor"
    shipped_like.mkdir()
    (shipped_like / "crm.contacts.yaml").write_text("fields: {name: name, city: city}\n")
    local = tmp_path / "mappings" / "crm.contacts.yaml"
    local.parent.mkdir()
    local.write_text("extends: ../vendor/crm.contacts.yaml\nfields: {city: {const: 深圳}}\n")
    m = load_mapping(local, registry=registry)
    assert m.apply({"name": "a", "city": "b"}).attributes == {"name": "a", "city": "深圳"}
