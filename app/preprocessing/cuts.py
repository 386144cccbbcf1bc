"""Touching digits cut apart, the cuts judged by the network itself.

A piece at least SPLIT_ASPECT as wide as it is high may be several digits that touch. Its
candidate cuts are the thinnest lines through its strokes: valleys of the strokes' profile
(stroke pixels per column, upright or along a slant of SLANTS), each leaving at least MIN_PART
of the height on either side, CUT_SPACING of the height apart, at most two per digit the piece
could hold (MAX_CUTS in all). Every stretch between two cuts (or the piece's ends) that is as
wide as a digit can be goes through the same finish and the same network as any digit
(``read``), in one batch, and the piece is read as the row of stretches whose readings are
together the likeliest:

    the product of each stretch's confidence, × NOT_SURE for each one not read as a confident
    digit (verdict "digit", and, when cut out, CUT_CONFIDENCE), × TOO_WIDE_PRIOR for each one
    wider than TOO_WIDE times the height, × CUT_PRIOR for each cut made (the whole uncut is one
    such row).

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
from app.preprocessing.ink import InkReading
from app.preprocessing.pieces import MAX_DIGITS, Cut, Piece, piece_input

SPLIT_ASPECT = 0.9  # pieces at least this wide for their height are tried for cuts
MIN_PART = 0.12  # of the piece's height: the narrowest digit (a 1)
MAX_PART = 1.6  # of the piece's height: the widest stretch read as one digit (the whole aside)
DIGIT_WIDTH = 0.5  # of the height: a narrow digit, to count how many a piece may hold
MAX_CUTS = 10  # candidate cuts in one piece
SLANTS = (0.0,)  # columns a cut leans right per row up (leaning cuts, ±0.3, measured worse)
CUT_SPACING = 0.1  # of the height: candidates at least this far apart
CUT_CONFIDENCE = 0.8  # a stretch cut out is a confident digit when read at least this sure
NOT_SURE = 0.1  # a stretch not read as a confident digit counts its confidence × this
TOO_WIDE = 1.25  # a stretch more than this many times as wide as high ...
TOO_WIDE_PRIOR = 0.2  # ... counts its confidence × this: it is hardly one digit
CUT_PRIOR = 0.7  # each cut made counts × this: the halves must read clearly better than the whole
MAX_READS = 160  # images the network reads to cut one number


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
    budget = MAX_READS
    found: list[ReadPiece] = []
    for index, piece in enumerate(pieces):
        room = MAX_DIGITS - len(found) - (len(pieces) - index - 1)
        bounds, spans = _stretches(piece, room, budget)
        inputs = []
        for first, last in spans:
            whole = (first, last) == (0, len(bounds) - 1)
            part = piece if whole else piece.between(bounds[first], bounds[last])
            if part is None:
                continue
            try:
                inputs.append(((first, last), part, piece_input(line, part)))
            except NoDigitFound:  # a blot
                continue
        if not inputs:
            continue
        budget -= len(inputs)
        readings = read(np.stack([image for _, _, image in inputs]))
        read_stretches = {span: ReadPiece(part, image, reading)
                          for (span, part, image), reading in zip(inputs, readings, strict=True)}
        widths = {span: _width(bounds, span, piece.mask.shape[1]) for span in read_stretches}
        found += _likeliest(read_stretches, widths, len(bounds) - 1, piece.mask.shape[0], room)
    if not found:
        raise NoDigitFound("no digit found: the ink is blots, not strokes")
    return found


def _width(bounds: list[Cut | None], span: tuple[int, int], width: int) -> float:
    """How wide the stretch between bounds ``span`` is, in the piece's middle row."""
    first, last = bounds[span[0]], bounds[span[1]]
    return (width if last is None else last.column) - (0 if first is None else first.column)


