"""The class report of an assignment: ``course.py report ASSIGNMENT``.

One HTML page, ``reports/<assignment>/index.html``, with its PNG figures beside it, that reads
on its own (no script, no other host): how many learners had each outcome, the distribution of
the scores, each test cell's pass rate, the mistakes the checks diagnosed most often, the
hand-ins that need a look, the points waiting for hand grading, and the grading time of each
submission.

The outcomes, scores, pending points and grading times are the class's one account
(:func:`autograder.outcomes.class_outcomes`); the pass rates come from the gradebook; the
mistakes from the graded notebooks, where each failed test cell holds the one-line message of
the check that failed. Everything a learner could have written (names, messages) is escaped.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

# Figure draws with Agg without pyplot: no display, no global state in the caller's process.
from matplotlib.figure import Figure

from .cell_errors import REFUSED, STOPPED, TIMED_OUT
from .course_folder import CourseFolder, nbgrader_api
from .outcomes import CONTAINED, NEED_A_LOOK, OUTCOMES, Outcome, class_outcomes

REPORTS = "reports"  # reports/<assignment>/index.html, in the course folder
SECTIONS = {  # id: heading, in the page's order
    "outcomes": "Outcomes",
    "scores": "Score distribution",
    "cells": "Pass rate per test cell",
    "mistakes": "Most frequent diagnosed mistakes",
    "look": "Hand-ins that need a look",
    "pending": "Hand grading pending",
    "times": "Grading time per submission",
}
TOP = 10  # mistakes shown
NONE = "<p>none</p>"  # what an empty section says
LABEL = 60  # characters of a bar's label
# Characters of a diagnosis: a kernel can show an error of megabytes in a test cell, and the
# checks' own messages are one line of well under this.
DIAGNOSIS = 300
CONTAINMENT = (STOPPED, TIMED_OUT, REFUSED)  # what the grader did, not what the learner did
# The tail a check adds to a failure on random inputs; the seed differs on every run.
SEED = re.compile(r"\s*\(the same inputs again: add seed=\d+ to this check\)")
NUMBER = re.compile(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?")


@dataclass
class Mistake:
    """One diagnosed mistake: its wording, the test cells and the learners it failed."""

    text: str
    cells: set[str] = field(default_factory=set)
    students: set[str] = field(default_factory=set)


# --- what the class did ------------------------------------------------------------------------


def diagnosis(ename: str, evalue: str) -> str:
    """The mistake named by a failed test cell's error: the likely mistake a check's message
    gives after its dash, else the whole message; other errors keep their name; at most
    :data:`DIAGNOSIS` characters."""
    text = SEED.sub("", evalue).strip()
    if ename != "AssertionError":
        text = f"{ename}: {text}"
    else:
        _, dash, hint = text.partition(" — ")
        text = hint.removeprefix("likely mistake: ").strip() if dash else text
    return text if len(text) <= DIAGNOSIS else text[: DIAGNOSIS - 1] + "…"


def same_mistake(text: str) -> str:
    """What two diagnoses share when they name the same mistake: their words, not numbers."""
    return NUMBER.sub("#", text)


def autograded_cells(notebook) -> list[str]:
    """The autograded test cells of a gradebook ``SubmittedNotebook``: code cells with points
    that are not also answers (code a person grades)."""
    answers = {cell.name for cell in notebook.notebook.solution_cells}
    return [
        grade.name
        for grade in notebook.grades
        if grade.cell_type == "code" and grade.max_score > 0 and grade.name not in answers
    ]


def pass_rates(folder: CourseFolder, assignment: str, students: list[str]) -> dict[str, float]:
    """The share of ``students`` whose hand-in earned each test cell's full points, by
    ``notebook/cell``."""
    passed, tried = Counter(), Counter()
    with nbgrader_api(folder).gradebook as gradebook:
        for student in students:
            for notebook in gradebook.find_submission(assignment, student).notebooks:
                tests = set(autograded_cells(notebook))
                for grade in notebook.grades:
                    if grade.name in tests:
                        key = f"{notebook.name}/{grade.name}"
                        tried[key] += 1
                        passed[key] += grade.score >= grade.max_score
    return {key: passed[key] / tried[key] for key in sorted(tried)}


def failed_tests(notebook: Path) -> list[tuple[str, str, str]]:
    """``(cell, ename, evalue)`` of each error in an autograded test cell of a graded notebook,
    the grader's own containment errors left out."""
    found = []
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        marks = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not marks.get("grade") or marks.get("solution"):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") not in CONTAINMENT:
                found.append((marks.get("grade_id", ""), output["ename"], output["evalue"]))
    return found


