"""The referee protocol on its own: checks decided over a Unix socket, as while grading.

The learner's side here is this test process with ``RESNET_REFEREE`` set, the referee a real
:class:`autograder.referee.Referee` listening in a thread. The verdicts must be the ones the
check gives in-process (the same pass or fail, the same likely mistake), the referee must
record them cell by cell, and :func:`autograder.referee.shortfall` must refuse a cell whose
checks fall short of the solution's. The hostile-submission tests then run it across the
sandbox, against kernels that try to cheat it.
"""

import re

import torch
from torch import nn

import resnet_ref
import resnet_ref.analysis
import resnet_ref.models
from autograder.referee import Referee, shortfall
from resnet_ref.blocks import squeeze_excitation
from resnet_ref.grading import (
    check_attribute,
    check_block_shape,
    check_count_function,
    check_forward,
    check_forward_dense,
    check_gradient_norms,
    check_identity,
    check_input_gradient,
    check_input_unchanged,
    check_leaves_model_unchanged,
    check_output_size,
    check_parameter_count,
    check_preact_identity,
    check_raises,
    check_shape,
    check_shortcut_kind,
    check_value,
    check_zero_pad_values,
)
from resnet_ref.grading.referee import REFEREE_SOCKET


class Block(nn.Module):
    """A learner's BasicBlock; ``relu_before_add`` makes it the classic mistake."""

    expansion = 1

    def __init__(self, c_in, c_out, stride=1, relu_before_add=False):
        super().__init__()
        self.relu_before_add = relu_before_add
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        if self.relu_before_add:
            return torch.relu(out) + self.shortcut(x)
        return torch.relu(out + self.shortcut(x))


class PreAct(nn.Module):
    """A learner's pre-activation block (identity shortcut only); ``relu_after`` adds the
    classic mistake, a ReLU after the sum."""

    def __init__(self, channels, relu_after=False):
        super().__init__()
        self.relu_after = relu_after
        self.bn1, self.conv1 = nn.BatchNorm2d(channels), nn.Conv2d(channels, channels, 3, 1, 1)
        self.bn2, self.conv2 = nn.BatchNorm2d(channels), nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x):
        out = x + self.conv2(torch.relu(self.bn2(self.conv1(torch.relu(self.bn1(x))))))
        return torch.relu(out) if self.relu_after else out


