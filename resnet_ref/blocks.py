"""Residual blocks: a residual branch F(x) plus a shortcut, added together.

Every block here computes ``y = F(x) + shortcut(x)``. The *post-activation* blocks of the
original paper (:class:`BasicBlock`, :class:`BottleneckBlock`) apply a ReLU after the
addition; the *pre-activation* blocks of He et al. (2016) (:class:`PreActBlock`,
:class:`PreActBottleneck`) normalise and activate *before* each convolution and leave the
sum untouched, so the identity path runs clean from block to block.

``skip=False`` removes the shortcut and leaves everything else as it is: that is the
"plain" counterpart the paper trains to show the degradation problem.

Like torchvision's blocks, these work *in place* (``torch.relu_``, ``Tensor.add_``) wherever the
tensor overwritten is a fresh result that nothing else needs: a BatchNorm's output, the residual
branch's output, or the sum of branch and shortcut, never the block's input ``x``. The values
and gradients are the same as out of place; what is saved is allocating an activation-sized
buffer per step, which makes training a few percent faster. The shortcut is added onto the
branch's output only when the block's own :meth:`~ResidualBlock.residual` made it (see
``reuse_branch_output``): a subclass whose branch ends in an operation that needs its own output
for the backward pass, such as a ReLU, gets a new tensor for the sum and still trains.

Options shared by the blocks:

- ``shortcut``: ``"A"``, ``"B"`` or ``"C"`` (see :mod:`resnet_ref.shortcuts`);
- ``se_reduction``: add a squeeze-and-excitation unit (Hu et al., 2018) at the end of the
  residual branch, with ``channels // se_reduction`` squeezed channels;
- ``groups`` and ``base_width`` (bottlenecks): ResNeXt's grouped 3x3 convolution and the
  wider bottleneck of Wide ResNet-50-2.
"""

import torch
from torch import nn