def mistakes(folder: CourseFolder, assignment: str, students: list[str]) -> list[Mistake]:
    """The diagnosed mistakes of ``students``, the most frequent first; a learner counts once
    per mistake however many cells or inputs it failed."""
    found: dict[str, Mistake] = {}
    for student in students:
        for notebook in sorted((folder.autograded / student / assignment).glob("*.ipynb")):
            for cell, ename, evalue in failed_tests(notebook):
                text = diagnosis(ename, evalue)
                mistake = found.setdefault(same_mistake(text), Mistake(text))
                mistake.cells.add(f"{notebook.stem}/{cell}")
                mistake.students.add(student)
    return sorted(found.values(), key=lambda m: (-len(m.students), m.text))


# --- figures -----------------------------------------------------------------------------------


def short(text: str) -> str:
    """``text`` cut to fit a bar's label."""
    return text if len(text) <= LABEL else text[: LABEL - 1] + "…"


def bars(path: Path, labels: list[str], values: list[float], xlabel: str, xmax=None) -> Path:
    """A horizontal bar chart, the first label on top, each bar's value at its end; labels
    longer than :data:`LABEL` characters are cut."""
    figure = Figure(figsize=(10, 1 + 0.4 * len(labels)), layout="constrained")
    axes = figure.subplots()
    rows = range(len(labels))
    drawn = axes.barh(rows, values, color="tab:blue")
    # parse_math=False: a learner's "$...$" is text, not mathtext to typeset (or fail on).
    # short(): a learner's id of 200 characters left the bars no room, and the chart unreadable.
    axes.set_yticks(rows, labels=[short(label) for label in labels], parse_math=False)
    axes.invert_yaxis()
    axes.bar_label(drawn, labels=[f"{v:g}" for v in values], padding=3)
    axes.set_xlabel(xlabel)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlim(0, (xmax or max(values, default=0) or 1) * 1.1)
    figure.savefig(path, dpi=100)
    return path


def histogram(path: Path, scores: list[float], max_score: float) -> Path:
    """The distribution of ``scores`` from 0 to ``max_score``, the maximum marked."""
    figure = Figure(figsize=(8, 3.5), layout="constrained")
    axes = figure.subplots()
    top = max([max_score, *scores]) or 1
    # A bar per point (per few points on a long scale), centred on whole scores.
    step = math.ceil(top / 25)
    edges = [step * (i - 0.5) for i in range(math.ceil(top / step) + 2)]
    axes.hist(scores, bins=edges, color="tab:blue", edgecolor="white")
    axes.axvline(max_score, color="tab:red", linestyle="--", label=f"maximum ({max_score:g})")
    axes.set_xlabel("score after any late penalty")
    axes.set_ylabel("learners")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="best")
    figure.savefig(path, dpi=100)
    return path


# --- the page ----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list]) -> str:
    """An HTML table of ``rows``, every cell escaped."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_html(path: Path, alt: str, caption: str) -> str:
    """An image beside the page, with its alt text and caption."""
    return (
        f'<figure><img src="{html.escape(path.name)}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def outcomes_section(outcomes: list[Outcome]) -> str:
    """How many learners had each outcome."""
    counts = Counter(o.outcome for o in outcomes)
    rows = [[name, counts[name]] for name in OUTCOMES] + [["all learners", len(outcomes)]]
    return table(["outcome", "learners"], rows)


def scores_section(out: Path, outcomes: list[Outcome]) -> str:
    """The histogram of the scores of the hand-ins that were graded."""
    scores = [o.score for o in outcomes if o.score is not None]
    if not scores:
        return NONE
    max_score = outcomes[0].max_score
    path = histogram(out / "scores.png", scores, max_score)
    alt = (
        f"Histogram of {len(scores)} scores between {min(scores):g} and {max(scores):g},"
        f" median {median(scores):g}, out of {max_score:g}"
    )
    caption = (
        f"Scores of the {len(scores)} hand-in(s) that were graded (contained or refused parts"
        f" included), after any late penalty; the dashed line marks the maximum, {max_score:g}."
    )
    return figure_html(path, alt, caption)


def cells_section(out: Path, rates: dict[str, float]) -> str:
    """The pass rate of each test cell, as bars."""
    if not rates:
        return NONE
    percent = [round(100 * rate) for rate in rates.values()]
    path = bars(out / "pass_rates.png", list(rates), percent, "% of graded hand-ins", 100)
    alt = "Pass rate per test cell: " + ", ".join(
        f"{cell} {p}%" for cell, p in zip(rates, percent, strict=True)
    )
    caption = "Share of the graded hand-ins that earned each test cell's full points."
    return figure_html(path, alt, caption)


def mistakes_section(out: Path, found: list[Mistake]) -> str:
    """The most frequent diagnosed mistakes, as bars and as a table."""
    if not found:
        return NONE
    top = found[:TOP]
    labels = [f"{rank}. {short(m.text)}" for rank, m in enumerate(top, start=1)]
    counts = [len(m.students) for m in top]
    path = bars(out / "mistakes.png", labels, counts, "learners")
    alt = f"The {len(top)} most frequent diagnosed mistakes, by learners: " + "; ".join(
        f"{label} ({count})" for label, count in zip(labels, counts, strict=True)
    )
    caption = (
        f"The {len(top)} mistake(s) the checks diagnosed most often, each learner counted once"
        f" per mistake ({len(found)} different mistake(s) in all)."
    )
    rows = [
        [rank, m.text, ", ".join(sorted(m.cells)), len(m.students), ", ".join(sorted(m.students))]
        for rank, m in enumerate(top, start=1)
    ]
    headers = ["#", "diagnosis", "test cells", "learners", "who"]
    return figure_html(path, alt, caption) + table(headers, rows)


def look_section(outcomes: list[Outcome]) -> str:
    """The hand-ins the grader contained, refused parts of, or could not process."""
    rows = [[o.student, o.outcome, o.reason] for o in outcomes if o.outcome in NEED_A_LOOK]
    return table(["learner", "outcome", "reason"], rows) if rows else NONE


def pending_section(outcomes: list[Outcome]) -> str:
    """The points each learner's hand-in waits for from a person."""
    rows = [[o.student, f"{o.pending:g}"] for o in outcomes if o.pending]
    return table(["learner", "points to grade by hand"], rows) if rows else NONE


