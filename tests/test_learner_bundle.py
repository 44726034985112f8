"""The learner bundle (``autograder/learner_bundle.py``): what learners get, and what they don't.

The bundle is built once per session (``learner_output`` in tests/conftest.py), by running the
module as ``python3 course.py release`` does, into a temporary folder. It must hold the released
notebooks byte for byte, the reference package and the setup files, and nothing of the
instructor's: no solution, hidden test or mark scheme text, no grading code, no gradebook, no
nbgrader.
"""

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from grading_support import EXERCISES, SOLUTIONS, Assignment, hidden_test_lines

from autograder import learner_bundle
from resnet_ref.presets import stored_gpu_results

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = {
    "README.md",
    "exercises",
    "notebooks",
    "pyproject.toml",
    "requirements.txt",
    "resnet_ref",
    "results",
}
CHAPTERS = ROOT / "book" / "notebooks"
FORBIDDEN_PARTS = ("solutions", "autograder", "gradebook")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)(\s*;\s*\S.*)?$")


def squash(text: str) -> str:
    """Whitespace-normalised text, so that indentation and line breaks do not matter."""
    return " ".join(text.split())


def readable(path: Path) -> str:
    """A file's text as a learner reads it: a notebook's cell sources and outputs, decoded."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return text
    parts = []
    for cell in json.loads(text)["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append(json.dumps(output, ensure_ascii=False))
    return "\n".join(parts)


def solution_notebooks() -> list[Path]:
    return sorted(SOLUTIONS.glob("*/*.ipynb"))


def released_text() -> str:
    """Everything in exercises/: what learners are meant to read."""
    return " ".join(squash(readable(p)) for p in sorted(EXERCISES.glob("*/*.ipynb")))


def region_lines(begin: str, end: str) -> list[tuple[str, str]]:
    """(notebook, line) for every line between the markers in the instructor's notebooks.

    The notebooks are read as ``solutions/<a>/<name>.ipynb``, which ``course.py release``
    generates from ``<name>.pct.py`` (and checks); cell sources carry no ``# `` prefixes there.
    """
    found = []
    for notebook in solution_notebooks():
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            pattern = re.escape(begin) + r"(.*?)" + re.escape(end)
            for region in re.findall(pattern, source, re.S):
                for line in region.splitlines():
                    line = squash(line)
                    if line:
                        found.append((str(notebook.relative_to(ROOT)), line))
    return found


def secret(lines: list[tuple[str, str]], public: str, shortest: int) -> list[tuple[str, str]]:
    """The lines a learner could not have read anywhere: not in the release, not trivial."""
    return [(nb, line) for nb, line in lines if len(line) >= shortest and line not in public]


@pytest.fixture(scope="module")
def bundle(learner_output) -> Path:
    return learner_output / learner_bundle.NAME


@pytest.fixture(scope="module")
def files(bundle) -> dict[str, Path]:
    return {p.relative_to(bundle).as_posix(): p for p in sorted(bundle.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def texts(files) -> dict[str, str]:
    return {name: squash(readable(path)) for name, path in files.items()}


def leaks(texts: dict[str, str], lines, skip=()) -> list[str]:
    return [
        f"{name}: {line!r} (from {notebook})"
        for notebook, line in lines
        for name, text in texts.items()
        if line in text and not name.startswith(skip)
    ]


def test_top_level_entries_are_exactly_the_learners(bundle):
    assert {p.name for p in bundle.iterdir()} == TOP_LEVEL


def test_every_released_notebook_is_there_byte_for_byte(bundle, files):
    released = sorted(p.relative_to(ROOT).as_posix() for p in EXERCISES.glob("*/*.ipynb"))
    assert released, "no notebooks in exercises/"
    assert sorted(n for n in files if n.startswith("exercises/")) == released
    for name in released:
        assert (bundle / name).read_bytes() == (ROOT / name).read_bytes(), name


def test_a_data_file_released_with_an_assignment_reaches_the_bundle(tmp_path):
    # An instructor's own assignment ships a table its notebook reads: nbgrader releases it
    # beside the notebook, and a bundle without it would fail in the learner's first cell.
    exercises = tmp_path / "exercises"
    (exercises / "a7_sizes" / "data").mkdir(parents=True)
    (exercises / "a7_sizes" / "sizes.ipynb").write_text("{}")
    (exercises / "a7_sizes" / "data" / "sizes.csv").write_text("size,kernel\n32,3\n")
    (exercises / "a7_sizes" / ".ipynb_checkpoints").mkdir()
    (exercises / "a7_sizes" / ".ipynb_checkpoints" / "sizes-checkpoint.ipynb").write_text("{}")
    learner_bundle.copy_exercises(tmp_path / "bundle", exercises)
    copied = tmp_path / "bundle" / "exercises" / "a7_sizes"
    assert sorted(p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()) == [
        "data/sizes.csv",
        "sizes.ipynb",
    ]


def test_every_chapter_notebook_is_there_byte_for_byte(files):
    chapters = sorted(CHAPTERS.glob("*.ipynb"))
    assert len(chapters) == 13
    assert sorted(n for n in files if n.startswith("notebooks/")) == [
        f"notebooks/{p.name}" for p in chapters
    ]
    for chapter in chapters:
        assert files[f"notebooks/{chapter.name}"].read_bytes() == chapter.read_bytes()


def test_the_stored_gpu_runs_are_there_where_the_chapter_notebooks_look(bundle, files, monkeypatch):
    stored = ROOT / "book" / "results"
    runs = sorted(p.relative_to(stored).as_posix() for p in stored.rglob("*.json"))
    assert "ch02_gpu/resnet56/history.json" in runs
    assert sorted(n.removeprefix("results/") for n in files if n.startswith("results/")) == runs
    for name in runs:
        assert files[f"results/{name}"].read_bytes() == (stored / name).read_bytes(), name
    # A chapter opened in the bundle's JupyterLab runs from notebooks/.
    monkeypatch.chdir(bundle / "notebooks")
    assert (stored_gpu_results() / "ch02_gpu" / "resnet56" / "history.json").is_file()


def test_the_chapters_install_resnet_ref_from_the_bundle(learner_output, tmp_path):
    # A chapter's first cell (on Colab) pip-installs "<project> @ git+<published bundle>": the
    # project must be the bundle's, and pip must install resnet_ref, and only it, from the bundle.
    first = json.loads((CHAPTERS / "ch04_blocks.ipynb").read_text(encoding="utf-8"))["cells"][0]
    requirement = re.search(r'%pip install --quiet "([^"]+)"', "".join(first["source"])).group(1)
    assert requirement.startswith(f"{learner_bundle.PROJECT} @ git+https://github.com/")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + ["--no-deps", "--no-build-isolation", "--target", tmp_path / "site"]
        + [learner_output / f"{learner_bundle.NAME}.zip"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    installed = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert installed == ["resnet_ref", "resnet_ref-0.1.0.dist-info"], installed
    assert (tmp_path / "site" / "resnet_ref" / "grading" / "checks.py").is_file()


def test_resnet_ref_is_the_package_source_only(files):
    package = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "resnet_ref").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    shipped = sorted(n for n in files if n.startswith("resnet_ref/"))
    assert "resnet_ref/__init__.py" in shipped
    assert "resnet_ref/grading/__init__.py" in shipped  # the visible test cells call its checks
    assert [n for n in shipped if n.endswith(".py")] == package
    assert not [n for n in shipped if "__pycache__" in n or n.endswith(".pyc")]
    for name in package:
        assert files[name].read_bytes() == (ROOT / name).read_bytes(), name


def test_no_instructor_paths(files):
    bad = [n for n in files if any(part in n.lower() for part in FORBIDDEN_PARTS)]
    assert not bad
    assert not [n for n in files if n.startswith(("tests/", "solutions/", "autograder/"))]
    assert not [n for n in files if n.endswith((".db", ".pct.py", ".csv", ".log"))]


def test_no_hidden_test_lines(texts):
    lines = []
    for notebook in solution_notebooks():
        assignment = Assignment(notebook.parent.name, [notebook.stem])
        lines += [(str(notebook), line) for line in hidden_test_lines(assignment, notebook.stem)]
    assert lines, "found no hidden tests in solutions/: the check would check nothing"
    assert not leaks(texts, lines)


def test_no_mark_scheme_lines(texts):
    lines = region_lines("### BEGIN MARK SCHEME", "### END MARK SCHEME")
    assert lines, "found no mark schemes in solutions/: the check would check nothing"
    assert not leaks(texts, secret(lines, released_text(), shortest=12))


def test_no_solution_lines(texts):
    """No solution line outside resnet_ref/, whose source is the course's public reference.

    ``resnet_ref`` is what the book documents and what the test cells compare with, so it
    necessarily does what the solutions do, in places with the same lines (checked above to be
    the repository's package, byte for byte). The same holds for notebooks/, the chapters of
    the published book, which teach the code the exercises ask for (tests/test_book_leaks.py
    checks the book for the solutions' distinctive lines). Everything else must hold none: a
    line counts when it is found nowhere in exercises/ and is not trivially short.
    """
    lines = region_lines("### BEGIN SOLUTION", "### END SOLUTION")
    assert lines, "found no solutions in solutions/: the check would check nothing"
    found = secret(lines, released_text(), shortest=16)
    assert found
    assert not leaks(texts, found, skip=("resnet_ref/", "notebooks/"))


def test_requirements_are_exact_pins_without_nbgrader(files):
    lines = files["requirements.txt"].read_text(encoding="utf-8").splitlines()
    pins = [line for line in lines if line.strip() and not line.startswith("#")]
    assert pins
    names = []
    for line in pins:
        match = PIN.match(line)
        assert match, f"not an exact pin: {line!r}"
        names.append(match.group(1).lower().replace("_", "-"))
    assert len(names) == len(set(names))
    needed = ("torch", "torchvision", "jupyterlab", "ipywidgets", "myst-nb", "numpy")
    for package in (*needed, "scikit-learn"):
        assert package in names, package
    for forbidden in ("nbgrader", "resnet-course", "jupyter-book", "pytest", "ruff"):
        assert forbidden not in names


def test_pyproject_installs_resnet_ref_only(files):
    project = tomllib.loads(files["pyproject.toml"].read_text(encoding="utf-8"))
    assert project["project"]["name"] == "resnet-ref"
    assert project["tool"]["setuptools"]["packages"] == ["resnet_ref", "resnet_ref.grading"]
    assert set(project["project"]["dependencies"]) == set(learner_bundle.RUNTIME)


def test_readme_says_how_to_set_up_and_names_every_assignment(files):
    text = files["README.md"].read_text(encoding="utf-8")
    for command in (
        "python3 -m venv .venv",
        ".venv/bin/pip install -r requirements.txt",
        ".venv/bin/pip install --no-deps -e .",
        ".venv/bin/jupyter lab exercises/",
    ):
        assert command in text
    for folder in sorted(p for p in EXERCISES.iterdir() if p.is_dir()):
        assert f"exercises/{folder.name}/" in text
    assert "formgrader" not in text.lower()


def test_zip_holds_the_same_files(learner_output, bundle, files):
    with zipfile.ZipFile(learner_output / f"{learner_bundle.NAME}.zip") as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        prefix = f"{learner_bundle.NAME}/"
        assert all(n.startswith(prefix) for n in names)
        assert sorted(n[len(prefix) :] for n in names) == sorted(files)
        for name in names:
            assert archive.read(name) == files[name[len(prefix) :]].read_bytes(), name
