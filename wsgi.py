"""WSGI entry point: ``gunicorn wsgi:app`` (config from ``HUB_CONFIG``)."""

from hub.web import create_app

app = create_app()
