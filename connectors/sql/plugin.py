"""Entry point module of the sql connector plugin (registers nothing until it lands)."""
