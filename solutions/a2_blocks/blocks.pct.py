# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 2: residual blocks
#
# In this assignment you build the two blocks every ResNet is made of, the **basic block**
# of ResNet-18/34 and the **bottleneck block** of ResNet-50/101/152, and a function that
# counts a block's parameters without building it.
#
# **How it is graded.** Each code cell that starts with a comment like
# `# [2 points] ...` is a test. It holds a few *visible* checks, which you can run now and
# which finish in a second or two, and the grader adds *hidden* checks of the same kind:
# more channel counts, strides and input sizes. Your blocks are compared with the course's
# reference implementation, `resnet_ref`, **by behaviour**: the grader runs your block once,
# notes the order in which its `nn.Conv2d` and `nn.BatchNorm2d` layers run, copies the
# reference's weights into those layers, and then compares outputs and input gradients on
# fresh random inputs, in training and in evaluation mode. So:
#
# - name your attributes as you like and arrange your code as you like (one `nn.Sequential`,
#   separate layers, helper methods, shortcut first or last: all fine);
# - do use `nn.Conv2d` and `nn.BatchNorm2d` *modules*, stored as attributes of your block
#   (directly or inside `nn.Sequential` / `nn.ModuleList`), so that the grader can find them;
# - write the blocks yourself: a block that wraps `resnet_ref`'s or torchvision's scores zero.
#
# A failing check stops with one line saying what was expected, what came out and the likely
# mistake. Fix the first failing line and run the cell again.
#
# | part | what | points |
# |---|---|---|
# | 1 | `BasicBlock`: shapes, parameters, forward pass, gradients, identity | 9 |
# | 2 | `BottleneckBlock`: shapes, parameters, forward pass, gradients, identity | 6 |
# | 3 | `count_block_parameters` | 2 |
# | 4 | edge cases | 1 |
# | | **total** | **18** |

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
# Run this cell first. It imports PyTorch, the reference package and the grader's checks.
import os

import torch
import torch.nn.functional as F
from torch import nn

import resnet_ref
from resnet_ref.grading import (
    check_attribute,
    check_count_function,
    check_forward,
    check_identity,
    check_input_gradient,
    check_input_unchanged,
    check_parameter_count,
    check_shape,
    expect,
    show_unfinished_in_one_line,
)

# nbgrader sets NBGRADER_EXECUTION while it grades. Cells that only explore shrink then, and
# PyTorch uses one thread: the grader's tensors are small, and on a busy grading machine
# threads that wait for each other make every operation many times slower.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
if GRADING:
    torch.set_num_threads(1)

# A cell that calls an exercise you have not written yet then stops with one line saying so.
show_unfinished_in_one_line()

# %% [markdown]
# ## Part 1: the basic block
#
# A residual block adds its input back to what its layers compute:
#
# $$ y = \mathrm{ReLU}\big(F(x) + S(x)\big), $$
#
# where $F$ is the **residual branch** and $S$ the **shortcut**. In the basic block,
#
# $$ F(x) = \mathrm{BN}_2\Big(\mathrm{conv}^{3\times3}_2\Big(\mathrm{ReLU}\big(\mathrm{BN}_1(\mathrm{conv}^{3\times3}_1(x))\big)\Big)\Big). $$
#
# - `conv1` is a 3×3 convolution from `in_channels` to `out_channels` that carries the block's
#   `stride`; `conv2` is a 3×3 convolution from `out_channels` to `out_channels` with stride 1.
#   Both use padding 1, so that stride 1 keeps the height and width.
# - No convolution has a bias (`bias=False`): the BatchNorm that follows each one has its
#   own shift, which makes a bias redundant.
# - The addition needs $F(x)$ and $S(x)$ of the same shape. When the block keeps the shape
#   (`stride == 1` and `in_channels == out_channels`) the shortcut is the **identity**,
#   $S(x) = x$, with no parameters. Otherwise it is a **projection**: a 1×1 convolution from
#   `in_channels` to `out_channels` with the block's stride (no bias), then a BatchNorm. This is
#   "option B" of the ResNet paper.
# - There is no ReLU on the shortcut and none between the last BatchNorm and the addition: the
#   only ReLU after $\mathrm{BN}_2$ comes after the sum.
#
# **Your task.** Complete `BasicBlock(in_channels, out_channels, stride=1)`: a subclass of
# `nn.Module` with the class attribute `expansion = 1` (the block outputs
# `expansion * out_channels` channels) whose `forward(x)` maps `[N, in_channels, H, W]` to
# `[N, out_channels, H', W']`, where $H' = \lfloor (H - 1)/\text{stride} \rfloor + 1$. Leave the
# input tensor `x` unchanged (no in-place operation on it).

