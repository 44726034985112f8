"""nbgrader configuration of the Residual Networks course (nbgrader 0.9.x).

The course root is this folder: ``solutions/<assignment>/`` holds the instructor notebooks
(solutions and hidden tests), ``exercises/<assignment>/`` the notebooks learners get, and
submissions go to ``submitted/<student>/<assignment>/``. ``python3 course.py --help`` lists
the commands that drive nbgrader with this configuration.
"""

import textwrap
from pathlib import Path

import nbgrader
from nbconvert.filters import strip_ansi
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from nbgrader.validator import Validator

import autograder
from autograder import formgrader_saves
from autograder.deadlines import LatePolicy
from autograder.feedback import FeedbackCSS, HideInstructorText
from autograder.locked_cells import RestoreLockedCells

c = get_config()  # noqa: F821 (nbgrader provides get_config when it loads this file)
COURSE = Path(__file__).resolve().parent

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

# Locked cells are put back before grading, with a warning only where a learner edited one
# (nbgrader's own step warns for every cell with hidden tests: autograder/locked_cells.py).
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreLockedCells,
    CheckCellMetadata,
]

# A hand-in submitted after its assignment's due date (python3 course.py due ASSIGNMENT WHEN)
# loses this share of its score per day or part of a day late (autograder/deadlines.py).
c.AssignLatePenalties.plugin_class = LatePolicy
c.LatePolicy.percent_per_day = 10

# Submissions run in a bubblewrap sandbox, and a kernel that dies, hangs or floods its output
# costs its own notebook the cells it broke (autograder/execute.py); nbgrader's own list of
# autograde steps otherwise. That step is named, not imported: it imports torch (for the
# referee), which every command that reads this file (feedback, export, the coordinator of
# autograde) would otherwise wait for; nbconvert imports it when it grades.
c.Autograde.autograde_preprocessors = [
    "autograder.execute.ContainedExecute",
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]


# nbgrader validate cuts every line of an error at Validator.width characters, and a check's
# one-line message names the likely mistake at its end: wrap the lines instead of cutting them.
def _wrap_lines(validator: Validator, text: str) -> str:
    return "\n".join(
        textwrap.fill(
            strip_ansi(line),
            validator.width,
            initial_indent=validator.indent,
            subsequent_indent=validator.indent + "  ",
            break_long_words=False,
        )
        or validator.indent
        for line in text.split("\n")
    )


Validator._indent = _wrap_lines

# Feedback without hidden tests, the tracebacks that quote them, or mark schemes.
# Long lines of outputs (a failed check's message) wrap in the page instead of scrolling.
c.GenerateFeedback.preprocessors = [GetGrades, HideInstructorText, FeedbackCSS]

# Formgrader shows answers' math with the MathJax that jupyter_server_mathjax serves beside it,
# not one from a CDN (autograder/formgrader_templates/ says how); nbgrader's templates follow.
c.HTMLExporter.extra_template_basedirs = [
    str(Path(autograder.__file__).parent / "formgrader_templates"),
    str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"),
]

# Teaching assistants grading one learner at once cannot undo each other's work: a save in
# Formgrader changes only the field its grader changed, and one made over another grader's newer
# value is refused and shown to that grader (autograder/formgrader_saves.py). The course's
# Formgrader page extends nbgrader's, which the template loader reaches by its package path.
formgrader_saves.install()
c.HTMLExporter.extra_template_paths = [str(Path(nbgrader.__file__).parent)]

# Formgrader shows a learner's notebook on the instructor's own Jupyter server: a script in it
# (raw HTML in a written answer, an HTML or JavaScript output of a code cell) would run as the
# instructor and could rewrite the gradebook through Formgrader's API. Outputs' HTML and
# markdown are cleaned, JavaScript outputs and widgets left out (sanitize_html), and markdown
# cells, which nbgrader's templates render without nbconvert's cleaning, are cleaned too; the
# same holds for the feedback pages. autograder/safe_html.py lists what is kept.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {
    "clean_html": "autograder.safe_html.clean_html",
    "markdown2html": "autograder.safe_html.SafeMarkdown",
}

# The course hands out and collects with course.py release and collect, not with nbgrader's
# exchange, but Formgrader warns on every page load when the exchange folder is missing. A
# course-local one (ignored by git) is what its Release and Collect buttons then use; on a
# JupyterHub whose learners share an exchange, point this at it instead.
c.Exchange.root = str(COURSE / "exchange")
(COURSE / "exchange").mkdir(exist_ok=True)
