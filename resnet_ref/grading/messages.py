"""What a learner reads: the result of a check and the wording of its failures.

The lowest part of :mod:`resnet_ref.grading`: it imports nothing from the other parts.
:class:`Result` and :func:`expect` are what every test cell sees; the rest describes how a
module was built (:func:`describe_call`), its layers (:func:`describe_layer`) and an error it
raised, and turns a difference the other parts found (a layer where another was expected, a
wrong output shape, a wrong parameter count) into the likely mistake, for one-line messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:  # only for annotations: tracing imports this module
    from .tracing import LayerCall


@dataclass(frozen=True)
class Result:
    """The outcome of one check: ``passed`` and a one-line ``message`` for the learner."""

    passed: bool
    message: str


def expect(result: Result) -> None:
    """Raise ``AssertionError(result.message)`` if the check failed; do nothing if it passed."""
    if type(result) is not Result:
        raise TypeError(f"expect() takes the Result of a check, got {type(result).__name__}")
    if result.passed is not True:
        raise AssertionError(result.message)


def _ok(message: str = "ok") -> Result:
    return Result(True, message)


def _fail(message: str) -> Result:
    return Result(False, " ".join(message.split()))


class _LearnerError(Exception):
    """Learner code failed; the message is ready for the learner."""


# --- describing calls and layers ------------------------------------------------------------


def describe_call(block: Callable, args: tuple, kwargs: dict) -> str:
    """``BasicBlock(64, 128, stride=2)``: how the module under test was built."""
    name = getattr(block, "__name__", type(block).__name__)

    def text(value) -> str:
        return value.__name__ if isinstance(value, type) else repr(value)

    parts = [text(a) for a in args] + [f"{k}={text(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def _padding(conv: nn.Conv2d) -> tuple:
    if conv.padding == "valid":
        return (0, 0)
    if conv.padding == "same":
        return tuple(d * (k - 1) // 2 for d, k in zip(conv.dilation, conv.kernel_size, strict=True))
    return _pair(conv.padding)


def describe_layer(layer: nn.Module) -> str:
    """A short human description, e.g. ``1x1 Conv2d(64→256, stride 2)``."""
    if isinstance(layer, nn.Conv2d):
        kh, kw = _pair(layer.kernel_size)
        stride = _pair(layer.stride)
        text = f"{kh}x{kw} Conv2d({layer.in_channels}→{layer.out_channels}, stride "
        text += f"{stride[0]}" if stride[0] == stride[1] else f"{stride}"
        padding = _padding(layer)
        if padding != (kh // 2, kw // 2):
            text += f", padding {padding[0] if padding[0] == padding[1] else padding}"
        if layer.groups != 1:
            text += f", groups {layer.groups}"
        if _pair(layer.dilation) != (1, 1):
            text += f", dilation {layer.dilation}"
        return text + ")"
    if isinstance(layer, nn.BatchNorm2d):
        extras = ""
        if layer.eps != 1e-5:
            extras += f", eps={layer.eps}"
        if layer.momentum != 0.1:
            extras += f", momentum={layer.momentum}"
        if not layer.affine:
            extras += ", affine=False"
        return f"BatchNorm2d({layer.num_features}{extras})"
    if isinstance(layer, nn.Linear):
        bias = "" if layer.bias is not None else ", no bias"
        return f"Linear({layer.in_features}→{layer.out_features}{bias})"
    return type(layer).__name__


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


NOT_DONE = "(the exercise is not done yet)"  # what a stub's NotImplementedError means


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _not_an_int_hint(type_name: str) -> str:
    """Why a function that must return an int returned a ``type_name``: a forgotten
    ``return`` gives None, ``/`` a float, NumPy and PyTorch arithmetic their own scalars."""
    if type_name == "NoneType":
        return " — it returns nothing: is the return statement missing?"
    if type_name in ("float", "float64", "float32"):
        return " — a float is no int, even a whole one: compute with ints (// rather than /)"
    return " — convert the result with int(...)"


def _error_hint(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, NotImplementedError):
        return f" {NOT_DONE}"
    if "must match the size of tensor" in text or "size mismatch" in text:
        # Where two shapes meet: a block's addition, or squeeze-and-excitation's product.
        return (
            " — two tensors of different shapes meet: in a block, the residual branch and the"
            " shortcut must agree (a projection is needed whenever the stride is not 1 or the"
            " channel count changes, with the block's stride); in squeeze-and-excitation, the"
            " channel weights must be shaped [N, C, 1, 1] to scale x"
        )
    if "before Module.__init__() call" in text:
        return " — call super().__init__() first in __init__"
    if "inplace operation" in text or "in-place operation" in text:
        return " — an in-place operation, e.g. += or ReLU(inplace=True), broke autograd"
    if "expected input" in text and "channels" in text:
        return " — a layer gets a different number of channels than it was built for"
    if "mat1 and mat2 shapes cannot be multiplied" in text:
        return " — the linear layer gets a different number of features than it was built for"
    return ""


# --- hints: the likely mistake behind a difference ---------------------------------------

# A message names its likely mistake after this dash (autograder/report.py counts the
# mistakes a class made by the same split).
HINT_DASH = " — "

# What a message says after the dash when no known mistake fits: advice, not a diagnosis.
NO_DIAGNOSIS = {
    "block": "check the order conv → BN → ReLU and where the shortcut is added",
    "squeeze-excitation": (
        "check the order: average pool → reduce → ReLU → expand → sigmoid → multiply"
    ),
}


def likely_mistake(message: str) -> str:
    """The mistake a failed check's message names after its dash, or ``""`` when it names
    none (no dash, or only the advice of :data:`NO_DIAGNOSIS`)."""
    _, dash, hint = message.partition(HINT_DASH)
    hint = hint.split(" (the same inputs again:")[0].removesuffix("; fix the forward pass first")
    hint = hint.removeprefix("likely mistake: ").strip()
    return "" if not dash or hint in NO_DIAGNOSIS.values() else hint


def _in_role(call: LayerCall) -> str:
    return f" (in the {call.role})" if call.role else ""


def _stage_stride(stage: int, reference: list[LayerCall]) -> tuple:
    """The stride of a network's stage: the largest stride in its first block."""
    first = [c for c in reference if c.block == (stage, 0) and c.signature[0] == "Conv2d"]
    return max((c.signature[4] for c in first), default=(1, 1))


