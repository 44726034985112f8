"""Checks that compare a learner's module with the reference, by behaviour.

The test cells of the graded exercises call these functions. Each returns a :class:`Result`:
``passed`` and one line of ``message`` that says what was expected, what came out and the
likely mistake; :func:`expect` turns a failed result into an ``AssertionError`` with that line.

The comparison does not care what a learner called the attributes or how the code is arranged.
It runs both modules once on a probe input and records the ``Conv2d``, ``BatchNorm2d`` and
``Linear`` layers in the order they *run* (:func:`trace_layers`), pairs the learner's layers
with the reference's (:func:`match_layers`), copies the reference's weights and buffers into
the learner's layers (:func:`transplant`) and then compares outputs and input gradients on
fresh random inputs, in train and in eval mode.

Layers are paired in run order, with one relaxation: a layer that in the reference takes its
input straight from another layer (a BatchNorm after its convolution, say) is paired with the
learner's layer that does the same. So computing the shortcut before the residual branch, or
after it, pairs the same layers.

Two rules keep a correct solution from losing points to noise: a check writes nothing to
stderr or stdout (warnings and prints inside it are swallowed, because nbgrader scores a test
cell that writes to stderr as zero), and a check never trusts an object's own ``__eq__``:
outputs must be real ``torch.Tensor`` objects and counts real ``int`` values, compared with
torch and Python arithmetic.

To diagnose a wrong output, each reference class may list known mistakes in
:data:`MISTAKES`: functions that compute the reference's output *with* that mistake. When the
learner's output equals one of them, the message names the mistake.
"""

from __future__ import annotations

import contextlib
import copy
import io
import operator
import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.ops import SqueezeExcitation

from .blocks import BasicBlock, BottleneckBlock, PreActBlock
from .models import ResNet

LAYER_TYPES = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)

# Outputs and gradients agree when max |got - expected| <= TOLERANCE * max(1, max |expected|).
# Float32 sums in a different order differ by about 1e-6; every mistake differs by far more.
TOLERANCE = 1e-4

# Options of the check functions; every other keyword argument goes to the constructors.
# ``allow=(classes...)`` names resnet_ref classes that an exercise gives the learner (the
# blocks of a whole network): the learner's module may contain them.
_OPTIONS = ("input_shape", "modes", "allow")


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


# --- keeping checks quiet -----------------------------------------------------------------


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow warnings and anything printed, so that a check writes nothing to stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sink = io.StringIO()
        with contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
            yield


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run on one CPU thread: the checks' tensors are tiny, and several threads waiting for each
    other on a busy machine make a 1 ms convolution take 100 ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fresh_generator() -> torch.Generator:
    """A generator seeded from the operating system: every run draws new inputs."""
    return torch.Generator().manual_seed(secrets.randbits(62))


def _random(shape, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(*shape, generator=generator)


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


def layer_signature(layer: nn.Module) -> tuple:
    """What must agree for two layers to be interchangeable (a conv's bias is left out)."""
    if isinstance(layer, nn.Conv2d):
        return (
            "Conv2d",
            layer.in_channels,
            layer.out_channels,
            _pair(layer.kernel_size),
            _pair(layer.stride),
            _padding(layer),
            _pair(layer.dilation),
            layer.groups,
            layer.padding_mode,
        )
    if isinstance(layer, nn.BatchNorm2d):
        return (
            "BatchNorm2d",
            layer.num_features,
            layer.eps,
            layer.momentum,
            layer.affine,
            layer.track_running_stats,
        )
    if isinstance(layer, nn.Linear):
        return ("Linear", layer.in_features, layer.out_features, layer.bias is not None)
    raise TypeError(f"not a layer the grader pairs: {type(layer).__name__}")


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


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _error_hint(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, NotImplementedError):
        return " (the exercise is not done yet)"
    if "must match the size of tensor" in text or "size mismatch" in text:
        return (
            " (the residual branch and the shortcut disagree in shape: a projection is needed"
            " whenever the stride is not 1 or the channel count changes, and it must use the"
            " block's stride)"
        )
    if "before Module.__init__() call" in text:
        return " (call super().__init__() first in __init__)"
    if "inplace operation" in text or "in-place operation" in text:
        return " (an in-place operation, e.g. += or ReLU(inplace=True), broke autograd)"
    if "expected input" in text and "channels" in text:
        return " (a layer gets a different number of channels than it was built for)"
    if "mat1 and mat2 shapes cannot be multiplied" in text:
        return " (the linear layer gets a different number of features than it was built for)"
    return ""


# --- building and running learner code ---------------------------------------------------------


class _LearnerError(Exception):
    """Learner code failed; the message is ready for the learner."""


def _split(kwargs: dict) -> tuple[dict, dict]:
    options = {k: kwargs.pop(k) for k in _OPTIONS if k in kwargs}
    return kwargs, options


def _build(block: Callable, args: tuple, kwargs: dict, options: dict | None = None) -> nn.Module:
    call = describe_call(block, args, kwargs)
    try:
        module = block(*args, **kwargs)
    except Exception as error:
        message = f"{call} could not be built: {_first_line(error)}{_error_hint(error)}"
        raise _LearnerError(message) from None
    if not isinstance(module, nn.Module):
        raise _LearnerError(f"{call} should be an nn.Module, got {type(module).__name__}")
    borrowed = _borrowed_class(module, tuple((options or {}).get("allow", ())))
    if borrowed is not None:
        raise _LearnerError(
            f"{call} uses {borrowed.__module__}.{borrowed.__qualname__}: write the block yourself"
            " from nn.Conv2d, nn.BatchNorm2d and the like"
        )
    return module


# Ready-made blocks a learner must not hand in as their own.
_FORBIDDEN_PACKAGES = ("resnet_ref", "torchvision")


def _borrowed_class(module: nn.Module, allow: tuple = ()) -> type | None:
    """The first class of ``module`` or its submodules that comes from a forbidden package.

    Instances of the classes in ``allow``, and everything inside them, are left out.
    """
    given = {id(m) for p in module.modules() if type(p) in allow for m in p.modules()}
    for submodule in module.modules():
        if id(submodule) in given:
            continue
        for cls in type(submodule).__mro__:
            if cls.__module__.split(".")[0] in _FORBIDDEN_PACKAGES:
                return cls
    return None


def _forward(module: nn.Module, x: torch.Tensor, call: str) -> torch.Tensor:
    try:
        out = module(x)
    except Exception as error:
        raise _LearnerError(f"{call} raised {_first_line(error)}{_error_hint(error)}") from None
    if type(out) is not torch.Tensor:
        raise _LearnerError(f"{call} should return a torch.Tensor, got {type(out).__name__}")
    return out


def _input_shape(args: tuple, options: dict) -> tuple:
    if "input_shape" in options:
        return tuple(options["input_shape"])
    if not args or type(args[0]) is not int:
        raise TypeError("pass input_shape=: the first argument is not a channel count")
    return (2, args[0], 8, 8)


# --- tracing and pairing layers -------------------------------------------------------------


@dataclass
class LayerCall:
    """One layer running once: the module, what it is, and where its input came from.

    ``source`` is ``"input"`` when the layer acts directly on the probe input, the index of
    the earlier call whose output it takes unchanged, or ``None`` (the input was computed by
    something else, e.g. a ReLU or an addition).
    """

    module: nn.Module
    signature: tuple
    description: str
    source: object
    role: str = ""


def _key(tensor: torch.Tensor) -> tuple:
    # The version counter grows with every in-place change: after an in-place ReLU the
    # tensor is no longer the output of the layer that made it.
    return (tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()), tensor._version)


