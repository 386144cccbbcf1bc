"""Every response carries the security headers, static files and errors included; a view may choose
its own Content-Security-Policy."""

from __future__ import annotations

import pytest

from app import create_app, errors

ZEROS = [[0] * 28] * 28


def _assert_security_headers(response) -> None:
    for name, value in errors.SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/", {}),
        ("get", "/favicon.ico", {}),
        ("get", "/healthz", {}),
        ("get", "/readyz", {}),
        ("get", "/api/model", {}),
        ("get", "/openapi.json", {}),
        ("post", "/predict", {"json": {"pixels": ZEROS}}),
        ("post", "/predict/batch", {"json": {"images": [{"pixels": ZEROS}]}}),
        ("post", "/predict", {"json": {"pixels": 1}}),  # 400
        ("post", "/predict", {"data": "x", "content_type": "text/plain"}),  # 415
        ("post", "/predict", {"data": b"\0" * 600_000, "content_type": "image/png"}),  # 413
        ("get", "/missing", {}),  # 404
        ("get", "/predict", {}),  # 405
    ],
)
def test_every_response_carries_the_security_headers(client, method, path, kwargs):
    _assert_security_headers(getattr(client, method)(path, **kwargs))


def test_static_files_carry_the_security_headers(tiny_weights, tmp_path):
    app = create_app({"WEIGHTS_PATH": str(tiny_weights)})
    assert app.has_static_folder, "the static route exists when static/ does"
    (tmp_path / "probe.css").write_text("body { color: black; }\n")
    app.static_folder = str(tmp_path)
    response = app.test_client().get("/static/probe.css")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "body { color: black; }\n"
    _assert_security_headers(response)


def test_a_view_may_choose_its_own_policy_and_still_gets_the_other_headers(tiny_weights):
    app = create_app({"WEIGHTS_PATH": str(tiny_weights)})

    @app.get("/strict")
    def strict():
        return "x", 200, {"Content-Security-Policy": "default-src 'none'"}

    response = app.test_client().get("/strict")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    for name, value in errors.SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert response.headers[name] == value
