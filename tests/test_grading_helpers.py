"""The grading helpers (resnet_ref.grading) and every assignment's tests, without nbgrader.

The first tests run each assignment's test cells (hidden ones included) in this process on every
submission in ``tests/submissions/<assignment>/``, for every assignment that has such a folder
and a solution notebook (an assignment still being written is not collected):

- the instructor's solution passes every autograded test cell;
- every ``correct_*`` submission passes them all, every ``mutant_*`` fails exactly the cells its
  docstring's ``Loses:`` line names with a one-line message containing its ``Says:`` phrase,
  and ``cheat_*`` and ``broken_*`` submissions lose what their docstrings say.

``test_grading_e2e.py`` does the same with the real ``nbgrader autograde``, on all submissions
of ``a2_blocks`` and a subset of the others'. The remaining tests pin down the helpers' own
promises: one-line messages, nothing written to stderr, order-independent pairing of layers, and
no trust in a learner's objects.
"""

import os
import sys
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from grading_support import KINDS, assignments, read_cells
from torch import nn

import resnet_ref
from resnet_ref import grading
from resnet_ref.grading import (
    Result,
    check_count_function,
    check_forward,
    check_identity,
    check_input_gradient,
    check_parameter_count,
    check_shape,
    describe_layer,
    expect,
    match_layers,
    trace_layers,
)

ASSIGNMENTS = {a.name: a for a in assignments()}
SUBMISSIONS = [
    pytest.param(a, s, id=f"{a.name}/{s.name}")
    for a in ASSIGNMENTS.values()
    for s in a.submissions.values()
]


def test_blocks_have_enough_styles_and_mutants():
    """The issue asks for six correct styles and fifteen mutants of the blocks."""
    names = list(ASSIGNMENTS["a2_blocks"].submissions)
    assert sum(name.startswith("correct_") for name in names) >= 6
    assert sum(name.startswith("mutant_") for name in names) >= 15


@pytest.mark.parametrize("assignment", ASSIGNMENTS.values(), ids=str)
def test_submission_files_say_what_they_test(assignment):
    """Names, sections and docstrings that the grading tests can rely on."""
    assert assignment.duplicate_grade_ids() == []
    problems = []
    for name, submission in assignment.submissions.items():
        unknown = set(submission.sections) - set(assignment.notebook_of)
        if unknown:
            problems.append(f"{name}: no solution cell {sorted(unknown)}")
        if not submission.sections:
            problems.append(f"{name}: no '# %% <grade_id>' section")
        if submission.kind not in KINDS:
            problems.append(f"{name}: the name starts with none of {KINDS}")
        if submission.kind == "correct" and submission.loses:
            problems.append(f"{name}: a correct submission loses {sorted(submission.loses)}")
        if submission.kind == "mutant" and not (submission.loses and submission.says):
            problems.append(f"{name}: a mutant needs a 'Loses:' and a 'Says:' line")
        strange = submission.loses - set(assignment.cells)
        if strange:
            problems.append(f"{name}: 'Loses:' names no test cell {sorted(strange)}")
    assert problems == []
    assert any(s.kind == "correct" for s in assignment.submissions.values())


@pytest.fixture
def several_threads():
    """PyTorch on three threads during the test, as before it afterwards; yields 3.

    The code under test switches to one thread: a test that started on one could not tell
    whether it switches back.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    yield 3
    torch.set_num_threads(before)


@pytest.mark.parametrize("assignment", ASSIGNMENTS.values(), ids=str)
def test_solution_passes_every_test_cell(assignment, several_threads):
    environment = dict(os.environ)
    results = assignment.run_in_process({})
    assert set(results) == set(assignment.cells)
    assert {cell: message for cell, message in results.items() if message} == {}
    # The notebook ran in this process, which later tests share: it must be as it was.
    assert torch.get_num_threads() == several_threads
    assert dict(os.environ) == environment


def test_a_notebook_stopped_midway_leaves_no_state_behind(several_threads):
    """A submission that ends the process's work (``sys.exit``) after the set-up cell ran."""
    assignment = ASSIGNMENTS["a2_blocks"]
    (notebook,) = assignment.notebooks
    cells = read_cells(assignment.solution(notebook))
    first = next(cell.grade_id for cell in cells if cell.solution and cell.cell_type == "code")
    environment = dict(os.environ)
    with pytest.raises(SystemExit):
        assignment.run_in_process({first: "import sys\nsys.exit('the learner quits')\n"})
    assert torch.get_num_threads() == several_threads
    assert dict(os.environ) == environment


