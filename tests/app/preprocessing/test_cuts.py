"""Touching digits cut apart where the network reads the halves better than the whole, and a
wide single digit left whole (app.preprocessing.cuts), with a stand-in network that knows the
digits it is shown."""

from __future__ import annotations

import numpy as np
import pytest

from app.preprocessing.cuts import MAX_READS, Reading, candidate_cuts, loops, read_pieces, side_of_a_bowl
from app.preprocessing.ink import InkReading
from app.preprocessing.pieces import find_pieces, piece_input


def reading(mask: np.ndarray) -> InkReading:
    return InkReading(mask.astype(np.float32), mask, 1.0, (0, 0, mask.shape[1], mask.shape[0]), True)


def ring(mask: np.ndarray, left: int, top: int, width: int, height: int, stroke: int = 9) -> None:
    rows, cols = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    cy, cx = top + height / 2, left + width / 2
    outer = ((rows - cy) / (height / 2)) ** 2 + ((cols - cx) / (width / 2)) ** 2 <= 1
    inner = ((rows - cy) / (height / 2 - stroke)) ** 2 + ((cols - cx) / (width / 2 - stroke)) ** 2 <= 1
    mask |= outer & ~inner


def upright(mask: np.ndarray, left: int, top: int, height: int, stroke: int = 9) -> None:
    mask[top : top + height, left : left + stroke] = True


def alone(draw) -> np.ndarray:
    """The network input of one mark drawn alone on a line."""
    mask = np.zeros((100, 300), dtype=bool)
    draw(mask)
    [piece] = find_pieces(reading(mask))
    return piece_input(reading(mask), piece)


class KnowingReader:
    """Reads an input like one of ``known`` (digit → network input) as that digit, as sure as
    ``sure[digit]`` says; anything else as not a digit. Counts the images it reads."""

    def __init__(self, known: dict[int, np.ndarray], sure: dict[int, float], otherwise: Reading):
        self.known, self.sure, self.otherwise, self.images = known, sure, otherwise, 0

    def __call__(self, images: np.ndarray) -> list[Reading]:
        self.images += len(images)
        return [self._one(image) for image in images]

    def _one(self, image: np.ndarray) -> Reading:
        for digit, reference in self.known.items():
            if np.corrcoef(image.ravel(), reference.ravel())[0, 1] > 0.97:
                return Reading(digit, self.sure[digit], "digit")
        return self.otherwise


def test_touching_digits_are_cut_where_both_halves_read_as_confident_digits():
    # A 1 touching a 0: one piece of ink.
    def one(mask):
        upright(mask, 40, 10, 80)

    def zero(mask):
        ring(mask, 49, 10, 70, 80)

    mask = np.zeros((100, 300), dtype=bool)
    one(mask)
    zero(mask)
    line = reading(mask)
    [piece] = find_pieces(line)
    read = KnowingReader({1: alone(one), 0: alone(zero)}, {1: 0.99, 0: 0.99},
                         otherwise=Reading(8, 0.6, "not_a_digit"))
    found = read_pieces(line, [piece], read)
    assert [item.reading.digit for item in found] == [1, 0]
    assert found[0].piece.box[2] <= found[1].piece.box[0] + 2  # left to right, side by side


def test_a_wide_zero_that_reads_as_a_confident_digit_is_not_cut():
    def wide_zero(mask):
        ring(mask, 40, 10, 100, 80)

    mask = np.zeros((100, 300), dtype=bool)
    wide_zero(mask)
    line = reading(mask)
    [piece] = find_pieces(line)
    # Every half would read as a sure digit too: the whole's own confidence decides.
    read = KnowingReader({0: alone(wide_zero)}, {0: 0.97}, otherwise=Reading(1, 0.99, "digit"))
    found = read_pieces(line, [piece], read)
    assert [item.reading.digit for item in found] == [0]
    assert read.images > 1  # cuts were tried, and refused


@pytest.mark.parametrize("reader_says", [Reading(1, 0.99, "digit"), Reading(4, 0.3, "not_a_digit")])
def test_the_network_reads_a_bounded_number_of_images_per_number(reader_says):
    mask = np.zeros((100, 12 * 130), dtype=bool)
    for k in range(12):
        ring(mask, 10 + 130 * k, 10, 120, 80)
        upright(mask, 60 + 130 * k, 10, 80)
    line = reading(mask)
    pieces = find_pieces(line)
    read = KnowingReader({}, {}, otherwise=reader_says)
    found = read_pieces(line, pieces, read)
    assert read.images <= MAX_READS
    assert len(found) <= 12


def test_candidate_cuts_are_at_the_thin_bridge_between_two_blobs():
    mask = np.zeros((80, 120), dtype=bool)
    mask[:, 10:50] = True
    mask[:, 70:110] = True
    mask[38:42, 50:70] = True
    cuts = candidate_cuts(mask, most=3)
    assert len(cuts) == 3 and 50 <= cuts[0] < 70  # the thinnest first, then evenly spaced ones
    assert all(abs(a - b) >= 8 for a in cuts for b in cuts if a != b)


@pytest.mark.parametrize("width", [60, 100])
def test_a_bowl_is_not_cut_into_sides_read_as_ones(width):
    # Every side of the ring reads as a sure 1 (as the network reads a bowl's side), the whole
    # as an unsure 0: the sides run on across their cuts at top and bottom, so are no 1s.
    def zero(mask):
        ring(mask, 40, 10, width, 80)

    mask = np.zeros((100, 300), dtype=bool)
    zero(mask)
    line = reading(mask)
    [piece] = find_pieces(line)
    read = KnowingReader({0: alone(zero)}, {0: 0.5}, otherwise=Reading(1, 0.999, "digit"))
    found = read_pieces(line, [piece], read)
    assert [item.reading.digit for item in found] == [0]
    assert read.images > 1  # cuts were tried, and refused


