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
import torch

from resnet_ref import models
from resnet_ref.grading import references
from resnet_ref.grading.messages import _count_hint
from resnet_ref.grading.mistakes import NETWORK_COUNT_MISTAKES, _network_count_hint
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


# Assignment 3's visible parameter counts, as its notebook writes them: the reference networks
# that a learner's count is compared with before handing in.
A3 = ROOT / "solutions" / "a3_resnets" / "resnets.pct.py"
A3_VISIBLE_COUNTS = {
    "check_parameter_count(resnet18, resnet_ref.models.resnet18": [lambda: models.resnet18()],
    "check_parameter_count(resnet50, resnet_ref.models.resnet50": [lambda: models.resnet50()],
    "for depth in (20, 32, 56):\n    expect(check_parameter_count(cifar_resnet, reference_cifar,": [
        lambda depth=depth: references.cifar_resnet_option_b(depth) for depth in (20, 32, 56)
    ],
    "check_parameter_count(cifar_resnet, reference_cifar, 20, plain=True": [
        lambda: references.cifar_resnet_option_b(20, plain=True)
    ],
}


def test_the_visible_parameter_counts_of_a3_are_found():
    visible = HIDDEN.sub("", A3.read_text(encoding="utf-8"))
    assert [call for call in A3_VISIBLE_COUNTS if call not in visible] == []


@pytest.mark.parametrize("hint", [message for message, _ in NETWORK_COUNT_MISTAKES])
def test_each_network_count_mistake_earns_its_own_hint(hint):
    """Some visible count differs by what the mistake adds, and that difference reads as it."""
    mistake = dict(NETWORK_COUNT_MISTAKES)[hint]
    said = []
    with torch.device("meta"):
        for build in (build for builds in A3_VISIBLE_COUNTS.values() for build in builds):
            net = build()
            difference = mistake(net)
            if difference:
                # A learner's network has no convolution biases: 0 of them, as the check counts.
                said.append(_count_hint(difference, net, 0) or _network_count_hint(difference, net))
    assert f" — {hint}" in said, said
