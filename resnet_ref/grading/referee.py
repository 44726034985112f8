"""The trusted-side protocol: checks decided outside the learner's kernel while grading.

In JupyterLab a check runs in the learner's kernel, next to the learner's code. While
grading that would let a submission change the verdict (patch torch, the reference or the
check itself), so the autograder runs a *referee* in its own process (``autograder/referee.py``
in the course repository) and tells the kernel where to reach it, in the environment variable
:data:`REFEREE_SOCKET`. A check called in such a kernel does not run there: it sends
its name and arguments to the referee (:func:`ask_referee`), which runs the same check in its
own process with the reference, the random inputs and the comparisons, and asks the kernel
only for what needs the learner's code (build a module, trace it, load weights, run it: the
methods of :class:`~resnet_ref.grading.LearnerModule` and
:class:`~resnet_ref.grading.LearnerCode`). The kernel answers until the referee sends
the verdict, which the check returns as usual.

Everything travels as plain data: one message is a 4-byte length, a JSON header and the raw
bytes of the tensors the header describes (float32, float64 or int64 only). Nothing is
unpickled and no object of the kernel's reaches the referee: the learner's classes and
functions stay in the kernel, named by a number (:class:`RemoteCode`).
"""

from __future__ import annotations

import json
import os
import socket
import struct
from collections.abc import Callable

import torch

from .learner import LearnerCode, LearnerModule
from .messages import Result, _LearnerError
from .tracing import LayerCall

#: The environment variable that tells a graded kernel where the referee's Unix socket is.
REFEREE_SOCKET = "RESNET_REFEREE"
HEADER_LIMIT = 1024 * 1024  # bytes of JSON in one message
TENSOR_LIMIT = 64 * 1024 * 1024  # bytes of tensors in one message
# float16 travels as it is, so that a half-precision output is named as such in grading too.
DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "int64": torch.int64,
}

# What the referee may ask of the kernel: the methods of LearnerCode and LearnerModule.
CODE_REQUESTS = (
    "module",
    "attribute",
    "count",
    "raised",
    "on_model",
    "value",
    "returned",
    "shortcut",
)
MODULE_REQUESTS = (
    "trace",
    "load",
    "output",
    "input_after",
    "gradient",
    "parameter_count",
    "conv_bias_count",
    "silence_norms",
    "has_square_projection",
    "dense_sizes",
)


class ProtocolError(RuntimeError):
    """A message that breaks the protocol: too large, malformed, or out of turn."""


# --- plain data, both ways --------------------------------------------------------------------


