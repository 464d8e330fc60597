"""Entry point module of the feiyu connector plugin (registers nothing until it lands)."""
