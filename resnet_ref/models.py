"""Whole residual networks: a stem, stages of blocks, and a classifier head.

One class, :class:`ResNet`, builds every network in the course; the factory functions
below fix its arguments for the architectures of the papers, and a registry lets code
ask for a network by name::

    model = resnet_ref.create("resnet20")
    resnet_ref.list_models()

Two families:

- **ImageNet** (He et al., 2015): a 7x7 stride-2 stem with max-pooling, four stages of
  64, 128, 256 and 512 channels, strides 1, 2, 2, 2, and 1000 classes.
- **CIFAR** (the paper's section 4.2): a 3x3 stem, three stages of 16, 32 and 64 channels,
  strides 1, 2, 2, ``6n + 2`` layers, parameter-free option-A shortcuts and 10 classes.
"""

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from .blocks import (
    BasicBlock,
    BottleneckBlock,
    PreActBlock,
    PreActBottleneck,
    PreActResidualBlock,
    ResidualBlock,
)


class UnknownModelError(ValueError):
    """Raised by :func:`create` for a name that is not in the registry."""


class ResNet(nn.Module):
    """A residual network: stem, ``stage1`` ... ``stageK``, global average pooling, ``fc``.

    Args:
        block: the block class, e.g. :class:`~resnet_ref.blocks.BasicBlock`.
        blocks_per_stage: how many blocks each stage stacks, e.g. ``(2, 2, 2, 2)``.
        stage_channels: each stage's ``out_channels`` argument to its blocks (the
            bottleneck width for bottleneck blocks, which output four times as many).
        stage_strides: the stride of each stage's first block; the other blocks use 1.
        stem: ``"imagenet"`` (7x7/2 convolution, BN, ReLU, 3x3/2 max-pool) or ``"cifar"``
            (3x3 convolution, BN, ReLU). Pre-activation networks keep only the convolution.
        stem_channels: channels the stem produces.
        num_classes: outputs of the final linear layer.
        in_channels: channels of the input images.
        shortcut: shortcut option ``"A"``, ``"B"`` or ``"C"`` for every block.
        skip: ``False`` builds the plain network: the same layers without shortcuts.
        zero_init_residual: start every residual branch at zero (Goyal et al., 2017).
        **block_options: passed to every block (``se_reduction``, ``groups``, ...).
    """

    def __init__(
        self,
        block: type[ResidualBlock],
        blocks_per_stage: tuple[int, ...],
        stage_channels: tuple[int, ...],
        stage_strides: tuple[int, ...],
        stem: str = "imagenet",
        stem_channels: int = 64,
        num_classes: int = 1000,
        in_channels: int = 3,
        shortcut: str = "B",
        skip: bool = True,
        zero_init_residual: bool = False,
        **block_options,
    ):
        super().__init__()
        if not len(blocks_per_stage) == len(stage_channels) == len(stage_strides):
            raise ValueError(
                "blocks_per_stage, stage_channels and stage_strides need one entry per stage, "
                f"got {len(blocks_per_stage)}, {len(stage_channels)} and {len(stage_strides)}"
            )
        self.in_channels = in_channels
        pre_activation = issubclass(block, PreActResidualBlock)
        self.stem = make_stem(stem, in_channels, stem_channels, normalise=not pre_activation)

        channels = stem_channels
        self.num_stages = len(blocks_per_stage)
        for index, (count, width, stride) in enumerate(
            zip(blocks_per_stage, stage_channels, stage_strides, strict=True), start=1
        ):
            stage = []
            for position in range(count):
                stage.append(
                    block(
                        channels,
                        width,
                        stride if position == 0 else 1,
                        shortcut=shortcut,
                        skip=skip,
                        **block_options,
                    )
                )
                channels = stage[-1].out_channels
            self.add_module(f"stage{index}", nn.Sequential(*stage))

        # Pre-activation blocks leave their sum un-normalised, so the head normalises it.
        self.final_bn = nn.BatchNorm2d(channels) if pre_activation else None
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        self.num_features = channels
        initialise(self, zero_init_residual)

    def stages(self) -> list[nn.Sequential]:
        """The stages in order: ``[stage1, stage2, ...]``."""
        return [getattr(self, f"stage{index}") for index in range(1, self.num_stages + 1)]

    def blocks(self) -> list[tuple[str, ResidualBlock]]:
        """Every residual block with its name, e.g. ``("stage2.0", block)``, in forward order."""
        return [
            (f"stage{index}.{position}", block)
            for index, stage in enumerate(self.stages(), start=1)
            for position, block in enumerate(stage)
        ]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before pooling: stem, then every stage."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects images of shape [N, {self.in_channels}, H, W], "
                f"got {list(x.shape)}"
            )
        x = self.stem(x)
        for stage in self.stages():
            x = stage(x)
        if self.final_bn is not None:
            x = torch.relu_(self.final_bn(x))  # in place on the BatchNorm's fresh output
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``[N, C, H, W]`` to class scores ``[N, num_classes]``."""
        x = self.pool(self.features(x))
        return self.fc(torch.flatten(x, 1))


def make_stem(kind: str, in_channels: int, channels: int, normalise: bool = True) -> nn.Sequential:
    """The layers before the first stage.

    ``normalise=False`` keeps only the convolution (and pooling): pre-activation blocks
    begin with their own BatchNorm and ReLU.
    """
    if kind == "imagenet":
        layers = OrderedDict(
            conv=nn.Conv2d(in_channels, channels, 7, stride=2, padding=3, bias=False)
        )
    elif kind == "cifar":
        layers = OrderedDict(conv=nn.Conv2d(in_channels, channels, 3, padding=1, bias=False))
    else:
        raise ValueError(f"unknown stem {kind!r}; choose 'imagenet' or 'cifar'")
    if normalise:
        layers["bn"] = nn.BatchNorm2d(channels)
        layers["relu"] = nn.ReLU(inplace=True)
    if kind == "imagenet":
        layers["pool"] = nn.MaxPool2d(3, stride=2, padding=1)
    return nn.Sequential(layers)


def initialise(model: ResNet, zero_init_residual: bool = False) -> None:
    """He (Kaiming) normal initialisation for convolutions, BatchNorm at scale 1 and shift 0.

    With ``zero_init_residual`` every block's residual branch starts at zero, so each block
    starts as the identity (up to the ReLU) and a deep network starts as a shallow one.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    if zero_init_residual:
        for _, block in model.blocks():
            block.zero_init_residual()


