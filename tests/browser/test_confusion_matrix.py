"""The confusion matrix of the model section as buttons, and the misread gallery they fill —
by mouse, keyboard and touch, on desktop and phone.

Counts and digits are read from the running app (/api/model and /api/model/misread), never
written here: the weights are retrained now and then and the mistakes change with them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from harness.browser import (
    PHONE_390,
    get_json,
    is_open,
    open_model_section,
    save_model_screenshot,
    serious_violations,
)

CELLS = "[data-testid=confusion-matrix] [data-true][data-pred]"
GALLERY = "[data-testid=misread-gallery]"


@pytest.fixture(scope="module")
def card(trained_server) -> dict:
    return get_json(trained_server, "/api/model")


@pytest.fixture(scope="module")
def misread(trained_server) -> dict:
    return get_json(trained_server, "/api/model/misread")


def mistakes_of(card) -> list[tuple[int, int, int]]:
    """(count, true, read as) of every off-diagonal cell: commonest first, then row by row."""
    matrix = card["confusion_matrix"]
    cells = [(matrix[r][c], r, c) for r in range(10) for c in range(10) if r != c]
    return sorted(cells, key=lambda m: (-m[0], m[1], m[2]))


def cell(page, true_digit: int, read_as: int):
    return page.locator(f'[data-testid=confusion-matrix] [data-true="{true_digit}"][data-pred="{read_as}"]')


def wait_for_gallery(digit_page, state: str, true_digit: int, read_as: int) -> None:
    """Wait until the gallery shows cell (true_digit, read_as) in `state` (shown, empty, error)."""
    digit_page.wait_until(
        f"""() => {{
            const g = document.querySelector('{GALLERY}');
            return g.dataset.state === '{state}'
                && g.dataset.true === '{true_digit}' && g.dataset.pred === '{read_as}';
        }}"""
    )


def shown_digits(page) -> list[dict]:
    """The gallery's digits: labels, MNIST index and the grey levels of each 28×28 canvas."""
    return page.evaluate(
        """(gallery) => [...document.querySelectorAll(gallery + " .misread-digit")].map((item) => {
            const canvas = item.querySelector("canvas");
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            return {
                index: Number(item.dataset.index),
                label: Number(item.dataset.label),
                predicted: Number(item.dataset.predicted),
                width: canvas.width,
                height: canvas.height,
                grey: Array.from({length: data.length / 4}, (_, i) => data[i * 4]),
            };
        })""",
        GALLERY,
    )


# --- the confusion matrix --------------------------------------------------------------------


def test_every_confusion_cell_is_a_button_holding_the_cards_count(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.open(trained_server)

    cells = page.locator(CELLS)
    assert cells.count() == 100
    found = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map((b) => ({
            tag: b.tagName, r: Number(b.dataset.true), c: Number(b.dataset.pred),
            count: Number(b.dataset.count), label: b.getAttribute("aria-label"),
        }))""",
        CELLS,
    )
    matrix = card["confusion_matrix"]
    for entry in found:
        assert entry["tag"] == "BUTTON"
        assert entry["count"] == matrix[entry["r"]][entry["c"]]
        assert entry["label"].startswith(f"{matrix[entry['r']][entry['c']]:,} of the ")


def test_mistake_cells_stand_out_from_the_correct_and_the_empty_ones(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.open(trained_server)

    colours = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].map((b) => {
            const [r, g, bl] = getComputedStyle(b).backgroundColor.match(/\\d+/g).map(Number);
            const alpha = getComputedStyle(b).backgroundColor.startsWith("rgba(0, 0, 0, 0)") ? 0 : 1;
            return {t: Number(b.dataset.true), p: Number(b.dataset.pred), rgb: [r, g, bl], alpha};
        })""",
        CELLS,
    )
    matrix = card["confusion_matrix"]
    for c in colours:
        count = matrix[c["t"]][c["p"]]
        red, green, blue = c["rgb"]
        if c["t"] == c["p"]:
            assert blue > red + 60, f"diagonal cell {c} is not the blue of correct answers"
        elif count > 0:
            # Even a single mistake is clearly orange: warm, and well away from white.
            assert c["alpha"] == 1 and red - blue > 60 and red + green + blue < 3 * 235, c
        else:
            assert c["alpha"] == 0, f"a never-made mistake {c} should stay unshaded"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_ten_columns_are_even_and_the_rows_say_true_digit(digit_page, trained_server, width):
    page = digit_page.page
    page.set_viewport_size({"width": width, "height": 900})
    digit_page.open(trained_server)
    open_model_section(page)

    widths = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((b) => b.dataset.true === "1").map((b) => b.getBoundingClientRect().width)""",
        CELLS,
    )
    assert len(widths) == 10 and max(widths) - min(widths) < 1.0, widths
    # Every count fits its cell (four-digit diagonal counts included).
    overflowing = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => b.textContent)""",
        CELLS,
    )
    assert overflowing == []
    # The labels are read as a person sees them: on screen (off screen, the browser skips
    # rendering the card, and innerText is empty until it scrolls in).
    true_label = page.locator(".confusion-axis-true")
    true_label.scroll_into_view_if_needed()
    expect(true_label).to_be_visible()
    expect(true_label).to_have_text("true digit", use_inner_text=True)
    expect(page.locator(".confusion-axis-read")).to_have_text(re.compile(r"^\s*read as"), use_inner_text=True)


