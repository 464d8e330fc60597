"""The module named by the ``hub`` entry point: it registers the connector."""

from hub.hookspecs import hookimpl

from hub_example.connector import ExampleConnector


@hookimpl
def hub_register_connectors(register):
    register(ExampleConnector)
