"""Every hint of a check fires on the visible inputs of its cell, for the mistake it names.

A learner runs the visible checks; a hint that only a hidden input could trigger, or that an
earlier hint shadows there, never helps anyone, and a hint that names the wrong mistake
misleads. For each slip the check knows, a function that makes it is checked on the inputs
that the assignment's visible test cells use (read from the instructor notebook, outside the
hidden-test blocks): some visible check must fail with that slip's hint, and none with another.
"""

import re
from pathlib import Path

import pytest

from resnet_ref.grading.shortcut_checks import SIZE_SLIPS, check_output_size

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)


def visible_calls(notebook_source: Path, check: str) -> list[tuple[int, ...]]:
    """The integer arguments of each visible call of ``check`` in a ``.pct.py`` notebook."""
    visible = HIDDEN.sub("", notebook_source.read_text(encoding="utf-8"))
    calls = re.findall(rf"{check}\(\w+, ([^)]*)\)", visible)
    return [tuple(int(v) for v in re.findall(r"\d+", call)) for call in calls]


OUTPUT_SIZES = visible_calls(
    ROOT / "solutions" / "a1_shortcuts" / "shortcuts.pct.py", "check_output_size"
)


def test_the_visible_output_sizes_are_found():
    assert (224, 7, 2, 3) in OUTPUT_SIZES and len(OUTPUT_SIZES) >= 4, OUTPUT_SIZES


@pytest.mark.parametrize("hint", list(SIZE_SLIPS))
def test_each_output_size_slip_earns_its_own_hint(hint):
    slip = SIZE_SLIPS[hint]

    def conv_output_size(n, kernel, stride=1, padding=0):
        return slip(n, kernel, stride, padding)

    messages = [
        check_output_size(conv_output_size, n, k, stride=s, padding=p).message
        for n, k, s, p in OUTPUT_SIZES
    ]
    assert any(message.endswith(f" — {hint}") for message in messages), messages
    others = [h for h in SIZE_SLIPS if h != hint]
    assert not any(message.endswith(f" — {h}") for message in messages for h in others), messages
