"""Every page of the built book in a real browser, with the network blocked.

Headless Chromium (Debian's ``chromium``, driven by Playwright's Python package) opens each page
of the one session build (``built_book`` in tests/conftest.py), served from 127.0.0.1. Every
request to another host is refused and counted as a failure. On each page: no console errors or
uncaught exceptions, no failed requests, no broken images and none without alt text, math typeset
by MathJax where the page has math, outputs where the page has executed code cells, and every
embedded widget rendered; at a phone's width, no sideways scrolling and no formula cut off.
Full-page screenshots of two pages are decoded and compared with the page's layout: the title,
every figure and every widget must be painted where the DOM puts them. They go to the test's
temporary folder, and to ``$BOOK_SCREENSHOTS`` if set.
"""

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest
from browser import chromium, keep_offline, too_wide_for_a_phone
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.slow

# True once the preface's preset explorer shows the GPU preset's table.
SHOWS_GPU_TABLE = """() => [...document.querySelectorAll(".widget-subarea .widget-html-content")]
    .some((table) => table.innerText.includes("GPU preset"))"""
# Screenshot: the preface, which has widgets, and chapter 1, which has figures.
SCREENSHOT_PAGES = ["book/ch00_preface.html", "book/ch01_cnns.html"]
# Grey levels between the darkest and the lightest pixel of a region with text or a drawing in
# it; a region where nothing was painted has one colour.
INK = 100

# Waits in the page for what renders after load: images, MathJax, the widget manager.
VIEWS = 'script[type="application/vnd.jupyter.widget-view+json"]'
SETTLE = """
async () => {
  for (const img of document.images) { img.loading = "eager"; }
  const loaded = (img) => new Promise((done) => {
    img.addEventListener("load", done);
    img.addEventListener("error", done);
  });
  await Promise.all([...document.images].map((img) => img.complete ? null : loaded(img)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const views = document.querySelectorAll('VIEWS');
  for (let i = 0; i < 100; i++) {
    if (document.querySelectorAll(".widget-subarea").length >= views.length) break;
    await new Promise((done) => setTimeout(done, 100));
  }
}
""".replace("'VIEWS'", repr(VIEWS))

# What the page shows once settled.
INSPECT = """
() => {
  const views = document.querySelectorAll('VIEWS');
  const areas = [...document.querySelectorAll(".widget-subarea")];
  return {
    brokenImages: [...document.images]
      .filter((img) => !(img.complete && img.naturalWidth > 0))
      .map((img) => img.getAttribute("src")),
    imagesWithoutAlt: [...document.images]
      .filter((img) => !(img.getAttribute("alt") || "").trim())
      .map((img) => (img.getAttribute("src") || "").slice(0, 60)),
    mathSource: document.querySelectorAll(".math, span.math, div.math").length,
    mathRendered: document.querySelectorAll("mjx-container").length,
    mathErrors: document.querySelectorAll("mjx-merror").length,
    codeCells: document.querySelectorAll("div.cell").length,
    cellOutputs: document.querySelectorAll("div.cell_output").length,
    widgetViews: views.length,
    widgetAreas: areas.length,
    emptyWidgets: areas.filter((area) => area.childElementCount === 0
      || (area.offsetParent !== null && area.getBoundingClientRect().height === 0)).length,
    squeezedBars: [...document.querySelectorAll(".widget-hprogress")]
      .filter((bar) => bar.offsetParent !== null && bar.getBoundingClientRect().width < 100).length,
  };
}
""".replace("'VIEWS'", repr(VIEWS))

# What a reader looks at first, with its box in page coordinates (those of a full-page shot).
LANDMARKS = """
() => [...document.querySelectorAll("article h1, article img, .widget-subarea")]
  .filter((element) => element.offsetParent !== null)
  .map((element) => {
    const box = element.getBoundingClientRect();
    const text = (element.getAttribute("alt") || element.textContent).trim();
    return {
      what: `${element.tagName} ${text.slice(0, 50)}`,
      box: [box.left + scrollX, box.top + scrollY, box.right + scrollX, box.bottom + scrollY],
    };
  })
  .filter(({ box }) => box[2] > box[0] && box[3] > box[1])
"""
PAGE_SIZE = "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site without logging every request."""

    def log_message(self, format, *args):
        """Stay quiet."""


