"""Measurements the chapters make on networks: sizes, compute, gradients, lesions, landscapes."""

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .blocks import ResidualBlock
from .models import create


def build_on_meta(model: str | Callable[..., nn.Module], *args, **kwargs) -> nn.Module:
    """A network built on PyTorch's ``meta`` device: every shape, no memory for its weights.

    ``model`` is a name that :func:`~resnet_ref.models.create` knows (``kwargs`` override the
    network's defaults) or anything that builds a module, such as
    :class:`~resnet_ref.models.ResNet` or a torchvision model function, called with ``args``
    and ``kwargs``. A meta tensor has a shape and a data type but no storage, so even
    ResNet-1202 is built in an instant and takes no memory. :func:`count_parameters`,
    :func:`count_macs` and :func:`layer_table` work on the result; it has no values to compute
    anything else with.

    >>> build_on_meta("resnet152").fc.weight.device
    device(type='meta')
    """
    with torch.device("meta"):
        if isinstance(model, str):
            return create(model, *args, **kwargs)
        return model(*args, **kwargs)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of parameters (weights, biases, BatchNorm scales and shifts) in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_weighted_layers(model: nn.Module) -> int:
    """The depth of ``model`` as the papers count it ("ResNet-50"): layers with weights.

    That is every convolution and fully connected layer on the main path. The convolutions of
    projection shortcuts (any module named ``shortcut``) do not count, nor do BatchNorm layers.
    """
    return sum(
        1
        for name, module in model.named_modules()
        if isinstance(module, (nn.Conv2d, nn.Linear)) and "shortcut" not in name
    )


