"""Touching digits cut apart, the cuts judged by the network itself.

A piece may be several digits that touch when it is wider than SPLIT_ASPECT times its height (a
1 touching a digit may be that narrow), or than MIN_SPLIT_ASPECT and its whole does not read as
a sure digit (WHOLE_CONFIDENCE) — and, when TYPICAL_COUNT pieces of the line read as sure
digits, wider than TYPICAL_SPLIT times their median width (a typed number's digits are all about
as wide: a bold 4 is not a 4 and a 1). Its candidate cuts are columns: the thinnest ones first
(valleys of the column profile, stroke pixels per column), then evenly spaced ones,
CUTS_PER_DIGIT for each digit the piece could hold (at most MAX_CUTS). Cuts leaning along italic
strokes were tried and read worse, and so were cuts bending between the strokes (the least-ink
path, as a seam in seam carving: it slips through a loop as readily as between two digits;
docs/numbers.md). Every stretch between two cuts (or the piece's ends) as wide
as a digit can be goes through the same finish and the same network as any digit (``read``), in
one batch, and the piece is read as the row of stretches whose readings are together the
likeliest:

    the product of each stretch's confidence, × NOT_SURE for each one not read as a confident
    digit (twice when it is wider than WIDE_UNSURE of the piece's height: more likely two digits
    that read poorly together than one), × TOO_WIDE_PRIOR for each TOO_WIDE heights of width of
    one wider than that, × CUT_PRIOR for each cut made (the whole uncut is one such row), and
    × LOOP_PRIOR more for each cut through a loop (``loops``: paper the strokes enclose).

Two touching digits seldom share a loop, but an upright cut through a 9's or a 6's, made where
its loop leans on its neighbour, leaves a 7 or a 5 that the network reads surely.

A stretch cut out is a confident digit when it reads as one (verdict "digit", CUT_CONFIDENCE)
and is CUT_HEIGHT of the piece's height, except:

* a side of a bowl: a stretch read as a 1 whose strokes run on across one of its cuts at both
  its top and its bottom is a 0's or a 6's side cut off (``side_of_a_bowl``), not a 1;
* a 1 and a digit: a stretch read as d that holds a clean 1 (a stretch inside it read as a
  confident 1, upright) with the rest on one side of that 1 reading as d at least as surely,
  holds that 1 as well (``_holds_a_one``): the network reads past a 1 touching a digit, and the
  cut prior would keep them together.

The whole piece counts as a confident digit when its verdict is "digit" (and it holds no 1).

So a cut is made when its halves read as confident digits and the whole does not: a wide single
digit (a 0, a long-tailed 7) reads as a confident digit whole, and cutting it would have to
beat that by 1 / CUT_PRIOR. The network reads at most MAX_READS images per number, and no piece
is cut into more pieces than MAX_DIGITS allows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.preprocessing.exceptions import NoDigitFound
from app.preprocessing.geometry import stroke_width
from app.preprocessing.ink import InkReading
from app.preprocessing.morphology import reconstruct
from app.preprocessing.pieces import MAX_DIGITS, Piece, piece_input

SPLIT_ASPECT = 0.75  # pieces at least this wide for their height are tried for cuts,
MIN_SPLIT_ASPECT = 0.6  # and those this wide whose whole is not read as a sure digit
WHOLE_CONFIDENCE = 0.9  # (verdict "digit" and at least this confidence)
TYPICAL_COUNT = 2  # pieces read as sure digits that set the line's typical digit width,
TYPICAL_SPLIT = 1.4  # and a piece narrower than this many typical widths is one digit
MIN_PART = 0.12  # of the piece's height: the narrowest digit (a 1)
MAX_PART = 1.3  # of the piece's height: the widest stretch read as one digit (the whole aside)
DIGIT_WIDTH = 0.5  # of the height: a narrow digit, to count how many a piece may hold
CUTS_PER_DIGIT = 3  # candidate cuts tried per digit it may hold
MAX_CUTS = 16  # candidate cuts in one piece
CUT_SPACING = 0.1  # of the height: candidates at least this far apart
GRID_STEP = 0.1  # of the height: the step of the evenly spaced cuts that follow the valleys
CUT_CONFIDENCE = 0.9  # a stretch cut out is a confident digit when read at least this sure,
CUT_HEIGHT = 0.75  # and at least this share of the piece's height (not a sliver of a bowl)
ONE_ASPECT = 0.5  # a clean 1 is at most this wide for its height
NOT_SURE = 0.1  # a stretch not read as a confident digit counts its confidence × this,
WIDE_UNSURE = 0.8  # of the piece's height: one wider than this counts × NOT_SURE twice
TOO_WIDE = 1.25  # a stretch more than this many times as wide as high ...
TOO_WIDE_PRIOR = 0.2  # ... counts its confidence × this per TOO_WIDE heights: hardly one digit
CUT_PRIOR = 0.7  # each cut made counts × this: the halves must read clearly better than the whole
MAX_READS = 160  # images the network reads to cut one number
LOOP_PRIOR = 0.3  # a cut through a loop (paper the strokes enclose) counts × this


@dataclass(frozen=True)
class Reading:
    """What the network made of one image: its digit, confidence and verdict label."""

    digit: int
    confidence: float
    verdict: str


# The network's reading of each of a batch of images (N, 28, 28), in order.
Reader = Callable[[np.ndarray], list[Reading]]


@dataclass(frozen=True)
class ReadPiece:
    """A piece, its network input (28, 28) and how the network read it."""

    piece: Piece
    image: np.ndarray
    reading: Reading


def read_pieces(line: InkReading, pieces: list[Piece], read: Reader) -> list[ReadPiece]:
    """Each of ``pieces`` of the ``line`` read by the network, touching digits cut apart (see the
    module's docstring), left to right. Pieces that finish refuses (a blot) are left out."""
    images = {}
    for index, piece in enumerate(pieces):
        try:
            images[index] = piece_input(line, piece)
        except NoDigitFound:  # a blot, unless cut
            continue
    readings = dict(zip(images, read(np.stack(list(images.values()))), strict=True)) if images else {}
    wholes = [ReadPiece(piece, images[index], readings[index]) if index in images else None
              for index, piece in enumerate(pieces)]
    typical = _typical_width([whole for whole in wholes if _sure(whole)])
    budget = MAX_READS - len(images)
    found: list[ReadPiece] = []
    for index, (piece, whole) in enumerate(zip(pieces, wholes, strict=True)):
        room = MAX_DIGITS - len(found) - (len(pieces) - index - 1)
        if budget >= 2 and _worth_cutting(piece, whole, room, typical):
            row, used = _cut(line, piece, whole, read, budget, room)
            found += row
            budget -= used
        elif whole is not None:
            found.append(whole)
    if not found:
        raise NoDigitFound("no digit found: the ink is blots, not strokes")
    return found


def _cut(line: InkReading, piece: Piece, whole: ReadPiece | None, read: Reader, budget: int,
         room: int) -> tuple[list[ReadPiece], int]:
    """The likeliest row of at most ``room`` digits that ``piece`` (read ``whole``) holds, and how
    many images the network read for it (at most ``budget``)."""
    bounds, spans = _stretches(piece, budget)
    height = piece.mask.shape[0]
    inputs = []
    for first, last in spans:
        part = piece.columns(bounds[first], bounds[last])
        if part is None:
            continue
        try:
            inputs.append(((first, last), part, piece_input(line, part)))
        except NoDigitFound:  # a blot
            continue
    readings = read(np.stack([image for _, _, image in inputs])) if inputs else []
    stretches = {span: ReadPiece(part, image, reading)
                 for (span, part, image), reading in zip(inputs, readings, strict=True)}
    end = len(bounds) - 1
    sure = {(first, last): _confident(piece, found, bounds[first], bounds[last])
            for (first, last), found in stretches.items()}
    if whole is not None:
        stretches[(0, end)] = whole
        sure[(0, end)] = whole.reading.verdict == "digit"
    ones = [span for span, found in stretches.items() if sure[span] and _clean_one(found)]
    for span in [span for span in stretches if sure[span] and _holds_a_one(span, ones, stretches, sure)]:
        sure[span] = False
    in_a_loop = loops(piece.mask).any(axis=0)
    through_loops = {index for index, bound in enumerate(bounds[1:-1], start=1) if in_a_loop[bound]}
    return _likeliest(stretches, sure, bounds, height, room, through_loops), len(inputs)


def loops(mask: np.ndarray) -> np.ndarray:
    """The paper (h, w bool) that the strokes ``mask`` (h, w bool) enclose: the insides of
    loops, the paper that cannot be reached from the mask's border without crossing a stroke."""
    border = np.ones_like(mask)
    border[1:-1, 1:-1] = False
    return ~mask & ~reconstruct(border & ~mask, ~mask)


def _confident(piece: Piece, found: ReadPiece, start: int, stop: int) -> bool:
    """Whether the stretch ``found`` cut out of ``piece`` at columns [start, stop) reads as a
    confident digit: verdict "digit", CUT_CONFIDENCE, CUT_HEIGHT of the piece's height, and, when
    read as a 1, not the side of a bowl."""
    reading = found.reading
    return (reading.verdict == "digit" and reading.confidence >= CUT_CONFIDENCE
            and found.piece.mask.shape[0] >= CUT_HEIGHT * piece.mask.shape[0]
            and not (reading.digit == 1 and side_of_a_bowl(piece, found.piece, start, stop)))


def _clean_one(found: ReadPiece) -> bool:
    """Whether ``found`` (read as a confident digit) is a clean 1: read as a 1, and upright (at
    most ONE_ASPECT as wide as high)."""
    height, width = found.piece.mask.shape
    return found.reading.digit == 1 and width <= ONE_ASPECT * height


def _holds_a_one(span: tuple[int, int], ones: list[tuple[int, int]],
                 stretches: dict[tuple[int, int], ReadPiece], sure: dict[tuple[int, int], bool]) -> bool:
    """Whether the stretch ``span`` (first, last bound), read as a digit d, holds a 1 beside its
    d: one of the clean ``ones`` lies inside it and, on one side of that 1, the rest of ``span``
    reads as d at least as surely as the whole. The network reads past a 1 touching a digit; the
    digit reading no worse without it says the 1 was a digit of its own. (The side of a bowl is
    no clean 1; a 4 whose upright is cut off reads less surely.)"""
    first, last = span
    digit, confidence = stretches[span].reading.digit, stretches[span].reading.confidence
    if digit == 1:
        return False
    for start, stop in ones:
        if not first <= start < stop <= last or (start, stop) == span:
            continue
        for rest in ((first, start), (stop, last)):
            if (rest in stretches and sure[rest] and stretches[rest].reading.digit == digit
                    and stretches[rest].reading.confidence >= confidence):
                return True
    return False


def side_of_a_bowl(piece: Piece, part: Piece, start: int, stop: int) -> bool:
    """Whether ``part``, the strokes of ``piece`` in its columns [start, stop), runs on across
    one of its cuts both at its top and at its bottom (within a stroke's width of them): the side
    of a bowl (a 0's, a 6's) cut off, which reads as a 1, not a digit of its own. A real 1
    touches its neighbour at one place; the ends of its stroke are its own."""
    height, width = piece.mask.shape
    top = part.top - piece.top
    bottom = top + part.mask.shape[0] - 1
    band = stroke_width(piece.mask)  # a stroke's end: within its width of the top or bottom
    own = np.zeros((height, stop - start), dtype=bool)  # the part's strokes, fragments left out
    left = part.left - piece.left - start
    own[top : bottom + 1, left : left + part.mask.shape[1]] = part.mask
    for outside, inside in ((start - 1, 0), (stop, stop - start - 1)):
        if not 0 <= outside < width:
            continue  # the piece's own end, not a cut
        across = np.flatnonzero(piece.mask[:, outside] & own[:, inside])
        if across.size and across[0] <= top + band and across[-1] >= bottom - band:
            return True
    return False


def _sure(whole: ReadPiece | None) -> bool:
    """Whether ``whole`` was read as a sure digit (verdict "digit", WHOLE_CONFIDENCE)."""
    return (whole is not None and whole.reading.verdict == "digit"
            and whole.reading.confidence >= WHOLE_CONFIDENCE)


def _typical_width(sure: list[ReadPiece]) -> float | None:
    """The median width of the pieces read as ``sure`` digits, when there are TYPICAL_COUNT of
    them: in a typed number, or a drawn one with gaps, every digit is about as wide."""
    if len(sure) < TYPICAL_COUNT:
        return None
    return float(np.median([whole.piece.mask.shape[1] for whole in sure]))


def _worth_cutting(piece: Piece, whole: ReadPiece | None, room: int, typical: float | None) -> bool:
    """Whether to look for cuts in ``piece`` (read ``whole``, None for a blot), when there is
    ``room`` for more digits: it is wider than SPLIT_ASPECT times its height, or than
    MIN_SPLIT_ASPECT and not read as a sure digit; and, when the line's ``typical`` digit width
    is known, wider than TYPICAL_SPLIT times it."""
    height, width = piece.mask.shape
    if room < 2 or width < MIN_SPLIT_ASPECT * height:
        return False
    if typical is not None and width < TYPICAL_SPLIT * typical:
        return False
    return width >= SPLIT_ASPECT * height or not _sure(whole)


def _stretches(piece: Piece, budget: int) -> tuple[list[int], list[tuple[int, int]]]:
    """The bounds of ``piece`` (column 0, its candidate cuts left to right, its width) and the
    spans (first, last) between two of them to read, the whole aside: every stretch as wide as a
    digit can be (at most ``budget``)."""
    height, width = piece.mask.shape
    most = min(MAX_CUTS, math.ceil(CUTS_PER_DIGIT * width / (DIGIT_WIDTH * height)))
    bounds = [0, *sorted(candidate_cuts(piece.mask, most)), width]
    spans = [(first, last) for first in range(len(bounds) - 1) for last in range(first + 1, len(bounds))
             if (first, last) != (0, len(bounds) - 1)  # the whole is read already
             and MIN_PART * height <= bounds[last] - bounds[first] <= MAX_PART * height]
    return bounds, spans[:budget]


def _likeliest(stretches: dict[tuple[int, int], ReadPiece], sure: dict[tuple[int, int], bool],
               bounds: list[int], height: int, room: int, through_loops: set[int]) -> list[ReadPiece]:
    """The row of read ``stretches`` from the first of ``bounds`` to the last, at most ``room`` of
    them, with the highest score (see the module's docstring; the cuts at the bounds numbered in
    ``through_loops`` pass through a loop): dynamic programming over the cuts."""
    end = len(bounds) - 1
    # best[bound][count]: (log score, row of stretches) of the best row ending there.
    best: dict[int, dict[int, tuple[float, list[ReadPiece]]]] = {0: {0: (0.0, [])}}
    for (first, last), found in sorted(stretches.items(), key=lambda item: item[0][1]):
        reading = found.reading
        score = math.log(max(reading.confidence, 1e-9)) + (0.0 if sure[(first, last)] else math.log(NOT_SURE))
        # The wider than a digit, the less likely one digit: TOO_WIDE_PRIOR per TOO_WIDE heights.
        too_wide = (bounds[last] - bounds[first]) / (TOO_WIDE * height)
        score += math.log(TOO_WIDE_PRIOR) * too_wide if too_wide > 1 else 0.0
        # Wide and not read as a digit: more likely two digits that read poorly together.
        if not sure[(first, last)] and bounds[last] - bounds[first] > WIDE_UNSURE * height:
            score += math.log(NOT_SURE)
        if first not in best:
            continue
        for count, (total, row) in list(best[first].items()):
            if count + 1 > room:
                continue
            candidate = total + score
            if row:  # a cut made at bounds[first]
                candidate += math.log(CUT_PRIOR) + (math.log(LOOP_PRIOR) if first in through_loops else 0.0)
            ending = best.setdefault(last, {})
            if count + 1 not in ending or candidate > ending[count + 1][0]:
                ending[count + 1] = (candidate, [*row, found])
    if end not in best:
        return [stretches[(0, end)]] if (0, end) in stretches else []
    return max(best[end].values(), key=lambda entry: entry[0])[1]


def candidate_cuts(mask: np.ndarray, most: int = MAX_CUTS) -> list[int]:
    """At most ``most`` columns at which to cut the strokes ``mask`` (h, w bool): the valleys of
    the column profile (stroke pixels per column), the thinnest first, then evenly spaced
    columns GRID_STEP of the height apart (touching strokes may leave no valley where they
    meet); each leaves at least MIN_PART of the height on either side, and they lie CUT_SPACING
    of the height apart."""
    height, width = mask.shape
    margin = max(2, round(MIN_PART * height))
    if width - 2 * margin < 1:
        return []
    profile = mask.sum(axis=0).astype(np.float64)
    smooth = np.convolve(np.pad(profile, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    inner = np.arange(margin, width - margin)
    values = smooth[inner]
    valleys = (values <= smooth[inner - 1]) & (values <= smooth[inner + 1])
    order = inner[valleys][np.argsort(values[valleys], kind="stable")]
    grid = np.arange(margin, width - margin, max(1, round(GRID_STEP * height)))
    chosen: list[int] = []
    for column in [*order.tolist(), *grid.tolist()]:
        if all(abs(column - other) >= CUT_SPACING * height for other in chosen):
            chosen.append(column)
        if len(chosen) == most:
            break
    return chosen