@pytest.mark.parametrize("zero_width", [70, 55])  # the pair 0.98 and 0.79 of its height wide
@pytest.mark.parametrize(("rest_sure", "digits"), [(0.995, [1, 0]), (0.99, [1, 0]), (0.9, [0])])
def test_a_one_the_network_reads_past_is_cut_off_when_its_neighbour_reads_no_worse_without_it(
        zero_width, rest_sure, digits):
    # The network reads the 1 and the 0 together as a sure 0 (anything it does not know, as a
    # sure 0): the 1 is cut off when the 0 alone reads at least as surely, not when it reads
    # less surely (as a 4 whose upright is cut off does).
    def one(mask):
        upright(mask, 40, 10, 80)

    def zero(mask):
        ring(mask, 49, 10, zero_width, 80)

    mask = np.zeros((100, 300), dtype=bool)
    one(mask)
    zero(mask)
    line = reading(mask)
    [piece] = find_pieces(line)
    read = KnowingReader({1: alone(one), 0: alone(zero)}, {1: 0.99, 0: rest_sure},
                         otherwise=Reading(0, 0.99, "digit"))
    found = read_pieces(line, [piece], read)
    assert [item.reading.digit for item in found] == digits


@pytest.mark.parametrize(("draw", "cut", "bowl"), [
    (lambda mask: ring(mask, 40, 10, 70, 80), (40, 52), True),  # a 0's left side
    (lambda mask: ring(mask, 40, 10, 70, 80), (95, 110), True),  # its right side
    (lambda mask: (upright(mask, 40, 10, 80), ring(mask, 49, 10, 70, 80)), (40, 49), False),  # a 1 by a 0
    (lambda mask: (upright(mask, 60, 10, 80), mask.__setitem__((slice(45, 53), slice(30, 90)), True)),
     (55, 75), False),  # a 1 crossed by a bar
])
def test_a_side_of_a_bowl_runs_on_across_its_cut_at_both_ends_and_a_one_does_not(draw, cut, bowl):
    mask = np.zeros((100, 300), dtype=bool)
    draw(mask)
    [piece] = find_pieces(reading(mask))
    start, stop = cut[0] - piece.left, cut[1] - piece.left
    part = piece.columns(start, stop)
    assert side_of_a_bowl(piece, part, start, stop) is bowl


def test_loops_are_the_paper_a_stroke_encloses_not_the_paper_outside_an_open_one():
    closed = np.zeros((100, 150), dtype=bool)
    ring(closed, 20, 10, 70, 80)
    inside = loops(closed)
    assert inside[50, 55] and not inside[50, 5] and not inside[5, 55]  # the middle, not outside
    assert not (inside & closed).any()
    opened = closed.copy()
    opened[40:60, 80:100] = False  # a gap in the ring's right side: a C
    assert not loops(opened).any()


def test_a_cut_through_a_loop_loses_to_one_beside_it_that_reads_almost_as_surely():
    # A 1 leaning on a 0. Cut beside the 0, the stretches are a 1 and a 0; cut through the 0's
    # loop, they read (here) as a 4 and a 7, a little more surely. An upright cut through a
    # loop is what leaves a 9 leaning on its neighbour a 7: it counts × LOOP_PRIOR, so the 1 and
    # the 0 win.
    mask = np.zeros((100, 300), dtype=bool)
    upright(mask, 40, 10, 80)
    ring(mask, 49, 10, 70, 80)
    line = reading(mask)
    [piece] = find_pieces(line)
    width = piece.mask.shape[1]
    cuts = candidate_cuts(piece.mask)
    in_a_loop = loops(piece.mask).any(axis=0)
    beside = min(cuts, key=lambda column: abs(column - 9))  # the 1's right edge
    through = min((column for column in cuts if in_a_loop[column]), key=lambda column: abs(column - 44))
    known = {1: (0, beside), 0: (beside, width), 4: (0, through), 7: (through, width)}
    read = KnowingReader({digit: piece_input(line, piece.columns(*span)) for digit, span in known.items()},
                         {1: 0.99, 0: 0.99, 4: 0.995, 7: 0.995}, otherwise=Reading(8, 0.4, "not_a_digit"))
    found = read_pieces(line, [piece], read)
    assert [item.reading.digit for item in found] == [1, 0]


@pytest.mark.parametrize(("halves_sure", "digits"), [(0.7, [0, 0]), (0.4, [8])])
def test_a_wide_piece_that_reads_as_no_digit_is_cut_into_halves_that_read_as_unsure_digits(
        halves_sure, digits):
    # Two 0s joined by a bridge read together as no digit, each half as a 0 but not surely
    # (under the confidence a cut-out stretch needs): wide and unread, the whole counts as unsure
    # twice, so halves read as 0s at 0.7 win; at 0.4 they read too poorly to be worth the cut.
    mask = np.zeros((100, 300), dtype=bool)
    ring(mask, 40, 10, 44, 80)
    ring(mask, 90, 10, 44, 80)
    mask[46:54, 80:94] = True
    line = reading(mask)
    [piece] = find_pieces(line)
    bridge = candidate_cuts(piece.mask)[0]  # the thinnest column: the halves the network knows
    halves = [piece_input(line, piece.columns(0, bridge)),
              piece_input(line, piece.columns(bridge, piece.mask.shape[1]))]
    # Both halves are 0s: the right one is known under the key 10, read back as 10 % 10.
    read = KnowingReader({0: halves[0], 10: halves[1]}, {0: halves_sure, 10: halves_sure},
                         otherwise=Reading(8, 0.2, "not_a_digit"))
    found = read_pieces(line, [piece], read)
    assert [item.reading.digit % 10 for item in found] == digits
