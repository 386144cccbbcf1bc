"""The preprocessing stages as small images, for a person to follow one upload to the network
input: what was received, the ink found in it, the ink cropped with its strokes normalised, fitted
to 20×20 and centred by mass in 28×28.

Made only when a caller passes a list to collect them (``to_mnist(image, steps=[])``); each is a
Step with pixels (h, w) uint8, no side over STEP_MAX_SIDE except the 28×28 network input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

STEP_MAX_SIDE = 64  # the pictures of the stages are reduced to this on their longer side

TITLES = {
    "received": "The image as received",
    "ink": "The ink found (paper, shade and specks left out)",
    "cropped": "Cropped to the ink, strokes brought to MNIST's width",
    "fitted": "Fitted to a 20×20 box",
    "centred": "Centred by mass in 28×28: the network input",
}


@dataclass(frozen=True)
class Step:
    """One stage: ``pixels`` (h, w) uint8, in which the ink is "dark" (on light paper) or
    "light" (255 = full ink, on black)."""

    name: str
    title: str
    pixels: np.ndarray
    ink: str


def reduced_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` (width, height) scaled, aspect kept, to no more than STEP_MAX_SIDE on either side."""
    width, height = size
    scale = min(1.0, STEP_MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _reduced(image: Image.Image) -> np.ndarray:
    """A mode "L" or "F" ``image`` reduced by area averaging to ≤ STEP_MAX_SIDE: (h, w) uint8
    (an "F" image holds ink in [0, 1])."""
    small = image.resize(reduced_size(image.size), Image.Resampling.BOX)
    if small.mode == "F":
        return np.clip(np.asarray(small) * 255 + 0.5, 0, 255).astype(np.uint8)
    return np.asarray(small, dtype=np.uint8)


def received_step(image: Image.Image, opacity_is_ink: bool, dark_ink: bool) -> Step:
    """The flattened upload ``image`` in grey as a person sees it: a drawing on transparency
    (``opacity_is_ink``; ``image`` is its opacity) as dark ink on white paper, a page as it is,
    its ink ``dark_ink`` or light."""
    if opacity_is_ink:
        return Step("received", TITLES["received"], 255 - _reduced(image), "dark")
    grey = image.convert("L") if image.mode != "L" else image
    return Step("received", TITLES["received"], _reduced(grey), "dark" if dark_ink else "light")


def ink_step(ink: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]) -> Step:
    """The ``ink`` (H, W) in [0, 1] found in the ``box`` (left, top, right, bottom) of an image of
    ``size`` (width, height), shown in place over the whole image at the received step's scale."""
    width, height = size
    frame_size = reduced_size(size)
    scale = frame_size[0] / width, frame_size[1] / height
    left, top, right, bottom = box
    x0, y0 = round(left * scale[0]), round(top * scale[1])
    x1, y1 = max(round(right * scale[0]), x0 + 1), max(round(bottom * scale[1]), y0 + 1)
    patch = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), "F")
    resample = Image.Resampling.BOX if x1 - x0 < ink.shape[1] else Image.Resampling.BILINEAR
    patch = np.asarray(patch.resize((x1 - x0, y1 - y0), resample))
    frame = np.zeros((frame_size[1], frame_size[0]), dtype=np.float32)
    frame[y0:y1, x0:x1] = patch[: frame_size[1] - y0, : frame_size[0] - x0]
    return light_step("ink", frame)


def light_step(name: str, values: np.ndarray) -> Step:
    """The stage ``name`` from ink values (h, w) in [0, 1], white ink on black, reduced to ≤
    STEP_MAX_SIDE (the 28×28 network input never is)."""
    image = Image.fromarray(np.asarray(values, dtype=np.float32), "F")
    return Step(name, TITLES[name], _reduced(image), "light")
