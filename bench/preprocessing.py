"""Preprocessing speed per kind of upload, median and p99: reading the header and checking the
limits (``open_image``), Pillow's decoding (``decode``), ``to_mnist``, and all three together
(``preprocess``, what the API runs).

    python -m bench.preprocessing [--repeat N]

The 280×280 RGBA canvas PNG is what the page sends (bench/canvas-seven.png, Chromium's export).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from app.preprocessing import decode, open_image, to_mnist
from harness.images import encode
from harness.preprocessing import load_image, preprocess

LIMIT = 4096 * 4096
CANVAS_EXPORT = Path(__file__).resolve().parent / "canvas-seven.png"


def _seven(size: int, width: float) -> Image.Image:
    """A 7 as 8-bit coverage (mode L), anti-aliased."""
    big = Image.new("L", (size * 4, size * 4), 0)
    s = size * 4 / 280
    ImageDraw.Draw(big).line(
        [(70 * s, 50 * s), (210 * s, 50 * s), (120 * s, 240 * s)], fill=255, width=round(width * s)
    )
    return big.reduce(4)


def inputs() -> dict[str, bytes]:
    """One file per kind of upload."""
    rng = np.random.default_rng(0)
    ink = _seven(280, 16)
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    canvas.putalpha(ink)
    white_canvas = Image.composite(
        Image.new("RGB", (280, 280), 0), Image.new("RGB", (280, 280), (255,) * 3), ink
    )
    mnist_like = ink.resize((28, 28), Image.Resampling.BOX)
    height, width = 600, 600
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = 235 * (1 - 0.35 * (xs / width) ** 1.5)[..., None] + rng.normal(0, 5, (height, width, 1))
    coverage = np.asarray(_seven(600, 16), np.float32)[..., None] / 255
    scan = np.clip(paper * (1 - coverage) + 30 * coverage, 0, 255).astype(np.uint8).repeat(3, axis=2)
    photo_ink = Image.new("L", (2400, 1800), 0)
    photo_ink.paste(_seven(700, 14), (900, 500))
    photo = Image.composite(
        Image.new("RGB", photo_ink.size, (30, 30, 40)),
        Image.new("RGB", photo_ink.size, (210, 205, 190)),
        photo_ink,
    )
    sixteen = Image.fromarray((65535 - np.asarray(_seven(200, 12), np.uint16) * 257).astype(np.uint16))
    return {
        "Chromium canvas PNG 280×280": CANVAS_EXPORT.read_bytes(),
        "Pillow's canvas PNG 280×280": encode(canvas, "PNG"),
        "white canvas RGB PNG 280×280": encode(white_canvas, "PNG"),
        "MNIST-like L PNG 28×28": encode(mnist_like, "PNG"),
        "shadowed scan JPEG 600×600": encode(Image.fromarray(scan, "RGB"), "JPEG", quality=85),
        "phone photo JPEG 2400×1800": encode(photo, "JPEG", quality=85),
        "palette GIF 280×280": encode(white_canvas.quantize(16), "GIF"),
        "16-bit PNG 200×200": encode(sixteen, "PNG"),
    }


def _timed(function, repeat: int) -> np.ndarray:
    times = np.empty(repeat)
    for i in range(repeat):
        started = time.perf_counter()
        function()
        times[i] = time.perf_counter() - started
    return times * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=300, help="timed runs per input (default 300)")
    args = parser.parse_args(argv)
    repeat = max(10, min(args.repeat, 5000))

    print(f"median / p99 in ms over {repeat} runs (after 20 warm-up runs)\n")
    header = f"{'input':32} {'open_image':>15} {'decode':>15} {'to_mnist':>15} {'preprocess':>15}"
    print(header)
    print("-" * len(header))
    for name, data in inputs().items():
        image = load_image(data, LIMIT)
        for _ in range(20):
            preprocess(data, LIMIT)
        runs = repeat if len(data) < 200_000 else max(10, repeat // 10)
        opening = _timed(lambda data=data: open_image(data, LIMIT), runs)
        decoding = _timed(lambda data=data: decode(open_image(data, LIMIT)), runs) - opening
        # to_mnist on a fresh copy each time, as a request would have it.
        preparing = _timed(lambda image=image: to_mnist(image.copy()), runs) - _timed(image.copy, runs)
        total = _timed(lambda data=data: preprocess(data, LIMIT), runs)
        columns = (opening, decoding, preparing, total)
        cells = [f"{np.median(t):6.2f} / {np.percentile(t, 99):6.2f}" for t in columns]
        print(f"{name:32} " + " ".join(f"{cell:>15}" for cell in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