# --- the registry -------------------------------------------------------------------------

MODELS: dict[str, Callable[..., ResNet]] = {}


def register(factory: Callable[..., ResNet]) -> Callable[..., ResNet]:
    """Add a factory function to the registry under its own name."""
    MODELS[factory.__name__] = factory
    return factory


def list_models() -> list[str]:
    """The names :func:`create` knows, sorted."""
    return sorted(MODELS)


def create(name: str, **kwargs) -> ResNet:
    """Build the network called ``name``; ``kwargs`` override its defaults.

    >>> create("resnet20", num_classes=100).fc.out_features
    100
    """
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return MODELS[name](**kwargs)


# --- ImageNet family (He et al., 2015, table 1) ----------------------------------------------

IMAGENET_STAGES = {"stage_channels": (64, 128, 256, 512), "stage_strides": (1, 2, 2, 2)}


def imagenet_resnet(block, blocks_per_stage, **kwargs) -> ResNet:
    """An ImageNet-style ResNet: 7x7 stem, four stages of 64 to 512 channels, 1000 classes."""
    options = {"stem": "imagenet", "stem_channels": 64, "num_classes": 1000, **IMAGENET_STAGES}
    return ResNet(block, blocks_per_stage, **{**options, **kwargs})


@register
def resnet18(**kwargs) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2); He et al., "Deep Residual Learning", 2015."""
    return imagenet_resnet(BasicBlock, (2, 2, 2, 2), **kwargs)


@register
def resnet34(**kwargs) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3); He et al., 2015."""
    return imagenet_resnet(BasicBlock, (3, 4, 6, 3), **kwargs)


@register
def resnet50(**kwargs) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3); He et al., 2015."""
    return imagenet_resnet(BottleneckBlock, (3, 4, 6, 3), **kwargs)


@register
def resnet101(**kwargs) -> ResNet:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3); He et al., 2015."""
    return imagenet_resnet(BottleneckBlock, (3, 4, 23, 3), **kwargs)


@register
def resnet152(**kwargs) -> ResNet:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3); He et al., 2015."""
    return imagenet_resnet(BottleneckBlock, (3, 8, 36, 3), **kwargs)


@register
def plain18(**kwargs) -> ResNet:
    """Plain-18: ResNet-18's layers without shortcuts, the paper's ImageNet baseline."""
    return imagenet_resnet(BasicBlock, (2, 2, 2, 2), skip=False, **kwargs)


@register
def plain34(**kwargs) -> ResNet:
    """Plain-34: ResNet-34's layers without shortcuts, the paper's ImageNet baseline."""
    return imagenet_resnet(BasicBlock, (3, 4, 6, 3), skip=False, **kwargs)


@register
def resnext50_32x4d(**kwargs) -> ResNet:
    """ResNeXt-50 (32x4d): 32 groups of width 4 in each 3x3; Xie et al., 2017."""
    return imagenet_resnet(BottleneckBlock, (3, 4, 6, 3), groups=32, base_width=4, **kwargs)


@register
def resnext101_32x8d(**kwargs) -> ResNet:
    """ResNeXt-101 (32x8d): 32 groups of width 8 in each 3x3; Xie et al., 2017."""
    return imagenet_resnet(BottleneckBlock, (3, 4, 23, 3), groups=32, base_width=8, **kwargs)


@register
def wide_resnet50_2(**kwargs) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide; Zagoruyko & Komodakis, 2016."""
    return imagenet_resnet(BottleneckBlock, (3, 4, 6, 3), base_width=128, **kwargs)


