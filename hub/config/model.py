"""The loaded, validated config as plain dataclasses the rest of the hub reads."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StreamConfig:
    name: str
    enabled: bool = True
    mapping: str | None = None
    schedule: float | None = None  # seconds between scheduled pulls; None = manual / webhook only


@dataclass
class SinkConfig:
    name: str
    enabled: bool = True
    mapping: str | None = None
    sources: list[str] | None = None  # origins that feed this sink; None = every other instance
    create_after: float | None = None  # settle window for creates (seconds); None = default
    mode: str | None = None  # preview | live | None (preview while two-way and unapproved)


@dataclass
class ConnectorInstance:
    name: str
    type: str
    enabled: bool
    config: dict[str, Any]
    streams: dict[str, StreamConfig] = field(default_factory=dict)
    sinks: dict[str, SinkConfig] = field(default_factory=dict)
    connector_class: type | None = None
    secrets: list[str] = field(default_factory=list)


@dataclass
class FieldPolicy:
    """How one canonical attribute resolves competing writes."""

    policy: str = "latest"  # latest | prefer | none
    prefer: str | None = None
    unless_blank: bool = False


@dataclass
class IdentityRules:
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    block_values: list[str] = field(default_factory=list)
    block_patterns: list[str] = field(default_factory=list)
    default_region: str = "CN"


@dataclass
class HubSettings:
    database_url: str
    redis_url: str | None
    var_dir: Path
    log_format: str = "text"
    log_level: str = "INFO"
    raw_retention: float = 30 * 86400
    pending_threshold: float = 120
    tick_interval: float = 15
    batch_size: int = 500
    max_attempts: int = 8
    backoff_base: float = 2
    backoff_cap: float = 3600
    timeline_attributes: list[str] = field(default_factory=lambda: ["tier", "stage", "owner"])


@dataclass
class HubConfig:
    source_file: str
    hub: HubSettings
    identity: IdentityRules
    fields: dict[str, FieldPolicy]
    lookups: dict[str, dict[str, Any]]
    connectors: dict[str, ConnectorInstance]
    #: ``hub.automations.spec.AutomationSet``: empty unless automations are declared.
    automations: Any = field(default_factory=lambda: _no_automations())

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config (mappings, var/) resolve against the working dir."""
        return Path(os.getcwd())

    def field_policy(self, name: str) -> FieldPolicy:
        return self.fields.get(name) or self.fields.get("default") or FieldPolicy()

    def enabled_connectors(self) -> dict[str, ConnectorInstance]:
        return {name: inst for name, inst in self.connectors.items() if inst.enabled}

    def secrets(self) -> list[str]:
        return [s for inst in self.connectors.values() for s in inst.secrets]


def _no_automations() -> Any:
    from hub.automations.spec import AutomationSet

    return AutomationSet()
