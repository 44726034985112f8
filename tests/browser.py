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


# A phone's width in CSS pixels, at which every page is looked at, and the smallest phone's.
PHONE_WIDTH = 390
SMALLEST_PHONE = 320
# Inline math that the theme cut off (it clips span.math): more than a glyph's overhang hidden.
CLIPPED = 8
# What does not fit a phone's width: the page scrolls sideways, or a formula is cut off.
TOO_WIDE = """
(clipped) => ({
  pageWidth: document.documentElement.scrollWidth,
  // The typeset formula (mjx-math) against its box; scrollWidth would count MathJax's hidden
  // copy for screen readers too.
  clippedMath: [...document.querySelectorAll("span.math")]
    .filter((math) => {
      const typeset = math.querySelector("mjx-math");
      return typeset && getComputedStyle(math).overflowX === "hidden"
        && typeset.getBoundingClientRect().width - math.getBoundingClientRect().width > clipped;
    })
    .map((math) => math.textContent.slice(0, 40)),
})
"""


def phone(width: int = PHONE_WIDTH, **options) -> dict:
    """Options of a browser context that acts as a phone ``width`` px wide: it lays a page out
    at the width the page's viewport tag asks for (980 px where there is none), as phones do."""
    screen = {"viewport": {"width": width, "height": 800}, "is_mobile": True, "has_touch": True}
    return screen | options


def too_wide_for_a_phone(page, width: int = PHONE_WIDTH) -> list[str]:
    """What of a settled page does not fit a phone ``width`` px wide (the page is resized to
    it and stays so)."""
    page.set_viewport_size({"width": width, "height": 800})
    found = page.evaluate(TOO_WIDE, CLIPPED)
    wrong = []
    if found["pageWidth"] > width:
        wrong.append(f"{found['pageWidth']} px wide at {width} px: it scrolls sideways")
    if found["clippedMath"]:
        wrong.append(f"math cut off at {width} px: {found['clippedMath']}")
    return wrong


# WCAG's lowest contrast ratio for body text between its colour and the colour behind it.
READABLE = 4.5
# Each visible piece of text whose colour is too close to the colour behind it (the nearest
# opaque background of an ancestor, else the canvas's).
FAINT_TEXT = """
(least) => {
  const rgb = (colour) => (colour.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const canvas = getComputedStyle(document.documentElement).colorScheme.includes("dark")
    ? [18, 18, 18] : [255, 255, 255];
  const behind = (element) => {
    for (let at = element; at; at = at.parentElement) {
      const colour = rgb(getComputedStyle(at).backgroundColor);
      if (colour.length === 3 || colour[3] > 0.5) return colour.slice(0, 3);
    }
    return canvas;
  };
  const faint = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!node.textContent.trim() || !element.checkVisibility()) continue;
    const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(behind(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < least) faint.push(`${node.textContent.trim().slice(0, 40)} (${ratio.toFixed(1)})`);
  }
  return faint;
}
"""


def faint_text(page) -> list[str]:
    """The visible text of ``page`` that does not stand out from what is behind it."""
    return page.evaluate(FAINT_TEXT, READABLE)
