"""Digit Lens web app: ``create_app()`` builds the Flask application.

    gunicorn 'app:create_app()'
"""

from __future__ import annotations

import os

from flask import Flask

from model import checkpoint, sample

# Settings read from the environment (DIGIT_LENS_<NAME>) with these defaults.
DEFAULTS = {
    "WEIGHTS_PATH": str(checkpoint.DEFAULT_WEIGHTS),
    "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,  # bytes in one request body
    "MAX_IMAGE_PIXELS": 4096 * 4096,  # width × height of one image, checked before decoding
    "MAX_BATCH_SIZE": 32,  # images in one /predict/batch call
    # width × height of all the images of one request together, from their headers: what one
    # request may cost to decode, whatever the batch size.
    "MAX_REQUEST_PIXELS": 2 * 4096 * 4096,
    "MAX_FORM_PARTS": 64,  # parts of one multipart body: the images and a few text fields
    # An image declaring more pixels than this is large: decoding it costs far more memory than
    # anything else a request does. Each worker process decodes LARGE_DECODES requests holding
    # one at a time, lets LARGE_REQUESTS_WAITING more wait for their turn, and refuses any more
    # at once (503 server_busy, Retry-After), leaving its other threads to small requests. So
    # its peak memory has a bound whatever its threads do (docs/deploy.md has the formula).
    "LARGE_IMAGE_PIXELS": 1024 * 1024,
    "LARGE_DECODES": 1,
    "LARGE_REQUESTS_WAITING": 1,
    # MNIST test digits that include=gradients measures the network's accuracy on, before and after
    # its steps (model.sample); they do not depend on the weights.
    "SAMPLE_PATH": str(sample.DEFAULT_SAMPLE),
}


def _settings_from_environment() -> dict:
    settings = {}
    for key, default in DEFAULTS.items():
        value = os.environ.get(f"DIGIT_LENS_{key}")
        if value is None:
            continue
        if isinstance(default, int):
            try:
                settings[key] = int(value)
            except ValueError:
                raise ValueError(f"DIGIT_LENS_{key} must be a whole number, not {value!r}") from None
        else:
            settings[key] = value
    return settings


def create_app(config: dict | None = None) -> Flask:
    """The application: defaults, then DIGIT_LENS_* environment variables, then ``config``.

    The model is loaded here, once per process, and attached as ``app.extensions["model"]``;
    a missing or corrupt weights file stops start-up with a clear CheckpointError.
    """
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.update(DEFAULTS)
    app.config.update(_settings_from_environment())
    if config:
        app.config.update(config)
    # Compact JSON in the order the code builds it: less to encode and send on every response.
    app.json.compact = True
    app.json.sort_keys = False

    from app import api, errors, pages
    from app.decode_turns import LargeDecodes
    from app.inference import Predictor
    from app.replay import Snapshots

    app.extensions["model"] = Predictor.from_checkpoint(app.config["WEIGHTS_PATH"])
    app.extensions["mnist_sample"] = sample.load(app.config["SAMPLE_PATH"])
    # The training replay beside the weights (?snapshot=K), read on the first request for one.
    app.extensions["replay"] = Snapshots(app.extensions["model"], app.config["WEIGHTS_PATH"])
    # Made before gunicorn forks its workers (preload_app): each worker has its own turns.
    app.extensions["large_decodes"] = LargeDecodes(
        app.config["LARGE_DECODES"], app.config["LARGE_REQUESTS_WAITING"])
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    return app
