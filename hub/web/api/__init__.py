"""``/api/v1``: the JSON API (flask-smorest), its OpenAPI document at ``/api/v1/openapi.json``.

Every operation takes ``Authorization: Bearer <token>``; each view declares the weakest role
that may call it (:func:`hub.web.auth.requires`). See ``docs/web.md`` for the role matrix.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import Api

from hub import __version__
from hub.web.auth import is_api

PREFIX = "/api/v1"


class HubApi(Api):
    """flask-smorest's Api, answering errors as JSON only under ``/api/`` (the UI has its own pages)."""

    def handle_http_exception(self, error):
        if is_api(request.path):
            return super().handle_http_exception(error)
        from hub.web.ui import error_page

        return error_page(error)


def init_api(app: Flask) -> HubApi:
    app.config.setdefault("API_TITLE", "Huiliu (汇流) API")
    app.config.setdefault("API_VERSION", __version__)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    spec_kwargs = {
        "info": {"description": "Find a customer, read one history, watch connectors and act on dead letters and "
                                "merge conflicts. Roles: support < operator < admin (see docs/web.md)."},
        "security": [{"bearerAuth": []}],
        "servers": [{"url": "/"}],
    }
    api = HubApi(app, spec_kwargs=spec_kwargs)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "A token from `hub tokens create`."})
    from hub.web.api import admin, contacts, conflicts, operations

    for module in (contacts, conflicts, operations, admin):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    return api