def test_clicking_a_mistake_shows_those_misread_test_digits(digit_page, trained_server, card, misread):
    page = digit_page.page
    digit_page.open(trained_server)
    count, true_digit, read_as = mistakes_of(card)[0]

    cell(page, true_digit, read_as).click()
    wait_for_gallery(digit_page, "shown", true_digit, read_as)

    assert cell(page, true_digit, read_as).get_attribute("aria-pressed") == "true"
    shown = shown_digits(page)
    assert len(shown) == count
    expected = {
        d["index"]: d for d in misread["digits"] if (d["label"], d["predicted"]) == (true_digit, read_as)
    }
    assert {d["index"] for d in shown} == set(expected)
    for digit in shown:
        assert (digit["label"], digit["predicted"]) == (true_digit, read_as)
        # The canvas holds the endpoint's 28×28 pixels exactly (putImageData, white ink on black).
        assert (digit["width"], digit["height"]) == (28, 28)
        assert digit["grey"] == [v for row in expected[digit["index"]]["pixels"] for v in row]
    status = page.locator(f"{GALLERY} .misread-status").inner_text()
    assert (
        f"test {true_digit}s read as {read_as}" in status or f"test {true_digit} read as {read_as}" in status
    )

    # Choosing another cell replaces the gallery and the pressed cell.
    count2, true2, read2 = next(m for m in mistakes_of(card) if (m[1], m[2]) != (true_digit, read_as))
    cell(page, true2, read2).click()
    wait_for_gallery(digit_page, "shown", true2, read2)
    assert len(shown_digits(page)) == count2
    assert page.locator(f'{CELLS}[aria-pressed="true"]').count() == 1


def test_a_cell_with_no_mistakes_says_so_without_asking_the_server(digit_page, trained_server, card):
    page = digit_page.page
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/api/model/misread" in r.url else None)
    digit_page.open(trained_server)
    _, true_digit, read_as = mistakes_of(card)[-1]
    assert card["confusion_matrix"][true_digit][read_as] == 0

    cell(page, true_digit, read_as).click()
    wait_for_gallery(digit_page, "empty", true_digit, read_as)

    assert page.locator(f"{GALLERY} .misread-digit").count() == 0
    assert "never made this mistake" in page.locator(f"{GALLERY} .misread-status").inner_text()
    assert requests == []


def test_the_matrix_is_one_tab_stop_that_arrow_keys_move_through(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.open(trained_server)
    assert page.locator(f'{CELLS}[tabindex="0"]').count() == 1
    # Tab reaches the matrix from the control before it, and its stop is the commonest mistake.
    start = page.locator(f'{CELLS}[tabindex="0"]')
    start.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.dataset.true, document.activeElement.dataset.pred]")
    _, top_true, top_read = mistakes_of(card)[0]
    assert focused == [str(top_true), str(top_read)]

    # Walk with the arrow keys to the second commonest mistake and choose it with Enter.
    count, true_digit, read_as = mistakes_of(card)[1]
    row, column = top_true, top_read
    while row != true_digit:
        page.keyboard.press("ArrowDown" if true_digit > row else "ArrowUp")
        row += 1 if true_digit > row else -1
    while column != read_as:
        page.keyboard.press("ArrowRight" if read_as > column else "ArrowLeft")
        column += 1 if read_as > column else -1
    page.keyboard.press("Enter")
    wait_for_gallery(digit_page, "shown", true_digit, read_as)
    assert page.evaluate("document.activeElement.dataset.true") == str(true_digit)
    assert len(shown_digits(page)) == count
    assert page.locator(f'{CELLS}[tabindex="0"]').count() == 1

    # Home, then Space on the diagonal: the row's correct count and all its mistakes.
    page.keyboard.press("Home")
    for _ in range(true_digit):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    matrix = card["confusion_matrix"]
    row_mistakes = sum(matrix[true_digit]) - matrix[true_digit][true_digit]
    wait_for_gallery(digit_page, "shown" if row_mistakes else "empty", true_digit, true_digit)
    digits = shown_digits(page)
    assert len(digits) == row_mistakes
    assert all(d["label"] == true_digit and d["predicted"] != true_digit for d in digits)

    # Tab leaves the matrix in one step.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.pred === undefined")