class NotATensorError(TypeError):
    """A forward pass returned something other than a plain ``torch.Tensor``."""


def trace_layers(model: nn.Module, x: torch.Tensor) -> tuple[list[LayerCall], Exception | None]:
    """Run ``model`` once on ``x`` (eval mode, no grad); list its layers in the order they ran.

    Returns the calls and the exception the forward pass raised (a :class:`NotATensorError` if
    it returned no plain tensor), or ``None``; the calls made before an exception are kept, so a
    crash can still be explained.
    """
    names = {id(m): name for name, m in model.named_modules()}
    calls: list[LayerCall] = []
    keep_alive: list[torch.Tensor] = []  # so that no tensor's memory is reused during the run
    producers = {_key(x): "input"}

    def hook(module, inputs, output):
        if not isinstance(module, LAYER_TYPES) or not inputs:
            return
        first = inputs[0]
        source = producers.get(_key(first)) if isinstance(first, torch.Tensor) else None
        calls.append(
            LayerCall(
                module,
                layer_signature(module),
                describe_layer(module),
                source,
                _role(names.get(id(module), "")),
            )
        )
        if isinstance(output, torch.Tensor):
            keep_alive.append(output)
            producers[_key(output)] = len(calls) - 1

    was_training = model.training
    handle = nn.modules.module.register_module_forward_hook(hook)
    error = None
    try:
        model.eval()
        with torch.no_grad():
            output = model(x)
        if type(output) is not torch.Tensor:
            error = NotATensorError(f"should return a torch.Tensor, got {type(output).__name__}")
    except Exception as exc:
        error = exc
    finally:
        handle.remove()
        model.train(was_training)
    # A lazy layer knows its shape only after it ran: describe every call again.
    for call in calls:
        call.signature = layer_signature(call.module)
        call.description = describe_layer(call.module)
    return calls, error


def _role(name: str) -> str:
    parts = name.split(".")
    if any(part in ("shortcut", "downsample") for part in parts):
        return "shortcut"
    if parts[0] == "stem":
        return "stem"
    if parts[-1] == "fc":
        return "classifier"
    return "residual branch" if name else ""


def _in_role(call: LayerCall) -> str:
    return f" (in the {call.role})" if call.role else ""


def _mismatch_hint(expected: LayerCall, found: LayerCall | None) -> str:
    """Name the likely mistake when the reference's ``expected`` layer is not where it should be."""
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
            return " — the stride is on the wrong convolution or missing"
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


def _extra_hint(extra: LayerCall) -> str:
    s = extra.signature
    if s[0] == "Conv2d" and s[3] == (1, 1) and s[4] == (1, 1) and s[1] == s[2]:
        return " — a projection where the identity suffices?"
    if s[0] == "BatchNorm2d" and extra.role == "shortcut":
        return " — a pre-activation projection is a 1x1 convolution alone, without BatchNorm"
    return ""


def match_layers(reference: list[LayerCall], learner: list[LayerCall]) -> list[int] | str:
    """Pair every reference call with a learner call; return the pairing or a message.

    The pairing lists, for each reference call in order, the index of the learner's call.
    """
    seen: dict[int, LayerCall] = {}
    for call in learner:
        if id(call.module) in seen:
            return (
                f"the same {call.description} runs twice in one forward pass;"
                " every step needs its own layer (and its own weights)"
            )
        seen[id(call.module)] = call

    pairing: list[int] = []
    used: set[int] = set()
    for i, ref in enumerate(reference):
        candidates = [
            j for j, c in enumerate(learner) if j not in used and c.signature == ref.signature
        ]

        def flows(j: int, ref: LayerCall = ref) -> bool:
            if isinstance(ref.source, int):
                return learner[j].source == pairing[ref.source]
            return True

        def same_start(j: int, ref: LayerCall = ref) -> bool:
            return (learner[j].source == "input") == (ref.source == "input")

        good = [j for j in candidates if flows(j)]
        # Among equal layers, prefer the one that, like the reference's, does (or does not)
        # read the input directly: a shortcut's 1x1 conv can look like a bottleneck's last one.
        good.sort(key=lambda j: not same_start(j))
        if not good:
            where = f"as the {ordinal(i + 1)} layer to run"
            expected = f"a {ref.description}{_in_role(ref)}"
            if candidates:  # the layer exists but takes its input from somewhere else
                producer = reference[ref.source]
                hint = (
                    " (is a BatchNorm applied after the addition?)"
                    if ref.signature[0] == "BatchNorm2d"
                    else ""
                )
                return (
                    f"expected the {ref.description}{_in_role(ref)} to act directly on the"
                    f" output of the {producer.description}, but yours acts on something"
                    f" else{hint}"
                )
            unmatched = [c for j, c in enumerate(learner) if j not in used]
            if unmatched:
                found = unmatched[0]
                return (
                    f"expected {expected} {where}, found a {found.description}"
                    f"{_mismatch_hint(ref, found)}"
                )
            return (
                f"expected {expected} {where}, but only {len(learner)} layers ran"
                f"{_mismatch_hint(ref, None)}"
            )
        pairing.append(good[0])
        used.add(good[0])

    extras = [(j, c) for j, c in enumerate(learner) if j not in used]
    if extras:
        j, extra = extras[0]
        return (
            f"found an extra {extra.description} (the {ordinal(j + 1)} layer to run) that"
            f" resnet_ref does not have{_extra_hint(extra)}"
        )
    return pairing


