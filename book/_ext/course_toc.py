"""Which pages of the book are its chapters: decided here, once, from ``_toc.yml``.

A chapter is a page of the table of contents whose file name starts with ``ch``: the preface
``ch00_preface`` and chapters 1 to 12, not the landing page or the appendices. A chapter is
executed, generated as a notebook for Colab and download, and linked to that notebook. The
notebook generator (``scripts/sync_notebooks.py``), the chapter runner
(``scripts/run_chapters.py``), the book's Sphinx extension (``course_book.py``) and the tests
all ask this module, so adding, renaming or reordering a chapter in ``_toc.yml`` is the only
change they need. Sphinx finds it beside the extension (``local_extensions`` in
``_config.yml``); the scripts and tests put ``book/_ext`` on ``sys.path``. Standard library and
PyYAML only, so that importing it costs nothing.
"""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]  # the book's root, where _toc.yml is
CHAPTER_PREFIX = "ch"


def toc_pages(root: Path = ROOT) -> list[str]:
    """The documents of ``root``'s table of contents (``book/ch01_cnns``), root first."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    # Jupyter Book's tables nest entries in parts, chapters and sections, in reading order.
    def visit(entries):
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                visit(entry.get(key, []))

    visit([{key: toc[key]} for key in ("parts", "chapters") if key in toc])
    return pages


def chapters(root: Path = ROOT) -> list[str]:
    """The chapters' documents (``book/ch00_preface``, ...), in the order of the book."""
    pages = toc_pages(root)[1:]  # the landing page is never a chapter, whatever its name
    return [page for page in pages if Path(page).name.startswith(CHAPTER_PREFIX)]
