"""Building and running modules: the learner's and the reference's, layer by layer.

A check builds the learner's module (refusing one that hands in a ready-made block), runs it
once on a probe input and records its ``Conv2d``, ``BatchNorm2d`` and ``Linear`` layers in the
order they *run* (:func:`trace_layers`), pairs them with the reference's (:func:`match_layers`)
and copies the reference's weights and buffers into them (:func:`transplant`).

Layers are paired in run order, with one relaxation: a layer that in the reference takes its
input straight from another layer (a BatchNorm after its convolution, say) is paired with the
learner's layer that does the same. So computing the shortcut before the residual branch, or
after it, pairs the same layers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import torch
from torch import nn

from .messages import (
    _error_hint,
    _extra_hint,
    _first_line,
    _in_role,
    _LearnerError,
    _mismatch_hint,
    _padding,
    _pair,
    describe_call,
    describe_layer,
    ordinal,
)

LAYER_TYPES = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)


# The seed of the check that is running, and how many generators it has drawn from it (see
# checks._checked): a failed check names its seed, and ``seed=`` draws the same inputs again.
CHECK_SEED: ContextVar[list[int] | None] = ContextVar("check_seed", default=None)


def fresh_generator() -> torch.Generator:
    """A generator seeded from the operating system: every run draws new inputs. Within a
    check, the check's seed, plus one for each generator it drew before."""
    state = CHECK_SEED.get()
    if state is None:
        return torch.Generator().manual_seed(secrets.randbits(62))
    state[1] += 1
    return torch.Generator().manual_seed(state[0] + state[1] - 1)


def _random(shape, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(*shape, generator=generator)


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


# --- building and running learner code ---------------------------------------------------------


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
    something else, e.g. a ReLU or an addition). ``layer`` numbers the distinct layers in the
    order they first ran: two calls of one layer share it. ``module`` is ``None`` in a record
    of the learner's layers, which a check never handles itself. ``block`` places a layer of a
    whole network: ``(stage, position)`` of its block, ``(2, 0)`` for the first block of
    ``stage2``; ``None`` outside a stage. Only the reference's are read (the learner names
    its attributes as it likes), so the referee does not carry it.
    """

    module: nn.Module | None
    signature: tuple
    description: str
    source: object
    role: str = ""
    layer: int = 0
    block: tuple[int, int] | None = None


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
    numbers: dict[int, int] = {}
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
                numbers.setdefault(id(module), len(numbers)),
                _block(names.get(id(module), "")),
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


# resnet_ref names a network's blocks stage1.0, stage1.1, ...; torchvision layer1.0, ...
_BLOCK_NAME = re.compile(r"(?:^|\.)(?:stage|layer)(\d+)\.(\d+)(?:\.|$)")


def _block(name: str) -> tuple[int, int] | None:
    match = _BLOCK_NAME.search(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _likeness(expected: LayerCall, found: LayerCall) -> tuple[bool, bool, int]:
    """How alike two layers are: of the same type, of the same role, and in how many of their
    settings."""
    same_type = expected.signature[0] == found.signature[0]
    same = sum(a == b for a, b in zip(expected.signature, found.signature, strict=False))
    return (same_type, expected.role == found.role, same)


def match_layers(reference: list[LayerCall], learner: list[LayerCall]) -> list[int] | str:
    """Pair every reference call with a learner call; return the pairing or a message.

    The pairing lists, for each reference call in order, the index of the learner's call.
    """
    seen: set[int] = set()
    for call in learner:
        if call.layer in seen:
            return (
                f"the same {call.description} runs twice in one forward pass;"
                " every step needs its own layer (and its own weights)"
            )
        seen.add(call.layer)

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
            where = f" as the {ordinal(i + 1)} layer to run"
            expected = f"a {ref.description}{_in_role(ref)}"
            if candidates:  # the layer exists but takes its input from somewhere else
                producer = reference[ref.source]
                hint = (
                    " — is a BatchNorm applied after the addition?"
                    if ref.signature[0] == "BatchNorm2d"
                    else ""
                )
                return (
                    f"expected the {ref.description}{_in_role(ref)} to act directly on the"
                    f" output of the {producer.description}, but yours acts on something"
                    f" else{hint}"
                )
            unmatched = [j for j in range(len(learner)) if j not in used]
            if unmatched:
                # The learner's layers may run in another order than the reference's (the
                # shortcut first, say): compare with the most similar one left, not the next.
                j = max(unmatched, key=lambda j: _likeness(ref, learner[j]))
                found = learner[j]
                if j != unmatched[0]:
                    where = "; the closest of yours is"
                else:
                    where += ", found"
                hint = _mismatch_hint(ref, found, reference)
                return f"expected {expected}{where} a {found.description}{hint}"
            return (
                f"expected {expected}{where}, but only {len(learner)} layers ran"
                f"{_mismatch_hint(ref, None, reference)}"
            )
        pairing.append(good[0])
        used.add(good[0])

    extras = [(j, c) for j, c in enumerate(learner) if j not in used]
    if extras:
        j, extra = extras[0]
        return (
            f"found an extra {extra.description} (the {ordinal(j + 1)} layer to run) that"
            f" resnet_ref does not have{_extra_hint(extra, reference)}"
        )
    return pairing


def layer_weights(layer: nn.Module) -> dict[str, torch.Tensor]:
    """The weights and buffers a paired layer takes over: weight, bias (when there is one)
    and a BatchNorm's running statistics."""
    names = ["weight", "bias"]
    if isinstance(layer, nn.BatchNorm2d) and layer.track_running_stats:
        names += ["running_mean", "running_var", "num_batches_tracked"]
    return {
        name: getattr(layer, name).detach().clone()
        for name in names
        if getattr(layer, name, None) is not None
    }


def transplant(reference: list[LayerCall], learner, pairing: list[int]) -> None:
    """Copy the reference layers' weights and buffers into the paired layers of ``learner``
    (a :class:`~resnet_ref.grading.learner.LearnerModule` that ``learner.trace`` listed).

    A learner's convolution bias, which the reference does not have, is set to zero there.
    """
    for ref_call, j in zip(reference, pairing, strict=True):
        learner.load(j, layer_weights(ref_call.module))


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
