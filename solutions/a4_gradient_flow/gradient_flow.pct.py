# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 4: gradient flow and degradation
#
# Why do deep plain networks train worse than shallow ones, and why do shortcuts help? In this
# assignment you measure it: first the size of the loss gradient at every block of a network,
# then a small training experiment that puts plain networks next to residual networks of the
# same depth, and finally you interpret what you measured.
#
# **How it is graded.** Each code cell that starts with a comment like `# [2 points] ...` is a
# test: a few *visible* checks you can run now, which finish in a few seconds (the check of
# `compare_depths` trains two small networks briefly), and *hidden* checks of the same kind that
# the grader adds. Your `block_gradient_norms` is compared with the
# course's reference, `resnet_ref.analysis.gradient_norms`, on freshly built networks and random
# batches. Your `compare_depths` is checked for the structure of what it returns, not for the
# exact errors: a run of a few steps is too noisy to grade. The written answer in Part 3 is
# read and graded by your instructor.
#
# A failing check stops with one line saying what was expected, what came out and the likely
# mistake. Fix the first failing line and run the cell again.
#
# | part | what | points |
# |---|---|---|
# | 1 | `block_gradient_norms`: names and order, values, model left unchanged | 5 |
# | 2 | `compare_depths`: plain against residual networks | 2 |
# | 3 | written interpretation (graded by hand) | 5 |
# | | **total** | **12** |

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
# Run this cell first. It imports PyTorch, the reference package and the grader's checks.
import os

import torch
import torch.nn.functional as F

import resnet_ref
import resnet_ref.analysis
from resnet_ref.grading import (
    check_depth_comparison,
    check_gradient_norms,
    check_leaves_model_unchanged,
    expect,
    show_unfinished_in_one_line,
)
from resnet_ref.training import TrainConfig, train

# nbgrader sets NBGRADER_EXECUTION while it grades; cells that only explore shrink then.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
# PyTorch uses one thread, grading or not: every network here is small and sees 8x8 or 16x16
# images, too little work to share. On a two-core machine the experiment of Part 2 took as
# long on two threads as on one, and two to three times as long while other programs ran.
torch.set_num_threads(1)

# A cell that calls an exercise you have not written yet then stops with one line saying so.
show_unfinished_in_one_line()

# %% [markdown]
# ## Part 1: the gradient at every block
#
# A `resnet_ref` network is a **stem** (`model.stem`) followed by residual blocks;
# `model.blocks()` lists them in forward order as `(name, module)` pairs, e.g.
# `("stage1.0", block)`. `resnet_ref.create("plain20")` builds the same network without
# shortcuts. During backpropagation the loss gradient flows from the last block back to the stem;
# how large it is at each block's **output** tells us how strongly the early layers hear the
# loss.
#
# **Your task.** Write `block_gradient_norms(model, x, y)` that returns a `dict` mapping
# `"stem"` and then every block name of `model.blocks()`, in that (forward) order, to the L2
# norm (a `float`) of $\partial L / \partial h$, where $h$ is that module's output activation
# tensor for the whole batch and $L$ = `F.cross_entropy(model(x), y)`, computed with the model in
# **training mode** (BatchNorm uses the batch statistics).
#
# Measuring must not change the model:
#
# - grab the outputs with `module.register_forward_hook(...)` and remove every hook afterwards,
#   even when something fails (`try` / `finally`);
# - take the gradients with `torch.autograd.grad(loss, outputs)`, which does not touch the
#   parameters' `.grad` (so `loss.backward()` is not allowed);
# - a training-mode forward pass updates BatchNorm's running mean and variance: save
#   `model.named_buffers()` before and copy them back afterwards, and restore the training mode
#   the model had.
#
# You may read `resnet_ref.analysis.gradient_norms` to compare with afterwards, but write your
# own. The checks use networks built with `in_channels=1` and random 8×8 images.

# %% nbgrader={"grade": false, "grade_id": "block_gradient_norms", "locked": false, "schema_version": 3, "solution": true}
def block_gradient_norms(model, x, y):
    """{"stem": norm, "stage1.0": norm, ...}: the L2 norm of dL/d(output) of every unit."""
    ### BEGIN SOLUTION
    units = [("stem", model.stem), *model.blocks()]
    outputs = {}
    handles = []
    for name, module in units:

        def hook(module, inputs, output, name=name):
            outputs[name] = output

        handles.append(module.register_forward_hook(hook))
    saved = {name: buffer.clone() for name, buffer in model.named_buffers()}
    was_training = model.training
    model.train()
    try:
        loss = F.cross_entropy(model(x), y)
        names = [name for name, _ in units]
        grads = torch.autograd.grad(loss, [outputs[name] for name in names])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved[name])
    return {name: grad.norm().item() for name, grad in zip(names, grads)}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gradient_values", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# [3 points] block_gradient_norms: same names, same order and same values as the reference.
