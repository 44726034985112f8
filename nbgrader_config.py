"""nbgrader configuration of the Residual Networks course (nbgrader 0.9.x).

The course root is this folder: ``solutions/<assignment>/`` holds the instructor notebooks
(solutions and hidden tests), ``exercises/<assignment>/`` the notebooks learners get, and
submissions go to ``submitted/<student>/<assignment>/``. ``python3 course.py --help`` lists
the commands that drive nbgrader with this configuration.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor


class HideHiddenTests(NbGraderPreprocessor):
    """Keep hidden tests out of the feedback that goes back to learners.

    nbgrader restores the hidden tests into every autograded notebook, and its feedback shows
    them, as well as the tracebacks that quote them (upstream issue 917). For every cell with a
    hidden-test region this drops the region and shortens each error to its last line, the
    ``AssertionError`` whose message the grading helpers wrote for the learner.
    """

    begin = "BEGIN HIDDEN TESTS"
    end = "END HIDDEN TESTS"
    note = "# (hidden tests ran here; their code is not part of the feedback)"

    def preprocess_cell(self, cell, resources, index):
        """Remove the hidden region of a test cell and trim its error tracebacks."""
        if cell.cell_type != "code" or self.begin not in cell.source:
            return cell, resources
        kept, hidden = [], False
        for line in cell.source.splitlines():
            if self.begin in line:
                hidden = True
                kept.append(line[: line.index("#")] + self.note if "#" in line else self.note)
            elif self.end in line:
                hidden = False
            elif not hidden:
                kept.append(line)
        cell.source = "\n".join(kept)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources


c = get_config()  # noqa: F821 (nbgrader provides get_config when it loads this file)

c.CourseDirectory.course_id = "resnet-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# *.pct.py files are the text sources of the notebooks (jupytext percent format); learners
# get the notebooks generated from them, not the sources.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.pct.py"]

# Per-cell limit while grading (nbgrader's default is 30 s). Test cells take a second or two;
# the limit only stops a submission that loops forever, and grading goes on with the next cell.
c.Execute.timeout = 120

# A test cell a learner deleted is put back and run, rather than left for manual grading.
# (nbgrader restores the source of edited locked cells, tests included, in any case.)
c.OverwriteCells.add_missing_cells = True

c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
