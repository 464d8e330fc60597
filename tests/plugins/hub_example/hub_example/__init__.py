"""An example third-party Huiliu connector (Example CRM) and its sandbox."""
