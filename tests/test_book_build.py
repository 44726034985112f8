"""The real Jupyter Book build of the whole course: strict, complete, and with no CDN scripts.

The book is built once per session by the ``built_book`` fixture (tests/conftest.py).
"""

import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import MYST_NOTEBOOK_HEADER, ROOT, jupyter_book

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_toc import chapters, toc_pages  # noqa: E402  (what _toc.yml lists, read once)

pytestmark = pytest.mark.slow

# Any element attribute that makes the browser fetch from another host on page load.
REMOTE_LOAD = re.compile(
    r"<(?:script|img|link|iframe|source|video|audio)\b[^>]*\b(?:src|href)=[\"']?(?:https?:)?//",
    re.IGNORECASE,
)


PAGE_HEADER = MYST_NOTEBOOK_HEADER + "# A page\n\n"


BIBLIOGRAPHY = "\n```{bibliography}\n```\n"


def test_book_builds_strictly(built_book):
    # Sphinx's warnings ("<where>: WARNING: <what>"), not the kernels' log lines
    # ("[IPKernelApp] WARNING | ...") that jupyter-cache passes through.
    warnings = [line for line in built_book.log.splitlines() if "WARNING:" in line]
    assert built_book.returncode == 0, (
        "strict book build failed (warnings are errors):\n"
        + "\n".join(warnings[:50])
        + f"\n--- end of the log ---\n{built_book.log[-4000:]}"
    )
    assert not warnings, "\n".join(warnings)


def test_every_page_of_the_toc_is_built_and_executed(built_book):
    for docname in toc_pages():
        page = built_book.html / f"{docname}.html"
        assert page.is_file(), f"{docname}: no page built"
    # No notebook failed (MyST-NB writes a report for each failure).
    reports = sorted((built_book.html / "reports").rglob("*.log"))
    assert not reports, "cells failed: " + ", ".join(str(r.name) for r in reports)


def test_mathjax_and_widgets_are_served_locally(built_book):
    html = built_book.html
    intro_text = (html / "book" / "intro.html").read_text(encoding="utf-8")
    assert 'src="../_static/mathjax/tex-chtml.js"' in intro_text, "MathJax is not served locally"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()

    preface = (html / "book" / "ch00_preface.html").read_text(encoding="utf-8")
    assert 'src="../_static/widgets/embed.js' in preface, "the widget manager is not local"
    assert (html / "_static" / "widgets" / "embed.js").is_file()
    state = re.search(
        r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', preface, re.S
    )
    assert state, "the preface's executed notebook stored no widget state"
    assert json.loads(state.group(1))["state"], "the stored widget state is empty"


def test_no_page_loads_anything_from_another_host(built_book):
    remote = [
        f"{page.relative_to(built_book.html)}: {match.group(0)}"
        for page in built_book.pages()
        for match in REMOTE_LOAD.finditer(page.read_text(encoding="utf-8"))
    ]
    assert not remote, "pages load files from another host:\n" + "\n".join(remote)


@pytest.mark.parametrize(
    "tag, remote",
    [
        # Sphinx's and MyST-NB's defaults, which this book replaces by files of its own.
        ('<script async="async" src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/x.js">', True),
        ("<script src='https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/r.js'>", True),
        ("<link rel=stylesheet href=//fonts.googleapis.com/css?family=Lato>", True),
        ('<IMG SRC="http://example.org/figure.png">', True),
        ('<script src="../_static/mathjax/tex-chtml.js">', False),
        ('<img src="../_images/figure.png">', False),
        ('<a href="https://github.com/resnet-course">', False),  # a link is followed, not loaded
    ],
)
def test_the_remote_load_pattern_tells_remote_from_local(tag, remote):
    """The page check above can fail only if its pattern finds what a page would load."""
    assert bool(REMOTE_LOAD.search(tag)) == remote


def test_chapters_link_to_colab_and_to_their_notebook(built_book):
    repository = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    owner_repo = repository["url"].removeprefix("https://github.com/").rstrip("/")
    assert len(chapters()) == 13
    for docname in chapters():
        name = docname.split("/")[-1]
        page = (built_book.html / f"{docname}.html").read_text(encoding="utf-8")
        colab = (
            f"https://colab.research.google.com/github/{owner_repo}/blob/"
            f"{repository['branch']}/notebooks/{name}.ipynb"
        )
        assert f'href="{colab}"' in page, f"{name}: no Colab link to {colab}"
        assert f'href="../notebooks/{name}.ipynb"' in page, f"{name}: no download link"
        download = built_book.html / "notebooks" / f"{name}.ipynb"
        assert download.is_file(), f"{name}: the notebook is not in the built site"
        assert json.loads(download.read_text(encoding="utf-8"))["cells"]
    intro = (built_book.html / "book" / "intro.html").read_text(encoding="utf-8")
    assert "colab.research.google.com" not in intro, "only chapters get launch links"


def test_stored_gpu_runs_are_drawn_and_quoted_by_their_chapters(built_book):
    # Every stored run the chapters read: its GPU and final errors must reach the page, as
    # figures of the stored histories, not of the live CPU runs.
    results = ROOT / "book" / "results"
    for chapter, runs in [
        ("ch02_degradation", "ch02_gpu/*"),
        ("ch08_training", "ch08_gpu/resnet20"),
    ]:
        page = (built_book.html / "book" / f"{chapter}.html").read_text(encoding="utf-8")
        stored = sorted(results.glob(f"{runs}/manifest.json"))
        assert stored, f"no stored runs for {chapter}"
        for manifest_file in stored:
            manifest = json.loads(manifest_file.read_text())
            history = json.loads((manifest_file.parent / "history.json").read_text())
            shown = f"Trained on {manifest['gpu']} with torch {manifest['torch']}"
            assert shown in page, f"{chapter}: the GPU of {manifest['run']} is not shown"
            test_error = f"{history[-1]['test_error']:.2%}"
            assert test_error in page, f"{chapter}: {manifest['run']}'s {test_error} is not shown"
        figure = "fig-ch2-gpu" if chapter.startswith("ch02") else "fig-ch8-gpu"
        assert re.search(rf'id="{figure}".*?<img', page, re.S), f"{chapter}: no figure"


@pytest.mark.parametrize(
    "defect, body",
    [
        (None, "```{code-cell} ipython3\nprint(1)\n```\n\n{cite:p}`he2016deep`\n" + BIBLIOGRAPHY),
        ("cell error", "```{code-cell} ipython3\nraise ValueError('boom')\n```\n"),
        ("broken reference", "See {ref}`no-such-label`.\n"),
        ("missing glue key", "The value is {glue:text}`no_such_key`.\n"),
        ("unknown citation", "As shown by {cite:p}`no_such_paper`.\n" + BIBLIOGRAPHY),
    ],
)
def test_the_course_configuration_fails_the_build_on(defect, body, tmp_path):
    """A one-page book with the course's _config.yml: each defect alone fails the build.

    The case without a defect shows that the page itself builds, so each failure is the defect's.
    """
    for path in ["_config.yml", "book/_ext", "book/_static", "book/references.bib"]:
        source, target = ROOT / path, tmp_path / path
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/page\n", encoding="utf-8")
    (tmp_path / "book" / "page.md").write_text(PAGE_HEADER + body, encoding="utf-8")
    result = subprocess.run(
        [jupyter_book(), "build", str(tmp_path), "-W", "-n", "--keep-going", "--all"],
        capture_output=True,
        text=True,
    )
    if defect is None:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    else:
        assert result.returncode != 0, f"the build passed despite a {defect}"
        assert "WARNING" in result.stdout + result.stderr
