"""The behavioural checks that the test cells call, e.g. :func:`check_forward`.

Each returns a :class:`~resnet_ref.grading.messages.Result`. Two rules keep a correct solution
from losing points to noise: a check writes nothing to stderr or stdout (warnings and prints
inside it are swallowed, because nbgrader scores a test cell that writes to stderr as zero), and
a check never trusts an object's own ``__eq__``: outputs must be real ``torch.Tensor`` objects
and counts real ``int`` values, compared with torch and Python arithmetic.
"""

from __future__ import annotations

import contextlib
import copy
import io
import secrets
import warnings
from collections.abc import Callable, Iterator

import torch
from torch import nn

from . import referee
from .learner import dense_size, learner_code, shown
from .messages import (
    HINT_DASH,
    NO_DIAGNOSIS,
    Result,
    _count,
    _count_hint,
    _fail,
    _LearnerError,
    _not_an_int_hint,
    _ok,
    _shape_hint,
    describe_call,
    ordinal,
)
from .mistakes import (
    TOLERANCE,
    _diagnose,
    _difference,
    _dtype_mistake,
    _network_count_hint,
    _output_mismatch,
)
from .tracing import (
    CHECK_SEED,
    _input_shape,
    _random,
    fresh_generator,
    layer_weights,
    match_layers,
    randomise,
    trace_layers,
    transplant,
)

# Options of the check functions; every other keyword argument goes to the constructors.
# ``allow=(classes...)`` names resnet_ref classes that an exercise gives the learner (the
# blocks of a whole network): the learner's module may contain them.
_OPTIONS = ("input_shape", "modes", "allow")


def _split(kwargs: dict) -> tuple[dict, dict]:
    options = {k: kwargs.pop(k) for k in _OPTIONS if k in kwargs}
    return kwargs, options


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


# --- the checks -----------------------------------------------------------------------------


def _seeded_reference(reference, args, kwargs, generator):
    """``reference(*args, **kwargs)``, its weights drawn from ``generator``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        return reference(*args, **kwargs)


def _trace_error(call: str, problem: list[str]) -> _LearnerError:
    """The learner's error for a forward pass that failed while its layers were traced."""
    kind, text, hint = problem
    error = text if kind == "raised" else f"NotATensorError: {text}"
    return _LearnerError(f"{call} raised {error}{hint}")


def _paired(block, reference, args, kwargs, options, generator):
    """Build both modules, randomise the reference and transplant its weights into the
    learner's; return the call's description, the reference, the learner's module and the
    input shape."""
    block = learner_code(block)
    call = describe_call(block, args, kwargs)
    ref = _seeded_reference(reference, args, kwargs, generator)
    randomise(ref, generator)
    learner = block.module(args, kwargs, options)
    shape = _input_shape(args, options)
    probe = _random(shape, generator)
    ref_calls, ref_error = trace_layers(ref, probe.clone())
    if ref_error is not None:  # a bug in the test itself, not in the learner's code
        raise ref_error
    learner_calls, problem = learner.trace(probe.clone())
    if problem is not None and problem[0] == "not a tensor":
        raise _LearnerError(f"{call} {problem[1]}")
    pairing = match_layers(ref_calls, learner_calls)
    if isinstance(pairing, str):
        if problem is not None and len(learner_calls) < len(ref_calls):
            pairing = pairing.replace(
                f"but only {len(learner_calls)} layers ran",
                f"but your forward raised {problem[1]} before it ran",
            )
            if not problem[2].startswith(HINT_DASH):
                # An error of its own (a typo, a wrong name) stopped the forward pass: the
                # layers after it never ran, so a guess about why they are missing misleads.
                pairing = pairing.split(HINT_DASH)[0] + problem[2]
            elif HINT_DASH not in pairing:
                pairing += problem[2]
        raise _LearnerError(f"{call}: {pairing}")
    if problem is not None:
        raise _trace_error(call, problem)
    transplant(ref_calls, learner, pairing)
    return call, ref, learner, shape


def _shape(tensor: torch.Tensor) -> list[int]:
    return [int(s) for s in tensor.shape]


# The checks a referee decides while grading (see referee.py), by name.
REFEREED: dict[str, Callable[..., Result]] = {}


