"""Udesk ticketing: tickets stream, create/update sink, trigger webhook, sandbox."""
