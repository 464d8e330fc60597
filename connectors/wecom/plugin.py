"""Entry point module of the wecom connector plugin."""

from hub.hookspecs import hookimpl

from connectors.wecom.connector import WeComConnector


@hookimpl
def hub_register_connectors(register):
    register(WeComConnector)
