"""Fixtures for the mapping engine tests: a real plugin registry and helpers that write
mapping files to a temporary directory and compile them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.mapping import load_mapping
from hub.plugins import build_registry


#: Only the example plugin (tests/plugins/hub_example): these tests need the built-in
#: transforms and identity kinds, not whichever connector packages happen to be installed.
PLUGINS = "example"


@pytest.fixture(scope="session")
def registry():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUB_LOAD_PLUGINS", PLUGINS)
        return build_registry()


@pytest.fixture
def hub_cli(monkeypatch):
    """The ``hub`` click group with the plugin allow-list applied, and a fresh registry."""
    from hub.plugins import reset_registry

    monkeypatch.setenv("HUB_LOAD_PLUGINS", PLUGINS)
    reset_registry()
    from hub.cli import cli

    yield cli
    reset_registry()


@pytest.fixture
def write(tmp_path):
    """``write("name.yaml", text)`` → path of a dedented file under tmp_path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def compile_text(write, registry):
    """Compile mapping YAML text: ``compile_text(text, lookups=…, instance=…, name=…)``."""

    def _compile(text: str, *, lookups: dict | None = None, instance: str | None = None, name: str = "m.yaml", reg=None):
        path = write(name, text)
        return load_mapping(path, registry=reg or registry, lookups=lookups or {}, instance=instance)

    return _compile


@pytest.fixture
def transform(compile_text):
    """Run one transform spec on one value: ``transform({"phone": {...}}, "138…")``.

    Builds a one-field inbound mapping ``out ← v`` so the spec goes through the real
    loader and compiler (option validation included)."""

    def _run(spec: Any, value: Any, *, record: dict | None = None, lookups: dict | None = None, instance: str | None = None):
        text = yaml.safe_dump({"direction": "inbound", "fields": {"out": {"from": "v", "transforms": [spec], "keep_null": True}}},
                              allow_unicode=True, sort_keys=False)
        mapping = compile_text(text, lookups=lookups, instance=instance)
        data = dict(record or {})
        data["v"] = value
        return mapping.apply(data).attributes["out"]

    return _run
