"""Load ``config/hub.yaml``: YAML with line numbers → interpolation → one validation pass.

Every problem in the file is reported at once, each as ``file:line key.path: message``,
including problems inside a connector instance's own config schema.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from marshmallow import Schema, ValidationError

from hub.config import schema as S
from hub.config.errors import ConfigError, did_you_mean
from hub.config.interpolate import interpolate
from hub.config.model import (
    ConnectorInstance,
    FieldPolicy,
    HubConfig,
    HubSettings,
    IdentityRules,
    SinkConfig,
    StreamConfig,
)
from hub.yamlfile import LocatedYaml, YamlError, load_located

DEFAULT_CONFIG = "config/hub.yaml"
DEFAULT_DATABASE_URL = "sqlite:///var/hub.db"

_MESSAGES = {
    "Missing data for required field.": "missing required field",
    "Unknown field.": "unknown key",
    "Field may not be null.": "may not be empty",
}


def config_path(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("HUB_CONFIG") or DEFAULT_CONFIG)


class _Collector:
    """Accumulates ``file:line path: message`` lines."""

    def __init__(self, located: LocatedYaml):
        self.located = located
        self.errors: list[str] = []
        #: Paths whose value is already known to be wrong (an unset variable): further
        #: complaints about the same value ("too short") would only be noise.
        self.suppressed: set[tuple] = set()

    def add(self, path: tuple, message: str) -> None:
        if tuple(path) in self.suppressed:
            return
        self.errors.append(f"{self.located.where(path)}: {message}")

    def add_marshmallow(self, base: tuple, messages: Any, schema: Schema | None, data: Any) -> None:
        """Flatten a marshmallow error tree; unknown keys get a did-you-mean."""
        if isinstance(messages, dict):
            for key, sub in messages.items():
                if key == "_schema":
                    self.add_marshmallow(base, sub, None, data)
                    continue
                self.add_marshmallow(base + (key,), sub, _nested_schema(schema, key), data)
            return
        if isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
            for message in messages:
                text = _MESSAGES.get(message, message)
                if message == "Unknown field." and base:
                    root, root_base = self._root
                    parent_schema = _schema_at(root, base[len(root_base):-1])
                    choices = _declared_keys(parent_schema) if parent_schema else []
                    text += did_you_mean(base[-1], choices)
                self.add(base, text)
            return
        if isinstance(messages, list):
            for index, sub in enumerate(messages):
                self.add_marshmallow(base + (index,), sub, schema, data)
            return
        self.add(base, str(messages))


def _declared_keys(schema: Schema) -> list[str]:
    return [f.data_key or name for name, f in schema.fields.items()]


def _nested_schema(schema: Schema | None, key: Any) -> Schema | None:
    if schema is None:
        return None
    for name, f in schema.fields.items():
        if (f.data_key or name) == key and hasattr(f, "schema"):
            try:
                return f.schema
            except Exception:
                return None
    return None


def _schema_at(schema: Schema | None, path: tuple) -> Schema | None:
    for key in path:
        schema = _nested_schema(schema, key)
        if schema is None:
            return None
    return schema


def _validate(col: _Collector, schema: Schema, data: Any, base: tuple) -> dict | None:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        col.add(base, f"expected a mapping, got {type(data).__name__}")
        return None
    col._root = (schema, base)  # for did-you-mean on unknown keys
    try:
        return schema.load(data)
    except ValidationError as exc:
        col.add_marshmallow(base, exc.messages, schema, data)
        return None


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    registry: Any = None,
    text: str | None = None,
) -> HubConfig:
    """Load and validate the whole config; raise :class:`ConfigError` listing every problem."""
    path = config_path(str(path) if path else None)
    env = os.environ if env is None else env
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"{path}: config file not found (run 'hub init' to write a sample)"]) from None
    try:
        located = load_located(text, path)
    except YamlError as exc:
        raise ConfigError([str(exc)]) from None
    col = _Collector(located)
    problems: list = []
    data = interpolate(located.data or {}, env, (), problems)
    for where, message in problems:
        col.add(where, message)
        col.suppressed.add(tuple(where))

    if isinstance(data, dict):
        # Report misspelt top-level keys, then carry on with the rest of the file so one
        # typo does not hide every other problem.
        known = set(_declared_keys(S.TopSchema()))
        for key in [k for k in data if k not in known]:
            col.add((key,), f"unknown key{did_you_mean(key, known)}")
            data = {k: v for k, v in data.items() if k != key}
    top = _validate(col, S.TopSchema(), data, ())
    if top is None:
        raise ConfigError(col.errors)

    hub_raw = _validate(col, S.HubSettingsSchema(), top["hub"], ("hub",)) or S.HubSettingsSchema().load({})
    identity_raw = _validate(col, S.IdentitySchema(), top["identity"], ("identity",)) or S.IdentitySchema().load({})

    if registry is None:
        from hub.plugins import get_registry

        registry = get_registry()

    connectors: dict[str, ConnectorInstance] = {}
    for name, raw in (top["connectors"] or {}).items():
        inst = _load_instance(col, registry, name, raw)
        if inst is not None:
            connectors[name] = inst

    named = set(top["connectors"] or {})
    for name, inst in connectors.items():
        for sink in inst.sinks.values():
            for index, source in enumerate(sink.sources or []):
                if source not in named:
                    col.add(("connectors", name, "sinks", sink.name, "sources", index),
                            f"no connector instance {source!r}{did_you_mean(source, named)}")

    policies: dict[str, FieldPolicy] = {}
    for name, raw in (top["fields_"] or {}).items():
        policy = _load_policy(col, name, raw, connectors)
        if policy is not None:
            policies[name] = policy

    for kind in identity_raw.get("kinds", {}):
        if kind not in registry.identity_kinds:
            col.add(("identity", "kinds", kind), f"unknown identity kind{did_you_mean(kind, registry.identity_kinds)}")

    from hub.automations.loader import load_automations

    automations = load_automations(col, top, connectors)

    if col.errors:
        raise ConfigError(col.errors)

    database_url = hub_raw["database_url"] or env.get("HUB_DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = hub_raw["redis_url"] or env.get("HUB_REDIS_URL") or None
    settings = HubSettings(
        database_url=database_url,
        redis_url=redis_url,
        var_dir=Path(hub_raw["var_dir"]),
        log_format=hub_raw["log_format"],
        log_level=hub_raw["log_level"],
        raw_retention=hub_raw["raw_retention"],
        pending_threshold=hub_raw["pending_threshold"],
        tick_interval=hub_raw["tick_interval"],
        batch_size=hub_raw["batch_size"],
        max_attempts=hub_raw["max_attempts"],
        backoff_base=hub_raw["backoff_base"],
        backoff_cap=hub_raw["backoff_cap"],
        timeline_attributes=list(hub_raw["timeline_attributes"]),
    )
    identity = IdentityRules(
        kinds=identity_raw.get("kinds", {}),
        block_values=identity_raw["block_list"]["values"],
        block_patterns=identity_raw["block_list"]["patterns"],
        default_region=identity_raw["default_region"],
    )
    return HubConfig(
        source_file=str(path),
        hub=settings,
        identity=identity,
        fields=policies,
        lookups=top["lookups"] or {},
        connectors=connectors,
        automations=automations,
    )


def _load_instance(col: _Collector, registry: Any, name: str, raw: Any) -> ConnectorInstance | None:
    base = ("connectors", name)
    if not S.INSTANCE_NAME.match(str(name)):
        col.add(base, "instance names are lower-case letters, digits and '_', starting with a letter")
    loaded = _validate(col, S.ConnectorInstanceSchema(), raw, base)
    if loaded is None:
        return None
    ctype = loaded["type"]
    cls = registry.connectors.get(ctype)
    if cls is None:
        installed = ", ".join(sorted(registry.connectors)) or "none"
        col.add(base + ("type",), f"unknown connector type {ctype!r}{did_you_mean(ctype, registry.connectors)}; installed: {installed}")
        return None
    schema = cls.config_schema()
    config = _validate(col, schema, loaded["config"], base + ("config",))
    # Stream and sink names may depend on the instance's own config (the SQL connector's tables).
    stream_names = cls.stream_names(config) if config is not None else sorted(cls.streams)
    sink_names = cls.sink_names(config) if config is not None else sorted(cls.sinks)
    streams: dict[str, StreamConfig] = {}
    for sname, sraw in (loaded["streams"] or {}).items():
        if sname not in stream_names:
            col.add(base + ("streams", sname), f"connector type {ctype!r} has no stream {sname!r}{did_you_mean(sname, stream_names)}; it has {stream_names}")
            continue
        s = _validate(col, S.StreamSchema(), sraw, base + ("streams", sname))
        if s is not None:
            streams[sname] = StreamConfig(name=sname, **s)
    sinks: dict[str, SinkConfig] = {}
    for sname, sraw in (loaded["sinks"] or {}).items():
        if sname not in sink_names:
            col.add(base + ("sinks", sname), f"connector type {ctype!r} has no sink {sname!r}{did_you_mean(sname, sink_names)}; it has {sink_names}")
            continue
        s = _validate(col, S.SinkSchema(), sraw, base + ("sinks", sname))
        if s is not None:
            sinks[sname] = SinkConfig(name=sname, **s)
    if config is None:
        return None
    from hub.connector import secret_values

    return ConnectorInstance(
        name=name,
        type=ctype,
        enabled=loaded["enabled"],
        config=config,
        streams=streams,
        sinks=sinks,
        connector_class=cls,
        secrets=secret_values(schema, config),
    )


def _load_policy(col: _Collector, name: str, raw: Any, connectors: dict) -> FieldPolicy | None:
    base = ("fields", name)
    if isinstance(raw, str):  # shorthand: `tier: latest` / `tier: none`
        raw = {"policy": raw}
    loaded = _validate(col, S.FieldPolicySchema(), raw, base)
    if loaded is None:
        return None
    if "prefer" in loaded:
        match = S.POLICY.match(loaded["prefer"])
        who = match.group("who")
        if connectors and who not in connectors:
            col.add(base + ("prefer",), f"no connector instance {who!r}{did_you_mean(who, connectors)}")
        return FieldPolicy(policy="prefer", prefer=who, unless_blank=bool(match.group("unless")))
    return FieldPolicy(policy=loaded["policy"])
