"""Seeing inside: the network's input, the 30 feature maps with their filters, the model panel."""

from __future__ import annotations

import pytest

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


def test_model_panel_copes_with_a_minimal_card(digit_page, tiny_server):
    page = digit_page.page
    digit_page.open(tiny_server)

    for part in ("curves", "confusion", "filters"):
        assert "not in this model card" in page.inner_text(f"#model-{part}")
    # A card with just the network spec: the layer shapes are worked out from it.
    architecture = page.inner_text("#model-architecture")
    assert "30 × 24 × 24" in architecture and "30 × 12 × 12" in architecture
    # The maps still work without filters in the card.
    digit_page.read(SEVEN)
    assert page.locator('[data-testid="feature-maps"] [data-map-index]').count() == 30
    assert page.locator("#map-detail .weights-missing").is_visible()


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
