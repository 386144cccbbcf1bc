"""The decoding cost model: metadata parsed tag by tag and the bytes a decoder writes per pixel
are bounded from the header (413 image_too_large naming the limit), and ordinary images (a
phone's JPEG with its EXIF, RGBA PNGs, lossy and lossless WebPs) still decode, turned upright."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from PIL import ExifTags, Image

from app.preprocessing import ImageTooLarge, open_image, to_mnist
from harness.api_checks import TEST_LIMITS
from harness.drawings import LIMIT, paint, seven_coverage, similarity
from harness.hostile import exif_jpeg, exif_png, exif_webp, photoshop_jpeg, progressive_jpeg_scans, zero_png
from harness.images import encode, png_chunk
from harness.preprocessing import load_image, preprocess

TEST_BUDGET = 4 * TEST_LIMITS["MAX_IMAGE_PIXELS"]  # bytes: 4 a pixel at the pixel limit
TEST_SIDE = int(TEST_LIMITS["MAX_IMAGE_PIXELS"] ** 0.5)  # an image at the test pixel limit


def webp_with_chunks(count: int) -> bytes:
    """A small lossless WebP with ``count`` empty unknown chunks after its image data."""
    data = encode(paint(seven_coverage(40)), "WEBP", lossless=True)
    body = data[12:] + b"abcd\0\0\0\0" * count
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


REFUSED = [
    pytest.param(exif_png(6000), "image/png", "65536 bytes of EXIF metadata", id="png-exif-over-64-kib"),
    pytest.param(exif_webp(6000), "image/webp", "65536 bytes of EXIF metadata", id="webp-exif-over-64-kib"),
    # Two APP1 segments, each within JPEG's 64 KiB, that Pillow would join into one EXIF.
    pytest.param(exif_jpeg(6000), "image/jpeg", "65536 bytes of EXIF metadata",
                 id="jpeg-exif-in-two-segments"),
    pytest.param(photoshop_jpeg(140_000), "image/jpeg", "65536 bytes of Photoshop metadata",
                 id="jpeg-photoshop-over-64-kib"),
    pytest.param(webp_with_chunks(4100), "image/webp", "4096 chunks", id="webp-too-many-chunks"),
    # At the pixel limit, each of these writes more than 4 bytes a pixel.
    pytest.param(zero_png(TEST_SIDE, 16, 6, interlaced=True), "image/png", f"the limit is {TEST_BUDGET}",
                 id="png-16-bit-rgba-interlaced"),
    pytest.param(zero_png(TEST_SIDE, 16, 6), "image/png", f"the limit is {TEST_BUDGET}",
                 id="png-16-bit-rgba"),
    pytest.param(zero_png(TEST_SIDE, 8, 6, interlaced=True), "image/png", f"the limit is {TEST_BUDGET}",
                 id="png-8-bit-rgba-interlaced"),
    pytest.param(progressive_jpeg_scans(TEST_SIDE, 32, 1 << 20), "image/jpeg", f"the limit is {TEST_BUDGET}",
                 id="jpeg-32-scan-passes"),  # libjpeg reads every coefficient once a pass
    pytest.param(encode(Image.new("L", (TEST_SIDE,) * 2, 255), "WEBP", lossless=True), "image/webp",
                 f"the limit is {TEST_BUDGET}", id="webp-lossless"),
    pytest.param(encode(Image.new("L", (TEST_SIDE,) * 2, 255), "WEBP"), "image/webp",
                 f"the limit is {TEST_BUDGET}", id="webp-lossy"),
]


@pytest.mark.parametrize(("data", "content_type", "limit"), REFUSED)
def test_a_file_costing_more_than_its_limit_is_refused_with_image_too_large_naming_it(
    client, data, content_type, limit
):
    response = client.post("/predict", data=data, content_type=content_type)
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "image_too_large"
    assert limit in error["message"] and "limit" in error["message"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(zero_png(TEST_SIDE, 8, 6), "image/png", id="png-8-bit-rgba"),  # 4 bytes a pixel
        pytest.param(zero_png(TEST_SIDE, 16, 0, interlaced=True), "image/png", id="png-16-bit-grey-adam7"),
        pytest.param(zero_png(TEST_SIDE, 1, 0, interlaced=True), "image/png", id="png-1-bit-interlaced"),
        pytest.param(exif_png(5000), "image/png", id="png-exif-under-64-kib"),  # 60 KiB
        pytest.param(progressive_jpeg_scans(TEST_SIDE, 16, 1 << 20), "image/jpeg", id="jpeg-16-scan-passes"),
    ],
)
def test_a_file_within_every_limit_is_decoded(client, data, content_type):
    # Black, transparent or white: decoded, then found blank.
    response = client.post("/predict", data=data, content_type=content_type)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "no_digit_found"


def test_the_budget_is_exactly_4_bytes_a_pixel_at_the_pixel_limit():
    data = zero_png(500, 16, 6)  # 250,000 pixels at 8 bytes: 2,000,000 bytes to decode
    assert open_image(data, max_pixels=500_000).size == (500, 500)
    with pytest.raises(ImageTooLarge, match="= 2000000 bytes; the limit is 1999996"):
        open_image(data, max_pixels=499_999)


# ---------------------------------------------------------------------------------------------
# Rotation: only the Orientation tag is read


# What a camera stores for each Orientation, from the upright picture.
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize(("fmt", "options"), [("PNG", {}), ("WEBP", {"lossless": True})], ids=["png", "webp"])
@pytest.mark.parametrize("orientation", sorted(STORED))
def test_every_exif_orientation_is_turned_upright(fmt, options, orientation):
    upright = Image.fromarray(np.random.default_rng(orientation).integers(0, 256, (40, 60), dtype=np.uint8))
    stored = upright if STORED[orientation] is None else upright.transpose(STORED[orientation])
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = encode(stored, fmt, exif=exif.tobytes(), **options)
    assert np.array_equal(np.asarray(load_image(data, LIMIT).convert("L")), np.asarray(upright))


def test_the_rotation_never_rewrites_the_exif(monkeypatch, reference):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 8
    upright = paint(seven_coverage(), paper=(255, 255, 255), ink=(0, 0, 0))
    data = encode(upright.transpose(Image.Transpose.ROTATE_270), "JPEG", quality=92, exif=exif.tobytes())
    serialised = []
    monkeypatch.setattr(Image.Exif, "tobytes", lambda self, *args, **kwargs: serialised.append(self) or b"")
    assert similarity(to_mnist(load_image(data, LIMIT)), reference) > 0.95
    assert serialised == []


def test_exif_as_hex_text_in_a_png_is_not_parsed():
    # ImageMagick's old "Raw profile type exif" text: its size inflated is not in the header.
    upright = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 60), dtype=np.uint8))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    hexed = exif.tobytes().hex()
    text = png_chunk(b"tEXt", b"Raw profile type exif\0" + f"\nexif\n{len(hexed) // 2:8}\n{hexed}\n".encode())
    data = encode(upright, "PNG")
    data = data[:33] + text + data[33:]  # after the signature and IHDR
    assert np.array_equal(np.asarray(load_image(data, LIMIT)), np.asarray(upright))


def phone_exif(orientation: int) -> bytes:
    """EXIF as a phone writes it: camera, date, exposure and GPS directories, and Orientation."""
    exif = Image.Exif()
    exif.update({ExifTags.Base.Make: "Phone", ExifTags.Base.Model: "Phone 15", ExifTags.Base.Software: "17.1",
                 ExifTags.Base.DateTime: "2026:12:06 12:00:00", ExifTags.Base.Orientation: orientation})
    exif.get_ifd(ExifTags.IFD.Exif).update({
        ExifTags.Base.ExposureTime: 1 / 120, ExifTags.Base.FNumber: 1.8, ExifTags.Base.ISOSpeedRatings: 64,
        ExifTags.Base.DateTimeOriginal: "2026:12:06 12:00:00", ExifTags.Base.LensModel: "back camera 6mm",
    })
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return exif.tobytes()


def test_a_phone_photo_with_its_exif_is_decoded_upright(reference):
    # 4032 × 3024 (12 megapixels) stored on its side, Orientation 6: "turn 90° clockwise".
    page = np.zeros((3024, 3024), np.float32)
    page[900:2100, 900:2100] = seven_coverage(1200)
    upright = paint(np.pad(page, ((504, 504), (0, 0))))  # 3024 wide, 4032 tall
    data = encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=85, exif=phone_exif(6))
    loaded = load_image(data, LIMIT)
    assert loaded.height > loaded.width  # upright: portrait, at the reduced JPEG scale
    assert similarity(to_mnist(loaded), reference) > 0.9


@pytest.mark.parametrize(
    ("fmt", "options", "side"),
    [
        ("PNG", {}, 2048),
        ("WEBP", {"quality": 90}, 2000),
        ("WEBP", {"lossless": True}, 2000),
    ],
    ids=["rgba-png", "lossy-webp", "lossless-webp"],
)
def test_ordinary_rgba_pngs_and_webps_are_decoded(reference, fmt, options, side):
    drawing = paint(seven_coverage(side), paper=(255, 255, 255), ink=(0, 0, 0)).convert("RGBA")
    assert similarity(preprocess(encode(drawing, fmt, **options), LIMIT), reference) > 0.95
