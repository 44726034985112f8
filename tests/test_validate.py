"""``nbgrader validate`` shows a failed check's whole one-line message.

nbgrader's validator cuts every line of an error at 90 characters, which is where a check's
message says what the likely mistake is. With the course's configuration (run from the course
root, as nbgrader reads ``nbgrader_config.py`` there) the lines wrap instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grading_support import ROOT, assignments

NBGRADER = Path(sys.executable).parent / "nbgrader"


def test_validate_shows_the_likely_mistake_of_a_long_message(tmp_path):
    a1 = next(a for a in assignments() if a.name == "a1_shortcuts")
    mutant = a1.submissions["mutant_projection_without_stride"]
    (notebook,) = a1.fill(mutant.sections).items()
    hand_in = tmp_path / f"{notebook[0]}.ipynb"
    hand_in.write_text(json.dumps(notebook[1]), encoding="utf-8")

    done = subprocess.run(
        [str(NBGRADER), "validate", str(hand_in)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )

    printed = " ".join(done.stdout.split())
    assert "cell failed" in printed, done.stdout + done.stderr
    assert mutant.says in printed, done.stdout
    assert not [line for line in done.stdout.splitlines() if line.endswith("...")], done.stdout
