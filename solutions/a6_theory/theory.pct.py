# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 6: the theory of residual networks
#
# This assignment is mostly pen and paper. You derive how gradients travel through a stack of
# residual blocks, prove that shortcuts cost no expressive power, reason about what they do to
# the curvature of the loss, count the paths through a residual network, and answer a few
# open questions in your own words.
#
# **How it is graded.** Part 4 has two small functions with test cells (`# [2 points] ...`):
# visible checks you can run now, and hidden checks the grader adds; they compare your
# functions with the course's reference, `resnet_ref.analysis`. Everything else is a written
# answer that your instructor grades by hand. Write your answers in the cells that say
# `YOUR ANSWER HERE` (Markdown; LaTeX between `$...$` works). Short, precise answers that state
# their assumptions score better than long ones.
#
# | part | what | points |
# |---|---|---|
# | 1 | gradient flow through a residual network (derivation) | 5 |
# | 2 | a residual network represents what a plain one does (proof) | 4 |
# | 3 | skip connections and the curvature of the loss | 4 |
# | 4 | counting paths: `count_paths`, `paths_of_length` (autograded) and a question | 2 + 2 + 2 |
# | 5 | three open questions | 3 × 2 |
# | | **total** | **25** (4 autograded, 21 by hand) |

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
# Run this cell first. It imports the reference package, which Part 4's checks compare with.
import math
import os

import torch

import resnet_ref
import resnet_ref.analysis
from resnet_ref.grading import check_value, expect, references, show_unfinished_in_one_line

# nbgrader sets NBGRADER_EXECUTION while it grades; PyTorch then uses one thread.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
if GRADING:
    torch.set_num_threads(1)

