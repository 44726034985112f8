# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 1: shortcuts and shapes
#
# A residual block computes $y = \mathrm{ReLU}\big(F(x) + S(x)\big)$, and the addition only
# works when the residual branch $F(x)$ and the shortcut $S(x)$ have **the same shape**. This
# assignment is about that one constraint: you compute how a convolution changes the height and
# width of a tensor, build the three shortcuts of the ResNet paper (identity, projection, zero
# padding), choose between them, and follow shapes through a strided block.
#
# **How it is graded.** Each code cell that starts with a comment like `# [2 points] ...` is a
# test. It holds a few *visible* checks, which you can run now and which finish in a second,
# and the grader adds *hidden* checks of the same kind: more sizes, channel counts and strides.
# Your modules are compared with the course's reference implementation, `resnet_ref`, **by
# behaviour**: the grader notes the order in which your `nn.Conv2d` and `nn.BatchNorm2d` layers
# run, copies the reference's weights into them and compares outputs and input gradients on
# fresh random inputs, in training and in evaluation mode. So:
#
# - name your attributes as you like and arrange your code as you like (`nn.Sequential` or
#   separate attributes, `F.pad` or `torch.cat`: all fine);
# - do use `nn.Conv2d` and `nn.BatchNorm2d` *modules*, stored as attributes, so that the grader
#   can find them;
# - write the modules yourself: one that wraps `resnet_ref`'s or torchvision's scores zero.
#
# A failing check stops with one line saying what was expected, what came out and the likely
# mistake. Fix the first failing line and run the cell again.
#
# | part | what | points |
# |---|---|---|
# | 1 | `conv_output_size`: the output-size formula | 3 |
# | 2 | `ProjectionShortcut` (option B): shape, parameters, forward pass, gradient | 5 |
# | 3 | `ZeroPadShortcut` (option A): shape, no parameters, values | 4 |
# | 4 | `make_shortcut`: options A, B and C | 3 |
# | 5 | `block_output_shape` | 2 |
# | 6 | written question: why the shortcut needs the stride (graded by hand) | 2 |
# | | **total** | **19** |

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
# Run this cell first. It imports PyTorch, the reference package and the grader's checks.
import os
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

import resnet_ref
from resnet_ref.grading import (
    check_block_shape,
    check_forward,
    check_input_gradient,
    check_output_size,
    check_parameter_count,
    check_shape,
    check_shortcut_kind,
    check_zero_pad_values,
    expect,
    references,
    show_unfinished_in_one_line,
)

# nbgrader sets NBGRADER_EXECUTION while it grades; PyTorch then uses one thread, which is
# faster for the grader's tiny tensors on a busy machine.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
if GRADING:
    torch.set_num_threads(1)

# What ProjectionShortcut is compared with: resnet_ref's, held as the shortcut of a container
# (like yours, through as_shortcut below), so that messages speak of the shortcut.
reference_projection = references.projection_shortcut


def as_shortcut(build):
    """Build the module as the ``shortcut`` of a container, so that messages say "shortcut"."""

    def shortcut(*args, **kwargs):
        return nn.Sequential(OrderedDict(shortcut=build(*args, **kwargs)))

    shortcut.__name__ = getattr(build, "__name__", "shortcut")
    return shortcut


# A cell that calls an exercise you have not written yet then stops with one line saying so.
show_unfinished_in_one_line()


# %% [markdown]
# ## Part 1: how big is the output of a convolution?
#
# A convolution with a $k \times k$ kernel slides over an input of width $n$ that has been
# padded with $p$ zeros on **each** side, so the padded width is $n + 2p$. The kernel fits at
# positions $0, s, 2s, \dots$ as long as it stays inside, which gives
#
# $$ n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1 . $$
#
# The floor drops a last window that would stick out; the $+1$ counts the first position.
# A 3×3 convolution with padding 1 keeps the size at stride 1 ($n + 2 - 3 + 1 = n$) and roughly
# halves it at stride 2: $\lfloor (n - 1)/2 \rfloor + 1$, so 56 → 28 and 7 → 4. The same formula
# holds for the height and for pooling layers.
#
# **Your task.** Write `conv_output_size(n, kernel, stride=1, padding=0)` returning the output
# width as an `int`, for a convolution without dilation. The grader compares it with what
# `nn.Conv2d` actually gives, including odd sizes, kernels as large as the padded input and
# strides larger than the kernel.