def _checked(function: Callable[..., Result], refereed: bool = False) -> Callable[..., Result]:
    """Run a check quietly and turn a learner's error into a failed Result.

    A check that draws random inputs and fails says which seed drew them; ``seed=`` makes the
    check draw those inputs again. A ``refereed`` check, called in a kernel that is being
    graded, is sent to the referee instead, which runs it in the grader's own process
    (:mod:`resnet_ref.grading.referee`), from :data:`REFEREED`; unless its reference is
    defined in the notebook, which only the kernel can run.
    """

    def here(*args, seed: int | None = None, **kwargs) -> Result:
        seed = secrets.randbits(62) if seed is None else int(seed)
        state = [seed, 0]
        token = CHECK_SEED.set(state)
        try:
            with quiet(), _one_thread():
                try:
                    result = function(*args, **kwargs)
                except _LearnerError as error:
                    result = _fail(str(error))
        finally:
            CHECK_SEED.reset(token)
        if result.passed or not state[1]:
            return result
        # A failure on random inputs can be run again on the very same inputs.
        return _fail(f"{result.message} (the same inputs again: add seed={seed} to this check)")

    def run(*args, **kwargs) -> Result:
        if refereed and referee.refereed() and referee.decidable(args, kwargs):
            return referee.ask_referee(function.__name__, args, kwargs)
        return here(*args, **kwargs)

    for wrapper in (here, run):
        wrapper.__name__ = function.__name__
        wrapper.__qualname__ = function.__qualname__
        wrapper.__doc__ = function.__doc__
    if refereed:
        REFEREED[function.__name__] = here
    return run


def _refereed(function: Callable[..., Result]) -> Callable[..., Result]:
    return _checked(function, refereed=True)


@_refereed
def check_shape(block, reference, *args, **kwargs) -> Result:
    """The learner's module gives an output of the reference's shape (and class attributes match).

    ``check_shape(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2)``; the input is
    ``[2, in_channels, 8, 8]`` unless ``input_shape=`` says otherwise.
    """
    kwargs, options = _split(kwargs)
    block = learner_code(block)
    call = describe_call(block, args, kwargs)
    generator = fresh_generator()
    shape = _input_shape(args, options)
    x = _random(shape, generator)
    expected = reference(*args, **kwargs).eval()(x.clone())
    got = block.module(args, kwargs, options).output(x.clone(), "eval")
    if _shape(got) != _shape(expected):
        hint = _shape_hint(_shape(expected), _shape(got), shape)
        return _fail(
            f"{call} on an input of shape {list(shape)}: expected output shape"
            f" {_shape(expected)}, got {_shape(got)}{hint}"
        )
    return _ok(f"{call}: output shape {_shape(got)}")


@_refereed
def check_attribute(block, name: str, expected: int) -> Result:
    """A class attribute such as ``expansion`` exists and is the int ``expected``."""
    block = learner_code(block)
    value = block.attribute(name)
    if value is None:
        return _fail(f"{block.__name__}.{name} is missing: set it as a class attribute")
    if type(value) is not int or value != expected:
        shown = value if isinstance(value, str) else repr(value)
        return _fail(f"expected {block.__name__}.{name} == {expected}, got {shown}")
    return _ok(f"{block.__name__}.{name} == {expected}")


@_refereed
def check_parameter_count(block, reference, *args, **kwargs) -> Result:
    """The learner's module has exactly as many parameters as the reference built alike."""
    kwargs, options = _split(kwargs)
    block = learner_code(block)
    call = describe_call(block, args, kwargs)
    ref = reference(*args, **kwargs)
    learner = block.module(args, kwargs, options)
    expected, got = _count(ref), learner.parameter_count()
    if got != expected:
        hint = _count_hint(got - expected, ref, learner.conv_bias_count())
        hint = hint or _network_count_hint(got - expected, ref)
        return _fail(
            f"{call}: expected {expected:,} parameters, got {got:,} ({got - expected:+,}){hint}"
        )
    return _ok(f"{call}: {got:,} parameters")


@_refereed
def check_forward(block, reference, *args, **kwargs) -> Result:
    """With the reference's weights transplanted, outputs equal the reference's.

    Checked on fresh random inputs in each of ``modes`` (default train, then eval).
    """
    kwargs, options = _split(kwargs)
    generator = fresh_generator()
    call, ref, learner, shape = _paired(block, reference, args, kwargs, options, generator)
    for mode in options.get("modes", ("train", "eval")):
        ref.train(mode == "train")
        snapshot = copy.deepcopy(ref)
        x = _random(shape, generator)
        with torch.no_grad():
            expected = ref(x.clone())
        got = learner.output(x.clone(), mode)
        if _shape(got) != _shape(expected):
            hint = _shape_hint(_shape(expected), _shape(got), shape)
            return _fail(
                f"{call}, {mode} mode: expected output shape {_shape(expected)},"
                f" got {_shape(got)}{hint}"
            )
        if _difference(got, expected) > TOLERANCE:
            return _fail(_output_mismatch(call, mode, got, expected, snapshot, x))
    return _ok(f"{call}: outputs match the reference")


