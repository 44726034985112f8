"""The real Jupyter Book build of the whole course: strict, and with no CDN scripts."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A <script> whose src names a host (http://, https:// or protocol-relative //).
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//", re.IGNORECASE)


def jupyter_book():
    """Return the jupyter-book executable of the running environment."""
    beside_python = Path(sys.executable).parent / "jupyter-book"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("jupyter-book")
    assert found, "jupyter-book is not installed (run: python3 course.py setup)"
    return found


@pytest.mark.slow
def test_book_builds_strictly_and_loads_mathjax_locally(tmp_path):
    """Build the repository's book with warnings as errors; pages must load no remote script."""
    result = subprocess.run(
        [
            jupyter_book(),
            "build",
            str(ROOT),
            "--path-output",
            str(tmp_path),
            "-W",
            "-n",
            "--keep-going",
            "--all",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"strict book build failed:\n{result.stdout}\n{result.stderr}"

    html = tmp_path / "_build" / "html"
    intro = html / "book" / "intro.html"
    assert intro.is_file(), f"intro page missing; built: {sorted(html.rglob('*.html'))}"

    intro_text = intro.read_text(encoding="utf-8")
    assert 'src="../_static/mathjax/tex-chtml.js"' in intro_text, "MathJax is not served locally"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()

    remote = [
        f"{page.relative_to(html)}: {match.group(0)}"
        for page in html.rglob("*.html")
        for match in REMOTE_SCRIPT.finditer(page.read_text(encoding="utf-8"))
    ]
    assert not remote, "pages load scripts from another host:\n" + "\n".join(remote)
    assert not any("cdn.jsdelivr" in p.read_text(encoding="utf-8") for p in html.rglob("*.html"))
