"""A seeded measurement set of whole numbers, read through ``POST /predict/number``.

    python -m harness.numbers --report [--per-kind N] [--failures]

Kinds (KINDS), every image generated here, never an MNIST test image:

* ``drawn_separated``, ``drawn_nearly_touching``, ``drawn_touching`` — two to five digits drawn
  as a mouse draws them (the skeletons, jitter and round brush of ``harness.realworld.canvas``)
  on a wide transparent canvas, as the page sends them: a clear gap between digits, a gap of 1
  to 4 pixels between their strokes, or strokes that touch or cross by a few pixels. The line
  may slope a little and the digits differ in height;
* ``drawn_flagged_ones`` — separated drawn numbers in which every 1 has a long European flag:
  how such 1s read today (the network has not been trained on them);
* ``typed`` — two to eight digits typeset in the installed DejaVu and Liberation fonts
  (``harness.realworld.typed``), dark on light paper, some as JPEG;
* ``scans`` — real handwriting: two to five MNIST *training* digits from the last 5,000, which
  training holds out (only the verdict rule's limits are set on them), cropped to their ink and
  placed side by side on grainy, shaded paper, JPEG-compressed. (The 8×8 handwriting the issue
  names is not available offline; these are real digits the network never learnt from.)

The report gives, per kind, the share of numbers read exactly, and the errors apart: the wrong
number of digits found (segmentation), the right number of digits but a digit misread
(recognition), and refusals.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.preprocessing.morphology import dilate
from harness.realworld.canvas import TEMPLATES, draw_canvas, jittered
from harness.realworld.mnist_renderings import paint
from harness.realworld.samples import jpeg_upload, png_upload
from harness.realworld.typed import font_paths

SEED = 20261207
PER_KIND = 60
HELD_OUT = 5000  # the last training images, held out from training (model.train --validation)
# A 1 with a long European flag, in the unit box of harness.realworld.canvas.TEMPLATES.
FLAGGED_ONE = [[(0.18, 0.32), (0.58, 0.0), (0.55, 1.0)]]
TOUCH_TRIES = 50


@dataclass(frozen=True)
class NumberSample:
    """One upload of a number: its kind, the digits it shows, file bytes and content type."""

    kind: str
    label: str
    data: bytes
    content_type: str
    note: str


# --- drawn numbers ------------------------------------------------------------------------------


def _digit_coverage(digit: int, rng: np.random.Generator, height: float, brush: float,
                    flagged: bool) -> np.ndarray:
    """One drawn digit's ink coverage (h, w) in [0, 1], cropped to its ink."""
    variants = TEMPLATES[digit]
    template = FLAGGED_ONE if flagged and digit == 1 else variants[int(rng.integers(len(variants)))]
    strokes = jittered(template, rng, height, (0.0, 0.0))
    points = np.array([p for stroke in strokes for p in stroke])
    low = points.min(axis=0) - brush
    size = np.ceil(points.max(axis=0) - low + brush).astype(int) + 1
    shifted = [[(x - low[0], y - low[1]) for x, y in stroke] for stroke in strokes]
    alpha = np.asarray(draw_canvas(shifted, brush, (int(size[0]), int(size[1]))).getchannel("A"))
    ink = alpha.astype(np.float32) / 255
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _place(line: np.ndarray, ink: np.ndarray, top: int, right_edge: int, gap: float, reach_in: int) -> int:
    """The column at which ``ink`` goes in ``line`` (both coverage) at row ``top``, right of the
    ink already there (its right edge ``right_edge``): ``gap`` pixels between the strokes at the
    nearest (≤ 0: touching, overlapping by -gap pixels), its box reaching at most ``reach_in``
    pixels into the ink before it (as a person writes: digits that touch do not nest)."""
    height, width = ink.shape
    mine = ink > 0.5
    x = right_edge + 2
    reach = max(int(np.ceil(gap)), 0)
    grown = dilate(mine, reach) if reach else mine
    while x > max(right_edge - reach_in, 0):
        there = line[top : top + height, x - reach : x - reach + width + 2 * reach] > 0.5
        if there.shape != grown.shape:
            break
        if (there & grown).any():
            break
        x -= 1
    if gap <= 0:  # moved to contact: push on by the overlap
        x -= int(round(-gap))
    else:
        x += 1  # one step back: the gap is kept
    return max(x, 0)


