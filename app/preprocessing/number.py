"""A whole number in, one network input per digit out, each with its box.

1. ``line``: the ink of the whole line, found as the one-digit road finds a digit's, read at
   about the scale that road reads one digit at;
2. ``pieces``: its connected parts, broken digits joined, dust, specks and underlines dropped,
   left to right (bounded: at most MAX_DIGITS pieces);
3. ``cuts``: each piece read by the network, touching digits cut where both halves read as
   confident digits and the whole does not;
4. each digit's network input is the one-digit road's finish of its ink (``mnist_form``), and
   its box is mapped back to the pixels of the image given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from app.preprocessing.cuts import Reader, Reading, read_pieces
from app.preprocessing.line import read_line
from app.preprocessing.pieces import MAX_DIGITS, find_pieces, piece_ink, piece_input
from app.preprocessing.steps import Step, ink_step, received_step

__all__ = ["MAX_DIGITS", "Digit", "Reader", "Reading", "read_number"]


@dataclass(frozen=True)
class Digit:
    """One digit of a number: its network input (28, 28) in [0, 1], how the network read it while
    cutting, its box (left, top, right, bottom) in the given image's pixels, and its stages
    (None unless asked for)."""

    image: np.ndarray
    reading: Reading
    box: tuple[float, float, float, float]
    steps: list[Step] | None = None


def read_number(image: Image.Image, read: Reader, steps: bool = False) -> list[Digit]:
    """The digits of the number in the decoded ``image``, left to right, read with ``read`` while
    cutting touching digits apart. Raises NoDigitFound (no ink), TooManyDigits or TooManyMarks."""
    line = read_line(image)
    reading = line.reading
    (x0, y0, x1, y1), (width, height) = reading.box, reading.ink.shape[::-1]
    # Line pixels → pixels of the flattened picture → pixels of the given image.
    picture_width, picture_height = line.picture.size
    scale_x = (x1 - x0) / width * image.width / picture_width
    scale_y = (y1 - y0) / height * image.height / picture_height
    offset_x, offset_y = x0 * image.width / picture_width, y0 * image.height / picture_height
    digits = []
    for found in read_pieces(reading, find_pieces(reading), read):
        left, top, right, bottom = found.piece.box
        stages = None
        if steps:
            ink, _, (ink_left, ink_top, ink_right, ink_bottom) = piece_ink(reading, found.piece)
            in_picture = (x0 + ink_left * (x1 - x0) / width, y0 + ink_top * (y1 - y0) / height,
                          x0 + ink_right * (x1 - x0) / width, y0 + ink_bottom * (y1 - y0) / height)
            stages = [received_step(line.picture, opacity_is_ink=line.drawn, dark_ink=reading.dark_ink),
                      ink_step(ink, tuple(round(v) for v in in_picture), line.picture.size)]
            piece_input(reading, found.piece, stages)
        box = (offset_x + left * scale_x, offset_y + top * scale_y,
               offset_x + right * scale_x, offset_y + bottom * scale_y)
        digits.append(Digit(found.image, found.reading, box, stages))
    return digits

