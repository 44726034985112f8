"""Shortcuts and residual blocks: shapes, the identity property, gradients, options."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from resnet_ref import (
    BasicBlock,
    BottleneckBlock,
    PreActBlock,
    PreActBottleneck,
    ProjectionShortcut,
    ZeroPadShortcut,
    make_shortcut,
)
from resnet_ref.analysis import count_parameters
from resnet_ref.blocks import SqueezeExcitation

ALL_BLOCKS = [BasicBlock, BottleneckBlock, PreActBlock, PreActBottleneck]


@pytest.mark.parametrize("block_class", ALL_BLOCKS)
@pytest.mark.parametrize(
    "in_channels, out_channels, stride", [(16, 16, 1), (16, 32, 1), (16, 32, 2), (64, 16, 2)]
)
def test_output_shape(block_class, in_channels, out_channels, stride):
    expansion = block_class.expansion
    if block_class.expansion == 4 and in_channels == 16:
        in_channels = out_channels * expansion  # the identity case for bottlenecks
    block = block_class(in_channels, out_channels, stride)
    y = block(torch.randn(2, in_channels, 9, 9))
    side = 9 if stride == 1 else 5  # ceil(9 / 2): padding keeps odd sizes aligned
    assert list(y.shape) == [2, out_channels * expansion, side, side]
    assert block.out_channels == out_channels * expansion


@pytest.mark.parametrize(
    "option, in_channels, out_channels, stride, expected",
    [
        ("A", 16, 16, 1, nn.Identity),
        ("A", 16, 32, 2, ZeroPadShortcut),
        ("B", 16, 16, 1, nn.Identity),
        ("B", 16, 32, 2, ProjectionShortcut),
        ("B", 16, 16, 2, ProjectionShortcut),
        ("C", 16, 16, 1, ProjectionShortcut),
    ],
)
def test_shortcut_options(option, in_channels, out_channels, stride, expected):
    assert type(make_shortcut(option, in_channels, out_channels, stride)) is expected


def test_unknown_shortcut_option_is_refused():
    with pytest.raises(ValueError, match="'D'.*A, B, C"):
        make_shortcut("D", 16, 32, 2)


def test_zero_padding_shortcut_subsamples_and_appends_zero_channels():
    x = torch.randn(2, 16, 8, 8)
    y = ZeroPadShortcut(16, 32, 2)(x)
    assert list(y.shape) == [2, 32, 4, 4]
    torch.testing.assert_close(y[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 16:]) == 0
    assert count_parameters(ZeroPadShortcut(16, 32, 2)) == 0


def test_projection_shortcut_is_a_strided_1x1_convolution_without_bias_then_batchnorm():
    shortcut = ProjectionShortcut(16, 32, 2)
    assert shortcut.conv.kernel_size == (1, 1) and shortcut.conv.stride == (2, 2)
    assert shortcut.conv.bias is None
    assert isinstance(shortcut.bn, nn.BatchNorm2d)
    assert count_parameters(shortcut) == 16 * 32 + 2 * 32


@pytest.mark.parametrize("block_class", ALL_BLOCKS)
def test_convolutions_have_no_bias(block_class):
    block = block_class(64, 32, 2)
    for module in block.modules():
        if isinstance(module, nn.Conv2d):
            assert module.bias is None


@pytest.mark.parametrize("block_class", [BasicBlock, BottleneckBlock])
def test_zeroed_residual_makes_an_identity_block_compute_relu(block_class):
    channels = 32
    block = block_class(channels, channels // block_class.expansion)
    block.zero_init_residual()
    block.eval()
    x = torch.randn(4, channels, 6, 6, requires_grad=True)
    y = block(x)
    torch.testing.assert_close(y, torch.relu(x))

    # The gradient flows through the identity path alone: it is the ReLU mask.
    y.sum().backward()
    torch.testing.assert_close(x.grad, (x > 0).float())


@pytest.mark.parametrize("block_class", [PreActBlock, PreActBottleneck])
def test_zeroed_residual_makes_a_preactivation_block_the_identity(block_class):
    channels = 32
    block = block_class(channels, channels // block_class.expansion)
    block.zero_init_residual()
    x = torch.randn(4, channels, 6, 6, requires_grad=True)
    y = block(x)
    torch.testing.assert_close(y, x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones_like(x))


@pytest.mark.parametrize("block_class", ALL_BLOCKS)
def test_block_does_not_modify_its_input(block_class):
    # In-place operations on the input would corrupt what the shortcut adds back.
    block = block_class(64, 16)
    x = torch.randn(2, 64, 5, 5)
    before = x.clone()
    block(x)
    torch.testing.assert_close(x, before)


def test_plain_block_has_no_shortcut_and_computes_relu_of_the_residual():
    block = BasicBlock(16, 32, 2, skip=False).eval()
    assert block.shortcut is None and not block.skip
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(block(x), torch.relu(block.residual(x)))
    residual_block = BasicBlock(16, 32, 2).eval()
    assert count_parameters(residual_block) - count_parameters(block) == 16 * 32 + 2 * 32


def test_block_rejects_the_wrong_channel_count_naming_both_shapes():
    block = BasicBlock(16, 16)
    with pytest.raises(ValueError) as error:
        block(torch.randn(2, 8, 4, 4))
    assert "[N, 16, H, W]" in str(error.value) and "[2, 8, 4, 4]" in str(error.value)


def test_bottleneck_stride_position():
    torchvision_style = BottleneckBlock(64, 16, stride=2)
    paper_style = BottleneckBlock(64, 16, stride=2, stride_in_1x1=True)
    assert torchvision_style.conv1.stride == (1, 1) and torchvision_style.conv2.stride == (2, 2)
    assert paper_style.conv1.stride == (2, 2) and paper_style.conv2.stride == (1, 1)
    assert count_parameters(paper_style) == count_parameters(torchvision_style)
    x = torch.randn(1, 64, 8, 8)
    assert paper_style(x).shape == torchvision_style(x).shape


def test_grouped_bottleneck_widens_the_3x3_as_resnext_does():
    block = BottleneckBlock(256, 64, groups=32, base_width=4)
    assert block.conv2.groups == 32
    assert block.conv2.in_channels == 128  # 64 * 4 / 64 * 32
    assert block.out_channels == 256


def test_squeeze_excitation_adds_its_two_small_layers():
    plain = BasicBlock(64, 64)
    with_se = BasicBlock(64, 64, se_reduction=16)
    # Two 1x1 layers with bias: 64 -> 4 -> 64.
    assert count_parameters(with_se) - count_parameters(plain) == 64 * 4 + 4 + 4 * 64 + 64
    x = torch.randn(2, 64, 4, 4)
    assert with_se(x).shape == x.shape


def test_squeeze_excitation_is_torchvisions_without_importing_it():
    from torchvision.ops import SqueezeExcitation as Torchvisions

    ours, theirs = SqueezeExcitation(16, 4), Torchvisions(16, 4)
    theirs.load_state_dict(ours.state_dict())  # the same layers under the same names
    x = torch.randn(3, 16, 5, 7)
    torch.testing.assert_close(ours(x), theirs(x))
    imports = "import sys, resnet_ref.grading; print('torchvision' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", imports], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stdout + done.stderr


def test_preactivation_projection_takes_the_normalised_input():
    block = PreActBlock(16, 32, 2).eval()
    block.zero_init_residual()
    x = torch.randn(2, 16, 8, 8)
    expected = block.shortcut(torch.relu(block.bn1(x)))
    torch.testing.assert_close(block(x), expected)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in block.shortcut.modules())


# What each block computes, written out plainly and out of place: the blocks apply their ReLUs
# and the addition in place (as torchvision does), which must change neither values nor gradients.
def _out_of_place(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    relu = torch.relu  # never in place
    if isinstance(block, BasicBlock):
        out = block.se(block.bn2(block.conv2(relu(block.bn1(block.conv1(x))))))
        return relu(out + block.shortcut(x) if block.skip else out)
    if isinstance(block, BottleneckBlock):
        out = relu(block.bn1(block.conv1(x)))
        out = relu(block.bn2(block.conv2(out)))
        out = block.se(block.bn3(block.conv3(out)))
        return relu(out + block.shortcut(x) if block.skip else out)
    pre = relu(block.bn1(x))
    if isinstance(block, PreActBlock):
        out = block.se(block.conv2(block.dropout(relu(block.bn2(block.conv1(pre))))))
    else:
        out = relu(block.bn2(block.conv1(pre)))
        out = block.se(block.conv3(relu(block.bn3(block.conv2(out)))))
    if not block.skip:
        return out
    return out + (x if isinstance(block.shortcut, nn.Identity) else block.shortcut(pre))


@pytest.mark.parametrize(
    "make_block, in_channels",
    [
        (lambda: BasicBlock(16, 16), 16),  # identity shortcut
        (lambda: BasicBlock(16, 32, 2), 16),  # projection
        (lambda: BasicBlock(16, 32, 2, shortcut="A"), 16),  # zero padding
        (lambda: BasicBlock(16, 16, se_reduction=4), 16),  # squeeze-excitation, then the sum
        (lambda: BasicBlock(16, 32, 2, skip=False), 16),  # plain
        (lambda: BottleneckBlock(64, 16), 64),
        (lambda: BottleneckBlock(32, 16, 2), 32),
        (lambda: BottleneckBlock(64, 16, se_reduction=8), 64),
        (lambda: PreActBlock(16, 16), 16),
        (lambda: PreActBlock(16, 32, 2), 16),
        (lambda: PreActBottleneck(64, 16), 64),
        (lambda: PreActBottleneck(32, 16, 2), 32),
    ],
    ids=[
        "basic-identity",
        "basic-projection",
        "basic-zero-pad",
        "basic-se",
        "basic-plain",
        "bottleneck-identity",
        "bottleneck-projection",
        "bottleneck-se",
        "preact-identity",
        "preact-projection",
        "preact-bottleneck-identity",
        "preact-bottleneck-projection",
    ],
)
def test_in_place_block_computes_what_the_out_of_place_formula_does(make_block, in_channels):
    torch.manual_seed(0)
    block = make_block().train()
    parameters = list(block.parameters())
    leaf = torch.randn(4, in_channels, 8, 8, requires_grad=True)
    x = leaf * 1.0  # a non-leaf input, as inside a network
    x_before, version_before = x.detach().clone(), x._version
    y = block(x)
    # The block only reads its input: same values, and no in-place operation touched it.
    assert x._version == version_before
    torch.testing.assert_close(x.detach(), x_before, rtol=0, atol=0)

    expected = _out_of_place(block, leaf * 1.0)
    torch.testing.assert_close(y, expected, rtol=0, atol=0)
    weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    got = torch.autograd.grad((y * weight).sum(), [leaf, *parameters])
    want = torch.autograd.grad((expected * weight).sum(), [leaf, *parameters])
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=0, atol=0)


def _last_of_branch(block: nn.Module) -> nn.Module:
    """The layer whose output the residual branch returns (no squeeze-excitation here)."""
    return {
        BasicBlock: lambda: block.bn2,
        BottleneckBlock: lambda: block.bn3,
        PreActBlock: lambda: block.conv2,
        PreActBottleneck: lambda: block.conv3,
    }[type(block)]()


@pytest.mark.parametrize(
    "block",
    [
        BasicBlock(16, 16),
        BottleneckBlock(32, 16, 2),
        PreActBlock(16, 32, 2),
        PreActBottleneck(64, 16),
    ],
    ids=["basic", "bottleneck", "preact", "preact-bottleneck"],
)
def test_the_sum_is_written_over_the_branch_output(block):
    # What makes the blocks as fast as torchvision's: no new activation-sized tensor per sum.
    branch_outputs = []
    _last_of_branch(block).register_forward_hook(lambda m, i, o: branch_outputs.append(o))
    y = block(torch.randn(2, block.in_channels, 8, 8))
    assert y.untyped_storage().data_ptr() == branch_outputs[0].untyped_storage().data_ptr()


class BranchEndsInReLU(BasicBlock):
    """A subclass whose branch ends in a ReLU, which needs its own output for backward."""

    def residual(self, x):
        return torch.relu(super().residual(x))


def test_a_subclass_whose_branch_ends_in_a_relu_still_trains():
    assert BasicBlock.reuse_branch_output and not BranchEndsInReLU.reuse_branch_output
    block = BranchEndsInReLU(8, 8).train()
    leaf = torch.randn(2, 8, 6, 6, requires_grad=True)
    y = block(leaf * 1.0)
    # An in-place sum would overwrite the ReLU's saved output: backward() would raise.
    y.sum().backward()
    expected = torch.relu(torch.relu(BasicBlock.residual(block, leaf * 1.0)) + leaf)
    torch.testing.assert_close(y, expected, rtol=0, atol=0)