def _encode(value, tensors: list[torch.Tensor], learner: Callable[[object], dict] | None):
    """``value`` as JSON; tensors go to ``tensors`` and are named by their index there."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is torch.Tensor:
        tensors.append(value.detach().contiguous().cpu())
        return {"tensor": len(tensors) - 1}
    if type(value) in (tuple, list):
        items = [_encode(v, tensors, learner) for v in value]
        return {"tuple": items} if type(value) is tuple else items
    if type(value) is dict:
        return {"dict": [[str(k), _encode(v, tensors, learner)] for k, v in value.items()]}
    if type(value) is LayerCall:
        fields = [value.signature, value.description, value.source, value.role, value.layer]
        return {"layer_call": _encode(fields, tensors, learner)}
    module = getattr(value, "__module__", None)
    if callable(value) and isinstance(module, str) and module.split(".")[0] in _NAMED:
        name = f"{module}.{getattr(value, '__qualname__', '')}"
        try:
            if _resolve(name) is value:
                return {"named": name}
        except ProtocolError:
            pass
    if learner is not None:
        return learner(value)
    raise ProtocolError(f"cannot send a {type(value).__name__}")


def _decode(value, tensors: list[torch.Tensor], learner: Callable[[dict], object] | None):
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [_decode(v, tensors, learner) for v in value]
    if type(value) is not dict or len(value) != 1:
        raise ProtocolError("malformed value")
    ((kind, inner),) = value.items()
    if kind == "tensor":
        return tensors[inner]
    if kind == "tuple":
        return tuple(_decode(v, tensors, learner) for v in inner)
    if kind == "dict":
        return {str(k): _decode(v, tensors, learner) for k, v in inner}
    if kind == "layer_call":
        signature, description, source, role, layer = _decode(inner, tensors, learner)
        return LayerCall(None, tuple(signature), str(description), source, str(role), int(layer))
    if kind == "named":
        return _resolve(str(inner))
    if kind == "learner" and learner is not None:
        return learner(value)
    raise ProtocolError(f"unexpected {kind!r}")


# Where the objects that travel by name come from: the reference, and builtin exceptions.
_NAMED = ("resnet_ref", "builtins")


def _resolve(name: str):
    """A class or function of resnet_ref, or a builtin exception, by its dotted name."""
    import builtins
    import importlib

    module, _, qualname = name.rpartition(".")
    if module == "builtins":
        found = getattr(builtins, qualname, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    elif module.split(".")[0] == "resnet_ref" and qualname.isidentifier():
        found = getattr(importlib.import_module(module), qualname, None)
        if callable(found) and getattr(found, "__module__", None) == module:
            return found
    raise ProtocolError(f"not a class or function the referee knows: {name}")


class Channel:
    """One connection: messages of a JSON header and tensors, each way."""

    def __init__(self, connection: socket.socket):
        self.connection = connection

    def send(self, header: dict, tensors: list[torch.Tensor] = ()) -> None:
        """Send ``header`` with ``tensors``, which its values name by index."""
        specs = []
        payload = []
        for tensor in tensors:
            dtype = str(tensor.dtype).removeprefix("torch.")
            if dtype not in DTYPES:
                tensor, dtype = tensor.to(torch.float32), "float32"
            data = tensor.numpy().tobytes()
            specs.append([dtype, list(tensor.shape), len(data)])
            payload.append(data)
        text = json.dumps({**header, "tensors": specs}).encode()
        self.connection.sendall(struct.pack("!I", len(text)) + text + b"".join(payload))

    def receive(self) -> tuple[dict, list[torch.Tensor]]:
        """The next message: its header and its tensors; a :class:`ProtocolError` for one
        that breaks the limits."""
        (size,) = struct.unpack("!I", self._exactly(4))
        if size > HEADER_LIMIT:
            raise ProtocolError(f"a header of {size} bytes")
        header = json.loads(self._exactly(size))
        if type(header) is not dict:
            raise ProtocolError("the header is not an object")
        tensors, total = [], 0
        for dtype, shape, nbytes in header.pop("tensors", []):
            total += int(nbytes)
            shape = [int(s) for s in shape]
            expected = DTYPES[dtype].itemsize * int(torch.Size(shape).numel())
            if total > TENSOR_LIMIT or nbytes != expected or min(shape, default=0) < 0:
                raise ProtocolError("a tensor of the wrong size")
            data = bytearray(self._exactly(nbytes))
            tensors.append(torch.frombuffer(data, dtype=DTYPES[dtype]).reshape(shape).clone())
        return header, tensors

    def _exactly(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = self.connection.recv(min(left, 1 << 20))
            if not chunk:
                raise ProtocolError("the connection closed mid-message")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


# --- the kernel's side ------------------------------------------------------------------------


def refereed() -> bool:
    """Whether the checks in this process are decided by a referee (while grading)."""
    return REFEREE_SOCKET in os.environ


def decidable(args: tuple, kwargs: dict) -> bool:
    """Whether a referee can run a check called with ``args`` and ``kwargs``: everything but
    the learner's code (the first argument) must travel as data or by name. A reference
    defined in the notebook itself (a wrapper around a ``resnet_ref`` class, say) cannot."""
    try:
        _encode([list(args[1:]), kwargs], [], None)
    except ProtocolError:
        return False
    return True


def ask_referee(check: str, args: tuple, kwargs: dict) -> Result:
    """Run ``check`` at the referee and answer its requests; return its verdict.

    A referee that cannot be reached fails the check: while grading, only the referee's
    verdict counts.
    """
    code: list[LearnerCode] = []
    modules: list[LearnerModule] = []

    def learner(value) -> dict:
        code.append(LearnerCode(value))
        return {"learner": [len(code) - 1, code[-1].__name__]}

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.connect(os.environ[REFEREE_SOCKET])
            channel = Channel(connection)
            tensors: list[torch.Tensor] = []
            request = {"check": check, "args": _encode([args, kwargs], tensors, learner)}
            channel.send(request, tensors)
            while True:
                header, tensors = channel.receive()
                if "verdict" in header:
                    passed, message = header["verdict"]
                    return Result(passed is True, str(message))
                channel_answer(channel, header, tensors, code, modules)
    except (OSError, ProtocolError, ValueError, KeyError) as error:
        return Result(False, f"the grader could not decide this check ({error})")


def channel_answer(channel, header, tensors, code, modules) -> None:
    """Answer one request of the referee with what the learner's code gives."""
    target, request = header["target"], header["request"]
    args = _decode(header["args"], tensors, None)
    if target[0] == "code" and request in CODE_REQUESTS:
        owner = code[target[1]]
    elif target[0] == "module" and request in MODULE_REQUESTS:
        owner = modules[target[1]]
    else:
        raise ProtocolError(f"no such request: {request}")
    try:
        value = getattr(owner, request)(*args)
    except _LearnerError as error:
        channel.send({"learner_error": str(error)})
        return
    if isinstance(value, LearnerModule):
        modules.append(value)
        channel.send({"module": len(modules) - 1})
        return
    out: list[torch.Tensor] = []
    channel.send({"value": _encode(value, out, None)}, out)


