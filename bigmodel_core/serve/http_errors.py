"""How the REST server says no: the body-size guard (413) and one JSON shape for every error.

Every refusal is `{"error": one plain sentence, "hint": what to do}`. FastAPI's own validation
errors (a list of pydantic details) become one sentence naming the field; malformed JSON, or a
body that is not a JSON object, is a 400 rather than FastAPI's 422.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BigModelError

log = logging.getLogger("bigmodel_core.serve")
FORMAT_HINT = "The request format is described at /docs (or /openapi.json)."
JSON_HINT = ("Send a JSON object, for example {\"texts\": [\"a fine film\"]}, with the header "
             "'Content-Type: application/json'.")
ITEMS = {"texts": "Text", "images": "Image"}
DRAIN_FACTOR = 16  # a too-large body up to 16x the limit is read to its end before the 413 (see BodyLimit._refuse)


class ApiError(Exception):
    """A request the server refuses: the HTTP status and the plain sentences of the JSON body."""

    def __init__(self, status: int, message: str, hint: str = "", headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status, self.message, self.hint, self.headers = status, message, hint, headers


def error_json(status: int, message: str, hint: str = "", headers: Optional[dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint}, status_code=status, headers=headers)


class BodyLimit:
    """ASGI middleware: a body larger than `max_body_bytes` gets a JSON 413 before anything parses it.

    A declared Content-Length is checked first; a chunked body is counted as it arrives. The body
    is read in full (up to the limit) and handed on, so the app never sees a partial request.
    """

    def __init__(self, app: Any, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and not length.isdigit():
            return await error_json(400, "The request's Content-Length header is not a number.", JSON_HINT)(
                scope, receive, send)
        if length is not None and int(length) > self.max_body_bytes:
            return await self._refuse(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return await self._refuse(scope, receive, send)
            if not message.get("more_body"):
                break
        body, sent = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict, receive: Any, send: Any) -> None:
        """413, after reading (and dropping) the rest of a moderately large body: a client still sending when
        the answer comes would see a broken connection instead of the answer."""
        drained = 0
        while drained <= DRAIN_FACTOR * self.max_body_bytes:
            message = await receive()
            drained += len(message.get("body", b""))
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        response = error_json(413, f"The request is larger than the {self.max_body_bytes:,} bytes this server takes.",
                              "Send fewer texts or smaller pictures per request.", {"Connection": "close"})
        await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal as {"error", "hint"} JSON; an unexpected exception is logged and answered with a JSON 500."""

    @app.exception_handler(ApiError)
    async def refused(request: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status, exc.message, exc.hint, exc.headers)

    @app.exception_handler(BigModelError)
    async def engine_refused(request: Request, exc: BigModelError) -> JSONResponse:
        return error_json(422, exc.message, exc.hint)  # the engine refused this input, in its own words

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_json(*plain_validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        paths = "GET /health, GET /model, POST /predict, POST /explain, GET /docs"
        said = {404: f"There is no '{request.url.path}' here.",
                405: f"'{request.url.path}' does not take {request.method} requests."}
        message = said.get(exc.status_code, str(exc.detail))
        return error_json(exc.status_code, message, f"This server offers {paths}.", getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("Unexpected error in %s %s", request.method, request.url.path)
        return error_json(500, f"Something unexpected went wrong ({type(exc).__name__}).",
                          "This is a bug in BigModel Lab; the server's log has the details.")


def plain_validation_error(errors: list[dict[str, Any]]) -> tuple[int, str, str]:
    """(status, message, hint) for FastAPI's validation errors: the first one, in one sentence."""
    first = errors[0] if errors else {"type": "missing", "loc": ("body",)}
    kind, ctx = first.get("type", ""), first.get("ctx") or {}
    loc = [p for p in first.get("loc", ()) if p != "body"]
    if kind == "json_invalid":
        return 400, "The request body is not valid JSON.", JSON_HINT
    if not loc or isinstance(loc[0], int):  # the body itself: missing, not an object, not JSON at all
        said = "The request has no body." if kind == "missing" else "The request body is not a JSON object."
        return 400, said, JSON_HINT
    field = str(loc[0])
    if kind == "too_long" and len(loc) == 1 and field in ITEMS:
        return (422, f"This request holds {ctx.get('actual_length', 'too many')} {field}; the server takes at most "
                     f"{ctx.get('max_length')} at a time.", "Send them in smaller batches.")
    where = f"{ITEMS[field]} {loc[1] + 1}" if len(loc) > 1 and field in ITEMS and isinstance(loc[1], int) \
        else f"The field '{'.'.join(map(str, loc))}'"
    if kind == "extra_forbidden":
        return 422, f"'{field}' is not a field of this request.", FORMAT_HINT
    reasons = {"missing": "is missing", "string_type": "must be a string",
               "string_unicode": "is not valid Unicode text", "list_type": "must be a list",
               "int_type": "must be a whole number", "int_parsing": "must be a whole number",
               "int_from_float": "must be a whole number", "string_too_long":
               f"is too long: at most {ctx.get('max_length', 0):,} characters",
               "greater_than_equal": f"must be at least {ctx.get('ge')}",
               "less_than_equal": f"must be at most {ctx.get('le')}",
               "value_error": "cannot be used: " + str(first.get("msg", "")).removeprefix("Value error, ")}
    reason = reasons.get(kind) or "is not valid: " + str(first.get("msg", "")).rstrip(".").lower()
    return 422, f"{where} {reason}.", FORMAT_HINT
