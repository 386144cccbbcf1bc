"""Drawing on the page: reading digits, touch, undo/redo/clear, shortcuts, no blank requests."""

from __future__ import annotations

import pytest

from harness.browser import PHONE_CONTEXT
from harness.strokes import ONE, SEVEN, ZERO

# The first stroke of a 7 and the stroke that completes it.
SEVEN_BAR = [SEVEN[0][:2]]
SEVEN_LEG = [SEVEN[0][1:]]


@pytest.mark.parametrize(
    ("strokes", "digit"), [(ONE, "1"), (SEVEN, "7"), (ZERO, "0")], ids=["one", "seven", "zero"]
)
def test_mouse_drawn_digit_is_read_correctly(digit_page, trained_server, strokes, digit):
    digit_page.open(trained_server)

    assert digit_page.read(strokes) == digit

    bars = digit_page.probabilities()
    assert sorted(bars) == list(range(10))
    top = digit_page.by_test_id("probabilities").locator("> li.top")
    assert top.get_attribute("data-digit") == digit
    share = bars[int(digit)].split()[-1]  # e.g. ">99.9%" or "87.5%"
    assert float(share.strip("<>%")) > 50


def test_small_digit_in_a_corner_is_still_read(digit_page, trained_server):
    digit_page.open(trained_server)
    small_seven = [[(0.08 + x * 0.3, 0.06 + y * 0.3) for x, y in SEVEN[0]]]

    assert digit_page.read(small_seven) == "7"


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_touch_drawing_on_a_phone_never_scrolls_the_page(digit_page, trained_server):
    page = digit_page.page
    digit_page.open(trained_server)
    box = digit_page.canvas_box()
    # Leave room to scroll both ways, so a swipe up or down would move the page.
    page.evaluate(f"window.scrollTo(0, {page.evaluate('window.scrollY') + box['y'] - 60})")
    scroll_before = page.evaluate("window.scrollY")
    assert scroll_before > 0

    # Upward and downward strokes: a scrolling page would follow either.
    digit_page.draw_by_touch([[(0.5, 0.85), (0.5, 0.15)], [(0.3, 0.2), (0.3, 0.8)]])
    digit_page.draw_by_touch([[(0.7, 0.15), (0.7, 0.85)]])

    assert page.evaluate("window.scrollY") == scroll_before
    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.prediction() != ""


@pytest.mark.browser_context_args(**PHONE_CONTEXT)
def test_canvas_backing_store_matches_the_device_pixel_ratio(digit_page, tiny_server):
    digit_page.open(tiny_server)

    size = digit_page.page.evaluate(
        """() => {
            const c = document.querySelector('[data-testid="draw-canvas"]');
            return {pixels: c.width, css: c.getBoundingClientRect().width, ratio: devicePixelRatio};
        }"""
    )

    assert size["ratio"] == 2
    assert size["pixels"] == round(size["css"] * 2)


