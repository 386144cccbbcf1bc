"""The model section's facts and filters: what the card says, shown as the card says it.

Figures are read from the running app's /api/model, never written here: the weights are
retrained now and then.
"""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from harness.browser import get_json


@pytest.fixture(scope="module")
def card(trained_server) -> dict:
    return get_json(trained_server, "/api/model")


def expected_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


def test_the_panel_shows_the_trained_models_facts_architecture_and_curves(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.open(trained_server)

    summary = page.inner_text("#model-summary")
    assert f"{card['test_accuracy'] * 100:.2f}%" in summary
    assert f"{card['parameter_count']:,}" in summary
    assert f"{card['training']['training_images']:,}" in summary
    assert f"on the {card['test_images']:,} MNIST test digits" in summary
    # Outlier exposure, when the card records it, is explained with its own numbers.
    exposure = card["training"].get("outlier_exposure")
    if exposure:
        assert f"also held {exposure['per_batch']} images that are no digit" in summary
    else:
        assert "no digit" not in summary
    layers = page.locator("#model-architecture .arch-layer")
    assert layers.count() == len(card["architecture"]) + 1  # and the input
    architecture = page.locator("#model-architecture")
    architecture.scroll_into_view_if_needed()  # rendered text, as a person reads it on screen
    expect(architecture).to_contain_text("30 × 24 × 24 = 17,280", use_inner_text=True)
    # The digits' loss, the outlier term (when trained with outliers) and accuracy, apart.
    charts = page.locator("#model-curves svg.chart")
    assert charts.count() == (3 if exposure else 2)
    # One dot per epoch on the digits' loss curve.
    assert charts.first.locator("circle").count() == len(card["history"])
    assert "Loss on digits" in charts.first.get_attribute("aria-label")
    if exposure:
        outlier_chart = charts.nth(1)
        assert "Outlier term" in outlier_chart.get_attribute("aria-label")
        # Its floor, ln 10, is drawn and named: the term cannot go below it.
        assert outlier_chart.locator("line.floor").count() == 1
        assert "ln 10" in outlier_chart.inner_text()


def test_the_training_time_shown_is_the_cards_real_training_seconds(digit_page, trained_server, card):
    page = digit_page.page
    digit_page.open(trained_server)

    seconds = card["training"]["seconds"]
    assert page.get_by_test_id("training-time").inner_text() == expected_duration(seconds)


def test_each_filter_shows_before_after_and_change_with_its_correlation_to_its_start(
    digit_page, trained_server, card
):
    page = digit_page.page
    digit_page.open(trained_server)
    # (filters, size, size), whether the card holds one input channel's axis or not.
    before, after = (np.array(card["filters"][key], dtype=float) for key in ("before", "after"))
    before, after = (w.reshape(len(w), w.shape[-2], w.shape[-1]) for w in (before, after))

    filters = page.evaluate(
        """() => [...document.querySelectorAll("#model-filters .filter-change")].map((item) => ({
            index: Number(item.dataset.filter),
            r: Number(item.dataset.correlation),
            canvases: Object.fromEntries([...item.querySelectorAll("canvas")].map((c) => {
                const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                return [c.dataset.which, {size: [c.width, c.height],
                    rgb: Array.from({length: data.length / 4}, (_, i) => [data[4 * i], data[4 * i + 2]])}];
            })),
        }))"""
    )
    assert [f["index"] for f in filters] == list(range(len(after)))
    for f in filters:
        k = f["index"]
        expected_r = np.corrcoef(before[k].ravel(), after[k].ravel())[0, 1]
        assert f["r"] == pytest.approx(expected_r, abs=1e-3)
        for which, weights in (("before", before[k]), ("after", after[k]), ("change", after[k] - before[k])):
            canvas = f["canvases"][which]
            assert canvas["size"] == list(weights.shape)
            # Diverging scale: clearly positive weights are red, clearly negative ones blue.
            limit = 0.2 * np.abs(weights).max()
            for (red, blue), w in zip(canvas["rgb"], weights.ravel(), strict=True):
                if w > limit:
                    assert red > blue, (k, which, w)
                elif w < -limit:
                    assert blue > red, (k, which, w)
    # The colour key beside them is painted with the diverging scale.
    key = page.locator("#model-filters .legend-bar").evaluate("bar => getComputedStyle(bar).backgroundImage")
    assert key.startswith("linear-gradient")
    # The card's figure is the mean of the per-filter correlations shown.
    mean_r = np.mean([f["r"] for f in filters])
    assert mean_r == pytest.approx(card["filters"]["correlation_with_start"], abs=1e-3)