def transplant(reference: list[LayerCall], learner: list[LayerCall], pairing: list[int]) -> None:
    """Copy the reference layers' weights and buffers into the paired learner layers.

    A learner's convolution bias, which the reference does not have, is set to zero: a bias
    before BatchNorm changes nothing but the parameter count, and that has its own check.
    """
    with torch.no_grad():
        for ref_call, j in zip(reference, pairing, strict=True):
            source, target = ref_call.module, learner[j].module
            if getattr(target, "weight", None) is not None:
                target.weight.copy_(source.weight)
            if getattr(target, "bias", None) is not None:
                if source.bias is None:
                    target.bias.zero_()
                else:
                    target.bias.copy_(source.bias)
            if isinstance(target, nn.BatchNorm2d) and target.track_running_stats:
                target.running_mean.copy_(source.running_mean)
                target.running_var.copy_(source.running_var)
                target.num_batches_tracked.copy_(source.num_batches_tracked)


def randomise(model: nn.Module, generator: torch.Generator) -> None:
    """Give every BatchNorm random scales, shifts and running statistics.

    Fresh BatchNorms are the identity in eval mode, which would hide mistakes such as a
    BatchNorm in the wrong place; random ones make every layer matter.
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                if module.affine:
                    module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                    module.bias.copy_(0.5 * torch.randn(n, generator=generator))
                if module.track_running_stats:
                    module.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
                    module.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=generator))


def _paired(block, reference, args, kwargs, options, generator):
    """Build both modules, randomise the reference, transplant it; return what the checks use."""
    call = describe_call(block, args, kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        ref = reference(*args, **kwargs)
    randomise(ref, generator)
    learner = _build(block, args, kwargs, options)
    shape = _input_shape(args, options)
    probe = _random(shape, generator)
    ref_calls, ref_error = trace_layers(ref, probe.clone())
    if ref_error is not None:  # a bug in the test itself, not in the learner's code
        raise ref_error
    learner_calls, learner_error = trace_layers(learner, probe.clone())
    if isinstance(learner_error, NotATensorError):
        raise _LearnerError(f"{call} {learner_error}")
    pairing = match_layers(ref_calls, learner_calls)
    if isinstance(pairing, str):
        if learner_error is not None and len(learner_calls) < len(ref_calls):
            pairing = pairing.replace(
                f"but only {len(learner_calls)} layers ran",
                f"but your forward raised {_first_line(learner_error)} before it ran",
            )
            if " — " not in pairing:
                pairing += _error_hint(learner_error)
        raise _LearnerError(f"{call}: {pairing}")
    if learner_error is not None:
        raise _LearnerError(
            f"{call} raised {_first_line(learner_error)}{_error_hint(learner_error)}"
        )
    transplant(ref_calls, learner_calls, pairing)
    return call, ref, learner, shape


# --- comparing tensors ----------------------------------------------------------------------


def _difference(got: torch.Tensor, expected: torch.Tensor) -> float:
    """max |got - expected| relative to max(1, max |expected|), from real tensors only."""
    got = torch.Tensor.detach(got).to(torch.float64)
    expected = torch.Tensor.detach(expected).to(torch.float64)
    if not bool(torch.isfinite(got).all()):
        return float("inf")
    scale = max(1.0, float(expected.abs().max()))
    return float((got - expected).abs().max()) / scale


def _shape(tensor: torch.Tensor) -> list[int]:
    return [int(s) for s in tensor.shape]


def _shape_hint(expected: list[int], got: list[int], input_shape: tuple) -> str:
    if len(got) != len(expected):
        return ""
    if len(got) == 4 and got[2:] != expected[2:] and got[2:] == list(input_shape[2:]):
        return " — the block ignores the stride"
    if len(got) == 4 and got[2:] != expected[2:]:
        return " — the stride or padding is wrong"
    if got[1] != expected[1] and expected[1] == 4 * got[1]:
        return " — wrong expansion: a bottleneck outputs 4 × out_channels channels"
    if got[1] != expected[1] and got[1] == input_shape[1]:
        return " — the output keeps the input's channels: the last layer must change them"
    return ""


# --- known mistakes, computed from the reference's own layers ---------------------------------


def _basic_parts(b: BasicBlock, x: torch.Tensor, middle_relu: bool = True):
    """The basic block's last convolution output (before its BN) and its shortcut output."""
    h = b.bn1(b.conv1(x))
    h = torch.relu(h) if middle_relu else h
    return b.conv2(h), b.shortcut(x)


def _bottleneck_parts(b: BottleneckBlock, x: torch.Tensor, relus: tuple = (True, True)):
    """The bottleneck's last convolution output (before its BN) and its shortcut output."""
    h = b.bn1(b.conv1(x))
    h = torch.relu(h) if relus[0] else h
    h = b.bn2(b.conv2(h))
    h = torch.relu(h) if relus[1] else h
    return b.conv3(h), b.shortcut(x)


