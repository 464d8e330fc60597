"""Entry point module of the callcenter plugin: registers the Clink connector (CDR pull +
generic signed CDR push)."""

from hub.hookspecs import hookimpl

from connectors.callcenter.connector import ClinkConnector


@hookimpl
def hub_register_connectors(register):
    register(ClinkConnector)
