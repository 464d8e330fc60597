"""WSGI entry point of an installed hub: ``gunicorn 'hub.wsgi:app'`` (config from ``HUB_CONFIG``).

It lives in the package so a wheel install has it; the repository's top-level ``wsgi.py``
re-exports it for ``gunicorn wsgi:app`` in a checkout.
"""

from hub.web import create_app

app = create_app()
