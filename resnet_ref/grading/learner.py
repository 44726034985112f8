"""What a check may do with a learner's code: build it, run it, and read a few plain facts.

A check never handles the learner's module itself. It asks a :class:`LearnerModule` for what
it needs: the layers in the order they ran (:meth:`LearnerModule.trace`), weights loaded into
them (:meth:`LearnerModule.load`), the output on a given input (:meth:`LearnerModule.output`),
an input gradient (:meth:`LearnerModule.gradient`) and counts. Every answer is plain data:
tensors, ints, strings, :class:`~resnet_ref.grading.tracing.LayerCall` records without their
module.

That narrow interface is what lets the grader decide verdicts outside the learner's process
(:mod:`resnet_ref.grading.referee`): while grading, the check runs in a trusted process and
the same requests travel to the learner's kernel as bytes. In JupyterLab the check and the
learner's module share the kernel, and this class answers directly.

A failure of the learner's code (an exception, a result that is not a tensor) comes back as
:class:`~resnet_ref.grading.messages._LearnerError` with its message for the learner.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable

import torch
from torch import nn

from .messages import _error_hint, _first_line, _LearnerError, _padding, _pair, describe_call
from .tracing import LayerCall, NotATensorError, _build, _forward, trace_layers


class LearnerModule:
    """A module built from the learner's class, used only through the methods below."""

    def __init__(self, module: nn.Module, call: str):
        self._module = module
        self._layers: list[nn.Module] = []  # the layers of the last trace, in run order
        self.call = call

    @classmethod
    def build(cls, block: Callable, args: tuple, kwargs: dict, options: dict) -> LearnerModule:
        """``block(*args, **kwargs)``; refuses a ready-made block (see ``tracing._build``)."""
        return cls(_build(block, args, kwargs, options), describe_call(block, args, kwargs))

    def trace(self, x: torch.Tensor) -> tuple[list[LayerCall], list[str] | None]:
        """The layers in the order they ran on ``x`` (eval mode), without their modules, and
        what went wrong: ``None``, or ``[kind, text, hint]`` with kind ``"not a tensor"`` or
        ``"raised"``."""
        calls, error = trace_layers(self._module, x)
        self._layers = [call.module for call in calls]
        for call in calls:
            call.module = None
        if error is None:
            return calls, None
        if isinstance(error, NotATensorError):
            return calls, ["not a tensor", str(error), ""]
        return calls, ["raised", _first_line(error), _error_hint(error)]

    def load(self, index: int, tensors: dict[str, torch.Tensor]) -> None:
        """Copy weights and buffers into the ``index``-th layer of the last trace.

        A tensor of another shape is reshaped to fit (a Linear's weight into a 1x1 Conv2d). A
        learner's convolution bias that gets no tensor is set to zero: a bias before BatchNorm
        changes nothing but the parameter count, and that has its own check.
        """
        layer = self._layers[index]
        with torch.no_grad():
            if getattr(layer, "bias", None) is not None and "bias" not in tensors:
                layer.bias.zero_()
            for name, value in tensors.items():
                target = getattr(layer, name, None)
                if isinstance(target, torch.Tensor):
                    target.copy_(value.reshape(target.shape))

    def output(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        """The output on ``x`` in ``mode`` (``"train"`` or ``"eval"``), without autograd."""
        self._module.train(mode == "train")
        with torch.no_grad():
            return _forward(self._module, x, self.call).detach()

    def input_after(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        """``x`` as it is after one forward pass on it: a block must not change its input."""
        self.output(x, mode)
        return x

    def gradient(
        self, x: torch.Tensor, mode: str, upstream: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, str | None]:
        """The output on ``x``, and the gradient of ``(output * upstream).sum()`` with respect
        to ``x``; or the output, ``None`` and why there is no gradient."""
        self._module.train(mode == "train")
        leaf = x.clone().requires_grad_(True)
        # A block inside a network never gets a leaf tensor, so neither does this one.
        out = _forward(self._module, leaf * 1.0, self.call)
        if out.shape != upstream.shape:
            return out.detach(), None, None
        if not out.requires_grad:
            return out.detach(), None, "no autograd"
        try:
            (out * upstream).sum().backward()
        except Exception as error:
            return out.detach(), None, f"backward raised {_first_line(error)}{_error_hint(error)}"
        if leaf.grad is None:
            return out.detach(), None, "no gradient"
        return out.detach(), leaf.grad, None

    def parameter_count(self) -> int:
        """How many parameters the module has."""
        return sum(p.numel() for p in self._module.parameters())

    def conv_bias_count(self) -> int:
        """How many parameters are convolution biases."""
        return sum(
            m.bias.numel()
            for m in self._module.modules()
            if isinstance(m, nn.Conv2d) and m.bias is not None
        )

    def silence_norms(self) -> int:
        """Set every BatchNorm's scale and shift to zero; return how many BatchNorms there are."""
        norms = [m for m in self._module.modules() if isinstance(m, nn.BatchNorm2d)]
        with torch.no_grad():
            for norm in norms:
                if norm.affine:
                    norm.weight.zero_()
                    norm.bias.zero_()
        return len(norms)

    def dense_sizes(self) -> list[tuple]:
        """For each layer of the last trace: its ``dense_size`` and whether it has a bias."""
        return [(dense_size(m), getattr(m, "bias", None) is not None) for m in self._layers]

    def has_square_projection(self, channels: int) -> bool:
        """Whether a 1x1 convolution maps ``channels`` to ``channels`` (an unneeded projection)."""
        return any(
            isinstance(m, nn.Conv2d)
            and _pair(m.kernel_size) == (1, 1)
            and m.in_channels == m.out_channels == channels
            for m in self._module.modules()
        )


def dense_size(layer: nn.Module) -> tuple | None:
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


# How much of a returned value is described: a table of results, not a data set.
DESCRIBED_ITEMS, DESCRIBED_DEPTH = 1000, 8


def describe_value(value, room: list[int] | None = None, depth: int = 0) -> list:
    """``value`` as ``[type, content]`` in plain data, so that its types survive the trip to
    the referee: ``["float", 0.25]``, ``["int", 8]``, ``["bool", True]``, ``["str", "plain"]``;
    ``["dict", [[key, value], ...]]``, ``["list", [...]]`` and ``["tuple", [...]]`` with their
    items described; ``[type name, repr]`` for anything else, and ``["...", ""]`` past
    ``DESCRIBED_ITEMS`` items or ``DESCRIBED_DEPTH`` levels. A float is what
    ``isinstance(value, float)`` accepts, an int any integral number but a bool."""
    room = [DESCRIBED_ITEMS] if room is None else room
    room[0] -= 1
    if room[0] < 0 or depth > DESCRIBED_DEPTH:
        return ["...", ""]
    if isinstance(value, bool):
        return ["bool", bool(value)]
    if isinstance(value, float):
        return ["float", float(value)]
    if isinstance(value, numbers.Integral):
        return ["int", int(value)]
    if isinstance(value, str):
        return ["str", str(value)[:200]]
    if isinstance(value, dict):
        items = [
            [describe_value(k, room, depth + 1), describe_value(v, room, depth + 1)]
            for k, v in value.items()
        ]
        return ["dict", items]
    if isinstance(value, list | tuple):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return [kind, [describe_value(v, room, depth + 1) for v in value]]
    text = repr(value)
    return [type(value).__name__, text if len(text) <= 200 else text[:197] + "..."]


def shown(description: list):
    """A described value (``describe_value``) as a Python value to print in a message."""
    kind, content = description
    if kind in ("float", "int", "bool", "str"):
        return content
    if kind == "dict":
        return {_hashable(shown(k)): shown(v) for k, v in content}
    if kind in ("list", "tuple"):
        items = [shown(v) for v in content]
        return tuple(items) if kind == "tuple" else items
    return _Shown(content or kind)


def _hashable(value):
    return value if isinstance(value, int | float | str | bool | tuple | _Shown) else repr(value)


class _Shown(str):
    """A value that cannot travel, printed as its own repr (no quotes)."""

    def __repr__(self) -> str:
        return str(self)


class LearnerCode:
    """A class or function of the learner's, as a check may use it.

    Here it runs in the check's own process; the referee's stand-in
    (:class:`~resnet_ref.grading.referee.RemoteCode`) answers the same calls from the
    learner's kernel.
    """

    def __init__(self, code: Callable):
        self._code = code
        self.__name__ = getattr(code, "__name__", type(code).__name__)

    def module(self, args: tuple, kwargs: dict, options: dict) -> LearnerModule:
        """The module ``code(*args, **kwargs)`` builds."""
        return LearnerModule.build(self._code, args, kwargs, options)

    def attribute(self, name: str) -> int | str | None:
        """``code.name`` if it is an int, its ``repr`` if it is something else, ``None`` if
        it is missing."""
        value = getattr(self._code, name, None)
        if value is None:
            return None
        return value if type(value) is int else repr(value)

    def count(self, call: str, args: tuple, kwargs: dict) -> int | str:
        """``code(*args, **kwargs)`` as an int (see ``count_without_modules``)."""
        return count_without_modules(self._code, call, *args, **kwargs)

    def raised(self, args: tuple, kwargs: dict) -> list[str] | None:
        """What ``code(*args, **kwargs)`` raised: the names of its class and of every base
        class, then its first line with the likely cause; ``None`` if it returned."""
        try:
            self._code(*args, **kwargs)
        except Exception as error:
            return [cls.__name__ for cls in type(error).__mro__] + [
                _first_line(error) + _error_hint(error)
            ]
        return None

    def value(self, call: str, args: tuple, kwargs: dict) -> tuple:
        """What ``code(*args, **kwargs)`` returns, as ``(kind, value, type name, repr)``: kind
        ``"int"`` (value the int), ``"ints"`` (a tuple, list or torch.Size of ints; value their
        list) or ``"other"`` (value ``None``)."""
        try:
            value = self._code(*args, **kwargs)
        except Exception as error:
            raise _LearnerError(f"{call} raised {_first_line(error)}{_error_hint(error)}") from None
        text = repr(value)
        text = text if len(text) <= 200 else text[:197] + "..."
        if type(value) is int:
            return "int", value, "int", text
        if isinstance(value, tuple | list | torch.Size) and all(type(v) is int for v in value):
            return "ints", [int(v) for v in value], type(value).__name__, text
        return "other", None, type(value).__name__, text

    def returned(self, call: str, args: tuple, kwargs: dict) -> list:
        """What ``code(*args, **kwargs)`` returns, as plain data that keeps its types
        (``describe_value`` in this module)."""
        try:
            value = self._code(*args, **kwargs)
        except Exception as error:
            raise _LearnerError(f"{call} raised {_first_line(error)}{_error_hint(error)}") from None
        return describe_value(value)

    def shortcut(self, call: str, args: tuple, x: torch.Tensor) -> tuple:
        """The shortcut module ``code(*args)`` builds, as ``(parameter count, output on x)``;
        the output only for a module without parameters, and ``None`` if it is no tensor."""
        try:
            module = self._code(*args)
            if not isinstance(module, nn.Module):
                raise _LearnerError(
                    f"{call} should return an nn.Module, got {type(module).__name__}"
                )
            count = sum(p.numel() for p in module.parameters())
            if count:
                return count, None
            with torch.no_grad():
                out = module(x)
        except _LearnerError:
            raise
        except Exception as error:
            raise _LearnerError(f"{call} raised {_first_line(error)}{_error_hint(error)}") from None
        return 0, (out.detach() if type(out) is torch.Tensor else None)

    def on_model(
        self,
        factory: Callable,
        kwargs: dict,
        state: dict[str, torch.Tensor],
        grads: list[torch.Tensor] | None,
        training: bool,
        x: torch.Tensor,
        y: torch.Tensor,
    ) -> dict:
        """``code(model, x, y)`` on ``model = factory(**kwargs)`` holding ``state`` (weights and
        buffers), ``grads`` as its parameters' ``.grad`` and in training mode or not.

        Returns what it gave (``"norms"``: ``[name, value as a float or None, type name]`` per
        key) and what it left changed on the model: hooks, ``.grad``, state, mode.
        """
        model = factory(**kwargs)
        model.load_state_dict(state)
        model.train(training)
        for parameter, grad in zip(model.parameters(), grads or [], strict=False):
            parameter.grad = grad.clone()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        hooks = _hook_count(model)
        name = self.__name__
        try:
            value = self._code(model, x, y)
        except Exception as error:
            raise _LearnerError(
                f"{name}(model, x, y) raised {_first_line(error)}{_error_hint(error)}"
            ) from None
        if not isinstance(value, dict):
            raise _LearnerError(
                f"{name} should return a dict of name -> norm, got {type(value).__name__}"
            )
        norms = []
        for key, norm in value.items():
            try:
                norms.append([str(key), float(norm), type(norm).__name__])
            except (TypeError, ValueError):
                norms.append([str(key), None, type(norm).__name__])
        changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
        parameters = dict(model.named_parameters())
        return {
            "norms": norms,
            "hooks_left": _hook_count(model) - hooks,
            "grads_changed": sum(
                p.grad is None or not torch.equal(p.grad, g)
                for p, g in zip(model.parameters(), grads or [], strict=False)
            ),
            "changed": changed[0] if changed else None,
            "changed_parameter": bool(changed) and changed[0] in parameters,
            "training": any(module.training for module in model.modules()),
        }


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


def learner_code(code) -> LearnerCode:
    """``code`` as a check uses it: the referee's stand-in as it is, anything else wrapped."""
    return code if isinstance(code, LearnerCode) else LearnerCode(code)


class _ModuleBuilt(BaseException):
    """Raised when a module is built where none may be; a BaseException, so that a learner's
    ``except Exception`` cannot swallow it."""


def count_without_modules(function: Callable, call: str, *args, **kwargs) -> int | str:
    """``function(*args, **kwargs)`` as an int, with building any module forbidden; or why
    there is none: ``"builds a module"`` or ``"returned <type>"``."""
    original = nn.Module.__init__

    def refuse(self, *a, **k):
        raise _ModuleBuilt

    nn.Module.__init__ = refuse
    try:
        value = function(*args, **kwargs)
    except _ModuleBuilt:
        return "builds a module"
    except Exception as error:
        raise _LearnerError(f"{call} raised {_first_line(error)}{_error_hint(error)}") from None
    finally:
        nn.Module.__init__ = original
    try:
        got = operator.index(value)
    except TypeError:
        return f"returned {type(value).__name__}"
    if type(got) is not int or isinstance(value, bool):
        return f"returned {type(value).__name__}"
    return got