# %% nbgrader={"grade": false, "grade_id": "conv_output_size", "locked": false, "schema_version": 3, "solution": true}
def conv_output_size(n, kernel, stride=1, padding=0):
    """Width of the output of a convolution over an input of width n."""
    ### BEGIN SOLUTION
    return (n + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "output_size", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] conv_output_size agrees with nn.Conv2d on the layers of a ResNet.
expect(check_output_size(conv_output_size, 224, 7, stride=2, padding=3))  # the stem: 112
expect(check_output_size(conv_output_size, 56, 3, stride=1, padding=1))
expect(check_output_size(conv_output_size, 56, 1, stride=2, padding=0))
print("conv_output_size: ok")
### BEGIN HIDDEN TESTS
for n, k, s, p in [(112, 3, 2, 1), (32, 3, 1, 1), (32, 3, 2, 1), (28, 1, 1, 0), (7, 3, 2, 1),
                   (10, 5, 1, 2), (64, 3, 1, 0), (17, 4, 3, 2)]:
    expect(check_output_size(conv_output_size, n, k, stride=s, padding=p))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "output_size_edges", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] conv_output_size: odd sizes, where the floor matters, and extreme kernels and strides.
expect(check_output_size(conv_output_size, 7, 3, stride=2, padding=1))
expect(check_output_size(conv_output_size, 8, 3, stride=2, padding=0))
print("conv_output_size edge cases: ok")
### BEGIN HIDDEN TESTS
for n, k, s, p in [(1, 3, 1, 1), (1, 3, 2, 1), (5, 7, 1, 1), (9, 2, 2, 0), (13, 3, 4, 1),
                   (3, 1, 5, 0), (15, 5, 3, 2), (4, 4, 1, 0), (6, 3, 3, 2)]:
    expect(check_output_size(conv_output_size, n, k, stride=s, padding=p))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: the projection shortcut (option B)
#
# When a block changes the shape, by doubling the channels and halving the height and width,
# the input cannot be added as it is. The **projection shortcut** maps it to the new shape:
#
# $$ S(x) = \mathrm{BN}\big(\mathrm{conv}^{1\times1}_{\text{stride } s}(x)\big). $$
#
# - a 1×1 convolution from `in_channels` to `out_channels` with the block's `stride`, no
#   padding and **no bias** (the BatchNorm after it has its own shift, which makes a bias
#   redundant);
# - then `nn.BatchNorm2d(out_channels)`;
# - no ReLU.
#
# It adds $C_\text{in} C_\text{out} + 2 C_\text{out}$ parameters.
#
# **Your task.** Complete `ProjectionShortcut(in_channels, out_channels, stride)`, an
# `nn.Module` mapping `[N, in_channels, H, W]` to `[N, out_channels, H', W']`.

