"""The plugin manager: loads built-in and third-party plugins the same way.

Built-in connectors are declared in Huiliu's own ``pyproject.toml`` under the
entry-point group ``hub``, exactly like a third-party package would declare theirs,
so there is one loading path to test. ``HUB_LOAD_PLUGINS`` (a comma list of entry
point names) is an allow-list; unset means "load every installed plugin".
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pluggy

from hub import hookspecs

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hub"


@dataclass
class PluginInfo:
    """What ``hub connectors`` shows about one loaded plugin."""

    name: str
    version: str
    distribution: str
    module: str


@dataclass
class IdentityKindSpec:
    kind: str
    strong: bool
    max_per_contact: int
    normalize: Callable[[str], str | None] | None = None


@dataclass
class Registry:
    """Everything the loaded plugins contributed, collected once."""

    connectors: dict[str, type] = field(default_factory=dict)
    transforms: dict[str, Callable[..., Callable]] = field(default_factory=dict)
    identity_kinds: dict[str, IdentityKindSpec] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    connector_plugin: dict[str, str] = field(default_factory=dict)
    #: Mapping directories from ``hub_register_mappings``: (directory, plugin name).
    mapping_dirs: list[tuple[Path, str]] = field(default_factory=list)


class PluginError(Exception):
    """A plugin could not be loaded or registered something invalid."""


def _allow_list() -> set[str] | None:
    raw = os.environ.get("HUB_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def make_plugin_manager(extra_plugins: Iterable[Any] = ()) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Create a plugin manager with the installed entry points (filtered) and extras."""
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    allowed = _allow_list()
    infos: list[PluginInfo] = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must say which one it is
            raise PluginError(f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if pm.is_registered(module):
            continue
        pm.register(module, name=ep.name)
        dist = ep.dist
        infos.append(
            PluginInfo(
                name=ep.name,
                version=dist.version if dist else "?",
                distribution=dist.metadata["Name"] if dist else "?",
                module=ep.value,
            )
        )
    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", repr(plugin))
        pm.register(plugin, name=name)
        infos.append(PluginInfo(name=name, version="-", distribution="(in process)", module=name))
    # Rejects hook implementations whose names match no spec (typos like hub_register_conectors).
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(str(exc)) from exc
    return pm, infos


def _builtin_identity_kinds(register: Callable[..., None]) -> None:
    from hub.identity_kinds import BUILTIN_KINDS

    for spec in BUILTIN_KINDS:
        register(spec.kind, strong=spec.strong, max_per_contact=spec.max_per_contact, normalize=spec.normalize)


def build_registry(extra_plugins: Iterable[Any] = ()) -> Registry:
    """Load plugins and collect what they register. Duplicate names are errors."""
    pm, infos = make_plugin_manager(extra_plugins)
    reg = Registry(plugins=infos)
    current: dict[str, str] = {"plugin": "?"}

    def register_connector(cls: type) -> None:
        from hub.connector import Connector

        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise PluginError(f"plugin {current['plugin']!r} registered {cls!r}, which is not a Connector subclass")
        name = cls.name
        if not name:
            raise PluginError(f"connector class {cls.__qualname__} has no name")
        if name in reg.connectors and reg.connectors[name] is not cls:
            raise PluginError(
                f"connector type {name!r} registered twice "
                f"(by {reg.connector_plugin[name]!r} and {current['plugin']!r})"
            )
        reg.connectors[name] = cls
        reg.connector_plugin[name] = current["plugin"]

    def register_transform(name: str, factory: Callable[..., Callable]) -> None:
        if name in reg.transforms and reg.transforms[name] is not factory:
            raise PluginError(f"transform {name!r} registered twice")
        reg.transforms[name] = factory

    def register_kind(kind: str, *, strong: bool, max_per_contact: int = 1, normalize=None) -> None:
        reg.identity_kinds[kind] = IdentityKindSpec(kind, strong, max_per_contact, normalize)

    shipped_by: dict[str, str] = {}

    def register_mappings(directory: str | os.PathLike) -> None:
        plugin = current["plugin"]
        path = Path(os.fspath(directory)).resolve()
        if not path.is_dir():
            raise PluginError(f"plugin {plugin!r} registered mappings directory {path}, which does not exist")
        if not shipped_by:
            from hub.mapping.discovery import SHIPPED_DIR

            shipped_by.update({f.name: "Huiliu (shipped mappings)" for f in _mapping_files(SHIPPED_DIR)})
        for f in _mapping_files(path):
            owner = shipped_by.get(f.name)
            if owner is not None and owner != f"plugin {plugin!r}":
                raise PluginError(f"mapping {f.name} registered twice (by {owner} and plugin {plugin!r})")
            shipped_by[f.name] = f"plugin {plugin!r}"
        if path not in [d for d, _ in reg.mapping_dirs]:
            reg.mapping_dirs.append((path, plugin))

    _builtin_identity_kinds(register_kind)
    try:
        from hub.mapping.transforms import register_builtin_transforms
    except ImportError:  # the mapping engine is optional for the bare core
        register_builtin_transforms = None
    if register_builtin_transforms is not None:
        register_builtin_transforms(register_transform)

    for impl in pm.hook.hub_register_connectors.get_hookimpls():
        current["plugin"] = impl.plugin_name
        impl.function(register=register_connector)
    for impl in pm.hook.hub_register_transforms.get_hookimpls():
        current["plugin"] = impl.plugin_name
        impl.function(register=register_transform)
    for impl in pm.hook.hub_register_identity_kinds.get_hookimpls():
        current["plugin"] = impl.plugin_name
        impl.function(register=register_kind)
    for impl in pm.hook.hub_register_mappings.get_hookimpls():
        current["plugin"] = impl.plugin_name
        impl.function(register=register_mappings)
    reg.pm = pm  # type: ignore[attr-defined]
    return reg


def _mapping_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _registry
    if _registry is None:
        _registry = build_registry()
    return _registry


def reset_registry() -> None:
    """Forget the cached registry (tests change ``HUB_LOAD_PLUGINS``)."""
    global _registry
    _registry = None
