"""Generate book/notebooks/<chapter>.ipynb from the chapters' MyST Markdown sources.

The chapters are written as MyST Markdown notebooks (``book/chNN_*.md``). Colab, and most
notebook editors without jupytext, open only ``.ipynb`` files, so every chapter also exists as a
generated notebook in ``book/notebooks/``: the same cells, no outputs, and a first cell that
installs the course's package when it is missing (as on Colab). The book links each chapter page
to its notebook on Colab and offers the notebook for download.

Run it with the course's environment::

    .venv/bin/python scripts/sync_notebooks.py          # write the notebooks
    .venv/bin/python scripts/sync_notebooks.py --check  # exit 1 if any is out of date

``python3 course.py book`` runs it before building. Colab opens the notebooks, and their first
cell installs ``resnet_ref``, from where the learner bundle is published: ``repository.url`` in
``_config.yml``, a repository whose root is the bundle (``autograder/learner_bundle.py``, which
copies these notebooks to its ``notebooks/``). The course's own repository holds the solutions
and is never that address.
"""

import argparse
import hashlib
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

from autograder import learner_bundle

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = BOOK / "notebooks"
sys.path.insert(0, str(BOOK / "_ext"))
import course_toc  # noqa: E402  (which pages are chapters: book/_ext/course_toc.py decides)

# Packages a chapter imports beyond resnet_ref's own dependencies (glue comes from MyST-NB).
EXTRA_PACKAGES = ["myst-nb<2", "ipywidgets"]
INSTALL_CELL = """\
# Installs what the chapter needs when it is missing, as on Colab: the course's package
# resnet_ref from the learners' repository; MyST-NB (whose `glue` the chapter uses) and
# ipywidgets from PyPI. Where the course is set up (`python3 course.py setup`), this cell does
# nothing. On Colab, choose Runtime -> Change runtime type -> GPU for the GPU preset.
try:
    import resnet_ref  # noqa: F401
except ImportError:
    %pip install --quiet "{requirement}"
try:
    import ipywidgets  # noqa: F401
    import myst_nb  # noqa: F401
except ImportError:
    %pip install --quiet {extras}
# %pip reports a failed install without raising: stop here, with the reason, rather than at
# the chapter's first import.
try:
    import resnet_ref  # noqa: F401
    import ipywidgets  # noqa: F401
    import myst_nb  # noqa: F401
except ImportError as error:
    source = ("{url}"
              ", which must be the published learners' copy of the course (ask your instructor)"
              if error.name == "resnet_ref" else "PyPI")
    raise RuntimeError(f"{{error.name}} could not be installed from {{source}}; pip's message "
                       "is above") from error"""


def book_config():
    """The book's _config.yml as a dict."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def chapter_sources():
    """The chapters' source files, in the order of _toc.yml."""
    return [ROOT / f"{name}.md" for name in course_toc.chapters(ROOT)]


def package_requirement(config):
    """The pip requirement that installs resnet_ref from the published learner bundle."""
    repository = config["repository"]
    url = repository["url"].rstrip("/")
    branch = repository.get("branch", "main")
    return f"{learner_bundle.PROJECT} @ git+{url}@{branch}"


def notebook_for(source, config):
    """The generated notebook of one chapter, as the text of an .ipynb file."""
    notebook = jupytext.read(source, fmt="md:myst")
    notebook.metadata.pop("jupytext", None)
    extras = " ".join(f'"{package}"' for package in EXTRA_PACKAGES)
    install = nbformat.v4.new_code_cell(
        INSTALL_CELL.format(
            requirement=package_requirement(config), extras=extras, url=config["repository"]["url"]
        )
    )
    notebook.cells.insert(0, install)
    stem = source.stem
    for index, cell in enumerate(notebook.cells):
        # Stable cell ids, so that regenerating an unchanged chapter changes nothing.
        digest = hashlib.sha1(f"{stem}:{index}:{cell.source}".encode()).hexdigest()[:12]
        cell["id"] = f"{stem[:40]}-{digest}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def expected_notebooks():
    """Map each notebook path under book/notebooks/ to the text it should have."""
    config = book_config()
    return {
        NOTEBOOKS / f"{source.stem}.ipynb": notebook_for(source, config)
        for source in chapter_sources()
        if source.is_file()
    }


def out_of_date(expected):
    """Paths that differ from what they should be, and stale notebooks of no chapter."""
    wrong = [
        path
        for path, text in expected.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    stale = [path for path in sorted(NOTEBOOKS.glob("*.ipynb")) if path not in expected]
    return wrong, stale


def main(argv=None):
    """Write (or with --check, verify) every chapter's generated notebook."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook is out of date"
    )
    args = parser.parse_args(argv)
    expected = expected_notebooks()
    wrong, stale = out_of_date(expected)
    if args.check:
        for path in wrong:
            print(f"out of date: {path.relative_to(ROOT)}")
        for path in stale:
            print(f"no chapter for: {path.relative_to(ROOT)}")
        if wrong or stale:
            print("regenerate them: python3 course.py notebooks")
            return 1
        print(f"{len(expected)} chapter notebooks are in sync")
        return 0
    NOTEBOOKS.mkdir(exist_ok=True)
    for path in wrong:
        path.write_text(expected[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        path.unlink()
        print(f"removed {path.relative_to(ROOT)}")
    print(f"{len(expected)} chapter notebooks in {NOTEBOOKS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
