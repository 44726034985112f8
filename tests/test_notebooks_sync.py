"""The chapters' generated notebooks (book/notebooks/*.ipynb, for Colab and download)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "sync_notebooks.py"
NOTEBOOKS = ROOT / "book" / "notebooks"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_toc import chapters  # noqa: E402  (the book's one list of its chapters)


def test_every_notebook_is_in_sync_with_its_chapter():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, (
        "book/notebooks/ is out of date with the chapters (run: python3 course.py notebooks, "
        f"then commit the notebooks with the chapter):\n{result.stdout}{result.stderr}"
    )


def test_every_chapter_has_a_notebook_that_installs_the_package_first():
    repository = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    names = [Path(page).name for page in chapters()]
    assert len(names) == 13, names  # the preface and chapters 1 to 12
    for name in names:
        notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
        first = notebook["cells"][0]
        source = "".join(first["source"])
        assert first["cell_type"] == "code", name
        assert "import resnet_ref" in source and "except ImportError:" in source, name
        requirement = f"resnet-ref @ git+{repository['url']}@{repository['branch']}"
        assert requirement in source, name
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, name
        assert notebook["metadata"]["kernelspec"]["name"] == "python3", name


def test_the_check_notices_an_edited_chapter(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    for name in ["_config.yml", "_toc.yml"]:
        shutil.copy(ROOT / name, copy / name)
    # book/_ext goes too: the script asks its course_toc which pages are chapters.
    shutil.copytree(ROOT / "book", copy / "book", ignore=shutil.ignore_patterns("_static", "*.bib"))
    check = [sys.executable, str(copy / "scripts" / "sync_notebooks.py"), "--check"]
    assert subprocess.run(check, capture_output=True, cwd=copy).returncode == 0
    chapter = copy / f"{chapters()[1]}.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\nOne more sentence.\n")
    result = subprocess.run(check, capture_output=True, text=True, cwd=copy)
    assert result.returncode == 1 and "out of date" in result.stdout


@pytest.mark.slow
def test_the_preface_notebook_runs_where_the_course_is_set_up(tmp_path):
    notebook = nbformat.read(NOTEBOOKS / "ch00_preface.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    first = notebook.cells[0]
    assert not any(output.get("name") == "stdout" for output in first.outputs), (
        "the install cell ran pip although resnet_ref is installed"
    )
    printed = "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert "Outputs on this page:" in printed
