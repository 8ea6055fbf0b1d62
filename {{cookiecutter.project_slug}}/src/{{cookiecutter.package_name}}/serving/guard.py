"""What stands in front of the service's endpoints: every request a client can send gets a 4xx
with a JSON body naming what is wrong (never a 500), bad requests are logged as one WARNING line,
and the published OpenAPI document describes the answers the service really gives.

BentoML answers a non-JSON content type with a 500 (or parses it as JSON anyway), reads bodies
of any size, logs every 4xx at ERROR with a traceback, and publishes a 400 body it does not send.
`RequestGuard` (an ASGI middleware) and `quiet_client_errors` (a logging filter) close those gaps
without touching the scoring path.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from pydantic import ValidationError

from .schemas import ErrorBody

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_MEDIA_TYPE = "application/json"
OPENAPI_PATH = "/docs.json"
DOCS_PATH = "/"
# BentoML's page at / loads Google Tag Manager, and its OpenAPI description shows badges from
# shields.io: requests that leave the machine whenever someone reads the API docs. This page
# loads only the Swagger UI files BentoML serves itself, and never calls Swagger's validator.
DOCS_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>API docs</title>
  <link rel="stylesheet" href="./static_content/swagger-ui.css">
  <link rel="stylesheet" href="./static_content/index.css">
  <link rel="icon" type="image/png" href="./static_content/favicon-light-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./static_content/swagger-ui-bundle.js"></script>
  <script src="./static_content/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "./docs.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout",
    });
  </script>
</body>
</html>
"""
SHOWN_FIELDS = 3

logger = logging.getLogger(__name__)


