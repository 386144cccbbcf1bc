"""Any uploaded image in, the 28×28 MNIST-style network input out.

MNIST digits are white ink (1.0) on black (0.0): the ink's bounding box scaled, aspect ratio
kept, to fit 20×20 with anti-aliasing, then placed in 28×28 with the centre of mass of the ink
at the centre. Uploads look nothing like that, so ``preprocess``:

1. opens the file reading its header only, and refuses one that declares more pixels than the
   caller allows, or a costlier structure than a digit needs (PNG chunks, GIF blocks, TIFF
   strips, run-length BMP: ``containers``), before decoding a pixel; then Pillow decodes the
   first frame, honouring EXIF rotation (``decoding``);
2. flattens the image to a *drawing* on transparency, read from its opacity, or a *page*: alpha
   composited over white paper, 16-bit rescaled, dithered 1-bit smoothed, grey or RGB; both of
   bounded size (``flattening``);
3. follows one of two short roads to the ink around the digit, at 4× the output scale:

   - a drawing (``drawing``) has exact ink and no paper: its opacity is the ink strength;
   - a photo or scan (``photo``) is first read in a coarse copy (≤ COARSE_SIDE). The paper is
     modelled as a smooth quadratic surface fitted from the border inwards (the ink is the
     minority that does not fit), so gradients drop out, and broad faint shade (a sharp shadow
     edge) is taken out by a morphological opening (``paper``). The ink's polarity is decided
     from which side of the paper the outlying thin strokes lie, and coloured ink is read
     through the minimum (or maximum) channel. The paper's noise and the ink's contrast are
     measured: an image whose strongest "ink" is a faint smudge or no stronger than its noise
     has no digit. Faint ink counts where it joins a strong stroke (a faded side, a light
     pencil line, the soft strokes of an enlarged scan) and each stroke is read against its
     own darkness, so faint parts become full ink; grain, dithering and specks do not join.
     Dust blobs are dropped from the re-read box;

   on both, the main ink mass is found in a coarse copy (specks cut off by empty space are
   dropped, detached strokes near the digit kept) and just that box is re-read from the full
   image (``ink``);
4. finishes both roads alike (``mnist_form``): normalises the stroke width to MNIST's, fits
   20×20 with area averaging and centres by mass.

``to_mnist(image, steps)`` also hands back the stages as small pictures (``steps``).

A JSON pixel array is already in MNIST form: ``from_pixels`` only checks and scales it
(``pixels``). Every refusal is a PreprocessingError subclass (``exceptions``) with a message for
people; the API maps the classes to its error codes.

All functions are pure and thread-safe: nothing global is read or written at call time.
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
from app.preprocessing.mnist_form import SIZE, finish
from app.preprocessing.photo import read_photo
from app.preprocessing.pixels import from_pixels
from app.preprocessing.steps import Step, ink_step, received_step

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

