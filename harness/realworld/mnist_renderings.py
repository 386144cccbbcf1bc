"""MNIST *test* digits re-rendered as uploads: on paper, in colour, as JPEG, EXIF-rotated, in
every image mode, photographed, scanned, tiny, cropped, speckled."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from harness.images import encode
from harness.realworld.samples import Sample, jpeg_upload, png_upload

MNIST_PER_KIND = 25


def paint(ink: np.ndarray, paper: np.ndarray, colour: Iterable[float]) -> np.ndarray:
    """Ink coverage (H, W) in [0, 1] laid in ``colour`` (RGB) over ``paper`` (H, W, 3): uint8."""
    coverage = ink[..., None]
    mixed = paper * (1 - coverage) + np.asarray(colour, dtype=np.float32) * coverage
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def plain_paper(shape: tuple[int, int], colour: Iterable[float]) -> np.ndarray:
    return np.broadcast_to(np.asarray(colour, dtype=np.float32), (*shape, 3)).copy()


def _shadowed_paper(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Off-white paper, darker towards a random side (a phone's shadow), with grain."""
    height, width = shape
    base = rng.uniform(200, 245) * np.array([1.0, 0.98, 0.93], dtype=np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (np.cos(angle) * (xs / width - 0.5) + np.sin(angle) * (ys / height - 0.5)) + 0.5
    shade = 1.0 - rng.uniform(0.25, 0.45) * np.clip(ramp, 0, 1) ** 1.5
    paper = base * shade[..., None]
    return paper + rng.normal(0, rng.uniform(3, 7), (height, width, 1)).astype(np.float32)


def upscaled_ink(digit: np.ndarray, size: int) -> np.ndarray:
    """An MNIST digit (28, 28) uint8 as ink coverage (size, size) float32 in [0, 1]."""
    image = Image.fromarray(digit.astype(np.float32) / 255, "F").resize(
        (size, size), Image.Resampling.BICUBIC
    )
    return np.clip(np.asarray(image, dtype=np.float32), 0, 1)


def _mnist_plain(rng, digit):
    return (*png_upload(Image.fromarray(digit, "L")), "28×28 MNIST as is")


def _mnist_inverted(rng, digit):
    size = int(rng.integers(56, 200))
    ink = upscaled_ink(digit, size)
    grey = np.clip(255 - 255 * ink + 0.5, 0, 255).astype(np.uint8)
    return (*png_upload(Image.fromarray(grey, "L")), f"dark on white, {size}px")


def _mnist_offcentre(rng, digit):
    width, height = int(rng.integers(400, 800)), int(rng.integers(300, 600))
    size = int(rng.integers(40, 160))
    ink = np.zeros((height, width), dtype=np.float32)
    x = int(rng.integers(0, width - size))
    y = int(rng.integers(0, height - size))
    ink[y : y + size, x : x + size] = upscaled_ink(digit, size)
    rgb = paint(ink, plain_paper(ink.shape, (250, 250, 250)), (20, 20, 20))
    return (*png_upload(Image.fromarray(rgb, "RGB")), f"{size}px digit at ({x},{y}) on {width}×{height}")


def _mnist_transparent(rng, digit):
    ink = upscaled_ink(digit, 280)
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., 3] = np.clip(ink * 255 + 0.5, 0, 255).astype(np.uint8)
    return (*png_upload(Image.fromarray(rgba, "RGBA")), "black alpha ink on a transparent 280×280 canvas")


def _ink_on_sheet(rng, digit, sizes: tuple[int, int], shares: tuple[float, float]):
    """The digit at a random scale and place on a square sheet: (ink (size, size) float32 in
    [0, 1], x, y, digit_size). Draws, in order: the sheet's side, the digit's share, x and y."""
    size = int(rng.integers(*sizes))
    digit_size = int(size * rng.uniform(*shares))
    x, y = (int(v) for v in rng.integers(0, size - digit_size, 2))
    ink = np.zeros((size, size), dtype=np.float32)
    ink[y : y + digit_size, x : x + digit_size] = upscaled_ink(digit, digit_size)
    return ink, x, y, digit_size


def _mnist_paper(rng, digit):
    ink, _, _, _ = _ink_on_sheet(rng, digit, (300, 520), (0.35, 0.7))
    rgb = paint(ink * rng.uniform(0.75, 0.95), _shadowed_paper(rng, ink.shape), (25, 25, 35))
    quality = int(rng.integers(60, 90))
    return (*jpeg_upload(Image.fromarray(rgb, "RGB"), quality), f"shadowed noisy paper, JPEG q{quality}")


