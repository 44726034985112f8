"""The catalogue of known mistakes, and how a wrong output is matched to one.

To diagnose a wrong output, each reference class may list known mistakes in
:data:`MISTAKES`: functions that compute the reference's output *with* that mistake. When the
learner's output equals one of them (within :data:`TOLERANCE`), the message names the mistake.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ..blocks import BasicBlock, BottleneckBlock, PreActBlock, SqueezeExcitation
from ..models import ResNet
from .messages import NO_DIAGNOSIS

# Outputs and gradients agree when max |got - expected| <= TOLERANCE * max(1, max |expected|).
# Float32 sums in a different order differ by about 1e-6; every mistake differs by far more.
TOLERANCE = 1e-4


# --- comparing tensors ----------------------------------------------------------------------


def _difference(got: torch.Tensor, expected: torch.Tensor) -> float:
    """max |got - expected| relative to max(1, max |expected|), from real tensors only."""
    got = torch.Tensor.detach(got).to(torch.float64)
    expected = torch.Tensor.detach(expected).to(torch.float64)
    if not bool(torch.isfinite(got).all()):
        return float("inf")
    scale = max(1.0, float(expected.abs().max()))
    return float((got - expected).abs().max()) / scale


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


def _resnet_with_softmax(net: ResNet, x: torch.Tensor) -> list[torch.Tensor]:
    """A whole network's output with a softmax, or a log-softmax, after its linear layer."""
    scores = net(x)
    return [torch.softmax(scores, dim=1), torch.log_softmax(scores, dim=1)]


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
    # Classifiers in tutorials often end with a softmax; a ResNet returns the raw scores,
    # which nn.CrossEntropyLoss expects.
    (
        "a softmax after the linear layer: return the raw class scores (logits); the loss"
        " applies its own log-softmax",
        _resnet_with_softmax,
    ),
    (
        "the features are max-pooled before the linear layer; ResNet averages each channel"
        " over the whole map (nn.AdaptiveAvgPool2d(1))",
        lambda net, x: net.fc(net.features(x).amax(dim=(2, 3))),
    ),
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


# --- known mistakes of a whole network, told by its parameter count ----------------------------


def _params(module: nn.Module | None) -> int:
    return sum(p.numel() for p in module.parameters()) if module is not None else 0


def _projection(channels_in: int, channels_out: int) -> int:
    """A projection shortcut's parameters: a 1x1 convolution without bias, then BatchNorm."""
    return channels_in * channels_out + 2 * channels_out


def _identity_blocks(net: ResNet, later: bool) -> list:
    """The blocks with an identity shortcut: the later blocks of the strided stages (``later``),
    or the first blocks of the stages that keep the resolution."""
    found = []
    for stage in net.stages():
        blocks = list(stage[1:]) if later and stage[0].stride != 1 else []
        blocks += [] if later or stage[0].stride != 1 else [stage[0]]
        found += [b for b in blocks if b.skip and isinstance(b.shortcut, nn.Identity)]
    return found


def _stride_everywhere(net: ResNet) -> int:
    """A stage's stride on every block: each later block of a strided stage gets a projection."""
    return sum(_projection(b.in_channels, b.out_channels) for b in _identity_blocks(net, True))


def _stride_in_first_stage(net: ResNet) -> int:
    """A stride of 2 in the stage that keeps the resolution: its first block gets a projection."""
    return sum(_projection(b.in_channels, b.out_channels) for b in _identity_blocks(net, False))


