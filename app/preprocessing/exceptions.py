"""Why an upload cannot become a network input. Each class is an ApiError with its code (its HTTP
status comes from the one registry, ``app.errors.CODES``); the messages are for people."""

from __future__ import annotations

from app.errors import ApiError


class PreprocessingError(ApiError, ValueError):
    """An upload that cannot become a network input."""

    code = "invalid_image"

    def __init__(self, message: str):
        super().__init__(self.code, message)


class InvalidImage(PreprocessingError):
    """Not a decodable image: unknown format, truncated, corrupt."""


class ImageTooLarge(PreprocessingError):
    """More pixels, or a costlier file structure, than our limits allow (refused from the header,
    before any pixel is decoded)."""

    code = "image_too_large"


class InvalidPixels(PreprocessingError):
    """A JSON pixel array that is not 28 rows of 28 numbers in [0, 1] or [0, 255]."""

    code = "invalid_pixels"


class NoDigitFound(PreprocessingError):
    """A decodable image with no ink on it (blank, uniform, noise or paper texture only)."""

    code = "no_digit_found"


class TooManyDigits(PreprocessingError):
    """More digit-sized marks in one image than a number may hold (MAX_DIGITS)."""

    code = "too_many_digits"


class TooManyMarks(PreprocessingError):
    """Ink broken into more separate pieces than a line of digits is (a speckled or textured
    image): refused before the pieces are sorted out, so that its cost stays bounded."""

    code = "too_many_marks"
