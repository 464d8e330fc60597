"""Built-in connector plugin: callcenter."""
