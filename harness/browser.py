"""The page in a browser, as the browser tests drive it: the app on a real server
(``LiveServer``), a tab with helpers that act as a person would (``DigitPage``), the viewports
the tests use, accessibility checks and images to upload. The fixtures that hand these out live
in tests/browser/conftest.py.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import urllib.request
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

from app import create_app
from harness.images import encode
from harness.serving import ROOT

ARTIFACTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
PHONE_CONTEXT = {"viewport": PHONE, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
PHONE_390 = {**PHONE_CONTEXT, "viewport": {"width": 390, "height": 844}}

# A zig-zag across the pad, nothing like a digit: the API answers "not_a_digit" for it (the issue's
# scribble read "3, 99.0% sure").
ZIGZAG = [[(0.15 + 0.7 * k / 8, 0.3 if k % 2 == 0 else 0.7) for k in range(9)]]


# Records Content-Security-Policy violations inside the page, from the first script on.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


# Keeps the JSON answer of every /predict request, in the order the requests were sent, so a
# test can compare what the page shows with what the API said for the newest request.
PREDICTION_RECORDER = """
window.__predictions = [];
const fetchBeforeRecorder = window.fetch;
window.fetch = async (...args) => {
  if (!String(args[0]).includes("/predict")) return fetchBeforeRecorder(...args);
  const entry = {url: String(args[0]), result: null};
  window.__predictions.push(entry);
  const response = await fetchBeforeRecorder(...args);
  response.clone().json().then((json) => { entry.result = json; }, () => {});
  return response;
};
"""


class LiveServer:
    """The app served by werkzeug on 127.0.0.1 (a free port) from a background thread."""

    def __init__(self, weights: Path):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no log line per request
        app = create_app({"WEIGHTS_PATH": str(weights), "TESTING": True})
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


# Parts off screen skip rendering (content-visibility: auto) and a full-page capture does not
# scroll to them, so it would show them blank: render them for the capture, as a reader
# scrolling by would see them, then hand them back to the stylesheet.
RENDER_SKIPPED_PARTS = """(render) => {
    if (render) {
        window.__renderedForCapture = [...document.querySelectorAll("*")]
            .filter((element) => getComputedStyle(element).contentVisibility === "auto");
        for (const element of window.__renderedForCapture) element.style.contentVisibility = "visible";
    } else {
        for (const element of window.__renderedForCapture || []) element.style.contentVisibility = "";
    }
}"""


class DigitPage:
    """The drawing page in a browser tab, with helpers that act as a person would."""

    def __init__(self, page):
        self.page = page
        self.console_errors: list[str] = []
        self.failed_responses: list[str] = []
        self.predict_requests: list[str] = []
        self.allowed_errors: list[re.Pattern] = []
        self._finger = None  # the CDP session of a touch still down
        page.add_init_script(CSP_RECORDER)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        page.on("request", self._on_request)
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _on_request(self, request) -> None:
        if "/predict" in request.url:
            self.predict_requests.append(request.method)

    def _on_response(self, response) -> None:
        if response.status >= 400:
            self.failed_responses.append(f"{response.status} {response.url}")

    def allow_errors(self, pattern: str) -> None:
        """Expect console errors and failed responses matching ``pattern`` (a regex)."""
        self.allowed_errors.append(re.compile(pattern))

    def problems(self) -> list[str]:
        """Console errors, CSP violations and failed responses that were not expected."""
        found = list(self.console_errors) + list(self.failed_responses)
        if not self.page.is_closed():
            found += [f"CSP violation: {v}" for v in self.page.evaluate("window.__cspViolations || []")]
        return [p for p in found if not any(rule.search(p) for rule in self.allowed_errors)]

    # --- navigation and reading -----------------------------------------------------------

    def open(self, server: LiveServer) -> DigitPage:
        self.page.goto(server.url + "/")
        self.page.wait_for_selector("html[data-ready]", state="attached")
        # The model card fills the summary (or says what is missing).
        self.page.wait_for_selector("#model-summary > *", state="attached")
        return self

    def wait_until(self, expression: str, timeout: float = 10_000) -> None:
        """Poll a JavaScript function until it returns true.

        Not ``page.wait_for_function``: its polling evaluates a string inside the page, which
        the page's CSP (no 'unsafe-eval') rightly refuses.
        """
        deadline = time.monotonic() + timeout / 1000
        while not self.page.evaluate(expression):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} ms waiting for {expression}")
            self.page.wait_for_timeout(15)

    def by_test_id(self, test_id: str):
        return self.page.get_by_test_id(test_id)

    def wait_for_answer(self, timeout: float = 10_000) -> str:
        """Wait until the answer on screen belongs to the newest drawing; return its state."""
        self.wait_until(
            """() => {
                const a = document.getElementById("answer");
                return a.dataset.requestedVersion !== undefined
                    && a.dataset.requestedVersion === a.dataset.renderedVersion;
            }""",
            timeout=timeout,
        )
        return self.page.get_attribute("#answer", "data-state")

    def prediction(self) -> str:
        return self.by_test_id("prediction").text_content()

    def probabilities(self) -> dict[int, str]:
        bars = self.by_test_id("probabilities").locator("> li")
        return {
            int(bars.nth(i).get_attribute("data-digit")): bars.nth(i).inner_text()
            for i in range(bars.count())
        }

    def network_input(self) -> list[int]:
        """The grey levels of the 28×28 input canvas, row by row."""
        return self.page.evaluate(
            """() => {
                const c = document.querySelector('[data-testid="network-input"]');
                const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                return Array.from({length: data.length / 4}, (_, i) => data[i * 4] * (data[i * 4 + 3] > 0));
            }"""
        )

    # --- drawing ------------------------------------------------------------------------------

    def canvas_box(self) -> dict:
        canvas = self.by_test_id("draw-canvas")
        canvas.scroll_into_view_if_needed()
        return canvas.bounding_box()

    def to_page(self, box: dict, point: tuple[float, float]) -> tuple[float, float]:
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    def record_predictions(self) -> None:
        """Keep the API's answers (call before open); read them with ``newest_prediction``."""
        self.page.add_init_script(PREDICTION_RECORDER)

    def newest_prediction(self) -> dict:
        """The JSON the API answered to the newest /predict request."""
        self.wait_until("() => window.__predictions.at(-1)?.result != null")
        return self.page.evaluate("window.__predictions.at(-1)")

    def draw(self, strokes, *, pixels_per_step: float = 6.0, lift: bool = True) -> None:
        """Draw strokes with the mouse: press, move through the points (in small steps), release
        (the last stroke stays pressed when ``lift`` is false)."""
        box = self.canvas_box()
        mouse = self.page.mouse
        for stroke in strokes:
            x, y = self.to_page(box, stroke[0])
            mouse.move(x, y)
            mouse.down()
            for point in stroke[1:]:
                nx, ny = self.to_page(box, point)
                steps = max(1, round(math.hypot(nx - x, ny - y) / pixels_per_step))
                mouse.move(nx, ny, steps=steps)
                x, y = nx, ny
            if lift or stroke is not strokes[-1]:
                mouse.up()

    def draw_by_touch(self, strokes, *, pixels_per_step: float = 6.0, lift: bool = True) -> None:
        """Draw strokes with a finger: touch events through the Chrome DevTools Protocol (the
        finger stays down at the end of the last stroke when ``lift`` is false: ``lift_finger``)."""
        box = self.canvas_box()
        cdp = self.page.context.new_cdp_session(self.page)
        for stroke in strokes:
            x, y = self.to_page(box, stroke[0])
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
            for point in stroke[1:]:
                nx, ny = self.to_page(box, point)
                steps = max(1, round(math.hypot(nx - x, ny - y) / pixels_per_step))
                for k in range(1, steps + 1):
                    px, py = x + (nx - x) * k / steps, y + (ny - y) * k / steps
                    cdp.send(
                        "Input.dispatchTouchEvent",
                        {"type": "touchMove", "touchPoints": [{"x": px, "y": py}]},
                    )
                x, y = nx, ny
            if lift or stroke is not strokes[-1]:
                cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        if lift:
            cdp.detach()
        else:
            self._finger = cdp  # the touch belongs to this session: it must end it

    def lift_finger(self) -> None:
        """End a touch stroke left down by ``draw_by_touch(..., lift=False)``."""
        self._finger.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        self._finger.detach()
        self._finger = None

    def read(self, strokes) -> str:
        """Draw, wait for the newest answer and return the digit read."""
        self.draw(strokes)
        state = self.wait_for_answer()
        assert state == "answer", f"expected an answer, got {state}: {self.page.inner_text('#error')}"
        return self.prediction()

    def screenshot_path(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        return ARTIFACTS / f"{name}.png"

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        path = self.screenshot_path(name)
        if full_page:
            self.page.evaluate(RENDER_SKIPPED_PARTS, True)
        self.page.screenshot(path=str(path), full_page=full_page)
        if full_page:
            self.page.evaluate(RENDER_SKIPPED_PARTS, False)
        return path


# --- checks and data beside the page ---------------------------------------------------------


def tap_until(target, done, attempts: int = 3, timeout: float = 3.0) -> bool:
    """Tap the locator ``target`` until ``done()`` is true; whether it became true.

    A tap is a touch the browser must recognise as one: on a busy machine a touch can outlast
    the long-press delay or land during a scroll and become a fling, and then no click happens
    at all. That is retried. The browser turns a touch into a click a moment after tap()
    returns, so each tap waits up to ``timeout`` seconds for ``done()`` before the next; a tap
    that clicks and does not do the job fails every attempt.
    """
    for _ in range(attempts):
        target.scroll_into_view_if_needed()
        target.tap()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            target.page.wait_for_timeout(15)
    return done()


def serious_violations(page, context: str | None = None) -> list[str]:
    """axe-core's serious and critical findings on the page (or on the part ``context`` selects)."""
    results = Axe().run(page, context=context)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def get_json(server: LiveServer, path: str):
    """The JSON a GET of ``path`` answers on the running app (the card, the misread digits)."""
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.load(response)


def is_open(page, title_id: str) -> bool:
    """Whether the fold whose summary holds the heading ``title_id`` is open."""
    return page.evaluate(f"document.getElementById('{title_id}').closest('details').open")


def open_model_section(page, part: str = "confusion") -> None:
    """Open the model section and its part (confusion, filters, ...) if folded, as on a phone."""
    for title_id in ("model-title", f"{part}-title"):
        if not is_open(page, title_id):
            page.locator(f"#{title_id}").click()
        assert is_open(page, title_id)


def save_model_screenshot(page, name: str) -> None:
    """A screenshot of the model section alone, in artifacts/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.model").screenshot(path=str(ARTIFACTS / f"{name}.png"))


def photo_of_a_seven(size: int = 240) -> bytes:
    """Dark ink on slightly uneven light paper, as a phone photo of a written 7 would be (JPEG)."""
    image = Image.new("RGB", (size, size), (236, 232, 224))
    draw = ImageDraw.Draw(image)
    for row in range(size):  # a soft shadow across the paper
        shade = round(12 * row / size)
        draw.line([(0, row), (size, row)], fill=(236 - shade, 232 - shade, 224 - shade))
    s = size / 100
    draw.line(
        [(30 * s, 25 * s), (70 * s, 25 * s), (45 * s, 80 * s)],
        fill=(25, 25, 40),
        width=round(7 * s),
        joint="curve",
    )
    return encode(image, "JPEG", quality=90)


def blank_paper() -> bytes:
    """A PNG of light, empty paper."""
    return encode(Image.new("RGB", (120, 120), (250, 250, 250)))
