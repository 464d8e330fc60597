"""``${VAR}`` and ``${VAR:-default}`` in config values, so secrets stay in the environment.

``$${`` is a literal ``${``. An unset variable without a default is an error that
names where it was used — silently substituting "" would hide a missing secret.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

_PATTERN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(data: Any, env: Mapping[str, str], path: tuple = (), problems: list | None = None) -> Any:
    """Return ``data`` with variables substituted; problems are appended as ``(path, msg)``."""
    if problems is None:
        problems = []
    if isinstance(data, dict):
        return {key: interpolate(value, env, path + (key,), problems) for key, value in data.items()}
    if isinstance(data, list):
        return [interpolate(value, env, path + (index,), problems) for index, value in enumerate(data)]
    if not isinstance(data, str) or "$" not in data:
        return data

    def replace(match: re.Match) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                problems.append((path, f"environment variable {name} is not set (use ${{{name}:-default}} for a default)"))
                return ""
            return default
        return value

    return _PATTERN.sub(replace, data)