expect(check_gradient_norms(block_gradient_norms, resnet_ref.models.create, name="resnet20", in_channels=1))
print("block_gradient_norms on resnet20: ok")
### BEGIN HIDDEN TESTS
expect(check_gradient_norms(block_gradient_norms, resnet_ref.models.create, name="plain20", in_channels=1))
expect(check_gradient_norms(block_gradient_norms, resnet_ref.models.create, name="resnet32", in_channels=1))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "gradient_model_unchanged", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] block_gradient_norms leaves the model as it was: no hooks, .grad, statistics, mode.
expect(check_leaves_model_unchanged(block_gradient_norms, resnet_ref.models.create, name="resnet20", in_channels=1))
print("block_gradient_norms leaves the model unchanged: ok")
### BEGIN HIDDEN TESTS
expect(check_leaves_model_unchanged(block_gradient_norms, resnet_ref.models.create, name="plain20", in_channels=1))
### END HIDDEN TESTS

# %% [markdown]
# ### Looking at the numbers
#
# Run the cell below: it prints your norms for a freshly initialised ResNet-56 and Plain-56
# (depth 8 while the grader runs) on a batch of the course's digits. Read the
# columns from the bottom up: that is the direction the gradient travels. You will need these
# numbers in Part 3.

# %% nbgrader={"grade": false, "grade_id": "explore_norms", "locked": true, "schema_version": 3, "solution": false}
digits = resnet_ref.load_data("embedded", limit=64)
images, labels = next(iter(digits.loader("train", 64, shuffle=False)))
images = digits.prepare(images, train=False)
depth = 8 if GRADING else 56
torch.manual_seed(0)
net = resnet_ref.models.cifar_resnet(depth, skip=True, in_channels=1)
residual = block_gradient_norms(net, images, labels)
torch.manual_seed(0)
net = resnet_ref.models.cifar_resnet(depth, skip=False, in_channels=1)
plain = block_gradient_norms(net, images, labels)
print(f"{'unit':>10}  {'residual':>10}  {'plain':>10}")
for name in residual:
    print(f"{name:>10}  {residual[name]:10.4f}  {plain[name]:10.4f}")
last = list(residual)[-1]
print(f"stem / last block: residual {residual['stem'] / residual[last]:.2f}, "
      f"plain {plain['stem'] / plain[last]:.2f}")

# %% [markdown]
# ## Part 2: plain against residual, as depth grows
#
# The ResNet paper's central observation is **degradation**: a deeper plain network ends with
# a *higher training error* than a shallower one, which overfitting cannot explain. Here you
# repeat the experiment in miniature on the course's embedded digits.
#
# **Your task.** Write `compare_depths(depths, epochs, limit=None, progress=False)` that, for
# each depth `d` in `depths` (each of the form 6n + 2: 8, 14, 20, 32, ...):
#
# - builds the CIFAR-style plain and residual networks of that depth for one-channel images,
#   `resnet_ref.models.cifar_resnet(d, skip=False, in_channels=1)` and `skip=True`, each right
#   after `torch.manual_seed(0)` so that both start alike;
# - trains each on `data = resnet_ref.load_data("embedded", limit=limit, image_size=8)` with
#   `train(model, data, config)`, where
#   `config = TrainConfig(epochs=epochs, batch_size=64, lr=0.05, warmup_epochs=1,
#   progress=progress, label=f"{kind}-{d}")` and `kind` is `"plain"` or `"residual"`;
# - keeps the **final training error**, `history[-1]["train_error"]`, a float in [0, 1];
#
# and returns `{"plain": {d: error, ...}, "residual": {d: error, ...}}` with the depths as keys
# in the order given. Load the data once.
#
# The recipe is the one chapter 2 trains its plain and residual networks with on a CPU, batches
# of 64 and a learning rate of 0.05 after a linear warm-up, with the warm-up one epoch long
# instead of half: as long as the ResNet paper's warm-up of ResNet-110 (400 steps of 128
# images, about one pass over CIFAR-10). The first steps of a freshly initialised 56-layer
# network are the fragile ones. With the `TrainConfig` defaults (the paper's rate of 0.1 from
# the first step, batches of 128) runs this short leave a 56-layer network near chance whether
# it has shortcuts or not, and the experiment would show nothing about them. `image_size=8`
# keeps the digits at the 8×8 pixels of the original scans (the book enlarges them to 16×16), a
# quarter of the computation. `progress=True` shows a progress bar per network, named by
# `label`.
#
# The graded check runs two epochs on small networks and a few images, without `progress`, so
# it only checks what comes back; the numbers that matter come from the longer run in the next
# cell, which you run yourself.

