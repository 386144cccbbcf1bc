"""Every error the service sends, in one JSON form, and the security headers on every response.

    {"error": {"code": "invalid_image", "message": "..."}}
"""

from __future__ import annotations

from flask import Flask, Response, current_app
from werkzeug.exceptions import ClientDisconnected, HTTPException

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Werkzeug's own HTTP errors (routing, body limits) under the codes the API documents.
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    """A request the API refuses: raised anywhere in a view, answered by ``error_response``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> Response:
    """The one JSON error body: ``{"error": {"code": code, "message": message}}`` with ``status``."""
    response = current_app.json.response(error={"code": code, "message": message})
    response.status_code = status
    return response


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = HTTP_ERROR_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_")
    if status == 413:
        message = f"request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes"
    else:
        message = exc.description or exc.name
    response = error_response(status, code, message)
    if status == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def _client_disconnected(exc: ClientDisconnected) -> Response:
    # Werkzeug's form parser met the end of a body cut short (a client that went away).
    return error_response(400, "incomplete_body", "the request body ended before all of it arrived")


def _unexpected_error(exc: Exception) -> Response:
    # The traceback goes to the log, never to the client. Tests prove no input gets here.
    current_app.logger.exception("unhandled error")
    return error_response(500, "internal_error", "the server failed to handle this request")


_SECURITY_HEADER_ITEMS = list(SECURITY_HEADERS.items())


def _add_security_headers(response: Response) -> Response:
    headers = response.headers
    # One look-up instead of five: nothing else in the app sets these headers, so either all
    # are missing (the usual case: append them) or a view chose its own.
    if "Content-Security-Policy" not in headers:
        headers.extend(_SECURITY_HEADER_ITEMS)
    else:
        for name, value in _SECURITY_HEADER_ITEMS:
            headers.setdefault(name, value)
    return response


def register(app: Flask) -> None:
    """Install the JSON error handlers and the security headers on ``app``."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(ClientDisconnected, _client_disconnected)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.after_request(_add_security_headers)
