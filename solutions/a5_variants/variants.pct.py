# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 5: variants of the residual block
#
# The block of the original ResNet was soon rearranged, widened, split into groups and given a
# way to reweight its channels. In this assignment you build four of those variants:
#
# - the **pre-activation block** of He et al. (2016), which moves BatchNorm and ReLU in front of
#   each convolution and leaves the sum untouched;
# - a **wide block** (Zagoruyko and Komodakis, 2016): the same block with $k$ times the channels;
# - the **grouped bottleneck** of ResNeXt (Xie et al., 2017), whose 3×3 convolution is split
#   into parallel groups;
# - a **squeeze-and-excitation unit** (Hu et al., 2018), which scales each channel by a weight
#   computed from the whole image.
#
# **How it is graded.** Each code cell that starts with a comment like
# `# [2 points] ...` is a test. It holds a few *visible* checks, which you can run now and
# which finish in a second or two, and the grader adds *hidden* checks of the same kind:
# more channel counts, strides and input sizes. Your modules are compared with the course's
# reference implementation, `resnet_ref`, **by behaviour**: the grader runs your module once,
# notes the order in which its `nn.Conv2d`, `nn.BatchNorm2d` and `nn.Linear` layers run, copies
# the reference's weights into those layers, and then compares outputs and input gradients on
# fresh random inputs, in training and in evaluation mode. So:
#
# - name your attributes as you like and arrange your code as you like;
# - do use `nn.Conv2d`, `nn.BatchNorm2d` and `nn.Linear` *modules*, stored as attributes of
#   your block (directly or inside `nn.Sequential` / `nn.ModuleList`), so that the grader can
#   find them;
# - write the blocks yourself: a block that wraps `resnet_ref`'s or torchvision's scores zero.
#
# A failing check stops with one line saying what was expected, what came out and the likely
# mistake. Fix the first failing line and run the cell again.
#
# | part | what | points |
# |---|---|---|
# | 1 | `PreActBlock`: shapes, parameters, forward pass, gradients, identity | 8 |
# | 2 | `wide_block`: parameters, forward pass | 3 |
# | 3 | `GroupedBottleneck`: shapes, parameters, forward pass, identity | 5 |
# | 4 | `SqueezeExcitation`: shapes, parameters, forward pass | 4 |
# | | **total** | **20** |

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
# Run this cell first. It imports PyTorch, the reference package and the grader's checks.
import os

import torch
import torch.nn.functional as F
from torch import nn

import resnet_ref
from resnet_ref.blocks import squeeze_excitation
from resnet_ref.grading import (
    check_attribute,
    check_forward,
    check_forward_dense,
    check_identity,
    check_input_gradient,
    check_parameter_count,
    check_preact_identity,
    check_shape,
    expect,
    references,
    show_unfinished_in_one_line,
)

# nbgrader sets NBGRADER_EXECUTION while it grades. Cells that only explore shrink then, and
# PyTorch uses one thread: the grader's tensors are small, and on a busy grading machine
# threads that wait for each other make every operation many times slower.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
if GRADING:
    torch.set_num_threads(1)


# The reference for wide_block: resnet_ref's pre-activation block, k times as wide.
reference_wide_block = references.wide_block

# A cell that calls an exercise you have not written yet then stops with one line saying so.
show_unfinished_in_one_line()