@pytest.fixture(scope="module")
def site(built_book):
    """Serve the built site on 127.0.0.1 for the module's tests; yield its base URL."""
    assert built_book.html.is_dir(), "the book was not built"
    handler = functools.partial(QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright."""
    with chromium() as browser:
        yield browser


def open_page(browser, site, relative):
    """Open one page offline; return the page, its findings and the problems seen on the way."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # The book theme reads its colour mode from localStorage and logs "Got invalid theme mode"
    # as a console error when a fresh profile has none; a reader's browser has one after the
    # first visit, so set it before any page script runs.
    context.add_init_script(
        "localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');"
    )
    problems = keep_offline(context, site)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.on(
        "requestfailed",
        lambda request: (
            None
            if not request.url.startswith(site)  # already reported by the route
            else problems.append(f"failed request: {request.url} ({request.failure})")
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    page.goto(site + relative, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.evaluate(SETTLE)
    found = page.evaluate(INSPECT)
    return context, page, found, problems


def check(found):
    """What is wrong with a settled page, judged by its findings."""
    wrong = []
    if found["brokenImages"]:
        wrong.append(f"broken images: {found['brokenImages']}")
    if found["imagesWithoutAlt"]:
        wrong.append(f"images without alt text: {found['imagesWithoutAlt']}")
    if found["mathSource"] and not found["mathRendered"]:
        wrong.append(f"{found['mathSource']} math elements, none typeset by MathJax")
    if found["mathErrors"]:
        wrong.append(f"{found['mathErrors']} MathJax errors")
    if found["codeCells"] and not found["cellOutputs"]:
        wrong.append(f"{found['codeCells']} code cells and not one output")
    if found["widgetAreas"] < found["widgetViews"]:
        wrong.append(f"{found['widgetViews']} widgets, {found['widgetAreas']} rendered")
    if found["emptyWidgets"]:
        wrong.append(f"{found['emptyWidgets']} widgets rendered empty")
    if found["squeezedBars"]:
        wrong.append(f"{found['squeezedBars']} progress bars squeezed under 100 px")
    return wrong


def test_every_page_renders_offline(built_book, site, browser):
    pages = [page.relative_to(built_book.html).as_posix() for page in built_book.pages()]
    assert len(pages) >= 17, pages  # intro, preface, 12 chapters, 3 appendices at least
    report, totals = [], {"mathRendered": 0, "cellOutputs": 0, "widgetAreas": 0}
    for relative in pages:
        context, page, found, problems = open_page(browser, site, relative)
        problems += too_wide_for_a_phone(page)
        context.close()
        for key in totals:
            totals[key] += found[key]
        report += [f"{relative}: {problem}" for problem in problems + check(found)]
    assert not report, "\n".join(report)
    # The book as a whole has typeset math, executed outputs and rendered widgets.
    assert all(totals.values()), totals


def test_a_widget_works_in_the_static_page(site, browser):
    """The preface's preset explorer: both tables are embedded; the buttons switch them."""
    context, page, found, problems = open_page(browser, site, "book/ch00_preface.html")
    try:
        assert not problems and not check(found), problems + check(found)
        tables = page.locator(".widget-subarea .widget-html-content")
        assert "CPU preset" in " ".join(tables.all_inner_texts())
        page.locator(".widget-toggle-button", has_text="gpu").first.click()
        # The widget manager redraws the table after the click: give it up to 5 s (a fixed
        # 300 ms was not always enough on a busy two-core machine).
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(SHOWS_GPU_TABLE, timeout=5000)
        assert "GPU preset" in " ".join(tables.all_inner_texts())
    finally:
        context.close()


def contrast(image, box) -> int:
    """Grey levels between the darkest and the lightest pixel of ``box`` in ``image``."""
    low, high = image.crop([round(edge) for edge in box]).convert("L").getextrema()
    return high - low


def test_screenshots_show_the_title_figures_and_widgets(site, browser, tmp_path):
    folders = [tmp_path]
    if os.environ.get("BOOK_SCREENSHOTS"):
        folders.append(Path(os.environ["BOOK_SCREENSHOTS"]))
    kinds = set()
    for relative in SCREENSHOT_PAGES:
        context, page, found, problems = open_page(browser, site, relative)
        try:
            size, landmarks = page.evaluate(PAGE_SIZE), page.evaluate(LANDMARKS)
            shot = tmp_path / (Path(relative).stem + ".png")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            context.close()
        with Image.open(shot) as image:
            assert list(image.size) == size, f"{relative}: a shot of {image.size}, page {size}"
            blank = [mark["what"] for mark in landmarks if contrast(image, mark["box"]) < INK]
        assert not blank, f"{relative}: nothing painted where the page shows {blank}"
        kinds |= {mark["what"].split()[0] for mark in landmarks}
        for folder in folders[1:]:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, folder / shot.name)
    assert {"H1", "IMG", "DIV"} <= kinds, kinds  # titles, figures and widgets were looked at
