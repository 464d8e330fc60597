"""Every hook a Huiliu plugin can implement.

Hooks use the register-callback style: the hub calls the hook with a ``register``
function and the plugin calls it once per thing it contributes. That keeps plugins
free of return-value conventions and lets one plugin contribute many things.

``docs/plugins.md`` documents each hook; ``tests/test_hook_docs.py`` fails when a hook
here is missing there or its documented signature differs.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")


@hookspec
def hub_register_connectors(register: Callable[[type], None]) -> None:
    """Register connector classes.

    Call ``register(ConnectorClass)`` for each :class:`hub.connector.Connector`
    subclass the plugin ships. The class's ``name`` is the ``type:`` used in config.
    """


@hookspec
def hub_register_transforms(register: Callable[..., None]) -> None:
    """Register mapping transforms.

    Call ``register(name, factory)``; ``factory(**options)`` is called once when a
    mapping is compiled and returns a ``callable(value, record) -> value`` used for
    every record. Raise :class:`ValueError` from the callable for a bad value; the
    record is rejected with the field path and the message.
    """


@hookspec
def hub_register_identity_kinds(register: Callable[..., None]) -> None:
    """Register identifier kinds beyond the built-in ones.

    Call ``register(kind, strong=bool, max_per_contact=int, normalize=callable|None)``.
    Strong kinds identify one person (two different values never merge); weak kinds
    merge within their per-contact limit.
    """


@hookspec
def hub_register_commands(cli: Any) -> None:
    """Add commands to the ``hub`` CLI.

    ``cli`` is the root :class:`click.Group`; call ``cli.add_command(command)``.
    """


@hookspec
def hub_startup(app: Any) -> None:
    """Called once when the web app is created, with the Flask ``app``.

    Use it to register extra blueprints or template filters.
    """