def count_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> int:
    """Multiply-accumulate operations of one forward pass on an input of ``input_size``.

    Counted by ``torch.utils.flop_counter`` over convolutions and matrix products, which
    it reports as 2 FLOPs per multiply-add. The ResNet paper's "FLOPs" are these
    multiply-adds. BatchNorm, ReLU, additions and pooling are not counted.
    """
    parameter = next(model.parameters())
    x = torch.zeros(input_size, dtype=parameter.dtype, device=parameter.device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


# --- a layer-by-layer table -------------------------------------------------------------------


def layer_table(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> list[dict]:
    """One row per layer outside the blocks and per residual block, in forward order.

    Each row has the keys ``name`` (``"stem.conv"``, ``"stage2.0"``, ``"fc"``), ``type``,
    ``output_shape`` (for an input of ``input_size``, batch dimension included),
    ``parameters`` and ``macs`` (multiply-adds, counted as in :func:`count_macs`). A block is
    one row: its inner layers are not listed. Layers with no parameters that keep the shape
    (ReLU) are left out, so the rows add up to :func:`count_parameters` and
    :func:`count_macs` exactly.
    """
    units = []
    for name, module in model.named_modules():
        inside_a_block = any(name.startswith(f"{unit}.") for unit, _ in units)
        is_leaf = next(module.children(), None) is None
        if not inside_a_block and (isinstance(module, ResidualBlock) or is_leaf):
            units.append((name, module))

    parameter = next(model.parameters())
    x = torch.zeros(input_size, dtype=parameter.dtype, device=parameter.device)
    counter = FlopCounterMode(display=False)
    seen = {}

    # The counter's running total, read before and after a layer runs, is that layer's share.
    def before(module, inputs):
        seen[module] = {"input_shape": tuple(inputs[0].shape), "flops": counter.get_total_flops()}

    def after(module, inputs, output):
        seen[module]["output_shape"] = tuple(output.shape)
        seen[module]["flops"] = counter.get_total_flops() - seen[module]["flops"]

    hooks = [module.register_forward_pre_hook(before) for _, module in units]
    hooks += [module.register_forward_hook(after) for _, module in units]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(x)
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()

    rows = []
    for name, module in units:
        if module not in seen:
            continue  # defined but not used in the forward pass
        row = {
            "name": name,
            "type": type(module).__name__,
            "output_shape": seen[module]["output_shape"],
            "parameters": sum(p.numel() for p in module.parameters()),
            "macs": seen[module]["flops"] // 2,
        }
        if row["parameters"] or row["macs"] or row["output_shape"] != seen[module]["input_shape"]:
            rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """Lay out the rows of :func:`layer_table` as aligned text, with a total line at the end."""
    header = ("layer", "type", "output shape", "parameters", "MACs")
    lines = [
        (
            row["name"],
            row["type"],
            "x".join(str(size) for size in row["output_shape"]),
            f"{row['parameters']:,}",
            f"{row['macs']:,}",
        )
        for row in rows
    ]
    total_parameters = sum(row["parameters"] for row in rows)
    total_macs = sum(row["macs"] for row in rows)
    total = ("total", "", "", f"{total_parameters:,}", f"{total_macs:,}")
    widths = [max(len(line[i]) for line in [header, *lines, total]) for i in range(len(header))]

    # Words line up on the left, numbers on the right so that their digits line up.
    def layout(line):
        text = [cell.ljust(width) for cell, width in zip(line[:3], widths[:3], strict=True)]
        numbers = [cell.rjust(width) for cell, width in zip(line[3:], widths[3:], strict=True)]
        return "  ".join(text + numbers)

    rule = "-" * len(layout(header))
    return "\n".join([layout(header), rule, *map(layout, lines), rule, layout(total)])


# --- gradients through depth ------------------------------------------------------------------


def gradient_norms(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> dict[str, float]:
    """The L2 norm of the loss gradient at the stem's output and at every block's output.

    ``model`` is a :class:`~resnet_ref.models.ResNet` (or anything with ``stem`` and
    ``blocks()``); the keys are ``"stem"``, then the block names in forward order. The
    loss is computed on one batch ``(x, y)`` in training mode, so BatchNorm normalises with
    the batch's statistics as it does while training.

    The model is left as it was: its mode, its BatchNorm running statistics (which a
    training-mode forward pass updates) and its parameters' ``.grad`` (the gradients are
    taken with ``torch.autograd.grad``, which does not accumulate into ``.grad``).
    """
    outputs = {}

    def keep(name):
        def hook(module, inputs, output):
            outputs[name] = output

        return hook

    watched = [("stem", model.stem), *model.blocks()]
    hooks = [module.register_forward_hook(keep(name)) for name, module in watched]
    buffers = {name: buffer.clone() for name, buffer in model.named_buffers()}
    was_training = model.training
    model.train()
    try:
        loss = loss_fn(model(x), y)
        gradients = torch.autograd.grad(loss, list(outputs.values()))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(buffers[name])
    return {name: gradient.norm().item() for name, gradient in zip(outputs, gradients, strict=True)}


# --- lesion study (Veit et al., 2016) ---------------------------------------------------------


@contextmanager
def lesioned(block: ResidualBlock) -> Iterator[ResidualBlock]:
    """Within the ``with`` statement, ``block`` runs without its residual branch.

    The block then outputs what its shortcut carries: ``relu(shortcut(x))`` for a
    post-activation block (``x`` itself for an identity shortcut and a non-negative input),
    ``x`` or the projection of the pre-activated input for a pre-activation block. A plain
    block has nothing else to carry the signal, so it cannot be lesioned.
    """
    if block.shortcut is None:
        raise ValueError(
            f"a plain {type(block).__name__} (skip=False) has no shortcut: removing its "
            "residual branch would cut the network in two"
        )

    # F(x) has the shape of the shortcut's output; computing that shortcut is the one way to
    # get the shape that works for every block type.
    def no_residual(inputs):
        return torch.zeros_like(block.shortcut(inputs))

    # An instance attribute shadows the class's method; deleting it brings the method back.
    block.residual = no_residual
    try:
        yield block
    finally:
        del block.residual


def lesion_study(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
) -> list[dict]:
    """The error rate of ``model`` intact, then with each residual block removed in turn.

    ``batches`` yields prepared ``(images, labels)``. The first row is
    ``{"block": None, "error": baseline}``; then one row ``{"block": name, "error": ...}``
    per block of ``model.blocks()``, in forward order. Evaluated in evaluation mode.
    """
    # Every lesion must see the same images, even if ``batches`` shuffles or augments.
    batches = list(batches)
    rows = [{"block": None, "error": _loss_and_error(model, batches)[1]}]
    for name, block in model.blocks():
        with lesioned(block):
            rows.append({"block": name, "error": _loss_and_error(model, batches)[1]})
    return rows


# --- paths through a residual network ---------------------------------------------------------


def count_paths(n_blocks: int) -> int:
    """How many paths lead through ``n_blocks`` residual blocks: ``2 ** n_blocks``.

    At each block a path either goes through the residual branch or takes the shortcut.
    """
    if n_blocks < 0:
        raise ValueError(f"the number of blocks cannot be negative, got {n_blocks}")
    return 2**n_blocks


def paths_by_length(n_blocks: int) -> list[int]:
    """Entry ``k`` is how many paths pass through exactly ``k`` residual branches: C(n, k)."""
    if n_blocks < 0:
        raise ValueError(f"the number of blocks cannot be negative, got {n_blocks}")
    return [math.comb(n_blocks, k) for k in range(n_blocks + 1)]


# --- a slice of the loss landscape (Li et al., 2018) ------------------------------------------


def filter_normalised_direction(
    model: nn.Module, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """A random direction in parameter space, one tensor per parameter name of ``model``.

    Li et al. (2018), "Visualizing the Loss Landscape of Neural Nets": the direction of every
    convolution and linear weight is Gaussian noise with each filter (output channel, or
    row) rescaled to the norm of the same filter of the weight, so that a step along it
    changes every filter by the same relative amount whatever its scale. Biases and
    BatchNorm parameters get zero. ``generator`` is a CPU generator; drawing on the CPU gives
    the same direction on every device.
    """
    filter_weights = {
        id(module.weight)
        for module in model.modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    }
    direction = {}
    for name, parameter in model.named_parameters():
        if id(parameter) not in filter_weights:
            direction[name] = torch.zeros_like(parameter)
            continue
        parameter = parameter.detach()
        noise = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype)
        noise = noise.to(parameter.device)
        direction[name] = noise * (_filter_norms(parameter) / (_filter_norms(noise) + 1e-10))
    return direction


def loss_landscape_1d(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    steps: int = 21,
    span: float = 1.0,
    seed: int = 0,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> tuple[list[float], list[float]]:
    """The mean loss at ``theta + alpha * d`` for ``steps`` values of alpha from -span to span.

    ``d`` is :func:`filter_normalised_direction` drawn with ``seed``; ``batches`` yields
    prepared ``(images, labels)``. Evaluated in evaluation mode without gradients; the
    parameters are restored exactly afterwards. Returns ``(alphas, losses)``.
    """
    if steps < 2:
        raise ValueError(f"need at least 2 steps to span [-span, span], got {steps}")
    direction = filter_normalised_direction(model, torch.Generator().manual_seed(seed))
    batches = list(batches)
    # Written out rather than torch.linspace so that an odd number of steps hits alpha = 0
    # exactly and the middle point is the model itself.
    alphas = [span * (2 * i / (steps - 1) - 1) for i in range(steps)]
    original = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    losses = []
    try:
        for alpha in alphas:
            with torch.no_grad():
                for name, parameter in model.named_parameters():
                    parameter.copy_(original[name] + alpha * direction[name])
            losses.append(_loss_and_error(model, batches, loss_fn)[0])
    finally:
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                parameter.copy_(original[name])
    return alphas, losses


# --- helpers ----------------------------------------------------------------------------------


def _filter_norms(weight: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each filter (slice along dimension 0), shaped to broadcast over ``weight``."""
    norms = weight.flatten(1).norm(dim=1)
    return norms.view(-1, *[1] * (weight.dim() - 1))


def _loss_and_error(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> tuple[float, float]:
    """Mean loss and error rate over prepared batches, in evaluation mode, without gradients.

    :func:`resnet_ref.training.evaluate` does the same for a data set; this takes tensors.
    """
    was_training = model.training
    model.eval()
    loss_sum, wrong, seen = 0.0, 0, 0
    try:
        with torch.no_grad():
            for images, labels in batches:
                logits = model(images)
                loss_sum += loss_fn(logits, labels).item() * len(labels)
                wrong += (logits.argmax(dim=1) != labels).sum().item()
                seen += len(labels)
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("no batches to evaluate on")
    return loss_sum / seen, wrong / seen