def _fc_without_expansion(net: ResNet) -> int:
    """The linear layer built for out_channels features, not out_channels × expansion."""
    expansion = net.stages()[-1][-1].expansion
    features = net.fc.in_features
    return (features // expansion - features) * net.fc.out_features if expansion > 1 else 0


def _twice_the_blocks(net: ResNet) -> int:
    """Each stage stacks twice its blocks: every extra block is like the stage's last one."""
    if any(len(stage) < 2 for stage in net.stages()):
        return 0
    return sum(len(stage) * _params(stage[-1]) for stage in net.stages())


def _plain_with_shortcuts(net: ResNet) -> int:
    """A plain network that kept its projections where the shapes change."""
    blocks = [block for _, block in net.blocks()]
    if any(block.skip for block in blocks):
        return 0
    return sum(
        _projection(b.in_channels, b.out_channels)
        for b in blocks
        if b.stride != 1 or b.in_channels != b.out_channels
    )


def _doubled_widths(net: ResNet) -> int:
    """Every stage twice as wide as it should be (out_channels 128, 256, ... for 64, 128, ...),
    built like the reference on the meta device, where it costs no memory."""
    blocks = [block for _, block in net.blocks()]
    if any(type(b) not in (BasicBlock, BottleneckBlock) or _params(b.se) for b in blocks):
        return 0
    # Option A's zero padding is the one shortcut that changes the shape without parameters.
    padded = [b for b in blocks if b.skip and b.shortcut is not None and not _params(b.shortcut)]
    option = "A" if any(not isinstance(b.shortcut, nn.Identity) for b in padded) else "B"
    channels, total = blocks[0].in_channels, _params(net.stem)
    with torch.device("meta"):
        for b in blocks:
            wider = type(b)(channels, 2 * b.out_channels // b.expansion, b.stride, option, b.skip)
            total += _params(wider)
            channels = wider.out_channels
    total += (channels + 1) * net.fc.out_features + 2 * channels * (net.final_bn is not None)
    return total - _params(net)


NETWORK_COUNT_MISTAKES = [
    (
        "only the first block of a stage has the stride; the others use stride 1 (a stride"
        " on every block gives each a projection)",
        _stride_everywhere,
    ),
    (
        "the first stage keeps the stem's resolution: its first block has stride 1 and, with"
        " as many channels in as out, the identity shortcut",
        _stride_in_first_stage,
    ),
    (
        "the linear layer must read the last stage's out_channels × block.expansion features"
        " (2048 behind bottlenecks, not 512)",
        _fc_without_expansion,
    ),
    (
        "twice as many blocks per stage as the reference: a basic block holds two of the"
        " layers that a depth counts",
        _twice_the_blocks,
    ),
    (
        "the plain network keeps projection shortcuts: without shortcuts (skip=False) no block"
        " has one",
        _plain_with_shortcuts,
    ),
    ("every stage is twice as wide as it should be", _doubled_widths),
]
"""Known mistakes of a whole network that change its parameter count: ``(message,
function(reference_network))``, the function giving how many more parameters (``got -
expected``) the network has with that mistake, or 0 where the mistake would not show."""


def _network_count_hint(difference: int, ref: nn.Module) -> str:
    """Name the known mistake of a whole network that explains ``difference``, or ''."""
    if type(ref) is not ResNet or not difference:
        return ""
    for message, mistake in NETWORK_COUNT_MISTAKES:
        try:
            if mistake(ref) == difference:
                return f" — {message}"
        except Exception:  # a network this mistake cannot be computed for
            continue
    return ""


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


def _dtype_mistake(got: torch.Tensor, expected: torch.Tensor) -> str:
    """Name an output computed in another precision than the reference's, or return ''."""
    if got.dtype == expected.dtype:
        return ""
    dtypes = [str(t.dtype).removeprefix("torch.") for t in (got, expected)]
    return (
        "the output is {} where the reference's is {}: a .half(), .double(), .to(...) or"
        " dtype= changed the precision".format(*dtypes)
    )


def _output_mismatch(call, mode, got, expected, snapshot, x) -> str:
    difference = _difference(got, expected)
    mistake = _dtype_mistake(got, expected) or _diagnose(snapshot, x, got)
    if not mistake and float(got.min()) < -TOLERANCE <= float(expected.min()):
        mistake = (
            f"the output has negative values (min {float(got.min()):.3g}) though a block"
            " ends with a ReLU: is the final ReLU missing?"
        )
    if not mistake:
        mistake = NO_DIAGNOSIS["block"]
    return (
        f"{call}, {mode} mode: expected the reference's output, got one that differs by"
        f" {difference:.3g} (relative) — likely mistake: {mistake}"
    )