def _mismatch_hint(
    expected: LayerCall, found: LayerCall | None, reference: list[LayerCall] = ()
) -> str:
    """Name the likely mistake when the reference's ``expected`` layer is not where it should be
    (``reference``: all the reference's layers, which place it in a whole network)."""
    e = expected.signature
    if found is None:
        if expected.role == "shortcut" and e[0] == "BatchNorm2d":
            return " — BN missing on the projection"
        if expected.role == "shortcut":
            return (
                " — the block has no projection shortcut where the shapes change"
                " (identity where a projection is needed?)"
            )
        return ""
    f = found.signature
    if e[0] == f[0] == "Conv2d":
        if e[:4] == f[:4] and e[5:] == f[5:] and e[4] != f[4]:
            if expected.role == "shortcut":
                return " — the projection ignores the block's stride"
            if expected.block is not None and e[4] == (1, 1):
                stage = expected.block[0]
                if _stage_stride(stage, reference) == (1, 1):
                    return f" — stage {stage} keeps its input's resolution: no block in it strides"
                if expected.block[1] > 0 and f[4] == _stage_stride(stage, reference):
                    return (
                        " — only the first block of a stage has the stride; the others use stride 1"
                    )
            return " — the stride is on the wrong convolution or missing"
        if expected.block is not None and e[1] == f[1] and e[3:] == f[3:] and f[2] == 2 * e[2]:
            stage = expected.block[0]
            return (
                f" — twice the channels of stage {stage}: its blocks get out_channels"
                f" {e[2]} (are the stages' widths doubled?)"
            )
        if e[:5] == f[:5] and e[6:] == f[6:]:
            return " — the padding is wrong: a 3x3 convolution needs padding 1"
        if e[1] == f[1] and e[3:] == f[3:] and e[2] == 4 * f[2]:
            return " — wrong expansion: a bottleneck's last 1x1 outputs 4 × out_channels"
        if e[:7] == f[:7] and e[7] != f[7]:
            return f" — the 3x3 convolution must be grouped: groups={e[7]}"
        if e[1] == f[1] and e[3:] == f[3:] and e[3] == (1, 1) and expected.role != "shortcut":
            return (
                " — wrong bottleneck width: a grouped bottleneck works at"
                " int(out_channels * base_width / 64) * groups channels"
            )
        return ""
    if e[0] == "BatchNorm2d" and f[0] == "Conv2d":
        if expected.role == "shortcut":
            return " — BN missing on the projection"
        return " — a BatchNorm is missing"
    if e[0] == f[0] == "BatchNorm2d" and e[1] != f[1]:
        return " — a BatchNorm2d needs as many features as its convolution has output channels"
    return ""


def _extra_hint(extra: LayerCall, reference: list[LayerCall]) -> str:
    s = extra.signature
    if s[0] == "Conv2d" and s[3] == (1, 1) and s[4] == (1, 1) and s[1] == s[2]:
        return " — a projection where the identity suffices?"
    if s[0] == "BatchNorm2d" and extra.role == "shortcut":
        return " — a pre-activation projection is a 1x1 convolution alone, without BatchNorm"
    if s[0] == "Conv2d" and any(call.block is not None for call in reference):
        return " — more blocks than the reference has: how many blocks does each stage get?"
    return ""


