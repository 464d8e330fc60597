"""Entry point module of the sql connector plugin: registers :class:`SqlConnector`."""

from hub.hookspecs import hookimpl

from connectors.sql.connector import SqlConnector


@hookimpl
def hub_register_connectors(register):
    register(SqlConnector)
