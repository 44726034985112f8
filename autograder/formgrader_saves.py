"""Formgrader saves that cannot undo another grader's work.

nbgrader's Formgrader page saves a grade by sending back the whole grade as the page last saw
it, hand score and extra credit, and its server writes all of it; a comment likewise. With two
teaching assistants on one learner, the page opened first wrote the empty score it had seen
over the score the other had just given, and nobody was told.

Here a save sends only the fields its grader changed, each with the value the page showed
before, ``{"extra_credit": 2, "seen": {"extra_credit": null}}``, and the gradebook takes it
only if every one of those fields still holds the value seen. The check and the write are one
UPDATE, so this holds as well for several Formgrader servers on one PostgreSQL gradebook.
Otherwise nothing is written and the answer is 409 with the grade or comment as it stands; the
page (``formgrader_templates/formgrade/formgrader_saves.js``) then shows the other grader's
value and says that this grader's was not saved.

A stale save is refused rather than let through because two graders who disagree would each
believe their value recorded: the refused one is told, sees the other's value, and decides
with both in view (typing theirs again replaces it). What the gradebook holds is always a
value that the grader who saved it saw saved.
"""

from __future__ import annotations

import json
import math

from nbgrader.api import Comment, Grade, MissingEntry
from nbgrader.server_extensions.formgrader import apihandlers
from nbgrader.server_extensions.formgrader.base import check_notebook_dir, check_xsrf
from sqlalchemy import and_, update
from tornado import web


def _number(value) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )


def _text(value) -> bool:
    return value is None or isinstance(value, str)


class _FieldSave(apihandlers.BaseApiHandler):
    """PUT of some fields of one row of ``table``: written if nobody changed them meanwhile,
    answered with the row as it stands, 200 if written and 409 if not. GET stays nbgrader's."""

    table = None  # Grade or Comment
    fields: dict = {}  # the fields a save may change: whether a value is one the field holds

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def put(self, row_id):
        """Save the fields named in the request's body."""
        self.current(row_id)  # 404 if there is no such row
        try:
            new, seen = self._read_body()
        except ValueError as problem:  # said in words to whoever sent it, nothing written
            self.set_status(400)
            self.write(json.dumps({"message": str(problem)}))
            return
        db = self.gradebook.db
        if new:
            unchanged = [getattr(self.table, name).is_not_distinct_from(seen[name]) for name in new]
            written = db.execute(
                update(self.table)
                .where(self.table.id == row_id, *unchanged)
                .values(new)
                .execution_options(synchronize_session=False)
            )
            if written.rowcount == 0:
                db.rollback()  # also forgets what this server's session had read of the row
                self.set_status(409)
                self.write(json.dumps(self.current(row_id)))
                return
        self.after_save(row_id)
        db.commit()
        self.write(json.dumps(self.current(row_id)))

    def _read_body(self) -> tuple[dict, dict]:
        body = self.get_json_body()
        if not isinstance(body, dict) or not isinstance(body.get("seen"), dict):
            raise ValueError(
                "a save names the fields it changes and, under 'seen', the value the page"
                " showed of each; reload the page (it may be older than this server)",
            )
        seen = body["seen"]
        new = {name: value for name, value in body.items() if name != "seen"}
        for name, value in new.items():
            if name not in self.fields:
                raise ValueError(f"{name!r} is not saved here, only {list(self.fields)}")
            if name not in seen:
                raise ValueError(f"'seen' does not say which {name} the page showed")
            if not (self.fields[name](value) and self.fields[name](seen[name])):
                raise ValueError(f"{name} cannot be {value!r} (seen: {seen[name]!r})")
        return new, {name: seen[name] for name in new}

    def current(self, row_id: str) -> dict:
        """The row as the gradebook holds it, as nbgrader's API shows it; 404 if none."""
        raise NotImplementedError

    def after_save(self, row_id: str) -> None:
        """What else a save changes, in the same transaction."""


class GradeSave(_FieldSave, apihandlers.GradeHandler):
    """Saves of a hand score and extra credit."""

    table = Grade
    fields = {"manual_score": _number, "extra_credit": _number}

    def current(self, row_id: str) -> dict:
        """The grade as it stands; 404 if there is none."""
        try:
            return self.gradebook.find_grade_by_id(row_id).to_dict()
        except MissingEntry:
            raise web.HTTPError(404) from None

    def after_save(self, row_id: str) -> None:
        """nbgrader's rule, applied on every save as nbgrader does, to the row as it now is: an
        answer with neither a hand score nor an automatic one waits for hand grading."""
        waits = and_(Grade.manual_score.is_(None), Grade.auto_score.is_(None))
        self.gradebook.db.execute(
            update(Grade)
            .where(Grade.id == row_id)
            .values(needs_manual_grade=waits)
            .execution_options(synchronize_session=False)
        )


class CommentSave(_FieldSave, apihandlers.CommentHandler):
    """Saves of a grader's comment."""

    table = Comment
    fields = {"manual_comment": _text}

    def current(self, row_id: str) -> dict:
        """The comment as it stands; 404 if there is none."""
        try:
            return self.gradebook.find_comment_by_id(row_id).to_dict()
        except MissingEntry:
            raise web.HTTPError(404) from None


def install() -> None:
    """Route Formgrader's grade and comment saves here instead of to nbgrader's handlers.

    nbgrader_config.py calls this; Formgrader reads that file when the Jupyter server loads it,
    before it registers its routes from ``apihandlers.default_handlers``. So the course's saves
    are active in every Formgrader started in the course folder (``jupyter lab`` there), with
    the course's page templates, and in no other; a Jupyter server extension of their own would
    have to be enabled in the environment's Jupyter configuration or on every command line, and
    its routes would race nbgrader's for precedence. Calling this again changes nothing."""
    ours = {apihandlers.GradeHandler: GradeSave, apihandlers.CommentHandler: CommentSave}
    apihandlers.default_handlers[:] = [
        (route, ours.get(handler, handler), *rest)
        for route, handler, *rest in apihandlers.default_handlers
    ]
