"""Credentials for the two Feiyu APIs: the legacy CRM signature and Marketing API OAuth."""