def header(headers: Iterable[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    """The value of header `wanted` (lowercase) among ASGI's raw headers, stripped."""
    for name, value in headers:
        if name.lower() == wanted:
            return value.decode("latin-1").strip()
    return None


def media_type(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    value = header(headers, b"content-type")
    return None if value is None else value.split(";")[0].strip().lower()


async def send_json(
    send: Send, status: int, payload: Any, extra: Mapping[bytes, bytes] | None = None
) -> None:
    await send_body(send, status, json.dumps(payload).encode(), JSON_MEDIA_TYPE, extra)


async def send_body(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: Mapping[bytes, bytes] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *(extra or {}).items(),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """An ASGI middleware over the service's POST endpoints (`api_paths`).

    - 415 for a body that is not JSON (a content type other than application/json, or none);
    - 413 for a body over `max_body_bytes`, counted as it arrives (no Content-Length needed);
    - 503 naming the reason when `unavailable()` says the model cannot score (`guarded_paths`);
    - 401 on the state-changing `protected_paths` (POST /reload) without `Authorization:
      Bearer <token>`;
    - GET /docs.json serves `openapi()`, BentoML's document amended to match these answers;
    - GET / serves the API docs page (`DOCS_PAGE`), which fetches nothing from the internet;
    - the read-only `get_routes` (GET /model, GET /readyz) answer with what their function
      returns: a status and a JSON body.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_paths: Iterable[str],
        max_body_bytes: int,
        unavailable: Callable[[], str | None],
        guarded_paths: Iterable[str],
        openapi: Callable[[], dict[str, Any]],
        protected_paths: Iterable[str] = (),
        token: Callable[[], str] | None = None,
        get_routes: Mapping[str, Callable[[], tuple[int, Any]]] | None = None,
    ) -> None:
        self.app = app
        self.protected_paths = frozenset(protected_paths)
        self.token = token
        self.get_routes = dict(get_routes or {})
        self.api_paths = frozenset(api_paths)
        self.guarded_paths = frozenset(guarded_paths)
        self.max_body_bytes = max_body_bytes
        self.unavailable = unavailable
        self.openapi = openapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == OPENAPI_PATH and method == "GET":
            await send_json(send, 200, self.openapi())
            return
        if path == DOCS_PATH and method == "GET":
            await send_body(send, 200, DOCS_PAGE, "text/html; charset=utf-8")
            return
        if (route := self.get_routes.get(path)) is not None:
            if method not in ("GET", "HEAD"):
                await send_json(
                    send,
                    405,
                    ErrorBody(error=f"{path} answers GET only").model_dump(),
                    {b"allow": b"GET, HEAD"},
                )
                return
            status, payload = route()
            await send_json(send, status, payload)
            return
        if path not in self.api_paths or method != "POST":
            await self.app(scope, receive, send)
            return

        async def refuse(status: int, error: str) -> None:
            logger.warning("%s on %s %s: %s", status, method, path, error)
            await send_json(send, status, ErrorBody(error=error).model_dump())

        headers = scope.get("headers", [])
        if path in self.protected_paths and not self.authorized(headers):
            logger.warning("401 on %s %s: no valid token", method, path)
            await send_json(
                send,
                401,
                ErrorBody(
                    error="this endpoint needs the service token (Authorization: Bearer ...)"
                ).model_dump(),
                {b"www-authenticate": b"Bearer"},
            )
            return
        declared = header(headers, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await refuse(413, self.too_large(declared))
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await refuse(413, self.too_large(f"more than {self.max_body_bytes}"))
                return
            if not message.get("more_body", False):
                break
        kind = media_type(headers)
        if kind != JSON_MEDIA_TYPE and (body or kind is not None):
            shown = "none" if kind is None else repr(kind)
            await refuse(
                415, f"the body must be JSON (Content-Type: application/json); got {shown}"
            )
            return
        if path in self.guarded_paths and (reason := self.unavailable()):
            await refuse(503, reason)
            return
        await self.app(scope, replay(bytes(body), receive), send)

    def authorized(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        given = header(headers, b"authorization") or ""
        scheme, _, credential = given.partition(" ")
        if self.token is None or scheme.lower() != "bearer" or not credential:
            return False
        return hmac.compare_digest(credential.strip().encode(), self.token().encode())

    def too_large(self, size: str) -> str:
        return (
            f"the body ({size} bytes) is over the limit of {self.max_body_bytes} bytes; "
            "send fewer records per request"
        )


def replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands over the body already read, then defers to the real one."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def describe_client_error(error: BaseException) -> str | None:
    """One line for an error that is the client's (a 4xx), or None for the service's own."""
    if isinstance(error, ValidationError):
        problems = [
            f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
            for item in error.errors(include_url=False)
        ]
        more = len(problems) - SHOWN_FIELDS
        return "; ".join(problems[:SHOWN_FIELDS]) + (f" (and {more} more)" if more > 0 else "")
    code = getattr(getattr(error, "error_code", None), "value", None)
    if isinstance(code, int) and 400 <= code < 500:
        return str(error)
    return None


class ClientErrorsAsWarnings(logging.Filter):
    """BentoML logs every failed request at ERROR with a traceback ("Exception on /predict
    [POST]"). A request the client got wrong becomes one WARNING line saying what and which
    field; the service's own failures keep ERROR and their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        summary = describe_client_error(error) if error is not None else None
        if summary is None:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        path, method = (*args, "?", "?")[:2]  # BentoML's message: "Exception on %s [%s]"
        record.msg = "400 on %s %s: %s"
        record.args = (method, path, summary)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


def quiet_client_errors() -> None:
    """Install the filter on the logger BentoML's `log_exception` writes to."""
    logging.getLogger("bentoml._internal.server.http_app").addFilter(ClientErrorsAsWarnings())


def amend_openapi(
    document: dict[str, Any],
    api_paths: Iterable[str],
    guarded_paths: Iterable[str],
    info: dict[str, str],
    protected_paths: Iterable[str] = (),
    get_paths: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """BentoML's OpenAPI document, made true: the request body of /predict is required, every
    error status an endpoint can answer is listed with the `ErrorBody` it really sends, and
    `info` (title, version, description) replaces BentoML's own, whose badges load from the web."""
    document["info"] = info
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    reference = {"$ref": "#/components/schemas/ErrorBody"}
    statuses = {
        "400": "The body is not valid JSON, or a field breaks the data contract",
        "413": "The body is over the size limit",
        "415": "The body is not JSON",
    }
    guarded, protected = set(guarded_paths), set(protected_paths)
    if protected:
        document["components"].setdefault("securitySchemes", {})["serviceToken"] = {
            "type": "http",
            "scheme": "bearer",
        }
    for path, summary in (get_paths or {}).items():
        document.setdefault("paths", {})[path] = {
            "get": {
                "summary": summary,
                "responses": {
                    "200": {
                        "description": summary,
                        "content": {JSON_MEDIA_TYPE: {"schema": {"type": "object"}}},
                    }
                },
            }
        }
    for path in api_paths:
        operation = document.get("paths", {}).get(path, {}).get("post")
        if operation is None:
            continue
        if path in guarded:
            operation.setdefault("requestBody", {})["required"] = True
        answers = statuses | (
            {"503": "No model can score now (the reason is given)"} if path in guarded else {}
        )
        if path in protected:
            answers["401"] = "No valid service token (Authorization: Bearer <token>)"
            operation["security"] = [{"serviceToken": []}]
        # BentoML keys some statuses by int: JSON would hold "400" twice, which Swagger UI
        # refuses to render ("duplicated mapping key").
        responses = {str(code): answer for code, answer in operation.get("responses", {}).items()}
        operation["responses"] = responses
        for status, description in answers.items():
            responses[status] = {
                "description": description,
                "content": {JSON_MEDIA_TYPE: {"schema": reference}},
            }
    return document
