# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 3: whole ResNets
#
# In assignment 2 you built the blocks. Here you stack them into whole networks: the ImageNet
# ResNets of the paper's table 1 (ResNet-18, 34, 50, 101 and 152) and the small CIFAR-10
# networks of its section 4.2, with and without shortcuts.
#
# **The blocks are given.** The setup cell imports `BasicBlock` and `BottleneckBlock` from the
# course's reference package, `resnet_ref`: they behave exactly like the blocks of assignment 2
# (projection shortcuts, "option B", wherever the shape changes). Your networks may use them,
# or your own blocks from assignment 2 if they behave the same. Any other ready-made network
# (`resnet_ref.ResNet`, `resnet_ref.create`, torchvision's models) scores zero.
#
# **How it is graded.** Each code cell that starts with a comment like `# [2 points] ...` is a
# test, with a few *visible* checks you can run now and *hidden* checks the grader adds (other
# depths, class counts and input sizes). Your networks are compared with `resnet_ref` **by
# behaviour**: the grader runs your network once, notes the order in which its `nn.Conv2d`,
# `nn.BatchNorm2d` and `nn.Linear` layers run, copies the reference's weights into them, and
# compares the outputs on fresh random images in training and in evaluation mode. Name your
# attributes as you like and arrange the code as you like (`nn.Sequential`, `nn.ModuleList`,
# a helper method per stage, separate attributes: all fine), but keep the layers as modules
# stored on your network, so that the grader can find them.
#
# A failing check stops with one line saying what was expected, what came out and the likely
# mistake. Fix the first failing line and run the cell again.
#
# | part | what | points |
# |---|---|---|
# | 1 | `ResNet`: output shape, forward pass with basic blocks and with bottlenecks | 5 |
# | 2 | `resnet18` ... `resnet152`: parameter counts | 2 |
# | 3 | `cifar_resnet`: parameter counts, forward pass, plain networks, invalid depths | 7 |
# | | **total** | **14** |

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
# Run this cell first. It imports PyTorch, the reference package, the given blocks and the
# grader's checks.
import os

import torch
import torch.nn.functional as F
from torch import nn

import resnet_ref
from resnet_ref import BasicBlock, BottleneckBlock  # the blocks of assignment 2, given
from resnet_ref.grading import (
    check_forward,
    check_parameter_count,
    check_raises,
    check_shape,
    expect,
    references,
    show_unfinished_in_one_line,
)

# nbgrader sets NBGRADER_EXECUTION while it grades: cells that only explore shrink then, and
# PyTorch uses one thread (the grader's tensors are small).
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
if GRADING:
    torch.set_num_threads(1)

# The resnet_ref classes your networks may contain: the given blocks, nothing else.
GIVEN = (BasicBlock, BottleneckBlock)


# What cifar_resnet(depth, plain) is compared with: resnet_ref's CIFAR network of that depth,
# with the given blocks' projection shortcuts (option B).
reference_cifar = references.cifar_resnet_option_b

# A cell that calls an exercise you have not written yet then stops with one line saying so.
show_unfinished_in_one_line()


# %% [markdown]
# ## The given blocks
#
# `BasicBlock(in_channels, out_channels, stride=1)` and
# `BottleneckBlock(in_channels, out_channels, stride=1)` are the blocks of assignment 2:
#
# - a block reads `in_channels` channels and outputs `out_channels * block.expansion`
#   (`expansion` is 1 for `BasicBlock` and 4 for `BottleneckBlock`: `BottleneckBlock(256, 64)`
#   reads 256 channels, works at 64 and outputs 256);
# - `stride` sits on the block's first 3×3 convolution (the bottleneck's only one) and halves
#   the height and width when it is 2;
# - the shortcut is the identity when the shape does not change and a projection (1×1
#   convolution with the stride, then BatchNorm) when it does;
# - `skip=False` builds the block **without** its shortcut, as a plain stack of layers:
#   `BasicBlock(16, 32, 2, skip=False)` computes `relu(F(x))` instead of `relu(F(x) + S(x))`.
#
# Try one: `BottleneckBlock(64, 64, stride=2)(torch.randn(1, 64, 56, 56)).shape` is
# `[1, 256, 28, 28]`.