# %% nbgrader={"grade": false, "grade_id": "projection_shortcut", "locked": false, "schema_version": 3, "solution": true}
class ProjectionShortcut(nn.Module):
    """1x1 convolution with the stride (no bias), then BatchNorm."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.bn(self.conv(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "projection_shape", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] ProjectionShortcut: output shapes, with and without a stride.
expect(check_shape(as_shortcut(ProjectionShortcut), reference_projection, 64, 128, 2))
expect(check_shape(as_shortcut(ProjectionShortcut), reference_projection, 16, 32, 1))
print("ProjectionShortcut shapes: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, size in [(16, 32, 2, 7), (32, 64, 2, 9), (3, 8, 3, 10), (8, 8, 2, 5)]:
    expect(check_shape(as_shortcut(ProjectionShortcut), reference_projection,
                       c_in, c_out, stride, input_shape=(2, c_in, size, size + 1)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "projection_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] ProjectionShortcut: exactly as many parameters as the reference.
expect(check_parameter_count(as_shortcut(ProjectionShortcut), reference_projection, 64, 128, 2))
print("ProjectionShortcut parameter count: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(16, 32, 2), (256, 512, 2), (3, 16, 1)]:
    expect(check_parameter_count(as_shortcut(ProjectionShortcut), reference_projection,
                                 c_in, c_out, stride))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "projection_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] ProjectionShortcut: same outputs as the reference, train and eval mode.
expect(check_forward(as_shortcut(ProjectionShortcut), reference_projection, 64, 128, 2))
print("ProjectionShortcut forward pass: ok")
### BEGIN HIDDEN TESTS
expect(check_forward(as_shortcut(ProjectionShortcut), reference_projection, 16, 32, 1))
expect(check_forward(as_shortcut(ProjectionShortcut), reference_projection,
                     8, 24, 2, input_shape=(3, 8, 7, 9)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "projection_gradient", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] ProjectionShortcut: the gradient with respect to the input equals the reference's.
expect(check_input_gradient(as_shortcut(ProjectionShortcut), reference_projection, 64, 128, 2))
print("ProjectionShortcut input gradient: ok")
### BEGIN HIDDEN TESTS
expect(check_input_gradient(as_shortcut(ProjectionShortcut), reference_projection,
                            8, 16, 2, input_shape=(2, 8, 5, 5)))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: the zero-padding shortcut (option A)
#
# The paper's CIFAR networks use a shortcut **without any parameters**: keep every `stride`-th
# pixel in each direction, starting with the first (`x[:, :, ::stride, ::stride]`, which lands on
# the same $\lfloor (H - 1)/s \rfloor + 1$ rows as a strided 3×3 convolution with padding 1),
# then **append** `out_channels - in_channels` channels of zeros after the input's channels.
# The residual and the plain network then have exactly the same number of weights.
#
# **Your task.** Complete `ZeroPadShortcut(in_channels, out_channels, stride)`, an `nn.Module`
# with no parameters mapping `[N, in_channels, H, W]` to `[N, out_channels, H', W']`. You may
# assume `out_channels >= in_channels`. `F.pad` and `torch.cat` both work; mind that `F.pad`
# lists the last dimension first, and that zeros you make yourself must have `x`'s dtype and
# device.

# %% nbgrader={"grade": false, "grade_id": "zero_pad_shortcut", "locked": false, "schema_version": 3, "solution": true}
class ZeroPadShortcut(nn.Module):
    """Subsample by the stride, then append zero channels. No parameters."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        ### BEGIN SOLUTION
        self.extra = out_channels - in_channels
        self.stride = stride
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        kept = x[:, :, :: self.stride, :: self.stride]
        n, _, h, w = kept.shape
        zeros = torch.zeros(n, self.extra, h, w, dtype=x.dtype, device=x.device)
        return torch.cat([kept, zeros], dim=1)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "zero_pad_shape", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] ZeroPadShortcut: output shapes.
