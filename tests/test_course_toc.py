"""The book's one list of its chapters (book/_ext/course_toc.py) and the tools that ask it."""

import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from types import SimpleNamespace

from conftest import ROOT

import resnet_ref

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import course_book  # noqa: E402
import course_toc  # noqa: E402
from course_toc import chapters, toc_pages  # noqa: E402


def load_script(name):
    """A script of scripts/ as a module, without running its main()."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_toc(root, text):
    (root / "_toc.yml").write_text(text, encoding="utf-8")
    return root


def test_the_course_has_the_preface_and_twelve_chapters_in_order():
    names = [page.split("/")[-1] for page in chapters()]
    assert names[0] == "ch00_preface" and names[-1] == "ch12_summary"
    assert [name[:4] for name in names] == [f"ch{number:02d}" for number in range(13)]
    assert toc_pages()[0] == "book/intro"


def test_chapters_are_found_in_parts_chapters_and_sections_but_never_the_landing_page(tmp_path):
    write_toc(
        tmp_path,
        """format: jb-book
root: book/ch_landing
parts:
  - caption: One
    chapters:
      - file: book/ch01_first
        sections:
          - file: book/ch01b_inside
      - file: book/appendix_x
  - caption: Two
    chapters:
      - file: book/ch02_second
""",
    )
    assert chapters(tmp_path) == ["book/ch01_first", "book/ch01b_inside", "book/ch02_second"]
    write_toc(tmp_path, "format: jb-book\nroot: book/intro\nchapters:\n  - file: book/ch09_x\n")
    assert chapters(tmp_path) == ["book/ch09_x"]


def test_the_notebook_generator_and_the_chapter_runner_ask_course_toc(monkeypatch):
    sync, runner = load_script("sync_notebooks"), load_script("run_chapters")
    assert sync.chapter_sources() == runner.chapters() == [ROOT / f"{p}.md" for p in chapters()]
    monkeypatch.setattr(course_toc, "chapters", lambda root: ["book/ch13_new"])
    assert sync.chapter_sources() == runner.chapters() == [ROOT / "book" / "ch13_new.md"]


def test_the_book_links_the_chapters_of_the_toc_to_their_notebooks(tmp_path, caplog):
    write_toc(
        tmp_path,
        "format: jb-book\nroot: book/ch00_landing\nchapters:\n"
        "  - file: book/ch01_a\n  - file: book/ch02_b\n  - file: book/appendix_c\n",
    )
    notebooks = tmp_path / "book" / "notebooks"
    notebooks.mkdir(parents=True)
    for name in ["ch00_landing", "ch01_a", "appendix_c"]:  # ch02_b has none
        (notebooks / f"{name}.ipynb").write_text("{}", encoding="utf-8")
    app = SimpleNamespace(srcdir=str(tmp_path))
    assert course_book._chapter_notebook(app, "book/ch01_a") == notebooks / "ch01_a.ipynb"
    assert course_book._chapter_notebook(app, "book/ch00_landing") is None
    assert course_book._chapter_notebook(app, "book/appendix_c") is None
    assert not caplog.records
    assert course_book._chapter_notebook(app, "book/ch02_b") is None
    assert "chapter book/ch02_b has no generated notebook" in caplog.text


def test_no_chapter_defines_again_a_function_that_resnet_ref_has():
    """Helpers the chapters share (show_table, build_on_meta, ...) live in resnet_ref, once."""
    shared = {}
    for module in pkgutil.iter_modules(resnet_ref.__path__, "resnet_ref."):
        if module.name in ("resnet_ref.grading", "resnet_ref.__main__"):  # no page imports them
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            if inspect.isfunction(value) and value.__module__ == module.name:
                shared.setdefault(name, module.name)
    again = [
        f"{page}: def {name} (in {shared[name]})"
        for page in chapters()
        for name in re.findall(r"^def (\w+)\(", (ROOT / f"{page}.md").read_text(), re.MULTILINE)
        if name in shared and not name.startswith("_")
    ]
    assert not again, again