# %% [markdown]
# ## Part 1: the ImageNet ResNet
#
# Every ResNet of the paper's table 1 has the same frame; only the block and the number of
# blocks per stage change. For an image of $224 \times 224$ pixels:
#
# | part | layers | output (basic / bottleneck) |
# |---|---|---|
# | stem | 7×7 conv, 64 channels, stride 2, padding 3, no bias; BatchNorm; ReLU | 64 × 112 × 112 |
# | | 3×3 max-pool, stride 2, padding 1 | 64 × 56 × 56 |
# | stage 1 | `num_blocks[0]` blocks, `out_channels` 64, first block stride 1 | 64 / 256 × 56 × 56 |
# | stage 2 | `num_blocks[1]` blocks, `out_channels` 128, first block stride 2 | 128 / 512 × 28 × 28 |
# | stage 3 | `num_blocks[2]` blocks, `out_channels` 256, first block stride 2 | 256 / 1024 × 14 × 14 |
# | stage 4 | `num_blocks[3]` blocks, `out_channels` 512, first block stride 2 | 512 / 2048 × 7 × 7 |
# | head | global average pooling to 1 × 1, flatten, linear layer to `num_classes` | `num_classes` |
#
# - Only the **first** block of a stage has the stride; the others use stride 1.
# - Each block's `in_channels` is what the previous layer outputs: 64 after the stem, then
#   `out_channels * block.expansion` of the block before. With bottlenecks the first block of
#   stage 1 goes from 64 to 256 channels, and the linear layer reads $512 \times 4 = 2048$
#   features.
# - Global average pooling (`nn.AdaptiveAvgPool2d(1)`, or the mean over height and width)
#   makes the network accept any image size: a $64 \times 64$ image ends as $2 \times 2$ maps
#   after stage 4, and still gives `num_classes` scores. The grader uses such small images.
#
# **Your task.** Complete `ResNet(block, num_blocks, num_classes=1000)`, an `nn.Module` whose
# `forward(x)` maps images `[N, 3, H, W]` to class scores `[N, num_classes]`; `block` is
# `BasicBlock` or `BottleneckBlock`, `num_blocks` four numbers such as `(2, 2, 2, 2)`.

# %% nbgrader={"grade": false, "grade_id": "resnet", "locked": false, "schema_version": 3, "solution": true}
class ResNet(nn.Module):
    """Stem, four stages of blocks (64, 128, 256, 512 channels), average pooling, linear layer."""

    def __init__(self, block, num_blocks, num_classes=1000):
        super().__init__()
        ### BEGIN SOLUTION
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        channels = 64
        stages = []
        for width, count, stride in zip((64, 128, 256, 512), num_blocks, (1, 2, 2, 2)):
            blocks = []
            for position in range(count):
                blocks.append(block(channels, width, stride if position == 0 else 1))
                channels = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))
        ### END SOLUTION


# %% [markdown]
# ### Checking the network
#
# Each test cell builds small networks and compares them with `resnet_ref`'s on
# $64 \times 64$ images: the shapes with one block per stage, the forward passes with two
# (ResNet-18's layout), so that a stage's later blocks are checked too; the hidden checks add
# other block counts, class counts and image sizes.

