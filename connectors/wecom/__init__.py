"""Built-in connector plugin: wecom."""