INK_COLOURS = {"blue ballpoint": (30, 50, 170), "red marker": (200, 30, 40), "green pen": (20, 120, 50)}


def _mnist_colour(rng, digit):
    name = list(INK_COLOURS)[int(rng.integers(len(INK_COLOURS)))]
    size = int(rng.integers(100, 300))
    ink = upscaled_ink(digit, size)
    rgb = paint(ink, plain_paper(ink.shape, (245, 243, 235)), INK_COLOURS[name])
    return (*png_upload(Image.fromarray(rgb, "RGB")), name)


def _mnist_jpeg(rng, digit):
    size = int(rng.integers(80, 220))
    ink = upscaled_ink(digit, size)
    rgb = paint(ink, plain_paper(ink.shape, (240, 240, 240)), (30, 30, 30))
    quality = int(rng.integers(8, 25))
    return (*jpeg_upload(Image.fromarray(rgb, "RGB"), quality), f"JPEG q{quality}")


# EXIF orientation → the transpose that turns the displayed image into the stored one.
EXIF_STORAGE = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
    5: Image.Transpose.TRANSPOSE,
    7: Image.Transpose.TRANSVERSE,
}


def _mnist_exif(rng, digit):
    orientation = list(EXIF_STORAGE)[int(rng.integers(len(EXIF_STORAGE)))]
    ink = upscaled_ink(digit, int(rng.integers(120, 300)))
    rgb = paint(ink, plain_paper(ink.shape, (235, 235, 230)), (20, 20, 30))
    stored = Image.fromarray(rgb, "RGB").transpose(EXIF_STORAGE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return (*jpeg_upload(stored, 90, exif=exif.tobytes()), f"EXIF orientation {orientation}")


def _mnist_palette(rng, digit):
    ink = upscaled_ink(digit, int(rng.integers(80, 200)))
    rgb = paint(ink, plain_paper(ink.shape, (250, 250, 245)), (10, 10, 60))
    image = Image.fromarray(rgb, "RGB").quantize(colors=int(rng.choice([4, 16, 64])))
    if rng.random() < 0.5:
        # An animated GIF whose second frame is blank: only the first frame counts.
        blank = Image.new("P", image.size, 0)
        blank.putpalette(image.getpalette())
        data = encode(image, "GIF", save_all=True, append_images=[blank], duration=200, loop=0)
        return data, "image/gif", "animated palette GIF, digit in frame 1"
    return (*png_upload(image), "palette PNG")


def _mnist_16bit(rng, digit):
    ink = upscaled_ink(digit, int(rng.integers(80, 240)))
    paper, dark = rng.uniform(40000, 64000), rng.uniform(0, 12000)
    values = paper - (paper - dark) * ink + rng.normal(0, 300, ink.shape)
    image = Image.fromarray(np.clip(values, 0, 65535).astype(np.uint16))
    return (*png_upload(image), "16-bit grey PNG scan")


def _mnist_la(rng, digit):
    ink = upscaled_ink(digit, int(rng.integers(100, 280)))
    la = np.zeros((*ink.shape, 2), dtype=np.uint8)
    la[..., 0] = int(rng.integers(0, 60))
    la[..., 1] = np.clip(ink * 255 + 0.5, 0, 255).astype(np.uint8)
    return (*png_upload(Image.fromarray(la, "LA")), "grey + alpha PNG, transparent background")


def _mnist_other_modes(rng, digit):
    ink = upscaled_ink(digit, int(rng.integers(100, 240)))
    rgb = paint(ink, plain_paper(ink.shape, (245, 245, 245)), (15, 15, 15))
    image = Image.fromarray(rgb, "RGB")
    if rng.random() < 0.5:
        return (*jpeg_upload(image.convert("CMYK"), 85), "CMYK JPEG")
    return (*png_upload(image.convert("L").convert("1")), "1-bit dithered PNG")


def _mnist_chalkboard(rng, digit):
    ink, _, _, _ = _ink_on_sheet(rng, digit, (200, 400), (0.4, 0.8))
    size = len(ink)
    board = plain_paper(ink.shape, (35, 60, 45)) + rng.normal(0, 6, (size, size, 1)).astype(np.float32)
    rgb = paint(ink * rng.uniform(0.7, 0.95), board, (235, 235, 225))
    return (*jpeg_upload(Image.fromarray(rgb, "RGB"), 80), "chalk on a green board (light on dark), JPEG")


def noise_tile(rng: np.random.Generator, size: tuple[int, int], sigma: float) -> Image.Image:
    """Seeded grain centred on 128, one 256×256 tile repeated (a full-frame draw is slow)."""
    width, height = size
    tile = np.clip(rng.normal(128, sigma, (256, 256)), 0, 255).astype(np.uint8)
    return Image.fromarray(np.tile(tile, (height // 256 + 1, width // 256 + 1))[:height, :width], "L")


def add_grain(image: Image.Image, grain: Image.Image) -> Image.Image:
    return ImageChops.add(image, Image.merge("RGB", (grain, grain, grain)), offset=-128)


def _mnist_pencil(rng, digit):
    size = int(rng.integers(600, 1200))
    digit_size = int(size * rng.uniform(0.2, 0.5))
    grain = np.clip(rng.normal(1.0, 0.35, (digit_size, digit_size)), 0, 1.4).astype(np.float32)
    contrast = rng.uniform(0.25, 0.45)
    ink = np.clip(upscaled_ink(digit, digit_size) * grain * contrast * 255, 0, 255).astype(np.uint8)
    coverage = Image.new("L", (size, size), 0)
    coverage.paste(Image.fromarray(ink, "L"), tuple(int(v) for v in rng.integers(0, size - digit_size, 2)))
    paper = add_grain(Image.new("RGB", (size, size), (248, 247, 243)), noise_tile(rng, (size, size), 2.5))
    image = Image.composite(Image.new("RGB", (size, size), (40, 40, 45)), paper, coverage)
    return (*jpeg_upload(image, 88), f"faint grainy pencil ({contrast:.2f}) on a {size}px scan")


def _mnist_photo(rng, digit):
    width, height = int(rng.integers(1600, 2400)), int(rng.integers(1200, 1800))
    digit_size = int(min(width, height) * rng.uniform(0.15, 0.45))
    # Vignetting and a soft shadow, computed at 1/16 scale and enlarged.
    ys, xs = np.mgrid[0:height:16, 0:width:16].astype(np.float32)
    radius = ((xs / width - 0.5) ** 2 + (ys / height - 0.5) ** 2) ** 0.5
    light = 1.0 - rng.uniform(0.2, 0.4) * radius**2 * 2
    edge = rng.uniform(0.5, 0.9)
    light *= 1.0 - rng.uniform(0.1, 0.3) / (1 + np.exp(-(xs / width - edge) * 8))
    base = rng.uniform(190, 235) * np.array([1.0, 0.97, 0.9], dtype=np.float32)
    small_paper = np.clip(base * light[..., None], 0, 255).astype(np.uint8)
    # Composed at half size and enlarged: the enlargement is the camera's softness.
    half = (width // 2, height // 2)
    paper = Image.fromarray(small_paper, "RGB").resize(half, Image.Resampling.BILINEAR)
    coverage = Image.new("L", half, 0)
    ink = np.clip(upscaled_ink(digit, digit_size // 2) * 230, 0, 255).astype(np.uint8)
    x, y = int(rng.integers(0, half[0] - digit_size // 2)), int(rng.integers(0, half[1] - digit_size // 2))
    coverage.paste(Image.fromarray(ink, "L"), (x, y))
    image = Image.composite(Image.new("RGB", half, (30, 30, 40)), paper, coverage)
    image = add_grain(image, noise_tile(rng, half, 6)).resize((width, height), Image.Resampling.BICUBIC)
    return (*jpeg_upload(image, 80), f"{width}×{height} phone photo, {digit_size}px digit")


def _mnist_hard_shadow(rng, digit):
    ink, x, y, digit_size = _ink_on_sheet(rng, digit, (500, 900), (0.3, 0.55))
    size = len(ink)
    # The sharp shadow of a phone held over the page: a straight edge at a random angle, through
    # a random point of the digit's box, darkening one side by 20–40%.
    angle = rng.uniform(0, math.pi)
    cx, cy = x + rng.uniform(0.2, 0.8) * digit_size, y + rng.uniform(0.2, 0.8) * digit_size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    side = (xs - cx) * math.cos(angle) + (ys - cy) * math.sin(angle)
    shade = 1.0 - rng.uniform(0.2, 0.4) / (1 + np.exp(np.clip(-side / rng.uniform(1.0, 4.0), -50, 50)))
    paper = np.float32([238, 235, 226]) * shade[..., None]
    rgb = paint(ink * 0.9, paper, (25, 25, 35))
    image = add_grain(Image.fromarray(rgb, "RGB"), noise_tile(rng, (size, size), 4))
    return (*jpeg_upload(image, 85), "a sharp shadow edge across the page and the digit")


def _mnist_tiny(rng, digit):
    size = int(rng.integers(14, 26))
    width, height = int(rng.integers(150, 400)), int(rng.integers(150, 400))
    ink = np.zeros((height, width), dtype=np.float32)
    x, y = int(rng.integers(0, width - size)), int(rng.integers(0, height - size))
    ink[y : y + size, x : x + size] = upscaled_ink(digit, size)
    rgb = paint(ink, plain_paper(ink.shape, (245, 245, 245)), (20, 20, 20))
    return (*png_upload(Image.fromarray(rgb, "RGB")), f"{size}px digit on {width}×{height}")


def _mnist_tight_crop(rng, digit):
    rows = np.flatnonzero(digit.max(axis=1) > 30)
    cols = np.flatnonzero(digit.max(axis=0) > 30)
    cropped = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = rng.uniform(5, 12)
    size = (max(1, round(cropped.shape[1] * scale)), max(1, round(cropped.shape[0] * scale)))
    ink = Image.fromarray(cropped.astype(np.float32) / 255, "F").resize(size, Image.Resampling.BICUBIC)
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0, 1)
    rgb = paint(ink, plain_paper(ink.shape, (240, 240, 240)), (10, 10, 10))
    return (*png_upload(Image.fromarray(rgb, "RGB")), f"cropped to the ink, {size[0]}×{size[1]}")


def _mnist_speckled(rng, digit):
    ink, x, y, digit_size = _ink_on_sheet(rng, digit, (250, 450), (0.35, 0.6))
    size = len(ink)
    image = Image.fromarray(np.clip(ink * 255, 0, 255).astype(np.uint8), "L")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 12))):  # dust and dirt
        cx, cy, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0.7, 2.5)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    if rng.random() < 0.5:  # a stray pen mark near an edge, far from the digit
        edge = int(rng.integers(4))
        along = rng.uniform(0.1, 0.5) * size
        start = rng.uniform(0, size - along)
        line = [(start, 3), (start + along, 5)] if edge == 0 else [(3, start), (5, start + along)]
        if edge >= 2:
            line = [(size - 1 - a, size - 1 - b) for a, b in line]
        far = all(
            abs(px - (x + digit_size / 2)) + abs(py - (y + digit_size / 2)) > digit_size for px, py in line
        )
        if far:
            draw.line(line, fill=255, width=2)
    coverage = np.asarray(image, dtype=np.float32) / 255
    rgb = paint(coverage, plain_paper(coverage.shape, (242, 240, 236)), (25, 25, 30))
    return (*jpeg_upload(Image.fromarray(rgb, "RGB"), 85), "dust specks and stray marks on the page")


MNIST_KINDS: dict[str, Callable] = {
    "mnist_plain": _mnist_plain,
    "mnist_inverted": _mnist_inverted,
    "mnist_offcentre": _mnist_offcentre,
    "mnist_transparent": _mnist_transparent,
    "mnist_paper": _mnist_paper,
    "mnist_colour": _mnist_colour,
    "mnist_jpeg": _mnist_jpeg,
    "mnist_exif": _mnist_exif,
    "mnist_palette": _mnist_palette,
    "mnist_16bit": _mnist_16bit,
    "mnist_la": _mnist_la,
    "mnist_other_modes": _mnist_other_modes,
    "mnist_chalkboard": _mnist_chalkboard,
    "mnist_pencil": _mnist_pencil,
    "mnist_photo": _mnist_photo,
    "mnist_hard_shadow": _mnist_hard_shadow,
    "mnist_tiny": _mnist_tiny,
    "mnist_tight_crop": _mnist_tight_crop,
    "mnist_speckled": _mnist_speckled,
}


def mnist_samples(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> list[Sample]:
    """MNIST_PER_KIND different test digits per MNIST kind (images (N, 28, 28) uint8)."""
    chosen = rng.choice(len(images), size=MNIST_PER_KIND * len(MNIST_KINDS), replace=False)
    samples = []
    for k, (kind, render) in enumerate(MNIST_KINDS.items()):
        for index in chosen[k * MNIST_PER_KIND : (k + 1) * MNIST_PER_KIND]:
            data, content_type, note = render(rng, images[index])
            samples.append(
                Sample(
                    kind, int(labels[index]), data, content_type, f"MNIST test #{index}: {note}", int(index)
                )
            )
    return samples