def _stretches(piece: Piece, room: int, budget: int) -> tuple[list[Cut | None], list[tuple[int, int]]]:
    """The bounds of ``piece`` (its left edge None, its candidate cuts left to right, its right
    edge None) and the spans (first, last) between two of them to read: the whole, and, for a
    wide piece, every stretch between two cuts that do not cross inside it and that is as wide
    as a digit can be (within ``budget``)."""
    height, width = piece.mask.shape
    if room < 2 or width < SPLIT_ASPECT * height:
        return [None, None], [(0, 1)]
    most = min(MAX_CUTS, 2 * math.ceil(width / (DIGIT_WIDTH * height)))
    bounds: list[Cut | None] = [None, *sorted(candidate_cuts(piece.mask, most), key=lambda c: c.column), None]
    spans = [(0, len(bounds) - 1)]
    for first in range(len(bounds) - 1):
        for last in range(first + 1, len(bounds)):
            start, stop = bounds[first], bounds[last]
            if (first, last) == (0, len(bounds) - 1):
                continue
            if start is not None and stop is not None and (
                    stop.column - start.column <= abs(stop.slant - start.slant) * height / 2):
                continue  # the cuts cross inside the piece
            if MIN_PART * height <= _width(bounds, (first, last), width) <= MAX_PART * height:
                spans.append((first, last))
    return bounds, spans[: max(budget, 1)]


def _likeliest(stretches: dict[tuple[int, int], ReadPiece], widths: dict[tuple[int, int], float], end: int,
               height: int, room: int) -> list[ReadPiece]:
    """The row of read ``stretches`` from bound 0 to bound ``end``, at most ``room`` of them, with
    the highest score (see the module's docstring): dynamic programming over the cuts."""
    # best[bound][count]: (log score, row of stretches) of the best row ending there.
    best: dict[int, dict[int, tuple[float, list[ReadPiece]]]] = {0: {0: (0.0, [])}}
    for (first, last), found in sorted(stretches.items(), key=lambda item: item[0][1]):
        if first not in best:
            continue
        reading = found.reading
        # A stretch cut out must read as a confident digit; the whole, as a digit.
        cut_out = (first, last) != (0, end)
        sure = reading.verdict == "digit" and (not cut_out or reading.confidence >= CUT_CONFIDENCE)
        score = math.log(max(reading.confidence, 1e-9)) + (0.0 if sure else math.log(NOT_SURE))
        score += math.log(TOO_WIDE_PRIOR) if widths[(first, last)] > TOO_WIDE * height else 0.0
        for count, (total, row) in list(best[first].items()):
            if count + 1 > room:
                continue
            candidate = total + score + (math.log(CUT_PRIOR) if row else 0.0)
            ending = best.setdefault(last, {})
            if count + 1 not in ending or candidate > ending[count + 1][0]:
                ending[count + 1] = (candidate, [*row, found])
    if end not in best:
        return [stretches[(0, end)]] if (0, end) in stretches else []
    return max(best[end].values(), key=lambda entry: entry[0])[1]


def candidate_cuts(mask: np.ndarray, most: int = MAX_CUTS) -> list[Cut]:
    """At most ``most`` straight cuts through the strokes ``mask`` (h, w bool), the thinnest
    first: upright or leaning by each of SLANTS, at the valleys of the strokes' profile along
    that slant, each leaving at least MIN_PART of the height on either side in the middle row,
    CUT_SPACING of the height apart there."""
    height, width = mask.shape
    margin = max(2, round(MIN_PART * height))
    if width - 2 * margin < 1:
        return []
    middle = (height - 1) / 2
    rows, columns = np.nonzero(mask)
    found = []  # (stroke pixels crossed, column, slant)
    for slant in SLANTS:
        # Each stroke pixel's column where its cut line crosses the middle row.
        along = np.rint(columns - slant * (middle - rows)).astype(np.intp)
        low = int(along.min()) - 1
        profile = np.bincount(along - low, minlength=int(along.max()) - low + 2).astype(np.float64)
        smooth = np.convolve(np.pad(profile, 1, mode="edge"), np.ones(3) / 3, mode="valid")
        inner = np.arange(max(margin - low, 1), min(width - margin - low, len(smooth) - 1))
        if inner.size == 0:
            continue
        values = smooth[inner]
        valleys = (values <= smooth[inner - 1]) & (values <= smooth[inner + 1])
        found += [(float(value), int(i) + low, slant)
                  for value, i in zip(values[valleys], inner[valleys], strict=True)]
    found.sort(key=lambda entry: entry[0])
    chosen: list[Cut] = []
    for _, column, slant in found:
        if all(abs(column - other.column) >= CUT_SPACING * height for other in chosen):
            chosen.append(Cut(float(column), slant, middle))
        if len(chosen) == most:
            break
    return chosen
