"""Shared helpers of the model section's browser tests (test_model_card.py, test_confusion_matrix.py)."""

from __future__ import annotations

import json
import urllib.request

from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import ARTIFACTS

PHONE_390 = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}


def get_json(server, path: str):
    """The JSON a GET of `path` answers on the running app (the card, the misread digits)."""
    with urllib.request.urlopen(server.url + path, timeout=10) as response:
        return json.load(response)


def is_open(page, title_id: str) -> bool:
    """Whether the fold whose summary holds the heading `title_id` is open."""
    return page.evaluate(f"document.getElementById('{title_id}').closest('details').open")


def open_model_section(page, part: str = "confusion") -> None:
    """Open the model section and its part (confusion, filters, ...) if folded, as on a phone."""
    for title_id in ("model-title", f"{part}-title"):
        if not is_open(page, title_id):
            page.locator(f"#{title_id}").click()
        assert is_open(page, title_id)


def save_screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("section.model").screenshot(path=str(ARTIFACTS / f"{name}.png"))


def serious_violations_in_model_section(page) -> list[str]:
    results = Axe().run(page, context="section.model")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
