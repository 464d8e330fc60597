"""Make the test plugins importable and discoverable for this test session only.

The example connector (``tests/plugins/hub_example``) exists to test the plugin machinery;
it must not appear in ``hub connectors`` on a normal install (``make demo``). So it is
never pip-installed: at the start of a session this writes its distribution metadata
(``hub_example-<version>.dist-info`` with the entry points from its ``pyproject.toml``) to
a temporary directory and puts that directory and the plugin's source on ``sys.path`` and
``PYTHONPATH``. ``importlib.metadata`` then finds the entry point exactly as it finds an
installed package's — in this process, in ``pytester`` runs and in the ``hub`` processes
tests start — so the entry-point loading path is what gets tested.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_PLUGINS = (HERE / "hub_example",)


def _dist_info(project_dir: Path, target: Path) -> None:
    project = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"], project["version"]
    info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   f"Summary: {project.get('description', '')}\n", encoding="utf-8")
    lines = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")


def activate() -> Path:
    """Expose the test plugins; returns the metadata directory (removed by :func:`deactivate`)."""
    meta = Path(tempfile.mkdtemp(prefix="hub-test-plugins-"))
    for project_dir in TEST_PLUGINS:
        _dist_info(project_dir, meta)
    paths = [str(meta), *(str(p) for p in TEST_PLUGINS)]
    sys.path[:0] = paths
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    importlib.invalidate_caches()
    return meta


def deactivate(meta: Path) -> None:
    paths = [str(meta), *(str(p) for p in TEST_PLUGINS)]
    sys.path[:] = [p for p in sys.path if p not in paths]
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p not in paths]
    if rest:
        os.environ["PYTHONPATH"] = os.pathsep.join(rest)
    else:
        os.environ.pop("PYTHONPATH", None)
    shutil.rmtree(meta, ignore_errors=True)
