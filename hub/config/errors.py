"""Config errors that name file, line and key path, and a did-you-mean for typos."""

from __future__ import annotations

import difflib
from typing import Iterable


class ConfigError(Exception):
    """One or more problems in a config file. ``errors`` holds one line per problem,
    each ``file:line key.path: message``; the CLI prints them and exits 2."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a close match exists, else an empty string."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