# How a post-activation block may combine its last convolution's output ``c``, the shortcut's
# output ``s`` and its last BatchNorm ``bn`` wrongly; the right way is relu(bn(c) + s).
_RELU = torch.relu
_COMBINATION_MISTAKES = [
    (
        "ReLU applied to the residual branch before the addition (after the last BatchNorm"
        " comes the addition, and only then the ReLU)",
        lambda c, s, bn: _RELU(_RELU(bn(c)) + s),
    ),
    (
        "the ReLU sits before the addition instead of after it",
        lambda c, s, bn: _RELU(bn(c)) + s,
    ),
    ("ReLU applied to the shortcut before the addition", lambda c, s, bn: _RELU(bn(c) + _RELU(s))),
    ("no final ReLU after the addition", lambda c, s, bn: bn(c) + s),
    ("the shortcut is never added (forgot the addition?)", lambda c, s, bn: _RELU(bn(c))),
    (
        "the last BatchNorm is applied after the addition; it belongs on the residual branch,"
        " before the sum",
        lambda c, s, bn: _RELU(bn(c + s)),
    ),
]


def _post_activation_mistakes(parts: Callable, last_bn: str, middle_variants: list) -> list:
    """The known mistakes of a conv-BN-ReLU block computing ``relu(F(x) + shortcut(x))``."""

    def combined(combination):
        def mistake(block, x):
            c, s = parts(block, x)
            return combination(c, s, getattr(block, last_bn))

        return mistake

    def middle(block, x):
        outputs = []
        for variant in middle_variants:
            c, s = parts(block, x, variant)
            outputs.append(_RELU(getattr(block, last_bn)(c) + s))
        return outputs

    return [(message, combined(c)) for message, c in _COMBINATION_MISTAKES] + [
        ("a ReLU inside the residual branch is missing", middle)
    ]


def _preact_raw_projection(b: PreActBlock, x: torch.Tensor) -> torch.Tensor:
    """A pre-activation block whose projection reads x instead of relu(bn1(x))."""
    pre = torch.relu(b.bn1(x))
    return b.residual(pre) + b.shortcut(x)


def _se_scaled(se: SqueezeExcitation, x: torch.Tensor, pool: Callable, gate: Callable):
    return x * gate(se.fc2(torch.relu(se.fc1(pool(x)))))


def _max_pool(x: torch.Tensor) -> torch.Tensor:
    return x.amax(dim=(2, 3), keepdim=True)


def _resnet_with_stem(stem: Callable) -> Callable:
    """A whole network's output when its stem computes ``stem(net.stem, x)`` instead."""

    def mistake(net: ResNet, x: torch.Tensor) -> torch.Tensor:
        h = stem(net.stem, x)
        for stage in net.stages():
            h = stage(h)
        return net.fc(torch.flatten(net.pool(h), 1))

    return mistake


