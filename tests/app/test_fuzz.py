"""No input ever gets a 5xx: random and damaged bodies in every accepted form get a JSON answer."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from harness.api_checks import CODES_BY_STATUS

KNOWN_CODES = set().union(*CODES_BY_STATUS.values())
RAW_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"]
SIGNATURES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"GIF89a",
              b"BM", b"II*\x00", b"MM\x00*"]
# Damaged files make Pillow warn on the way to being refused; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _digit(mode: str, size: int = 48) -> Image.Image:
    image = Image.new("L", (size, size), 230)
    ImageDraw.Draw(image).line([(size // 2, 6), (size // 2, size - 6)], fill=20, width=5)
    if mode == "RGBA":
        rgba = Image.new("RGBA", image.size, (0, 0, 0, 0))
        rgba.putalpha(Image.eval(image, lambda v: 255 - v))
        return rgba
    if mode == "I;16":
        return Image.fromarray(np.asarray(image, dtype=np.uint16) * 257)
    if mode == "P":
        return image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    return image.convert(mode)


def _save(image: Image.Image, pillow_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    return buffer.getvalue()


def _jpeg_with_exif_rotation() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(_digit("RGB"), "JPEG", exif=exif.tobytes())


# Valid small files of every format and several modes, to truncate and to damage.
SEED_FILES = {
    "png-L": _save(_digit("L"), "PNG"),
    "png-RGBA": _save(_digit("RGBA"), "PNG"),
    "png-P": _save(_digit("P"), "PNG", transparency=0),
    "png-16bit": _save(_digit("I;16"), "PNG"),
    "png-interlaced": _save(_digit("RGB"), "PNG", interlace=1),
    "jpeg": _save(_digit("RGB"), "JPEG", quality=80),
    "jpeg-progressive": _save(_digit("L"), "JPEG", progressive=True),
    "jpeg-cmyk": _save(_digit("CMYK"), "JPEG"),
    "jpeg-exif": _jpeg_with_exif_rotation(),
    "webp-lossy": _save(_digit("RGB"), "WEBP", quality=70),
    "webp-lossless": _save(_digit("RGBA"), "WEBP", lossless=True),
    "gif": _save(_digit("P"), "GIF"),
    "gif-animated": _save(_digit("P"), "GIF", save_all=True, append_images=[_digit("P").rotate(90)]),
    "bmp": _save(_digit("RGB"), "BMP"),
    "bmp-1bit": _save(_digit("1"), "BMP"),
    "tiff": _save(_digit("L"), "TIFF"),
}


def assert_handled(response) -> None:
    """A 2xx with a result, or a 4xx JSON error with a documented code: never a 5xx."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert isinstance(body, dict), response.get_data()[:200]
    if response.status_code == 200:
        assert "digit" in body or "results" in body
    else:
        assert body["error"]["code"] in CODES_BY_STATUS[response.status_code]
    if "results" in body:
        for result in body["results"]:
            assert "digit" in result or result["error"]["code"] in KNOWN_CODES


def post_file(client, data: bytes, content_type: str = "image/png"):
    if content_type not in RAW_TYPES:  # not a raw type (415): sent through JSON
        return client.post("/predict", json={"image": base64.b64encode(data).decode()})
    return client.post("/predict", data=data, content_type=content_type)


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_every_seed_file_is_answered(client, name):
    assert_handled(post_file(client, SEED_FILES[name]))


@FUZZ
@given(
    signature=st.sampled_from(SIGNATURES),
    tail=st.binary(max_size=2048),
    content_type=st.sampled_from(RAW_TYPES),
)
def test_random_bytes_of_every_raw_type_are_refused_cleanly(client, signature, tail, content_type):
    response = client.post("/predict", data=signature + tail, content_type=content_type)
    assert_handled(response)


@FUZZ
@given(name=st.sampled_from(sorted(SEED_FILES)), fraction=st.floats(0, 1, exclude_max=True))
def test_truncated_files_of_every_format_are_refused_cleanly(client, name, fraction):
    data = SEED_FILES[name]
    assert_handled(post_file(client, data[: int(len(data) * fraction)]))


@FUZZ
@given(
    name=st.sampled_from(sorted(SEED_FILES)),
    damage=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
    ),
    content_type=st.sampled_from([*RAW_TYPES, "image/bmp", "image/tiff"]),
)
def test_damaged_files_of_every_format_are_answered(client, name, damage, content_type):
    data = bytearray(SEED_FILES[name])
    for where, value in damage:
        data[int(len(data) * where)] = value
    assert_handled(post_file(client, bytes(data), content_type))


@FUZZ
@given(
    name=st.sampled_from(sorted(SEED_FILES)),
    width=st.integers(0, 2**32 - 1),
    height=st.integers(0, 2**32 - 1),
)
def test_png_headers_declaring_any_size_are_answered(client, name, width, height):
    # Overwrites a PNG's IHDR width and height (a decompression bomb, or nonsense) without fixing its CRC.
    data = bytearray(SEED_FILES["png-L"])
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    assert_handled(post_file(client, bytes(data)))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=30) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=100,
)
PIXEL_VALUES = st.one_of(
    st.integers(-300, 300),
    st.floats(allow_nan=False),
    st.sampled_from([0, 1, 255, 0.5, 1.0000001, 255.0001]),
    JSON_VALUES,
)


