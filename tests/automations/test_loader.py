"""Automations are validated with the config: every problem as ``file:line key: message``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hub.automations.spec import ANY
from hub.config import ConfigError, load_config

from automation_hub import config_text


def load(tmp_path, automations: str, settings: str = ""):
    path = tmp_path / "hub.yaml"
    path.write_text(config_text(tmp_path, "sqlite:///:memory:", "redis://x", automations, settings), encoding="utf-8")
    return load_config(path, env={}), path


def errors(tmp_path, automations: str, settings: str = "") -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, automations, settings)
    return info.value.errors


def line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_the_issues_examples_load(tmp_path):
    config, _ = load(tmp_path, """
    trial_sop:
      enroll: {attribute: stage, becomes: 要求试用}
      exit:   [{attribute: stage, changes: true}, {event: chat_message, from: customer}]
      steps:
        - {after: 0m,  do: {sink: wecom_sales.messages, template: trial_guide}}
        - {after: 2d,  do: {sink: wecom_sales.messages, template: trial_case}, at: "10:00-20:00"}
        - {after: 5d,  do: {tag: 回访试用客户}}
    price_objection_tag:
      on: {event: [chat_message, call_transcript, ticket_opened], text_matches: {keywords: {太贵了: 价格异议, 多少钱: 意向}}}
      do: {tag: "{match}", sink: wecom_sales.tags}
    """)
    autos = config.automations.automations
    sop, rule = autos["trial_sop"], autos["price_objection_tag"]
    assert sop.kind == "journey" and [s.after for s in sop.steps] == [0, 2 * 86400, 5 * 86400]
    assert str(sop.steps[1].window) == "10:00-20:00" and sop.exits[0].becomes is ANY
    assert rule.kind == "rule" and rule.on.events == ["chat_message", "call_transcript", "ticket_opened"]
    assert [a.target for a in rule.actions] == ["tag:{match}", "wecom_sales.tags"] and rule.actions[1].uses_mapping
    assert config.automations.daily_messages == 1 and config.automations.timezone == "Asia/Shanghai"


def test_no_automations_is_an_empty_falsy_set(tmp_path):
    config, _ = load(tmp_path, "{}")
    assert not config.automations and config.automations.journeys() == {}


def test_every_problem_is_reported_with_file_line_and_key(tmp_path):
    errs = errors(tmp_path, """
    bad_rule:
      on: {event: chat_message, text_matches: {keywords: {}}, wen: {path: x, equals: 1}}
      do: {sink: wecom_sales.mesages, template: nope}
    bad_journey:
      enroll: {attribute: stage}
      steps:
        - {after: 2x, do: {tag: a}, at: "25:00-20:00"}
        - {after: 1d, do: {tag: c}}
        - {after: 0m, do: {tag: b}}
        - {after: 2d, do: {sink: crmm.rows}}
    bad_enroll:
      on: {attribute: stage, changes: true}
      do: [{enroll: bad_jurney}, {exit: bad_rule}]
    departure:
      on: {member: left}
      do: {transfer_customers: {to: manager_of_member}}
    """)
    path = tmp_path / "hub.yaml"
    text = "\n".join(errs)
    f = str(path)
    assert f"{f}:{line_of(path, 'bad_rule:') + 1} automations.bad_rule.on.wen: unknown key (did you mean 'when'?)" in errs
    assert f"{f}:{line_of(path, 'bad_rule:') + 1} automations.bad_rule.on.text_matches: give keywords: or regex:" in errs
    assert "automations.bad_rule.do.sink: wecom_sales (wecom) has no sink 'mesages' (did you mean 'messages'?)" in text
    assert "automations.bad_rule.do.template: no template 'nope'" in text
    assert "automations.bad_journey.enroll: give either becomes: VALUE (entering a value) or changes: true" in text
    assert "automations.bad_journey.steps[0].after: not a duration: '2x'" in text
    assert "automations.bad_journey.steps[0].at: expected a send window like \"10:00-20:00\"" in text
    assert "automations.bad_journey.steps[3].do.sink: no connector instance 'crmm' (did you mean 'crm'?)" in text
    assert "automations.bad_journey.steps[2].after: steps run in order" in text
    # built (tests/automations/test_departure.py); here the instance lacks the sink it would write to
    assert (f"{f}:{line_of(path, 'departure:') + 2} automations.departure.do.transfer_customers: wecom_sales hands customers "
            "over through its 'transfers' sink, which is not configured") in text
    assert "automations.bad_enroll.do[0].enroll: no journey 'bad_jurney' (did you mean 'bad_journey'?)" in text
    assert "automations.bad_enroll.do[1].exit: no journey 'bad_rule'" in text
    assert all(e.startswith(f"{f}:") for e in errs)


def test_settings_are_validated(tmp_path):
    errs = errors(tmp_path, "{}", settings="daily_messages: 0\ntimezone: Mars/Base\nsend_windw: 1")
    text = "\n".join(errs)
    assert "automation_settings.daily_messages: expected a whole number ≥ 1" in text
    assert "automation_settings.timezone: unknown time zone 'Mars/Base'" in text
    assert "automation_settings.send_windw: unknown key (did you mean 'send_window'?)" in text


def test_automation_files_are_loaded_and_their_errors_name_their_own_lines(tmp_path):
    folder = tmp_path / "automations"
    folder.mkdir()
    (folder / "sales.yaml").write_text(
        "templates:\n  hello: {text: 你好}\n"
        "automations:\n  hello_rule:\n    on: {attribute: stage, becomes: 购买}\n    do: {sink: wecom_sales.messages, template: hello}\n",
        encoding="utf-8")
    config, _ = load(tmp_path, "{}")
    assert list(config.automations.automations) == ["hello_rule"]
    assert config.automations.automations["hello_rule"].source.endswith("sales.yaml:4 automations.hello_rule")
    (folder / "broken.yaml").write_text("automations:\n  x:\n    on: {attribute: stage, becomes: 1}\n    do: {tag: a, colour: red}\n", encoding="utf-8")
    errs = errors(tmp_path, "hello_rule: {on: {attribute: tier, changes: true}, do: {tag: t}}")
    text = "\n".join(errs)
    assert f"{folder / 'broken.yaml'}:4 automations.x.do.colour: unknown key" in text
    assert "automations.hello_rule: automation 'hello_rule' is already defined at" in text


def test_hub_check_exits_2_on_a_bad_automation(tmp_path):
    _, path = load(tmp_path, "ok: {on: {attribute: stage, changes: true}, do: {tag: t}}")
    path.write_text(path.read_text(encoding="utf-8").replace("do: {tag: t}", "do: {tagg: t}"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "hub", "--config", str(path), "check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "automations.ok.do.tagg: unknown key (did you mean 'tag'?)" in done.stdout + done.stderr