# A cell that calls an exercise you have not written yet then stops with one line saying so.
show_unfinished_in_one_line()

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_gradient_flow", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": true}
# ## Part 1: gradient flow through a residual network (5 points)
#
# Take a network of identity-shortcut residual blocks with nothing after the addition (the
# *pre-activation* form, or the original block with its final ReLU left out):
#
# $$ x_{i+1} = x_i + F_i(x_i), \qquad i = l, l+1, \dots, L-1, $$
#
# and a loss $L$ computed from $x_L$. Write $J_i = \partial F_i / \partial x_i$ for the Jacobian of
# the $i$-th residual branch.
#
# 1. Derive $\partial \mathcal{L} / \partial x_l$ in terms of $\partial \mathcal{L} / \partial x_L$
#    and the $J_i$.
# 2. Expand the product for three blocks ($L = l + 3$) and say what each term means.
# 3. Unroll the forward pass too: write $x_L$ in terms of $x_l$ and the branches' outputs, and
#    use it to explain why the gradient at $x_l$ cannot vanish the way it can in a plain
#    network, $x_{i+1} = F_i(x_i)$. Under what condition could it still be small?
# 4. A common explanation of ResNets puts it as "$0.9^{56}$ in a plain network, $0.9^{56} + 1$
#    with shortcuts". What is right and what is loose about that shorthand?
#
# ### BEGIN MARK SCHEME
# **Mark scheme (5 points).**
#
# - **1 pt** chain rule through $x_{i+1} = x_i + F_i(x_i)$: $\partial x_{i+1}/\partial x_i =
#   I + J_i$, hence $\frac{\partial \mathcal L}{\partial x_l} = \frac{\partial \mathcal L}{\partial
#   x_L} \prod_{i=l}^{L-1} (I + J_i)$, with the product in the right order (row-vector gradient:
#   $(I+J_{L-1}) \cdots (I+J_l)$ applied from the left by $\partial\mathcal L/\partial x_L$).
#   Either layout convention is fine if consistent.
# - **1 pt** expansion for three blocks: $I + J_l + J_{l+1} + J_{l+2} + J_{l+1}J_l + J_{l+2}J_l +
#   J_{l+2}J_{l+1} + J_{l+2}J_{l+1}J_l$ (order of factors: later blocks to the left): one term per
#   subset of blocks, $2^3 = 8$ terms; each term is a path that goes through the branches of
#   that subset and takes the shortcut elsewhere.
# - **1 pt** unrolled forward pass $x_L = x_l + \sum_{i=l}^{L-1} F_i(x_i)$, so
#   $\frac{\partial\mathcal L}{\partial x_l} = \frac{\partial\mathcal L}{\partial x_L}\Big(I +
#   \frac{\partial}{\partial x_l}\sum_i F_i(x_i)\Big)$: the identity term carries
#   $\partial\mathcal L/\partial x_L$ to every block unchanged, whereas a plain network's
#   gradient is only the product $\prod J_i$, which shrinks geometrically when the $J_i$ are
#   contracting.
# - **1 pt** the caveat: the gradient can still be small only if the sum term cancels the
#   identity for the directions that matter (e.g. $\partial\mathcal L/\partial x_L$ in the null
#   space of $I + \partial(\sum F_i)/\partial x_l$), which needs a special coincidence, not a
#   generic 0.9 per layer; also a ReLU after the addition (original block) multiplies in a 0/1
#   mask and breaks the exact identity (accept any one valid caveat).
# - **1 pt** the shorthand: "$0.9^{56} + 1$" keeps only the empty path and the full path; the
#   real expansion has all $2^{56}$ subset terms, and scalars only make sense for 1-D (or
#   commuting) Jacobians; in 1-D the exact factor is $(1 + 0.9)^{56}$, not $1 + 0.9^{56}$. Right:
#   the identity term is there and does not decay. Also acceptable: with BatchNorm the
#   per-layer factors are not a fixed 0.9.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_gradient_flow", "locked": false, "points": 5, "schema_version": 3, "solution": true}
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_representation", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": true}
# ## Part 2: shortcuts cost no expressive power (4 points)
#
# Prove: every function computed by a plain network of depth $D$ (layers
# $h_{k+1} = \sigma(W_k h_k + b_k)$, ReLU $\sigma$) is also computed by a residual network with
# the same number of layers. Start by fixing what "residual network" means in your proof
# (where the shortcuts go, whether a ReLU follows the addition, what widths the layers may
# have) and state every assumption you need. Then say in one or two sentences why this result
# alone does **not** explain why residual networks train better.
#
# *Hint.* Two routes work: make each block's branch cancel its shortcut, or let each block
# keep a copy of its input in extra channels. Pick one and make it precise.
#
# ### BEGIN MARK SCHEME
# **Mark scheme (4 points).**
#
# - **1 pt** a precise model: e.g. blocks $x_{i+1} = G_i(x_i) + S_i(x_i)$ with $S_i$ the identity
#   when shapes agree and a linear projection otherwise, branch $G_i$ containing one or more of
#   the plain layers, no ReLU after the addition (or: ReLU after the addition, handled
#   explicitly). Widths stated.
# - **2 pts** a correct construction. The cleanest, with one block per plain layer and a
#   branch of one hidden ReLU layer followed by a linear map, $G(x) = A\,\sigma(Bx + c)$:
#   since $\sigma(u) - \sigma(-u) = u$, take $B = \begin{pmatrix} W \\ I \\ -I\end{pmatrix}$,
#   $c = \begin{pmatrix} b \\ 0 \\ 0\end{pmatrix}$, $A = (I_{*}, -I, I)$, so that
#   $G(h) = \sigma(Wh + b) - h$ and $h + G(h) = \sigma(Wh + b)$: the block reproduces the plain
#   layer exactly (branch width $n_{k+1} + 2n_k$; where $n_{k+1} \ne n_k$ pad with zero
#   channels or use a projection shortcut and subtract it instead). After a ReLU the input is
#   non-negative, so the $-I$ half can be dropped ($h = \sigma(h)$), and a ReLU after the
#   addition changes nothing because $\sigma(Wh+b) \ge 0$. The last (linear) layer is handled
#   the same way without the outer $\sigma$. Also full marks: a learnable projection shortcut
#   set to zero, which turns each block into its branch (state that option B/C shortcuts may
#   be zero, and count layers so the depth matches).
#   Full marks need the identity $x_{i+1} = \sigma(W_i x_i + b_i)$ checked for every block,
#   the ReLU after the addition handled, and the depth/width bookkeeping stated. 1 pt for the
#   right idea with a missing assumption (e.g. ignoring signs of the first layer's input).
# - **1 pt** why it does not explain better training: representability is about *which*
#   functions exist, not whether gradient descent *finds* them; plain and residual nets of the
#   same depth represent the same class (the converse also holds with extra width), so the
#   difference is in optimisation: the identity is easy to represent (zero branch), the
#   parametrisation starts near it, gradients and conditioning differ (degradation is an
#   optimisation effect, seen in *training* error).
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_representation", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_curvature", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": true}
# ## Part 3: skip connections and the curvature of the loss (4 points)
#
# Consider the simplest deep network there is: $D$ scalar layers without nonlinearities, a
# scalar input $x = 1$ and the target $t = 1$, with the loss $\ell = \tfrac12 (f - 1)^2$.
#
# - plain: $f(w_1, \dots, w_D) = w_D \cdots w_2 w_1$;
# - residual: $f(v_1, \dots, v_D) = (1 + v_D) \cdots (1 + v_2)(1 + v_1)$, i.e. each layer is
#   $h \mapsto h + v_i h$.
#
# 1. Both networks compute the same functions ($w_i = 1 + v_i$). What is the usual
#    initialisation point of each (weights near 0), and what are the gradient and the Hessian
#    of $\ell$ there? Work it out for general $D$ or for $D = 2$ and then say what changes
#    with $D$.
# 2. Describe the Hessian at a solution ($f = 1$) for $D = 2$ (e.g. $w_1 = w_2 = 1$): its
#    eigenvalues, and what its condition number means for gradient descent.
# 3. In a few sentences: what does this example suggest about how skip connections change the
#    curvature that an optimiser meets early in training, and what does it *not* show for
#    real networks?
#
# ### BEGIN MARK SCHEME
# **Mark scheme (4 points).** Qualitative answers are fine if the example is worked correctly.
#
# - **1 pt** plain at $w = 0$: $f = 0$, every partial derivative of $f$ is a product of $D-1$
#   zeros for $D \ge 2$, so the gradient is 0 and $w = 0$ is a saddle / flat region; for $D = 2$
#   the Hessian is $\begin{pmatrix}0 & -1\\ -1 & 0\end{pmatrix}$ (eigenvalues $\pm 1$, a
#   saddle), and for $D \ge 3$ the Hessian is 0 too: a higher-order flat saddle whose
#   flatness grows with depth (escaping it takes longer as $D$ grows).
# - **1 pt** residual at $v = 0$: $f = 1$, already the solution here ($\ell = 0$, gradient 0),
#   Hessian $= \nabla f \nabla f^\top$ with $\partial f/\partial v_i = 1$: the all-ones matrix,
#   eigenvalues $D$ (direction $(1, \dots, 1)$) and 0; more generally, near the identity the
#   gradient is $\ell'(f)\cdot(1, \dots, 1)$, non-zero and of order 1 whatever $D$ is: the
#   identity initialisation is not a saddle. Accept a generic target $t \ne 1$ showing a
#   non-zero gradient of size $|1 - t|$ per layer.
# - **1 pt** at a solution, $D = 2$: the Hessian is $\nabla f\,\nabla f^\top$ with
#   $\nabla f = (w_2, w_1)$, eigenvalues $w_1^2 + w_2^2$ and $0$: zero along the valley of
#   solutions $w_1 w_2 = 1$, positive across it. At $w_1 = w_2 = 1$ that is $\{2, 0\}$; at
#   an unbalanced solution ($w_1 = 10$, $w_2 = 0.1$) it is about $\{100, 0\}$, so gradient
#   descent needs a step below $2/100$ there: the sharper the largest eigenvalue relative to
#   the others, the slower the progress in the flat directions (poor conditioning).
#   Credit also for noticing that $w = 1 + v$ is a translation, so both networks have the
#   *same* Hessian at corresponding points: the shortcut changes where training starts
#   (at $w = 1$ rather than $w = 0$), not the landscape of this toy.
# - **1 pt** conclusion: skip connections put the initialisation near the identity, where the
#   gradient is of order 1 and curvature does not depend on products of many small weights,
#   avoiding the flat, depth-dependent saddle at zero; caution: a linear 1-D toy, not a proof
#   for nonlinear networks with BatchNorm; empirical support only (e.g. Li et al. 2018's
#   smoother loss surfaces, Orhan & Pitkow 2017 on eliminated singularities).
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_curvature", "locked": false, "points": 4, "schema_version": 3, "solution": true}
# YOUR ANSWER HERE

