"""Build hook only — the project is declared in pyproject.toml.

The shipped mappings (``mappings/``) and the demo config (``config/demo.yaml``) live at the
top of the repository, where IT teams and the docs find them, but an installed hub needs
them too. ``build_py`` copies them into the wheel as package data under
``hub/_shipped/`` (where :mod:`hub.mapping.discovery` and ``hub demo`` look when the
repository copies are not there). An editable install reads the repository directly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: (source in the repository, destination inside the ``hub`` package, file pattern)
SHIPPED = (
    ("mappings", "_shipped/mappings", "*.yaml"),
    ("mappings", "_shipped/mappings", "README.md"),
    ("config", "_shipped/config", "demo.yaml"),
)


class build_py_with_shipped_files(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, dest, pattern in SHIPPED:
            target = Path(self.build_lib) / "hub" / dest
            target.mkdir(parents=True, exist_ok=True)
            for path in sorted((ROOT / source).glob(pattern)):
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": build_py_with_shipped_files})