from .shortcuts import make_shortcut


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A 3x3 convolution with padding 1, so that stride 1 keeps the spatial size.

    No bias: every convolution here is followed by BatchNorm, whose shift replaces it.
    """
    return nn.Conv2d(
        in_channels, out_channels, 3, stride=stride, padding=1, groups=groups, bias=False
    )


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """A 1x1 convolution: mixes channels at each pixel, without bias."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class SqueezeExcitation(nn.Module):
    """Squeeze and excitation (Hu et al., 2018): rescale each channel by a weight in (0, 1)
    computed from the channel averages of the whole input.

    The squeeze averages each channel over the image; two 1x1 convolutions with bias (``fc1``
    down to ``squeeze_channels``, a ReLU, ``fc2`` back up) and a sigmoid turn the averages into
    one weight per channel. The layers and their names are those of torchvision's
    ``torchvision.ops.SqueezeExcitation``, so the weights of one load into the other; defined
    here so that importing the blocks does not import torchvision.
    """

    def __init__(self, input_channels: int, squeeze_channels: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with each channel scaled by its weight."""
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


def squeeze_excitation(channels: int, se_reduction: int | None) -> nn.Module:
    """A squeeze-and-excitation unit for ``channels`` channels, or the identity if not asked for."""
    if se_reduction is None:
        return nn.Identity()
    return SqueezeExcitation(channels, max(1, channels // se_reduction))


class ResidualBlock(nn.Module):
    """What all blocks share: input checks, the shortcut, and ``relu(F(x) + shortcut(x))``.

    Subclasses build the residual branch in ``__init__`` and compute it in :meth:`residual`.
    """

    expansion = 1

    # Whether the shortcut may be added onto the output of ``residual`` in place. Only where
    # the branch ends in a BatchNorm, a convolution or squeeze-excitation's product, none of
    # which needs its own output for the backward pass; after a ReLU, which does, the in-place
    # sum would make ``backward()`` fail. Blocks that know their branch set it to True; a
    # subclass that keeps ``residual`` but swaps its last layer for one that needs its own
    # output (a ReLU, a sigmoid) must set it back to False.
    reuse_branch_output = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A subclass that writes its own residual branch gets a new tensor for the sum, whatever
        # its parent's branch allowed, unless it says otherwise itself.
        if "residual" in vars(cls) and "reuse_branch_output" not in vars(cls):
            cls.reuse_branch_output = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        shortcut: str,
        skip: bool,
        shortcut_batch_norm: bool = True,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels * self.expansion
        self.stride = stride
        self.shortcut = (
            make_shortcut(shortcut, in_channels, self.out_channels, stride, shortcut_batch_norm)
            if skip
            else None
        )

    @property
    def skip(self) -> bool:
        """Whether the block has a shortcut (False for the plain counterparts)."""
        return self.shortcut is not None

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError naming expected and actual shapes if ``x`` does not fit."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects input of shape [N, {self.in_channels}, H, W], "
                f"got {list(x.shape)}"
            )

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The residual branch F(x)."""
        raise NotImplementedError

    def add_shortcut(self, branch: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
        """``branch + shortcut``, written over ``branch`` when ``reuse_branch_output`` allows."""
        return branch.add_(shortcut) if self.reuse_branch_output else branch + shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(F(x) + shortcut(x))``, or ``relu(F(x))`` for a plain block."""
        self.check_input(x)
        out = self.residual(x)
        if self.shortcut is None:
            return torch.relu_(out) if self.reuse_branch_output else torch.relu(out)
        return torch.relu_(self.add_shortcut(out, self.shortcut(x)))  # in place on the sum


class BasicBlock(ResidualBlock):
    """Two 3x3 convolutions: conv-BN-ReLU-conv-BN, plus the shortcut, then ReLU.

    The block of ResNet-18/34 and of the CIFAR ResNets. ``out_channels`` is the number of
    output channels; the first convolution carries the stride.
    """

    expansion = 1
    reuse_branch_output = True  # its branch ends in a BatchNorm or squeeze-excitation

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: str = "B",
        skip: bool = True,
        se_reduction: int | None = None,
    ):
        super().__init__(in_channels, out_channels, stride, shortcut, skip)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = squeeze_excitation(out_channels, se_reduction)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """conv3x3 (stride) -> BN -> ReLU -> conv3x3 -> BN [-> squeeze-excitation]."""
        # relu_ works in place on the BatchNorm's fresh output: no extra copy is made.
        out = torch.relu_(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.se(out)

    def zero_init_residual(self) -> None:
        """Zero the last BatchNorm scale so that F(x) = 0 and the block starts as relu(x)."""
        nn.init.zeros_(self.bn2.weight)


class BottleneckBlock(ResidualBlock):
    """1x1 reduce, 3x3, 1x1 expand: the block of ResNet-50/101/152.

    ``out_channels`` is the bottleneck width; the block outputs ``4 * out_channels``
    channels (``expansion = 4``). The stride sits on the 3x3 convolution, as in
    torchvision ("ResNet v1.5"); ``stride_in_1x1=True`` puts it on the first 1x1, as in
    the original paper, which saves compute at the same parameter count. ``groups`` and
    ``base_width`` widen the 3x3 convolution for ResNeXt and Wide ResNet-50-2.
    """

    expansion = 4
    reuse_branch_output = True  # its branch ends in a BatchNorm or squeeze-excitation

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: str = "B",
        skip: bool = True,
        se_reduction: int | None = None,
        groups: int = 1,
        base_width: int = 64,
        stride_in_1x1: bool = False,
    ):
        super().__init__(in_channels, out_channels, stride, shortcut, skip)
        width = int(out_channels * base_width / 64) * groups
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(in_channels, width, stride_1x1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride_3x3, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, self.out_channels)
        self.bn3 = nn.BatchNorm2d(self.out_channels)
        self.se = squeeze_excitation(self.out_channels, se_reduction)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """1x1 -> BN -> ReLU -> 3x3 -> BN -> ReLU -> 1x1 -> BN [-> squeeze-excitation]."""
        # relu_ works in place on the BatchNorms' fresh outputs: no extra copy is made.
        out = torch.relu_(self.bn1(self.conv1(x)))
        out = torch.relu_(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.se(out)

    def zero_init_residual(self) -> None:
        """Zero the last BatchNorm scale so that F(x) = 0 and the block starts as relu(x)."""
        nn.init.zeros_(self.bn3.weight)


class PreActResidualBlock(ResidualBlock):
    """What pre-activation blocks share: ``F(x) + shortcut(x)`` with no ReLU after the sum.

    The first BatchNorm and ReLU act on the block input; a projection shortcut takes that
    normalised input, as in He et al. (2016), while an identity shortcut takes ``x`` itself.
    """

    def __init__(self, in_channels, out_channels, stride, shortcut, skip):
        # Pre-activation shortcuts carry no BatchNorm: the next block normalises first.
        super().__init__(in_channels, out_channels, stride, shortcut, skip, False)
        self.bn1 = nn.BatchNorm2d(in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``F(x) + shortcut(x)``, or ``F(x)`` for a plain block."""
        self.check_input(x)
        # In place on the BatchNorm's output, never on x: the identity shortcut needs x intact.
        pre = torch.relu_(self.bn1(x))
        out = self.residual(pre)
        if self.shortcut is None:
            return out
        if isinstance(self.shortcut, nn.Identity):
            return self.add_shortcut(out, x)
        return self.add_shortcut(out, self.shortcut(pre))


class PreActBlock(PreActResidualBlock):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, plus the shortcut.

    ``dropout`` puts dropout between the two convolutions, as Wide ResNets do.
    """

    expansion = 1
    reuse_branch_output = True  # its branch ends in a convolution or squeeze-excitation

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: str = "B",
        skip: bool = True,
        se_reduction: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__(in_channels, out_channels, stride, shortcut, skip)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.conv2 = conv3x3(out_channels, out_channels)
        self.se = squeeze_excitation(out_channels, se_reduction)

    def residual(self, pre: torch.Tensor) -> torch.Tensor:
        """F on the pre-activated input: conv3x3 -> BN -> ReLU -> [dropout] -> conv3x3."""
        out = torch.relu_(self.bn2(self.conv1(pre)))  # in place on a fresh BatchNorm output
        out = self.conv2(self.dropout(out))
        return self.se(out)

    def zero_init_residual(self) -> None:
        """Zero the last convolution so that F(x) = 0 and the block starts as the identity."""
        nn.init.zeros_(self.conv2.weight)


class PreActBottleneck(PreActResidualBlock):
    """Pre-activation bottleneck: (BN-ReLU-conv) x3 with 1x1, 3x3, 1x1 kernels.

    Outputs ``4 * out_channels`` channels; the stride sits on the 3x3 convolution.
    """

    expansion = 4
    reuse_branch_output = True  # its branch ends in a convolution or squeeze-excitation

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: str = "B",
        skip: bool = True,
        se_reduction: int | None = None,
        groups: int = 1,
        base_width: int = 64,
    ):
        super().__init__(in_channels, out_channels, stride, shortcut, skip)
        width = int(out_channels * base_width / 64) * groups
        self.conv1 = conv1x1(in_channels, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, self.out_channels)
        self.se = squeeze_excitation(self.out_channels, se_reduction)

    def residual(self, pre: torch.Tensor) -> torch.Tensor:
        """F on the pre-activated input: 1x1 -> BN -> ReLU -> 3x3 -> BN -> ReLU -> 1x1."""
        # relu_ works in place on the BatchNorms' fresh outputs: no extra copy is made.
        out = torch.relu_(self.bn2(self.conv1(pre)))
        out = torch.relu_(self.bn3(self.conv2(out)))
        return self.se(self.conv3(out))

    def zero_init_residual(self) -> None:
        """Zero the last convolution so that F(x) = 0 and the block starts as the identity."""
        nn.init.zeros_(self.conv3.weight)


BLOCKS = {
    "basic": BasicBlock,
    "bottleneck": BottleneckBlock,
    "preact": PreActBlock,
    "preact_bottleneck": PreActBottleneck,
}
