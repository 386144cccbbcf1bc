"""Digits drawn on the page's 280 px pad in two ways that today's model and preprocessing read
badly (issue 11): small digits drawn with the default brush — a 2 at 15% of the pad is mostly
brush, its curves filled in, and was read 8 — and 1s with a long European flag, read 7.

    python -m harness.awkward_drawings [--weights W] [--seed S] [--failures]

draws them as the page's canvas exports them (round brush, anti-aliased, ink in alpha), reads them
through ``POST /predict`` of the real app and prints accuracy per case.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from harness.realworld.canvas import CANVAS, TEMPLATES, draw_canvas, inside_canvas, jittered
from harness.realworld.samples import Sample, png_upload

DEFAULT_BRUSH = 22  # px of the 280 px pad: static/js/sketchpad.js and the brush slider's default
SMALL_SHARES = (0.12, 0.15, 0.2, 0.3)  # digit height / pad side
COPIES = 3  # jittered copies of each digit template per share
FLAG_SHARES = (0.2, 0.35, 0.5)  # length of a 1's flag / its height
FLAGGED_ONES = 20  # per flag share
SEED = 20261130


def small_digits(rng: np.random.Generator) -> list[Sample]:
    """Every digit template at each of SMALL_SHARES of the pad, drawn with the default brush
    anywhere on the pad: kinds "small_12" ... "small_30" (percent of the pad)."""
    samples = []
    for share in SMALL_SHARES:
        height = share * CANVAS
        for digit, variants in TEMPLATES.items():
            for variant, strokes in enumerate(variants):
                for _ in range(COPIES):
                    half = height / 2 + DEFAULT_BRUSH
                    origin = (rng.uniform(half, CANVAS - half), rng.uniform(half, CANVAS - half))
                    placed = inside_canvas(jittered(strokes, rng, height, origin), DEFAULT_BRUSH)
                    image = draw_canvas(placed, DEFAULT_BRUSH)
                    note = f"template {variant}, {height:.0f}px tall, brush {DEFAULT_BRUSH}px"
                    samples.append(Sample(f"small_{round(100 * share)}", digit, *png_upload(image), note))
    return samples


def flagged_one(flag: float, angle_degrees: float) -> list[list[tuple[float, float]]]:
    """A 1 in the unit box drawn in one stroke: a flag of length ``flag`` (of the height) rising
    at ``angle_degrees`` above the horizontal to the top, then the stem straight down."""
    angle = np.deg2rad(angle_degrees)
    top = (0.6, 0.0)
    start = (top[0] - flag * np.cos(angle), top[1] + flag * np.sin(angle))
    return [[start, top, (0.6, 1.0)]]


def flagged_ones(rng: np.random.Generator) -> list[Sample]:
    """FLAGGED_ONES 1s per flag length of FLAG_SHARES, at a natural size, the flag 35–60° below
    the horizontal (a flatter flag on a 1 is drawn like a 7), brush 12–26 px: kinds "flag_20" ...
    "flag_50" (percent of the height)."""
    samples = []
    for share in FLAG_SHARES:
        for _ in range(FLAGGED_ONES):
            angle = rng.uniform(35, 60)
            brush = rng.uniform(12, 26)
            height = rng.uniform(140, 220)
            origin = (CANVAS / 2 + rng.uniform(-20, 20), CANVAS / 2 + rng.uniform(-20, 20))
            placed = inside_canvas(jittered(flagged_one(share, angle), rng, height, origin), brush)
            note = f"flag {share:.2f} of the height at {angle:.0f}°, brush {brush:.0f}px, {height:.0f}px tall"
            samples.append(
                Sample(f"flag_{round(100 * share)}", 1, *png_upload(draw_canvas(placed, brush)), note)
            )
    return samples


def generate(seed: int = SEED) -> list[Sample]:
    """Both sets, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    return small_digits(rng) + flagged_ones(rng)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.awkward_drawings",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--weights", help="weights file (default: the committed model/weights/digit_lens.npz)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--failures", action="store_true", help="list every misread drawing")
    args = parser.parse_args(argv)

    from app import create_app
    from harness.realworld import api_classifier, evaluate, failure_lines, report_table
    from model import checkpoint

    weights = args.weights or str(checkpoint.DEFAULT_WEIGHTS)
    by_kind = evaluate(
        generate(args.seed), api_classifier(create_app({"WEIGHTS_PATH": weights, "TESTING": True}))
    )
    print(f"read through POST /predict with {weights} (seed {args.seed})\n")
    print(report_table(by_kind))
    if args.failures:
        print()
        print(*failure_lines(by_kind), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
