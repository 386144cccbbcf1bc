"""A line's ink cut into pieces, one per digit: its connected parts (``components``), the parts
of one broken digit joined, dust, specks and underlines dropped, in order left to right.

* Parts that overlap a lot in x belong together: a 5's separate top bar, a 4 drawn in two
  strokes, a 7's crossbar (half the narrower one's width; four fifths when both are as tall as
  digits, so a 1 under the overhang of a 7's bar stays apart).
* A flat mark (under FLAT of the line's height) beside a digit belongs to it, though it overlaps
  it little (a 5's bar sticking out to the right); one beside no digit (a dash) is none.
* Dust (under DUST_SIDE of the line's height on its longer side) is dropped before joining, a
  separate speck (under SPECK_SIDE) after it, and so is an underline: a part much wider than the
  line is high, and flat.
* The cost is bounded before the parts are sorted out: a line whose strokes hold more than
  MAX_RUNS runs of pixels, or more than MAX_PARTS parts once dust is dropped, is refused
  (TooManyMarks), and one with more than MAX_DIGITS pieces too (TooManyDigits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.preprocessing.components import connected_runs, run_count, run_sums
from app.preprocessing.exceptions import NoDigitFound, TooManyDigits, TooManyMarks
from app.preprocessing.ink import InkReading
from app.preprocessing.mnist_form import finish
from app.preprocessing.morphology import dilate
from app.preprocessing.steps import Step

MAX_DIGITS = 12  # digits one image may hold
MAX_RUNS = 10_000  # runs of stroke pixels in the line (12 digits 80 px high cross under 4,000)
MAX_PARTS = 200  # separate parts, dust dropped (a broken pencil digit is a handful)
HEAVY = 0.2  # parts with this share of the heaviest part's ink set the line's height
LINE_SHARE = 0.5  # ... which is at least this share of the reading's height
DUST_SIDE = 0.15  # of the line's height: dust, dropped before joining
SPECK_SIDE = 0.3  # of the line's height: a speck, dropped after joining
UNDERLINE_WIDTH = 1.2  # wider than this many line heights,
UNDERLINE_FLATNESS = 0.25  # and lower than this share of its width: an underline
JOIN_OVERLAP = 0.5  # of the narrower part's width: the parts of one digit
JOIN_OVERLAP_TALL = 0.8  # the same when both parts are TALL
TALL = 0.6  # of the line's height: a part as tall as a digit
FLAT = 0.4  # of the line's height: a mark lower than this is part of a digit beside it, or no digit
FLAT_GAP = 0.1  # of the line's height: how far from a digit such a mark may lie and belong to it
FRAGMENT = 0.12  # of a cut stretch's stroke pixels: a part this small is the neighbour's stroke end


@dataclass(frozen=True)
class Piece:
    """One digit's strokes: ``mask`` (h, w bool) placed at (``top``, ``left``) in the line."""

    mask: np.ndarray
    top: int
    left: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in the line's pixels."""
        height, width = self.mask.shape
        return self.left, self.top, self.left + width, self.top + height

    def columns(self, start: int, stop: int) -> Piece | None:
        """The strokes in the piece's columns [start, stop), cropped to them, without the ends of
        a neighbour's strokes that the cut left there; None when there are none."""
        return _cropped(_without_fragments(self.mask[:, start:stop]), self.top, self.left + start)


def _without_fragments(mask: np.ndarray) -> np.ndarray:
    """``mask`` (h, w bool) without its connected parts of under FRAGMENT of its pixels: the ends
    of a neighbour's strokes that a cut left on this side."""
    runs = connected_runs(mask)
    if len(runs.rows) == 0:
        return mask
    sizes = np.bincount(runs.parts, weights=runs.stops - runs.starts)
    small = sizes[runs.parts] < FRAGMENT * sizes.sum()
    if not small.any():
        return mask
    mask = mask.copy()
    for row, start, stop in zip(runs.rows[small].tolist(), runs.starts[small].tolist(),
                                runs.stops[small].tolist(), strict=True):
        mask[row, start:stop] = False
    return mask


def _cropped(mask: np.ndarray, top: int, left: int) -> Piece | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return Piece(mask, top + int(rows[0]), left + int(cols[0]))


