"""Debian's nginx with deploy/nginx.conf (only its upstream and listen port rewritten) in front of
gunicorn started exactly as the Docker image starts it, on 127.0.0.1: it holds slow clients so
/healthz keeps answering, refuses what the app would refuse by its size, answers its own errors in
the API's JSON shape with the app's security headers, limits each client, and lets a request in
flight finish when the proxy container is stopped."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import re
import signal
import socket
import threading
import time

import pytest
import yaml
from PIL import Image, ImageDraw

from app import DEFAULTS
from app.errors import SECURITY_HEADERS
from harness.clients import trickle_upload
from harness.images import encode
from harness.probes import assert_json_error
from harness.process import raw_request
from harness.proxy import NGINX_CONF, local_config
from harness.serving import ROOT, free_port
from harness.slow_clients import BODY, HEADERS, SlowClientRun, probe_health
from harness.strokes import SEVEN

LIMIT = DEFAULTS["MAX_CONTENT_LENGTH"]
_CHUNKED_HEAD = (
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n"
)


def test_the_tested_config_is_deploy_nginx_conf_with_only_upstream_and_port_changed():
    original = NGINX_CONF.read_text().splitlines()
    rewritten = local_config(9001, 9002).splitlines()
    changed = [(a.strip(), b.strip()) for a, b in zip(original, rewritten, strict=True) if a != b]
    assert changed == [
        ("server app:8000;", "server 127.0.0.1:9001;"),
        ("listen 8080;", "listen 127.0.0.1:9002;"),
    ]


def _canvas_seven_data_url() -> str:
    """A drawing as the page sends it: black strokes on a transparent 280×280 canvas, a data URL."""
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    [stroke] = SEVEN
    ImageDraw.Draw(canvas).line([(x * 280, y * 280) for x, y in stroke], fill=(0, 0, 0, 255), width=18)
    return "data:image/png;base64," + base64.b64encode(encode(canvas, "PNG")).decode()


def test_a_canvas_png_is_read_through_the_proxy(stack):
    _, proxy = stack
    body = json.dumps({"image": _canvas_seven_data_url()}).encode()
    status, headers, answer = proxy.request(
        "POST", "/predict?include=feature_maps", body, {"Content-Type": "application/json"}
    )
    assert status == 200, answer[:300]
    assert json.loads(answer)["digit"] == 7
    # The app's own headers pass through once each, not doubled by the proxy.
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value


def test_the_convolution_lab_is_answered_through_the_proxy(stack):
    # location / passes it on: nginx lists only the paths it limits in their own way.
    _, proxy = stack
    body = json.dumps({"pixels": [[0, 1, 0, 1]] * 4, "kernel": [[1, -1]] * 2, "stride": 2}).encode()
    status, _, answer = proxy.request("POST", "/api/convolve", body, {"Content-Type": "application/json"})
    assert status == 200, answer[:300]
    assert json.loads(answer)["map"] == [[-2, -2], [-2, -2]]


@pytest.mark.parametrize(
    "method, path",
    [("POST", "/predict?include=feature_maps"), ("GET", "/api/model"), ("GET", "/"), ("GET", "/openapi.json"),
     ("GET", "/static/js/main.js"), ("GET", "/static/css/style.css")],
)
def test_json_and_text_come_compressed_to_a_client_that_accepts_gzip(stack, method, path):
    _, proxy = stack
    body = json.dumps({"image": _canvas_seven_data_url()}).encode() if method == "POST" else None
    request = {"Content-Type": "application/json"} if body else {}
    _, _, plain = proxy.request(method, path, body, request)
    status, headers, packed = proxy.request(method, path, body, {**request, "Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert headers.get("Vary") == "Accept-Encoding"
    assert len(packed) < len(plain) / 2
    if method == "GET":
        assert gzip.decompress(packed) == plain
    else:  # the same answer but for its timing
        untimed = [{**json.loads(answer), "timing_ms": None} for answer in (gzip.decompress(packed), plain)]
        assert untimed[0] == untimed[1]


def test_static_files_are_revalidated_each_time_and_unchanged_ones_cost_a_304(stack):
    # No hash in their names: a browser must ask again, and gets no body while a file is the same.
    _, proxy = stack
    path = "/static/js/main.js"
    status, headers, body = proxy.request("GET", path, headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    for condition in ({"If-None-Match": headers["ETag"]}, {"If-Modified-Since": headers["Last-Modified"]}):
        status, _, body = proxy.request("GET", path, headers={"Accept-Encoding": "gzip", **condition})
        assert (status, body) == (304, b""), condition
    status, _, body = proxy.request("GET", path, headers={"Range": "bytes=0-99"})
    assert (status, len(body)) == (206, 100)


def test_every_probe_gets_its_answer_through_the_proxy(stack, probes):
    _, proxy = stack
    for probe in probes["valid"][:5] + probes["bad"]:
        status, _, body = proxy.request("POST", probe.path, probe.body, {"Content-Type": probe.content_type})
        assert status == probe.status, (probe.kind, body[:200])
        document = json.loads(body)
        if status == 200:
            assert document["digit"] == probe.digit, probe.kind
        else:
            assert document["error"]["code"] == probe.code, probe.kind


def test_a_6_mib_body_is_refused_with_413_in_json_before_it_is_sent(stack):
    _, proxy = stack
    head = (
        f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        f"Content-Length: {6 * 1024 * 1024}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    error = assert_json_error(*raw_request(proxy.port, head), 413)  # not one byte of the body sent
    assert time.monotonic() - started < 2
    assert error["code"] == "payload_too_large" and str(LIMIT) in error["message"]


def test_a_6_mib_chunked_body_is_refused_with_413_in_json(stack):
    _, proxy = stack
    chunk = b"x" * 65536
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 96 + b"0\r\n\r\n"
    assert_json_error(*raw_request(proxy.port, _CHUNKED_HEAD + b"\r\n" + body), 413)


@pytest.mark.parametrize("size", [LIMIT - 1, LIMIT, LIMIT + 1])
def test_a_body_at_the_limit_gets_the_same_answer_through_the_proxy_as_from_the_app(stack, size):
    gunicorn, proxy = stack

    def request(agent: str) -> bytes:  # gunicorn's access log shows the user agent
        return (
            f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {size}\r\n"
            f"User-Agent: {agent}\r\nConnection: close\r\n\r\n"
        ).encode() + b"\0" * size

    proxied = raw_request(proxy.port, request(f"via-proxy-{size}"))
    direct = raw_request(gunicorn.port, request(f"direct-{size}"))
    time.sleep(0.2)  # gunicorn logs a request once it has answered it
    assert f"direct-{size}" in gunicorn.log()
    reached_the_app = f"via-proxy-{size}" in gunicorn.log()
    assert proxied[0] == direct[0] and 400 <= direct[0] < 500
    assert json.loads(proxied[2])["error"]["code"] == json.loads(direct[2])["error"]["code"]
    for name, value in SECURITY_HEADERS.items():
        assert proxied[1].get(name) == value, name
    assert reached_the_app == (size <= LIMIT)  # a larger one is refused before the app sees it


@pytest.mark.parametrize(
    "request_bytes",
    [
        _CHUNKED_HEAD + b"\r\nzz\r\nabc\r\n0\r\n\r\n",  # chunk size not hex
        _CHUNKED_HEAD + b"\r\n3\r\nabcdef\r\n0\r\n\r\n",  # data longer than its size, no CRLF
        _CHUNKED_HEAD + b"\r\n-3\r\nabc\r\n0\r\n\r\n",  # negative size
        _CHUNKED_HEAD + b"\r\nffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",  # size overflows
        _CHUNKED_HEAD + b"\r\n3;" + b"x" * 9000 + b"\r\nabc\r\n0\r\n\r\n",  # chunk-size line over 8 KB
        _CHUNKED_HEAD + b"Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",  # both framings: smuggling
    ],
    ids=[
        "bad-size",
        "missing-crlf",
        "negative-size",
        "size-overflow",
        "long-size-line",
        "content-length-and-chunked",
    ],
)
def test_malformed_chunked_bodies_get_4xx_in_json(stack, request_bytes):
    gunicorn, proxy = stack
    status, headers, body = raw_request(proxy.port, request_bytes)
    assert 400 <= status < 500, body[:300]
    assert headers.get("Content-Type", "").startswith("application/json")
    assert json.loads(body)["error"]["code"]
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 400),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /_proxy_error HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        # RFC 9112: a transfer coding the server does not understand is a 501.
        (
            b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n",
            501,
        ),
    ],
    ids=["uri-too-long", "header-too-large", "no-request-line", "internal-error-page", "unknown-coding"],
)
def test_requests_nginx_refuses_get_its_json_errors(stack, request_bytes, status):
    _, proxy = stack
    assert_json_error(*raw_request(proxy.port, request_bytes), status)


def test_connections_past_the_per_client_limit_get_429_while_healthz_still_answers(stack, probes):
    _, proxy = stack
    source = "127.0.0.3"
    probe = probes["valid"][0]
    head = (
        f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: {probe.content_type}\r\n"
        f"Content-Length: {len(probe.body)}\r\n\r\n"
    ).encode()
    held = []
    try:
        for _ in range(20):  # each waits for the rest of its body, counted against its client
            sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5, source_address=(source, 0))
            sock.sendall(head + probe.body[:10])
            held.append(sock)
        time.sleep(0.3)
        error = assert_json_error(*raw_request(proxy.port, head + probe.body, source=source), 429)
        assert error["code"] == "too_many_requests"
        status, _, _ = proxy.request("GET", "/healthz", source=source)
        assert status == 200
        # Another client is not affected.
        status, _, body = proxy.request(
            "POST", "/predict", probe.body, {"Content-Type": probe.content_type}, source="127.0.0.4"
        )
        assert status == 200 and json.loads(body)["digit"] == probe.digit
    finally:
        for sock in held:
            sock.close()


def test_requests_past_the_per_client_rate_get_429_with_retry_after(stack):
    _, proxy = stack
    connection = http.client.HTTPConnection(
        "127.0.0.1", proxy.port, timeout=5, source_address=("127.0.0.5", 0)
    )
    statuses, refused = [], None
    try:
        for _ in range(120):
            connection.request("POST", "/predict", b"{", {"Content-Type": "application/json"})
            response = connection.getresponse()
            body = response.read()
            statuses.append(response.status)
            if response.status == 429 and refused is None:
                refused = (response.status, dict(response.getheaders()), body)
    finally:
        connection.close()
    assert set(statuses[:40]) == {400}, "the burst is served (the app refuses the bad JSON itself)"
    assert refused is not None, f"no 429 in {len(statuses)} requests"
    assert_json_error(*refused, 429)
    assert refused[1]["Retry-After"] == "1"


def test_the_app_down_gives_502_in_json(start_proxy):
    proxy = start_proxy(free_port())  # nothing listens there
    error = assert_json_error(*proxy.request("GET", "/healthz"), 502)
    assert error["code"] == "bad_gateway"


@pytest.mark.slow
def test_an_app_that_never_answers_gives_504_in_json(start_proxy):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections (the kernel does), never reads or answers
    try:
        proxy = start_proxy(silent.getsockname()[1])
        started = time.monotonic()
        error = assert_json_error(*proxy.request("GET", "/healthz", timeout=30), 504)
        assert error["code"] == "gateway_timeout"
        assert time.monotonic() - started < 15  # proxy_read_timeout, not a client's patience
    finally:
        silent.close()


def _stalled(port: int, request: bytes) -> tuple[float, str]:
    """Send ``request`` (incomplete), then wait: (seconds until the proxy hung up, how)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        started = time.monotonic()
        try:
            answer = sock.recv(4096)
            how = f"closed after {answer[:60]!r}"
        except ConnectionResetError:
            how = "reset"
        return time.monotonic() - started, how