def _shape_hint(expected: list[int], got: list[int], input_shape: tuple) -> str:
    if len(got) != len(expected):
        return ""
    if len(got) == 4 and got[2:] != expected[2:] and got[2:] == list(input_shape[2:]):
        return " — the block ignores the stride"
    if len(got) == 4 and got[2:] == [1, 1] != expected[2:]:
        return " — the output was pooled to 1x1: return a full feature map (SE: x, scaled)"
    if len(got) == 4 and got[2:] != expected[2:]:
        return " — the stride or padding is wrong"
    if got[1] != expected[1] and expected[1] == 4 * got[1]:
        return " — wrong expansion: a bottleneck outputs 4 × out_channels channels"
    if got[1] != expected[1] and got[1] == input_shape[1]:
        return " — the output keeps the input's channels: the last layer must change them"
    return ""


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _projection_size(in_channels: int, out_channels: int) -> int:
    return in_channels * out_channels + 2 * out_channels


def _count_hint(difference: int, ref: nn.Module, learner_biases: int | None) -> str:
    """Explain a difference ``got - expected`` in parameter counts, if it has a known cause.

    ``learner_biases`` counts the learner's convolution biases; ``None`` when the count came
    from a formula, not a module."""
    shortcut = [m for name, m in ref.named_modules() if "shortcut" in name.split(".")]
    shortcut_params = sum(_count(m) for m in shortcut[:1])
    shortcut_bn = sum(_count(m) for m in shortcut[1:] if isinstance(m, nn.BatchNorm2d))
    bn_params = sum(_count(m) for m in ref.modules() if isinstance(m, nn.BatchNorm2d))
    convs = [m for m in ref.modules() if isinstance(m, nn.Conv2d)]
    in_channels, out_channels = getattr(ref, "in_channels", 0), getattr(ref, "out_channels", 0)
    if learner_biases is not None:
        if learner_biases and difference == learner_biases:
            return (
                " — the convolutions have biases; BatchNorm's shift makes them redundant:"
                " use bias=False"
            )
    elif difference == sum(c.out_channels for c in convs):
        return " — it counts convolution biases, but the block's convolutions have bias=False"
    if shortcut_bn and difference == -shortcut_bn:
        return " — BN missing on the projection"
    if shortcut_params and difference == -shortcut_params:
        return " — no projection where the shapes change (identity where a projection is needed?)"
    if not shortcut_params and difference == _projection_size(in_channels, out_channels):
        return " — a projection where the identity suffices"
    if difference == -bn_params:
        return " — the BatchNorm scales and shifts (2 per channel) are missing"
    shortcut_convs = [m for m in shortcut if isinstance(m, nn.Conv2d)]
    if shortcut_convs and not shortcut_bn and difference == 2 * shortcut_convs[0].out_channels:
        return " — a pre-activation projection is a 1x1 convolution alone, without BatchNorm"
    grouped = [c for c in convs if c.groups > 1]
    if grouped and difference == sum(_count(c) * (c.groups - 1) for c in grouped):
        return f" — the 3x3 convolution must be grouped: groups={grouped[0].groups}"
    return _bottleneck_count_hint(difference, ref, shortcut_params)


def _bottleneck_count_hint(difference: int, ref: nn.Module, shortcut_params: int) -> str:
    """The count slips of a bottleneck (``conv1``, ``conv2``, ``conv3``, ``expansion`` 4): its
    last 1x1 without the expansion, or a grouped width that leaves out ``base_width / 64``."""
    convs = [getattr(ref, name, None) for name in ("conv1", "conv2", "conv3")]
    if getattr(ref, "expansion", 1) == 1 or not all(isinstance(c, nn.Conv2d) for c in convs):
        return ""
    conv1, conv2, conv3 = convs
    width, planes = conv2.out_channels, ref.out_channels // ref.expansion
    in_channels, stride = conv1.in_channels, getattr(ref, "stride", 1)
    # The last 1x1 outputs planes, not 4 × planes; the shortcut then projects to planes too.
    projection = (
        _projection_size(in_channels, planes) if stride != 1 or in_channels != planes else 0
    )
    unexpanded = width * planes + 2 * planes + projection - _count(conv3) - 2 * ref.out_channels
    if difference == unexpanded - shortcut_params:
        return " — wrong expansion: a bottleneck's last 1x1 outputs 4 × out_channels"
    # A width of planes × groups: two 1x1s, the grouped 3x3 and two BatchNorms change size.
    wider = planes * conv2.groups
    size = in_channels + conv3.out_channels + 4
    if (
        wider != width
        and difference
        == (wider - width) * size + 9 * (wider * wider - width * width) // conv2.groups
    ):
        return (
            " — wrong bottleneck width: a grouped bottleneck works at"
            " int(out_channels * base_width / 64) * groups channels"
        )
    return ""
