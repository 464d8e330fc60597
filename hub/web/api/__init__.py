"""``/api/v1``: the JSON API (flask-smorest), its OpenAPI document at ``/api/v1/openapi.json``.

Every operation takes ``Authorization: Bearer <token>``; each view declares the weakest role
that may call it (:func:`hub.web.auth.requires`). See ``docs/web.md`` for the role matrix.
"""

from __future__ import annotations

from flask import Flask, make_response, request
from flask_smorest import Api

from hub import __version__
from hub.web.auth import is_api

PREFIX = "/api/v1"


class HubApi(Api):
    """flask-smorest's Api, answering errors as JSON only under ``/api/`` (the UI has its own pages)."""

    def handle_http_exception(self, error):
        if is_api(request.path):
            response = make_response(super().handle_http_exception(error))
        else:
            from hub.web.ui import error_page

            response = make_response(error_page(error))
        # flask-smorest's JSON error drops the exception's own headers: a 405 must still say
        # which methods are allowed (RFC 9110 §15.5.6), a 401 how to authenticate.
        for name, value in error.get_headers():
            if name.lower() != "content-type" and name not in response.headers:
                response.headers[name] = value
        return response


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
    from hub.web.api import admin, automations, contacts, conflicts, operations

    for module in (contacts, conflicts, operations, automations, admin):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    _schema_extras(api)
    return api


def _schema_extras(api: HubApi) -> None:
    """Rules a marshmallow schema enforces in code but cannot express in its fields (such as
    "exactly one of"), written into its OpenAPI component from the schema's ``openapi_extra``,
    so clients and fuzzers know them too."""
    from hub.web.api import schemas

    for name in dir(schemas):
        cls = getattr(schemas, name)
        extra = getattr(cls, "openapi_extra", None)
        component = api.spec.components.schemas.get(name)
        if isinstance(extra, dict) and isinstance(component, dict):
            component.update(extra)