# %% nbgrader={"grade": false, "grade_id": "compare_depths", "locked": false, "schema_version": 3, "solution": true}
def compare_depths(depths, epochs, limit=None, progress=False):
    """{"plain": {depth: final training error}, "residual": {depth: final training error}}."""
    ### BEGIN SOLUTION
    data = resnet_ref.load_data("embedded", limit=limit, image_size=8)
    results = {"plain": {}, "residual": {}}
    for depth in depths:
        for kind, skip in (("plain", False), ("residual", True)):
            torch.manual_seed(0)
            model = resnet_ref.models.cifar_resnet(depth, skip=skip, in_channels=1)
            config = TrainConfig(
                epochs=epochs,
                batch_size=64,
                lr=0.05,
                warmup_epochs=1,
                progress=progress,
                label=f"{kind}-{depth}",
            )
            results[kind][depth] = train(model, data, config)[-1]["train_error"]
    return results
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "compare_depths_structure", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] compare_depths returns {"plain": {...}, "residual": {...}} of errors in [0, 1].
expect(check_depth_comparison(compare_depths, (14, 8), 2, limit=64))
print("compare_depths: ok")
### BEGIN HIDDEN TESTS
expect(check_depth_comparison(compare_depths, (20, 8, 14), 2, limit=32))
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "explore_depths", "locked": true, "schema_version": 3, "solution": false}
# The experiment: six networks, six epochs each, the longest cell of the assignment; a progress
# bar per network shows how far it has come. The grader runs a token version.
if GRADING:
    experiment = compare_depths((14, 8), 2, limit=64)  # the graded check's token run again
else:
    experiment = compare_depths([8, 20, 56], 6, progress=True)
print(f"{'depth':>6}  {'plain':>8}  {'residual':>8}   (final training error)")
for depth in experiment["plain"]:
    print(f"{depth:>6}  {experiment['plain'][depth]:8.1%}  {experiment['residual'][depth]:8.1%}")

# %% [markdown]
# ## Part 3: what the measurements say
#
# A common explanation of degradation runs like this: in a plain network the gradient reaching
# layer $l$ is a product of one factor per layer above it, and if each factor shrinks the
# gradient to, say, 0.9 of its size, then 56 layers leave $0.9^{56}$ of it (the cell below
# computes how little that is): the early layers barely learn. With an identity shortcut every
# factor becomes $I + \partial F / \partial x$, which contains the identity, so the product
# cannot collapse that way.

# %% nbgrader={"grade": false, "grade_id": "explore_shrinking", "locked": true, "schema_version": 3, "solution": false}
left = 0.9**56
print(f"0.9 ** 56 = {left:.5f}: {left:.2%} of the gradient is left after 56 layers")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_interpretation", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": true}
# **Your answer** (in the cell below, about 200–300 words; quote your own numbers):
#
# 1. What did your gradient norms show for the plain and the residual network at
#    initialisation? Going from the last block back to the stem, does the norm shrink, stay or
#    grow, and by roughly how much?
# 2. Does that agree with the $0.9^{56}$ argument? If not, which assumption of the argument
#    does a network with BatchNorm break, and what does that say about the cause of
#    degradation?
# 3. What did the training experiment show about plain against residual networks as depth
#    grows, and how sure can you be from runs this short?
#
# ### BEGIN MARK SCHEME
# **Mark scheme (5 points).** Reward what the learner *measured* and reasons from; do not
# require the textbook story if their numbers contradict it.
#
# - **1 point: the measured norms, reported honestly.** With BatchNorm, at initialisation the
#   plain network's norms typically **grow** going backwards, and the residual network's grow
#   too but more gently (the cell, seed 0: the stem's norm is thousands of times the last
#   block's for Plain-56, tens of times for ResNet-56). Full credit for quoting numbers and a
#   direction that match their own table; no credit for claiming "plain gradients vanish"
#   when their table shows them growing.
# - **1 point: comparison with 0.9^56.** The argument assumes every layer's Jacobian shrinks
#   the gradient by a fixed factor < 1. BatchNorm re-normalises each layer's activations, so
#   the per-layer factors are not < 1 (they are often > 1: the normalisation divides by a
#   small standard deviation); the measured gradients at init therefore do not vanish. So
#   vanishing gradients at init are not what makes deep plain nets train worse here (the
#   ResNet paper says the same: its plain nets had BN and healthy gradient norms).
# - **1 point: what the shortcut changes.** The identity term gives every block's gradient a
#   direct path, $\partial L/\partial x_l = \partial L/\partial x_L \prod (I + \partial
#   F_i/\partial x_i)$, so the gradient is the upstream gradient plus corrections; the
#   network starts close to (a sum of) shallow paths and keeps well-conditioned, less
#   exploding/shattered gradients. Either "bounded growth" or "identity path" framing is fine.
# - **1 point: the experiment.** Reports their own table: the plain errors rise with depth
#   (degradation: with the prescribed recipe plain-8 ends near 3 %, plain-20 near 10-20 % and
#   plain-56 near 75-80 %, close to chance), while the residual networks stay low at every
#   depth (about 3 % at 8 and 20 layers, 5-10 % at 56: a little behind residual-20 after so
#   short a run, but far ahead of plain-56). Credit an honest report of whatever their run
#   showed.
# - **1 point: caution.** Notes that a few epochs, one seed and a small data set give noisy
#   numbers (differences of a few percent may be noise; more seeds/epochs needed), and that
#   degradation is about *training* error, so it is an optimisation difficulty, not overfitting.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "interpretation", "locked": false, "points": 5, "schema_version": 3, "solution": true}
# YOUR ANSWER HERE
