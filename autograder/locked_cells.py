"""Putting back the locked cells of a hand-in, with a warning only where a learner changed one.

Before grading, nbgrader's ``OverwriteCells`` replaces every locked cell of a hand-in (tests,
task descriptions) with the instructor's version from the gradebook, and warns whenever the
two differ. But a cell with hidden tests or a mark scheme always differs: learners received it
without them. So nbgrader warned for every such cell of every untouched hand-in, and the one
learner who did edit a test cell was lost among the warnings.

:class:`RestoreLockedCells` puts the same cells back, but warns only about a cell the learner
edited: one that is neither the current cell as released (hidden tests and mark scheme cut, as
``generate_assignment`` cuts them) nor the cell as the learner received it. An instructor may
reword a question and release again after the class got the assignment; each hand-in then
holds the earlier text, which ``generate_assignment`` sealed with the checksum it writes into
the cell's metadata (of the cell as released), and that text is no learner's edit. A learner
who edits a cell and forges its checksum goes unnamed, but their cell is put back all the same:
nbgrader puts back every locked cell, whatever the warning says.

A learner's file also holds each cell's nbgrader metadata, which nbgrader reads as the
instructor's: a test cell marked ``grade: false`` or ``solution: true``, a made-up
``grade_id``, another ``schema_version``, or the empty metadata ``DeduplicateIds`` leaves on a
copied test cell each stopped the hand-in from being graded at all, with nbgrader's traceback.
So every cell the gradebook knows gets the instructor's metadata back (with a warning where it
differed), and nbgrader metadata the gradebook knows no cell for is dropped: that cell is the
learner's own code, run but not graded.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader.nbgraderformat import SCHEMA_VERSION
from nbgrader.preprocessors import OverwriteCells
from nbgrader.utils import compute_checksum

from .feedback import HIDDEN, MARK_SCHEME, cut

EDITED = "edited locked cell"  # the warning's words, which autograde looks for
# The metadata that decides how a cell is graded; a learner who changed one is named.
GRADING_KEYS = ("grade", "grade_id", "locked", "points", "solution", "task")


def as_released(source: str) -> str:
    """The learners' version of a locked cell's instructor ``source``."""
    return cut(cut(source, HIDDEN), MARK_SCHEME)


def _as_received(cell) -> bool:
    """Whether ``cell`` still has the checksum it was released with."""
    try:
        return cell.metadata["nbgrader"].get("checksum") == compute_checksum(cell)
    except (KeyError, TypeError, ValueError):  # metadata the learner broke: not as received
        return False


class RestoreLockedCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``, warning only about cells the learner changed, and with
    the instructor's nbgrader metadata on every cell."""

    def preprocess(self, nb, resources):
        """Put back the instructor's metadata and locked cells of one notebook."""
        self._released = None  # the notebook's metadata as released, read on first use
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        """Give ``cell`` the instructor's metadata, note whether it is as released, then let
        nbgrader put the original back."""
        if "nbgrader" not in cell.metadata:
            return cell, resources
        learners = cell.metadata.nbgrader
        grade_id = learners.get("grade_id") if isinstance(learners, dict) else None
        released = self.released_metadata().get(grade_id)
        if released is None:
            if grade_id is not None:
                self.log.warning(
                    "%s %s: the assignment has no such cell (its metadata was dropped)",
                    EDITED,
                    grade_id,
                )
            del cell.metadata["nbgrader"]
            return cell, resources
        original = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
        self.untouched = cell.source == as_released(original.source) or _as_received(cell)
        # A flag left out reads as false: nbgrader's own editor writes "task": false where
        # this course's sources leave it out.
        if any(
            (learners.get(key) or False) != (released.get(key) or False) for key in GRADING_KEYS
        ):
            self.log.warning("%s %s (its nbgrader metadata was put back)", EDITED, grade_id)
            self.untouched = True  # said once is enough, if its source was edited too
        cell.metadata.nbgrader = NotebookNode({**released, "checksum": learners.get("checksum")})
        return super().preprocess_cell(cell, resources, cell_index)

    def released_metadata(self) -> dict[str, dict]:
        """The nbgrader metadata of each of the notebook's cells as released, by grade id."""
        if self._released is None:
            notebook = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
            graded = {c.name: c for c in [*notebook.grade_cells, *notebook.task_cells]}
            answers = {c.name for c in notebook.solution_cells}
            tasks = {c.name for c in notebook.task_cells}
            self._released = {}
            for cell in notebook.source_cells:
                meta = {
                    "cell_type": cell.cell_type,
                    "grade": cell.name in graded and cell.name not in tasks,
                    "grade_id": cell.name,
                    "locked": cell.locked,
                    "schema_version": SCHEMA_VERSION,
                    "solution": cell.name in answers,
                }
                if cell.name in graded:
                    meta["points"] = graded[cell.name].max_score
                if cell.name in tasks:
                    meta["task"] = True
                self._released[cell.name] = meta
        return self._released

    def report_change(self, name, attr, old, new):
        """Stay silent about the hidden tests and mark schemes put back; warn about edits."""
        if attr == "checksum":
            if not self.untouched:
                self.log.warning("%s %s (the original was put back)", EDITED, name)
            return
        super().report_change(name, attr, old, new)
