"""Touching digits cut apart, the cuts judged by the network itself.

A piece at least SPLIT_ASPECT as wide as it is high may be several digits that touch. Its
candidate cuts are the thinnest columns of its strokes: valleys of the column profile (stroke
pixels per column), each leaving at least MIN_PART of the height on either side, CUT_SPACING of
the height apart, at most two per digit the piece could hold (MAX_CUTS in all). Every stretch
between two cuts (or the piece's ends) that is as wide as a digit can be goes through the same
finish and the same network as any digit (``read``), in one batch, and the piece is read as the
row of stretches whose readings are together the likeliest:

    the product of each stretch's confidence, × NOT_SURE for each one whose verdict is not
    "digit", × TOO_WIDE_PRIOR for each one wider than TOO_WIDE times the height, × CUT_PRIOR for
    each cut made.

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
from app.preprocessing.pieces import MAX_DIGITS, Piece, piece_input

SPLIT_ASPECT = 0.75  # pieces at least this wide for their height are tried for cuts
MIN_PART = 0.12  # of the piece's height: the narrowest digit (a 1)
MAX_PART = 1.6  # of the piece's height: the widest stretch read as one digit (the whole aside)
DIGIT_WIDTH = 0.5  # of the height: a narrow digit, to count how many a piece may hold
MAX_CUTS = 10  # candidate cuts in one piece
CUT_SPACING = 0.1  # of the height: candidates at least this far apart
NOT_SURE = 0.1  # a stretch the verdict does not call a "digit" counts its confidence × this
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
        stretches = _stretches(piece, room, budget)
        inputs = []
        for start, stop in stretches:
            part = piece if (start, stop) == (0, piece.mask.shape[1]) else piece.columns(start, stop)
            try:
                inputs.append(((start, stop), part, piece_input(line, part)))
            except (NoDigitFound, AttributeError):  # a blot, or no strokes (None) in the stretch
                continue
        if not inputs:
            continue
        budget -= len(inputs)
        readings = read(np.stack([image for _, _, image in inputs]))
        read_stretches = {span: ReadPiece(part, image, reading)
                          for (span, part, image), reading in zip(inputs, readings, strict=True)}
        found += _likeliest(read_stretches, piece.mask.shape, room)
    if not found:
        raise NoDigitFound("no digit found: the ink is blots, not strokes")
    return found


def _stretches(piece: Piece, room: int, budget: int) -> list[tuple[int, int]]:
    """The [start, stop) column spans of ``piece`` to read: the whole, and, for a wide piece,
    every span between two candidate cuts that is as wide as a digit can be (within ``budget``)."""
    height, width = piece.mask.shape
    spans = [(0, width)]
    if room < 2 or width < SPLIT_ASPECT * height:
        return spans
    most = min(MAX_CUTS, 2 * math.ceil(width / (DIGIT_WIDTH * height)))
    bounds = [0, *sorted(candidate_cuts(piece.mask, most)), width]
    for i, start in enumerate(bounds):
        for stop in bounds[i + 1 :]:
            if MIN_PART * height <= stop - start <= MAX_PART * height and (start, stop) != (0, width):
                spans.append((start, stop))
    return spans[:max(budget, 1)]


def _likeliest(
    stretches: dict[tuple[int, int], ReadPiece], shape: tuple[int, int], room: int
) -> list[ReadPiece]:
    """The row of read ``stretches`` from column 0 to the piece's width, at most ``room`` of them,
    with the highest score (see the module's docstring): dynamic programming over the cuts."""
    height, width = shape
    # best[column][count]: (log score, row of stretches) of the best row ending there.
    best: dict[int, dict[int, tuple[float, list[ReadPiece]]]] = {0: {0: (0.0, [])}}
    for (start, stop), found in sorted(stretches.items(), key=lambda item: item[0][1]):
        if start not in best:
            continue
        reading = found.reading
        score = math.log(max(reading.confidence, 1e-9))
        score += 0.0 if reading.verdict == "digit" else math.log(NOT_SURE)
        score += math.log(TOO_WIDE_PRIOR) if stop - start > TOO_WIDE * height else 0.0
        for count, (total, row) in list(best[start].items()):
            if count + 1 > room:
                continue
            candidate = total + score + (math.log(CUT_PRIOR) if row else 0.0)
            ending = best.setdefault(stop, {})
            if count + 1 not in ending or candidate > ending[count + 1][0]:
                ending[count + 1] = (candidate, [*row, found])
    if width not in best:
        return [stretches[(0, width)]] if (0, width) in stretches else []
    return max(best[width].values(), key=lambda entry: entry[0])[1]


def candidate_cuts(mask: np.ndarray, most: int = MAX_CUTS) -> list[int]:
    """Columns (at most ``most``) at which to cut the strokes ``mask`` (h, w bool), the thinnest
    first: the valleys of the column profile, each leaving at least MIN_PART of the height on
    either side, CUT_SPACING of the height apart."""
    height, width = mask.shape
    margin = max(2, round(MIN_PART * height))
    if width - 2 * margin < 1:
        return []
    profile = mask.sum(axis=0).astype(np.float64)
    smooth = np.convolve(np.pad(profile, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    inner = np.arange(margin, width - margin)
    values = smooth[inner]
    valleys = (values <= smooth[inner - 1]) & (values <= smooth[inner + 1])
    if not valleys.any():
        valleys = values == values.min()
    order = inner[valleys][np.argsort(values[valleys], kind="stable")]
    chosen: list[int] = []
    for column in order.tolist():
        if all(abs(column - other) >= CUT_SPACING * height for other in chosen):
            chosen.append(column)
        if len(chosen) == most:
            break
    return chosen