def test_a_failed_misread_request_is_reported_and_the_next_choice_retries(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.allow_errors(r"503|Failed to load resource")
    failures = {"left": 1}

    def handle(route):
        if failures["left"]:
            failures["left"] -= 1
            route.fulfill(status=503, json={"error": {"code": "not_ready", "message": "busy, try again"}})
        else:
            route.continue_()

    page.route("**/api/model/misread", handle)
    digit_page.open(trained_server)
    count, true_digit, read_as = mistakes_of(card)[0]

    cell(page, true_digit, read_as).click()
    wait_for_gallery(digit_page, "error", true_digit, read_as)
    assert "busy, try again" in page.locator(f"{GALLERY} .misread-status").inner_text()

    cell(page, true_digit, read_as).click()
    wait_for_gallery(digit_page, "shown", true_digit, read_as)
    assert len(shown_digits(page)) == count


def test_a_misread_list_that_does_not_match_the_matrix_says_so(digit_page, trained_server, card, misread):
    page = digit_page.page
    count, true_digit, read_as = mistakes_of(card)[0]
    # The list as it would be for other weights: one of this cell's digits missing.
    dropped = next(d for d in misread["digits"] if (d["label"], d["predicted"]) == (true_digit, read_as))
    stale = {"count": misread["count"] - 1, "digits": [d for d in misread["digits"] if d is not dropped]}
    page.route("**/api/model/misread", lambda route: route.fulfill(json=stale))
    digit_page.open(trained_server)

    cell(page, true_digit, read_as).click()
    wait_for_gallery(digit_page, "shown", true_digit, read_as)

    assert len(shown_digits(page)) == count - 1
    assert f"holds {count - 1}" in page.locator(f"{GALLERY} .misread-status").inner_text()


@pytest.mark.browser_context_args(**PHONE_390)
def test_on_a_phone_the_folded_section_opens_and_a_tap_shows_the_digits(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.open(trained_server)
    # Folded at load on a narrow screen (so the page is not screens tall), and so are its four
    # parts once it is opened: a tap on a title opens what the person wants to see.
    titles = ("model-title", "arch-title", "curves-title", "confusion-title", "filters-title")
    digit_page.wait_until("() => !document.querySelector('section.model details').open")
    assert not any(is_open(page, title) for title in titles)
    page.locator("#model-title").tap()
    assert is_open(page, "model-title")
    assert page.locator("#confusion-title").is_visible()
    page.locator("#confusion-title").tap()
    assert is_open(page, "confusion-title") and not is_open(page, "filters-title")

    count, true_digit, read_as = mistakes_of(card)[0]
    cell(page, true_digit, read_as).tap()
    wait_for_gallery(digit_page, "shown", true_digit, read_as)
    assert len(shown_digits(page)) == count
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    table = page.locator("[data-testid=confusion-matrix]").bounding_box()
    assert table["x"] >= 0 and table["x"] + table["width"] <= 390
    # Tap targets of at least 24 × 24 px (WCAG 2.2 target size, minimum).
    box = cell(page, true_digit, read_as).bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24
    open_model_section(page, "filters")
    assert serious_violations(page, "section.model") == []
    save_model_screenshot(page, "model-390")


def test_desktop_model_section_has_no_serious_accessibility_violations(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.open(trained_server)
    _, true_digit, read_as = mistakes_of(card)[0]
    cell(page, true_digit, read_as).click()
    wait_for_gallery(digit_page, "shown", true_digit, read_as)

    assert serious_violations(page, "section.model") == []
    save_model_screenshot(page, "model-1280")