@pytest.mark.parametrize("assignment, submission", SUBMISSIONS)
def test_submission_loses_exactly_the_cells_it_targets(assignment, submission):
    results = assignment.graded(submission.sections)
    assert set(results) == set(assignment.cells_of(assignment.touched(submission.sections)))
    lost = {cell for cell, message in results.items() if message}
    assert lost == set(submission.loses), {cell: results[cell] for cell in lost}
    messages = [results[cell] for cell in sorted(lost)]
    for message in messages:
        assert "\n" not in message.strip(), message
    if submission.says:
        assert any(submission.says in message for message in messages), messages


# --- a small correct block and variations, for the helpers' own tests ------------------------


class Block(nn.Module):
    """A correct basic block; subclasses change one thing."""

    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def branch(self, x):
        """The residual branch."""
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))

    def forward(self, x):
        """relu(F(x) + shortcut(x))."""
        return F.relu(self.branch(x) + self.shortcut(x))


class NoisyBlock(Block):
    """Correct, but warns and prints to stderr and stdout on every call."""

    def forward(self, x):
        """Make noise, then compute the block."""
        warnings.warn("a deprecation the learner cannot fix", UserWarning, stacklevel=1)
        print("debug output", file=sys.stderr)
        print("more debug output")
        return super().forward(x)


class ShortcutFirst(Block):
    """Correct, computing the shortcut first."""

    def forward(self, x):
        """Shortcut, then branch."""
        skip = self.shortcut(x)
        return F.relu(skip + self.branch(x))


class SharedNorm(Block):
    """Reuses one BatchNorm for both convolutions."""

    def branch(self, x):
        """Both convolutions normalised by bn1."""
        return self.bn1(self.conv2(F.relu(self.bn1(self.conv1(x)))))


class Anything:
    """An object that claims to equal everything."""

    shape = (2, 64, 8, 8)

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class LyingBlock(Block):
    """Returns an object whose __eq__ is always true."""

    def forward(self, x):
        """Not a tensor."""
        return Anything()


class TensorSubclass(torch.Tensor):
    """A tensor subclass that could override comparisons."""


class SubclassBlock(Block):
    """Returns a tensor subclass."""

    def forward(self, x):
        """A correct value, in a subclass."""
        return super().forward(x).as_subclass(TensorSubclass)


def test_correct_block_passes_every_check():
    for args in [(8, 8), (8, 16), (8, 8, 2)]:
        kwargs = {"stride": args[2]} if len(args) == 3 else {}
        ref = resnet_ref.BasicBlock
        for check in (check_shape, check_parameter_count, check_forward, check_input_gradient):
            result = check(Block, ref, *args[:2], **kwargs)
            assert result.passed, result.message
    assert check_identity(Block, 8, 8).passed


def test_checks_write_nothing_and_restore_state(capfd, several_threads):
    filters = list(warnings.filters)
    result = check_forward(NoisyBlock, resnet_ref.BasicBlock, 8, 16, stride=2)
    assert result.passed, result.message
    assert check_input_gradient(NoisyBlock, resnet_ref.BasicBlock, 8, 8).passed
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert warnings.filters == filters
    assert torch.get_num_threads() == several_threads


