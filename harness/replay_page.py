"""The training replay on the page, as its browser tests drive it: what the page sent to /predict
(with the body, to ask the API the same question again), the slider moved by mouse, keys and touch,
and which snapshot's answer is on screen."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from harness.browser import LiveServer, is_open
from harness.page_predictions import PredictionLog
from harness.tiny_model import save_tiny_replay
from model import checkpoint
from model.evaluate import filters_of
from model.network import FILTERS_LAYER, Network

SLIDER = '[data-testid="replay-slider"]'


def tiny_replay_weights(directory: Path, tiny_weights: Path, tiny_network: Network) -> Path:
    """A copy of the tiny checkpoint with a training replay beside it (harness.tiny_model), and the
    filters in its card as training writes them."""
    path = Path(directory) / "tiny-replay.npz"
    shutil.copyfile(tiny_weights, path)
    card = checkpoint.load_card(tiny_weights)
    bias = tiny_network.params[f"{FILTERS_LAYER}.b"]
    filters = {"after": filters_of(tiny_network), "bias": bias.tolist()}
    checkpoint.save_card(path, {**card, "filters": filters})
    save_tiny_replay(path, tiny_network)
    return path


class ReplayLog(PredictionLog):
    """The page's reads of the drawing (``entries``: each answered read's query, body, headers and
    answer, in the order they were answered), and which snapshot each asked for."""

    @property
    def entries(self) -> list[dict]:
        return self.reads

    def snapshots_asked(self) -> list[int | None]:
        """The snapshot of each answered request (None: the served network)."""
        return [int(entry["query"]["snapshot"][0]) if "snapshot" in entry["query"] else None
                for entry in self.entries]

    def newest(self) -> dict:
        return self.entries[-1]


def ask_again(server: LiveServer, entry: dict, query: str) -> dict:
    """The API's answer to the same body as a logged request, with ``query`` instead of its own."""
    request = urllib.request.Request(f"{server.url}/predict?{query}", data=entry["body"], method="POST",
                                     headers={"Content-Type": entry["headers"]["content-type"]})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def open_replay(page) -> None:
    """Open the replay's fold if it is closed (as it starts on a phone)."""
    if not is_open(page, "replay-title"):
        page.locator("#replay-title").click()
    assert is_open(page, "replay-title")


def wait_for_snapshot(digit_page, index: int, timeout: float = 10_000) -> None:
    """Wait until the answer on screen is snapshot ``index``'s (the slider's value too)."""
    digit_page.wait_until(
        f"""() => {{
            const root = document.querySelector('[data-testid="replay"]');
            return root.dataset.renderedSnapshot === "{index}" && root.dataset.snapshot === "{index}";
        }}""",
        timeout=timeout,
    )


def thumb_point(page, value: int) -> tuple[float, float]:
    """Where on the page the slider's thumb is at ``value`` (its centre runs from half a thumb in
    from each end of the track; Chromium's thumb is 16 px wide)."""
    box = page.locator(SLIDER).bounding_box()
    top = int(page.locator(SLIDER).get_attribute("max"))
    thumb = 16
    x = box["x"] + thumb / 2 + (box["width"] - thumb) * value / top
    return x, box["y"] + box["height"] / 2


def drag_slider(page, start: int, end: int, steps: int = 12) -> None:
    """Drag the slider's thumb with the mouse from value ``start`` to ``end``."""
    page.locator(SLIDER).scroll_into_view_if_needed()
    x0, y = thumb_point(page, start)
    x1, _ = thumb_point(page, end)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=steps)
    page.mouse.up()


def touch_slider(page, start: int, end: int, steps: int = 12) -> None:
    """Drag the slider's thumb with a finger (touch events through the DevTools protocol)."""
    page.locator(SLIDER).scroll_into_view_if_needed()
    x0, y = thumb_point(page, start)
    x1, _ = thumb_point(page, end)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y}]})
    for k in range(1, steps + 1):
        x = x0 + (x1 - x0) * k / steps
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def shown_weights(page) -> list[list[str]]:
    """The map zoom's table of the chosen filter's weights, as the page writes them."""
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="map-zoom"] table.weights tr')]
                  .map((row) => [...row.cells].map((cell) => cell.textContent))"""
    )


def as_page_writes(value: float, digits: int = 2) -> str:
    """A number as helpers.formatNumber writes it: a true minus sign, never "−0.00"."""
    text = f"{value:.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text.replace("-", "−")