# %% nbgrader={"grade": true, "grade_id": "resnet_logits", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] ResNet: one row of num_classes scores per image, for both kinds of block.
expect(
    check_shape(
        ResNet,
        resnet_ref.models.imagenet_resnet,
        BasicBlock,
        (1, 1, 1, 1),
        num_classes=10,
        input_shape=(2, 3, 64, 64),
        allow=GIVEN,
    )
)
expect(
    check_shape(
        ResNet,
        resnet_ref.models.imagenet_resnet,
        BottleneckBlock,
        (1, 1, 1, 1),
        num_classes=10,
        input_shape=(2, 3, 64, 64),
        allow=GIVEN,
    )
)
print("ResNet output shapes: ok")
### BEGIN HIDDEN TESTS
expect(
    check_shape(
        ResNet,
        resnet_ref.models.imagenet_resnet,
        BasicBlock,
        (1, 1, 1, 1),
        input_shape=(1, 3, 40, 56),
        allow=GIVEN,
    )
)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "resnet_forward_basic", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] ResNet with basic blocks: same outputs as the reference, train and eval mode.
expect(
    check_forward(
        ResNet,
        resnet_ref.models.imagenet_resnet,
        BasicBlock,
        (2, 2, 2, 2),
        num_classes=10,
        input_shape=(2, 3, 64, 64),
        allow=GIVEN,
    )
)
print("ResNet forward pass (basic blocks): ok")
### BEGIN HIDDEN TESTS
expect(
    check_forward(
        ResNet,
        resnet_ref.models.imagenet_resnet,
        BasicBlock,
        (1, 2, 1, 1),
        num_classes=5,
        input_shape=(3, 3, 48, 40),
        allow=GIVEN,
    )
)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "resnet_forward_bottleneck", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] ResNet with bottleneck blocks: same outputs as the reference, train and eval mode.
expect(
    check_forward(
        ResNet,
        resnet_ref.models.imagenet_resnet,
        BottleneckBlock,
        (2, 2, 2, 2),
        num_classes=10,
        input_shape=(2, 3, 64, 64),
        allow=GIVEN,
    )
)
print("ResNet forward pass (bottleneck blocks): ok")
### BEGIN HIDDEN TESTS
expect(
    check_forward(
        ResNet,
        resnet_ref.models.imagenet_resnet,
        BottleneckBlock,
        (1, 2, 1, 1),
        num_classes=3,
        input_shape=(2, 3, 56, 72),
        allow=GIVEN,
    )
)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: ResNet-18 to ResNet-152
#
# The paper names each network by its number of layers with weights: the stem's convolution,
# two or three convolutions per block (shortcut projections are not counted), and the linear
# layer. ResNet-34 has $1 + 2 \times (3 + 4 + 6 + 3) + 1 = 34$ of them.
#
# | network | block | blocks per stage | parameters |
# |---|---|---|---|
# | ResNet-18 | basic | 2, 2, 2, 2 | 11,689,512 |
# | ResNet-34 | basic | 3, 4, 6, 3 | 21,797,672 |
# | ResNet-50 | bottleneck | 3, 4, 6, 3 | 25,557,032 |
# | ResNet-101 | bottleneck | 3, 4, 23, 3 | 44,549,160 |
# | ResNet-152 | bottleneck | 3, 8, 36, 3 | 60,192,808 |
#
# ResNet-50 has almost as many layers as three ResNet-18s but only about twice the parameters:
# the bottleneck's 1×1 convolutions keep its 3×3 convolutions narrow.
#
# **Your task.** Write the five factories `resnet18(num_classes=1000)` ... `resnet152(...)`,
# each returning your `ResNet` with the right block and block counts. The test compares their
# parameter counts with `resnet_ref`'s: `sum(p.numel() for p in model.parameters())`. It builds
# the networks on PyTorch's `meta` device, where a layer knows its shape but holds no numbers,
# so that even ResNet-152 is counted in an instant.

# %% nbgrader={"grade": false, "grade_id": "resnet_factories", "locked": false, "schema_version": 3, "solution": true}
def resnet18(num_classes=1000):
    """ResNet-18 of the paper's table 1."""
    ### BEGIN SOLUTION
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes)
    ### END SOLUTION


