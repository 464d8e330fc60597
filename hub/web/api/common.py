"""Small helpers the API views share."""

from __future__ import annotations

import flask_smorest
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from hub.connector import WebhookRejected, inputs
from hub.web.auth import current_principal
from hub.web.queries import MAX_ID


class StrictJsonParser(FlaskParser):
    """webargs' Flask parser reading JSON bodies through :func:`hub.connector.inputs.parse_json`:
    ``json.loads`` takes ``NaN`` and recurses on 100,000 nested brackets until a
    ``RecursionError`` (a 500); here such a body is a 400 naming what is wrong."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        try:
            # NUL and lone surrogates are left to the schemas' Text fields (a 422, as documented).
            return inputs.parse_json(req.get_data(cache=True), what="JSON body", storable=False)
        except WebhookRejected as exc:
            abort(400, message=exc.message, messages={"json": [exc.message]})


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprints: flask-smorest's, with :class:`StrictJsonParser`."""

    ARGUMENTS_PARSER = StrictJsonParser()


def runtime():
    from hub.web import get_runtime

    return get_runtime()


def actor() -> str:
    principal = current_principal()
    return principal.actor if principal else "anonymous"


def check_id(value: int, what: str) -> int:
    """Ids beyond BIGINT are simply not found (rather than a database overflow error)."""
    if value < 1 or value > MAX_ID:
        abort(404, message=f"no {what} {value}")
    return value