def _stem_without_pool(stem: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if not hasattr(stem, "pool"):
        raise LookupError("this stem has no max-pool")
    return torch.relu(stem.bn(stem.conv(x)))


def _stem_without_relu(stem: nn.Module, x: torch.Tensor) -> torch.Tensor:
    h = stem.bn(stem.conv(x))
    return stem.pool(h) if hasattr(stem, "pool") else h


RESNET_MISTAKES = [
    (
        "the max-pool after the stem is missing (nn.MaxPool2d(3, stride=2, padding=1) after"
        " its ReLU)",
        _resnet_with_stem(_stem_without_pool),
    ),
    (
        "the stem's max-pool has no padding (nn.MaxPool2d(3, stride=2, padding=1))",
        _resnet_with_stem(
            lambda s, x: nn.functional.max_pool2d(_stem_without_pool(s, x), 3, stride=2)
        ),
    ),
    ("the stem has no ReLU after its BatchNorm", _resnet_with_stem(_stem_without_relu)),
]

MISTAKES: dict[type, list[tuple[str, Callable]]] = {
    ResNet: RESNET_MISTAKES,
    BasicBlock: _post_activation_mistakes(_basic_parts, "bn2", [False]),
    BottleneckBlock: _post_activation_mistakes(
        _bottleneck_parts, "bn3", [(False, True), (True, False)]
    ),
    PreActBlock: [
        (
            "a ReLU after the addition; a pre-activation block leaves the sum as it is",
            lambda b, x: torch.relu(b(x)),
        ),
        (
            "the projection shortcut takes x; in a pre-activation block it takes the"
            " pre-activated input relu(bn1(x))",
            _preact_raw_projection,
        ),
    ],
    SqueezeExcitation: [
        (
            "no sigmoid: the channel weights must be squashed into (0, 1) before scaling",
            lambda se, x: _se_scaled(se, x, se.avgpool, lambda s: s),
        ),
        (
            "the squeeze takes the maximum over each channel; it is the global average",
            lambda se, x: _se_scaled(se, x, _max_pool, torch.sigmoid),
        ),
    ],
}
"""Known mistakes per reference class: ``(message, function(reference_module, x))``.

The function computes what the reference would output with that mistake (one tensor, or a
list of tensors for a family of mistakes); add entries for new reference classes (a whole
ResNet, a variant block) in the same way.
"""


def _diagnose(reference_snapshot: nn.Module, x: torch.Tensor, got: torch.Tensor) -> str:
    """Name the known mistake whose output equals ``got``, or return ''."""
    for message, mistake in MISTAKES.get(type(reference_snapshot), []):
        try:
            with torch.no_grad():
                outputs = mistake(copy.deepcopy(reference_snapshot), x.clone())
        except Exception:
            continue
        for output in outputs if isinstance(outputs, list) else [outputs]:
            if output.shape == got.shape and _difference(got, output) <= TOLERANCE:
                return message
    return ""


def _output_mismatch(call, mode, got, expected, snapshot, x) -> str:
    difference = _difference(got, expected)
    mistake = _diagnose(snapshot, x, got)
    if not mistake and float(got.min()) < -TOLERANCE <= float(expected.min()):
        mistake = (
            f"the output has negative values (min {float(got.min()):.3g}) though a block"
            " ends with a ReLU: is the final ReLU missing?"
        )
    if not mistake:
        mistake = "check the order conv → BN → ReLU and where the shortcut is added"
    return (
        f"{call}, {mode} mode: expected the reference's output, got one that differs by"
        f" {difference:.3g} (relative) — likely mistake: {mistake}"
    )


# --- the checks -----------------------------------------------------------------------------


def _checked(function: Callable[..., Result]) -> Callable[..., Result]:
    """Run a check quietly and turn a learner's error into a failed Result."""

    def run(*args, **kwargs) -> Result:
        with quiet(), _one_thread():
            try:
                return function(*args, **kwargs)
            except _LearnerError as error:
                return _fail(str(error))

    run.__name__ = function.__name__
    run.__qualname__ = function.__qualname__
    run.__doc__ = function.__doc__
    return run


@_checked
def check_shape(block, reference, *args, **kwargs) -> Result:
    """The learner's module gives an output of the reference's shape (and class attributes match).

    ``check_shape(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2)``; the input is
    ``[2, in_channels, 8, 8]`` unless ``input_shape=`` says otherwise.
    """
    kwargs, options = _split(kwargs)
    call = describe_call(block, args, kwargs)
    generator = fresh_generator()
    shape = _input_shape(args, options)
    x = _random(shape, generator)
    expected = reference(*args, **kwargs).eval()(x.clone())
    learner = _build(block, args, kwargs, options)
    learner.eval()
    with torch.no_grad():
        got = _forward(learner, x.clone(), call)
    if _shape(got) != _shape(expected):
        hint = _shape_hint(_shape(expected), _shape(got), shape)
        return _fail(
            f"{call} on an input of shape {list(shape)}: expected output shape"
            f" {_shape(expected)}, got {_shape(got)}{hint}"
        )
    return _ok(f"{call}: output shape {_shape(got)}")


@_checked
def check_attribute(block, name: str, expected: int) -> Result:
    """A class attribute such as ``expansion`` exists and is the int ``expected``."""
    value = getattr(block, name, None)
    if value is None:
        return _fail(f"{block.__name__}.{name} is missing: set it as a class attribute")
    if type(value) is not int or value != expected:
        return _fail(f"expected {block.__name__}.{name} == {expected}, got {value!r}")
    return _ok(f"{block.__name__}.{name} == {expected}")


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _projection_size(in_channels: int, out_channels: int) -> int:
    return in_channels * out_channels + 2 * out_channels


def _count_hint(difference: int, ref: nn.Module, learner: nn.Module | None) -> str:
    """Explain a difference ``got - expected`` in parameter counts, if it has a known cause."""
    shortcut = [m for name, m in ref.named_modules() if "shortcut" in name.split(".")]
    shortcut_params = sum(_count(m) for m in shortcut[:1])
    shortcut_bn = sum(_count(m) for m in shortcut[1:] if isinstance(m, nn.BatchNorm2d))
    bn_params = sum(_count(m) for m in ref.modules() if isinstance(m, nn.BatchNorm2d))
    convs = [m for m in ref.modules() if isinstance(m, nn.Conv2d)]
    in_channels, out_channels = getattr(ref, "in_channels", 0), getattr(ref, "out_channels", 0)
    if learner is not None:
        biases = sum(
            m.bias.numel()
            for m in learner.modules()
            if isinstance(m, nn.Conv2d) and m.bias is not None
        )
        if biases and difference == biases:
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
    return ""


@_checked
def check_parameter_count(block, reference, *args, **kwargs) -> Result:
    """The learner's module has exactly as many parameters as the reference built alike."""
    kwargs, options = _split(kwargs)
    call = describe_call(block, args, kwargs)
    ref = reference(*args, **kwargs)
    learner = _build(block, args, kwargs, options)
    expected, got = _count(ref), _count(learner)
    if got != expected:
        hint = _count_hint(got - expected, ref, learner)
        return _fail(
            f"{call}: expected {expected:,} parameters, got {got:,} ({got - expected:+,}){hint}"
        )
    return _ok(f"{call}: {got:,} parameters")


@_checked
def check_forward(block, reference, *args, **kwargs) -> Result:
    """With the reference's weights transplanted, outputs equal the reference's.

    Checked on fresh random inputs in each of ``modes`` (default train, then eval).
    """
    kwargs, options = _split(kwargs)
    generator = fresh_generator()
    call, ref, learner, shape = _paired(block, reference, args, kwargs, options, generator)
    for mode in options.get("modes", ("train", "eval")):
        ref.train(mode == "train")
        learner.train(mode == "train")
        snapshot = copy.deepcopy(ref)
        x = _random(shape, generator)
        with torch.no_grad():
            expected = ref(x.clone())
            got = _forward(learner, x.clone(), call)
        if _shape(got) != _shape(expected):
            hint = _shape_hint(_shape(expected), _shape(got), shape)
            return _fail(
                f"{call}, {mode} mode: expected output shape {_shape(expected)},"
                f" got {_shape(got)}{hint}"
            )
        if _difference(got, expected) > TOLERANCE:
            return _fail(_output_mismatch(call, mode, got, expected, snapshot, x))
    return _ok(f"{call}: outputs match the reference")


@_checked
def check_input_gradient(block, reference, *args, **kwargs) -> Result:
    """With the reference's weights transplanted, gradients with respect to the input agree."""
    kwargs, options = _split(kwargs)
    generator = fresh_generator()
    call, ref, learner, shape = _paired(block, reference, args, kwargs, options, generator)
    for mode in options.get("modes", ("train", "eval")):
        ref.train(mode == "train")
        learner.train(mode == "train")
        snapshot = copy.deepcopy(ref)
        x = _random(shape, generator)
        x_ref = x.clone().requires_grad_(True)
        x_learner = x.clone().requires_grad_(True)
        expected = ref(x_ref)
        # A block inside a network never gets a leaf tensor, so neither does this one.
        got = _forward(learner, x_learner * 1.0, call)
        if _shape(got) != _shape(expected) or _difference(got, expected) > TOLERANCE:
            if _shape(got) != _shape(expected):
                return _fail(
                    f"{call}, {mode} mode: expected output shape {_shape(expected)}, got"
                    f" {_shape(got)}; fix the forward pass first"
                )
            first = _output_mismatch(call, mode, got.detach(), expected.detach(), snapshot, x)
            return _fail(f"{first}; fix the forward pass first")
        upstream = _random(_shape(expected), generator)
        (expected * upstream).sum().backward()
        if not got.requires_grad:
            return _fail(
                f"{call}, {mode} mode: the output does not depend on the input through autograd"
                " (torch.no_grad(), .detach() or .data somewhere?)"
            )
        try:
            (got * upstream).sum().backward()
        except Exception as error:
            return _fail(
                f"{call}, {mode} mode: backward raised {_first_line(error)}{_error_hint(error)}"
            )
        if x_learner.grad is None:
            return _fail(f"{call}, {mode} mode: no gradient reached the input")
        difference = _difference(x_learner.grad, x_ref.grad)
        if difference > TOLERANCE:
            return _fail(
                f"{call}, {mode} mode: expected the reference's input gradient, got one that"
                f" differs by {difference:.3g} (relative) — likely mistake: part of the"
                " computation is cut off from autograd (.detach(), .data or torch.no_grad()"
                " on the shortcut or the branch?)"
            )
    return _ok(f"{call}: input gradients match the reference")


@_checked
def check_identity(block, *args, **kwargs) -> Result:
    """With every BatchNorm's scale and shift at zero the block must compute ``relu(x)``.

    Zero scales and shifts make the residual branch output zero, whatever its arrangement;
    a block whose shapes match then passes its input through the identity shortcut.
    """
    kwargs, options = _split(kwargs)
    call = describe_call(block, args, kwargs)
    learner = _build(block, args, kwargs, options)
    norms = [m for m in learner.modules() if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        return _fail(f"{call}: found no nn.BatchNorm2d layer to silence the residual branch with")
    with torch.no_grad():
        for norm in norms:
            if norm.affine:
                norm.weight.zero_()
                norm.bias.zero_()
    learner.eval()
    x = _random(_input_shape(args, options), fresh_generator())
    with torch.no_grad():
        got = _forward(learner, x.clone(), call)
    expected = torch.relu(x)
    if _shape(got) != _shape(expected):
        return _fail(f"{call}: expected output shape {_shape(expected)}, got {_shape(got)}")
    if _difference(got, expected) <= TOLERANCE:
        return _ok(f"{call}: relu(x) when the residual branch is zero")
    if float(got.abs().max()) <= TOLERANCE:
        convs = [m for m in learner.modules() if isinstance(m, nn.Conv2d)]
        projection = any(
            _pair(c.kernel_size) == (1, 1) and c.in_channels == c.out_channels == args[0]
            for c in convs
        )
        why = (
            "the shortcut is a projection where the identity suffices"
            if projection
            else "the input is not added back after the residual branch (forgot the addition,"
            " or a BatchNorm after it?)"
        )
        return _fail(
            f"{call} with its residual branch silenced (every BatchNorm's scale and shift set"
            f" to 0): expected relu(x), got all zeros — {why}"
        )
    if _difference(got, x) <= TOLERANCE:
        return _fail(
            f"{call} with its residual branch silenced: expected relu(x), got x itself with its"
            " negative values — no final ReLU after the addition"
        )
    return _fail(
        f"{call} with its residual branch silenced (every BatchNorm's scale and shift set to 0):"
        f" expected relu(x), got something that differs by {_difference(got, expected):.3g}"
        " — the shortcut should pass x unchanged when the shapes match"
    )


@_checked
def check_input_unchanged(block, *args, **kwargs) -> Result:
    """The block leaves its input tensor as it was, in train and eval mode."""
    kwargs, options = _split(kwargs)
    call = describe_call(block, args, kwargs)
    learner = _build(block, args, kwargs, options)
    x = _random(_input_shape(args, options), fresh_generator())
    for mode in ("train", "eval"):
        learner.train(mode == "train")
        before = x.clone()
        with torch.no_grad():
            _forward(learner, x, call)
        if not torch.equal(x, before):
            return _fail(
                f"{call}, {mode} mode: the block changed its input tensor in place (an in-place"
                " ReLU, or += on x?); the caller's tensor must stay as it was"
            )
    return _ok(f"{call}: input left unchanged")


@_checked
def check_preact_identity(block, *args, **kwargs) -> Result:
    """With its last convolution zeroed, a pre-activation block that keeps the shape is ``x``.

    A pre-activation block ends its residual branch with a convolution and adds nothing after
    the sum, so zeroing that convolution must give back the input exactly, negatives included.
    """
    kwargs, options = _split(kwargs)
    call = describe_call(block, args, kwargs)
    learner = _build(block, args, kwargs)
    x = _random(_input_shape(args, options), fresh_generator())
    calls, error = trace_layers(learner, x.clone())
    if error is not None:
        raise _LearnerError(f"{call} raised {_first_line(error)}{_error_hint(error)}")
    convs = [c.module for c in calls if isinstance(c.module, nn.Conv2d)]
    if not convs:
        return _fail(f"{call}: found no nn.Conv2d layer to silence the residual branch with")
    with torch.no_grad():
        convs[-1].weight.zero_()
        if convs[-1].bias is not None:
            convs[-1].bias.zero_()
    learner.eval()
    with torch.no_grad():
        got = _forward(learner, x.clone(), call)
    if _shape(got) != _shape(x):
        return _fail(f"{call}: expected output shape {_shape(x)}, got {_shape(got)}")
    if _difference(got, x) <= TOLERANCE:
        return _ok(f"{call}: x itself when the last convolution is zero")
    silenced = f"{call} with its last convolution ({describe_layer(convs[-1])}) set to zero"
    if _difference(got, torch.relu(x)) <= TOLERANCE:
        why = "a ReLU after the addition; a pre-activation block leaves the sum as it is"
    elif float(got.abs().max()) <= TOLERANCE:
        why = "the input is not added back (forgot the addition?)"
    else:
        why = "the identity shortcut should pass x unchanged, and nothing may follow the sum"
    return _fail(
        f"{silenced}: expected x itself, got something that differs by"
        f" {_difference(got, x):.3g} — {why}"
    )


def _dense_size(layer: nn.Module) -> tuple | None:
    """``(inputs, outputs, has bias)`` of a Linear or of a 1x1 Conv2d that acts as one."""
    if isinstance(layer, nn.Linear):
        return (layer.in_features, layer.out_features, layer.bias is not None)
    if (
        isinstance(layer, nn.Conv2d)
        and _pair(layer.kernel_size) == (1, 1)
        and _pair(layer.stride) == (1, 1)
        and _padding(layer) == (0, 0)
        and layer.groups == 1
    ):
        return (layer.in_channels, layer.out_channels, layer.bias is not None)
    return None


def _describe_dense(size: tuple) -> str:
    bias = "with" if size[2] else "without"
    return f"a Linear or 1x1 Conv2d from {size[0]} to {size[1]} channels, {bias} bias"


@_checked
def check_forward_dense(block, reference, *args, **kwargs) -> Result:
    """Like :func:`check_forward`, for modules built of Linear and 1x1 Conv2d layers.

    A squeeze-and-excitation unit may use either: on a pooled ``[N, C, 1, 1]`` tensor a 1x1
    convolution and a linear layer of the same size compute the same thing. The layers are
    paired in the order they run and the reference's weights copied, reshaped, into them.
    """
    kwargs, options = _split(kwargs)
    generator = fresh_generator()
    call = describe_call(block, args, kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        ref = reference(*args, **kwargs)
    learner = _build(block, args, kwargs)
    shape = _input_shape(args, options)
    probe = _random(shape, generator)
    ref_calls, ref_error = trace_layers(ref, probe.clone())
    if ref_error is not None:  # a bug in the test itself, not in the learner's code
        raise ref_error
    learner_calls, learner_error = trace_layers(learner, probe.clone())
    if learner_error is not None:
        message = _first_line(learner_error) + _error_hint(learner_error)
        raise _LearnerError(f"{call} raised {message}")
    for i, ref_call in enumerate(ref_calls):
        expected = _describe_dense(_dense_size(ref_call.module))
        if i >= len(learner_calls):
            return _fail(
                f"{call}: expected {expected} as the {ordinal(i + 1)} layer to run, but only"
                f" {len(learner_calls)} layers ran"
            )
        found = learner_calls[i]
        if _dense_size(found.module) != _dense_size(ref_call.module):
            bias = "" if getattr(found.module, "bias", None) is not None else " without bias"
            return _fail(
                f"{call}: expected {expected} as the {ordinal(i + 1)} layer to run, found a"
                f" {found.description}{bias}"
            )
    if len(learner_calls) > len(ref_calls):
        extra = learner_calls[len(ref_calls)]
        return _fail(f"{call}: found an extra {extra.description} that resnet_ref does not have")
    with torch.no_grad():
        for ref_call, found in zip(ref_calls, learner_calls, strict=True):
            target, source = found.module, ref_call.module
            target.weight.copy_(source.weight.reshape(target.weight.shape))
            if target.bias is not None:
                target.bias.copy_(source.bias)
    for mode in options.get("modes", ("train", "eval")):
        ref.train(mode == "train")
        learner.train(mode == "train")
        snapshot = copy.deepcopy(ref)
        x = _random(shape, generator)
        with torch.no_grad():
            expected = ref(x.clone())
            got = _forward(learner, x.clone(), call)
        if _shape(got) != _shape(expected):
            return _fail(
                f"{call}, {mode} mode: expected output shape {_shape(expected)},"
                f" got {_shape(got)} — the output is the input, rescaled channel by channel"
            )
        if _difference(got, expected) > TOLERANCE:
            mistake = _diagnose(snapshot, x, got) or (
                "check the order: average pool → reduce → ReLU → expand → sigmoid → multiply"
            )
            return _fail(
                f"{call}, {mode} mode: expected the reference's output, got one that differs"
                f" by {_difference(got, expected):.3g} (relative) — likely mistake: {mistake}"
            )
    return _ok(f"{call}: outputs match the reference")


@_checked
def check_raises(function, error: type, *args, **kwargs) -> Result:
    """``function(*args, **kwargs)`` raises ``error`` (or a subclass), e.g. a ValueError."""
    call = describe_call(function, args, kwargs)
    try:
        function(*args, **kwargs)
    except error:
        return _ok(f"{call} raised {error.__name__}")
    except Exception as other:
        return _fail(f"{call}: expected a {error.__name__}, got {_first_line(other)}")
    return _fail(f"{call}: expected a {error.__name__}, but it returned without raising one")


@contextlib.contextmanager
def _no_modules_built() -> Iterator[None]:
    original = nn.Module.__init__

    def refuse(self, *args, **kwargs):
        raise _ModuleBuilt

    nn.Module.__init__ = refuse
    try:
        yield
    finally:
        nn.Module.__init__ = original


class _ModuleBuilt(BaseException):
    """Raised when a module is built where none may be; a BaseException, so that a learner's
    ``except Exception`` cannot swallow it."""


@_checked
def check_count_function(function, kind, reference, *args, **kwargs) -> Result:
    """``function(kind, *args, **kwargs)`` returns the parameter count of ``reference(*args)``.

    The count must come from the arguments alone: building a module inside ``function`` fails.
    """
    name = getattr(function, "__name__", "the function")
    call = f"{name}({', '.join([repr(kind)] + [repr(a) for a in args])}"
    call += "".join(f", {k}={v!r}" for k, v in kwargs.items()) + ")"
    ref = reference(*args, **kwargs)
    expected = _count(ref)
    try:
        with _no_modules_built():
            value = function(kind, *args, **kwargs)
    except _ModuleBuilt:
        return _fail(
            f"{call} builds a module to count its parameters; compute the count from the"
            " arguments with the formula instead"
        )
    except Exception as error:
        raise _LearnerError(f"{call} raised {_first_line(error)}{_error_hint(error)}") from None
    try:
        got = operator.index(value)
    except TypeError:
        return _fail(f"{call} should return an int, got {type(value).__name__}")
    if type(got) is not int or isinstance(value, bool):
        return _fail(f"{call} should return an int, got {type(value).__name__}")
    if got != expected:
        hint = _count_hint(got - expected, ref, None)
        return _fail(f"{call}: expected {expected:,}, got {got:,} ({got - expected:+,}){hint}")
    return _ok(f"{call} == {expected:,}")


# --- gradient norms through depth (assignment a4) -----------------------------------------------


def _probe_model(factory: Callable, kwargs: dict, generator: torch.Generator):
    """A model from ``factory(**kwargs)`` with seeded weights, and a small batch to probe it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
        model = factory(**kwargs)
    channels = kwargs.get("in_channels", 3)
    x = _random((4, channels, 8, 8), generator)
    classes = model.fc.out_features if hasattr(model, "fc") else 10
    y = torch.randint(0, classes, (4,), generator=generator)
    return model, x, y


def _call_norms(function: Callable, model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    name = getattr(function, "__name__", "the function")
    try:
        value = function(model, x, y)
    except Exception as error:
        raise _LearnerError(
            f"{name}(model, x, y) raised {_first_line(error)}{_error_hint(error)}"
        ) from None
    if not isinstance(value, dict):
        raise _LearnerError(
            f"{name} should return a dict of name -> norm, got {type(value).__name__}"
        )
    return value


def _unit_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor, where: str) -> list[float]:
    """Candidate wrong answers: gradient norms at the units' inputs, or of their parameters."""
    import torch.nn.functional as F

    model = copy.deepcopy(model)
    units = [model.stem, *(module for _, module in model.blocks())]
    seen = []
    hooks = [u.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0])) for u in units]
    try:
        x = x.clone().requires_grad_(True)
        loss = F.cross_entropy(model(x), y)
    finally:
        for hook in hooks:
            hook.remove()
    if where == "inputs":
        return [g.norm().item() for g in torch.autograd.grad(loss, seen)]
    norms = []
    for unit in units:
        grads = torch.autograd.grad(loss, list(unit.parameters()), retain_graph=True)
        norms.append(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item())
    return norms