@st.composite
def pixel_grids(draw) -> object:
    """A 28x28 grid (0-1 or 0-255 scale) with a few cells replaced by anything, or a grid of the
    wrong shape: built with NumPy, since 784 values drawn one by one are slow to generate."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows, columns = draw(st.sampled_from([(28, 28), (28, 28), (27, 28), (28, 29), (0, 0), (1, 784)]))
    grid = rng.random((rows, columns))
    grid = (grid * 255).round().astype(int).tolist() if draw(st.booleans()) else grid.tolist()
    for _ in range(draw(st.integers(0, 3)) if rows and columns else 0):
        grid[rng.integers(rows)][rng.integers(columns)] = draw(PIXEL_VALUES)
    return grid


PIXELS = st.one_of(pixel_grids(), JSON_VALUES)
IMAGE_STRINGS = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n", max_size=200),
    st.builds(lambda prefix, name: prefix + base64.b64encode(SEED_FILES[name]).decode(),
              st.sampled_from(["", "data:image/png;base64,", "data:;base64,", "DATA:x/y;BASE64,", "data:,"]),
              st.sampled_from(sorted(SEED_FILES))),
)
INCLUDE_NAMES = st.lists(st.sampled_from(["feature_maps", "saliency", "layers", "steps"]), max_size=20)
INCLUDE_LISTS = st.one_of(JSON_VALUES, INCLUDE_NAMES)
VERSUS_VALUES = st.one_of(JSON_VALUES, st.integers(-2, 12))
EXTRAS = {"include": INCLUDE_LISTS, "versus": VERSUS_VALUES}
PREDICT_DOCUMENTS = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({"image": IMAGE_STRINGS}, optional=EXTRAS),
    st.fixed_dictionaries({"pixels": PIXELS}, optional={**EXTRAS, "image": JSON_VALUES}),
)
BATCH_DOCUMENTS = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"images": st.lists(st.one_of(IMAGE_STRINGS, PREDICT_DOCUMENTS), max_size=10)}, optional=EXTRAS
    ),
)
QUERY_INCLUDES = st.one_of(st.none(), st.text(max_size=40), INCLUDE_NAMES.map(",".join))
QUERY_VERSUS = st.one_of(st.none(), st.text(max_size=4), st.integers(-2, 12).map(str))


def extras_query(include: str | None, versus: str | None) -> dict:
    return {name: value for name, value in (("include", include), ("versus", versus)) if value is not None}


@FUZZ
@given(document=PREDICT_DOCUMENTS, include=QUERY_INCLUDES, versus=QUERY_VERSUS)
def test_random_json_to_predict_is_answered(client, document, include, versus):
    assert_handled(client.post("/predict", data=json.dumps(document), content_type="application/json",
                               query_string=extras_query(include, versus)))


@FUZZ
@given(document=BATCH_DOCUMENTS, include=QUERY_INCLUDES, versus=QUERY_VERSUS)
def test_random_json_to_predict_batch_is_answered(client, document, include, versus):
    assert_handled(client.post("/predict/batch", data=json.dumps(document), content_type="application/json",
                               query_string=extras_query(include, versus)))


@FUZZ
@given(body=st.binary(max_size=512), path=st.sampled_from(["/predict", "/predict/batch"]))
def test_random_bytes_as_json_are_refused_cleanly(client, body, path):
    assert_handled(client.post(path, data=body, content_type="application/json"))


@FUZZ
@given(
    fields=st.lists(
        st.tuples(
            st.sampled_from(["image", "include", "versus", "images", "x"]),
            st.one_of(st.text(max_size=30), st.sampled_from(sorted(SEED_FILES)).map(lambda n: SEED_FILES[n]),
                      st.binary(max_size=200)),
            st.booleans(),
        ),
        max_size=5,
    ),
    path=st.sampled_from(["/predict", "/predict/batch"]),
)
def test_random_multipart_bodies_are_answered(client, fields, path):
    data = {}
    for name, value, as_file in fields:
        if as_file:
            content = value if isinstance(value, bytes) else value.encode()
            data.setdefault(name, []).append((io.BytesIO(content), "upload.bin"))
        else:
            data.setdefault(name, []).append(value if isinstance(value, str) else value.decode("latin-1"))
    assert_handled(client.post(path, data=data, content_type="multipart/form-data"))


@FUZZ
@given(body=st.binary(max_size=600), boundary=st.sampled_from(["b", "", "x" * 80, "\"q\""]))
def test_malformed_multipart_is_refused_cleanly(client, body, boundary):
    prefix = f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
    for path in ("/predict", "/predict/batch"):
        response = client.post(path, data=prefix.encode() + body,
                               content_type=f"multipart/form-data; boundary={boundary}")
        assert_handled(response)


@FUZZ
@given(content_type=st.text(max_size=40), body=st.binary(max_size=64))
def test_any_content_type_header_is_answered(client, content_type, body):
    try:
        response = client.post("/predict", data=body, headers={"Content-Type": content_type})
    except ValueError:  # the test client itself refuses some header values (newlines)
        return
    assert_handled(response)
