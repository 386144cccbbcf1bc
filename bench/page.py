"""End-to-end latency of the drawing page: from the last pointer move of a stroke to the updated
prediction on screen, in real headless Chromium on 127.0.0.1.

    python -m bench.page                 # app on a werkzeug server in this process
    python -m bench.page --draws 40
    python -m bench.page --url http://127.0.0.1:8000   # an already running server (gunicorn)
    python -m bench.page --height 6000   # every part inside the network on screen: all includes
    python -m bench.page --trace         # then where the page's main thread spends a stroke
    python -m bench.page --mode number   # number mode: two digits side by side, /predict/number

Each draw: Escape clears the canvas, the mouse draws a 1, 7 or 0 (as the browser tests do), or
in number mode a two-digit number (17, 23, 50: single-stroke digits, side by side on the wide
pad), and the page itself timestamps (performance.now()) the last pointermove, the pointerup of
the last stroke, the start and end of the final fetch, and the moment the answer for the newest
drawing is in the DOM (a MutationObserver on the answer's data-rendered-version; in number mode
the number's, [data-testid=number]), then the next frame. Figures are medians over the draws
(plus p90, min, max) and the time split into its parts.
With --trace, six more draws run under a Chromium trace (after the timed ones, as tracing
slows the page) and the renderer's main-thread time per draw is printed by kind of work.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.number_pictures import written_number  # noqa: E402  (the browser tests' numbers)
from harness.strokes import ONE, SEVEN, ZERO  # noqa: E402  (the browser tests' strokes)

CHROMIUM = "/usr/bin/chromium"
# Per mode: what is timed, the figure the target is on and the target (ms).
MODES = {
    "digit": {"target": "#answer", "figure": "median", "target_ms": 50.0},
    "number": {"target": '[data-testid="number"]', "figure": "p90", "target_ms": 80.0},
}
NUMBERS = [[1, 7], [2, 3], [5, 0]]  # digits of one stroke each: the last pointerup ends the number
NUMBER_PAD_ASPECT = 2.5  # static/js/number-mode.js PAD_SIZES.number: 700 × 280

# Timestamps inside the page; window.__latency.done holds one record per finished draw. The draw
# sets strokesLeft: the pointerup of its last stroke arms the record. %TARGET% is the element
# whose data-rendered-version says the answer is on screen.
PROBE = """
(() => {
  const state = {lastMove: 0, up: 0, fetchStart: 0, fetchEnd: 0, armed: false, strokesLeft: 1, done: []};
  window.__latency = state;
  window.addEventListener("pointermove", () => { state.lastMove = performance.now(); }, true);
  window.addEventListener("pointerup", () => {
    state.up = performance.now();
    state.strokesLeft -= 1;
    if (state.strokesLeft <= 0) state.armed = true;
  }, true);
  const originalFetch = window.fetch;
  window.fetch = async (...args) => {
    const start = performance.now();
    const response = await originalFetch(...args);
    if (String(args[0]).includes("/predict")) {
      state.fetchStart = start;
      state.fetchEnd = performance.now();
    }
    return response;
  };
  const watch = () => {
    const answer = document.querySelector('%TARGET%');
    new MutationObserver(() => {
      const a = answer.dataset;
      if (!state.armed || a.state !== "answer" || a.renderedVersion !== a.requestedVersion) return;
      state.armed = false;
      const record = {lastMove: state.lastMove, up: state.up, fetchStart: state.fetchStart,
                      fetchEnd: state.fetchEnd, shown: performance.now()};
      requestAnimationFrame(() => { record.frame = performance.now(); state.done.push(record); });
    }).observe(answer, {attributes: true, attributeFilter: ["data-rendered-version"]});
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
"""


def start_server(weights: Path):
    from werkzeug.serving import make_server

    from app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    app = create_app({"WEIGHTS_PATH": str(weights)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


def draw(page, strokes, box) -> None:
    page.evaluate(f"window.__latency.strokesLeft = {len(strokes)}; window.__latency.armed = false")
    mouse = page.mouse
    for stroke in strokes:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        mouse.move(*points[0])
        mouse.down()
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            steps = max(1, round(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 / 6))
            mouse.move(x1, y1, steps=steps)
        mouse.up()


def wait_for_records(page, count: int, timeout: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = page.evaluate("window.__latency.done")
        if len(records) >= count:
            return records
        page.wait_for_timeout(5)
    raise TimeoutError(f"no answer on screen within {timeout} s (draw {count})")


# Main-thread trace events, by what a reader calls them. Some nest in others ("of which"), and
# style and layout run both inside frame updates and outside them, forced by script.
TRACED_WORK = {
    "rendering updates of frames (style, layout, paint)": "WebFrameWidgetImpl::UpdateLifecycle",
    "  of which paint, layerizing included": "LocalFrameView::RunPaintLifecyclePhase",
    "    of which layerizing (paint to the compositor)": "Layerize",
    "style and layout, in frames and forced by script": "LocalFrameView::UpdateStyleAndLayout",
    "script (event handlers, callbacks)": "FunctionCall",
}


def drawings(mode: str) -> list:
    """What each draw writes, in turn: a digit's strokes, or a number's."""
    if mode == "number":
        return [written_number(digits, NUMBER_PAD_ASPECT) for digits in NUMBERS]
    return [ONE, SEVEN, ZERO]


def traced_main_thread(browser, page, box, shapes, draws: int = 6) -> dict[str, float]:
    """Milliseconds of renderer main-thread work per draw, by TRACED_WORK, over ``draws``."""
    timeline = ["blink", "devtools.timeline", "disabled-by-default-devtools.timeline"]
    browser.start_tracing(page=page, categories=timeline)
    done = len(page.evaluate("window.__latency.done"))
    for i in range(draws):
        page.keyboard.press("Escape")
        draw(page, shapes[i % len(shapes)], box)
        wait_for_records(page, done + i + 1)
    events = json.loads(browser.stop_tracing())["traceEvents"]
    main = {(e["pid"], e["tid"]) for e in events
            if e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    total = collections.Counter()
    for event in events:
        if (event["pid"], event["tid"]) in main and event.get("ph") == "X":
            total[event["name"]] += event.get("dur", 0) / 1000
    return {label: total[name] / draws for label, name in TRACED_WORK.items()}


def percentile_90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = percentile_90(ordered)
    return (
        f"median {statistics.median(ordered):6.1f}  p90 {p90:6.1f}  "
        f"min {ordered[0]:6.1f}  max {ordered[-1]:6.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=30, help="number of digits drawn (≥ 20)")
    parser.add_argument("--url", help="measure a running server instead of starting one")
    parser.add_argument("--weights", type=Path, default=ROOT / "model" / "weights" / "digit_lens.npz")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--height", type=int, default=900,
                        help="viewport height in px (1280 wide); a page-tall one, e.g. 6000, puts every "
                             "part inside the network on screen, so each answer carries all their extras")
    parser.add_argument("--trace", action="store_true",
                        help="then trace six more draws: the page's main-thread time per draw, by kind")
    parser.add_argument("--mode", choices=sorted(MODES), default="digit",
                        help="one digit (the default) or a number (two digits side by side, /predict/number)")
    args = parser.parse_args(argv)
    draws = max(20, min(args.draws, 500))
    mode = MODES[args.mode]

    from playwright.sync_api import sync_playwright

    server = None
    url = args.url
    if url is None:
        if not args.weights.is_file():
            print(f"weights not found: {args.weights}", file=sys.stderr)
            return 2
        server, url = start_server(args.weights)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=args.chromium,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                ],
            )
            page = browser.new_page(viewport={"width": 1280, "height": args.height})
            page.add_init_script(PROBE.replace("%TARGET%", mode["target"]))
            page.goto(url.rstrip("/") + "/")
            page.wait_for_selector("#model-summary > *", state="attached")
            if args.mode == "number":
                page.get_by_role("radio", name="A number").check()
            box = page.get_by_test_id("draw-canvas").bounding_box()
            shapes = drawings(args.mode)
            draw(page, shapes[1], box)  # warm-up: first fetch, first canvas allocations
            wait_for_records(page, 1)
            page.evaluate("window.__latency.done = []")
            for i in range(draws):
                page.keyboard.press("Escape")
                draw(page, shapes[i % len(shapes)], box)
                wait_for_records(page, i + 1)
            records = page.evaluate("window.__latency.done")
            traced = traced_main_thread(browser, page, box, shapes) if args.trace else None
            browser.close()
    finally:
        if server is not None:
            server.shutdown()

    total = [r["shown"] - r["lastMove"] for r in records]
    rows = [
        ("last pointer move → prediction in the DOM", total),
        ("last pointer move → next frame painted", [r["frame"] - r["lastMove"] for r in records]),
        ("pointerup → prediction in the DOM", [r["shown"] - r["up"] for r in records]),
        ("  pointerup → fetch starts (PNG export)", [r["fetchStart"] - r["up"] for r in records]),
        ("  fetch (network + server)", [r["fetchEnd"] - r["fetchStart"] for r in records]),
        ("  response → DOM (JSON, maps, bars)", [r["shown"] - r["fetchEnd"] for r in records]),
    ]
    what = "numbers (17, 23, 50 in turn)" if args.mode == "number" else "draws (1, 7, 0 in turn)"
    print(f"Drawing page, {args.mode} mode, end to end on {url} — {len(records)} {what}, times in ms")
    for label, values in rows:
        print(f"  {label:<44} {summary(values)}")
    figure = statistics.median(total) if mode["figure"] == "median" else percentile_90(total)
    verdict = "meets" if figure <= mode["target_ms"] else "misses"
    print(f"{mode['figure']} {figure:.1f} ms {verdict} the {mode['target_ms']:.0f} ms target")
    if traced:
        print("Renderer main thread per drawn digit, traced over 6 more draws (ms):")
        for label, milliseconds in traced.items():
            print(f"  {label:<56} {milliseconds:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
