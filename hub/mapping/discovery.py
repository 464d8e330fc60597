"""Where a connector stream's or sink's mapping file lives.

Order: the override path the config gives the instance (``streams.<name>.mapping``),
then ``./mappings/`` in the working directory (an IT team's own files), then the
``mappings/`` directory shipped with Huiliu, then the directories plugins register with
``hub_register_mappings``. File names: ``<type>.<stream>.yaml`` (inbound) and
``<type>.<sink>.out.yaml`` (outbound).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hub
from hub.mapping.errors import MappingError

_PACKAGE = Path(hub.__file__).resolve().parent


def shipped_path(*parts: str) -> Path:
    """A file or directory Huiliu ships beside the ``hub`` package (``mappings``,
    ``config/demo.yaml``): in the repository in a checkout or editable install, under
    ``hub/_shipped/`` in a wheel (setup.py copies them there)."""
    checkout = _PACKAGE.parent.joinpath(*parts)
    installed = _PACKAGE.joinpath("_shipped", *parts)
    return installed if installed.exists() and not checkout.exists() else checkout


SHIPPED_DIR = shipped_path("mappings")


def mapping_filename(connector_type: str, name: str, direction: str) -> str:
    if direction not in ("inbound", "outbound"):
        raise ValueError(f"direction must be inbound or outbound, got {direction!r}")
    return f"{connector_type}.{name}.out.yaml" if direction == "outbound" else f"{connector_type}.{name}.yaml"


def plugin_dirs(registry: Any = None) -> list[Path]:
    """Directories plugins registered with ``hub_register_mappings`` (load order)."""
    if registry is None:
        from hub.plugins import get_registry

        registry = get_registry()
    return [d for d, _plugin in getattr(registry, "mapping_dirs", [])]


def search_dirs(registry: Any = None) -> list[Path]:
    """``./mappings`` (working directory) first, then the shipped directory, then plugins'."""
    dirs = [Path.cwd() / "mappings", SHIPPED_DIR, *plugin_dirs(registry)]
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def find_mapping(connector_type: str, stream_or_sink: str, direction: str, override: str | Path | None = None,
                 registry: Any = None) -> Path | None:
    """The mapping file to use, or ``None`` when there is none anywhere.

    An ``override`` that does not exist is an error (a typo in config must not fall
    back silently to the shipped mapping).
    """
    if override:
        path = Path(override)
        if not path.is_file():
            raise MappingError([f"{path}: mapping file not found (set as the override for {connector_type}.{stream_or_sink})"])
        return path
    name = mapping_filename(connector_type, stream_or_sink, direction)
    for d in search_dirs(registry):
        candidate = d / name
        if candidate.is_file():
            return candidate
    return None


def resolve_extends(name: str, current_file: Path) -> Path | None:
    """``extends:`` target: beside the extending file, then the search dirs.

    A file never extends itself, so ``./mappings/feiyu.leads.yaml`` with
    ``extends: feiyu.leads.yaml`` extends the shipped file of the same name.
    """
    current = current_file.resolve()
    candidates = [current_file.parent / name] + [d / name for d in search_dirs()]
    if Path(name).is_absolute():
        candidates = [Path(name)]
    for c in candidates:
        if c.is_file() and c.resolve() != current:
            return c
    return None
