"""A line's strokes cut into one piece per digit: broken digits joined, dust, specks and
underlines dropped, left to right, and the cost bounded (app.preprocessing.pieces)."""

from __future__ import annotations

import numpy as np
import pytest

from app.preprocessing import NoDigitFound
from app.preprocessing.components import connected_runs, run_count
from app.preprocessing.exceptions import TooManyDigits, TooManyMarks
from app.preprocessing.ink import InkReading
from app.preprocessing.pieces import MAX_DIGITS, MAX_RUNS, Piece, find_pieces

HEIGHT = 80


def line(width: int = 400, height: int = 120) -> np.ndarray:
    return np.zeros((height, width), dtype=bool)


def reading(mask: np.ndarray) -> InkReading:
    return InkReading(mask.astype(np.float32), mask, 1.0, (0, 0, mask.shape[1], mask.shape[0]), True)


def bar(mask: np.ndarray, left: int, top: int, width: int, height: int) -> None:
    mask[top : top + height, left : left + width] = True


def ring(mask: np.ndarray, left: int, top: int, width: int, height: int, stroke: int = 8) -> None:
    bar(mask, left, top, width, height)
    mask[top + stroke : top + height - stroke, left + stroke : left + width - stroke] = False


def test_separate_digits_are_pieces_in_order_left_to_right():
    mask = line()
    ring(mask, 200, 20, 50, HEIGHT)
    bar(mask, 40, 20, 10, HEIGHT)
    ring(mask, 110, 20, 50, HEIGHT)
    pieces = find_pieces(reading(mask))
    assert [piece.box for piece in pieces] == [(40, 20, 50, 100), (110, 20, 160, 100), (200, 20, 250, 100)]


def test_a_separate_top_bar_joins_the_digit_below_it():
    # A 5 written in two strokes: its bar apart from its body, above it.
    mask = line()
    bar(mask, 60, 10, 40, 8)
    ring(mask, 50, 30, 50, 60)
    [piece] = find_pieces(reading(mask))
    assert piece.box == (50, 10, 100, 90)


def test_a_four_whose_upright_does_not_meet_its_bar_is_one_piece():
    mask = line()
    bar(mask, 40, 60, 60, 8)  # the open part and its bar
    bar(mask, 40, 20, 8, 48)
    bar(mask, 80, 10, 8, 90)  # the upright, crossing the bar's row without touching it
    mask[56:72, 80:88] = False
    mask[60:68, 80:88] = True
    mask[56:60, 80:88] = mask[68:72, 80:88] = False
    [piece] = find_pieces(reading(mask))
    assert piece.box == (40, 10, 100, 100)


def test_two_tall_digits_that_overlap_a_little_stay_apart():
    mask = line()
    bar(mask, 40, 20, 50, 8)  # a 7's bar reaching over the 1 beside it
    bar(mask, 80, 20, 8, HEIGHT)
    bar(mask, 100, 20, 10, HEIGHT)  # the 1
    assert len(find_pieces(reading(mask))) == 2


@pytest.mark.parametrize("mark", ["speck", "dust", "underline"])
def test_specks_dust_and_underlines_are_not_digits(mark):
    mask = line()
    bar(mask, 40, 10, 10, HEIGHT)
    ring(mask, 110, 10, 50, HEIGHT)
    if mark == "speck":
        bar(mask, 300, 50, 12, 12)
    elif mark == "dust":
        bar(mask, 80, 40, 3, 3)
    else:
        bar(mask, 30, 100, 140, 5)
    pieces = find_pieces(reading(mask))
    assert [piece.box for piece in pieces] == [(40, 10, 50, 90), (110, 10, 160, 90)]


def test_only_specks_is_no_digit():
    mask = line()
    bar(mask, 40, 40, 3, 3)
    bar(mask, 50, 10, 200, 4)
    bar(mask, 80, 80, 3, 3)
    with pytest.raises(NoDigitFound):
        find_pieces(reading(mask))


def test_more_digits_than_a_number_holds_are_refused_naming_the_limit():
    mask = line(width=(MAX_DIGITS + 1) * 40 + 40)
    for k in range(MAX_DIGITS + 1):
        bar(mask, 40 + 40 * k, 20, 10, HEIGHT)
    with pytest.raises(TooManyDigits, match=str(MAX_DIGITS)):
        find_pieces(reading(mask))
    mask[:, 40 + 40 * MAX_DIGITS :] = False
    assert len(find_pieces(reading(mask))) == MAX_DIGITS


def test_a_speckled_line_is_refused_before_its_parts_are_sorted_out():
    specks = np.random.default_rng(0).random((80, 1280)) < 0.2
    assert run_count(specks) > MAX_RUNS
    with pytest.raises(TooManyMarks, match=str(MAX_RUNS)):
        find_pieces(reading(specks))


def test_many_digit_sized_blobs_are_refused():
    mask = line(width=1280, height=80)
    for k in range(300):
        bar(mask, 4 * k + (k % 2), 10 + 40 * (k % 2), 2, 30)
    with pytest.raises((TooManyMarks, TooManyDigits)):
        find_pieces(reading(mask))


def test_connected_runs_label_each_8_connected_part():
    mask = np.array([[1, 1, 0, 0, 1],
                     [0, 0, 1, 0, 1],
                     [1, 0, 0, 0, 0]], dtype=bool)
    runs = connected_runs(mask)
    parts = {(int(r), int(s)): int(p) for r, s, p in zip(runs.rows, runs.starts, runs.parts, strict=True)}
    assert parts[(0, 0)] == parts[(1, 2)]  # diagonal neighbours
    assert parts[(0, 4)] == parts[(1, 4)]
    assert len({parts[(0, 0)], parts[(0, 4)], parts[(2, 0)]}) == 3
    assert run_count(mask) == len(runs.rows) == 5


def test_a_flat_bar_sticking_out_beside_a_digit_belongs_to_it():
    # A 5 whose bar starts over its body's right edge and runs on to the right.
    mask = line()
    ring(mask, 40, 30, 50, 70)
    bar(mask, 80, 12, 45, 8)
    [piece] = find_pieces(reading(mask))
    assert piece.box == (40, 12, 125, 100)


def test_a_dash_beside_no_digit_is_not_a_digit():
    mask = line()
    bar(mask, 40, 20, 10, HEIGHT)
    bar(mask, 100, 55, 40, 8)  # a dash, well clear of the 1
    ring(mask, 180, 20, 50, HEIGHT)
    pieces = find_pieces(reading(mask))
    assert [piece.box for piece in pieces] == [(40, 20, 50, 100), (180, 20, 230, 100)]


@pytest.mark.parametrize(("bit", "dropped"), [(20, True), (27, False)])  # 10% and 13% of the stretch
def test_a_stretch_drops_a_neighbours_stroke_end_under_a_share_of_its_pixels(bit, dropped):
    mask = np.zeros((20, 60), dtype=bool)
    mask[:, :9] = True  # the stretch's own digit: 180 pixels
    mask[5, 30 : 30 + bit] = True  # a separate bit the cut left on this side
    part = Piece(mask, 0, 0).columns(0, 30 + bit)
    assert (part.mask.shape[1] == 9) is dropped
