"""Mappings as the config uses them: one per (connector instance, stream or sink)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.mapping.compiled import CompiledMapping
from hub.mapping.compiler import load_mapping
from hub.mapping.discovery import find_mapping, mapping_filename, search_dirs
from hub.mapping.errors import MappingError

log = logging.getLogger(__name__)


@dataclass
class MappingUse:
    """One place the config needs a mapping."""

    instance: str
    connector_type: str
    name: str          # stream or sink name
    direction: str     # inbound (stream) | outbound (sink)
    override: str | None
    explicit: bool     # listed in the config (a missing mapping is then an error)

    @property
    def title(self) -> str:
        kind = "stream" if self.direction == "inbound" else "sink"
        return f"{self.instance} ({self.connector_type}) {kind} {self.name}"


def mappings_in_config(config: Any) -> list[MappingUse]:
    """Every stream and sink of every enabled instance, minus those disabled in config."""
    uses: list[MappingUse] = []
    for name, inst in config.enabled_connectors().items():
        cls = inst.connector_class
        for direction, declared, configured in (
            ("inbound", cls.stream_names(inst.config), inst.streams),
            ("outbound", cls.sink_names(inst.config), inst.sinks),
        ):
            for item in list(dict.fromkeys([*declared, *configured])):
                cfg = configured.get(item)
                if cfg is not None and not cfg.enabled:
                    continue
                uses.append(MappingUse(name, inst.type, item, direction, cfg.mapping if cfg else None, cfg is not None))
    return uses


def locate(use: MappingUse, registry: Any = None) -> Path | None:
    return find_mapping(use.connector_type, use.name, use.direction, override=use.override, registry=registry)


def not_found_message(use: MappingUse, registry: Any = None) -> str:
    looked = ", ".join(str(d / mapping_filename(use.connector_type, use.name, use.direction)) for d in search_dirs(registry))
    return f"{use.title}: no mapping file (looked for {looked})"


def load_for_instance(config: Any, instance: str, *, stream: str | None = None, sink: str | None = None,
                      registry: Any = None) -> CompiledMapping:
    """The compiled mapping for one instance's stream (inbound) or sink (outbound)."""
    if (stream is None) == (sink is None):
        raise ValueError("give exactly one of stream= or sink=")
    inst = config.connectors[instance]
    name = stream if stream is not None else sink
    direction = "inbound" if stream is not None else "outbound"
    section = inst.streams if stream is not None else inst.sinks
    cfg = section.get(name)
    use = MappingUse(instance, inst.type, name, direction, cfg.mapping if cfg else None, True)
    path = locate(use, registry)
    if path is None:
        raise MappingError([not_found_message(use, registry)])
    compiled = load_mapping(path, registry=registry, lookups=config.lookups, instance=instance)
    for line in compiled.warnings:  # loads, but probably not what was meant: say so where operators look
        log.warning("mapping warning: %s", line)
    return compiled