# %% nbgrader={"grade": false, "grade_id": "basic_block", "locked": false, "schema_version": 3, "solution": true}
class BasicBlock(nn.Module):
    """conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN, plus the shortcut, then ReLU."""

    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
        ### END SOLUTION


# %% [markdown]
# ### Checking the basic block
#
# The six test cells below check one thing each, so a mistake costs the points of what it
# breaks and no more. Run them in order.

# %% nbgrader={"grade": true, "grade_id": "basic_shape", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] BasicBlock: expansion and output shapes, with and without a stride.
expect(check_attribute(BasicBlock, "expansion", 1))
expect(check_shape(BasicBlock, resnet_ref.BasicBlock, 64, 64, stride=1))
expect(check_shape(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2))
expect(check_shape(BasicBlock, resnet_ref.BasicBlock, 32, 32, stride=2))
print("BasicBlock shapes: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, size in [(16, 32, 2, 7), (16, 16, 2, 9), (3, 16, 1, 5), (128, 64, 2, 9)]:
    expect(
        check_shape(
            BasicBlock,
            resnet_ref.BasicBlock,
            c_in,
            c_out,
            stride=stride,
            input_shape=(2, c_in, size, size),
        )
    )
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "basic_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] BasicBlock: exactly as many parameters as the reference.
expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, 64, 64, stride=1))
expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2))
expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, 32, 32, stride=2))
print("BasicBlock parameter counts: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(16, 16, 1), (48, 48, 2), (16, 48, 1), (128, 256, 2)]:
    expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, c_in, c_out, stride=stride))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "basic_forward_identity", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] BasicBlock with an identity shortcut: same outputs as the reference, train and eval.
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 64, 64, stride=1))
print("BasicBlock forward pass (identity shortcut): ok")
### BEGIN HIDDEN TESTS
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 16, 16, stride=1, input_shape=(3, 16, 7, 7)))
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 128, 128, stride=1, input_shape=(2, 128, 4, 6)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "basic_forward_projection", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] BasicBlock with a projection shortcut: same outputs as the reference, train and eval.
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2))
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 32, 32, stride=2))
print("BasicBlock forward pass (projection shortcut): ok")
### BEGIN HIDDEN TESTS
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 16, 16, stride=2, input_shape=(2, 16, 9, 9)))
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 16, 32, stride=1))
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 24, 48, stride=2, input_shape=(2, 24, 7, 9)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "basic_gradient", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] BasicBlock: the gradient with respect to the input equals the reference's.
expect(check_input_gradient(BasicBlock, resnet_ref.BasicBlock, 64, 64, stride=1))
expect(check_input_gradient(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2))
print("BasicBlock input gradient: ok")
### BEGIN HIDDEN TESTS
expect(check_input_gradient(BasicBlock, resnet_ref.BasicBlock, 16, 16, stride=1, input_shape=(4, 16, 5, 5)))
expect(check_input_gradient(BasicBlock, resnet_ref.BasicBlock, 32, 64, stride=2, input_shape=(2, 32, 7, 7)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "basic_identity", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] BasicBlock: with the residual branch silenced, a block that keeps the shape is relu(x).
expect(check_identity(BasicBlock, 64, 64, stride=1))
print("BasicBlock identity property: ok")
### BEGIN HIDDEN TESTS
expect(check_identity(BasicBlock, 8, 8, stride=1, input_shape=(2, 8, 5, 3)))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: the bottleneck block
#
# Deeper ResNets replace the two 3×3 convolutions by three convolutions that first shrink the
# channels, work at the smaller width, and widen them again:
#
# $$ F(x) = \mathrm{BN}_3\Big(\mathrm{conv}^{1\times1}_3\Big(\mathrm{ReLU}\big(\mathrm{BN}_2(\mathrm{conv}^{3\times3}_2(\mathrm{ReLU}(\mathrm{BN}_1(\mathrm{conv}^{1\times1}_1(x)))))\big)\Big)\Big), \qquad y = \mathrm{ReLU}\big(F(x) + S(x)\big). $$
#
# - `out_channels` is the **width of the bottleneck**; the block outputs
#   `expansion * out_channels` channels with `expansion = 4`. `BottleneckBlock(256, 64)` reads
#   256 channels, works at 64 and outputs 256.
# - `conv1`: 1×1, `in_channels` → `out_channels`. `conv2`: 3×3, `out_channels` → `out_channels`,
#   padding 1, and **it carries the stride** (as torchvision does; the original paper put the
#   stride on `conv1`, which saves computation at the same parameter count). `conv3`: 1×1,
#   `out_channels` → `4 * out_channels`. No biases; each convolution is followed by a BatchNorm.
# - The shortcut is the identity when `stride == 1` and `in_channels == 4 * out_channels`, and
#   otherwise a projection: 1×1 convolution `in_channels` → `4 * out_channels` with the stride,
#   no bias, then a BatchNorm.
# - As before: no ReLU after $\mathrm{BN}_3$ before the addition, one ReLU after it.
#
# **Your task.** Complete `BottleneckBlock(in_channels, out_channels, stride=1)` with the class
# attribute `expansion = 4`.

# %% nbgrader={"grade": false, "grade_id": "bottleneck_block", "locked": false, "schema_version": 3, "solution": true}
class BottleneckBlock(nn.Module):
    """1x1 -> BN -> ReLU -> 3x3(stride) -> BN -> ReLU -> 1x1 -> BN, plus the shortcut, then ReLU."""

    expansion = 4

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        wide = out_channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv3 = nn.Conv2d(out_channels, wide, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(wide)
        if stride == 1 and in_channels == wide:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, wide, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(wide),
            )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "bottleneck_shape", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] BottleneckBlock: expansion 4 and output shapes.
