"""What of a graded notebook a learner may read in their feedback.

While it grades, nbgrader puts the instructor's version of every locked cell back into the
notebook: the test cells with their hidden tests, and the written-answer task cells with their
mark schemes. Its feedback would show both (hidden tests: upstream issue 917). The
:class:`HideInstructorText` preprocessor runs before the feedback is rendered and removes:

- every region between ``BEGIN HIDDEN TESTS`` and ``END HIDDEN TESTS`` (a note says that
  hidden tests ran there) and the tracebacks that quote them, down to their last line, the
  one-line message the checks wrote for the learner;
- every region between ``BEGIN MARK SCHEME`` and ``END MARK SCHEME``, in any cell;
- any output that quotes a line of the hidden tests (a submission's own cell can print what
  its kernel saw run).

:class:`FeedbackCSS` gives the page nbconvert's CSS plus :data:`WRAP_OUTPUTS`, so that a long
output line (a failed check's one-line message, with its likely mistake) wraps at the edge of
its box instead of running out of sight, :data:`COMMENT_LINES`, so that a grader's comment
keeps its line breaks, and :data:`HEADING_HOLDS_SCORE` and :data:`FIT_THE_SCREEN`, so that on a
phone each cell's score stays in its heading and the page does not scroll sideways.
"""

from __future__ import annotations

import json
import re

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor, Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool

HIDDEN = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
MARK_SCHEME = ("BEGIN MARK SCHEME", "END MARK SCHEME")
HIDDEN_NOTE = "# (hidden tests ran here; their code is not part of the feedback)"
QUOTED_NOTE = "(output removed from the feedback: it quoted the hidden tests)"
# Shorter hidden lines (``)``, ``for x in y:``) say nothing about the tests.
MIN_QUOTED = 16
# nbgrader's feedback page shows outputs in <pre> boxes that keep each line whole, so the end of
# a long message was cut off behind a scroll bar; wrap them, anywhere if a word is too long.
WRAP_OUTPUTS = "div.output_subarea pre { white-space: pre-wrap; overflow-wrap: anywhere; }"
# A grader's comment is rendered as markdown, where a single line break is no break: the lines a
# teaching assistant typed in Formgrader ran together into one. The page keeps the breaks: show
# them.
COMMENT_LINES = "div.nbgrader_cell .panel-footer p { white-space: pre-line; }"
# nbgrader fixes a cell's heading at 37 px and floats its score to the right: on a phone the
# score wrapped below the heading, white on the white answer, and the code beside it shrank to a
# third of its box. The heading grows to hold its score.
# (Three classes: nbgrader's own rule comes later in the page, and would win a tie.)
HEADING_HOLDS_SCORE = "div.panel.nbgrader_cell .panel-heading { height: auto; display: flow-root; }"
# What made the whole page scroll sideways on a phone: a wide table in an output (a data frame)
# scrolls inside its own box instead, and a long word in a written answer (a link) breaks.
FIT_THE_SCREEN = (
    "div.output_html { overflow-x: auto; } div.text_cell_render { overflow-wrap: anywhere; }"
)
# Links that stood out too little from what is behind them: Bootstrap's blue on the grey of the
# page's heading, and nbgrader's light grey "(Top)" on a cell's blue heading.
READABLE_LINKS = (
    "div.panel-default > .panel-heading a { color: #23527c; }"
    " div.panel.nbgrader_cell .panel-heading a { color: #fff; }"
)


def regions(source: str, markers: tuple[str, str]) -> list[str]:
    """The lines between each pair of ``markers`` in ``source``, markers left out."""
    begin, end = (re.escape(m) for m in markers)
    return [
        line
        for region in re.findall(rf"{begin}[^\n]*\n(.*?)[^\n]*{end}", source, re.S)
        for line in region.splitlines()
    ]


def cut(source: str, markers: tuple[str, str], note: str | None = None) -> str:
    """``source`` without the regions between ``markers``; ``note`` in the place of each."""
    kept, inside = [], False
    for line in source.splitlines():
        if markers[0] in line:
            inside = True
            if note is not None:
                indent = line[: len(line) - len(line.lstrip())]
                kept.append(indent + note)
        elif markers[1] in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _output_text(output) -> str:
    parts = [output.get("text", ""), output.get("evalue", ""), *output.get("traceback", [])]
    parts += output.get("data", {}).values()
    # Text may come as a list of lines; JSON data as any JSON value.
    texts = []
    for part in parts:
        if isinstance(part, list) and all(isinstance(p, str) for p in part):
            texts.append("".join(part))
        else:
            texts.append(part if isinstance(part, str) else json.dumps(part))
    return "\n".join(texts)


class HideInstructorText(Preprocessor):
    """Remove hidden tests, the tracebacks that quote them, and mark schemes (see module)."""

    enabled = Bool(True, help="on wherever it is listed (nbconvert's default is off)")

    def preprocess(self, nb, resources):
        """Collect the hidden lines of the whole notebook, then clean every cell."""
        # A hidden line that also stands in the visible code gives nothing away.
        visible = " ".join(cut(cell.source, HIDDEN) for cell in nb.cells)
        visible = " ".join(visible.split())
        hidden = {
            " ".join(line.split())
            for cell in nb.cells
            for line in regions(cell.source, HIDDEN)
            if len(" ".join(line.split())) >= MIN_QUOTED
        }
        hidden = {line for line in hidden if line not in visible}
        for cell in nb.cells:
            self.clean(cell, hidden)
        return nb, resources

    def clean(self, cell, hidden: set[str]) -> None:
        """Clean one cell in place."""
        if MARK_SCHEME[0] in cell.source:
            cell.source = cut(cell.source, MARK_SCHEME)
        if cell.cell_type != "code":
            return
        had_hidden = HIDDEN[0] in cell.source
        if had_hidden:
            cell.source = cut(cell.source, HIDDEN, HIDDEN_NOTE)
        outputs = []
        for output in cell.get("outputs", []):
            # A test's traceback quotes its code; its last line is the check's message.
            if output.get("output_type") == "error" and had_hidden:
                output["traceback"] = [f"\x1b[0;31m{output['ename']}\x1b[0m: {output['evalue']}"]
            flat = " ".join(_output_text(output).split())
            if any(line in flat for line in hidden):
                output = new_output("stream", name="stdout", text=QUOTED_NOTE + "\n")
            outputs.append(output)
        cell.outputs = outputs


class FeedbackCSS(CSSHTMLHeaderPreprocessor):
    """nbconvert's CSS for the page (it replaces what the page had), plus COMMENT_LINES,
    WRAP_OUTPUTS, HEADING_HOLDS_SCORE, FIT_THE_SCREEN and READABLE_LINKS."""

    enabled = Bool(True, help="on wherever it is listed (nbconvert's default is off)")

    def preprocess(self, nb, resources):
        """Set the page's CSS: nbconvert's, then the rules that keep a comment's line breaks,
        wrap long output lines, keep each score in its heading and the page in a phone's
        width, and make links readable."""
        nb, resources = super().preprocess(nb, resources)
        resources["inlining"]["css"] += [
            COMMENT_LINES,
            WRAP_OUTPUTS,
            HEADING_HOLDS_SCORE,
            FIT_THE_SCREEN,
            READABLE_LINKS,
        ]
        return nb, resources
