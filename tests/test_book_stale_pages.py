"""No stale pages: a change to what an executed page reads re-executes that page, and only it.

The execution cache keys a page's outputs on its code cells; ``course_page_inputs`` in
``_config.yml`` and book/_ext/course_book.py add the files each page reads to the key.
"""

import re
import shutil
import subprocess
import sys

import jupytext
import pytest
import yaml
from conftest import MYST_NOTEBOOK_HEADER, ROOT, jupyter_book

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_book import input_files  # noqa: E402  (the extension's own reading of the inputs)

# Each page prints what it read and a token drawn when it runs: a new token, a new execution.
CHAPTER = (
    MYST_NOTEBOOK_HEADER
    + """# A chapter

```{code-cell} ipython3
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path.cwd().parent))  # this book's resnet_ref, not the course's
import resnet_ref

print(f"read {resnet_ref.ANSWER}, run {uuid.uuid4().hex}")
```
"""
)
APPENDIX = (
    MYST_NOTEBOOK_HEADER
    + """# The assignments

```{code-cell} ipython3
import uuid
from pathlib import Path

notes = (Path.cwd().parent / "exercises" / "a1" / "notes.txt").read_text().strip()
print(f"read {notes}, run {uuid.uuid4().hex}")
```
"""
)
SHOWN = re.compile(r"read (\S+), run ([0-9a-f]{32})")


def course_page_inputs():
    """The course's declaration of what each executed page reads."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["sphinx"]["config"].get("course_page_inputs", {})


def small_book(root):
    """A book with the course's configuration and extension, a chapter and the assignments
    appendix (the page _config.yml says reads exercises/), and inputs for both to read."""
    for path in ["_config.yml", "book/_ext", "book/_static", "book/references.bib"]:
        source, target = ROOT / path, root / path
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/chapter\nchapters:\n  - file: book/appendix_assignments\n",
        encoding="utf-8",
    )
    (root / "book" / "chapter.md").write_text(CHAPTER, encoding="utf-8")
    (root / "book" / "appendix_assignments.md").write_text(APPENDIX, encoding="utf-8")
    (root / "resnet_ref").mkdir()
    (root / "resnet_ref" / "__init__.py").write_text("ANSWER = 1\n", encoding="utf-8")
    (root / "exercises" / "a1").mkdir(parents=True)
    (root / "exercises" / "a1" / "notes.txt").write_text("first\n", encoding="utf-8")


def build(root):
    """Build as ``python3 course.py book`` does, into the same folder each time (so with the
    same execution cache); return what each page shows: {page: (value read, run token)}."""
    result = subprocess.run(
        [jupyter_book(), "build", str(root), "-W", "-n", "--keep-going", "--all"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    shown = {}
    for page in ["chapter", "appendix_assignments"]:
        html = (root / "_build" / "html" / "book" / f"{page}.html").read_text(encoding="utf-8")
        match = SHOWN.search(html)
        assert match, f"{page}: its output is not on the page"
        shown[page] = match.groups()
    return shown


@pytest.mark.slow
def test_a_changed_input_re_executes_the_pages_that_read_it_and_only_those(tmp_path):
    """Three builds into one folder: the package changes, then the exercises."""
    small_book(tmp_path)
    first = build(tmp_path)
    assert first["chapter"][0] == "1" and first["appendix_assignments"][0] == "first"

    (tmp_path / "resnet_ref" / "__init__.py").write_text("ANSWER = 2\n", encoding="utf-8")
    second = build(tmp_path)
    assert second["chapter"][0] == "2", (
        f"stale page: resnet_ref now says 2, the chapter still shows {second['chapter'][0]}"
    )
    # Every executed page counts resnet_ref's modules as inputs.
    assert second["appendix_assignments"][1] != first["appendix_assignments"][1]

    (tmp_path / "exercises" / "a1" / "notes.txt").write_text("second\n", encoding="utf-8")
    third = build(tmp_path)
    assert third["appendix_assignments"][0] == "second", "stale page: the exercises changed"
    assert third["chapter"] == second["chapter"], "the chapter, which reads no exercise, ran again"


def test_every_page_that_reads_stored_runs_exercises_or_the_grader_declares_it():
    declared = course_page_inputs()
    missing = [name for names in declared.values() for name in names if not any(ROOT.glob(name))]
    assert not missing, f"course_page_inputs names what does not exist: {missing}"
    # What a page's code names -> what it then reads.
    reads = {f'"{run.name}"': f"book/results/{run.name}" for run in ROOT.glob("book/results/*/")}
    reads['"exercises"'] = "exercises"
    reads["resnet_ref.grading"] = "resnet_ref/grading"
    undeclared = []
    for page in sorted((ROOT / "book").glob("*.md")):
        notebook = jupytext.read(page, fmt="md:myst")
        code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        names = [*declared.get("*", []), *declared.get(f"book/{page.stem}", [])]
        covered = {file for name in names for file in input_files(ROOT, name)}
        undeclared += [
            f"book/{page.stem} reads {read}"
            for named, read in reads.items()
            if named in code and not set(input_files(ROOT, read)) <= covered
        ]
    assert not undeclared, "not in course_page_inputs (_config.yml): " + "; ".join(undeclared)
