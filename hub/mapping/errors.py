"""Mapping errors: load-time problems (a list of ``file:line key.path: message``) and
per-record failures (field path + offending value), kept apart because they are handled
apart — a load error stops a connector from starting, a record error rejects one record
and the rest of the batch carries on."""

from __future__ import annotations

from typing import Any


class MappingError(Exception):
    """One or more problems in a mapping file, found when it is loaded.

    ``errors`` holds one line per problem, each ``file:line key.path: message``; every
    problem in the file is collected before this is raised, so one run of
    ``hub mappings lint`` shows them all.
    """

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


class MappingRecordError(ValueError):
    """One record could not be mapped.

    ``field`` is the mapping key path that failed (``fields.phone``), ``value`` the
    offending source value, ``message`` the whole reason
    (``fields.phone: invalid phone number '12345'``) — what the rejected record shows.
    """

    def __init__(self, field: str, value: Any, reason: str):
        self.field = field
        self.value = value
        self.reason = reason
        self.message = f"{field}: {reason}" if field else reason
        super().__init__(self.message)


class TransformError(ValueError):
    """Raised by a transform for a bad value; ``value`` is the value it could not handle.

    Transforms may raise a plain :class:`ValueError` instead; the engine then reports the
    field's source value as the offending one.
    """

    def __init__(self, message: str, value: Any = None):
        super().__init__(message)
        self.value = value


class MappingWarning(UserWarning):
    """Something in a mapping that loads but probably does not do what its author meant
    (``{strip: "+86"}``). A transform factory raises it with :func:`warnings.warn`; the
    compiler turns it into a ``file:line key.path: message`` line in
    :attr:`~hub.mapping.compiled.CompiledMapping.warnings`, which ``hub mappings lint``
    prints and the runtime logs when it loads the mapping."""
