"""The checks of assignment 1 (shortcuts) that compare plain values rather than modules.

``conv_output_size`` and ``block_output_shape`` return numbers, ``make_shortcut`` chooses a
kind of shortcut and ``ZeroPadShortcut`` must place its input's values exactly. Like every check
they are refereed while grading (:mod:`resnet_ref.grading.referee`): the expected value is
computed here, in the grader's process, and the learner's code only runs to give its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import shortcuts
from ..blocks import BasicBlock
from .checks import _refereed
from .learner import learner_code
from .messages import Result, _fail, _LearnerError, _not_an_int_hint, _ok, ordinal

KINDS = {
    "identity": "the identity (returns its input unchanged, no parameters)",
    "projection": "a projection (a 1x1 convolution and BatchNorm, with parameters)",
    "parameter-free": "a parameter-free shortcut that changes the shape (zero padding)",
}


def _torch_size(n: int, kernel: int, stride: int, padding: int) -> int:
    """The output width nn.Conv2d gives on an n-pixel-wide input."""
    weight = torch.zeros(1, 1, 1, kernel)
    out = F.conv2d(torch.zeros(1, 1, 1, n), weight, stride=stride, padding=(0, padding))
    return int(out.shape[-1])


# Slips in the output-size formula, each with the hint it earns. One input rarely tells them
# apart (with stride 1 and padding 1, "the +1 is missing" and "the padding is counted once"
# give the same number), so the learner's function is also asked the sizes of two probes,
# (n, kernel, stride, padding) chosen so that each slip answers them differently.
SIZE_SLIPS = {
    "the padding is ignored: it adds p pixels on both sides, 2p in all": (
        lambda n, k, s, p: (n - k) // s + 1
    ),
    "the +1 is missing (the first window position counts too)": (
        lambda n, k, s, p: (n + 2 * p - k) // s
    ),
    "rounded up: a window that does not fit entirely is dropped, so round down": (
        lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1
    ),
    "the padding is counted once; it is added on both sides": (
        lambda n, k, s, p: (n + p - k) // s + 1
    ),
}
SIZE_PROBES = ((10, 3, 1, 2), (10, 3, 2, 0))


@_refereed
def check_output_size(function, n, kernel, stride=1, padding=0) -> Result:
    """``function(n, kernel, stride=..., padding=...)`` equals what nn.Conv2d gives."""
    function = learner_code(function)
    size = (n, kernel, stride, padding)
    call = _size_call(size)
    expected = _torch_size(*size)
    kind, got, type_name, text = function.value(call, size[:2], _size_kwargs(size))
    if kind != "int":
        hint = _not_an_int_hint(type_name)
        return _fail(f"{call} should return an int, got {type_name} {text}{hint}")
    if got == expected:
        return _ok(f"{call} == {expected}")
    hint = _size_slip(function, size, got)
    return _fail(f"{call}: expected {expected} (what nn.Conv2d gives), got {got}{hint}")


def _size_call(size: tuple) -> str:
    return "conv_output_size({}, {}, stride={}, padding={})".format(*size)


def _size_kwargs(size: tuple) -> dict:
    return {"stride": size[2], "padding": size[3]}


def _size_slip(function, size: tuple, got: int) -> str:
    """The hint of the one slip in :data:`SIZE_SLIPS` that gives ``got`` for ``size`` and the
    learner's answers to :data:`SIZE_PROBES` too, or nothing."""
    answers = {size: got}
    for probe in SIZE_PROBES:
        try:
            answers[probe] = function.value(_size_call(probe), probe[:2], _size_kwargs(probe))[1]
        except _LearnerError:
            return ""  # the function fails elsewhere too: no one slip explains it
    for hint, slip in SIZE_SLIPS.items():
        if all(slip(*asked) == answer for asked, answer in answers.items()):
            return f" — {hint}"
    return ""


