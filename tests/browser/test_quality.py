"""Quality of the page: accessibility, layout from phone to desktop, errors shown, CSP, favicon,
and screenshots to look at (artifacts/screenshots/)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from harness.browser import PHONE_CONTEXT, ZIGZAG, serious_violations, tap_until
from harness.strokes import SEVEN

NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def test_desktop_page_has_no_serious_accessibility_violations(digit_page, trained_server):
    digit_page.open(trained_server)
    digit_page.read(SEVEN)

    assert serious_violations(digit_page.page) == []
    digit_page.screenshot("desktop")


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_phone_page_fits_360px_and_has_no_serious_accessibility_violations(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)
    digit_page.draw_by_touch(SEVEN)
    assert digit_page.wait_for_answer() == "answer"

    assert page.evaluate("window.innerWidth") == 360
    assert page.evaluate(NO_HORIZONTAL_SCROLL)
    page.evaluate("window.scrollTo(10000, window.scrollY)")
    assert page.evaluate("window.scrollX") == 0
    # The drawing area keeps its full size and fits the screen.
    box = digit_page.by_test_id("draw-canvas").bounding_box()
    assert box["width"] >= 280 and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert serious_violations(page) == []
    page.evaluate("window.scrollTo(0, 0)")
    digit_page.screenshot("phone")


@pytest.mark.parametrize("width", [360, 414, 768, 1024, 1440])
def test_no_horizontal_scrolling_at_any_width(digit_page, trained_server, width):
    page = digit_page.page
    page.set_viewport_size({"width": width, "height": 800})
    digit_page.open(trained_server)

    assert page.evaluate(NO_HORIZONTAL_SCROLL)


def test_every_control_is_reachable_by_keyboard_with_a_visible_focus(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    # Two strokes, one undone: undo, redo and clear are all enabled.
    digit_page.draw([SEVEN[0][:2]])
    digit_page.draw([SEVEN[0][1:]])
    page.keyboard.press("Control+z")
    digit_page.wait_for_answer()

    reached = {}
    for _ in range(40):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => {
                const el = document.activeElement;
                // A visually hidden input shows its focus on what stands for it on screen.
                let shown = el;
                if (el.classList.contains("visually-hidden")) {
                    shown = el.closest("[data-map-index]")?.querySelector(".map-cell-body") ?? el.labels?.[0];
                }
                const outline = getComputedStyle(shown).outlineStyle;
                return {id: el.dataset.testid || el.id || el.name || el.tagName, outline};
            }"""
        )
        reached.setdefault(info["id"], info["outline"])
    for control in ("undo", "redo", "clear", "brush", "upload", "feature-map"):
        assert control in reached, f"{control} not reachable by Tab (reached {sorted(reached)})"
        assert reached[control] not in ("none", ""), f"{control} has no visible focus"


