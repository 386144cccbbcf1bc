"""Inside the network: the preprocessing steps, the 30 feature maps with their filters (sorted
by strength if asked), the hidden units and the scores before softmax, the parts folding away
and asking the API only for what they show, and the page with them all open."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from harness.browser import photo_of_a_seven, serious_violations
from harness.page_predictions import TALL, PredictionLog, read_seven_on_a_tall_page
from harness.strokes import ONE, SEVEN, ZERO

# For every map cell: how many distinct colours its feature map and pooled map hold, and
# whether any pixel reaches the top colour of the scale (value = the shared maximum).
MAP_STATS = """() => {
    const top = [252, 255, 164];
    const stats = (canvas) => {
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        let reachesTop = false;
        for (let i = 0; i < data.length; i += 4) {
            colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
            if (data[i] === top[0] && data[i + 1] === top[1] && data[i + 2] === top[2]) reachesTop = true;
        }
        return {colours: colours.size, reachesTop, width: canvas.width};
    };
    return [...document.querySelectorAll('[data-testid="feature-maps"] [data-map-index]')].map((cell) => ({
        index: Number(cell.dataset.mapIndex),
        map: stats(cell.querySelector("canvas.fmap")),
        pooled: stats(cell.querySelector("canvas.pmap")),
        filter: stats(cell.querySelector("canvas.filter-thumb")),
    }));
}"""


@pytest.mark.parametrize("strokes", [ONE, SEVEN, ZERO], ids=["one", "seven", "zero"])
def test_thirty_feature_maps_light_up_on_one_shared_scale(digit_page, trained_server, strokes):
    digit_page.page.set_viewport_size(TALL)
    digit_page.open(trained_server)
    digit_page.read(strokes)

    cells = digit_page.page.evaluate(MAP_STATS)

    assert [cell["index"] for cell in cells] == list(range(30))
    assert all(cell["map"]["width"] == 24 and cell["pooled"]["width"] == 12 for cell in cells)
    # After ReLU a filter may find nothing in a digit, but the trained filters mostly respond.
    lit = [cell for cell in cells if cell["map"]["colours"] > 1]
    assert len(lit) >= 27  # all 30 for the 1, 7 and 0 drawn here; allow a few to go quiet
    assert all(cell["pooled"]["colours"] > 1 for cell in lit)
    # One shared range: the strongest map reaches the top of the scale, weaker ones do not.
    reaching_top = [cell for cell in cells if cell["map"]["reachesTop"]]
    assert 1 <= len(reaching_top) < len(lit)
    # Each map sits next to its trained 5×5 filter.
    assert all(cell["filter"]["width"] == 5 and cell["filter"]["colours"] > 1 for cell in cells)
    legend_max = float(digit_page.page.inner_text("#legend-max"))
    assert legend_max > 0


def test_network_input_is_the_centred_28x28_digit(digit_page, trained_server):
    digit_page.open(trained_server)
    # A small 1 near the top-left corner...
    digit_page.read([[(0.12, 0.08), (0.12, 0.33)]])

    pixels = digit_page.network_input()

    # ...arrives in the middle of the 28×28 input, as MNIST digits do.
    assert len(pixels) == 28 * 28
    ink = [(i // 28, i % 28) for i, value in enumerate(pixels) if value > 128]
    assert ink
    rows = [r for r, _ in ink]
    cols = [c for _, c in ink]
    assert 10 <= sum(rows) / len(rows) <= 18
    assert 10 <= sum(cols) / len(cols) <= 18
    assert max(rows) - min(rows) >= 16  # scaled up to fill the 20-pixel box
    rendering = digit_page.page.eval_on_selector(
        '[data-testid="network-input"]', "(c) => getComputedStyle(c).imageRendering"
    )
    assert rendering == "pixelated"


def test_choosing_a_map_enlarges_it_with_its_filter(digit_page, trained_server):
    digit_page.page.set_viewport_size(TALL)
    page = digit_page.page
    digit_page.open(trained_server)
    digit_page.read(SEVEN)

    page.locator('[data-testid="feature-maps"] [data-map-index="6"]').click()
    assert page.inner_text("#map-detail .detail-title") == "Filter 7 of 30"
    weights = page.locator("#map-detail .weights td")
    assert weights.count() == 25

    # Keyboard: the grid is one radio group; arrow keys move the selection.
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#map-detail .detail-title") == "Filter 8 of 30"
    focused = page.evaluate("document.activeElement.closest('[data-map-index]').dataset.mapIndex")
    assert focused == "7"
    assert page.locator("#map-detail .detail-strength").inner_text() != ""


def test_maps_work_with_a_card_without_filters(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)

    digit_page.read(SEVEN)
    assert page.locator('[data-testid="feature-maps"] [data-map-index]').count() == 30
    assert page.locator("#map-detail .weights-missing").is_visible()
    # Without the filters there is no sum to show: the map pixels are not a tab stop.
    assert page.get_attribute('.zoom-frame[data-kind="map"]', "tabindex") == "-1"
    assert page.locator('[data-testid="receptive-field"]').is_hidden()


def test_a_model_card_that_fails_to_load_is_reported_and_drawing_still_works(digit_page, tiny_server):
    page = digit_page.page
    digit_page.allow_errors(r"500")
    page.route(
        "**/api/model",
        lambda route: route.fulfill(
            status=500, json={"error": {"code": "internal_error", "message": "model card unreadable"}}
        ),
    )
    digit_page.open(tiny_server)

    assert "Could not load the model description: model card unreadable" in page.inner_text("#model-summary")
    assert digit_page.read(SEVEN) != ""
    assert page.locator('[data-testid="feature-maps"] [data-map-index]').count() == 30


def map_order(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all(
        '[data-testid="feature-maps"] [data-map-index]', "(cells) => cells.map((c) => c.dataset.mapIndex)")]


def test_maps_can_be_sorted_by_strength(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)
    assert map_order(page) == list(range(30))
    peaks = log.shown(digit_page)["feature_maps"]["scale"]

    page.select_option('[data-testid="map-order"]', "strength")

    order = map_order(page)
    assert sorted(order) == list(range(30))
    assert [peaks[i] for i in order] == sorted(peaks, reverse=True)
    assert order != list(range(30))  # the drawn 7 does not light the filters up in their order
    # The arrow keys follow the order on screen, strongest to weaker.
    page.locator(f'[data-testid="feature-maps"] [data-map-index="{order[0]}"]').click()
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#map-detail .detail-title") == f"Filter {order[1] + 1} of 30"
    # A new drawing is sorted by its own strengths.
    page.keyboard.press("Escape")
    digit_page.read(ZERO)
    peaks = log.shown(digit_page)["feature_maps"]["scale"]
    assert [peaks[i] for i in map_order(page)] == sorted(peaks, reverse=True)
    # And back to filter order.
    page.select_option('[data-testid="map-order"]', "filter")
    assert map_order(page) == list(range(30))


STEP_NAMES = ["received", "ink", "cropped", "fitted", "centred"]


def steps_on_screen(page) -> list[dict]:
    return page.eval_on_selector_all(
        '[data-testid="preprocess-steps"] [data-step]',
        """(items) => items.map((item) => {
            const canvas = item.querySelector("canvas");
            return {name: item.dataset.step, width: canvas.width, height: canvas.height,
                    text: item.innerText, shown: canvas.getBoundingClientRect()};
        })""",
    )


def test_preprocess_steps_show_how_a_drawing_becomes_the_input(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)

    steps = steps_on_screen(page)
    assert [step["name"] for step in steps] == STEP_NAMES
    sent = log.shown(digit_page)["steps"]
    for step, data in zip(steps, sent, strict=True):
        assert (step["width"], step["height"]) == (data["width"], data["height"])
        assert data["title"] in step["text"] and f"{data['width']}×{data['height']}" in step["text"]
        assert max(step["shown"]["width"], step["shown"]["height"]) >= 60  # enlarged enough to see
    assert (steps[-1]["width"], steps[-1]["height"]) == (28, 28)
    assert (steps[3]["width"], steps[3]["height"]) == (20, 20)
    # The last step is exactly the network's input.
    last = page.evaluate("""() => {
        const c = document.querySelector('[data-testid="preprocess-steps"] [data-step="centred"] canvas');
        const data = c.getContext("2d").getImageData(0, 0, 28, 28).data;
        return Array.from({length: 784}, (_, i) => data[i * 4]);
    }""")
    assert last == digit_page.network_input()


def test_preprocess_steps_of_an_upload(digit_page, trained_server):
    digit_page.page.set_viewport_size(TALL)
    page = digit_page.page
    digit_page.open(trained_server)
    digit_page.by_test_id("upload").set_input_files(
        files=[{"name": "seven.jpg", "mimeType": "image/jpeg", "buffer": photo_of_a_seven()}]
    )
    assert digit_page.wait_for_answer() == "answer"

    steps = steps_on_screen(page)
    assert [step["name"] for step in steps][:1] == ["received"] and len(steps) >= 4
    assert steps[-1]["name"] == "centred"
    received = steps[0]
    assert max(received["width"], received["height"]) <= 64
    # The photo as received is light paper with dark ink; the ink found is light on dark.
    inks = page.eval_on_selector_all(
        '[data-testid="preprocess-steps"] [data-step]', "(items) => items.map((item) => item.dataset.ink)"
    )
    assert inks[0] == "dark" and inks[1] == "light"


def test_hidden_units_and_scores_show_softmax_at_work(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)
    result = log.shown(digit_page)

    units = page.eval_on_selector_all(
        '[data-testid="hidden-units"] [data-unit]', "(cells) => cells.map((c) => Number(c.dataset.value))"
    )
    assert len(units) == 100
    np.testing.assert_allclose(units, result["layers"]["hidden"]["values"])
    assert min(units) >= 0  # after ReLU
    active = sum(value > 0 for value in units)
    assert f"{active} of 100 are active" in page.inner_text(".path-hidden figcaption")

    rows = page.eval_on_selector_all(
        '[data-testid="logits"] tbody [data-digit]',
        "(rows) => rows.map((r) => ({digit: Number(r.dataset.digit), score: Number(r.dataset.score),"
        " probability: Number(r.dataset.probability), top: r.classList.contains('top'), text: r.innerText}))",
    )
    assert [row["digit"] for row in rows] == list(range(10))
    scores = np.array([row["score"] for row in rows])
    np.testing.assert_allclose(scores, result["layers"]["logits"]["values"])
    # Softmax of the scores is the probabilities the API answered with.
    softmax = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose([row["probability"] for row in rows], softmax, rtol=1e-9)
    np.testing.assert_allclose(softmax, result["probabilities"], rtol=1e-4, atol=1e-9)
    assert [row["top"] for row in rows] == [d == 7 for d in range(10)]
    # The table shows real values: the answer is not "100%", the runner-ups are not "0".
    top = rows[7]["text"]
    assert "100%" not in top and "99.9" in top
    for row in rows:
        if row["digit"] != 7:
            assert not row["text"].rstrip().endswith("\t0%")
            assert "×" in row["text"] or "%" in row["text"]
    assert math.isclose(sum(row["probability"] for row in rows), 1.0, rel_tol=1e-9)


def test_before_the_first_drawing_each_part_shows_a_prompt(digit_page, trained_server):
    page = digit_page.page
    log = PredictionLog(page)
    digit_page.open(trained_server)

    # The four parts that read the drawing, and the backward pass.
    prompts = page.locator("#inside .inside-prompt")
    assert prompts.count() == 5
    assert all(prompts.nth(i).is_visible() for i in range(5))
    assert page.locator('[data-testid="preprocess-steps"] [data-step]').count() == 0
    assert page.locator('[data-testid="logits"]').is_hidden()
    assert not log.queries  # a blank canvas asks nothing

    digit_page.read(SEVEN)
    assert not any(prompts.nth(i).is_visible() for i in range(4))
    page.keyboard.press("Escape")
    digit_page.wait_for_answer()
    assert all(prompts.nth(i).is_visible() for i in range(4))


PARTS_IN_SIGHT = """() => [...document.querySelectorAll("#inside details.inside-part")]
    .filter((part) => {
        const box = part.getBoundingClientRect();
        return box.bottom > 0 && box.top < window.innerHeight;
    })
    .map((part) => part.dataset.part)"""
INCLUDE_OF = {"steps": "steps", "conv": "feature_maps", "path": "layers", "saliency": "saliency"}


def test_only_open_parts_on_screen_are_asked_for(digit_page, trained_server):
    page = digit_page.page
    page.set_viewport_size({"width": 1280, "height": 600})
    log = PredictionLog(page)
    digit_page.open(trained_server)

    # Drawing at the top of the page: no part is on screen, so the answer carries none of them.
    digit_page.read(SEVEN)
    assert page.evaluate(PARTS_IN_SIGHT) == []
    assert log.includes()[-1] == set()
    # Scrolling to the hidden units asks again, for what is now on screen.
    page.locator('[data-part="path"] > summary').scroll_into_view_if_needed()
    digit_page.wait_until("() => document.querySelector('[data-part=path]').dataset.state === 'shown'")
    # The scroll may bring several parts into sight one after another, each re-reading the
    # drawing: the newest request, once they have settled, asks for exactly what is on screen.
    deadline = time.monotonic() + 5
    while True:
        in_sight = page.evaluate(PARTS_IN_SIGHT)
        wanted = {INCLUDE_OF[part] for part in in_sight}
        if log.includes()[-1] == wanted or time.monotonic() > deadline:
            break
        page.wait_for_timeout(100)
    assert "path" in in_sight
    assert log.includes()[-1] == wanted
    assert page.locator('[data-testid="logits"]').is_visible()

    # Closing it (keyboard: the summary is a button) asks again without it.
    page.locator('[data-part="path"] > summary').focus()
    page.keyboard.press("Enter")
    digit_page.wait_until("() => !document.querySelector('[data-part=path]').open")
    digit_page.wait_until("() => document.querySelector('[data-part=path]').dataset.state !== 'shown'")
    assert "layers" not in log.includes()[-1]


# Taller than the page with every part open, so every part is on screen and shows its data.
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 8000}, {"width": 390, "height": 16000}],
                         ids=["1280", "390"])
def test_all_parts_open_with_a_receptive_field_have_no_serious_accessibility_violations(
    digit_page, trained_server, viewport
):
    page = digit_page.page
    page.set_viewport_size(viewport)
    digit_page.open(trained_server)
    digit_page.read(SEVEN)
    for part in ("steps", "conv", "path", "saliency"):
        if page.get_attribute(f'[data-part="{part}"]', "open") is None:
            page.locator(f'[data-part="{part}"] > summary').click()
    digit_page.wait_until("() => document.querySelector('[data-part=saliency]').dataset.state === 'shown'")
    page.locator('[data-testid="feature-maps"] [data-map-index="5"]').click()
    page.locator('.zoom-frame[data-kind="pooled"]').focus()
    page.keyboard.press("ArrowDown")
    assert page.locator('[data-testid="receptive-field"]').is_visible()

    assert serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    digit_page.screenshot(f"inside-{viewport['width']}")