@pytest.mark.slow
def test_a_client_that_stops_sending_is_cut_off_and_the_app_never_sees_it(stack):
    gunicorn, proxy = stack
    timeouts = {
        kind: int(re.search(rf"client_{kind}_timeout (\d+)s;", NGINX_CONF.read_text()).group(1))
        for kind in ("header", "body")
    }
    stalls = {
        "header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: stalled-header\r\n",
        "body": b"POST /predict HTTP/1.1\r\nHost: x\r\nUser-Agent: stalled-body\r\n"
        b"Content-Type: image/png\r\nContent-Length: 100\r\n\r\nabc",
    }
    results = {}
    threads = [
        threading.Thread(target=lambda k=k, r=r: results.__setitem__(k, _stalled(proxy.port, r)))
        for k, r in stalls.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    for kind, (seconds, how) in results.items():
        assert timeouts[kind] - 1 < seconds < timeouts[kind] + 5, (kind, seconds)
        assert how in ("reset", "closed after b''"), (kind, how)
    assert "stalled-" not in gunicorn.log()


@pytest.mark.slow
def test_128_slow_clients_leave_healthz_answering_10_of_10_probes_within_1_s(stack, probes):
    _, proxy = stack
    png = next(p for p in probes["valid"] if p.kind == "png")
    run = SlowClientRun(
        proxy.port, png, header_clients=64, body_clients=64, probes=10, probe_timeout=1.0
    ).run()
    assert all(c.connected for c in run.clients)
    assert run.answered() == 10, [(p.status, round(p.seconds, 3)) for p in run.health]
    # Slow is not refused: once they finish, every one of them is answered.
    assert run.statuses(HEADERS) == {200: 64}
    assert run.statuses(BODY) == {200: 64}


@pytest.mark.slow
def test_without_the_proxy_far_fewer_slow_clients_stop_healthz(stack, probes):
    gunicorn, _ = stack
    png = next(p for p in probes["valid"] if p.kind == "png")
    run = SlowClientRun(
        gunicorn.port, png, header_clients=16, body_clients=16, probes=4, probe_timeout=1.0
    ).run()
    assert run.answered() < 4, "32 slow clients straight at gunicorn should hold all of its threads"
    assert probe_health(gunicorn.port).status == 200  # and it recovers once they finish


def _compose_stop_signal() -> signal.Signals:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    return signal.Signals[services["proxy"]["stop_signal"]]


@pytest.mark.slow
def test_the_proxy_containers_stop_signal_lets_an_upload_in_flight_finish(
    start_gunicorn, start_proxy, probes
):
    gunicorn = start_gunicorn()
    proxy = start_proxy(gunicorn.port)
    probe = next(p for p in probes["valid"] if p.kind == "png")
    answers = []
    upload = threading.Thread(target=lambda: answers.append(trickle_upload(proxy.port, probe, 2.0)))
    upload.start()
    time.sleep(0.7)  # the upload is under way, its body half read by nginx
    proxy.process.send_signal(_compose_stop_signal())
    time.sleep(0.3)
    with pytest.raises(OSError):  # no new connections once stopping
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2).close()
    upload.join(30)
    assert proxy.process.wait(15) == 0, proxy.log()
    status, body = answers[0]
    assert status == 200 and json.loads(body)["digit"] == probe.digit
    # Then the app, as compose stops it (after the proxy that depends on it).
    assert gunicorn.stop() == 0