@_refereed
def check_block_shape(function, input_shape, out_channels, stride) -> Result:
    """``function(input_shape, out_channels, stride)`` is the shape a BasicBlock outputs."""
    function = learner_code(function)
    input_shape = tuple(input_shape)
    call = f"block_output_shape({input_shape}, {out_channels}, {stride})"
    block = BasicBlock(input_shape[1], out_channels, stride).eval()
    with torch.no_grad():
        expected = [int(s) for s in block(torch.zeros(*input_shape)).shape]
    kind, got, _, text = function.value(call, (input_shape, out_channels, stride), {})
    if kind != "ints":
        return _fail(f"{call} should return a tuple of 4 ints, got {text}")
    if got == expected:
        return _ok(f"{call} == {tuple(expected)}")
    n, c, h, w = input_shape
    hint = ""
    if len(got) == 4 and got[2:] == [h, w] and stride != 1:
        hint = " — the stride is ignored"
    elif len(got) == 4 and got[2:] == [(h - 3) // stride + 1, (w - 3) // stride + 1]:
        hint = " — the padding of 1 is ignored"
    elif len(got) == 4 and got[1] == c != out_channels:
        hint = " — the block outputs out_channels channels"
    return _fail(f"{call}: expected {tuple(expected)}, got {tuple(got)}{hint}")


@_refereed
def check_shortcut_kind(function, option, in_channels, out_channels, stride) -> Result:
    """``function(option, ...)`` builds the same kind of shortcut as ``make_shortcut``."""
    function = learner_code(function)
    call = f"make_shortcut({option!r}, {in_channels}, {out_channels}, {stride})"
    x = torch.randn(2, in_channels, 6, 6)
    reference = shortcuts.make_shortcut(option, in_channels, out_channels, stride)
    with torch.no_grad():
        out = reference(x.clone())
    wanted = shortcut_kind(sum(p.numel() for p in reference.parameters()), out, x)
    args = (option, in_channels, out_channels, stride)
    count, out = function.shortcut(call, args, x.clone())
    got = shortcut_kind(count, out, x)
    if got == wanted:
        return _ok(f"{call}: {got}")
    hint = ""
    if wanted == "identity" and got == "projection":
        hint = " — a projection where the identity suffices"
    elif wanted == "projection" and got != "projection":
        hint = " — option C projects in every block; B projects wherever the shape changes"
    elif wanted == "parameter-free":
        hint = " — option A never adds parameters: it subsamples and pads with zero channels"
    return _fail(f"{call}: expected {KINDS[wanted]}, got {KINDS[got]}{hint}")


def shortcut_kind(parameters: int, out: torch.Tensor | None, x: torch.Tensor) -> str:
    """``"projection"`` (it has parameters), ``"identity"`` (it returns ``x`` unchanged) or
    ``"parameter-free"`` (e.g. zero padding), from a shortcut's parameter count and output."""
    if parameters > 0:
        return "projection"
    if out is not None and out.shape == x.shape and torch.equal(out, x):
        return "identity"
    return "parameter-free"


@_refereed
def check_zero_pad_values(block, in_channels, out_channels, stride, input_shape=None) -> Result:
    """The first in_channels output channels are x[:, :, ::stride, ::stride], the rest zeros."""
    block = learner_code(block)
    call = f"{block.__name__}({in_channels}, {out_channels}, {stride})"
    shape = tuple(input_shape or (2, in_channels, 8, 8))
    x = torch.randn(*shape)
    expected = shortcuts.ZeroPadShortcut(in_channels, out_channels, stride)(x)
    learner = block.module((in_channels, out_channels, stride), {}, {})
    got = learner.output(x.clone(), "train")
    if list(got.shape) != list(expected.shape):
        return _fail(
            f"{call} on {list(shape)}: expected shape {list(expected.shape)},"
            f" got {list(got.shape)}{_zero_pad_shape_hint(list(got.shape), shape, out_channels)}"
        )
    kept = x[:, :, ::stride, ::stride]
    if not torch.equal(got[:, :in_channels], kept):
        if torch.equal(got[:, out_channels - in_channels :], kept):
            return _fail(
                f"{call}: expected the input's channels first, then zeros — the zero channels"
                " come first; append them after the input's channels"
            )
        return _fail(
            f"{call}: the first {in_channels} channels should equal"
            f" x[:, :, ::{stride}, ::{stride}] (every {ordinal(stride)} pixel, starting at 0)"
        )
    if not bool((got[:, in_channels:] == 0).all()):
        return _fail(f"{call}: the {out_channels - in_channels} appended channels should be zeros")
    return _ok(f"{call}: values match")


def _zero_pad_shape_hint(got: list[int], shape: tuple, out_channels: int) -> str:
    """Why option A's output has the wrong shape: no subsampling, or zeros on the wrong axis."""
    if len(got) != 4:
        return ""
    if got[1] == out_channels and got[2:] == list(shape[2:]):
        return " — the shortcut ignores the stride: option A keeps every stride-th pixel"
    if got[1] == shape[1] != out_channels:
        return (
            " — the zeros went on height or width, not on the channels: F.pad's pairs start"
            " from the last dimension, so the channels' pair comes third"
        )
    return ""
