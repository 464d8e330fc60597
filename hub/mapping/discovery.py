"""Where a connector stream's or sink's mapping file lives.

Order: the override path the config gives the instance (``streams.<name>.mapping``),
then ``./mappings/`` in the working directory (an IT team's own files), then the
``mappings/`` directory shipped with Huiliu. File names: ``<type>.<stream>.yaml``
(inbound) and ``<type>.<sink>.out.yaml`` (outbound).
"""

from __future__ import annotations

from pathlib import Path

import hub
from hub.mapping.errors import MappingError

SHIPPED_DIR = Path(hub.__file__).resolve().parent.parent / "mappings"


def mapping_filename(connector_type: str, name: str, direction: str) -> str:
    if direction not in ("inbound", "outbound"):
        raise ValueError(f"direction must be inbound or outbound, got {direction!r}")
    return f"{connector_type}.{name}.out.yaml" if direction == "outbound" else f"{connector_type}.{name}.yaml"


def search_dirs() -> list[Path]:
    """``./mappings`` (working directory) first, then the shipped directory."""
    dirs = [Path.cwd() / "mappings", SHIPPED_DIR]
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def find_mapping(connector_type: str, stream_or_sink: str, direction: str, override: str | Path | None = None) -> Path | None:
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
    for d in search_dirs():
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
