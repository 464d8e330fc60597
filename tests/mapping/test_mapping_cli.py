"""``hub mappings test`` and ``hub mappings lint`` through the real click app."""

import json
import textwrap

from click.testing import CliRunner

GOOD = """
direction: inbound
connector: example
stream: contacts
fields:
  name: {from: name, transforms: [strip]}
  phone: {from: mobile, transforms: [phone]}
  crm_id: {from: id, namespace: instance}
  tier: {from: level, transforms: [{lookup: {table: tiers, default: regular}}]}
"""

OUT = """
direction: outbound
connector: example
sink: contacts
fields:
  full_name: attributes.name
  mobile: "identities.phone[0]"
"""


def run(cli, *args, config=None):
    base = ["--config", str(config)] if config else ["--config", "/nonexistent/hub.yaml"]
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def config_file(tmp_path, streams="", sinks=""):
    path = tmp_path / "hub.yaml"
    path.write_text(textwrap.dedent(f"""
        hub:
          database_url: sqlite:///{tmp_path}/hub.db
        lookups:
          tiers: {{A: vip}}
        connectors:
          crm_main:
            type: example
            config:
              base_url: http://127.0.0.1:9
              api_key: abcdefgh12345
            streams: {streams or '{}'}
            sinks: {sinks or '{}'}
    """))
    return path


def test_mappings_test_prints_sources_transforms_and_results(hub_cli, write, tmp_path):
    mapping = write("example.contacts.yaml", GOOD)
    sample = write("sample.json", json.dumps([
        {"id": 7, "name": " 张三 ", "mobile": "138 0013 8000", "level": "A"},
        {"id": 8, "name": "李四", "mobile": "12345"},
    ], ensure_ascii=False))
    result = run(hub_cli, "mappings", "test", str(mapping), str(sample), config=config_file(tmp_path))
    assert result.exit_code == 1, result.output  # one record rejected
    out = result.output
    assert "fields.name" in out and "← name = ' 张三 ' | strip → '张三'" in out
    assert "identities.phone" in out and "| phone → '+8613800138000'" in out
    assert '"crm_main:7"' in out  # --instance defaulted to the config's example instance
    assert '"vip"' in out  # lookup table from the config
    assert "REJECTED: fields.phone: invalid phone number '12345'" in out
    assert "2 record(s), 1 mapped, 1 rejected" in out


def test_mappings_test_outbound_and_json_lines_without_config(hub_cli, write):
    mapping = write("example.contacts.out.yaml", OUT)
    sample = write("views.jsonl", '{"contact_id": 1, "attributes": {"name": "张三"}, "identities": {"phone": ["+8613800138000"]}}\n'
                                  '{"contact_id": 2, "attributes": {}, "identities": {}}\n')
    result = run(hub_cli, "mappings", "test", str(mapping), str(sample), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == [
        {"record": 1, "result": {"full_name": "张三", "mobile": "+8613800138000"}, "rejected": None},
        {"record": 2, "result": {}, "rejected": None},
    ]
    text = run(hub_cli, "mappings", "test", str(mapping), str(sample)).output
    assert "outbound payload:" in text


def test_mappings_test_bad_mapping_exits_2_without_traceback(hub_cli, write):
    mapping = write("bad.yaml", "fields:\n  phone: {from: tel, transforms: [phnoe]}\n")
    sample = write("s.json", "{}")
    result = run(hub_cli, "mappings", "test", str(mapping), str(sample))
    assert result.exit_code == 2
    assert f"{mapping}:2 fields.phone: unknown transform 'phnoe' (did you mean 'phone'?)" in result.output
    assert "Traceback" not in result.output
    bad_sample = write("broken.json", "{not json")
    result = run(hub_cli, "mappings", "test", str(write("ok.yaml", "fields: {a: a}\n")), str(bad_sample))
    assert result.exit_code == 2 and "invalid JSON" in result.output


def test_lint_checks_every_mapping_the_config_uses(hub_cli, write, tmp_path):
    good = write("maps/in.yaml", GOOD)
    out = write("maps/out.out.yaml", OUT)
    cfg = config_file(tmp_path, streams=f"{{contacts: {{mapping: {good}}}}}", sinks=f"{{contacts: {{mapping: {out}}}}}")
    result = run(hub_cli, "mappings", "lint", config=cfg)
    assert result.exit_code == 0, result.output
    assert f"ok  {good}  (crm_main (example) stream contacts)" in result.output
    assert f"ok  {out}  (crm_main (example) sink contacts)" in result.output

    bad = write("maps/bad.yaml", GOOD.replace("tiers", "tier").replace("[strip]", "[stirp]"))
    cfg = config_file(tmp_path, streams=f"{{contacts: {{mapping: {bad}}}}}", sinks=f"{{contacts: {{mapping: {tmp_path}/missing.yaml}}}}")
    result = run(hub_cli, "mappings", "lint", config=cfg)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert f"{bad}:5 fields.name: unknown transform 'stirp' (did you mean 'strip'?)" in lines
    assert any(line.startswith(f"{bad}:8 fields.tier: transform 'lookup': unknown lookup table 'tier' (did you mean 'tiers'?)") for line in lines)
    assert any("missing.yaml: mapping file not found" in line for line in lines)
    assert "Traceback" not in result.output


def test_lint_reports_a_configured_stream_without_mapping(hub_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config_file(tmp_path, streams="{contacts: {enabled: true}}")
    result = run(hub_cli, "mappings", "lint", config=cfg)
    assert result.exit_code == 2
    assert "crm_main (example) stream contacts: no mapping file (looked for" in result.output


def test_lint_named_files(hub_cli, write):
    ok = write("a.yaml", "fields: {name: name}\n")
    bad = write("b.yaml", "fields: {name: {from: name, transforms: [{map: {1: x}}]}}\n")
    result = run(hub_cli, "mappings", "lint", str(ok), str(bad))
    assert result.exit_code == 2
    assert f"ok  {ok}" in result.output
    assert f"{bad}:1 fields.name: transform 'map': unknown option '1'" in result.output


def test_lint_warns_about_strip_used_like_a_prefix(hub_cli, write, tmp_path):
    """``{strip: "+86"}`` loads (it is valid) but is almost never meant: lint says so, with
    the line, and still exits 0; ``mappings test`` prints the same warning."""
    risky = write("maps/in.yaml", GOOD.replace("transforms: [phone]", 'transforms: [{strip: "+86"}]'))
    cfg = config_file(tmp_path, streams=f"{{contacts: {{mapping: {risky}}}}}")
    result = CliRunner().invoke(hub_cli, ["--config", str(cfg), "mappings", "lint"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"ok  {risky}" in result.stdout
    assert result.stderr.startswith(f"warning: {risky}:6 fields.phone: transform 'strip': strip '+86' removes any of the characters")
    sample = write("sample.json", '{"id": 1, "name": "a", "mobile": "+8613711112226"}')
    result = CliRunner().invoke(hub_cli, ["--config", str(cfg), "mappings", "test", str(risky), str(sample)])
    assert "'1371111222'" in result.stdout and "warning:" in result.stderr
