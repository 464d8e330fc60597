"""Entry point module of the feiyu connector plugin."""

from hub.hookspecs import hookimpl

from connectors.feiyu.connector import FeiyuConnector


@hookimpl
def hub_register_connectors(register):
    register(FeiyuConnector)