def resnet34(num_classes=1000):
    """ResNet-34 of the paper's table 1."""
    ### BEGIN SOLUTION
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes)
    ### END SOLUTION


def resnet50(num_classes=1000):
    """ResNet-50 of the paper's table 1."""
    ### BEGIN SOLUTION
    return ResNet(BottleneckBlock, (3, 4, 6, 3), num_classes)
    ### END SOLUTION


def resnet101(num_classes=1000):
    """ResNet-101 of the paper's table 1."""
    ### BEGIN SOLUTION
    return ResNet(BottleneckBlock, (3, 4, 23, 3), num_classes)
    ### END SOLUTION


def resnet152(num_classes=1000):
    """ResNet-152 of the paper's table 1."""
    ### BEGIN SOLUTION
    return ResNet(BottleneckBlock, (3, 8, 36, 3), num_classes)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "resnet_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] resnet18 ... resnet152: exactly as many parameters as the reference's.
with torch.device("meta"):  # shapes only, no numbers: the count is instant
    expect(check_parameter_count(resnet18, resnet_ref.models.resnet18, allow=GIVEN))
    expect(check_parameter_count(resnet50, resnet_ref.models.resnet50, allow=GIVEN))
print("parameter counts of resnet18 and resnet50: ok")
### BEGIN HIDDEN TESTS
with torch.device("meta"):
    expect(check_parameter_count(resnet34, resnet_ref.models.resnet34, allow=GIVEN))
    expect(check_parameter_count(resnet101, resnet_ref.models.resnet101, allow=GIVEN))
    expect(check_parameter_count(resnet152, resnet_ref.models.resnet152, allow=GIVEN))
    expect(check_parameter_count(resnet50, resnet_ref.models.resnet50, num_classes=10, allow=GIVEN))
    expect(
        check_parameter_count(
            ResNet, resnet_ref.models.imagenet_resnet, BasicBlock, (1, 2, 3, 1), allow=GIVEN
        )
    )
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: the CIFAR-10 family
#
# For the $32 \times 32$ images of CIFAR-10 the paper uses a smaller frame, and names its
# networks by depth:
#
# - stem: a 3×3 convolution from 3 to 16 channels, stride 1, padding 1, no bias; BatchNorm;
#   ReLU; **no** max-pool;
# - three stages of $n$ basic blocks each, with `out_channels` 16, 32 and 64 and strides 1, 2
#   and 2 (again only on a stage's first block): feature maps of 32×32, 16×16 and 8×8;
# - global average pooling, then a linear layer from 64 features to 10 classes.
#
# That is $1 + 3 \times 2n + 1 = 6n + 2$ layers with weights: depth 20 is $n = 3$, depth 56 is
# $n = 9$, depth 110 is $n = 18$. The depths $6n + 2$ with a whole $n \ge 1$ are 8, 14, 20,
# 26, ...; any other depth names no network.
#
# The paper's CIFAR networks use parameter-free shortcuts (option A); yours use the given
# blocks' projections (option B) where the shape changes, so your ResNet-20 has 272,474
# parameters, 2,752 more than with option A (269,722, the paper's "0.27M"). The *plain*
# networks are the same layers without any shortcut, the paper's baseline that shows the
# degradation problem: plain-20 has 269,722 parameters too.
#
# **Your task.** Write `cifar_resnet(depth, plain=False)` that returns the CIFAR network of that
# depth, an `nn.Module` mapping `[N, 3, H, W]` to `[N, 10]`; with `plain=True`, the same network
# without shortcuts (`skip=False` on every block). For a depth that is not $6n + 2$ with
# $n \ge 1$ it raises a `ValueError` before building anything. A class of your own or one
# `nn.Sequential`: your choice.

