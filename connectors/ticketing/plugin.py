"""Entry point module of the ticketing plugin: registers Udesk (tickets stream, create/update
sink, trigger webhook) and Sobot 智齿 (tickets stream and ticket-creation sink)."""

from hub.hookspecs import hookimpl

from connectors.ticketing.sobot.connector import SobotConnector
from connectors.ticketing.udesk.connector import UdeskConnector


@hookimpl
def hub_register_connectors(register):
    register(UdeskConnector)
    register(SobotConnector)