# %% [markdown]
# ## Part 1: the pre-activation block
#
# In the original block a ReLU follows the addition, so the signal that travels along the
# shortcuts is clipped at every block. The pre-activation block moves BatchNorm and ReLU in front
# of each convolution and adds nothing after the sum:
#
# $$ \hat x = \mathrm{ReLU}(\mathrm{BN}_1(x)), \qquad
#    F(\hat x) = \mathrm{conv}^{3\times3}_2\Big(\mathrm{ReLU}\big(\mathrm{BN}_2(\mathrm{conv}^{3\times3}_1(\hat x))\big)\Big), \qquad
#    y = F(\hat x) + S(x). $$
#
# - `BN1` normalises the block's **input**, so it has `in_channels` features; `BN2` has
#   `out_channels`.
# - `conv1`: 3×3, `in_channels` → `out_channels`, padding 1, **carries the stride**. `conv2`:
#   3×3, `out_channels` → `out_channels`, padding 1, stride 1. No biases.
# - **No ReLU after the addition**: $y = F(\hat x) + S(x)$ as it is. From block to block the
#   identity path then carries $x$ unchanged: $x_{L} = x_l + \sum_i F_i$.
# - The shortcut is the identity, $S(x) = x$ (the raw input, not $\hat x$), when
#   `stride == 1` and `in_channels == out_channels`. Otherwise it is a projection: a 1×1
#   convolution `in_channels` → `out_channels` with the block's stride and no bias, **without**
#   a BatchNorm (the next block normalises first), and it reads the **pre-activated** input:
#   $S(x) = \mathrm{conv}^{1\times1}(\hat x)$.
#
# **Your task.** Complete `PreActBlock(in_channels, out_channels, stride=1)` with the class
# attribute `expansion = 1`. Leave the input tensor `x` unchanged (no in-place operation on it).

# %% nbgrader={"grade": false, "grade_id": "preact_block", "locked": false, "schema_version": 3, "solution": true}
class PreActBlock(nn.Module):
    """BN -> ReLU -> conv3x3(stride) -> BN -> ReLU -> conv3x3, plus the shortcut; no final ReLU."""

    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.projection = None
        if stride != 1 or in_channels != out_channels:
            self.projection = nn.Conv2d(
                in_channels, out_channels, kernel_size=1, stride=stride, bias=False
            )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        pre = F.relu(self.bn1(x))
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.bn2(out)))
        shortcut = x if self.projection is None else self.projection(pre)
        return out + shortcut
        ### END SOLUTION


# %% [markdown]
# ### Checking the pre-activation block
#
# One capability per cell, so a mistake costs the points of what it breaks and no more.

