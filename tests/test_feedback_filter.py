"""Unit tests of autograder/feedback.py: what of a graded notebook its feedback may show."""

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.feedback import (
    HIDDEN,
    HIDDEN_NOTE,
    MARK_SCHEME,
    MIN_QUOTED,
    QUOTED_NOTE,
    WRAP_OUTPUTS,
    FeedbackCSS,
    HideInstructorText,
    cut,
    regions,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))


def cleaned(*cells):
    nb = new_notebook(cells=list(cells))
    out, resources = HideInstructorText().preprocess(nb, {})
    assert out is nb
    assert resources == {}
    return nb


def lines(source):
    return source.splitlines()


def rule():
    return "\x1b[31m" + "-" * 75 + "\x1b[39m"


def header(ename):
    return (
        f"\x1b[31m{ename}\x1b[39m" + " " * (42 - len(ename)) + "Traceback (most recent call last)"
    )


def quoted_note_output():
    return {"output_type": "stream", "name": "stdout", "text": QUOTED_NOTE + "\n"}


# A test cell of a2 as the grader runs it: visible tests, then the hidden ones.
PARAMS_CELL = """\
# [1 point] BasicBlock: exactly as many parameters as the reference.
expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, 64, 64, stride=1))
expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2))
print("BasicBlock parameter counts: ok")
### BEGIN HIDDEN TESTS
for c_in, c_out, stride in [(16, 16, 1), (32, 32, 2), (16, 48, 1), (128, 256, 2)]:
    expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, c_in, c_out, stride=stride))
### END HIDDEN TESTS
"""
PARAMS_HIDDEN = [
    "for c_in, c_out, stride in [(16, 16, 1), (32, 32, 2), (16, 48, 1), (128, 256, 2)]:",
    "    expect(check_parameter_count(BasicBlock, resnet_ref.BasicBlock, c_in, c_out,"
    " stride=stride))",
]