class Excitation(nn.Module):
    """A learner's squeeze-and-excitation unit, with Linear layers; ``gate`` may be wrong."""

    def __init__(self, channels, reduction, gate=torch.sigmoid):
        super().__init__()
        self.gate = gate
        squeezed = max(1, channels // reduction)
        self.reduce, self.expand = nn.Linear(channels, squeezed), nn.Linear(squeezed, channels)

    def forward(self, x):
        s = self.expand(torch.relu(self.reduce(x.mean(dim=(2, 3)))))
        return x * self.gate(s)[:, :, None, None]


def norms(model, x, y):
    return resnet_ref.analysis.gradient_norms(model, x, y)


def norms_leaving_a_hook(model, x, y):
    model.stem.register_forward_hook(lambda *args: None)
    return norms(model, x, y)


def output_size(n, kernel, stride=1, padding=0):
    return (n + 2 * padding - kernel) // stride + 1


def output_size_unpadded(n, kernel, stride=1, padding=0):
    return (n - kernel) // stride + 1


def block_shape(input_shape, out_channels, stride):
    n, _, h, w = input_shape
    return (n, out_channels, (h - 1) // stride + 1, (w - 1) // stride + 1)


def shortcut(option, c_in, c_out, stride):
    if c_in == c_out and stride == 1:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


class ZeroPad(nn.Module):
    def __init__(self, c_in, c_out, stride, zeros_first=False):
        super().__init__()
        self.c_in, self.c_out, self.stride, self.zeros_first = c_in, c_out, stride, zeros_first

    def forward(self, x):
        kept = x[:, :, :: self.stride, :: self.stride]
        zeros = kept.new_zeros(kept.shape[0], self.c_out - self.c_in, *kept.shape[2:])
        return torch.cat([zeros, kept] if self.zeros_first else [kept, zeros], dim=1)


def mistaken(c_in, c_out, stride=1):
    return Block(c_in, c_out, stride, relu_before_add=True)


def count(kind, c_in, c_out, stride=1):
    projection = c_in * c_out + 2 * c_out if stride != 1 or c_in != c_out else 0
    return 9 * c_in * c_out + 9 * c_out * c_out + 4 * c_out + projection


def counts_with_a_module(kind, c_in, c_out, stride=1):
    return sum(p.numel() for p in Block(c_in, c_out, stride).parameters())


RESNET8 = {"name": "resnet20", "in_channels": 1}
CASES = [
    (check_attribute, (Block, "expansion", 1)),
    (check_attribute, (Block, "expansion", 4)),
    (check_shape, (Block, resnet_ref.BasicBlock, 16, 32), {"stride": 2}),
    (check_parameter_count, (Block, resnet_ref.BasicBlock, 16, 32), {"stride": 2}),
    (check_forward, (Block, resnet_ref.BasicBlock, 16, 16)),
    (check_forward, (mistaken, resnet_ref.BasicBlock, 16, 16)),
    (check_forward, (Block, resnet_ref.BasicBlock, 8, 16), {"stride": 2}),
    (check_input_gradient, (Block, resnet_ref.BasicBlock, 8, 8)),
    (check_identity, (Block, 8, 8)),
    (check_identity, (mistaken, 8, 8)),
    (check_input_unchanged, (Block, 8, 8)),
    (check_count_function, (count, "basic", resnet_ref.BasicBlock, 8, 16), {"stride": 2}),
    (check_count_function, (counts_with_a_module, "basic", resnet_ref.BasicBlock, 8, 8)),
    (check_preact_identity, (PreAct, 8)),
    (check_preact_identity, (lambda c: PreAct(c, relu_after=True), 8)),
    (check_forward_dense, (Excitation, squeeze_excitation, 16, 4)),
    (
        check_forward_dense,
        (lambda c, s: Excitation(c, s, gate=torch.tanh), squeeze_excitation, 16, 4),
    ),
    (check_gradient_norms, (norms, resnet_ref.models.create), RESNET8),
    (check_leaves_model_unchanged, (norms, resnet_ref.models.create), RESNET8),
    (check_leaves_model_unchanged, (norms_leaving_a_hook, resnet_ref.models.create), RESNET8),
    (check_output_size, (output_size, 224, 7), {"stride": 2, "padding": 3}),
    (check_output_size, (output_size_unpadded, 224, 7), {"stride": 2, "padding": 3}),
    (check_block_shape, (block_shape, (2, 16, 7, 7), 32, 2)),
    (check_shortcut_kind, (shortcut, "B", 16, 32, 2)),
    (check_shortcut_kind, (shortcut, "A", 16, 32, 2)),
    (check_zero_pad_values, (ZeroPad, 8, 16, 2)),
    (check_zero_pad_values, (lambda *a: ZeroPad(*a, zeros_first=True), 8, 16, 2)),
    (check_value, (lambda n: 2**n, resnet_ref.analysis.count_paths, 5)),
    (check_value, (lambda n: 2 * n, resnet_ref.analysis.count_paths, 5), {"hint": " — powers"}),
    (check_raises, (resnet_ref.models.cifar_resnet, ValueError), {"depth": 21}),
    (check_raises, (resnet_ref.models.cifar_resnet, KeyError), {"depth": 21}),
]


def gist(message: str) -> str:
    """A message without the measured difference and the seed, which depend on the inputs."""
    message = message.split(" (the same inputs again: ")[0]
    return message.split(" differs by ")[0] + message.partition(" — ")[2]


def test_verdicts_over_the_socket_are_the_checks_own(tmp_path, monkeypatch):
    referee = Referee(tmp_path / "referee.sock")
    try:
        local = [check(*args, **(rest[0] if rest else {})) for check, args, *rest in CASES]
        monkeypatch.setenv(REFEREE_SOCKET, str(referee.path))
        referee.begin_cell("cell")
        remote = [check(*args, **(rest[0] if rest else {})) for check, args, *rest in CASES]
        records = referee.end_cell()
    finally:
        referee.close()
    passes = [True, False, True, True, True, False, True, True, True, False, True, True, False]
    passes += [True, False, True, False, True, True, False]
    passes += [True, False, True, True, False, True, False, True, False, True, False]
    assert [r.passed for r in local] == passes, [r.message for r in local]
    assert [r.passed for r in remote] == [r.passed for r in local]
    assert [gist(r.message) for r in remote] == [gist(r.message) for r in local]
    assert [r.passed for r in records] == [r.passed for r in remote]


def solutions_checks():
    """The checks of the test cell the tests below grade, as its solution makes them."""
    check_forward(Block, resnet_ref.BasicBlock, 8, 8)
    check_shape(Block, resnet_ref.BasicBlock, 8, 16, stride=2)


def test_a_cell_earns_only_what_the_solution_showed(tmp_path, monkeypatch):
    referee = Referee(tmp_path / "referee.sock")
    monkeypatch.setenv(REFEREE_SOCKET, str(referee.path))
    try:
        referee.begin_cell("solution")
        solutions_checks()
        expected = referee.end_cell()
        referee.begin_cell("same")
        solutions_checks()
        same = referee.end_cell()
        referee.begin_cell("skipped")
        check_forward(Block, resnet_ref.BasicBlock, 8, 8)
        skipped = referee.end_cell()
        referee.begin_cell("other arguments")
        check_forward(Block, resnet_ref.BasicBlock, 8, 8)
        check_shape(Block, resnet_ref.BasicBlock, 8, 8, stride=1)
        other = referee.end_cell()
        referee.begin_cell("failed")
        check_forward(mistaken, resnet_ref.BasicBlock, 8, 8)  # its error swallowed
        check_shape(Block, resnet_ref.BasicBlock, 8, 16, stride=2)
        failed = referee.end_cell()
    finally:
        referee.close()
    assert shortfall(expected, same) is None
    assert "only 1 of the 2 checks" in shortfall(expected, skipped)
    assert "check 2 of this cell is not the one the test asks for" in shortfall(expected, other)
    assert "check 1 of this cell failed" in shortfall(expected, failed)


def test_an_unreachable_referee_fails_the_check(tmp_path, monkeypatch):
    monkeypatch.setenv(REFEREE_SOCKET, str(tmp_path / "nobody-listens.sock"))
    result = check_forward(Block, resnet_ref.BasicBlock, 8, 8)
    assert not result.passed
    assert "could not decide" in result.message


def test_while_grading_only_the_solutions_requests_run(tmp_path, monkeypatch):
    recorder = Referee(tmp_path / "record.sock")
    monkeypatch.setenv(REFEREE_SOCKET, str(recorder.path))
    try:
        recorder.begin_cell("test cell")
        solutions_checks()
        expected = {"test cell": recorder.end_cell()}
    finally:
        recorder.close()
    referee = Referee(tmp_path / "grade.sock", expected=expected)
    monkeypatch.setenv(REFEREE_SOCKET, str(referee.path))
    try:
        referee.begin_cell("test cell")
        # The second check first: not the one the cell makes next, so it does not run.
        out_of_turn = check_shape(Block, resnet_ref.BasicBlock, 8, 16, stride=2)
        referee.end_cell()
        referee.begin_cell("a learner's own cell")
        known = check_shape(Block, resnet_ref.BasicBlock, 8, 16, stride=2)
        huge = check_shape(Block, resnet_ref.BasicBlock, 8, 8, input_shape=(10**6, 8, 64, 64))
        referee.end_cell()
    finally:
        referee.close()
    assert out_of_turn.message == "not the check this test cell makes next"
    assert known.passed
    assert not huge.passed and "only the assignment's own tests" in huge.message


def test_a_failure_names_the_seed_that_draws_its_inputs_again():
    first = check_forward(mistaken, resnet_ref.BasicBlock, 8, 8)
    seed = int(re.search(r"add seed=(\d+) to this check", first.message).group(1))
    again = check_forward(mistaken, resnet_ref.BasicBlock, 8, 8, seed=seed)
    other = check_forward(mistaken, resnet_ref.BasicBlock, 8, 8, seed=seed + 1)
    assert again.message == first.message  # the same inputs, so the same difference
    assert other.message != first.message
    # A check that draws nothing at random has no seed to name.
    assert "seed=" not in check_attribute(Block, "expansion", 4).message
