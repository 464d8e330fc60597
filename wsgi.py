"""WSGI entry point in a checkout: ``gunicorn wsgi:app`` (config from ``HUB_CONFIG``).

An installed hub uses ``gunicorn 'hub.wsgi:app'``; this file re-exports that app.
"""

from hub.wsgi import app

__all__ = ["app"]