# The a2 projection-shortcut test cell, and the error IPython 9 reported when a learner's block
# failed its first (visible) check: the traceback quotes the first hidden line, highlighted.
PROJECTION_CELL = """\
# [2 points] BasicBlock with a projection shortcut: same outputs as the reference, train and eval.
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 64, 128, stride=2))
print("BasicBlock forward pass (projection shortcut): ok")
### BEGIN HIDDEN TESTS
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 32, 32, stride=2))
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 16, 32, stride=1))
expect(check_forward(BasicBlock, resnet_ref.BasicBlock, 24, 48, stride=2, input_shape=(2, 24, \
7, 9)))
### END HIDDEN TESTS
"""
PROJECTION_MESSAGE = (
    "BasicBlock(64, 128, stride=2), train mode: expected the reference's output, got one that"
    " differs by 0.41 (relative) — likely mistake: the shortcut is added after the final ReLU"
)
PROJECTION_TRACEBACK = [
    rule(),
    header("AssertionError"),
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 2\x1b[39m\n"
    "\x1b[32m      1\x1b[39m \x1b[38;5;66;03m# [2 points] BasicBlock with a projection shortcut:"
    " same outputs as the reference, train and eval.\x1b[39;00m\n"
    "\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m expect(check_forward(BasicBlock,"
    " resnet_ref.BasicBlock, \x1b[32m64\x1b[39m, \x1b[32m128\x1b[39m, stride=\x1b[32m2\x1b[39m))\n"
    '\x1b[32m      3\x1b[39m print(\x1b[33m"BasicBlock forward pass (projection shortcut):'
    ' ok"\x1b[39m)\n'
    "\x1b[32m      4\x1b[39m \x1b[38;5;66;03m### BEGIN HIDDEN TESTS\x1b[39;00m\n"
    "\x1b[32m      5\x1b[39m expect(check_forward(BasicBlock, resnet_ref.BasicBlock,"
    " \x1b[32m32\x1b[39m, \x1b[32m32\x1b[39m, stride=\x1b[32m2\x1b[39m))\n",
    "\x1b[36mFile \x1b[39m\x1b[32m/work/main/resnet_ref/grading.py:73\x1b[39m, in"
    " \x1b[36mexpect\x1b[39m\x1b[34m(result)\x1b[39m\n"
    "\x1b[32m     71\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m"
    ' \x1b[38;5;167;01mTypeError\x1b[39;00m(\x1b[33mf\x1b[39m\x1b[33m"\x1b[39m\x1b[33mexpect()'
    " takes the Result of a check, got \x1b[39m\x1b[38;5;132;01m{\x1b[39;00m\x1b[38;5;28mtype"
    '\x1b[39m(result).\x1b[34m__name__\x1b[39m\x1b[38;5;132;01m}\x1b[39;00m\x1b[33m"\x1b[39m)\n'
    "\x1b[32m     72\x1b[39m \x1b[38;5;28;01mif\x1b[39;00m result.passed \x1b[38;5;129;01mis"
    "\x1b[39;00m \x1b[38;5;129;01mnot\x1b[39;00m \x1b[38;5;28;01mTrue\x1b[39;00m:\n"
    "\x1b[32m---> \x1b[39m\x1b[32m73\x1b[39m     \x1b[38;5;28;01mraise\x1b[39;00m"
    " \x1b[38;5;167;01mAssertionError\x1b[39;00m(result.message)\n",
    f"\x1b[31mAssertionError\x1b[39m: {PROJECTION_MESSAGE}",
]

# The a6 paths_of_length test cell, and the error IPython 9 reported when a learner's function
# failed a hidden check: three hidden lines appear in it without any highlighting.
PATHS_CELL = "\n".join(
    [
        "# [2 points] paths_of_length(n, k) agrees with resnet_ref.analysis.paths_by_length(n)[k].",
        "for n, k in [(3, 0), (3, 1), (3, 2), (4, 2)]:",
        "    got, expected = paths_of_length(n, k), resnet_ref.analysis.paths_by_length(n)[k]",
        '    assert type(got) is int, f"paths_of_length({n}, {k}) should return an int, got'
        ' {type(got).__name__}"',
        "    assert got == expected, (",
        '        f"paths_of_length({n}, {k}): expected {expected}, got {got} — choose which k of'
        ' the "',
        '        f"{n} blocks the path goes through"',
        "    )",
        'print("paths_of_length: ok")',
        "### BEGIN HIDDEN TESTS",
        "for n in [1, 6, 27]:",
        "    counts = resnet_ref.analysis.paths_by_length(n)",
        "    for k in range(n + 1):",
        "        got = paths_of_length(n, k)",
        '        assert type(got) is int, f"paths_of_length({n}, {k}) should return an int, got'
        ' {type(got).__name__}"',
        '        assert got == counts[k], f"paths_of_length({n}, {k}): expected {counts[k]}, got'
        ' {got}"',
        "for n, k in [(3, 4), (5, -1), (0, 1)]:",
        "    got = paths_of_length(n, k)",
        '    assert got == 0, f"paths_of_length({n}, {k}): no path has that many branches,'
        ' expected 0, got {got}"',
        'assert paths_of_length(0, 0) == 1, f"paths_of_length(0, 0): the empty path, expected 1,'
        ' got {paths_of_length(0, 0)}"',
        "### END HIDDEN TESTS",
    ]
)
PATHS_MESSAGE = "paths_of_length(6, 0): expected 1, got 0"
PATHS_TRACEBACK = [
    rule(),
    header("AssertionError"),
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[2]\x1b[39m\x1b[32m, line 16\x1b[39m\n"
    "\x1b[32m     12\x1b[39m     counts = resnet_ref.analysis.paths_by_length(n)\n"
    "\x1b[32m     13\x1b[39m     \x1b[38;5;28;01mfor\x1b[39;00m k \x1b[38;5;28;01min\x1b[39;00m"
    " range(n + \x1b[32m1\x1b[39m):\n"
    "\x1b[32m     14\x1b[39m         got = paths_of_length(n, k)\n"
    "\x1b[32m     15\x1b[39m         \x1b[38;5;28;01massert\x1b[39;00m type(got)"
    ' \x1b[38;5;28;01mis\x1b[39;00m int, \x1b[33mf"paths_of_length({n}, {k}) should return an'
    ' int, got {type(got).__name__}"\x1b[39m\n'
    "\x1b[32m---> \x1b[39m\x1b[32m16\x1b[39m         \x1b[38;5;28;01massert\x1b[39;00m got =="
    ' counts[k], \x1b[33mf"paths_of_length({n}, {k}): expected {counts[k]}, got {got}"\x1b[39m\n'
    "\x1b[32m     17\x1b[39m \x1b[38;5;28;01mfor\x1b[39;00m n, k \x1b[38;5;28;01min\x1b[39;00m"
    " [(\x1b[32m3\x1b[39m, \x1b[32m4\x1b[39m), (\x1b[32m5\x1b[39m, -\x1b[32m1\x1b[39m),"
    " (\x1b[32m0\x1b[39m, \x1b[32m1\x1b[39m)]:\n"
    "\x1b[32m     18\x1b[39m     got = paths_of_length(n, k)\n"
    "\x1b[32m     19\x1b[39m     \x1b[38;5;28;01massert\x1b[39;00m got == \x1b[32m0\x1b[39m,"
    ' \x1b[33mf"paths_of_length({n}, {k}): no path has that many branches, expected 0, got'
    ' {got}"\x1b[39m\n',
    f"\x1b[31mAssertionError\x1b[39m: {PATHS_MESSAGE}",
]

# A written-answer task cell of a6, with its mark scheme in the middle.
TASK_QUESTION = """\
## Part 2: shortcuts cost no expressive power (4 points)

Prove: every function computed by a plain network of depth $D$ (layers
$h_{k+1} = \\sigma(W_k h_k + b_k)$, ReLU $\\sigma$) is also computed by a residual network with
the same number of layers.
"""
TASK_SCHEME = """\
### BEGIN MARK SCHEME
**Mark scheme (4 points).**

- **1 pt** a precise model: e.g. blocks $x_{i+1} = G_i(x_i) + S_i(x_i)$ with $S_i$ the identity
  when shapes agree and a linear projection otherwise.
- **2 pts** a correct construction: since $\\sigma(u) - \\sigma(-u) = u$, take $B$ stacking
  $W$, $I$ and $-I$.
- **1 pt** why it does not explain better training: representability is not optimisation.
### END MARK SCHEME
"""
TASK_AFTER = "*Hint.* Two routes work: make each block's branch cancel its shortcut."


# --- the helpers ------------------------------------------------------------------------------


def test_regions_gives_the_lines_of_every_region_without_the_markers():
    source = "a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n  c = 3\n### END HIDDEN TESTS\nd = 4\n"
    source += "    ### BEGIN HIDDEN TESTS\n    e = 5\n    ### END HIDDEN TESTS\n"
    assert regions(source, HIDDEN) == ["b = 2", "  c = 3", "    e = 5"]
    assert regions(source, MARK_SCHEME) == []


def test_cut_without_note_drops_the_region_and_its_markers():
    source = "question\n### BEGIN MARK SCHEME\n1 pt: this\n### END MARK SCHEME\nafter\n"
    assert cut(source, MARK_SCHEME) == "question\nafter"


def test_cut_with_note_puts_the_note_at_the_indentation_of_the_begin_marker():
    source = "x = 1\n    ### BEGIN HIDDEN TESTS\n    y = 2\n    ### END HIDDEN TESTS\nz = 3"
    assert lines(cut(source, HIDDEN, "# note")) == ["x = 1", "    # note", "z = 3"]


# --- hidden tests in test cells ---------------------------------------------------------------


def test_visible_tests_are_kept_and_hidden_tests_replaced_by_the_note():
    ok = new_output("stream", name="stdout", text="BasicBlock parameter counts: ok\n")
    nb = cleaned(new_code_cell(PARAMS_CELL, outputs=[ok]))
    cell = nb.cells[0]
    assert lines(cell.source) == lines(PARAMS_CELL)[:4] + [HIDDEN_NOTE]
    for hidden in PARAMS_HIDDEN:
        assert hidden.strip() not in cell.source
    assert "HIDDEN TESTS" not in cell.source
    assert cell.outputs == [ok]


def test_every_hidden_region_of_a_cell_gets_its_own_note_at_its_indentation():
    source = """\
for seed in range(3):
    torch.manual_seed(seed)
    ### BEGIN HIDDEN TESTS
    expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 16, 32, stride=2))
    ### END HIDDEN TESTS
    expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 64, 64, stride=1))
### BEGIN HIDDEN TESTS
expect(check_input_gradient(PreActBlock, resnet_ref.PreActBlock, 8, 8, stride=1))
### END HIDDEN TESTS
print("PreActBlock: ok")
"""
    cell = cleaned(new_code_cell(source)).cells[0]
    assert lines(cell.source) == [
        "for seed in range(3):",
        "    torch.manual_seed(seed)",
        "    " + HIDDEN_NOTE,
        "    expect(check_forward(PreActBlock, resnet_ref.PreActBlock, 64, 64, stride=1))",
        HIDDEN_NOTE,
        'print("PreActBlock: ok")',
    ]


def test_traceback_quoting_hidden_code_is_cut_to_its_one_line_message():
    error = new_output(
        "error", ename="AssertionError", evalue=PROJECTION_MESSAGE, traceback=PROJECTION_TRACEBACK
    )
    cell = cleaned(new_code_cell(PROJECTION_CELL, outputs=[error])).cells[0]
    [output] = cell.outputs
    assert output["output_type"] == "error"
    assert output["ename"] == "AssertionError"
    assert output["evalue"] == PROJECTION_MESSAGE
    [line] = output["traceback"]
    plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
    assert plain == f"AssertionError: {PROJECTION_MESSAGE}"
    assert "— likely mistake: the shortcut is added after the final ReLU" in plain
    assert "HIDDEN TESTS" not in plain and "32, 32" not in plain


def test_traceback_quoting_plain_hidden_lines_still_keeps_the_one_line_message():
    ok = new_output("stream", name="stdout", text="paths_of_length: ok\n")
    error = new_output(
        "error", ename="AssertionError", evalue=PATHS_MESSAGE, traceback=PATHS_TRACEBACK
    )
    cell = cleaned(new_code_cell(PATHS_CELL, outputs=[ok, error])).cells[0]
    assert cell.outputs[0] == ok
    assert cell.outputs[1]["output_type"] == "error"
    [line] = cell.outputs[1]["traceback"]
    assert re.sub(r"\x1b\[[0-9;]*m", "", line) == f"AssertionError: {PATHS_MESSAGE}"


def test_error_of_a_cell_without_hidden_tests_keeps_its_traceback():
    source = "block = BasicBlock(64, 128, stride=2)\nprint(block(torch.randn(2, 64, 8, 8)).shape)\n"
    traceback = [
        rule(),
        header("RuntimeError"),
        "\x1b[32m----> \x1b[39m\x1b[32m2\x1b[39m print(block(torch.randn(\x1b[32m2\x1b[39m,"
        " ...)))\n",
        "\x1b[31mRuntimeError\x1b[39m: The size of tensor a (4) must match the size of tensor b"
        " (8)",
    ]
    error = new_output(
        "error",
        ename="RuntimeError",
        evalue="The size of tensor a (4) must match the size of tensor b (8)",
        traceback=traceback,
    )
    nb = cleaned(new_code_cell(PARAMS_CELL), new_code_cell(source, outputs=[error]))
    assert nb.cells[1].outputs[0]["traceback"] == traceback


# --- mark schemes -----------------------------------------------------------------------------


def test_mark_scheme_leaves_a_markdown_task_cell_and_its_question_stays():
    source = TASK_QUESTION + "\n" + TASK_SCHEME + "\n" + TASK_AFTER
    cell = cleaned(new_markdown_cell(source)).cells[0]
    assert lines(cell.source) == lines(TASK_QUESTION) + ["", "", TASK_AFTER]
    assert "MARK SCHEME" not in cell.source
    assert "Mark scheme" not in cell.source
    assert "1 pt" not in cell.source and "representability" not in cell.source


def test_mark_scheme_leaves_a_code_cell_too():
    source = (
        "def count_paths(n):\n"
        "    # ### BEGIN MARK SCHEME\n"
        "    # 2 points for 2 ** n; 1 point for a loop that doubles a counter n times.\n"
        "    # ### END MARK SCHEME\n"
        "    return 2**n\n"
    )
    cell = cleaned(new_code_cell(source)).cells[0]
    assert lines(cell.source) == ["def count_paths(n):", "    return 2**n"]


# --- outputs that quote the hidden tests ------------------------------------------------------

# What a learner's cell could print after ``for source in In: print(source)``: the test cell,
# hidden tests included, as the kernel ran it.
ECHOED = "\n".join(["# echoed by a learner's cell", *lines(PARAMS_CELL)])


@pytest.mark.parametrize(
    "output",
    [
        new_output("stream", name="stdout", text=ECHOED + "\n"),
        new_output("stream", name="stderr", text="  ".join(ECHOED.splitlines())),
        new_output("execute_result", data={"text/plain": repr(ECHOED.splitlines())}),
        new_output("display_data", data={"text/html": f"<pre>{ECHOED}</pre>"}),
        new_output("error", ename="ValueError", evalue=ECHOED, traceback=["ValueError: ..."]),
        new_output("error", ename="ValueError", evalue="no", traceback=ECHOED.splitlines()),
    ],
    ids=["stdout", "stderr-one-line", "repr", "html", "evalue", "traceback"],
)
def test_learner_output_quoting_a_hidden_line_is_replaced(output):
    learner = new_code_cell("for source in In:\n    print(source)\n", outputs=[output])
    kept = new_output("execute_result", data={"text/plain": "42"})
    learner.outputs.append(kept)
    nb = cleaned(new_code_cell(PARAMS_CELL), learner)
    assert nb.cells[1].source == "for source in In:\n    print(source)\n"
    assert nb.cells[1].outputs == [quoted_note_output(), kept]


def test_quoted_outputs_are_found_even_when_the_hidden_test_is_in_a_later_cell():
    learner = new_code_cell(
        "print(open('blocks.ipynb').read())",
        outputs=[new_output("stream", name="stdout", text=PARAMS_HIDDEN[1] + "\n")],
    )
    nb = cleaned(learner, new_code_cell(PARAMS_CELL))
    assert nb.cells[0].outputs == [quoted_note_output()]


def test_outputs_sharing_only_short_or_visible_lines_are_kept():
    source = """\
print("BottleneckBlock parameter counts: ok")
### BEGIN HIDDEN TESTS
for n in [2]:
    expect(
        check(
            x, y, n
        )
    )
### END HIDDEN TESTS
"""
    short = [line.strip() for line in regions(source, HIDDEN)]
    assert short and all(len(line) < MIN_QUOTED for line in short)
    texts = [
        ")\n)\n",
        "for n in [2]:\n",
        "    )\n  )\n",
        "BottleneckBlock parameter counts: ok\n",
        "x, y, n\n",
    ]
    outputs = [new_output("stream", name="stdout", text=text) for text in texts]
    outputs.append(new_output("execute_result", data={"text/plain": "(\n    x, y, n\n)"}))
    learner = new_code_cell("for source in In:\n    print(source)\n", outputs=outputs)
    before = copy.deepcopy(learner.outputs)
    nb = cleaned(new_code_cell(source), learner)
    assert nb.cells[1].outputs == before


def test_a_hidden_line_is_quoted_from_min_quoted_characters_on():
    at_limit = "y = check(n, 12)"
    below = "x = check(n, 1)"
    assert len(at_limit) == MIN_QUOTED and len(below) == MIN_QUOTED - 1
    tests = f"### BEGIN HIDDEN TESTS\n{below}\n{at_limit}\n### END HIDDEN TESTS\n"
    quoting_below = new_output("stream", name="stdout", text=below + "\n")
    quoting_limit = new_output("stream", name="stdout", text=at_limit + "\n")
    learner = new_code_cell("print(In[-2])", outputs=[quoting_below, quoting_limit])
    nb = cleaned(new_code_cell(tests), learner)
    assert nb.cells[1].outputs == [quoting_below, quoted_note_output()]


def test_json_display_data_is_read_without_error():
    data = {"application/json": [1, 2, 3], "text/plain": "<IPython.core.display.JSON object>"}
    shown = new_output("display_data", data=data)
    nb = cleaned(new_code_cell(PARAMS_CELL), new_code_cell("JSON([1, 2, 3])", outputs=[shown]))
    assert nb.cells[1].outputs == [shown]


# --- notebooks without instructor text --------------------------------------------------------


def test_notebook_without_markers_is_unchanged():
    traceback = [
        header("AssertionError"),
        "\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m expect(check_identity(BasicBlock, 64, 64))\n",
        "\x1b[31mAssertionError\x1b[39m: BasicBlock(64, 64, stride=1): with the branch silenced,"
        " expected relu(x), got x — likely mistake: the final ReLU is missing",
    ]
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Assignment 2: residual blocks\n\nComplete `BasicBlock`.\n"),
            new_code_cell(
                "import torch\nfrom torch import nn\n\nclass BasicBlock(nn.Module):\n    pass\n"
            ),
            new_code_cell(
                "# [1 point] BasicBlock: output shapes.\nexpect(check_shape(BasicBlock, 64, 64))\n"
                'print("BasicBlock shapes: ok")\n',
                outputs=[new_output("stream", name="stdout", text="BasicBlock shapes: ok\n")],
            ),
            new_code_cell(
                "expect(check_identity(BasicBlock, 64, 64))\n",
                outputs=[
                    new_output(
                        "error",
                        ename="AssertionError",
                        evalue=traceback[-1].split(": ", 1)[1],
                        traceback=traceback,
                    )
                ],
            ),
            new_code_cell(
                "sum(p.numel() for p in BasicBlock(64, 64).parameters())",
                outputs=[new_output("execute_result", data={"text/plain": "73984"})],
            ),
            new_markdown_cell("YOUR ANSWER HERE"),
        ]
    )
    before = copy.deepcopy(nb)
    HideInstructorText().preprocess(nb, {})
    assert nb == before


# --- the instructor notebooks of the course ---------------------------------------------------


def test_the_course_has_instructor_notebooks_with_hidden_tests_and_mark_schemes():
    assert len(SOLUTIONS) >= 6
    sources = [
        cell.source for path in SOLUTIONS for cell in nbformat.read(path, as_version=4).cells
    ]
    assert sum(source.count(HIDDEN[0]) for source in sources) > 0
    assert sum(source.count(MARK_SCHEME[0]) for source in sources) > 0


def expected_source(source):
    """An independent oracle: the cell as it should read, by regular expressions."""
    source = re.sub(
        r"(?ms)^([ \t]*)### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[^\n]*",
        lambda match: match.group(1) + HIDDEN_NOTE,
        source,
    )
    source = re.sub(
        r"(?ms)^[ \t]*(?:# )?### BEGIN MARK SCHEME.*?### END MARK SCHEME[^\n]*\n?", "", source
    )
    return source.rstrip("\n")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda path: path.parent.name)
def test_instructor_notebook_loses_hidden_tests_and_mark_schemes(path):
    nb = nbformat.read(path, as_version=4)
    original = copy.deepcopy(nb)
    markers = sum(cell.source.count(HIDDEN[0]) for cell in nb.cells)
    HideInstructorText().preprocess(nb, {})
    assert len(nb.cells) == len(original.cells)
    assert sum(cell.source.count(HIDDEN_NOTE) for cell in nb.cells) == markers
    for before, after in zip(original.cells, nb.cells, strict=True):
        assert "HIDDEN TESTS" not in after.source
        assert "MARK SCHEME" not in after.source
        assert "Mark scheme" not in after.source
        if HIDDEN[0] not in before.source and MARK_SCHEME[0] not in before.source:
            assert after == before
            continue
        assert after.source.rstrip("\n") == expected_source(before.source)
        visible = set(lines(expected_source(before.source)))
        for line in regions(before.source, HIDDEN) + regions(before.source, MARK_SCHEME):
            if line.strip() and line not in visible:
                assert line not in lines(after.source)


def test_feedback_css_is_nbconverts_and_the_rule_that_wraps_outputs(tmp_path):
    nb = new_notebook(cells=[new_code_cell("print('x' * 500)")])
    out, resources = FeedbackCSS().preprocess(nb, {"config_dir": str(tmp_path)})
    assert out is nb
    css = resources["inlining"]["css"]
    # The course's rules come after nbconvert's, so that they win where both set something.
    ours = css.index(WRAP_OUTPUTS)
    assert any(".highlight" in part for part in css[:ours])  # nbconvert's code highlighting
    assert not any(".highlight" in part for part in css[ours:])