def test_undo_redo_and_clear_with_the_buttons(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    undo, redo, clear = digit_page.by_test_id("undo"), page.locator("#redo"), digit_page.by_test_id("clear")
    assert undo.is_disabled() and redo.is_disabled() and clear.is_disabled()

    digit_page.draw(SEVEN_BAR)
    assert digit_page.wait_for_answer() == "answer"
    bar_only = digit_page.network_input()
    digit_page.draw(SEVEN_LEG)
    assert digit_page.wait_for_answer() == "answer"
    whole = digit_page.network_input()
    assert whole != bar_only

    undo.click()
    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.network_input() == bar_only
    redo.click()
    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.network_input() == whole

    clear.click()
    assert digit_page.wait_for_answer() == "empty"
    assert digit_page.prediction() == ""
    assert not any(digit_page.network_input())
    assert all(text.split()[-1] == "–" for text in digit_page.probabilities().values())
    # Clearing is undoable: the drawing comes back.
    undo.click()
    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.network_input() == whole


def test_keyboard_shortcuts_undo_redo_and_clear(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)
    digit_page.draw(SEVEN_BAR)
    digit_page.wait_for_answer()
    bar_only = digit_page.network_input()
    digit_page.draw(SEVEN_LEG)
    digit_page.wait_for_answer()
    whole = digit_page.network_input()

    page.keyboard.press("Control+z")
    digit_page.wait_for_answer()
    assert digit_page.network_input() == bar_only
    page.keyboard.press("Control+Shift+Z")
    digit_page.wait_for_answer()
    assert digit_page.network_input() == whole
    page.keyboard.press("Meta+z")
    digit_page.wait_for_answer()
    assert digit_page.network_input() == bar_only
    page.keyboard.press("Control+y")
    digit_page.wait_for_answer()
    assert digit_page.network_input() == whole

    page.keyboard.press("Escape")
    assert digit_page.wait_for_answer() == "empty"
    assert digit_page.prediction() == ""


def test_a_blank_canvas_never_sends_a_request(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)

    # Shortcuts on a blank canvas, and a tap (a dot is not a digit yet).
    page.keyboard.press("Escape")
    page.keyboard.press("Control+z")
    box = digit_page.canvas_box()
    page.mouse.click(*digit_page.to_page(box, (0.5, 0.5)))
    digit_page.wait_for_answer()
    page.wait_for_timeout(300)
    assert digit_page.predict_requests == []
    assert digit_page.prediction() == ""
    assert "dot" in page.inner_text("#empty-hint")

    # Draw (requests go out), then undo back to blank: no request for the blank state.
    page.keyboard.press("Control+z")
    digit_page.draw(SEVEN)
    assert digit_page.wait_for_answer() == "answer"
    sent = len(digit_page.predict_requests)
    assert sent >= 1
    page.keyboard.press("Escape")
    assert digit_page.wait_for_answer() == "empty"
    page.wait_for_timeout(300)
    assert len(digit_page.predict_requests) == sent
    assert digit_page.prediction() == ""


# Wraps fetch to record, for /predict, when each request started and how many were in flight.
FETCH_RECORDER = """
window.__predictLog = {starts: [], inFlight: 0, maxInFlight: 0};
const originalFetch = window.fetch;
window.fetch = async (...args) => {
  const log = window.__predictLog;
  if (!String(args[0]).includes("/predict")) return originalFetch(...args);
  log.starts.push(performance.now());
  log.inFlight += 1;
  log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
  try {
    return await originalFetch(...args);
  } finally {
    log.inFlight -= 1;
  }
};
"""


def test_predictions_arrive_while_drawing_one_request_at_a_time(digit_page, trained_server):
    page = digit_page.page
    page.add_init_script(FETCH_RECORDER)
    digit_page.open(trained_server)
    box = digit_page.canvas_box()
    points = [digit_page.to_page(box, p) for p in SEVEN[0]]
    seen_while_drawing = set()
    page.mouse.move(*points[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        for k in range(1, 31):
            page.mouse.move(x0 + (x1 - x0) * k / 30, y0 + (y1 - y0) * k / 30)
            if k % 10 == 0:
                page.wait_for_timeout(60)
                seen_while_drawing.add(digit_page.prediction())
    while_drawing = page.evaluate("window.__predictLog")
    page.mouse.up()

    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.prediction() == "7"
    # Answers showed up while the button was still down...
    assert seen_while_drawing - {""}
    # ...from a throttled stream: never two requests at once, starts spaced out.
    assert while_drawing["maxInFlight"] == 1
    starts = while_drawing["starts"]
    assert len(starts) >= 2
    gaps = sorted(b - a for a, b in zip(starts, starts[1:], strict=False))
    assert gaps[len(gaps) // 2] >= 45  # the client spaces live requests ≥ 50 ms apart (± export time)


def test_pen_drawing_is_read_like_the_mouse(digit_page, trained_server):
    page = digit_page.page
    page.add_init_script(
        "window.__pointerTypes = new Set();"
        "addEventListener('pointerdown', (e) => window.__pointerTypes.add(e.pointerType), true);"
    )
    digit_page.open(trained_server)
    box = digit_page.canvas_box()
    cdp = page.context.new_cdp_session(page)
    points = [digit_page.to_page(box, p) for p in SEVEN[0]]
    path = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        path += [(x0 + (x1 - x0) * k / 20, y0 + (y1 - y0) * k / 20) for k in range(1, 21)]

    def pen(kind, x, y, buttons):
        cdp.send(
            "Input.dispatchMouseEvent",
            {
                "type": kind,
                "x": x,
                "y": y,
                "button": "left",
                "buttons": buttons,
                "clickCount": 1,
                "pointerType": "pen",
                "force": 0.5,
            },
        )

    pen("mousePressed", *path[0], 1)
    for x, y in path[1:]:
        pen("mouseMoved", x, y, 1)
    pen("mouseReleased", *path[-1], 0)
    cdp.detach()

    assert page.evaluate("[...window.__pointerTypes]") == ["pen"]
    assert digit_page.wait_for_answer() == "answer"
    assert digit_page.prediction() == "7"