@_refereed
def check_input_gradient(block, reference, *args, **kwargs) -> Result:
    """With the reference's weights transplanted, gradients with respect to the input agree."""
    kwargs, options = _split(kwargs)
    generator = fresh_generator()
    call, ref, learner, shape = _paired(block, reference, args, kwargs, options, generator)
    for mode in options.get("modes", ("train", "eval")):
        ref.train(mode == "train")
        snapshot = copy.deepcopy(ref)
        x = _random(shape, generator)
        x_ref = x.clone().requires_grad_(True)
        expected = ref(x_ref)
        upstream = _random(_shape(expected), generator)
        got, gradient, problem = learner.gradient(x.clone(), mode, upstream)
        if _shape(got) != _shape(expected):
            return _fail(
                f"{call}, {mode} mode: expected output shape {_shape(expected)}, got"
                f" {_shape(got)}; fix the forward pass first"
            )
        if _difference(got, expected) > TOLERANCE:
            first = _output_mismatch(call, mode, got, expected.detach(), snapshot, x)
            return _fail(f"{first}; fix the forward pass first")
        (expected * upstream).sum().backward()
        if problem == "no autograd":
            return _fail(
                f"{call}, {mode} mode: the output does not depend on the input through autograd"
                " (torch.no_grad(), .detach() or .data somewhere?)"
            )
        if problem == "no gradient":
            return _fail(f"{call}, {mode} mode: no gradient reached the input")
        if problem is not None:
            return _fail(f"{call}, {mode} mode: {problem}")
        difference = _difference(gradient, x_ref.grad)
        if difference > TOLERANCE:
            return _fail(
                f"{call}, {mode} mode: expected the reference's input gradient, got one that"
                f" differs by {difference:.3g} (relative) — likely mistake: part of the"
                " computation is cut off from autograd (.detach(), .data or torch.no_grad()"
                " on the shortcut or the branch?)"
            )
    return _ok(f"{call}: input gradients match the reference")


