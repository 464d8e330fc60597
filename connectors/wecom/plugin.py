"""Entry point module of the wecom connector plugin (registers nothing until it lands)."""
