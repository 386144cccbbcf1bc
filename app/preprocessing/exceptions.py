"""Why an upload cannot become a network input. Plain errors: the API maps each class to its
HTTP status and error code (app/errors.py); the messages are for people."""

from __future__ import annotations


class PreprocessingError(ValueError):
    """An upload that cannot become a network input."""


class InvalidImage(PreprocessingError):
    """Not a decodable image: unknown format, truncated, corrupt."""


class ImageTooLarge(PreprocessingError):
    """More pixels, or a costlier file structure, than our limits allow (refused from the header,
    before any pixel is decoded)."""


class InvalidPixels(PreprocessingError):
    """A JSON pixel array that is not 28 rows of 28 numbers in [0, 1] or [0, 255]."""


class NoDigitFound(PreprocessingError):
    """A decodable image with no ink on it (blank, uniform, noise or paper texture only)."""