# %% [markdown]
# ## Part 4: counting paths (6 points)
#
# Unrolling $n$ residual blocks, as in Part 1, writes the network as a sum over **paths**: at
# every block a path either goes through the residual branch or takes the shortcut.
#
# **Your task.** Write two functions, each returning an `int`:
#
# - `count_paths(n)`: how many distinct paths lead through `n` blocks (`n >= 0`);
# - `paths_of_length(n, k)`: how many of them pass through exactly `k` residual branches
#   (0 when `k` is negative or larger than `n`).
#
# Do not call `resnet_ref.analysis`: the grader compares your numbers with it.

# %% nbgrader={"grade": false, "grade_id": "count_paths", "locked": false, "schema_version": 3, "solution": true}
def count_paths(n):
    """The number of paths through n residual blocks."""
    ### BEGIN SOLUTION
    return 2**n
    ### END SOLUTION


def paths_of_length(n, k):
    """How many of those paths go through exactly k residual branches."""
    ### BEGIN SOLUTION
    if k < 0 or k > n:
        return 0
    return math.comb(n, k)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_count_paths", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] count_paths(n) agrees with resnet_ref.analysis.count_paths.
DOUBLING = " — each block doubles the paths (branch or shortcut), so the count is a power of 2"
for n in [0, 1, 3]:
    expect(check_value(count_paths, resnet_ref.analysis.count_paths, n, hint=DOUBLING))