# %% nbgrader={"grade": false, "grade_id": "cifar_resnet", "locked": false, "schema_version": 3, "solution": true}
def cifar_resnet(depth, plain=False):
    """The CIFAR-10 network of depth 6n + 2: 3x3 stem, three stages of n basic blocks, 10 classes."""
    ### BEGIN SOLUTION
    if depth < 8 or (depth - 2) % 6 != 0:
        raise ValueError(f"a CIFAR ResNet has 6n + 2 layers (8, 14, 20, ...), got {depth}")
    n = (depth - 2) // 6
    layers = [nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    channels = 16
    for width, stride in zip((16, 32, 64), (1, 2, 2)):
        for position in range(n):
            layers.append(
                BasicBlock(channels, width, stride if position == 0 else 1, skip=not plain)
            )
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "cifar_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] cifar_resnet: as many parameters as the reference at depths 20, 32 and 56.
for depth in (20, 32, 56):
    expect(check_parameter_count(cifar_resnet, reference_cifar, depth, allow=GIVEN))
print("CIFAR parameter counts: ok")
### BEGIN HIDDEN TESTS
for depth in (8, 14):
    expect(check_parameter_count(cifar_resnet, reference_cifar, depth, allow=GIVEN))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "cifar_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] cifar_resnet: same outputs as the reference, train and eval mode.
expect(check_forward(cifar_resnet, reference_cifar, 20, input_shape=(2, 3, 32, 32), allow=GIVEN))
print("CIFAR forward pass: ok")
### BEGIN HIDDEN TESTS
expect(check_forward(cifar_resnet, reference_cifar, 8, input_shape=(3, 3, 16, 20), allow=GIVEN))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "cifar_plain", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] cifar_resnet(depth, plain=True): the same layers without shortcuts.
expect(check_parameter_count(cifar_resnet, reference_cifar, 20, plain=True, allow=GIVEN))
expect(
    check_forward(
        cifar_resnet, reference_cifar, 20, plain=True, input_shape=(2, 3, 32, 32), allow=GIVEN
    )
)
print("plain CIFAR networks: ok")
### BEGIN HIDDEN TESTS
for depth in (8, 32):
    expect(check_parameter_count(cifar_resnet, reference_cifar, depth, plain=True, allow=GIVEN))
expect(
    check_forward(
        cifar_resnet, reference_cifar, 8, plain=True, input_shape=(3, 3, 12, 16), allow=GIVEN
    )
)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "cifar_depth_error", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] cifar_resnet raises ValueError for a depth that is not 6n + 2 (n >= 1).
for depth in (21, 18, 2):
    expect(check_raises(cifar_resnet, ValueError, depth))
print("invalid depths: ok")
### BEGIN HIDDEN TESTS
for depth in (7, 9, 19, 100, 0):
    expect(check_raises(cifar_resnet, ValueError, depth))
    expect(check_raises(cifar_resnet, ValueError, depth, plain=True))
### END HIDDEN TESTS

# %% [markdown]
# ## Try it: how size grows with depth
#
# Nothing to hand in here. The cell lists your networks' parameter counts (the ImageNet ones
# built on the `meta` device) and runs one image through ResNet-18 and ResNet-20 to show the
# scores' shape. While the grader runs it, it lists two networks and skips the images.

# %%
def parameters(model):
    return sum(p.numel() for p in model.parameters())


factories = [resnet18] if GRADING else [resnet18, resnet34, resnet50, resnet101, resnet152]
with torch.device("meta"):
    for factory in factories:
        print(f"{factory.__name__:>10}: {parameters(factory()) / 1e6:6.2f} M parameters")
for depth in [20] if GRADING else [20, 32, 44, 56, 110]:
    residual, plain = parameters(cifar_resnet(depth)), parameters(cifar_resnet(depth, True))
    print(f"  resnet{depth:<3}: {residual:>9,} parameters, plain{depth}: {plain:>9,}")

if not GRADING:
    with torch.no_grad():
        print(resnet18().eval()(torch.randn(1, 3, 224, 224)).shape)
        print(cifar_resnet(20).eval()(torch.randn(1, 3, 32, 32)).shape)
