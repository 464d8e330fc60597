"""Built-in connector plugin: ticketing."""