expect(check_attribute(BottleneckBlock, "expansion", 4))
expect(check_shape(BottleneckBlock, resnet_ref.BottleneckBlock, 256, 64, stride=1))
expect(check_shape(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 64, stride=2))
expect(check_shape(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 64, stride=1))
print("BottleneckBlock shapes: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride, size in [(128, 32, 2, 7), (64, 16, 1, 5), (32, 32, 1, 6), (512, 128, 2, 4)]:
    expect(
        check_shape(
            BottleneckBlock,
            resnet_ref.BottleneckBlock,
            c_in,
            c_out,
            stride=stride,
            input_shape=(2, c_in, size, size),
        )
    )
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "bottleneck_params", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] BottleneckBlock: exactly as many parameters as the reference.
expect(check_parameter_count(BottleneckBlock, resnet_ref.BottleneckBlock, 256, 64, stride=1))
expect(check_parameter_count(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 64, stride=1))
print("BottleneckBlock parameter counts: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(256, 128, 2), (128, 32, 2), (64, 16, 1)]:
    expect(
        check_parameter_count(
            BottleneckBlock, resnet_ref.BottleneckBlock, c_in, c_out, stride=stride
        )
    )
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "bottleneck_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] BottleneckBlock: same outputs as the reference, train and eval mode.
expect(check_forward(BottleneckBlock, resnet_ref.BottleneckBlock, 256, 64, stride=1))
expect(check_forward(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 64, stride=2))
expect(check_forward(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 64, stride=1))
print("BottleneckBlock forward pass: ok")
### BEGIN HIDDEN TESTS
expect(check_forward(BottleneckBlock, resnet_ref.BottleneckBlock, 32, 16, stride=1, input_shape=(2, 32, 6, 6)))
expect(check_forward(BottleneckBlock, resnet_ref.BottleneckBlock, 128, 32, stride=2, input_shape=(2, 128, 7, 7)))
expect(check_forward(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 16, stride=1, input_shape=(3, 64, 5, 6)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "bottleneck_gradient", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] BottleneckBlock: the gradient with respect to the input equals the reference's.
expect(check_input_gradient(BottleneckBlock, resnet_ref.BottleneckBlock, 256, 64, stride=1))
expect(check_input_gradient(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 32, stride=2))
print("BottleneckBlock input gradient: ok")
### BEGIN HIDDEN TESTS
expect(check_input_gradient(BottleneckBlock, resnet_ref.BottleneckBlock, 128, 32, stride=2, input_shape=(2, 128, 5, 7)))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "bottleneck_identity", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] BottleneckBlock: with the residual branch silenced, the block is relu(x).
expect(check_identity(BottleneckBlock, 256, 64, stride=1))
print("BottleneckBlock identity property: ok")
### BEGIN HIDDEN TESTS
expect(check_identity(BottleneckBlock, 32, 8, stride=1, input_shape=(2, 32, 3, 5)))
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: counting parameters from the arguments
#
# A convolution with a $k \times k$ kernel from $C_\text{in}$ to $C_\text{out}$ channels and no
# bias has $k^2 \, C_\text{in} \, C_\text{out}$ weights. A `BatchNorm2d(C)` learns a scale and a
# shift per channel, $2C$ parameters (its running mean and variance are buffers, not
# parameters). A block's count is the sum over its layers, shortcut included when it is a
# projection.
#
# **Your task.** Write `count_block_parameters(kind, in_channels, out_channels, stride=1)` that
# returns, as an `int`, the number of parameters of `BasicBlock` (`kind == "basic"`) or
# `BottleneckBlock` (`kind == "bottleneck"`) built with these arguments. Compute it from the
# formula: the grader calls your function in a setting where building a module fails. Compare
# your numbers with `sum(p.numel() for p in block.parameters())` on your own blocks.

# %% nbgrader={"grade": false, "grade_id": "count_block_parameters", "locked": false, "schema_version": 3, "solution": true}
def count_block_parameters(kind, in_channels, out_channels, stride=1):
    """The number of parameters of a "basic" or "bottleneck" block built with these arguments."""
    ### BEGIN SOLUTION
    def conv(kernel, c_in, c_out):
        return kernel * kernel * c_in * c_out

    def batch_norm(channels):
        return 2 * channels

    if kind == "basic":
        width = final = out_channels
        total = conv(3, in_channels, width) + batch_norm(width)
        total += conv(3, width, final) + batch_norm(final)
    elif kind == "bottleneck":
        width, final = out_channels, 4 * out_channels
        total = conv(1, in_channels, width) + batch_norm(width)
        total += conv(3, width, width) + batch_norm(width)
        total += conv(1, width, final) + batch_norm(final)
    else:
        raise ValueError(f"kind must be 'basic' or 'bottleneck', not {kind!r}")
    if stride != 1 or in_channels != final:
        total += conv(1, in_channels, final) + batch_norm(final)
    return total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "count_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] count_block_parameters agrees with the reference modules.
expect(check_count_function(count_block_parameters, "basic", resnet_ref.BasicBlock, 64, 64, stride=1))
expect(check_count_function(count_block_parameters, "basic", resnet_ref.BasicBlock, 64, 128, stride=2))
expect(check_count_function(count_block_parameters, "bottleneck", resnet_ref.BottleneckBlock, 256, 64, stride=1))
print("count_block_parameters: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(16, 16, 1), (32, 32, 2), (3, 64, 1), (256, 512, 2)]:
    expect(check_count_function(count_block_parameters, "basic", resnet_ref.BasicBlock, c_in, c_out, stride=stride))
for c_in, c_out, stride in [(64, 64, 1), (256, 128, 2), (1024, 256, 1), (512, 128, 2)]:
    expect(
        check_count_function(
            count_block_parameters, "bottleneck", resnet_ref.BottleneckBlock, c_in, c_out, stride=stride
        )
    )
### END HIDDEN TESTS

# %% [markdown]
# ## Part 4: edge cases
#
# A block inside a network receives tensors that other layers still need, of any height and
# width, sometimes a batch of one image in evaluation mode. Make sure your blocks leave their
# input unchanged and handle odd, non-square inputs.

# %% nbgrader={"grade": true, "grade_id": "edge_cases", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# [1 point] Edge cases: the input stays unchanged; odd, non-square inputs; a batch of one.
expect(check_input_unchanged(BasicBlock, 64, 64, stride=1))
expect(check_input_unchanged(BasicBlock, 64, 128, stride=2))
expect(check_shape(BottleneckBlock, resnet_ref.BottleneckBlock, 64, 16, stride=2, input_shape=(1, 64, 3, 5)))
print("edge cases: ok")
### BEGIN HIDDEN TESTS
expect(check_input_unchanged(BottleneckBlock, 256, 64, stride=1))
expect(check_shape(BasicBlock, resnet_ref.BasicBlock, 16, 32, stride=2, input_shape=(1, 16, 7, 10)))
expect(check_shape(BasicBlock, resnet_ref.BasicBlock, 16, 16, stride=1, input_shape=(1, 16, 1, 1)))
expect(check_shape(BottleneckBlock, resnet_ref.BottleneckBlock, 32, 8, stride=1, input_shape=(1, 32, 5, 3)))
### END HIDDEN TESTS

# %% [markdown]
# ## Try it: what the bottleneck saves
#
# Nothing to hand in here. The cell compares, at the resolution of ResNet's first stage (56×56),
# by parameters and by multiply-accumulate operations (MACs), a basic block and a bottleneck
# block that both read and write 256 channels, and a basic block on 64 channels. While the
# grader runs it uses a smaller image.
#
# The first two rows are the comparison behind the often quoted "17× fewer parameters", and it
# is misleading: no ResNet replaces a 256-channel basic block by a bottleneck. The ResNet paper
# (He et al., 2016) pairs a bottleneck on 256 channels with a basic block on **64** channels,
# which costs about the same (the third row), and spends what the bottleneck saves on more
# depth and width, not on a cheaper network: ResNet-50 has more parameters than ResNet-34.

# %%
from resnet_ref.analysis import count_macs

size = 14 if GRADING else 56
for name, channels, block in [
    ("basic 256→256", 256, BasicBlock(256, 256)),
    ("bottleneck 256→64→256", 256, BottleneckBlock(256, 64)),
    ("basic 64→64", 64, BasicBlock(64, 64)),
]:
    parameters = sum(p.numel() for p in block.parameters())
    macs = count_macs(block, (1, channels, size, size))
    print(f"{name:>22}: {parameters:>9,} parameters, {macs / 1e6:8.1f} M MACs at {size}x{size}")
