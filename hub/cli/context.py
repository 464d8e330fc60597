"""Shared CLI plumbing: the runtime for the chosen config, and clean exits on bad config."""

from __future__ import annotations

import sys
from functools import wraps

import click

from hub.config import ConfigError


def fail_config(exc: ConfigError) -> None:
    """Print every config problem as ``file:line key.path: message`` and exit 2."""
    for line in exc.errors:
        click.echo(line, err=True)
    sys.exit(2)


def get_runtime(ctx: click.Context | None = None):
    """The runtime for ``--config`` (cached on the root context)."""
    from hub.runtime import Runtime, set_current

    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    if "runtime" not in root.obj:
        try:
            runtime = Runtime.from_env(root.obj.get("config_file"))
        except ConfigError as exc:
            fail_config(exc)
        from hub import logs

        logs.configure(runtime.config.hub.log_level, runtime.config.hub.log_format)
        set_current(runtime)
        root.obj["runtime"] = runtime
    return root.obj["runtime"]


def get_database():
    """The store for the current config; tests can put one in ``ctx.obj['db']``."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj and root.obj.get("db") is not None:
        return root.obj["db"]
    return get_runtime(ctx).db


def handles_config_errors(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail_config(exc)

    return wrapper
