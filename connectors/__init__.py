"""Built-in connector plugins, one package each, loaded through the ``hub`` entry points
exactly like third-party plugins."""