print("count_paths: ok")
### BEGIN HIDDEN TESTS
for n in [2, 5, 18, 54]:
    expect(check_value(count_paths, resnet_ref.analysis.count_paths, n, hint=DOUBLING))
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_paths_of_length", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# [2 points] paths_of_length(n, k) agrees with resnet_ref.analysis.paths_by_length(n)[k].
CHOOSE = " — count the ways to choose which k of the n blocks the path goes through"
for n, k in [(3, 0), (3, 1), (3, 2), (4, 2)]:
    expect(check_value(paths_of_length, references.paths_of_length, n, k, hint=CHOOSE))
print("paths_of_length: ok")
### BEGIN HIDDEN TESTS
for n in [1, 6, 27]:
    for k in range(n + 1):
        expect(check_value(paths_of_length, references.paths_of_length, n, k, hint=CHOOSE))
# No path has more branches than blocks, or fewer than none; the empty network has one path.
for n, k in [(3, 4), (5, -1), (0, 1), (0, 0)]:
    expect(check_value(paths_of_length, references.paths_of_length, n, k))
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "explore_paths", "locked": true, "schema_version": 3, "solution": false}
# How long are the paths of a 54-block network (ResNet-110 has 54 blocks)? Run this after
# writing your functions.
n = 54
counts = [paths_of_length(n, k) for k in range(n + 1)]
mean = sum(k * c for k, c in enumerate(counts)) / count_paths(n)
within = sum(counts[k] for k in range(19, 36)) / count_paths(n)
print(f"{count_paths(n):.3g} paths; mean length {mean:.1f} branches; "
      f"{within:.1%} of them pass through 19 to 35 branches")

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_paths", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": true}
# ### Question (2 points)
#
# A common explanation, after Veit et al. (2016), calls a residual network "an ensemble of $2^n$
# paths". Using your counts: what is the typical length of a path through $n$ blocks, and how
# concentrated is the distribution? The same paper found that the gradient in a trained
# ResNet-110 comes mostly from paths of 5 to 17 branches. Why is that not a contradiction, and
# what does it suggest about how "deep" a residual network effectively is?
#
# ### BEGIN MARK SCHEME
# **Mark scheme (2 points).**
#
# - **1 pt** lengths are Binomial$(n, 1/2)$: mean $n/2$, standard deviation $\sqrt{n}/2$; for
#   $n = 54$, mean 27, about 3.7, so 99.6 % of paths have 17–37 branches
#   (and 98.0 % have 19–35, the range Veit et al. name). Most paths are of medium length, very
#   few are short or long.
# - **1 pt** not a contradiction: counting paths is not weighting them; each branch a path goes
#   through multiplies its gradient contribution by a Jacobian that (in a trained net) tends
#   to shrink it, so long paths contribute little even though they are numerous, and the
#   few short paths are individually strong; so the network behaves like an ensemble of
#   relatively shallow networks (effective depth much less than 110), which also explains
#   why deleting one block (lesion) hurts little.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_paths", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": false, "grade_id": "task_socratic", "locked": true, "points": 0, "schema_version": 3, "solution": false, "task": true}
# ## Part 5: open questions (6 points)
#
# Answer each in a short paragraph (about 100 words), with an argument or evidence rather than
# a slogan. There is more than one good answer.
#
# - **(a)** Why do residual connections address the degradation problem but not overfitting?
# - **(b)** What is the relationship between residual networks and ensembles, and where does
#   the analogy break down?
# - **(c)** Skip connections can add (ResNet) or concatenate (DenseNet). What are the
#   trade-offs between the two?
#
# ### BEGIN MARK SCHEME
# **Mark scheme (2 points each).** 2 = correct, argued, specific; 1 = right idea, vague or
# with an error; 0 = missing or wrong.
#
# - **(a)** Degradation is higher *training* error for deeper plain nets: an optimisation
#   problem. Shortcuts make the identity the default (zero branch) and ease gradient flow, so
#   deeper nets are at least as easy to fit. Overfitting is a gap between training and test
#   error; shortcuts add no regularisation (capacity is unchanged or larger), so it needs data,
#   augmentation, weight decay, dropout, early stopping. Evidence: ResNet-1202 on CIFAR-10
#   fits the training set but tests worse than ResNet-110 (He et al. 2016).
# - **(b)** Unrolled, a ResNet is a sum over $2^n$ paths of different lengths (Veit et al.);
#   lesioning one block degrades performance smoothly, like removing members of an ensemble,
#   unlike a plain net. Breaks down: the paths share weights and are trained jointly, not
#   independently; they are not combined by averaging separate models; nonlinearities couple
#   them (the expansion is exact only for linear blocks); the paths are not diverse in the
#   usual ensemble sense.
# - **(c)** Addition: fixed width, no extra parameters or memory, clean identity gradient path,
#   but the input and the branch's output are mixed so earlier features can be overwritten;
#   concatenation (DenseNet): keeps every earlier feature map intact and reusable, with high
#   parameter efficiency, but channels grow linearly with depth (memory and compute of the
#   concatenations, need for transition / 1×1 bottleneck layers); gradients also reach
#   earlier layers directly. Any two well-argued trade-offs earn full marks.
# ### END MARK SCHEME

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_socratic_a", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# **(a)** YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_socratic_b", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# **(b)** YOUR ANSWER HERE

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_socratic_c", "locked": false, "points": 2, "schema_version": 3, "solution": true}
# **(c)** YOUR ANSWER HERE