def _touches(line: np.ndarray, ink: np.ndarray, top: int, x: int) -> bool:
    """Whether ``ink`` at (``top``, ``x``) touches the ink in ``line``."""
    there = line[top : top + ink.shape[0], x : x + ink.shape[1]] > 0.5
    return bool((there & (ink[: there.shape[0], : there.shape[1]] > 0.5)).any())


def drawn_number(digits: list[int], rng: np.random.Generator, spacing: str, flagged: bool = False,
                 ) -> Image.Image:
    """``digits`` drawn on a transparent canvas, the page's way: ``spacing`` is "separated",
    "nearly_touching" or "touching" (drawn again, up to TOUCH_TRIES times, until every digit
    touches the one before)."""
    for _ in range(TOUCH_TRIES):
        image = _drawn_number(digits, rng, spacing, flagged)
        if image is not None:
            return image
    raise ValueError(f"{digits} drawn {TOUCH_TRIES} times never touched throughout")


def _drawn_number(
    digits: list[int], rng: np.random.Generator, spacing: str, flagged: bool
) -> Image.Image | None:
    """One try of drawn_number: None when "touching" digits did not all touch."""
    height = rng.uniform(90, 150)
    brush = rng.uniform(8, 16)
    slope = rng.uniform(-0.06, 0.06)
    inks = [_digit_coverage(d, rng, height * rng.uniform(0.88, 1.1), brush, flagged) for d in digits]
    tallest = max(ink.shape[0] for ink in inks)
    total = sum(ink.shape[1] for ink in inks) + int(0.6 * height) * len(inks)
    margin = 30
    line = np.zeros((tallest + int(abs(slope) * total) + 2 * margin, total + 2 * margin), dtype=np.float32)
    right = margin
    base = margin + (int(abs(slope) * total) if slope < 0 else 0)
    for index, ink in enumerate(inks):
        top = base + int(slope * (right - margin)) + (tallest - ink.shape[0]) // 2
        if index == 0:
            x = margin
        elif spacing == "separated":
            x = right + int(rng.uniform(0.15, 0.45) * height)
        elif spacing == "nearly_touching":
            x = _place(line, ink, top, right, rng.uniform(1, 4), int(0.1 * height))
        else:
            x = _place(line, ink, top, right, -rng.uniform(0, 0.5) * brush, int(0.15 * height))
            if not _touches(line, ink, top, x):
                return None
        region = line[top : top + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(region, ink, out=region)
        right = max(right, x + ink.shape[1])
    line = line[:, : right + margin]
    canvas = np.zeros((*line.shape, 4), dtype=np.uint8)
    canvas[..., 3] = np.clip(line * 255 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(canvas, "RGBA")


# --- typed numbers and scans ---------------------------------------------------------------------


def typed_number(text: str, rng: np.random.Generator, font_path) -> tuple[bytes, str, str]:
    size = int(rng.integers(28, 120))
    font = ImageFont.truetype(str(font_path), size)
    left, top, right, bottom = font.getbbox(text)
    width, height = right - left + int(rng.integers(16, 200)), bottom - top + int(rng.integers(16, 120))
    paper, ink = int(rng.integers(220, 256)), int(rng.integers(0, 70))
    image = Image.new("L", (width, height), paper)
    x = int(rng.integers(8, width - (right - left) - 7)) - left
    y = int(rng.integers(8, height - (bottom - top) - 7)) - top
    ImageDraw.Draw(image).text((x, y), text, fill=ink, font=font)
    note = f"{font_path.stem} {size}pt"
    if rng.random() < 0.3:
        quality = int(rng.integers(60, 92))
        return (*jpeg_upload(image, quality), note + f", JPEG q{quality}")
    return (*png_upload(image), note)


def scanned_number(images: list[np.ndarray], rng: np.random.Generator) -> tuple[bytes, str, str]:
    """MNIST digits (28, 28) uint8, cropped to their ink, side by side on grainy shaded paper."""
    height = int(rng.integers(50, 110))
    pieces = []
    for digit in images:
        rows, cols = np.flatnonzero(digit.max(axis=1) > 20), np.flatnonzero(digit.max(axis=0) > 20)
        crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255
        scale = height * rng.uniform(0.9, 1.05) / crop.shape[0]
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        enlarged = Image.fromarray(crop, "F").resize(size, Image.Resampling.BICUBIC)
        pieces.append(np.clip(np.asarray(enlarged), 0, 1))
    gaps = [int(rng.uniform(0.12, 0.4) * height) for _ in pieces]
    margin = int(rng.integers(20, 80))
    width = sum(p.shape[1] for p in pieces) + sum(gaps[1:]) + 2 * margin
    ink = np.zeros((height + 2 * margin + 10, width), dtype=np.float32)
    x = margin
    for piece, gap in zip(pieces, [0, *gaps[1:]], strict=True):
        x += gap
        y = margin + int(rng.integers(0, 10)) + (height - piece.shape[0]) // 2
        ink[max(y, 0) : y + piece.shape[0], x : x + piece.shape[1]] = piece[: ink.shape[0] - y]
        x += piece.shape[1]
    shape = ink.shape
    tone = rng.uniform(205, 245)
    ramp = np.linspace(0, 1, shape[1], dtype=np.float32)[None, :] * rng.uniform(-0.2, 0.2)
    paper = tone * (1 + ramp)[..., None] * np.array([1.0, 0.98, 0.94], dtype=np.float32)
    paper = paper + rng.normal(0, rng.uniform(3, 8), (*shape, 1)).astype(np.float32)
    image = Image.fromarray(paint(ink * rng.uniform(0.75, 0.95), paper, (25, 25, 45)), "RGB")
    quality = int(rng.integers(60, 92))
    return (*jpeg_upload(image, quality), f"{height}px high, JPEG q{quality}")


# --- the set -------------------------------------------------------------------------------------


KINDS = ("drawn_separated", "drawn_nearly_touching", "drawn_touching", "drawn_flagged_ones", "typed", "scans")


def generate(train_images: np.ndarray, train_labels: np.ndarray, per_kind: int = PER_KIND,
             seed: int = SEED) -> list[NumberSample]:
    """The set, deterministic for a seed: ``per_kind`` numbers of each kind (scans need the MNIST
    training images and labels; their last HELD_OUT are used)."""
    samples = []
    for k, kind in enumerate(KINDS):
        rng = np.random.default_rng([seed, k])
        for _ in range(per_kind):
            if kind.startswith("drawn"):
                digits = [int(d) for d in rng.integers(0, 10, int(rng.integers(2, 6)))]
                flagged = kind == "drawn_flagged_ones"
                if flagged:
                    digits[int(rng.integers(len(digits)))] = 1
                spacing = "separated" if flagged else kind.removeprefix("drawn_")
                data, content_type = png_upload(drawn_number(digits, rng, spacing, flagged))
                note = spacing + (", 1s flagged" if flagged else "")
            elif kind == "typed":
                fonts = font_paths()
                if not fonts:
                    break
                digits = [int(d) for d in rng.integers(0, 10, int(rng.integers(2, 9)))]
                data, content_type, note = typed_number("".join(map(str, digits)), rng,
                                                        fonts[int(rng.integers(len(fonts)))])
            else:
                chosen = rng.choice(HELD_OUT, int(rng.integers(2, 6)), replace=False)
                indices = len(train_images) - HELD_OUT + chosen
                digits = [int(train_labels[i]) for i in indices]
                data, content_type, note = scanned_number([train_images[i] for i in indices], rng)
            samples.append(NumberSample(kind, "".join(map(str, digits)), data, content_type, note))
    return samples


@dataclass(frozen=True)
class NumberOutcome:
    sample: NumberSample
    number: str | None  # None when refused
    error: str | None
    seconds: float  # wall-clock time of the request
    cpu_seconds: float  # the process's CPU time during it (the request's own, in process)

    @property
    def correct(self) -> bool:
        return self.number == self.sample.label

    @property
    def segmentation_error(self) -> bool:
        return self.number is not None and len(self.number) != len(self.sample.label)

    @property
    def recognition_error(self) -> bool:
        return self.number is not None and len(self.number) == len(self.sample.label) and not self.correct


def api_reader(app) -> Callable[[NumberSample], NumberOutcome]:
    """Read a sample through ``POST /predict/number`` of ``app`` (a raw image body)."""
    client = app.test_client()

    def read(sample: NumberSample) -> NumberOutcome:
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.post("/predict/number", data=sample.data, content_type=sample.content_type)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        body = response.get_json(silent=True) or {}
        if response.status_code != 200:
            code = (body.get("error") or {}).get("code", str(response.status_code))
            return NumberOutcome(sample, None, code, seconds, cpu)
        return NumberOutcome(sample, body["number"], None, seconds, cpu)

    return read


def report(outcomes: list[NumberOutcome]) -> str:
    """A Markdown table per kind: numbers, exact, segmentation and recognition errors, refusals,
    and the time per number through the app."""
    lines = ["| kind | numbers | exact | accuracy | wrong count | misread | refused | median ms | p90 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind in KINDS:
        mine = [o for o in outcomes if o.sample.kind == kind]
        if not mine:
            continue
        times = sorted(o.seconds * 1e3 for o in mine)
        exact = sum(o.correct for o in mine)
        lines.append(
            f"| {kind} | {len(mine)} | {exact} | {exact / len(mine):.1%} | "
            f"{sum(o.segmentation_error for o in mine)} | {sum(o.recognition_error for o in mine)} | "
            f"{sum(o.number is None for o in mine)} | {statistics.median(times):.0f} | "
            f"{times[int(0.9 * (len(times) - 1))]:.0f} |"
        )
    return "\n".join(lines)


def flagged_ones(outcomes: list[NumberOutcome]) -> str:
    """How the flagged 1s of ``drawn_flagged_ones`` read, where the count of digits is right."""
    read_as: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.sample.kind != "drawn_flagged_ones" or outcome.number is None:
            continue
        if len(outcome.number) != len(outcome.sample.label):
            continue
        for want, got in zip(outcome.sample.label, outcome.number, strict=True):
            if want == "1":
                read_as[got] = read_as.get(got, 0) + 1
    total = sum(read_as.values())
    shown = ", ".join(f"{digit}: {count}" for digit, count in sorted(read_as.items(), key=lambda i: -i[1]))
    return f"flagged 1s read as (of {total}): {shown}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.numbers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", action="store_true", help="read the set through /predict/number")
    parser.add_argument("--per-kind", type=int, default=PER_KIND)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--weights", help="weights file (default: the committed one)")
    parser.add_argument("--data-dir", help="MNIST directory (default: env MNIST_DIR)")
    parser.add_argument("--failures", action="store_true", help="list every number read wrong")
    args = parser.parse_args(argv)

    from model import checkpoint, mnist

    data = mnist.load_mnist(mnist.resolve_data_dir(args.data_dir))
    started = time.perf_counter()
    samples = generate(data.train_images, data.train_labels, args.per_kind, args.seed)
    print(f"generated {len(samples)} numbers in {time.perf_counter() - started:.1f} s (seed {args.seed})")
    if not args.report:
        return 0
    from app import create_app

    weights = args.weights or str(checkpoint.DEFAULT_WEIGHTS)
    read = api_reader(create_app({"WEIGHTS_PATH": weights, "TESTING": True}))
    outcomes = [read(sample) for sample in samples]
    print(f"read through POST /predict/number with {weights}\n")
    print(report(outcomes))
    print()
    print(flagged_ones(outcomes))
    if args.failures:
        for outcome in outcomes:
            if not outcome.correct:
                got = outcome.number if outcome.number is not None else outcome.error
                print(f"{outcome.sample.kind}: {outcome.sample.label} read {got} ({outcome.sample.note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