def _close(got: list[float], expected: list[float]) -> bool:
    scale = max([1.0, *map(abs, expected)])
    return all(abs(g - e) <= 1e-3 * scale for g, e in zip(got, expected, strict=True))


@_checked
def check_gradient_norms(function, factory, **kwargs) -> Result:
    """``function(model, x, y)`` returns what ``resnet_ref.analysis.gradient_norms`` returns.

    ``model = factory(**kwargs)`` (a ResNet from ``resnet_ref``); the keys must be the same
    names in the same (forward) order, and the values the same norms within a small tolerance.
    """
    from .analysis import gradient_norms

    name = getattr(function, "__name__", "the function")
    model, x, y = _probe_model(factory, kwargs, fresh_generator())
    learner_model = copy.deepcopy(model)
    expected = gradient_norms(model, x, y)
    got = _call_norms(function, learner_model, x.clone(), y.clone())
    keys = list(got)
    if keys != list(expected):
        return _fail(
            f"{name}: expected the keys {list(expected)} in forward order (the stem, then"
            f" model.blocks()), got {keys}"
        )
    values = []
    for key in keys:
        try:
            values.append(float(got[key]))
        except (TypeError, ValueError):
            return _fail(
                f"{name}: the value for {key!r} should be a float, got {type(got[key]).__name__}"
            )
    wanted = list(expected.values())
    if _close(values, wanted):
        return _ok(f"{name}: {len(keys)} norms agree with the reference")
    worst = max(range(len(keys)), key=lambda i: abs(values[i] - wanted[i]))
    hint = ""
    if _close(values, _unit_norms(model, x, y, "inputs")):
        hint = (
            " — likely mistake: these are the gradients at each block's input; measure them at"
            " its output (a forward hook's `output`, not a pre-hook's `inputs`)"
        )
    elif _close(values, _unit_norms(model, x, y, "parameters")):
        hint = (
            " — likely mistake: these are the norms of the parameter gradients; measure the"
            " gradient with respect to each block's output activations"
        )
    return _fail(
        f"{name}: at {keys[worst]!r} expected {wanted[worst]:.6g}, got {values[worst]:.6g}{hint}"
    )