def test_shortcut_first_pairs_the_same_layers():
    ref, learner = resnet_ref.BasicBlock(8, 16, stride=2), ShortcutFirst(8, 16, stride=2)
    x = torch.randn(2, 8, 6, 6)
    ref_calls, _ = trace_layers(ref, x)
    learner_calls, _ = trace_layers(learner, x)
    assert [c.description for c in learner_calls][:2] == [
        "1x1 Conv2d(8→16, stride 2)",
        "BatchNorm2d(16)",
    ]
    pairing = match_layers(ref_calls, learner_calls)
    assert [learner_calls[j].module for j in pairing] == [
        learner.conv1,
        learner.bn1,
        learner.conv2,
        learner.bn2,
        learner.shortcut[0],
        learner.shortcut[1],
    ]
    assert check_forward(ShortcutFirst, resnet_ref.BasicBlock, 8, 16, stride=2).passed


def test_a_layer_that_runs_twice_is_named():
    result = check_forward(SharedNorm, resnet_ref.BasicBlock, 8, 8)
    assert not result.passed
    assert "BatchNorm2d(8) runs twice" in result.message


@pytest.mark.parametrize("block", [LyingBlock, SubclassBlock])
def test_outputs_must_be_plain_tensors(block):
    result = check_forward(block, resnet_ref.BasicBlock, 64, 64)
    assert not result.passed
    assert "should return a torch.Tensor" in result.message


def test_counts_must_be_real_ints_computed_without_modules():
    def lying(kind, *args, **kwargs):
        return Anything()

    def as_bool(kind, *args, **kwargs):
        return True

    def builds(kind, *args, **kwargs):
        try:
            return sum(p.numel() for p in Block(*args, **kwargs).parameters())
        except Exception:  # the grader's refusal is not an Exception: this cannot hide it
            return 0

    def numpy_count(kind, in_channels, out_channels, stride=1):
        return np.int64(18 * in_channels * out_channels + 4 * out_channels)

    ref = resnet_ref.BasicBlock
    assert "should return an int" in check_count_function(lying, "basic", ref, 8, 8).message
    assert "should return an int" in check_count_function(as_bool, "basic", ref, 8, 8).message
    assert "builds a module" in check_count_function(builds, "basic", ref, 8, 8).message
    assert check_count_function(numpy_count, "basic", ref, 8, 8).passed
    assert isinstance(nn.Conv2d(1, 1, 1), nn.Module)  # module building works again afterwards


def test_the_reference_cannot_be_handed_in():
    class Borrowed(resnet_ref.BasicBlock):
        pass

    class Wrapper(nn.Module):
        def __init__(self, *args, **kwargs):
            super().__init__()
            self.inner = resnet_ref.BasicBlock(*args, **kwargs)

        def forward(self, x):
            return self.inner(x)

    for block in (Borrowed, Wrapper):
        result = check_forward(block, resnet_ref.BasicBlock, 8, 8)
        assert "write the block yourself" in result.message


def test_expect_raises_the_message_and_passes_silently():
    expect(Result(True, "fine"))
    with pytest.raises(AssertionError, match="^expected 3, got 4$"):
        expect(Result(False, "expected 3, got 4"))
    with pytest.raises(TypeError):
        expect(True)


def test_a_block_that_cannot_be_built_fails_with_the_reason():
    class Unfinished(nn.Module):
        def __init__(self, *args, **kwargs):
            super().__init__()
            raise NotImplementedError()

    for check in (check_shape, check_parameter_count, check_forward, check_input_gradient):
        result = check(Unfinished, resnet_ref.BasicBlock, 8, 8)
        assert not result.passed
        assert "could not be built: NotImplementedError (the exercise is not done yet)" in (
            result.message
        )


def test_layer_descriptions():
    assert describe_layer(nn.Conv2d(64, 256, 1, stride=2, bias=False)) == (
        "1x1 Conv2d(64→256, stride 2)"
    )
    assert (
        describe_layer(nn.Conv2d(64, 64, 3, padding=0)) == "3x3 Conv2d(64→64, stride 1, padding 0)"
    )
    assert describe_layer(nn.Conv2d(64, 64, 3, padding=1, groups=32)) == (
        "3x3 Conv2d(64→64, stride 1, groups 32)"
    )
    assert describe_layer(nn.BatchNorm2d(128, momentum=0.9)) == "BatchNorm2d(128, momentum=0.9)"
    assert describe_layer(nn.Linear(512, 1000)) == "Linear(512→1000)"
    assert [grading.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
    ]
