"""Slips a learner makes that no submission file shows, and what the visible checks answer.

``tests/submissions/`` holds whole hand-ins, each a mistake about residual networks; the slips
here are smaller, mostly Python and PyTorch habits: a forgotten ``return``, a float where an int
is due, a softmax at the end of a classifier, a ``.half()``, a typo that stops the forward pass
halfway, evaluation mode where the task asks for training mode. For each, the instructor's
solution cell is changed by one edit, the learners' notebook (``exercises/``: visible checks
only) runs in this process as a learner runs it, cell by cell up to the test cell that meets the
slip, and that cell's one-line message must name the slip, and must not blame a mistake the
learner did not make.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from grading_support import EXERCISES, SOLUTIONS, read_cells

from resnet_ref.grading.messages import likely_mistake


@dataclass(frozen=True)
class Slip:
    assignment: str
    notebook: str
    cell: str  # the solution cell that the slip changes
    old: str  # a line of the instructor's solution ...
    new: str  # ... as the learner wrote it
    test_cell: str  # the test cell that meets the slip
    says: str  # what its message must say ("": it must name no likely mistake at all)


SLIPS = {
    # The typo stops the forward pass before the projection runs: the error is what to fix,
    # not a projection that is there.
    "typo before the projection": Slip(
        "a2_blocks",
        "blocks",
        "basic_block",
        "out = self.bn2(self.conv2(out))",
        "out = self.bn2(self.conv2(out)) * scale",
        "basic_forward_projection",
        "",
    ),
    "half precision": Slip(
        "a2_blocks",
        "blocks",
        "basic_block",
        "return F.relu(out + self.shortcut(x))",
        "return F.relu(out + self.shortcut(x)).half()",
        "basic_forward_identity",
        "the output is float16 where the reference's is float32",
    ),
    "softmax after the classifier": Slip(
        "a3_resnets",
        "resnets",
        "resnet",
        "return self.fc(torch.flatten(self.pool(x), 1))",
        "return torch.softmax(self.fc(torch.flatten(self.pool(x), 1)), dim=1)",
        "resnet_forward_basic",
        "a softmax after the linear layer",
    ),
    "max pooling before the classifier": Slip(
        "a3_resnets",
        "resnets",
        "resnet",
        "return self.fc(torch.flatten(self.pool(x), 1))",
        "return self.fc(x.amax(dim=(2, 3)))",
        "resnet_forward_basic",
        "the features are max-pooled before the linear layer",
    ),
    "evaluation mode for the gradient norms": Slip(
        "a4_gradient_flow",
        "gradient_flow",
        "block_gradient_norms",
        "    model.train()\n",
        "    model.eval()\n",
        "gradient_values",
        "the model was in evaluation mode",
    ),
    "a loss summed over the batch": Slip(
        "a4_gradient_flow",
        "gradient_flow",
        "block_gradient_norms",
        "loss = F.cross_entropy(model(x), y)",
        'loss = F.cross_entropy(model(x), y, reduction="sum")',
        "gradient_values",
        "the loss is summed over the batch",
    ),
    "the channel weights returned instead of the scaled input": Slip(
        "a5_variants",
        "variants",
        "squeeze_excitation",
        "return x * s[:, :, None, None]",
        "return s[:, :, None, None]",
        "se_shape",
        "the output was pooled to 1x1",
    ),
    "channel weights that do not broadcast": Slip(
        "a5_variants",
        "variants",
        "squeeze_excitation",
        "return x * s[:, :, None, None]",
        "return x * s",
        "se_shape",
        "the channel weights must be shaped [N, C, 1, 1]",
    ),
    "subsampling from the second pixel": Slip(
        "a1_shortcuts",
        "shortcuts",
        "zero_pad_shortcut",
        "kept = x[:, :, :: self.stride, :: self.stride]",
        "kept = x[:, :, 1 :: self.stride, 1 :: self.stride]",
        "zero_pad_values",
        "(every 2nd pixel, starting at 0)",
    ),
    "forgotten return": Slip(
        "a1_shortcuts",
        "shortcuts",
        "conv_output_size",
        "return (n + 2 * padding - kernel) // stride + 1",
        "size = (n + 2 * padding - kernel) // stride + 1",
        "output_size",
        "it returns nothing: is the return statement missing?",
    ),
    "a float for a count": Slip(
        "a6_theory",
        "theory",
        "count_paths",
        "return 2**n",
        "return math.pow(2, n)",
        "test_count_paths",
        "a float is no int, even a whole one",
    ),
}


def visible_message(slip: Slip) -> str:
    """Run the learners' notebook with the slip, up to its test cell; that cell's error."""
    answers = {
        c.grade_id: c.source
        for c in read_cells(SOLUTIONS / slip.assignment / f"{slip.notebook}.ipynb")
        if c.solution
    }
    assert slip.old in answers[slip.cell], f"{slip.cell} no longer has the line {slip.old!r}"
    answers[slip.cell] = answers[slip.cell].replace(slip.old, slip.new)
    namespace: dict = {"__name__": "__main__"}
    for cell in read_cells(EXERCISES / slip.assignment / f"{slip.notebook}.ipynb"):
        if cell.cell_type != "code":
            continue
        source = answers[cell.grade_id] if cell.solution else cell.source
        try:
            exec(compile(source, f"<cell {cell.grade_id}>", "exec"), namespace)
        except AssertionError as error:
            if cell.grade_id == slip.test_cell:
                return str(error)
            if not cell.graded:
                raise
            continue  # an earlier test cell meets the slip too; the learner reads on
        if cell.grade_id == slip.test_cell:
            return ""
    raise AssertionError(f"{slip.assignment}/{slip.notebook} has no test cell {slip.test_cell}")


@pytest.mark.parametrize("name", SLIPS)
def test_the_visible_check_names_the_slip(name):
    slip = SLIPS[name]
    message = visible_message(slip)
    assert message, f"{slip.test_cell} passes with the slip: {slip.new!r}"
    if slip.says:
        assert slip.says in message, message
    else:
        assert likely_mistake(message) == "", message
