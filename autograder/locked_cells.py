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
"""

from __future__ import annotations

from nbgrader.api import MissingEntry
from nbgrader.preprocessors import OverwriteCells
from nbgrader.utils import compute_checksum

from .feedback import HIDDEN, MARK_SCHEME, cut

EDITED = "edited locked cell"  # the warning's words, which autograde looks for


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
    """nbgrader's ``OverwriteCells``, warning only about cells the learner changed."""

    def preprocess_cell(self, cell, resources, cell_index):
        """Note whether ``cell`` is as released, then let nbgrader put the original back."""
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self.untouched = False
        if grade_id is not None:
            try:
                original = self.gradebook.find_source_cell(
                    grade_id, self.notebook_id, self.assignment_id
                )
                self.untouched = cell.source == as_released(original.source)
            except MissingEntry:
                pass  # nbgrader's own code below reports a cell the gradebook lacks
            self.untouched = self.untouched or _as_received(cell)
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        """Stay silent about the hidden tests and mark schemes put back; warn about edits."""
        if attr == "checksum":
            if not self.untouched:
                self.log.warning("%s %s (the original was put back)", EDITED, name)
            return
        super().report_change(name, attr, old, new)