def find_pieces(reading: InkReading) -> list[Piece]:
    """The pieces of the line ``reading`` (its strokes at line scale), left to right. Raises
    TooManyMarks, TooManyDigits, or NoDigitFound when no piece is left."""
    strokes = reading.mask
    runs_found = run_count(strokes)
    if runs_found > MAX_RUNS:
        raise TooManyMarks(f"the ink is broken into more than {MAX_RUNS} runs of pixels ({runs_found}): "
                           "a speckled or textured image, not a line of digits")
    runs = connected_runs(strokes)
    if len(runs.rows) == 0:
        raise NoDigitFound("no digit found")
    count = int(runs.parts.max()) + 1
    mass = np.bincount(runs.parts, weights=run_sums(reading.ink, runs), minlength=count)
    tops, bottoms = np.full(count, strokes.shape[0]), np.zeros(count, dtype=np.intp)
    lefts, rights = np.full(count, strokes.shape[1]), np.zeros(count, dtype=np.intp)
    np.minimum.at(tops, runs.parts, runs.rows)
    np.maximum.at(bottoms, runs.parts, runs.rows + 1)
    np.minimum.at(lefts, runs.parts, runs.starts)
    np.maximum.at(rights, runs.parts, runs.stops)
    heights, widths = bottoms - tops, rights - lefts
    # The line was read so that its ink is about as high as the reading: its digits are at
    # least half that, whatever specks alone would say.
    line_height = max(float(heights[mass >= HEAVY * mass.max()].max()), LINE_SHARE * strokes.shape[0])
    underline = (widths > UNDERLINE_WIDTH * line_height) & (heights < UNDERLINE_FLATNESS * widths)
    kept = ~underline & (np.maximum(heights, widths) >= DUST_SIDE * line_height)
    if np.count_nonzero(kept) > MAX_PARTS:
        raise TooManyMarks(f"the image holds {np.count_nonzero(kept)} separate marks; a line of at most "
                           f"{MAX_DIGITS} digits has far fewer (the limit is {MAX_PARTS})")
    parts = np.flatnonzero(kept)
    groups = _join(parts, lefts, rights, heights >= TALL * line_height)
    groups = _attach_flat(groups, (tops, bottoms, lefts, rights), line_height)
    pieces = []
    labels = np.full(count, -1, dtype=np.intp)
    for number, members in enumerate(groups):
        labels[members] = number
    for number, members in enumerate(groups):
        y0, y1 = int(tops[members].min()), int(bottoms[members].max())
        x0, x1 = int(lefts[members].min()), int(rights[members].max())
        if max(y1 - y0, x1 - x0) < SPECK_SIDE * line_height:
            continue
        mine = labels[runs.parts] == number
        mask = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        for row, start, stop in zip(runs.rows[mine].tolist(), runs.starts[mine].tolist(),
                                    runs.stops[mine].tolist(), strict=True):
            mask[row - y0, start - x0 : stop - x0] = True
        pieces.append(Piece(mask, y0, x0))
    if not pieces:
        raise NoDigitFound("no digit found: only specks or lines")
    if len(pieces) > MAX_DIGITS:
        raise TooManyDigits(f"the image holds {len(pieces)} separate marks of a digit's size; "
                            f"a number may have at most {MAX_DIGITS} digits")
    pieces.sort(key=lambda piece: (piece.left + piece.mask.shape[1] / 2))
    return pieces


def _join(parts: np.ndarray, lefts: np.ndarray, rights: np.ndarray, tall: np.ndarray) -> list[np.ndarray]:
    """The ``parts`` (indices) grouped: a group joins another that it overlaps in x by
    JOIN_OVERLAP of the narrower one's width (JOIN_OVERLAP_TALL when both hold a TALL part),
    until no two groups do."""
    groups = [np.array([part]) for part in parts.tolist()]
    while len(groups) > 1:
        left = np.array([lefts[g].min() for g in groups])
        right = np.array([rights[g].max() for g in groups])
        has_tall = np.array([tall[g].any() for g in groups])
        overlap = np.minimum(right[:, None], right[None]) - np.maximum(left[:, None], left[None])
        narrower = np.minimum((right - left)[:, None], (right - left)[None])
        needed = np.where(has_tall[:, None] & has_tall[None], JOIN_OVERLAP_TALL, JOIN_OVERLAP)
        joins = overlap >= needed * narrower
        np.fill_diagonal(joins, False)
        if not joins.any():
            break
        first, second = (int(v) for v in np.argwhere(joins)[0])
        groups[first] = np.concatenate([groups[first], groups[second]])
        del groups[second]
    return groups


def _attach_flat(groups: list[np.ndarray], extents: tuple[np.ndarray, ...], line_height: float
                 ) -> list[np.ndarray]:
    """``groups`` with each flat one (under FLAT of the line's height: a 5's bar, a 7's) joined to
    the digit it overlaps in x most, or lies nearest to within FLAT_GAP of the line's height;
    a flat mark near no digit (a dash) is dropped."""
    tops, bottoms, lefts, rights = extents
    boxes = [(int(tops[g].min()), int(bottoms[g].max()), int(lefts[g].min()), int(rights[g].max()))
             for g in groups]
    flat = [bottom - top < FLAT * line_height for top, bottom, _, _ in boxes]
    joined = [list(g) for g in groups]
    for k, (_, _, left, right) in enumerate(boxes):
        if not flat[k]:
            continue
        # Overlap in x (negative: the gap) with each digit that is not flat.
        near = [(min(right, boxes[j][3]) - max(left, boxes[j][2]), j)
                for j in range(len(groups)) if not flat[j]]
        near = [(overlap, j) for overlap, j in near if overlap >= -FLAT_GAP * line_height]
        if near:
            joined[max(near)[1]] += joined[k]
        joined[k] = []
    return [np.array(g) for g in joined if g]


def piece_ink(reading: InkReading, piece: Piece) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The ink (h, w) in [0, 1] of ``piece`` with a margin of 2 pixels, its strokes (h, w bool),
    and the box (left, top, right, bottom) in the line they cover: the line's ink near the
    piece's strokes and not on another piece's."""
    left, top, right, bottom = piece.box
    height, width = reading.ink.shape
    y0, x0 = max(top - 2, 0), max(left - 2, 0)
    y1, x1 = min(bottom + 2, height), min(right + 2, width)
    mine = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    mine[top - y0 : bottom - y0, left - x0 : right - x0] = piece.mask
    others = reading.mask[y0:y1, x0:x1] & ~mine
    near = dilate(mine, 2) & ~others
    return np.where(near, reading.ink[y0:y1, x0:x1], np.float32(0)), mine, (x0, y0, x1, y1)


def piece_input(reading: InkReading, piece: Piece, steps: list[Step] | None = None) -> np.ndarray:
    """The network input (28, 28) for ``piece``, through the one-digit road's finish (stages
    appended to ``steps`` when given). Raises NoDigitFound for a blot."""
    ink, mask, _ = piece_ink(reading, piece)
    return finish(ink, mask, reading.contrast, steps)
