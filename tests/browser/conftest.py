"""Browser fixtures: Debian's chromium through pytest-playwright, the app on a real server.

Every test gets a ``digit_page`` (a ``DigitPage`` around pytest-playwright's ``page``, see
harness/browser.py) that records console errors, page errors, CSP violations and failed
requests, and fails the test at teardown if any happened (a test that provokes a server error
allows those it expects).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.browser import DESKTOP, DigitPage, LiveServer
from harness.ci import skip_or_fail
from model import checkpoint


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium_path) -> dict:
    """Launch Debian's chromium (Playwright's own browser download is not needed)."""
    return {
        **browser_type_launch_args,
        "executable_path": str(chromium_path),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args) -> dict:
    return {**browser_context_args, "viewport": DESKTOP}


@pytest.fixture(scope="session")
def tiny_server(tiny_weights) -> Iterator[LiveServer]:
    """The app with the untrained tiny model: for the page's mechanics."""
    server = LiveServer(tiny_weights)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trained_server() -> Iterator[LiveServer]:
    """The app with the committed trained weights: for reading digits."""
    if not checkpoint.DEFAULT_WEIGHTS.is_file():
        skip_or_fail(f"trained weights {checkpoint.DEFAULT_WEIGHTS} are not there (train and commit them)")
    server = LiveServer(checkpoint.DEFAULT_WEIGHTS)
    yield server
    server.stop()


@pytest.fixture
def digit_page(page) -> Iterator[DigitPage]:
    """The page helper; fails the test if the page logged errors or broke its CSP."""
    helper = DigitPage(page)
    yield helper
    problems = helper.problems()
    assert not problems, "the page logged errors:\n" + json.dumps(problems, indent=1)
