"""How it would learn from this: one backward pass and a few SGD steps on the drawing, with a true
digit the learner chooses (mouse, keyboard, phone)."""

from __future__ import annotations

import math

import pytest

from harness.browser import PHONE_390, serious_violations
from harness.page_predictions import TALL, PredictionLog, read_seven_on_a_tall_page
from harness.strokes import SEVEN

BACKWARD = '[data-testid="backward"]'


def state(page) -> dict:
    return page.eval_on_selector(BACKWARD, "(node) => ({...node.dataset})")


def wait_for_lesson(digit_page, label: int) -> None:
    digit_page.wait_until(
        f"() => {{ const b = document.querySelector('{BACKWARD}'); "
        f"return b.dataset.state === 'shown' && b.dataset.label === '{label}'; }}",
        timeout=20_000,
    )


def test_the_backward_pass_of_the_answer_is_shown_with_its_loss(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)
    wait_for_lesson(digit_page, 7)
    # The label defaults to the answer, and the part asks with the default rate and steps.
    assert page.locator('[data-testid="backward-label"]').input_value() == "7"
    lesson_query = log.lesson_queries[-1]
    assert lesson_query["label"] == ["7"] and lesson_query["learning_rate"] == ["0.001"]
    assert lesson_query["steps"] == ["1"]

    # The loss shown is −log p of the true digit, p from the answer on screen. When the network
    # is sure (p within 1e-4 of 1) the loss is tiny, and float32's steps near 1 (6e-8) and the
    # loss's 1e-7 guard against log 0 are what is left: an absolute tolerance of 2e-7.
    answer = log.shown(digit_page)
    shown_loss = float(page.get_attribute('[data-testid="backward-loss"]', "data-loss"))
    assert shown_loss == pytest.approx(-math.log(answer["probabilities"][7] + 1e-7), rel=1e-3, abs=2e-7)
    assert "−log p(7)" in page.inner_text('[data-testid="backward-loss"]')

    assert page.locator('[data-testid="filter-gradients"] > [data-filter]').count() == 30
    assert page.locator('[data-testid="hidden-gradients"] > .gradient-cell').count() == 100
    assert page.locator('[data-testid="score-gradients"] > li').count() == 10
    # The input's gradient links to the saliency above: the same kind of gradient.
    link = page.locator(f'{BACKWARD} a[href="#saliency-title"]')
    assert link.count() == 1 and page.locator("#saliency-title").count() == 1
    accuracy = page.inner_text('[data-testid="sample-accuracy"]')
    assert "1,000 MNIST test digits" in accuracy and "→" in accuracy
    assert serious_violations(page, BACKWARD) == []
    page.locator('[data-part="backward"]').screenshot(path=str(digit_page.screenshot_path("backward-1280")))


def test_teaching_a_wrong_label_for_many_steps_costs_other_digits(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)
    wait_for_lesson(digit_page, 7)

    # Mouse: choose 1 as the true digit, a high rate and 20 steps, then run.
    page.locator('[data-testid="backward-label"]').select_option("1")
    wait_for_lesson(digit_page, 1)
    page.locator('[data-testid="backward-rate"]').select_option("0.003")
    steps = page.locator('[data-testid="backward-steps"]')
    box = steps.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)  # the far end: 20
    assert steps.input_value() == "20"
    page.locator('[data-testid="backward-run"]').click()
    digit_page.wait_until(
        "() => document.querySelector('[data-testid=sample-accuracy]').dataset.after !== undefined "
        "&& document.querySelector('.backward-after-title').textContent.includes('20 steps')",
        timeout=20_000,
    )
    result = log.lessons[-1]["gradients"]
    assert (result["label"], result["steps"], result["learning_rate"]) == (1, 20, 0.003)
    accuracy = page.get_attribute('[data-testid="sample-accuracy"]', "data-after")
    assert float(accuracy) == result["after"]["sample_accuracy"]["after"]
    # The lesson: twenty steps towards a wrong label cost the network a visible share of other digits.
    before = result["after"]["sample_accuracy"]["before"]
    assert float(accuracy) < before - 0.02
    # The drawing itself now leans to 1.
    assert result["after"]["probabilities"][1] > result["scores"][1]
    page.locator('[data-part="backward"]').screenshot(path=str(digit_page.screenshot_path("backward-lesson-1280")))


def test_the_keyboard_chooses_a_label_and_runs_the_steps(digit_page, trained_server):
    page = digit_page.page
    log = read_seven_on_a_tall_page(digit_page, trained_server)
    wait_for_lesson(digit_page, 7)

    page.locator('[data-testid="backward-label"]').focus()
    page.keyboard.press("ArrowDown")  # 7 → 8
    wait_for_lesson(digit_page, 8)
    page.keyboard.press("Tab")  # the learning rate
    page.keyboard.press("Tab")  # the steps
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    assert page.locator('[data-testid="backward-steps"]').input_value() == "3"
    assert "Run 3 steps" in page.inner_text('[data-testid="backward-run"]')
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    digit_page.wait_until(
        "() => document.querySelector('.backward-after-title').textContent.includes('3 steps')",
        timeout=20_000,
    )
    assert log.lessons[-1]["gradients"]["steps"] == 3
    answer = log.shown(digit_page)
    shown_loss = float(page.get_attribute('[data-testid="backward-loss"]', "data-loss"))
    assert shown_loss == pytest.approx(-math.log(answer["probabilities"][8] + 1e-7), rel=1e-3)

    # Clearing the pad forgets the chosen label: the next drawing's lesson takes its answer.
    page.keyboard.press("Escape")
    assert state(page)["state"] == "empty"
    digit_page.read(SEVEN)
    assert page.locator('[data-testid="backward-label"]').input_value() == "7"  # follows the answer again
    wait_for_lesson(digit_page, 7)


def test_a_closed_part_asks_for_no_gradients(digit_page, trained_server):
    digit_page.page.set_viewport_size(TALL)
    page = digit_page.page
    log = PredictionLog(page)
    digit_page.open(trained_server)
    page.locator("#backward-title").click()  # open on a desktop: close it
    digit_page.read(SEVEN)
    page.wait_for_timeout(200)
    assert log.lessons == []
    page.locator("#backward-title").click()
    wait_for_lesson(digit_page, 7)
    assert len(log.lessons) == 1


@pytest.mark.browser_context_args(**PHONE_390)
def test_the_backward_pass_on_a_phone(digit_page, trained_server):
    page = digit_page.page
    log = PredictionLog(page)
    digit_page.open(trained_server)
    digit_page.draw_by_touch(SEVEN)
    digit_page.wait_for_answer()
    assert log.lessons == []  # closed on a phone
    summary = page.locator('[data-part="backward"] > summary')
    summary.scroll_into_view_if_needed()
    page.wait_for_timeout(100)
    summary.tap()
    wait_for_lesson(digit_page, 7)

    page.locator('[data-testid="backward-label"]').select_option("2")
    wait_for_lesson(digit_page, 2)
    page.locator('[data-testid="backward-run"]').tap()
    digit_page.wait_until(
        "() => document.querySelector('[data-testid=sample-accuracy]').dataset.after !== undefined",
        timeout=20_000,
    )
    wait_for_lesson(digit_page, 2)  # shown, not dimmed while a newer one loads
    assert page.locator('[data-testid="filter-gradients"] > [data-filter]').count() == 30
    for selector in ('[data-testid="input-gradient"]', '[data-testid="filter-gradients"]',
                     '[data-testid="backward-run"]'):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert serious_violations(page, BACKWARD) == []
    page.locator('[data-part="backward"]').screenshot(path=str(digit_page.screenshot_path("backward-390")))