def _hook_count(model: nn.Module) -> int:
    total = 0
    for module in model.modules():
        for attribute in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
        ):
            total += len(getattr(module, attribute, {}))
    return total


@_checked
def check_leaves_model_unchanged(function, factory, **kwargs) -> Result:
    """``function(model, x, y)`` leaves no hooks, and ``.grad``, state and mode as they were."""
    name = getattr(function, "__name__", "the function")
    model, x, y = _probe_model(factory, kwargs, fresh_generator())
    model.eval()
    generator = fresh_generator()
    for parameter in model.parameters():
        parameter.grad = _random(parameter.shape, generator)
    grads = [p.grad.clone() for p in model.parameters()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    hooks = _hook_count(model)
    _call_norms(function, model, x, y)
    left = _hook_count(model) - hooks
    if left:
        return _fail(
            f"{name} left {left} hook(s) registered on the model — keep the handles that"
            " register_forward_hook returns and call .remove() on each, in a `finally:` block"
        )
    changed = sum(
        p.grad is None or not torch.equal(p.grad, g)
        for p, g in zip(model.parameters(), grads, strict=True)
    )
    if changed:
        return _fail(
            f"{name} changed the .grad of {changed} parameter(s) — take the gradients with"
            " torch.autograd.grad(loss, outputs), which does not touch .grad, not loss.backward()"
        )
    for key, value in model.state_dict().items():
        if not torch.equal(value, state[key]):
            what = "a parameter" if key in dict(model.named_parameters()) else "a buffer"
            return _fail(
                f"{name} changed {what}, {key!r} — the training-mode forward pass updates the"
                " BatchNorm running statistics: save the buffers first and copy them back"
            )
    if any(module.training for module in model.modules()):
        return _fail(
            f"{name} left a model that was in eval mode in training mode — restore the mode"
            " it had (model.train(was_training))"
        )
    return _ok(f"{name}: model left as it was")


__all__ = [
    "MISTAKES",
    "TOLERANCE",
    "LayerCall",
    "Result",
    "check_attribute",
    "check_count_function",
    "check_forward",
    "check_forward_dense",
    "check_gradient_norms",
    "check_identity",
    "check_input_gradient",
    "check_input_unchanged",
    "check_leaves_model_unchanged",
    "check_parameter_count",
    "check_preact_identity",
    "check_raises",
    "check_shape",
    "describe_layer",
    "expect",
    "match_layers",
    "quiet",
    "trace_layers",
    "transplant",
]
