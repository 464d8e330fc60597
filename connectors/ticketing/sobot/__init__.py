"""Sobot (智齿) ticketing: a ticket-creation sink (legacy ``addCustomerTicket``), token cache, sandbox."""
