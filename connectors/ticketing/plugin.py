"""Entry point module of the ticketing plugin: registers Udesk (tickets stream, create/update
sink, trigger webhook)."""

from hub.hookspecs import hookimpl

from connectors.ticketing.udesk.connector import UdeskConnector


@hookimpl
def hub_register_connectors(register):
    register(UdeskConnector)
