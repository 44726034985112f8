"""Checks that compare a learner's module with the reference, by behaviour.

The test cells of the graded exercises call these functions. Each returns a :class:`Result`:
``passed`` and one line of ``message`` that says what was expected, what came out and the
likely mistake; :func:`expect` turns a failed result into an ``AssertionError`` with that line.

The comparison does not care what a learner called the attributes or how the code is arranged.
It runs both modules once on a probe input and records the ``Conv2d``, ``BatchNorm2d`` and
``Linear`` layers in the order they *run* (:func:`trace_layers`), pairs the learner's layers
with the reference's (:func:`match_layers`), copies the reference's weights and buffers into
the learner's layers (:func:`transplant`) and then compares outputs and input gradients on
fresh random inputs, in train and in eval mode.

Layers are paired in run order, with one relaxation: a layer that in the reference takes its
input straight from another layer (a BatchNorm after its convolution, say) is paired with the
learner's layer that does the same. So computing the shortcut before the residual branch, or
after it, pairs the same layers.

Two rules keep a correct solution from losing points to noise: a check writes nothing to
stderr or stdout (warnings and prints inside it are swallowed, because nbgrader scores a test
cell that writes to stderr as zero), and a check never trusts an object's own ``__eq__``:
outputs must be real ``torch.Tensor`` objects and counts real ``int`` values, compared with
torch and Python arithmetic.

To diagnose a wrong output, each reference class may list known mistakes in
:data:`~resnet_ref.grading.mistakes.MISTAKES`: functions that compute the reference's output
*with* that mistake. When the learner's output equals one of them, the message names the
mistake.

The package has these parts; at run time each imports only parts listed before it:

- ``messages``: what a learner reads. :class:`Result` and :func:`expect`, the descriptions of a
  call, a layer and an error (:func:`describe_call`, :func:`describe_layer`, :func:`ordinal`),
  and the hints that name the likely mistake behind a misplaced layer, a wrong output shape or
  a wrong parameter count.
- ``tracing``: building and running the modules. Building the learner's module (a ready-made
  block from ``resnet_ref`` or ``torchvision`` is refused), probe inputs
  (:func:`fresh_generator`), recording the layers in run order (:func:`trace_layers`), pairing
  them with the reference's (:func:`match_layers`) and copying the reference's weights into
  them (:func:`transplant`, after :func:`randomise`).
- ``mistakes``: ``TOLERANCE``, within which two outputs agree; the catalogue of known
  mistakes (:data:`~resnet_ref.grading.mistakes.MISTAKES`) and how a wrong output is matched
  to one of them.
- ``learner``: what a check may do with the learner's code (:class:`LearnerModule`: build,
  trace, load weights, run, count), in plain data, so that the check can run elsewhere.
- ``referee``: the trusted-side protocol. While grading, a refereed check is not run in the
  learner's kernel: it goes over a Unix socket to the grader's process, which runs it there and
  asks the kernel only for what needs the learner's code (see ``autograder/referee.py``).
- ``checks``: the checks the test cells call (:func:`check_forward` and the other
  ``check_*`` functions), and :func:`quiet`, which keeps them from writing to stderr.
- ``shortcut_checks``: assignment 1's checks of plain values (an output size, a shape, the
  kind of a shortcut, zero padding's values).
- ``references``: references for exercises whose functions take other arguments than
  ``resnet_ref``'s constructors, so that the referee can run them by name.
- ``unfinished``: :func:`show_unfinished_in_one_line`, which the setup cells call so that a
  cell calling an unfinished exercise stops with one line, as a test cell does, not a traceback.

Every public name is importable from ``resnet_ref.grading`` itself, as the notebooks do.
"""

from .checks import (
    check_attribute,
    check_count_function,
    check_depth_comparison,
    check_forward,
    check_forward_dense,
    check_gradient_norms,
    check_identity,
    check_input_gradient,
    check_input_unchanged,
    check_leaves_model_unchanged,
    check_parameter_count,
    check_preact_identity,
    check_raises,
    check_shape,
    check_value,
    quiet,
)
from .learner import LearnerCode, LearnerModule
from .messages import Result, describe_call, describe_layer, expect, ordinal
from .mistakes import MISTAKES, RESNET_MISTAKES, TOLERANCE
from .shortcut_checks import (
    check_block_shape,
    check_output_size,
    check_shortcut_kind,
    check_zero_pad_values,
)
from .tracing import (
    LAYER_TYPES,
    LayerCall,
    NotATensorError,
    fresh_generator,
    layer_signature,
    match_layers,
    randomise,
    trace_layers,
    transplant,
)
from .unfinished import show_unfinished_in_one_line

__all__ = [
    "LAYER_TYPES",
    "LearnerCode",
    "LearnerModule",
    "MISTAKES",
    "RESNET_MISTAKES",
    "TOLERANCE",
    "LayerCall",
    "NotATensorError",
    "Result",
    "check_attribute",
    "check_block_shape",
    "check_count_function",
    "check_depth_comparison",
    "check_forward",
    "check_forward_dense",
    "check_gradient_norms",
    "check_identity",
    "check_input_gradient",
    "check_input_unchanged",
    "check_leaves_model_unchanged",
    "check_output_size",
    "check_parameter_count",
    "check_preact_identity",
    "check_raises",
    "check_shape",
    "check_shortcut_kind",
    "check_value",
    "check_zero_pad_values",
    "describe_call",
    "describe_layer",
    "expect",
    "fresh_generator",
    "layer_signature",
    "match_layers",
    "ordinal",
    "quiet",
    "randomise",
    "show_unfinished_in_one_line",
    "trace_layers",
    "transplant",
]
