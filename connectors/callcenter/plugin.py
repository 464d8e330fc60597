"""Entry point module of the callcenter connector plugin (registers nothing until it lands)."""