expect(check_shape(ZeroPadShortcut, resnet_ref.shortcuts.ZeroPadShortcut, 16, 32, 2))
expect(check_shape(ZeroPadShortcut, resnet_ref.shortcuts.ZeroPadShortcut, 32, 64, 2, input_shape=(2, 32, 7, 7)))
print("ZeroPadShortcut shapes: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, h, w in [(16, 16, 2, 9, 6), (8, 24, 1, 5, 5), (3, 4, 3, 10, 11), (32, 64, 2, 1, 3)]:
    expect(check_shape(ZeroPadShortcut, resnet_ref.shortcuts.ZeroPadShortcut, c_in, c_out, stride,
                       input_shape=(2, c_in, h, w)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "zero_pad_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] ZeroPadShortcut: no parameters at all.
expect(check_parameter_count(ZeroPadShortcut, resnet_ref.shortcuts.ZeroPadShortcut, 16, 32, 2))
print("ZeroPadShortcut parameter count: ok")
### BEGIN HIDDEN TESTS
expect(check_parameter_count(ZeroPadShortcut, resnet_ref.shortcuts.ZeroPadShortcut, 64, 128, 2))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "zero_pad_values", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] ZeroPadShortcut: the kept channels are x[:, :, ::s, ::s], the appended ones zeros.
expect(check_zero_pad_values(ZeroPadShortcut, 16, 32, 2))
print("ZeroPadShortcut values: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, h, w in [(8, 16, 2, 7, 9), (4, 12, 1, 5, 5), (3, 5, 3, 10, 8), (6, 6, 2, 6, 6)]:
    expect(check_zero_pad_values(ZeroPadShortcut, c_in, c_out, stride, input_shape=(2, c_in, h, w)))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 4: choosing the shortcut
#
# The paper compares three options, one choice for the whole network:
#
# | option | shapes match (`stride == 1` and `in_channels == out_channels`) | shapes change |
# |---|---|---|
# | A | identity | zero padding (no parameters) |
# | B | identity | projection |
# | C | projection | projection |
#
# Option B is what ResNets normally use: projections cost parameters, so they go only where
# they are needed.
#
# **Your task.** Write `make_shortcut(option, in_channels, out_channels, stride)` returning the
# shortcut module for one block: `nn.Identity()` for the identity, and your own
# `ProjectionShortcut` and `ZeroPadShortcut` otherwise. The grader checks the *kind* of module
# you return (identity, projection or parameter-free padding), not the classes' names.

# %% nbgrader={"grade": false, "grade_id": "make_shortcut", "locked": false, "schema_version": 3, "solution": true}
def make_shortcut(option, in_channels, out_channels, stride):
    """The shortcut of one block under shortcut option "A", "B" or "C"."""
    ### BEGIN SOLUTION
    if option not in ("A", "B", "C"):
        raise ValueError(f"unknown shortcut option {option!r}")
    shapes_match = stride == 1 and in_channels == out_channels
    if option == "C" or (option == "B" and not shapes_match):
        return ProjectionShortcut(in_channels, out_channels, stride)
    if shapes_match:
        return nn.Identity()
    return ZeroPadShortcut(in_channels, out_channels, stride)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "option_b", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] make_shortcut, option B: identity where the shapes match, projection elsewhere.
expect(check_shortcut_kind(make_shortcut, "B", 64, 64, 1))
expect(check_shortcut_kind(make_shortcut, "B", 64, 128, 2))
print("option B: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(16, 16, 1), (16, 16, 2), (16, 32, 1), (3, 3, 1)]:
    expect(check_shortcut_kind(make_shortcut, "B", c_in, c_out, stride))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "option_a", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] make_shortcut, option A: identity where the shapes match, zero padding elsewhere.
expect(check_shortcut_kind(make_shortcut, "A", 16, 16, 1))
expect(check_shortcut_kind(make_shortcut, "A", 16, 32, 2))
print("option A: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(32, 32, 1), (16, 32, 1), (32, 64, 2), (8, 24, 3)]:
    expect(check_shortcut_kind(make_shortcut, "A", c_in, c_out, stride))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "option_c", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] make_shortcut, option C: a projection in every block.
expect(check_shortcut_kind(make_shortcut, "C", 64, 64, 1))
expect(check_shortcut_kind(make_shortcut, "C", 64, 128, 2))
print("option C: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(16, 16, 1), (16, 16, 2), (16, 32, 1)]:
    expect(check_shortcut_kind(make_shortcut, "C", c_in, c_out, stride))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 5: shapes through a strided block
#
# A basic block (`resnet_ref.BasicBlock(in_channels, out_channels, stride)`) runs a 3×3
# convolution with the stride and padding 1, then a 3×3 convolution with stride 1 and padding 1;
# its shortcut brings the input to the same shape.
#
# **Your task.** Write `block_output_shape(input_shape, out_channels, stride)`: given the input
# shape `(N, C, H, W)` as a tuple of ints, return the output shape of such a block as a tuple of
# four ints, without building the block. Your `conv_output_size` helps.

# %% nbgrader={"grade": false, "grade_id": "block_output_shape", "locked": false, "schema_version": 3, "solution": true}
def block_output_shape(input_shape, out_channels, stride):
    """(N, C, H, W) -> the output shape of a basic block with this stride."""
    ### BEGIN SOLUTION
    n, _, h, w = input_shape
    # conv1: 3x3, padding 1, the stride: (h + 2 - 3) // stride + 1; conv2 keeps the size.
    return (n, out_channels, (h - 1) // stride + 1, (w - 1) // stride + 1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "block_shape", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] block_output_shape agrees with resnet_ref.BasicBlock.
expect(check_block_shape(block_output_shape, (2, 64, 56, 56), 64, 1))
expect(check_block_shape(block_output_shape, (2, 64, 56, 56), 128, 2))
print("block_output_shape: ok")
### BEGIN HIDDEN TESTS
for shape, c_out, stride in [((1, 16, 7, 7), 32, 2), ((3, 8, 9, 4), 16, 2), ((2, 4, 1, 1), 8, 2),
                             ((1, 8, 10, 11), 8, 3), ((4, 3, 5, 6), 3, 1)]:
    expect(check_block_shape(block_output_shape, shape, c_out, stride))
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "stride_question_task", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": true}
# ## Part 6: why the shortcut needs the stride (written, 2 points)
#
# In a block with `stride=2`, the residual branch's first 3×3 convolution carries the stride.
# Explain in a few sentences why the shortcut must use **the same stride** as the residual
# branch. Consider two things: what happens to the addition if the shortcut keeps stride 1, and,
# beyond matching sizes, which input pixel the shortcut should deliver to output position
# $(i, j)$. Your answer goes in the next cell.
#
# ### BEGIN MARK SCHEME
# Full marks (2) need both points; 1 mark for either.
#
# 1. **Shapes.** With stride 2 the branch outputs $\lfloor (H-1)/2 \rfloor + 1$ rows and
#    columns; a shortcut with stride 1 keeps $H \times W$, so the element-wise addition fails
#    (or, if broadcasting happened to allow it, would add tensors that do not correspond).
# 2. **Alignment.** Output position $(i, j)$ of the strided 3×3 convolution (padding 1) is
#    centred on input pixel $(s i, s j)$; a 1×1 convolution with stride $s$ (or
#    `x[:, :, ::s, ::s]`) reads exactly that pixel, so the shortcut adds the input at the place
#    the branch looked at, and $y = F(x) + x$ stays a correction to the input there. Downsampling
#    the shortcut some other way (a different stride, an offset, pooling elsewhere) would add
#    values from other positions.
#
# Accept equivalent wording (e.g. "the skip must carry x to the same spatial grid as F(x)").
# No credit for "because the paper does so" without a reason.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "stride_question", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The addition $F(x) + S(x)$ is element-wise, so both terms need the same shape. With stride 2
# the branch's first convolution turns $H \times W$ into
# $(\lfloor (H-1)/2 \rfloor + 1) \times (\lfloor (W-1)/2 \rfloor + 1)$; a shortcut with stride 1
# keeps $H \times W$ and the sum fails. Matching the size is not enough, though: output position
# $(i, j)$ of the strided convolution is centred on input pixel $(2i, 2j)$, and a 1×1
# convolution with stride 2 (or `x[:, :, ::2, ::2]`) reads exactly that pixel. So the shortcut
# brings the input of the same location that the branch computed its correction for, which is
# what makes the block learn "input plus a residual" position by position.