def times_section(out: Path, outcomes: list[Outcome]) -> str:
    """How long the autograder took on each hand-in, as bars."""
    timed = [o for o in outcomes if o.score is not None and o.seconds is not None]
    if not timed:
        return NONE
    seconds = [round(o.seconds, 1) for o in timed]
    path = bars(out / "grading_times.png", [o.student for o in timed], seconds, "seconds")
    alt = "Grading time per submission: " + ", ".join(
        f"{o.student} {s:g} s" for o, s in zip(timed, seconds, strict=True)
    )
    caption = (
        f"Seconds the autograder took on each graded hand-in ({sum(seconds):.0f} s in all,"
        f" median {median(seconds):g} s), as its last autograde recorded."
    )
    return figure_html(path, alt, caption)


# A chart shrunk to a phone's width has text too small to read (a third of its size at 320 px):
# it keeps at least 45rem, about three quarters of the width it was drawn at, and scrolls
# sideways inside its figure; the page itself never scrolls sideways.
STYLE = """
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.4; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left;
         vertical-align: top; overflow-wrap: anywhere; }
th { background: #f2f2f2; }
figure { margin: 0.5rem 0 1.5rem; overflow-x: auto; }
img { max-width: 100%; height: auto; }
figure img { min-width: 45rem; }
figcaption { font-size: 0.9rem; color: #555; }
"""


def page(assignment: str, sections: dict[str, str]) -> str:
    """The whole HTML page: a title, then each section under its heading."""
    title = f"Class report: {assignment}"
    written = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(
        f'<section id="{key}"><h2>{html.escape(SECTIONS[key])}</h2>{content}</section>\n'
        for key, content in sections.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>Written {written} from the gradebook and the graded notebooks.</p>
{body}</body>
</html>
"""


def write_report(folder: CourseFolder, assignment: str) -> Path:
    """Write ``reports/<assignment>/index.html`` and its figures; print and return its path."""
    out = folder.root / REPORTS / assignment
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):  # a figure the class no longer has must not linger
        old.unlink()
    outcomes = class_outcomes(folder, assignment)
    scored = [o.student for o in outcomes if o.score is not None]
    # A contained hand-in's failures follow from the stop (names never defined), not mistakes.
    diagnosed = [o.student for o in outcomes if o.score is not None and o.outcome != CONTAINED]
    sections = {
        "outcomes": outcomes_section(outcomes),
        "scores": scores_section(out, outcomes),
        "cells": cells_section(out, pass_rates(folder, assignment, scored)),
        "mistakes": mistakes_section(out, mistakes(folder, assignment, diagnosed)),
        "look": look_section(outcomes),
        "pending": pending_section(outcomes),
        "times": times_section(out, outcomes),
    }
    path = out / "index.html"
    path.write_text(page(assignment, sections), encoding="utf-8")
    print(f"class report written: {path}")
    return path
