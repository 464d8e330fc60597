"""The module named by the ``hub`` entry point: it registers the connector and its mappings."""

from pathlib import Path

from hub.hookspecs import hookimpl

from hub_example.connector import ExampleConnector


@hookimpl
def hub_register_connectors(register):
    register(ExampleConnector)


@hookimpl
def hub_register_mappings(register):
    # The mapping for its sink (the standard suite renders it against the sink); found by the
    # hub after ./mappings and Huiliu's own. An IT team writes the inbound one for its CRM.
    register(Path(__file__).parent / "mappings")