@_refereed
def check_identity(block, *args, **kwargs) -> Result:
    """With every BatchNorm's scale and shift at zero the block must compute ``relu(x)``.

    Zero scales and shifts make the residual branch output zero, whatever its arrangement;
    a block whose shapes match then passes its input through the identity shortcut.
    """
    kwargs, options = _split(kwargs)
    block = learner_code(block)
    call = describe_call(block, args, kwargs)
    learner = block.module(args, kwargs, options)
    if not learner.silence_norms():
        return _fail(f"{call}: found no nn.BatchNorm2d layer to silence the residual branch with")
    x = _random(_input_shape(args, options), fresh_generator())
    got = learner.output(x.clone(), "eval")
    expected = torch.relu(x)
    if _shape(got) != _shape(expected):
        hint = _shape_hint(_shape(expected), _shape(got), _shape(x))
        return _fail(f"{call}: expected output shape {_shape(expected)}, got {_shape(got)}{hint}")
    if _difference(got, expected) <= TOLERANCE:
        return _ok(f"{call}: relu(x) when the residual branch is zero")
    if float(got.abs().max()) <= TOLERANCE:
        why = (
            "the shortcut is a projection where the identity suffices"
            if learner.has_square_projection(args[0])
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
    why = (
        _dtype_mistake(got, expected)
        or "the shortcut should pass x unchanged when the shapes match"
    )
    return _fail(
        f"{call} with its residual branch silenced (every BatchNorm's scale and shift set to 0):"
        f" expected relu(x), got something that differs by {_difference(got, expected):.3g}"
        f" — {why}"
    )


@_refereed
def check_input_unchanged(block, *args, **kwargs) -> Result:
    """The block leaves its input tensor as it was, in train and eval mode."""
    kwargs, options = _split(kwargs)
    block = learner_code(block)
    call = describe_call(block, args, kwargs)
    learner = block.module(args, kwargs, options)
    x = _random(_input_shape(args, options), fresh_generator())
    for mode in ("train", "eval"):
        after = learner.input_after(x.clone(), mode)
        if _shape(after) != _shape(x) or not torch.equal(after, x):
            return _fail(
                f"{call}, {mode} mode: the block changed its input tensor in place; the"
                " caller's tensor must stay as it was — an in-place ReLU, or += on x?"
            )
    return _ok(f"{call}: input left unchanged")


@_refereed
def check_preact_identity(block, *args, **kwargs) -> Result:
    """With its last convolution zeroed, a pre-activation block that keeps the shape is ``x``.

    A pre-activation block ends its residual branch with a convolution and adds nothing after
    the sum, so zeroing that convolution must give back the input exactly, negatives included.
    """
    kwargs, options = _split(kwargs)
    block = learner_code(block)
    call = describe_call(block, args, kwargs)
    learner = block.module(args, kwargs, options)
    x = _random(_input_shape(args, options), fresh_generator())
    calls, problem = learner.trace(x.clone())
    if problem is not None:
        raise _trace_error(call, problem)
    convs = [i for i, c in enumerate(calls) if c.signature[0] == "Conv2d"]
    if not convs:
        return _fail(f"{call}: found no nn.Conv2d layer to silence the residual branch with")
    last = calls[convs[-1]]
    _, in_channels, out_channels, kernel_size, *_, groups, _ = last.signature
    zeros = torch.zeros(out_channels, in_channels // groups, *kernel_size)
    learner.load(convs[-1], {"weight": zeros})  # and its bias, if it has one, to zero
    got = learner.output(x.clone(), "eval")
    if _shape(got) != _shape(x):
        return _fail(f"{call}: expected output shape {_shape(x)}, got {_shape(got)}")
    if _difference(got, x) <= TOLERANCE:
        return _ok(f"{call}: x itself when the last convolution is zero")
    silenced = f"{call} with its last convolution ({last.description}) set to zero"
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


def _describe_dense(size: tuple) -> str:
    bias = "with" if size[2] else "without"
    return f"a Linear or 1x1 Conv2d from {size[0]} to {size[1]} channels, {bias} bias"


@_refereed
def check_forward_dense(block, reference, *args, **kwargs) -> Result:
    """Like :func:`check_forward`, for modules built of Linear and 1x1 Conv2d layers.

    A squeeze-and-excitation unit may use either: on a pooled ``[N, C, 1, 1]`` tensor a 1x1
    convolution and a linear layer of the same size compute the same thing. The layers are
    paired in the order they run and the reference's weights copied, reshaped, into them.
    """
    kwargs, options = _split(kwargs)
    block = learner_code(block)
    generator = fresh_generator()
    call = describe_call(block, args, kwargs)
    ref = _seeded_reference(reference, args, kwargs, generator)
    learner = block.module(args, kwargs, options)
    shape = _input_shape(args, options)
    probe = _random(shape, generator)
    ref_calls, ref_error = trace_layers(ref, probe.clone())
    if ref_error is not None:  # a bug in the test itself, not in the learner's code
        raise ref_error
    learner_calls, problem = learner.trace(probe.clone())
    if problem is not None:
        raise _trace_error(call, problem)
    sizes = learner.dense_sizes()
    for i, ref_call in enumerate(ref_calls):
        expected = _describe_dense(dense_size(ref_call.module))
        if i >= len(learner_calls):
            return _fail(
                f"{call}: expected {expected} as the {ordinal(i + 1)} layer to run, but only"
                f" {len(learner_calls)} layers ran"
            )
        found = learner_calls[i]
        size, has_bias = sizes[i]
        if size != dense_size(ref_call.module):
            bias = "" if has_bias else " without bias"
            return _fail(
                f"{call}: expected {expected} as the {ordinal(i + 1)} layer to run, found a"
                f" {found.description}{bias}"
            )
    if len(learner_calls) > len(ref_calls):
        extra = learner_calls[len(ref_calls)]
        return _fail(f"{call}: found an extra {extra.description} that resnet_ref does not have")
    for i, ref_call in enumerate(ref_calls):
        learner.load(i, layer_weights(ref_call.module))
    for mode in options.get("modes", ("train", "eval")):
        ref.train(mode == "train")
        snapshot = copy.deepcopy(ref)
        x = _random(shape, generator)
        with torch.no_grad():
            expected = ref(x.clone())
        got = learner.output(x.clone(), mode)
        if _shape(got) != _shape(expected):
            return _fail(
                f"{call}, {mode} mode: expected output shape {_shape(expected)},"
                f" got {_shape(got)} — the output is the input, rescaled channel by channel"
            )
        if _difference(got, expected) > TOLERANCE:
            mistake = _diagnose(snapshot, x, got) or NO_DIAGNOSIS["squeeze-excitation"]
            return _fail(
                f"{call}, {mode} mode: expected the reference's output, got one that differs"
                f" by {_difference(got, expected):.3g} (relative) — likely mistake: {mistake}"
            )
    return _ok(f"{call}: outputs match the reference")


@_refereed
def check_value(function, reference, *args, hint: str = "") -> Result:
    """``function(*args)`` returns the int ``reference(*args)`` returns; ``hint`` is added to
    the message when it does not (what the likely mistake is)."""
    function = learner_code(function)
    call = describe_call(function, args, {})
    expected = reference(*args)
    kind, got, type_name, _ = function.value(call, args, {})
    if kind != "int":
        return _fail(f"{call} should return an int, got {type_name}{_not_an_int_hint(type_name)}")
    if got != expected:
        return _fail(f"{call}: expected {expected}, got {got}{hint}")
    return _ok(f"{call} == {expected}")


@_refereed
def check_depth_comparison(
    function, depths: tuple, epochs: int, limit: int | None = None
) -> Result:
    """``function(depths, epochs, limit=limit)`` returns ``{"plain": {depth: error, ...},
    "residual": {depth: error, ...}}`` with the depths in the order given and each error a
    float in [0, 1] (assignment 4's ``compare_depths``). Only the form is checked: what the
    errors are depends on the learner's training run."""
    function = learner_code(function)
    call = describe_call(function, (depths, epochs), {"limit": limit})
    kind, content = function.returned(call, (depths, epochs), {"limit": limit})
    if kind != "dict":
        return _fail(f"{call} should return a dict, got {kind}")
    kinds = [shown(key) for key, _ in content]
    if kinds != ["plain", "residual"] or any(key[0] != "str" for key, _ in content):
        return _fail(f'{call}: expected the keys ["plain", "residual"], got {kinds}')
    for (_, name), (inner_kind, inner) in content:
        if inner_kind != "dict":
            return _fail(f"{call}[{name!r}] should be a dict of errors by depth, got {inner_kind}")
        got = [shown(key) for key, _ in inner]
        if got != list(depths) or any(key[0] != "int" for key, _ in inner):
            # Only a reordering has one likely cause; missing or extra depths have several.
            hint = ""
            if all(key[0] == "int" for key, _ in inner) and sorted(got) == sorted(depths):
                hint = " — the depths come back reordered (sorted?): keep the order given"
            return _fail(
                f"{call}[{name!r}] should have the depths {list(depths)} as keys, in that"
                f" order, got {got}{hint}"
            )
        for (_, depth), error in inner:
            if error[0] != "float" or not 0.0 <= error[1] <= 1.0:
                return _fail(
                    f"{call}[{name!r}][{depth}] should be a training error, a float in [0, 1],"
                    f" got {shown(error)!r}"
                )
    return _ok(f"{call}: errors of {len(depths)} depth(s) for both kinds")


@_refereed
def check_raises(function, error: type, *args, **kwargs) -> Result:
    """``function(*args, **kwargs)`` raises ``error`` (or a subclass), e.g. a ValueError."""
    function = learner_code(function)
    call = describe_call(function, args, kwargs)
    raised = function.raised(args, kwargs)
    if raised is not None and error.__name__ in raised[:-1]:
        return _ok(f"{call} raised {error.__name__}")
    if raised is not None:
        return _fail(f"{call}: expected a {error.__name__}, got {raised[-1]}")
    return _fail(
        f"{call}: expected a {error.__name__}, but it returned without raising one — nothing"
        f" checks these arguments: raise the {error.__name__} before building anything"
    )


@_refereed
def check_count_function(function, kind, reference, *args, **kwargs) -> Result:
    """``function(kind, *args, **kwargs)`` returns the parameter count of ``reference(*args)``.

    The count must come from the arguments alone: building a module inside ``function`` fails.
    """
    function = learner_code(function)
    call = f"{function.__name__}({', '.join([repr(kind)] + [repr(a) for a in args])}"
    call += "".join(f", {k}={v!r}" for k, v in kwargs.items()) + ")"
    ref = reference(*args, **kwargs)
    expected = _count(ref)
    got = function.count(call, (kind, *args), kwargs)
    if got == "builds a module":
        return _fail(
            f"{call} builds a module to count its parameters; compute the count from the"
            " arguments with the formula instead"
        )
    if isinstance(got, str):
        type_name = got.removeprefix("returned ")
        return _fail(f"{call} should return an int, got {type_name}{_not_an_int_hint(type_name)}")
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


def _eval_mode_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Candidate wrong answer: the norms at the units' outputs with the model in evaluation
    mode, where BatchNorm uses its running statistics instead of the batch's."""
    import torch.nn.functional as F

    model = copy.deepcopy(model).eval()
    units = [model.stem, *(module for _, module in model.blocks())]
    seen = []
    hooks = [u.register_forward_hook(lambda m, inputs, out: seen.append(out)) for u in units]
    try:
        loss = F.cross_entropy(model(x.clone()), y)
    finally:
        for hook in hooks:
            hook.remove()
    return [g.norm().item() for g in torch.autograd.grad(loss, seen)]


def _close(got: list[float], expected: list[float]) -> bool:
    scale = max([1.0, *map(abs, expected)])
    return all(abs(g - e) <= 1e-3 * scale for g, e in zip(got, expected, strict=True))


@_refereed
def check_gradient_norms(function, factory, **kwargs) -> Result:
    """``function(model, x, y)`` returns what ``resnet_ref.analysis.gradient_norms`` returns.

    ``model = factory(**kwargs)`` (a ResNet from ``resnet_ref``); the keys must be the same
    names in the same (forward) order, and the values the same norms within a small tolerance.
    """
    from ..analysis import gradient_norms

    function = learner_code(function)
    name = function.__name__
    model, x, y = _probe_model(factory, kwargs, fresh_generator())
    report = function.on_model(factory, kwargs, dict(model.state_dict()), None, True, x, y)
    expected = gradient_norms(model, x, y)
    keys = [key for key, _, _ in report["norms"]]
    if keys != list(expected):
        return _fail(
            f"{name}: expected the keys {list(expected)} in forward order (the stem, then"
            f" model.blocks()), got {keys}"
        )
    values = []
    for key, value, kind in report["norms"]:
        if value is None:
            return _fail(f"{name}: the value for {key!r} should be a float, got {kind}")
        values.append(value)
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
    elif _close(values, [value * len(y) for value in wanted]):
        hint = (
            f" — likely mistake: {len(y)} times the reference's, the batch size: the loss is"
            " summed over the batch; F.cross_entropy's default averages it"
        )
    elif _close(values, _eval_mode_norms(model, x, y)):
        hint = (
            " — likely mistake: the model was in evaluation mode; put it in training mode"
            " (model.train()) for the measurement, so that BatchNorm uses the batch's statistics"
        )
    return _fail(
        f"{name}: at {keys[worst]!r} expected {wanted[worst]:.6g}, got {values[worst]:.6g}{hint}"
    )


@_refereed
def check_leaves_model_unchanged(function, factory, **kwargs) -> Result:
    """``function(model, x, y)`` leaves no hooks, and ``.grad``, state and mode as they were."""
    function = learner_code(function)
    name = function.__name__
    model, x, y = _probe_model(factory, kwargs, fresh_generator())
    generator = fresh_generator()
    grads = [_random(parameter.shape, generator) for parameter in model.parameters()]
    report = function.on_model(factory, kwargs, dict(model.state_dict()), grads, False, x, y)
    if report["hooks_left"]:
        return _fail(
            f"{name} left {report['hooks_left']} hook(s) registered on the model — keep the"
            " handles that register_forward_hook returns and call .remove() on each, in a"
            " `finally:` block"
        )
    if report["grads_changed"]:
        return _fail(
            f"{name} changed the .grad of {report['grads_changed']} parameter(s) — take the"
            " gradients with torch.autograd.grad(loss, outputs), which does not touch .grad,"
            " not loss.backward()"
        )
    if report["changed"] is not None:
        what = "a parameter" if report["changed_parameter"] else "a buffer"
        return _fail(
            f"{name} changed {what}, {report['changed']!r} — the training-mode forward pass"
            " updates the BatchNorm running statistics: save the buffers first and copy them"
            " back"
        )
    if report["training"]:
        return _fail(
            f"{name} left a model that was in eval mode in training mode — restore the mode"
            " it had (model.train(was_training))"
        )
    return _ok(f"{name}: model left as it was")
