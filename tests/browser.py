"""One way for the tests to look at a page: Debian's headless chromium, through Playwright.

The book, the class report, the feedback pages, Formgrader and the learner's JupyterLab must
all work offline: :func:`keep_offline` lets a browser context reach one site and records (and
refuses) every other request.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium():
    """Headless Debian chromium, closed afterwards; the test fails if it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing (python3 course.py test installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def keep_offline(context, site: str) -> list[str]:
    """Let the browser ``context`` load what ``site`` serves and nothing else; return the list
    in which every refused request is recorded."""
    problems: list[str] = []

    def route(route):
        if route.request.url.startswith(site):
            route.continue_()
        else:
            problems.append(f"request to another host: {route.request.url}")
            route.abort()

    context.route("**/*", route)
    return problems
