"""Any uploaded image in, the 28×28 MNIST-style network input out.

MNIST digits are white ink (1.0) on black (0.0): the ink's bounding box scaled, aspect ratio
kept, to fit 20×20 with anti-aliasing, then placed in 28×28 with the centre of mass of the ink
at the centre. A drawing from the page's canvas takes the short road:

1. ``decoding``: ``open_image`` reads the header only and refuses a file that declares more
   pixels than the caller allows, or a costlier structure than a digit needs (``containers``);
   ``decode`` then decodes the first frame, honouring EXIF rotation;
2. ``flattening``: a drawing on transparency is its opacity, reduced to a bounded size;
3. ``drawing``: its opacity is the ink; the main ink mass is found in a coarse copy (specks cut
   off by empty space dropped, detached strokes near the digit kept) and just that box is read
   again at 4× the output scale (``ink``);
4. ``mnist_form``: the stroke width brought to MNIST's, the ink fitted to 20×20 by area
   averaging and centred by mass (``model.mnist_geometry``).

Every other image is a page, ink on paper: a photo or scan takes the longer road of ``photo``
at step 3 (paper modelled and divided out, faint ink joined, specks dropped), then step 4.
``to_mnist(image, steps)`` also hands back the stages as small pictures (``steps``).

A JSON pixel array is already in MNIST form: ``from_pixels`` only checks and scales it
(``pixels``). Every refusal is a PreprocessingError subclass (``exceptions``) with a message for
people. All functions are pure and thread-safe: nothing global is read or written at call time.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from app.preprocessing.decoding import decode, open_image
from app.preprocessing.drawing import read_drawing
from app.preprocessing.exceptions import (
    ImageTooLarge,
    InvalidImage,
    InvalidPixels,
    NoDigitFound,
    PreprocessingError,
)
from app.preprocessing.flattening import Drawing, flatten
from app.preprocessing.mnist_form import finish
from app.preprocessing.photo import read_photo
from app.preprocessing.pixels import from_pixels
from app.preprocessing.steps import Step, ink_step, received_step
from model.mnist_geometry import SIZE

__all__ = [
    "SIZE",
    "ImageTooLarge",
    "InvalidImage",
    "InvalidPixels",
    "NoDigitFound",
    "PreprocessingError",
    "Step",
    "decode",
    "from_pixels",
    "open_image",
    "to_mnist",
]


def to_mnist(image: Image.Image, steps: list[Step] | None = None) -> np.ndarray:
    """The digit in the decoded ``image`` as the network expects it: (28, 28) float32 in [0, 1],
    white ink on black, fitted to 20×20 and centred by mass. Raises NoDigitFound when there is
    no digit.

    When ``steps`` is a list, the stages are appended to it as Steps, in order: "received",
    "ink", "cropped", "fitted", "centred" (fewer when there is no digit)."""
    source = flatten(image)
    drawn = isinstance(source, Drawing)
    picture = source.ink if drawn else source.image
    reading = read_drawing(picture) if drawn else read_photo(picture)
    if steps is not None:
        steps.append(received_step(picture, opacity_is_ink=drawn, dark_ink=reading.dark_ink))
        steps.append(ink_step(reading.ink, reading.box, picture.size))
    return finish(reading.ink, reading.mask, reading.contrast, steps)