@register
def wide_resnet101_2(**kwargs) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide; Zagoruyko & Komodakis."""
    return imagenet_resnet(BottleneckBlock, (3, 4, 23, 3), base_width=128, **kwargs)


# --- CIFAR family (He et al., 2015, section 4.2) ----------------------------------------------

# The CIFAR networks of both papers share this layout; each factory overrides what differs.
CIFAR_STAGES = {
    "stem": "cifar",
    "stem_channels": 16,
    "stage_channels": (16, 32, 64),
    "stage_strides": (1, 2, 2),
    "num_classes": 10,
}


def cifar_resnet(depth: int, skip: bool = True, **kwargs) -> ResNet:
    """A CIFAR ResNet of ``depth = 6n + 2`` layers: 3 stages of n basic blocks, 16/32/64 channels.

    The paper's CIFAR networks use option A (parameter-free) shortcuts.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has 6n + 2 layers (20, 32, 44, 56, ...), got {depth}")
    n = (depth - 2) // 6
    options = {**CIFAR_STAGES, "shortcut": "A"}
    return ResNet(BasicBlock, (n, n, n), skip=skip, **{**options, **kwargs})


def register_cifar(depth: int, plain: bool) -> None:
    """Register ``resnet<depth>`` or ``plain<depth>`` as a factory of the CIFAR family."""
    kind = "plain" if plain else "resnet"

    def factory(**kwargs) -> ResNet:
        return cifar_resnet(depth, skip=not plain, **kwargs)

    factory.__name__ = f"{kind}{depth}"
    factory.__doc__ = (
        f"{'Plain' if plain else 'ResNet'}-{depth} for CIFAR-10: 3 stages of "
        f"{(depth - 2) // 6} basic blocks{' without shortcuts' if plain else ''}."
    )
    register(factory)


for _depth in (20, 32, 44, 56, 110, 1202):
    register_cifar(_depth, plain=False)
for _depth in (20, 32, 44, 56, 110):
    register_cifar(_depth, plain=True)


def cifar_preact_resnet(depth: int, bottleneck: bool, **kwargs) -> ResNet:
    """A pre-activation CIFAR ResNet (He et al., 2016), projection shortcuts where shapes change.

    Basic blocks give ``6n + 2`` layers; bottlenecks give ``9n + 2``.
    """
    layers_per_block = 3 if bottleneck else 2
    if (depth - 2) % (3 * layers_per_block):
        raise ValueError(
            f"a pre-activation CIFAR ResNet with {'bottleneck' if bottleneck else 'basic'} "
            f"blocks has {3 * layers_per_block}n + 2 layers, got {depth}"
        )
    n = (depth - 2) // (3 * layers_per_block)
    options = {**CIFAR_STAGES, "shortcut": "B"}
    block = PreActBottleneck if bottleneck else PreActBlock
    return ResNet(block, (n, n, n), **{**options, **kwargs})


@register
def preact_resnet110(**kwargs) -> ResNet:
    """Pre-activation ResNet-110 (basic blocks) for CIFAR-10; He et al., 2016."""
    return cifar_preact_resnet(110, bottleneck=False, **kwargs)


@register
def preact_resnet164(**kwargs) -> ResNet:
    """Pre-activation ResNet-164 (bottlenecks) for CIFAR-10; He et al., 2016."""
    return cifar_preact_resnet(164, bottleneck=True, **kwargs)


@register
def preact_resnet1001(**kwargs) -> ResNet:
    """Pre-activation ResNet-1001 (bottlenecks) for CIFAR-10; He et al., 2016."""
    return cifar_preact_resnet(1001, bottleneck=True, **kwargs)


@register
def wrn28_10(**kwargs) -> ResNet:
    """Wide ResNet-28-10 for CIFAR-10: pre-activation basic blocks, 10x wider; Zagoruyko, 2016."""
    options = {**CIFAR_STAGES, "stage_channels": (160, 320, 640), "shortcut": "B"}
    return ResNet(PreActBlock, (4, 4, 4), **{**options, **kwargs})


@register
def small_resnet(**kwargs) -> ResNet:
    """The small ResNet of the concise source document: 32, 64, 128 channels, 2 blocks each."""
    options = {
        **CIFAR_STAGES,
        "stem_channels": 32,
        "stage_channels": (32, 64, 128),
        "shortcut": "B",
    }
    return ResNet(BasicBlock, (2, 2, 2), **{**options, **kwargs})
