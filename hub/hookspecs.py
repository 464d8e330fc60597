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
def hub_register_mappings(register: Callable[..., None]) -> None:
    """Ship mapping files with the plugin.

    Call ``register(directory)`` with a directory of mapping files named like the shipped
    ones (``<type>.<stream>.yaml``, ``<type>.<sink>.out.yaml``), usually
    ``Path(__file__).parent / "mappings"``. The hub looks there after ``./mappings/`` and
    its own shipped mappings, so an IT team's file of the same name still wins; a file
    name Huiliu or another plugin already ships is an error naming both.
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


@hookspec
def hub_register_labels(register: Callable[..., None]) -> None:
    """Register how the UI shows what the plugin brings: labels, icons, value formats.

    Call ``register(group, name, labels, icon=None, format=None, values=None)``. ``group`` is
    ``channel`` (a connector type), ``event`` (an event kind), ``field`` (a key of an
    event's detail), ``attr`` (an attribute) or ``kind`` (an identity kind); ``labels``
    maps ``"zh-CN"`` / ``"en"`` to text (or is one text for both); ``icon`` is SVG path
    data for a 24×24 view box; ``format`` one of ``text``, ``duration`` (seconds),
    ``member`` (a staff user id shown by its display name), ``datetime``, ``yesno``;
    ``values`` maps coded values to labels (``{"inbound": {"zh-CN": "呼入", "en": "Inbound"}}``).
    See :mod:`hub.web.labels`.
    """
