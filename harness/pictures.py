"""Pictures the app tests send: digits drawn with Pillow as the page's canvas and a scan of paper
hold them, and plain pages with no digit."""

from __future__ import annotations

from PIL import Image, ImageDraw

from harness.images import encode


def plain_png(width: int, height: int, colour=(255, 255, 255)) -> bytes:
    """A PNG file of one colour: no digit on it."""
    return encode(Image.new("RGB", (width, height), colour), "PNG")


def draw_digit_seven(size: int = 280) -> Image.Image:
    """A canvas-style drawing: black strokes on a transparent background (ink only in alpha)."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    s = size / 280
    draw.line([(70 * s, 60 * s), (210 * s, 60 * s), (120 * s, 230 * s)], fill=(0, 0, 0, 255),
              width=max(1, round(18 * s)), joint="curve")
    return image


def draw_digit_one_on_paper(size: int = 120) -> Image.Image:
    """Dark ink on light paper, as a scan or photo would be."""
    image = Image.new("RGB", (size, size), (235, 232, 225))
    draw = ImageDraw.Draw(image)
    draw.line([(size * 0.5, size * 0.15), (size * 0.5, size * 0.85)], fill=(20, 20, 30),
              width=max(2, size // 12))
    draw.line([(size * 0.5, size * 0.15), (size * 0.35, size * 0.3)], fill=(20, 20, 30),
              width=max(2, size // 14))
    return image