# --- the referee's side -----------------------------------------------------------------------


class RemoteCode(LearnerCode):
    """The referee's stand-in for a class or function that stays in the learner's kernel."""

    def __init__(self, channel: Channel, number: int, name: str):
        self._channel, self._target, self.__name__ = channel, ["code", number], name

    def module(self, args: tuple, kwargs: dict, options: dict) -> LearnerModule:
        """The kernel builds the module; this is its stand-in."""
        header = _ask(self._channel, self._target, "module", (args, kwargs, options), whole=True)
        return RemoteModule(self._channel, header["module"])

    def attribute(self, name):
        """As ``LearnerCode.attribute``, answered by the kernel."""
        return _ask(self._channel, self._target, "attribute", (name,))

    def count(self, call, args, kwargs):
        """As ``LearnerCode.count``, answered by the kernel."""
        return _ask(self._channel, self._target, "count", (call, args, kwargs))

    def raised(self, args, kwargs):
        """As ``LearnerCode.raised``, answered by the kernel."""
        return _ask(self._channel, self._target, "raised", (args, kwargs))

    def value(self, call, args, kwargs):
        """As ``LearnerCode.value``, answered by the kernel."""
        return _ask(self._channel, self._target, "value", (call, args, kwargs))

    def returned(self, call, args, kwargs):
        """As ``LearnerCode.returned``, answered by the kernel."""
        return _ask(self._channel, self._target, "returned", (call, args, kwargs))

    def shortcut(self, call, args, x):
        """As ``LearnerCode.shortcut``, answered by the kernel."""
        return _ask(self._channel, self._target, "shortcut", (call, args, x))

    def on_model(self, factory, kwargs, state, grads, training, x, y):
        """As ``LearnerCode.on_model``, answered by the kernel."""
        request = (factory, kwargs, state, grads, training, x, y)
        return _ask(self._channel, self._target, "on_model", request)


class RemoteModule:
    """The referee's stand-in for a :class:`~resnet_ref.grading.LearnerModule` in the learner's
    kernel: the same methods, each answered by the kernel."""

    def __init__(self, channel: Channel, number: int):
        self._channel, self._target = channel, ["module", number]

    def __getattr__(self, request: str):
        if request not in MODULE_REQUESTS:
            raise AttributeError(request)
        return lambda *args: _ask(self._channel, self._target, request, args)


def _ask(channel: Channel, target: list, request: str, args: tuple, whole: bool = False):
    tensors: list[torch.Tensor] = []
    encoded = _encode(list(args), tensors, None)
    channel.send({"target": target, "request": request, "args": encoded}, tensors)
    header, tensors = channel.receive()
    if "learner_error" in header:
        raise _LearnerError(str(header["learner_error"]))
    if whole:
        if type(header.get("module")) is not int:
            raise ProtocolError("expected a module number")
        return header
    if "value" not in header:
        raise ProtocolError("expected a value")
    return _decode(header["value"], tensors, None)


def _unnamed(value):
    """``value`` with the names of the learner's objects left out: a test names them, and
    whatever a learner's class or function is called, the test's arguments are the same."""
    if type(value) is list:
        return [_unnamed(v) for v in value]
    if type(value) is dict:
        if "learner" in value and type(value["learner"]) is list and value["learner"]:
            return {"learner": value["learner"][0]}
        return {k: _unnamed(v) for k, v in value.items()}
    return value


def judge(
    channel: Channel,
    checks: dict[str, Callable[..., Result]],
    admit: Callable[[str], str | None] = lambda request: None,
) -> tuple[str, Result]:
    """Read a check's request from ``channel`` and run it here.

    Returns the request as it came, as canonical JSON (what the autograder compares with the
    solution's), and the verdict, which the caller records before it sends it
    (:func:`send_verdict`): the kernel goes on as soon as it has it. ``checks`` are the checks
    a referee may run, by name; ``admit`` says why a request may not run (then it fails
    without running), or ``None``.
    """
    header, tensors = channel.receive()
    request = {"check": header.get("check"), "args": _unnamed(header.get("args"))}
    text = json.dumps(request, sort_keys=True)
    refusal = admit(text)
    if refusal is not None:
        return text, Result(False, refusal)

    def learner(value: dict) -> RemoteCode:
        number, name = value["learner"]
        return RemoteCode(channel, int(number), str(name))

    check = checks.get(str(request["check"]))
    if check is None:
        verdict = Result(False, f"no check named {request['check']!r}")
    else:
        args, kwargs = _decode(header["args"], tensors, learner)
        verdict = check(*args, **kwargs)
    return text, verdict


def send_verdict(channel: Channel, verdict: Result) -> None:
    """The last message of a check: its verdict, which the kernel's check returns."""
    channel.send({"verdict": [verdict.passed is True, verdict.message]})
