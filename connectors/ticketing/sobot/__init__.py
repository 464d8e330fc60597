"""Sobot (智齿) ticketing: Open Platform 5.0 tickets — a stream (``query_tickets_by_update_time``),
a creation sink (``save_user_ticket``), the shared token cache and a sandbox."""
