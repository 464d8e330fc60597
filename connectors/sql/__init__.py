"""Built-in connector plugin: sql — two-way sync with an existing CRM / ERP / membership
database through any SQLAlchemy URL (see docs/connectors/sql.md)."""
