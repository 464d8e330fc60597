"""Entry point module of the ticketing connector plugin (registers nothing until it lands)."""
