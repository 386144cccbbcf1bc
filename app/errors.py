"""Every error the service sends: one registry of codes, one JSON form, one ``error_response()``.

    {"error": {"code": "invalid_image", "message": "..."}}

``CODES`` is the only list of error codes: the API raises ``ApiError(code, message)`` from it (and
preprocessing its subclasses, each with its code), ``app.openapi`` documents it, and the tests
import it. The security headers that go on every response live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

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

# Where a code can be answered: the whole of a /predict request, the whole of a /predict/batch
# request, one image's slot in a batch's results, by the proxy in front (deploy/nginx.conf), or
# by gunicorn itself before the app sees the request (gunicorn.conf.py writes those in JSON too).
PREDICT, BATCH, SLOT, PROXY, SERVER = "predict", "batch", "slot", "proxy", "server"
# ... and a POST /api/convolve request (the convolution lab).
CONVOLVE = "convolve"
# /predict/number answers what /predict does (a pixel array aside: invalid_parameter), and these.
NUMBER = "number"


@dataclass(frozen=True)
class ErrorCode:
    """One documented error: its HTTP status, what it means, and where the API can answer with it."""

    status: int
    meaning: str
    where: frozenset[str] = frozenset()


def _code(status: int, meaning: str, *where: str) -> ErrorCode:
    return ErrorCode(status, meaning, frozenset(where))


CODES: dict[str, ErrorCode] = {
    # The request as a whole.
    "bad_request": _code(400, "the request could not be understood", PROXY, SERVER),
    "invalid_json": _code(400, "the body is not a JSON object", PREDICT, BATCH, CONVOLVE),
    "missing_field": _code(400, "a required field or part is missing", PREDICT, BATCH, SLOT, CONVOLVE),
    "invalid_parameter": _code(400, "a parameter or field has the wrong type or value",
                               PREDICT, BATCH, SLOT, CONVOLVE),
    "empty_batch": _code(400, "the batch holds no images", BATCH),
    "incomplete_body": _code(400, "the body ended before all of it arrived", PREDICT, BATCH, CONVOLVE),
    "invalid_chunked_body": _code(400, "the chunked encoding of the body is malformed",
                                  PREDICT, BATCH, CONVOLVE),
    "invalid_multipart": _code(400, "the multipart body is malformed or cut short", PREDICT, BATCH),
    "too_many_parts": _code(400, "the multipart body has more parts than allowed", PREDICT, BATCH),
    "too_fragmented": _code(400, "the body arrived in too many tiny chunks to read",
                            PREDICT, BATCH, CONVOLVE),
    # One image.
    "invalid_base64": _code(400, "the image string is not base64 or a base64 data URL", PREDICT, SLOT),
    "invalid_image": _code(400, "not a readable image of an accepted format", PREDICT, SLOT),
    "invalid_pixels": _code(400, "pixels are not 28 rows of 28 numbers in 0-1 or 0-255", PREDICT, SLOT),
    "no_digit_found": _code(422, "the image holds no digit (blank, uniform or noise)", PREDICT, SLOT),
    # The convolution lab: what no schema can say, as the sizes depend on each other.
    "window_does_not_fit": _code(400, "the filter is larger than the padded input, or the pooling window "
                                 "larger than the map", CONVOLVE),
    "too_many_digits": _code(422, "the image holds more digit-sized marks than a number may have", NUMBER),
    "too_many_marks": _code(422, "the ink is broken into more pieces than a line of digits has", NUMBER),
    # Limits.
    "payload_too_large": _code(413, "the body is larger than the body limit",
                               PREDICT, BATCH, PROXY, CONVOLVE),
    "image_too_large": _code(413, "an image declares more than its limits (pixels, decoding cost, metadata)",
                             PREDICT, SLOT),
    "batch_too_large": _code(413, "more images than the batch limit", BATCH),
    "too_many_pixels": _code(413, "the images together declare more pixels than one request may",
                             PREDICT, BATCH),
    "unsupported_media_type": _code(415, "the Content-Type is not one the API reads",
                                    PREDICT, BATCH, CONVOLVE),
    # Routing and the server.
    "not_found": _code(404, "no such path", PROXY),
    "misread_unavailable": _code(404, "no readable list of misread test digits beside the weights"),
    "replay_unavailable": _code(404, "no readable training replay beside the weights (?snapshot=)",
                                PREDICT, BATCH),
    "method_not_allowed": _code(405, "the path does not take this method", PROXY),
    "internal_error": _code(500, "the server failed to handle the request", PROXY, SERVER),
    "server_busy": _code(503, "the server is decoding as many large images as it holds at once; "
                         "retry after Retry-After seconds", PREDICT, BATCH),
    # Answered by the proxy (and some by gunicorn) alone, in the same shape.
    "request_uri_too_long": _code(414, "the request URI is too long", PROXY, SERVER),
    "too_many_requests": _code(429, "too many requests or connections from one client", PROXY),
    "not_implemented": _code(501, "a transfer coding the server does not implement", PROXY, SERVER),
    "http_version_not_supported": _code(505, "the request's HTTP version is not supported", PROXY),
    # Answered by gunicorn alone (straight at it; behind nginx, nginx's stricter limits answer first).
    "expectation_failed": _code(417, "an Expect header other than 100-continue", SERVER),
    "request_header_fields_too_large": _code(431, "more than 100 headers, or a header line over 16 KiB",
                                             SERVER),
    "bad_gateway": _code(502, "the app behind the proxy is unavailable", PROXY),
    "gateway_timeout": _code(504, "the app behind the proxy did not answer in time", PROXY),
}

# Werkzeug's own HTTP errors (routing, its body limit) under the codes above.
_HTTP_STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                      413: "payload_too_large", 415: "unsupported_media_type"}


def codes_for(where: str, status: int | None = None) -> list[str]:
    """The codes the API can answer with ``where`` (PREDICT, BATCH or SLOT), optionally of one status."""
    return [code for code, error in CODES.items()
            if where in error.where and (status is None or error.status == status)]


def number_codes(status: int | None = None) -> list[str]:
    """The codes /predict/number can answer with, optionally of one status: /predict's (a pixel
    array is refused before it is read, so never invalid_pixels) and its own (NUMBER)."""
    return [code for code, error in CODES.items()
            if (PREDICT in error.where and code != "invalid_pixels" or NUMBER in error.where)
            and (status is None or error.status == status)]


class ApiError(Exception):
    """A request the API refuses: raised anywhere in a view (or in preprocessing, whose errors
    subclass it with their ``code``), answered by ``error_response`` with its ``headers``."""

    headers: dict[str, str] = {}  # e.g. Retry-After on a 503

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = CODES[code].status

    def without_traceback(self) -> ApiError:
        """This error without its traceback, cause or context, to keep in a batch slot: their frames
        would keep what they were handling (a decoded image) alive."""
        self.__cause__ = self.__context__ = None
        return self.with_traceback(None)


def error_body(code: str, message: str) -> dict:
    """The one JSON error shape: ``{"error": {"code": code, "message": message}}``."""
    return {"error": {"code": code, "message": message}}


def error_response(status: int, code: str, message: str) -> Response:
    """``error_body(code, message)`` as a JSON response with ``status``."""
    response = current_app.json.response(error_body(code, message))
    response.status_code = status
    return response


def _api_error(exc: ApiError) -> Response:
    response = error_response(exc.status, exc.code, exc.message)
    response.headers.update(exc.headers)
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_STATUS_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_")
    if status == 413:
        # Werkzeug raises this only for its body limit (Content-Length or a stream over it).
        message = f"the request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes"
    else:
        message = exc.description or exc.name
    response = error_response(status, code, message)
    if status == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response


def _client_disconnected(exc: ClientDisconnected) -> Response:
    # The body ended before its Content-Length: a client that went away or cut it short.
    return error_response(400, "incomplete_body", "the request body ended before all of it arrived")


def _unexpected_error(exc: Exception) -> Response:
    # The traceback goes to the log, never to the client. Tests prove no input gets here.
    current_app.logger.exception("unhandled error")
    return error_response(500, "internal_error", "the server failed to handle this request")


def _add_security_headers(response: Response) -> Response:
    # setdefault: a view that chose its own policy keeps it and still gets the other headers.
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register(app: Flask) -> None:
    """Install the JSON error handlers and the security headers on ``app``."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(ClientDisconnected, _client_disconnected)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.after_request(_add_security_headers)
