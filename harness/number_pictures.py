"""Pictures of numbers the app tests send to /predict/number: drawn on a transparent canvas as
the page draws them, with the marks segmentation must get right; and the strokes of a number the
browser tests write on the page's number pad."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from harness.images import encode
from harness.numbers import drawn_number
from harness.realworld.canvas import TEMPLATES, draw_canvas
from harness.strokes import arc


def drawn(digits: list[int], seed: int, spacing: str = "separated") -> Image.Image:
    """``digits`` drawn on a transparent canvas (harness.numbers.drawn_number)."""
    return drawn_number(digits, np.random.default_rng(seed), spacing)


def with_marks(image: Image.Image, speck: bool = False, underline: bool = False) -> Image.Image:
    """``image`` (RGBA, a drawing) with a speck of ink in its bottom corner and/or a line drawn
    under all of its ink."""
    marked = image.copy()
    alpha = marked.getchannel("A")
    left, top, right, bottom = alpha.getbbox()
    draw = ImageDraw.Draw(alpha)
    if speck:
        draw.ellipse((right - 6, bottom + 6, right - 1, bottom + 11), fill=255)
    if underline:
        draw.line((left - 5, bottom + 14, right + 5, bottom + 16), fill=255, width=6)
    canvas = Image.new("RGBA", (marked.width, marked.height + 30), (0, 0, 0, 0))
    canvas.paste(marked, (0, 0))
    canvas.putalpha(Image.new("L", canvas.size, 0))
    full = canvas.getchannel("A")
    full.paste(alpha, (0, 0))
    canvas.putalpha(full)
    return canvas


def broken_five(height: int = 160, brush: float = 12) -> Image.Image:
    """A 5 whose top bar was drawn apart from its body: two separate strokes."""
    h, x, y = height, 40, 30
    body = [(x + 0.3 * h * 0.7, y + 0.12 * h), (x + 0.27 * h * 0.7, y + 0.46 * h)] + [
        (x + px * h * 0.7, y + py * h) for px, py in arc(0.48, 0.7, 0.3, 0.28, 235, 500, 20)]
    bar = [(x + 0.36 * h * 0.7, y), (x + 0.85 * h * 0.7, y + 0.01 * h)]
    return draw_canvas([body, bar], brush, (int(0.9 * h) + 2 * x, h + 2 * y))


def wide_zero(height: int = 150, width_share: float = 1.15, brush: float = 12) -> Image.Image:
    """A 0 wider than it is high: one stroke round an ellipse."""
    w = height * width_share
    stroke = [(40 + w / 2 + w / 2 * np.cos(t), 30 + height / 2 + height / 2 * np.sin(t))
              for t in np.linspace(-np.pi / 2, 1.6 * np.pi, 60)]
    return draw_canvas([stroke], brush, (int(w) + 80, height + 60))


Strokes = list[list[tuple[float, float]]]


def written_number(digits: list[int], aspect: float, height: float = 0.66) -> Strokes:
    """Strokes of ``digits`` written side by side, left to right, on the page's number pad, which
    is ``aspect`` times as wide as it is tall: in fractions of the pad's width and height, as
    ``DigitPage.draw`` takes them. Each digit is the first skeleton of harness.realworld.canvas,
    ``height`` of the pad tall and 0.6 of that wide, a third of its width apart; the number is
    centred."""
    width = 0.6 * height / aspect  # a digit's width, in fractions of the pad's width
    gap = width / 3
    left = 0.5 - (len(digits) * width + (len(digits) - 1) * gap) / 2
    top = (1 - height) / 2
    strokes = []
    for index, digit in enumerate(digits):
        x0 = left + index * (width + gap)
        strokes += [[(x0 + x * width, top + y * height) for x, y in stroke] for stroke in TEMPLATES[digit][0]]
    return strokes


def number_on_paper(digits: list[int], seed: int) -> bytes:
    """A PNG of ``digits`` drawn (harness.numbers.drawn_number) in dark ink on white paper."""
    ink = drawn(digits, seed)
    paper = Image.new("RGBA", ink.size, (255, 255, 255, 255))
    return encode(Image.alpha_composite(paper, ink).convert("RGB"))
