"""docs/plugins.md documents every hook in hub/hookspecs.py, with the same signature."""

import inspect
import re
from pathlib import Path

from hub import hookspecs

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
HEADING = re.compile(r"^### (hub_\w+)\(([^)]*)\)\s*$", re.M)


def specs() -> dict[str, list[str]]:
    out = {}
    for name, func in vars(hookspecs).items():
        if name.startswith("hub_") and callable(func):
            out[name] = list(inspect.signature(func).parameters)
    return out


def documented() -> dict[str, list[str]]:
    return {m.group(1): [a.strip() for a in m.group(2).split(",") if a.strip()] for m in HEADING.finditer(DOC.read_text())}


def test_there_are_hooks():
    assert "hub_register_connectors" in specs() and "hub_register_transforms" in specs()


def test_every_hook_is_documented_with_its_signature():
    docs = documented()
    for name, params in specs().items():
        assert name in docs, f"hook {name} is not documented in docs/plugins.md"
        assert docs[name] == params, f"docs/plugins.md documents {name}({', '.join(docs[name])}), the spec is {name}({', '.join(params)})"


def test_no_documented_hook_is_missing_from_the_specs():
    assert set(documented()) <= set(specs()), set(documented()) - set(specs())


def test_every_hook_has_a_docstring():
    for name in specs():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"
