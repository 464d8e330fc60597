"""Built-in connector plugin: sql."""
