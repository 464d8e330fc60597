"""Config: one validation pass, every error as `file:line key.path: message`."""

import textwrap

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.config import ConfigError, load_config

GOOD = """\
hub:
  log_level: INFO
connectors:
  crm_a:
    type: example
    config:
      base_url: http://crm.internal/api
      api_key: ${CRM_KEY}
      page_size: ${PAGE:-50}
    streams:
      contacts:
        schedule: 5m
"""


def write(tmp_path, text, name="hub.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(path, env=None):
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return info.value.errors


def test_good_config_loads_with_interpolation(tmp_path):
    cfg = load_config(write(tmp_path, GOOD), env={"CRM_KEY": "k" * 12})
    inst = cfg.connectors["crm_a"]
    assert inst.config["api_key"] == "k" * 12
    assert inst.config["page_size"] == 50
    assert inst.streams["contacts"].schedule == 300
    assert inst.secrets == ["k" * 12]
    assert cfg.hub.database_url == "sqlite:///var/hub.db"


def test_database_and_redis_urls_come_from_the_environment(tmp_path):
    cfg = load_config(write(tmp_path, "connectors: {}\n"), env={"HUB_DATABASE_URL": "postgresql://h/db", "HUB_REDIS_URL": "redis://r:6379/1"})
    assert cfg.hub.database_url == "postgresql://h/db"
    assert cfg.hub.redis_url == "redis://r:6379/1"


def test_misspelt_key_and_missing_required_field_are_both_reported(tmp_path):
    path = write(
        tmp_path,
        """\
        connectors:
          crm_a:
            type: example
            config:
              base_url: http://crm.internal/api
              page_sise: 10
        """,
    )
    errors = errors_of(path)
    assert f"{path}:6 connectors.crm_a.config.page_sise: unknown key (did you mean 'page_size'?)" in errors
    assert f"{path}:4 connectors.crm_a.config.api_key: missing required field" in errors


def test_unset_variable_names_where_it_is_used(tmp_path):
    path = write(tmp_path, GOOD)
    errors = errors_of(path)
    assert len(errors) == 1, errors
    assert any(e.startswith(f"{path}:8 connectors.crm_a.config.api_key: environment variable CRM_KEY is not set") for e in errors), errors


def test_literal_dollar_brace_is_kept(tmp_path):
    path = write(tmp_path, "lookups:\n  t:\n    a: '$${NOT_A_VAR}'\n")
    assert load_config(path, env={}).lookups["t"]["a"] == "${NOT_A_VAR}"


def test_unknown_connector_type_suggests_the_installed_one(tmp_path):
    path = write(tmp_path, "connectors:\n  crm_a:\n    type: exampel\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:3 connectors.crm_a.type: unknown connector type 'exampel' (did you mean 'example'?)")


def test_unknown_stream_and_top_level_key(tmp_path):
    path = write(
        tmp_path,
        """\
        conectors: {}
        connectors:
          crm_a:
            type: example
            config: {base_url: "http://x.internal", api_key: "abcdefgh123"}
            streams:
              contact: {}
        """,
    )
    errors = errors_of(path)
    assert f"{path}:1 conectors: unknown key (did you mean 'connectors'?)" in errors
    assert any(e.startswith(f"{path}:7 connectors.crm_a.streams.contact: connector type 'example' has no stream 'contact'") for e in errors)


def test_field_policies(tmp_path):
    path = write(
        tmp_path,
        """\
        fields:
          name: {prefer: crm_a unless blank}
          tier: none
          city: {prefer: crm_b}
        connectors:
          crm_a:
            type: example
            config: {base_url: "http://x.internal", api_key: "abcdefgh123"}
        """,
    )
    errors = errors_of(path)
    assert errors == [f"{path}:4 fields.city.prefer: no connector instance 'crm_b' (did you mean 'crm_a'?)"]


def test_field_policies_load(tmp_path):
    path = write(tmp_path, "fields:\n  name: {prefer: crm_a unless blank}\n  tier: none\n")
    cfg = load_config(path, env={})
    assert cfg.field_policy("name").prefer == "crm_a" and cfg.field_policy("name").unless_blank
    assert cfg.field_policy("tier").policy == "none"
    assert cfg.field_policy("anything").policy == "latest"


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "hub:\n  log_level: [INFO\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:")
    assert "invalid YAML" in error


def test_bad_duration_and_bad_regex(tmp_path):
    path = write(tmp_path, "hub:\n  pending_threshold: soon\nidentity:\n  block_list:\n    patterns: ['([']\n")
    errors = errors_of(path)
    assert any(e.startswith(f"{path}:2 hub.pending_threshold: not a duration: 'soon'") for e in errors), errors
    assert any(e.startswith(f"{path}:5 identity.block_list.patterns[0]: invalid regex") or e.startswith(f"{path}:5 identity.block_list.patterns.0: invalid regex") for e in errors), errors


def test_missing_file(tmp_path):
    (error,) = errors_of(tmp_path / "nope.yaml")
    assert "config file not found" in error and "hub init" in error


def test_cli_exits_2_with_every_error_and_no_traceback(tmp_path):
    path = write(
        tmp_path,
        """\
        connectors:
          crm_a:
            type: example
            config:
              base_url: http://crm.internal/api
              page_sise: 10
        """,
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "check", "--offline"])
    assert result.exit_code == 2
    assert f"{path}:6 connectors.crm_a.config.page_sise: unknown key (did you mean 'page_size'?)" in result.output
    assert f"{path}:4 connectors.crm_a.config.api_key: missing required field" in result.output
    assert "Traceback" not in result.output


def test_stream_names_can_come_from_the_instance_config(tmp_path):
    """The SQL connector's streams are the tables an instance configures."""
    body = """\
        connectors:
          crm_a:
            type: sql
            config:
              url: sqlite:///crm.db
              streams:
                customers: {table: customers, key: id, cursor_column: updated_at}
            streams:
              customers: {schedule: 5m}
              custmers: {}
        """
    path = write(tmp_path, body)
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:10 connectors.crm_a.streams.custmers: connector type 'sql' has no stream 'custmers' (did you mean 'customers'?)")


def test_duration_defaults_are_seconds(tmp_path):
    hub = load_config(write(tmp_path, "hub: {}\n"), env={}).hub
    assert (hub.raw_retention, hub.pending_threshold, hub.tick_interval, hub.backoff_base, hub.backoff_cap) == (2592000.0, 120.0, 15.0, 2.0, 3600.0)


def test_fractional_durations(tmp_path):
    hub = load_config(write(tmp_path, "hub: {tick_interval: 0.5s, backoff_base: 250ms}\n"), env={}).hub
    assert (hub.tick_interval, hub.backoff_base) == (0.5, 0.25)


def test_a_key_given_twice_is_an_error_not_last_one_wins(tmp_path):
    """A merge once moved a sink's `mode: live` under its neighbour as a second `mode:`."""
    path = tmp_path / "hub.yaml"
    path.write_text("connectors:\n  crm:\n    type: sql\n    sinks:\n      rows:\n        mode: live\n        mode: preview\n",
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check", "--offline"])
    assert result.exit_code == 2
    assert f"{path}:7 connectors.crm.sinks.rows.mode: duplicate key 'mode' (first given at line 6)" in result.output
    merged = tmp_path / "merge.yaml"  # a `<<` merge may still be overridden, as YAML intends
    merged.write_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", encoding="utf-8")
    from hub.yamlfile import load_located_file

    assert load_located_file(merged).data["other"] == {"x": 1, "y": 3}