def test_brush_width_control_changes_the_stroke(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    ink = """() => {
        const c = document.querySelector('[data-testid="draw-canvas"]');
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) n += d[i] > 128;
        return n;
    }"""
    digit_page.draw(SEVEN)
    thin = page.evaluate(ink)
    page.keyboard.press("Escape")

    page.locator("#brush").fill("40")
    assert page.inner_text("#brush-value") == "40 px"
    digit_page.draw(SEVEN)

    assert page.evaluate(ink) > 1.5 * thin


def test_prediction_is_announced_to_screen_readers(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)

    digit_page.read(SEVEN)

    announcer = page.locator("[aria-live='polite']#announcer")
    assert "reads 7" in announcer.inner_text()


def test_server_error_is_shown_as_a_readable_message(digit_page, tiny_server):
    page = digit_page.page
    digit_page.allow_errors(r"400")
    page.route(
        "**/predict*",
        lambda route: route.fulfill(
            status=400,
            json={"error": {"code": "invalid_image", "message": "The image could not be decoded."}},
        ),
    )
    digit_page.open(tiny_server)

    digit_page.draw(SEVEN)

    assert digit_page.wait_for_answer() == "error"
    error = page.locator("#error")
    assert error.is_visible()
    assert error.get_attribute("role") == "alert"
    assert "The image could not be decoded." in error.inner_text()
    assert digit_page.prediction() == ""


def test_network_failure_is_shown_and_recovers(digit_page, tiny_server):
    page = digit_page.page
    digit_page.allow_errors(r"ERR_FAILED|Failed to load resource|Failed to fetch|net::")
    page.route("**/predict*", lambda route: route.abort("failed"))
    digit_page.open(tiny_server)

    digit_page.draw(SEVEN)
    assert digit_page.wait_for_answer() == "error"
    assert "Could not reach the Digit Lens server" in page.inner_text("#error")

    page.unroute("**/predict*")
    digit_page.draw([[(0.3, 0.6), (0.6, 0.6)]])
    assert digit_page.wait_for_answer() == "answer"
    assert page.locator("#error").is_hidden()
    assert digit_page.prediction() != ""


def test_page_is_served_with_a_strict_csp_and_no_inline_code(digit_page, tiny_server):
    page = digit_page.page
    response = page.goto(tiny_server.url + "/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    html = response.text()
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html.lower()
    page.wait_for_selector("html[data-ready]", state="attached")
    assert page.evaluate("window.__cspViolations") == []


def test_favicon_is_served(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)

    icon = page.get_attribute("link[rel=icon]", "href")
    for path in (icon, "/favicon.ico"):
        response = page.request.get(tiny_server.url + path)
        assert response.status == 200
        assert response.headers["content-type"].startswith("image/svg+xml")


def test_answer_states_have_no_serious_accessibility_violations(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)

    digit_page.draw(SEVEN, lift=False)  # provisional: greyed, yet readable
    digit_page.wait_until("() => document.querySelector('[data-testid=\"prediction\"]').textContent !== ''")
    assert page.get_attribute('[data-testid="prediction"]', "data-state") == "provisional"
    assert serious_violations(page) == []
    page.mouse.up()
    digit_page.wait_for_answer()

    page.keyboard.press("Escape")
    digit_page.read(ZIGZAG)
    assert page.get_attribute('[data-testid="verdict"]', "data-verdict") == "not_a_digit"
    assert serious_violations(page) == []


def boxes_overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
@pytest.mark.parametrize("width", [360, 390])
def test_phone_toolbar_is_no_wider_than_the_drawing_and_the_badge_leaves_it_uncovered(
    digit_page, trained_server, width
):
    page = digit_page.page
    page.set_viewport_size({"width": width, "height": 844})
    digit_page.open(trained_server)
    canvas = digit_page.by_test_id("draw-canvas").bounding_box()
    toolbar = page.locator(".toolbar").bounding_box()

    assert toolbar["x"] >= canvas["x"] - 0.5
    assert toolbar["x"] + toolbar["width"] <= canvas["x"] + canvas["width"] + 0.5

    digit_page.draw_by_touch(SEVEN)
    assert digit_page.wait_for_answer() == "answer"
    badge = page.locator("#pad-badge")
    assert badge.is_visible()
    assert badge.inner_text().startswith("7")
    assert not boxes_overlap(badge.bounding_box(), canvas)


FOLDS = "[...document.querySelectorAll('details.fold[data-phone=\"closed\"]')].map((d) => d.open)"


# Every click on the page, by what it landed on, from the moment this runs.
RECORD_CLICKS = """() => {
    window.__clicks = [];
    document.addEventListener("click", (event) => window.__clicks.push(
        event.target.closest("section.model > details.fold > summary") ? "model summary"
            : event.target.tagName.toLowerCase()), true);
}"""


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_sections_start_folded_on_a_phone_and_open_by_touch_and_keyboard(digit_page, trained_server):
    page = digit_page.page
    page.set_viewport_size({"width": 390, "height": 844})
    digit_page.open(trained_server)
    digit_page.draw_by_touch(SEVEN)
    digit_page.wait_for_answer()

    folds = page.evaluate(FOLDS)
    assert len(folds) >= 2 and not any(folds)
    screens = page.evaluate("document.documentElement.scrollHeight / window.innerHeight")
    assert screens <= 4, f"the page is {screens:.1f} screens tall"
    model = page.locator("section.model > details.fold")
    summary = model.locator("> summary")

    page.evaluate(RECORD_CLICKS)
    tap_until(summary, lambda: page.evaluate("window.__clicks.length > 0"))
    clicks = page.evaluate("window.__clicks")
    assert clicks == ["model summary"], f"the tap clicked {clicks}"
    expect(model).to_have_attribute("open", "")
    summary.focus()
    page.keyboard.press("Enter")
    assert not model.evaluate("(details) => details.open")
    page.keyboard.press("Space")
    assert model.evaluate("(details) => details.open")
    assert serious_violations(page) == []


def test_sections_are_open_on_a_desktop(digit_page, tiny_server):
    digit_page.open(tiny_server)

    folds = digit_page.page.evaluate(FOLDS)
    assert folds and all(folds)
