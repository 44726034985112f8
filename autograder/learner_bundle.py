"""The learners' distribution of the course: exercises, the reference package, pinned setup.

Learners never get this repository: ``solutions/`` (answers, hidden tests, mark schemes), the
gradebook and the instructor's grading code stay with the instructor. What they get is a
bundle, written by ``python3 course.py release`` (which runs this module after checking
``exercises/``)::

    .venv/bin/python -m autograder.learner_bundle OUTDIR

writes ``OUTDIR/resnet-course-learner/`` and ``OUTDIR/resnet-course-learner.zip`` holding

- ``exercises/<assignment>/``, byte for byte what was released: the notebooks, and any data
  file an assignment ships beside them;
- ``notebooks/<chapter>.ipynb``, byte for byte the book's chapters as notebooks
  (``book/notebooks/``), which the book's "Open in Colab" links open from where the bundle is
  published (``repository.url`` in ``_config.yml``);
- ``results/``, the GPU runs stored with the book (``book/results/``: every run's
  ``history.json`` and ``manifest.json``), which those notebooks draw as ``../results``;
- ``resnet_ref/``, the reference package the notebooks' setup and test cells import (its
  ``*.py`` files and package data, nothing else);
- ``pyproject.toml``, which installs ``resnet_ref`` alone (:data:`PROJECT`), so that
  ``pip install "resnet-ref @ git+<published address>"`` works, as the chapters' first cell does;
- ``requirements.txt``, exact pins of what a learner needs, taken from the instructor's
  ``.venv``: the dependency closure of :data:`LEARNER_PACKAGES`, which leaves out nbgrader, so
  a learner's JupyterLab has no Formgrader;
- ``README.md``, how to set up, what each assignment is and how to hand in.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import sys
import tomllib
import zipfile
from collections import deque
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
CHAPTERS = ROOT / "book" / "notebooks"
STORED_RESULTS = ROOT / "book" / "results"
PACKAGE = ROOT / "resnet_ref"
NAME = "resnet-course-learner"
PROJECT = "resnet-ref"  # the bundle's pip project: resnet_ref alone
# What resnet_ref needs at run time (the course's pyproject.toml says the same).
RUNTIME = ("torch", "torchvision", "tqdm", "matplotlib", "numpy", "scikit-learn")
# What a learner installs: the runtime, plus JupyterLab, the widgets the notebooks show and
# MyST-NB, whose glue the chapters' notebooks call to show their figures in the book.
LEARNER_PACKAGES = (*RUNTIME, "jupyterlab", "ipywidgets", "myst-nb")
# Instructor-only packages that must never reach a learner's environment.
FORBIDDEN = ("nbgrader",)
# The bundle's top-level entries; nothing else is written.
TOP_LEVEL = (
    "README.md",
    "exercises",
    "notebooks",
    "pyproject.toml",
    "requirements.txt",
    "resnet_ref",
    "results",
)
# A fixed time stamp for the zip's entries, so that the same bundle gives the same zip.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --- requirements ------------------------------------------------------------------------


def _conjunction(parts: tuple[str, ...]) -> str:
    return " and ".join(f"({part})" if len(parts) > 1 else part for part in parts)


def requirement_closure(roots=LEARNER_PACKAGES) -> dict[str, tuple[str, str | None]]:
    """The installed dependency closure of ``roots``: canonical name to (version, marker).

    Requirements are read from the installed distributions' metadata. A requirement whose
    marker does not hold here (another platform or Python, or an extra nobody asked for) is
    skipped. The marker is ``None`` for a package needed everywhere; a package reached only
    through platform-conditional requirements (torch's CUDA libraries on Linux) keeps that
    condition, so the pins also install where it does not hold.
    """
    conditions: dict[str, set[tuple[str, ...]]] = {}
    versions: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str], tuple[str, ...]]] = set()
    queue = deque((canonicalize_name(name), frozenset(), ()) for name in roots)
    while queue:
        name, extras, condition = queue.popleft()
        if (name, extras, condition) in seen:
            continue
        seen.add((name, extras, condition))
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            sys.exit(f"learner bundle: {name} is required but not installed in this environment")
        versions[name] = dist.version
        conditions.setdefault(name, set()).add(condition)
        for text in dist.requires or []:
            requirement = Requirement(text)
            child_condition = condition
            if requirement.marker is not None:
                marker = requirement.marker
                if not any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                    continue
                # Carry platform conditions; an extra's condition was settled by asking for it.
                if "extra" not in str(marker):
                    child_condition = tuple(dict.fromkeys((*condition, str(marker))))
            child = canonicalize_name(requirement.name)
            queue.append((child, frozenset(requirement.extras), child_condition))
    closure = {}
    for name, version in versions.items():
        paths = conditions[name]
        if () in paths:
            closure[name] = (version, None)
        else:
            alternatives = sorted({_conjunction(path) for path in paths})
            if len(alternatives) > 1:
                alternatives = [f"({alt})" for alt in alternatives]
            closure[name] = (version, str(Marker(" or ".join(alternatives))))
    return dict(sorted(closure.items()))


def requirements_txt() -> str:
    """The learner's ``requirements.txt``: one ``name==version`` line per package."""
    closure = requirement_closure()
    forbidden = sorted(set(closure) & {canonicalize_name(n) for n in FORBIDDEN})
    if forbidden:
        sys.exit(f"learner bundle: {', '.join(forbidden)} would reach learners' environments")
    lines = [
        "# Exact versions of everything the course's exercises need, from the instructor's",
        "# environment. Install with: .venv/bin/pip install -r requirements.txt",
    ]
    for name, (version, marker) in closure.items():
        lines.append(f"{name}=={version}" + (f" ; {marker}" if marker else ""))
    return "\n".join(lines) + "\n"


# --- the other files ---------------------------------------------------------------------


def course_project() -> dict:
    """The ``[project]`` and package-data tables of the course's own pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def package_data_patterns() -> list[str]:
    """The package-data patterns of resnet_ref, as the course's pyproject.toml lists them."""
    tool = course_project().get("tool", {}).get("setuptools", {})
    return list(tool.get("package-data", {}).get("resnet_ref", []))


def pyproject_toml() -> str:
    """A pyproject.toml that installs only the resnet_ref package, as :data:`PROJECT`."""
    project = course_project()["project"]
    data = ", ".join(json.dumps(p) for p in package_data_patterns())
    dependencies = "".join(f'    "{name}",\n' for name in RUNTIME)
    return (
        "# Installs the course's reference package, which the exercises import.\n"
        "# .venv/bin/pip install --no-deps -e .   (after requirements.txt)\n"
        "[build-system]\n"
        'requires = ["setuptools>=68"]\n'
        'build-backend = "setuptools.build_meta"\n'
        "\n"
        "[project]\n"
        f'name = "{PROJECT}"\n'
        f'version = "{project["version"]}"\n'
        'description = "The reference package of the Residual Networks course."\n'
        f'requires-python = "{project.get("requires-python", ">=3.11")}"\n'
        f"dependencies = [\n{dependencies}]\n"
        "\n"
        "[tool.setuptools]\n"
        'packages = ["resnet_ref", "resnet_ref.grading"]\n'
        "\n"
        "[tool.setuptools.package-data]\n"
        f"resnet_ref = [{data}]\n"
    )


def assignment_titles(exercises: Path = EXERCISES) -> dict[str, tuple[str, list[str]]]:
    """Each assignment folder: its title (the first heading) and its notebooks' names."""
    found = {}
    for folder in sorted(p for p in exercises.iterdir() if p.is_dir()):
        notebooks = sorted(p.name for p in folder.glob("*.ipynb"))
        if not notebooks:
            continue
        title = folder.name
        cells = json.loads((folder / notebooks[0]).read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            heading = re.search(r"^#\s+(.+)$", source, re.MULTILINE)
            if cell["cell_type"] == "markdown" and heading:
                title = heading.group(1).strip()
                break
        found[folder.name] = (title, notebooks)
    return found


def readme(exercises: Path = EXERCISES) -> str:
    """The learner's README.md."""
    rows = "".join(
        f"| `exercises/{name}/` | {title} | {', '.join(f'`{n}`' for n in notebooks)} |\n"
        for name, (title, notebooks) in assignment_titles(exercises).items()
    )
    return f"""# Residual Networks: the exercises

The graded assignments of the Residual Networks course, with the course's reference package
`resnet_ref` that the notebooks import. You need Python 3.11 or newer (`python3`).

## Set up

In this folder:

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/pip install --no-deps -e .
.venv/bin/jupyter lab exercises/
```

`requirements.txt` pins the exact versions the course is graded with (PyTorch, JupyterLab,
ipywidgets and what they need); the third line installs `resnet_ref`. On Windows, use
`.venv\\Scripts\\` instead of `.venv/bin/`. The exercises run on a CPU; no GPU is needed.
JupyterLab will not start as the root user (as in many containers) unless you say you mean
it: add `--allow-root` to the last command there.

## The assignments

| folder | assignment | notebooks |
|---|---|---|
{rows}
Each notebook starts with what the assignment is about and a table of its points. Run the setup
cell first, then write your code where a cell says `YOUR CODE HERE` (and written answers where
it says `YOUR ANSWER HERE`). Keep the function and class names the tasks ask for.

## Reading the chapters

`notebooks/` holds the course book's chapters as notebooks, the same ones the book's "Open in
Colab" links open. Open them in the same JupyterLab (`.venv/bin/jupyter lab`): their first cell
installs what is missing, which here is nothing. `results/` holds the runs made on a GPU that
some chapters draw beside their own, as the online book does.

## Checking your work

A code cell that starts with a comment like `# [2 points] ...` is a test. Run it after your
code: it prints `...: ok` when the visible checks pass, and otherwise a one-line message that
says what was expected, what came out and the likely mistake. When your notebook is graded,
each test cell also runs further checks of the same kind that you do not see, so passing the
visible ones is necessary but not always enough: test your code on other inputs too. Do not edit
or delete the test cells; the grader runs its own copies. Written answers are graded by hand.

## Handing in

Hand in the notebook files themselves, `exercises/<assignment>/<name>.ipynb`, under their
original names, as your instructor asks. Before you do, restart the kernel and run all cells
(*Kernel > Restart Kernel and Run All Cells*) to make sure the notebook runs from top to bottom.
"""


# --- the bundle ----------------------------------------------------------------------------


def copy_exercises(target: Path, exercises: Path = EXERCISES) -> None:
    """Copy every file nbgrader released into an assignment's folder of ``exercises``: its
    notebooks, and the data files or images an assignment may ship beside them. ``release``
    checks that those folders hold what nbgrader generates and nothing else (JupyterLab's
    checkpoints, which are not released, are left out here too)."""
    for path in sorted(exercises.glob("*/**/*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            destination = target / "exercises" / path.relative_to(exercises)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def copy_chapters(target: Path, chapters: Path = CHAPTERS) -> None:
    """Copy the book's chapter notebooks (``book/notebooks/*.ipynb``) to ``notebooks/``."""
    (target / "notebooks").mkdir()
    for notebook in sorted(chapters.glob("*.ipynb")):
        shutil.copyfile(notebook, target / "notebooks" / notebook.name)


def copy_results(target: Path, results: Path = STORED_RESULTS) -> None:
    """Copy the stored GPU runs' JSON files (histories, manifests) to ``results/``."""
    (target / "results").mkdir()
    for path in sorted(results.rglob("*.json")):
        destination = target / "results" / path.relative_to(results)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def copy_package(target: Path, package: Path = PACKAGE) -> None:
    """Copy resnet_ref's ``*.py`` files and package data (no caches, no other files)."""
    patterns = ["*.py", *package_data_patterns()]
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if not path.is_file() or "__pycache__" in relative.parts:
            continue
        if any(path.match(pattern) for pattern in patterns):
            destination = target / "resnet_ref" / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)


def write_zip(folder: Path, archive: Path) -> None:
    """Zip ``folder`` (entries under its name), sorted and with fixed time stamps."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, path.read_bytes())


def build(outdir: Path) -> Path:
    """Write ``outdir/resnet-course-learner/`` and its zip; return the folder."""
    outdir = Path(outdir)
    target = outdir / NAME
    archive = outdir / f"{NAME}.zip"
    if target.exists():
        shutil.rmtree(target)
    archive.unlink(missing_ok=True)
    target.mkdir(parents=True)
    copy_exercises(target)
    copy_chapters(target)
    copy_results(target)
    copy_package(target)
    (target / "pyproject.toml").write_text(pyproject_toml(), encoding="utf-8")
    (target / "requirements.txt").write_text(requirements_txt(), encoding="utf-8")
    (target / "README.md").write_text(readme(), encoding="utf-8")
    written = sorted(p.name for p in target.iterdir())
    if written != sorted(TOP_LEVEL):
        sys.exit(f"learner bundle: unexpected top-level entries {written}")
    write_zip(target, archive)
    return target


def main(argv=None) -> None:
    """Build the learner bundle into the folder given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", type=Path, help="folder for the bundle and its zip")
    args = parser.parse_args(argv)
    target = build(args.outdir)
    files = [p for p in target.rglob("*") if p.is_file()]
    archive = target.with_name(f"{NAME}.zip")
    print(f"learner bundle: {target} ({len(files)} files)")
    print(f"learner bundle: {archive} ({archive.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
