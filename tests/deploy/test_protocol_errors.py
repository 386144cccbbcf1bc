"""Errors answered before the app sees a request, by Debian's nginx with deploy/nginx.conf and by
gunicorn as the image starts it: each in the API's JSON shape with the app's security headers.
Behind nginx, nginx's limits are the ones that answer: whatever it lets through, gunicorn takes.
And a request whose client has given up (nginx after its 504) is dropped, not computed."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from app.errors import CODES
from harness.probes import assert_json_error
from harness.process import raw_request
from harness.proxy import NGINX_CONF
from harness.serving import config_value
from harness.slow_clients import HEADERS, SlowClient, loopback_address

NGINX_TEXT = NGINX_CONF.read_text()
# large_client_header_buffers 4 8k: the request line and each header line must fit one buffer.
_BUFFERS = re.search(r"large_client_header_buffers (\d+) (\d+)k;", NGINX_TEXT)
NGINX_BUFFERS, NGINX_LINE = int(_BUFFERS.group(1)), int(_BUFFERS.group(2)) * 1024 - 2  # less CRLF


def _get(target: bytes, headers: bytes = b"", version: bytes = b"HTTP/1.1", method: bytes = b"GET") -> bytes:
    head = method + b" " + target + b" " + version + b"\r\nHost: x\r\n"
    return head + headers + b"Connection: close\r\n\r\n"


def _line_of(length: int) -> bytes:
    """A request line of exactly ``length`` bytes (CRLF not counted): GET /healthz?aaa... HTTP/1.1."""
    return b"/healthz?" + b"a" * (length - len("GET /healthz? HTTP/1.1"))


def _header(name: bytes, length: int) -> bytes:
    """A header line of exactly ``length`` bytes, CRLF not counted."""
    return name + b": " + b"v" * (length - len(name) - 2) + b"\r\n"


def _headers(count: int) -> bytes:
    return b"".join(b"X-Header-%d: v\r\n" % i for i in range(count))


@pytest.mark.parametrize(
    "request_bytes, status, code, message",
    [
        (_get(b"/", method=b"TRACE"), 405, "method_not_allowed", "not allowed"),
        (_get(b"/healthz", version=b"HTTP/2.0"), 505, "http_version_not_supported", "HTTP/1.1"),
        (_get(b"/healthz", version=b"HTTP/3.1"), 505, "http_version_not_supported", "HTTP/1.1"),
        # An HTTP/2 client's preface on this HTTP/1 port.
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad_request", "understood"),
        (_get(_line_of(NGINX_LINE + 1)), 414, "request_uri_too_long", "too long"),
        (_get(b"/healthz", _header(b"User-Agent", NGINX_LINE + 1)), 400, "bad_request", "understood"),
        # Every line fits, all of them together do not.
        (_get(b"/healthz", _header(b"X-A", 7000) * (NGINX_BUFFERS + 1)), 400, "bad_request", "understood"),
        (_get(b"/healthz", b"Host: y\r\n"), 400, "bad_request", "understood"),
        (b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "bad_request", "understood"),  # no Host
    ],
    ids=[
        "trace", "http-2.0", "http-3.1", "http2-preface", "line-over-8190", "header-line-over-8190",
        "headers-over-32k", "two-hosts", "no-host",
    ],
)
def test_nginx_answers_protocol_errors_in_json(stack, request_bytes, status, code, message):
    _, proxy = stack
    error = assert_json_error(*raw_request(proxy.port, request_bytes), status)
    assert error["code"] == code and message in error["message"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        _get(b"/healthz", _headers(150)),  # gunicorn alone refuses more than 100 headers
        _get(_line_of(NGINX_LINE)),  # gunicorn's default line limit is 4094
        _get(b"/healthz", _header(b"User-Agent", NGINX_LINE)),
        _get(b"/healthz", b"User-Agent:" + b"u" * (NGINX_LINE - 11) + b"\r\n"),  # nginx adds a space
        # nginx appends the client's address to it.
        _get(b"/healthz", _header(b"X-Forwarded-For", NGINX_LINE)),
        _get(b"/healthz", _header(b"User-Agent", NGINX_LINE) + _header(b"If-None-Match", NGINX_LINE)),
    ],
    ids=[
        "150-headers", "longest-line", "longest-header", "longest-header-without-space",
        "longest-forwarded-for", "two-longest-headers",
    ],
)
def test_what_nginx_lets_through_gunicorn_never_refuses(stack, request_bytes):
    _, proxy = stack
    status, _, body = raw_request(proxy.port, request_bytes)
    assert status == 200, body[:300]


def test_gunicorns_limits_hold_what_nginx_forwards():
    # The request line goes on as it came; the headers are the ones nginx names, each at most one of
    # its lines plus a space and ", " and an IPv6 address appended (X-Forwarded-For).
    assert config_value("limit_request_line") >= NGINX_LINE
    assert config_value("limit_request_field_size") >= NGINX_LINE + 1 + len(", ") + 39 + len("\r\n")
    assert "proxy_pass_request_headers off;" in NGINX_TEXT
    forwarded = re.findall(r"^\s*proxy_set_header (\S+) ", NGINX_TEXT, re.MULTILINE)
    # Plus the ones nginx always sets: Host, Connection, Content-Length or Transfer-Encoding.
    assert len(forwarded) + 3 < config_value("limit_request_fields")


# Straight at gunicorn: the errors it raises itself, before the app sees the request.
GUNICORN_ERRORS = [
    (_get(b"/healthz", _headers(150)), 431, "request_header_fields_too_large", "limit request headers"),
    (_get(b"/healthz", _header(b"User-Agent", 16384)), 431, "request_header_fields_too_large", "size"),
    (_get(b"/" + b"a" * 9000), 414, "request_uri_too_long", "Request Line is too large (9014 > 8190)"),
    (b"GARBAGE\r\n\r\n", 400, "bad_request", "Invalid"),
    (_get(b"/healthz", version=b"HTTP/2.0"), 400, "bad_request", "Invalid HTTP Version"),
    (_get(b"/healthz", method=b"get"), 400, "bad_request", "Invalid Method"),
    (_get(b"/\xff"), 400, "bad_request", "Invalid Request Line"),
    (_get(b"/healthz", b"X-A: a\r\n b\r\n"), 400, "bad_request", "Obsolete line folding"),
    (_get(b"/predict", b"Content-Length: 1\r\nContent-Length: 2\r\n", method=b"POST"), 400,
     "bad_request", "CONTENT-LENGTH"),
    (_get(b"/predict", b"Expect: telepathy\r\nContent-Length: 0\r\n", method=b"POST"), 417,
     "expectation_failed", "telepathy"),
    (_get(b"/predict", b"Transfer-Encoding: foo, chunked\r\n", method=b"POST") + b"0\r\n\r\n", 501,
     "not_implemented", "foo"),
]


@pytest.mark.parametrize(
    "request_bytes, status, code, message",
    GUNICORN_ERRORS,
    ids=[
        "150-headers", "header-over-16k", "line-over-8190", "no-request-line", "http-2.0",
        "lowercase-method", "non-ascii-target", "folded-header", "two-content-lengths", "unknown-expect",
        "unknown-coding",
    ],
)
def test_gunicorn_answers_its_own_errors_in_json(stack, request_bytes, status, code, message):
    gunicorn, _ = stack
    answer = raw_request(gunicorn.port, request_bytes)
    error = assert_json_error(*answer, status)
    assert error["code"] == code and message in error["message"], error
    assert answer[1]["Connection"] == "close"


def test_every_code_gunicorn_answers_with_is_in_the_apps_registry_with_its_status():
    # nginx's codes: tests/deploy/test_manifests.py. gunicorn's: the table above, and its 500.
    answered = {(status, code) for _, status, code, _ in GUNICORN_ERRORS}
    for status, code in sorted(answered | set(config_value("_ERROR_CODES").items())):
        assert code in CODES and CODES[code].status == status, (status, code)


def _hold_every_thread(port: int, threads: int) -> tuple[threading.Event, list[threading.Thread]]:
    """Clients trickling their headers, more of them than ``threads``: each holds a thread of a
    one-worker gunicorn until ``finish`` is set, so a request sent now waits in its queue."""
    finish = threading.Event()
    clients = [SlowClient(port, HEADERS, None, loopback_address(i), interval=0.2) for i in range(threads + 2)]
    running = [threading.Thread(target=c.run, args=(finish, 60), daemon=True) for c in clients]
    for thread in running:
        thread.start()
    time.sleep(1.0)  # every thread is reading a slow client's headers
    return finish, running


def test_a_queued_request_whose_client_hung_up_is_dropped_and_one_still_waiting_is_answered(start_gunicorn):
    server = start_gunicorn({"WEB_CONCURRENCY": "1"}, name="queue")
    finish, running = _hold_every_thread(server.port, config_value("threads"))
    waiting = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as gone:
            gone.sendall(_get(b"/healthz", b"User-Agent: gave-up\r\n"))
        waiting.sendall(_get(b"/healthz", b"User-Agent: still-waiting\r\n"))
        time.sleep(0.5)
        finish.set()
        for thread in running:
            thread.join(30)
        assert waiting.recv(4096).startswith(b"HTTP/1.1 200 ")
    finally:
        waiting.close()
    time.sleep(0.3)
    log = server.log()
    assert "still-waiting" in log and "gave-up" not in log
    assert "Dropped GET /healthz: the client hung up before it was handled" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_a_request_nginx_gave_up_on_with_a_504_is_dropped_before_the_app_computes_it(
    start_gunicorn, start_proxy
):
    server = start_gunicorn({"WEB_CONCURRENCY": "1"}, name="timeout")
    proxy = start_proxy(server.port)
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", NGINX_TEXT).group(1))
    finish, running = _hold_every_thread(server.port, config_value("threads"))
    try:
        started = time.monotonic()
        answer = raw_request(proxy.port, _get(b"/healthz", b"User-Agent: nobody-waits\r\n"), timeout=30)
        assert read_timeout <= time.monotonic() - started < read_timeout + 5
        assert assert_json_error(*answer, 504)["code"] == "gateway_timeout"
    finally:
        finish.set()
        for thread in running:
            thread.join(30)
    time.sleep(0.5)
    assert "Dropped GET /healthz" in server.log() and "nobody-waits" not in server.log()