# %% nbgrader={"grade": true, "grade_id": "preact_shape", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] PreActBlock: expansion and output shapes, with and without a stride.
expect(check_attribute(PreActBlock, "expansion", 1))
expect(check_shape(PreActBlock, resnet_ref.PreActBlock, 32, 32, stride=1))
expect(check_shape(PreActBlock, resnet_ref.PreActBlock, 32, 64, stride=2))
print("PreActBlock shapes: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, size in [(16, 32, 2, 7), (3, 16, 1, 5), (64, 32, 2, 9)]:
    expect(
        check_shape(
            PreActBlock,
            resnet_ref.PreActBlock,
            c_in,
            c_out,
            stride=stride,
            input_shape=(2, c_in, size, size),
        )
    )
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "preact_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] PreActBlock: exactly as many parameters as the reference.
expect(check_parameter_count(PreActBlock, resnet_ref.PreActBlock, 32, 32, stride=1))
expect(check_parameter_count(PreActBlock, resnet_ref.PreActBlock, 32, 64, stride=2))
print("PreActBlock parameter counts: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(16, 16, 2), (16, 48, 1), (128, 256, 2)]:
    expect(check_parameter_count(PreActBlock, resnet_ref.PreActBlock, c_in, c_out, stride=stride))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "preact_forward_identity", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] PreActBlock with an identity shortcut: same outputs as the reference, train and eval.
expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 32, 32, stride=1))
print("PreActBlock forward pass (identity shortcut): ok")
### BEGIN HIDDEN TESTS
expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 16, 16, stride=1, input_shape=(3, 16, 7, 5)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "preact_forward_projection", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] PreActBlock with a projection shortcut: same outputs as the reference, train and eval.
expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 32, 64, stride=2))
print("PreActBlock forward pass (projection shortcut): ok")
### BEGIN HIDDEN TESTS
expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 16, 16, stride=2))
expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 16, 32, stride=1, input_shape=(2, 16, 5, 7)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "preact_gradient", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] PreActBlock: the gradient with respect to the input equals the reference's.
expect(check_input_gradient(PreActBlock, resnet_ref.PreActBlock, 32, 32, stride=1))
print("PreActBlock input gradient: ok")
### BEGIN HIDDEN TESTS
expect(check_input_gradient(PreActBlock, resnet_ref.PreActBlock, 16, 16, stride=1, input_shape=(4, 16, 5, 5)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "preact_identity", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] PreActBlock: with its last convolution zeroed, a block that keeps the shape is x itself.
expect(check_preact_identity(PreActBlock, 32, 32, stride=1))
print("PreActBlock identity property: ok")
### BEGIN HIDDEN TESTS
expect(check_preact_identity(PreActBlock, 8, 8, stride=1, input_shape=(2, 8, 5, 3)))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: the wide block
#
# Wide ResNets trade depth for width: a WRN-$d$-$k$ uses pre-activation basic blocks whose stages
# have $k$ times the channels of the thin network (16·k, 32·k, 64·k on CIFAR). A convolution's
# weights grow with the product of its input and output channels, so a block $k$ times as wide
# has about $k^2$ times the parameters. The paper also puts dropout between the two
# convolutions.
#
# **Your task.** Write `wide_block(in_channels, base_channels, k, stride=1, dropout=0.0)` that
# returns a pre-activation block (your `PreActBlock`, or a subclass of it) with
# `k * base_channels` output channels, and with `nn.Dropout(dropout)` between the ReLU after
# `BN2` and `conv2` when `dropout > 0`. Dropout has no parameters and is the identity in
# evaluation mode, which is where the grader compares blocks with dropout.

# %% nbgrader={"grade": false, "grade_id": "wide_block", "locked": false, "schema_version": 3, "solution": true}
def wide_block(in_channels, base_channels, k, stride=1, dropout=0.0):
    """A pre-activation block k times as wide as base_channels, with optional dropout."""
    ### BEGIN SOLUTION
    block = PreActBlock(in_channels, k * base_channels, stride)
    if dropout > 0:
        block.conv2 = nn.Sequential(nn.Dropout(dropout), block.conv2)
    return block
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "wide_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] wide_block: as many parameters as the reference block of width k * base_channels.
expect(check_parameter_count(wide_block, reference_wide_block, 16, 16, 4, stride=1))
expect(check_parameter_count(wide_block, reference_wide_block, 64, 32, 2, stride=2))
print("wide_block parameter counts: ok")
### BEGIN HIDDEN TESTS
for c_in, base, k, stride in [(16, 16, 1, 1), (32, 16, 2, 1), (16, 8, 10, 2)]:
    expect(check_parameter_count(wide_block, reference_wide_block, c_in, base, k, stride=stride))
expect(check_parameter_count(wide_block, reference_wide_block, 16, 16, 2, stride=1, dropout=0.3))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "wide_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] wide_block: same outputs as the reference (with dropout: in evaluation mode).
expect(check_forward(wide_block, reference_wide_block, 32, 16, 2, stride=1))
expect(check_forward(wide_block, reference_wide_block, 16, 16, 2, stride=1, dropout=0.3, modes=("eval",)))
print("wide_block forward pass: ok")
### BEGIN HIDDEN TESTS
expect(check_forward(wide_block, reference_wide_block, 16, 8, 4, stride=2, input_shape=(2, 16, 7, 7)))
expect(check_forward(wide_block, reference_wide_block, 32, 8, 4, stride=1, dropout=0.5, modes=("eval",)))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: the grouped (ResNeXt) bottleneck
#
# ResNeXt replaces the bottleneck's 3×3 convolution by `groups` parallel paths, each a 3×3
# convolution over its own slice of the channels. One convolution with `groups=` does exactly
# that: `nn.Conv2d(width, width, 3, groups=g)` has $9 \cdot \text{width}^2 / g$ weights
# instead of $9 \cdot \text{width}^2$. With the saving the bottleneck can be wider for the same
# cost; its width is
#
# $$ \text{width} = \Big\lfloor \frac{\text{out\_channels} \cdot \text{base\_width}}{64} \Big\rfloor \cdot \text{groups}, $$
#
# so ResNeXt-50 (32×4d: `groups=32`, `base_width=4`) works at 128 channels where ResNet-50
# works at 64 (and `groups=1`, `base_width=64` gives back ResNet's bottleneck).
#
# - `conv1`: 1×1, `in_channels` → width. `conv2`: 3×3, width → width, padding 1, **the stride**,
#   `groups=groups`. `conv3`: 1×1, width → `4 * out_channels`. No biases; a BatchNorm after each.
# - ReLU after `BN1` and `BN2`; then the shortcut is added and a ReLU follows, as in the
#   original bottleneck. The shortcut is the identity when `stride == 1` and
#   `in_channels == 4 * out_channels`, otherwise a 1×1 convolution with the stride and no bias,
#   then a BatchNorm.
#
# **Your task.** Complete
# `GroupedBottleneck(in_channels, out_channels, stride=1, groups=32, base_width=4)` with the
# class attribute `expansion = 4`.

# %% nbgrader={"grade": false, "grade_id": "grouped_bottleneck", "locked": false, "schema_version": 3, "solution": true}
class GroupedBottleneck(nn.Module):
    """1x1 -> BN -> ReLU -> grouped 3x3(stride) -> BN -> ReLU -> 1x1 -> BN, plus shortcut, ReLU."""

    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1, groups=32, base_width=4):
        super().__init__()
        ### BEGIN SOLUTION
        width = int(out_channels * base_width / 64) * groups
        wide = out_channels * self.expansion
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, width, kernel_size=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(
                width, width, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False
            ),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, wide, kernel_size=1, bias=False),
            nn.BatchNorm2d(wide),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != wide:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, wide, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(wide),
            )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return F.relu(self.branch(x) + self.shortcut(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "grouped_shape", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] GroupedBottleneck: expansion 4 and output shapes.
expect(check_attribute(GroupedBottleneck, "expansion", 4))
expect(check_shape(GroupedBottleneck, resnet_ref.BottleneckBlock, 256, 64, stride=1, groups=32, base_width=4))
expect(check_shape(GroupedBottleneck, resnet_ref.BottleneckBlock, 64, 32, stride=2, groups=8, base_width=8))
print("GroupedBottleneck shapes: ok")
### BEGIN HIDDEN TESTS
expect(
    check_shape(
        GroupedBottleneck,
        resnet_ref.BottleneckBlock,
        128,
        16,
        stride=2,
        groups=4,
        base_width=16,
        input_shape=(2, 128, 7, 5),
    )
)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "grouped_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] GroupedBottleneck: exactly as many parameters as the reference.
expect(check_parameter_count(GroupedBottleneck, resnet_ref.BottleneckBlock, 256, 64, stride=1, groups=32, base_width=4))
expect(check_parameter_count(GroupedBottleneck, resnet_ref.BottleneckBlock, 64, 32, stride=2, groups=8, base_width=8))
print("GroupedBottleneck parameter counts: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, groups, base_width in [(512, 128, 2, 32, 4), (64, 16, 1, 4, 16), (256, 64, 1, 1, 64)]:
    expect(
        check_parameter_count(
            GroupedBottleneck,
            resnet_ref.BottleneckBlock,
            c_in,
            c_out,
            stride=stride,
            groups=groups,
            base_width=base_width,
        )
    )
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "grouped_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] GroupedBottleneck: same outputs as the reference, train and eval mode.
expect(check_forward(GroupedBottleneck, resnet_ref.BottleneckBlock, 256, 64, stride=1, groups=32, base_width=4))
expect(check_forward(GroupedBottleneck, resnet_ref.BottleneckBlock, 64, 32, stride=2, groups=8, base_width=8))
print("GroupedBottleneck forward pass: ok")
### BEGIN HIDDEN TESTS
expect(
    check_forward(
        GroupedBottleneck,
        resnet_ref.BottleneckBlock,
        64,
        16,
        stride=1,
        groups=4,
        base_width=16,
        input_shape=(3, 64, 5, 6),
    )
)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "grouped_identity", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] GroupedBottleneck: with the residual branch silenced, the block is relu(x).
expect(check_identity(GroupedBottleneck, 256, 64, stride=1, groups=32, base_width=4))
print("GroupedBottleneck identity property: ok")
### BEGIN HIDDEN TESTS
expect(check_identity(GroupedBottleneck, 64, 16, stride=1, groups=8, base_width=8, input_shape=(2, 64, 3, 5)))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 4: squeeze and excitation
#
# A squeeze-and-excitation unit lets a block weigh its channels by what the whole image holds.
# For an input $x$ of shape `[N, C, H, W]`:
#
# 1. **squeeze**: the global average over height and width, one number per channel,
#    $z_c = \frac{1}{HW}\sum_{i,j} x_{c,i,j}$;
# 2. **excitation**: a layer from $C$ to $C/r$ channels with a bias, a ReLU, a layer from $C/r$
#    back to $C$ channels with a bias, and a sigmoid: $s = \sigma(W_2\,\mathrm{ReLU}(W_1 z + b_1) + b_2)$,
#    a weight between 0 and 1 per channel;
# 3. **scale**: the output is $x$ with each channel multiplied by its weight, $y_c = s_c \, x_c$.
#
# The squeezed width is `channels // reduction` (the grader uses channel counts for which this
# is at least 1). The two layers may be `nn.Linear` layers on the flattened averages or 1×1
# `nn.Conv2d` layers on the `[N, C, 1, 1]` averages, as torchvision's `SqueezeExcitation` does:
# both compute the same thing, and the grader accepts either.
#
# **Your task.** Complete `SqueezeExcitation(channels, reduction=16)` whose `forward(x)` returns a
# tensor of the shape of `x`.

# %% nbgrader={"grade": false, "grade_id": "squeeze_excitation", "locked": false, "schema_version": 3, "solution": true}
class SqueezeExcitation(nn.Module):
    """Global average pool -> C to C/r -> ReLU -> C/r to C -> sigmoid, then scale the channels."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        ### BEGIN SOLUTION
        squeezed = channels // reduction
        self.reduce = nn.Linear(channels, squeezed)
        self.expand = nn.Linear(squeezed, channels)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        z = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.expand(F.relu(self.reduce(z))))
        return x * s[:, :, None, None]
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "se_shape", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] SqueezeExcitation: the output has the input's shape.
expect(check_shape(SqueezeExcitation, squeeze_excitation, 64, 16))
expect(check_shape(SqueezeExcitation, squeeze_excitation, 32, 4, input_shape=(3, 32, 5, 7)))
print("SqueezeExcitation shapes: ok")
### BEGIN HIDDEN TESTS
expect(check_shape(SqueezeExcitation, squeeze_excitation, 16, 16, input_shape=(1, 16, 1, 1)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "se_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] SqueezeExcitation: exactly as many parameters as the reference (weights and biases).
expect(check_parameter_count(SqueezeExcitation, squeeze_excitation, 64, 16))
print("SqueezeExcitation parameter counts: ok")
### BEGIN HIDDEN TESTS
for channels, reduction in [(256, 16), (32, 4), (48, 8)]:
    expect(check_parameter_count(SqueezeExcitation, squeeze_excitation, channels, reduction))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "se_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] SqueezeExcitation: same outputs as the reference, with the reference's weights.
expect(check_forward_dense(SqueezeExcitation, squeeze_excitation, 64, 16))
print("SqueezeExcitation forward pass: ok")
### BEGIN HIDDEN TESTS
expect(check_forward_dense(SqueezeExcitation, squeeze_excitation, 32, 4, input_shape=(3, 32, 5, 7)))
expect(check_forward_dense(SqueezeExcitation, squeeze_excitation, 128, 16, input_shape=(2, 128, 3, 3)))
### END HIDDEN TESTS

# %% [markdown]
# ## Try it: what each variant costs
#
# Nothing to hand in here. The cell counts the parameters of a thin pre-activation block, a wide
# one, a ResNet-50 bottleneck, a ResNeXt bottleneck and a squeeze-and-excitation unit, all
# reading and writing 256 channels.

# %%
for name, module in [
    ("pre-activation 256→256", PreActBlock(256, 256)),
    ("wide, base 64, k=4", wide_block(256, 64, 4)),
    ("ResNeXt 32x4d, 256→64·4", GroupedBottleneck(256, 64)),
    ("ResNet-50 bottleneck", GroupedBottleneck(256, 64, groups=1, base_width=64)),
    ("squeeze-excitation, r=16", SqueezeExcitation(256)),
]:
    parameters = sum(p.numel() for p in module.parameters())
    print(f"{name:>26}: {parameters:>9,} parameters")
