"""Built-in connector plugin: feiyu."""
