"""Capture the PNG that the page sends for a mouse-drawn digit, as Chromium encodes it.

    python -m bench.capture_canvas                        # writes bench/canvas-seven.png
    python -m bench.capture_canvas --digit zero --out /tmp/zero.png

The app runs on 127.0.0.1 (an ephemeral port), Debian's chromium draws the digit with the mouse
(the strokes of the browser tests), and the data URL of the last /predict request is decoded and
written out. bench.service loads the committed capture: the canvas PNG a real browser sends, with
the browser's own PNG encoder (8-bit RGBA, every row Up-filtered).
"""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

from bench.page import CHROMIUM, draw, start_server
from harness.strokes import ONE, SEVEN, ZERO
from model import checkpoint

OUTPUT = Path(__file__).resolve().parent / "canvas-seven.png"
DIGITS = {"seven": SEVEN, "one": ONE, "zero": ZERO}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def capture(strokes, chromium: str = CHROMIUM) -> bytes:
    """The PNG of the page's last /predict request after drawing ``strokes`` (fractions of the canvas)."""
    from playwright.sync_api import sync_playwright

    server, url = start_server(checkpoint.DEFAULT_WEIGHTS)
    bodies: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "request",
                lambda request: (
                    bodies.append(request.post_data)
                    if request.method == "POST" and "/predict" in request.url
                    else None
                ),
            )
            page.goto(url + "/")
            canvas = page.locator('[data-testid="draw-canvas"]')
            canvas.scroll_into_view_if_needed()
            draw(page, strokes, canvas.bounding_box())
            page.wait_for_load_state("networkidle")
            browser.close()
    finally:
        server.shutdown()
    if not bodies:
        raise SystemExit("the page sent no /predict request")
    data_url = json.loads(bodies[-1])["image"]
    return base64.b64decode(data_url.split(",", 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digit", choices=sorted(DIGITS), default="seven")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    png = capture(DIGITS[args.digit], args.chromium)
    args.out.write_bytes(png)
    print(f"{args.out}: {len(png)} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
