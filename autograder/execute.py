"""Run a submission's notebook for grading, in the sandbox, and contain what goes wrong.

nbgrader's own ``Execute`` stops a notebook at the first kernel that dies, waits for a hung
cell again and again, and keeps every byte a cell prints. :class:`ContainedExecute` replaces
it in ``nbgrader autograde`` (see ``nbgrader_config.py``):

- every kernel starts in the bubblewrap sandbox (:mod:`autograder.sandbox`); without bwrap it
  refuses to run unless ``sandbox`` is switched off explicitly;
- a cell that runs past the time limit is interrupted; a kernel that does not come back within
  a few seconds is stopped;
- a kernel that dies (``os._exit``, a kill, memory) or floods its output (it is stopped then;
  every message it sends counts, widget data and other messages as much as outputs, and the
  sandbox's relay stops a message larger than the limit before the grader holds it)
  ends the run of that notebook: the cell where it happened and every later code cell get an
  error output with a one-line reason, so their tests score zero and the learner reads why;
- a notebook may run for a limited time in all;
- the refereed checks of every test cell are decided in this process, not in the kernel
  (:mod:`autograder.referee`): the notebook's solution runs first, once for each version of
  it and of the checks (the record is kept in the course's ``.referee/`` folder), to record
  what each test cell checks, and a submission's test cell that falls short of that record
  gets an error output (:data:`REFUSED`) with the reason, first in the cell, which scores it
  zero;
- nothing the kernel shows in a refereed test cell is read as its score: learner code may have
  hooked the kernel (an IPython ``pre_run_cell`` hook that displays a value, a handler that
  swallows exceptions), and nbgrader reads a cell's first ``execute_result`` as partial credit
  (text: full marks) before any error. Those outputs become plain displays, so the cell scores
  what the referee decided, or zero where the kernel itself showed an error. A test cell the
  referee does not decide (plain ``assert`` lines) is decided in the kernel, by nbgrader's
  rules, partial credit included: code that ran before it can make it pass.

Everything before the incident keeps its outputs and its points, and the next submission is
graded in a fresh sandbox as if nothing had happened.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_core.utils import run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from resnet_ref.grading.referee import REFEREE_SOCKET

from .cell_errors import GRADER_ERRORS, INTERRUPTED, REFUSED, STOPPED, TIMED_OUT, error_output
from .grading_kit import record_file
from .referee import Record, Referee, shortfall
from .sandbox import SandboxedKernelManager, bwrap_path


class ContainedExecute(Execute):
    """nbgrader's Execute in a sandbox, with kernel deaths, hangs and floods contained."""

    sandbox = Bool(
        True,
        help="Run every kernel in the bubblewrap sandbox. Switch off only on purpose: the"
        " submissions then run with your rights.",
    ).tag(config=True)
    notebook_timeout = Integer(1200, help="seconds a notebook may run in all").tag(config=True)
    output_limit = Integer(
        4 * 1024 * 1024,
        help="bytes a notebook's kernel may send (output, widget data and every other message"
        " of its cells) before it is stopped",
    ).tag(config=True)
    interrupt_grace = Integer(
        10, help="seconds a timed-out kernel has to come back after the interrupt"
    ).tag(config=True)

    # The solution's record of each notebook, by the name of its file (see record_file).
    _expectations: dict[str, dict[str, list[Record]]] = {}

    def preprocess(self, nb, resources=None, km=None):
        """Execute every code cell as ExecutePreprocessor does, containing what goes wrong,
        and hold every test cell to what its solution showed the referee."""
        self._written: dict[int, NotebookNode] = {}
        if self.sandbox:
            bwrap_path()  # a clear error, before any kernel starts, when bwrap is missing
            self.kernel_manager_class = SandboxedKernelManager
        else:
            self.log.warning("UNSANDBOXED: this submission runs with your rights")
        expected = self._expectation(resources)
        records = self._run(nb, resources, km, expected)
        for cell in self.nb.cells:
            key = _test_cell(cell)
            if key is None or not expected.get(key):
                continue
            # Once learner code has run, the kernel is hostile: what it shows in a refereed
            # cell is never a score (nbgrader reads a cell's first execute_result as partial
            # credit, text as full marks, before it looks for an error). Only an error, which
            # scores zero, counts: the kernel can lower its own score, never raise it.
            cell.outputs = [_shown_only(output) for output in cell.outputs]
            reason = shortfall(expected[key], records.get(key, []))
            if reason and not any(o.get("output_type") == "error" for o in cell.outputs):
                # First, so that the learner reads it before whatever the kernel showed.
                cell.outputs.insert(0, self._grader_error(REFUSED, reason))
                self.log.warning("refused %s: %s", key, reason)
        # The summaries read these names as the grader's word ("contained", "ran past the time
        # limit"): a learner's own exception of that name keeps its text, under another name.
        for cell in self.nb.cells:
            for output in cell.get("outputs", []):
                if output.get("ename") in GRADER_ERRORS and id(output) not in self._written:
                    output.ename = f"{output.ename} (raised by the notebook)"
        return self.nb, self.resources

    def _expectation(self, resources) -> dict[str, list[Record]]:
        """What each test cell of the instructor's solution showed the referee; {} when there
        is no solution to run (the cells then count as nbgrader counts them)."""
        info = (resources or {}).get("nbgrader", {})
        coursedir = CourseDirectory(config=self.config)
        source = (
            Path(coursedir.root)
            / coursedir.source_directory
            / str(info.get("assignment", ""))
            / f"{info.get('notebook', '')}.ipynb"
        )
        if not info or not source.is_file():
            return {}
        kept = record_file(Path(coursedir.root), source)
        if kept.name not in self._expectations and kept.is_file():
            found = json.loads(kept.read_text(encoding="utf-8"))
            self._expectations[kept.name] = {k: [Record(**r) for r in v] for k, v in found.items()}
        if kept.name not in self._expectations:
            where = f"{source.parent.name}/{source.name}"
            self.log.info("recording what the solution's test cells check: %s", where)
            solution = nbformat.read(source, as_version=4)
            records = self._run(solution, copy.deepcopy(resources), None, None)
            for key, found in records.items():
                if any(not r.passed for r in found):
                    self.log.error("the solution fails a check in %s: %s", key, found)
            tests = [_test_cell(c) for c in solution.cells if _test_cell(c)]
            refereed = [key for key in tests if records.get(key)]
            self.log.info(
                "%s: %d of %d test cells refereed; decided in the kernel: %s",
                source.name,
                len(refereed),
                len(tests),
                ", ".join(key for key in tests if key not in refereed) or "none",
            )
            self._expectations[kept.name] = records
            kept.parent.mkdir(exist_ok=True)
            plain = {k: [dataclasses.asdict(r) for r in v] for k, v in records.items()}
            kept.write_text(json.dumps(plain, indent=1), encoding="utf-8")
        return self._expectations[kept.name]

    def create_kernel_manager(self):
        """nbclient's kernel manager, and the referee its kernel will reach."""
        km = super().create_kernel_manager()
        if isinstance(km, SandboxedKernelManager):
            km.message_bytes = self.output_limit
            self._referee = Referee(km.referee_socket, km.sandbox_uid, self.timeout, self._expected)
        return km

    def _run(self, nb, resources, km, expected) -> dict[str, list[Record]]:
        """Execute ``nb`` with a referee that holds it to ``expected`` (``None``: it records
        the solution); return what each cell's checks showed it."""
        self._referee, self._records, self._expected = None, {}, expected
        folder = None
        kernel_options = {}
        if not self.sandbox:
            folder = Path(tempfile.mkdtemp(prefix="referee-"))
            self._referee = Referee(folder / "referee.sock", None, self.timeout, expected)
            kernel_options["env"] = {**os.environ, REFEREE_SOCKET: str(self._referee.path)}
        try:
            self._execute(nb, resources, km, kernel_options)
        finally:
            if self._referee is not None:
                self._records = self._referee.records
                self._referee.close()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        return self._records

    def _execute(self, nb, resources, km, kernel_options):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        timed_out = (
            f"this cell ran past the time limit ({self.timeout} s) and was stopped"
            " (an endless loop, or a very long computation?)"
        )
        self.error_on_timeout = dict(error_output(TIMED_OUT, timed_out))
        self._output_bytes, self._flooded = 0, False
        stopped, started = None, time.monotonic()
        with self.setup_kernel(**kernel_options):
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if stopped is None and time.monotonic() - started > self.notebook_timeout:
                    stopped = f"the notebook ran longer than {self.notebook_timeout} s in all"
                    self._kill_kernel()
                if stopped is not None:
                    cell.outputs = [self._grader_error(STOPPED, f"not run: {stopped}")]
                    continue
                self._timed_out_cell = False
                self._referee.begin_cell(_test_cell(cell) or f"cell {index}")
                try:
                    self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    self._referee.end_cell()
                    stopped = self._death_reason()
                    cell.outputs.append(self._grader_error(STOPPED, stopped))
                    self.log.warning("contained: %s", stopped)
                    continue
                except CellTimeoutError:  # not even the interrupt got an answer
                    self._timed_out_cell = True
                self._referee.end_cell()
                if not self._timed_out_cell:
                    continue
                # The interrupt raised KeyboardInterrupt in the kernel, whose traceback (cut to
                # its bare last line in a test cell's feedback) says nothing a learner can use:
                # the cell ends with the one CellTimedOut line instead, also when nbclient gave
                # up before it could add it.
                cell.outputs = [
                    o for o in cell.outputs if o.get("ename") not in (INTERRUPTED, TIMED_OUT)
                ]
                cell.outputs.append(self._grader_error(TIMED_OUT, timed_out))
                if not self._kernel_recovers():
                    stopped = (
                        f"a cell ran past the time limit ({self.timeout} s) and the kernel did"
                        " not respond to the interrupt, so it was stopped"
                    )
                    cell.outputs.append(self._grader_error(STOPPED, stopped))
                    self.log.warning("contained: %s", stopped)
                    self._kill_kernel()
        self.set_widgets_metadata()

    def process_message(self, msg, cell, cell_index):
        """Count the bytes of every message the kernel sends for the cell; past the limit,
        drop them and stop the kernel."""
        # Not only outputs: nbclient keeps widget state (comm messages, with their binary
        # buffers) per comm id and logs comm target names and unknown message types, all of
        # it the kernel's to choose, so any message could fill this process and its log.
        self._output_bytes += message_size(msg)
        if self._output_bytes > self.output_limit:
            if not self._flooded:
                self._flooded = True
                self._kill_kernel()
            if msg["msg_type"] != "status":  # nbclient keeps nothing of it, and ends the cell
                return None
        return super().process_message(msg, cell, cell_index)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out_cell = True  # known here, never from what the kernel shows
        return await super()._async_handle_timeout(timeout, cell)

    def _grader_error(self, ename: str, evalue: str) -> NotebookNode:
        """An error output of the grader's own, which the summaries may read as such."""
        output = error_output(ename, evalue)
        self._written[id(output)] = output  # held, so that no other output takes its id
        return output

    def _kernel_recovers(self) -> bool:
        """After an interrupt, whether the kernel answers a trivial request within the grace."""
        msg_id = self.kc.execute("pass", silent=True, store_history=False)
        deadline = time.monotonic() + self.interrupt_grace
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                reply = run_sync(self.kc.get_shell_msg)(timeout=remaining)
            except Exception:  # queue.Empty at the deadline, or a dead kernel
                return False
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def _kill_kernel(self) -> None:
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        if process is not None and process.poll() is None:
            process.kill()  # bwrap: the sandbox and every process in it go with it

    def _death_reason(self) -> str:
        cut_off = getattr(self.km, "cut_off", None)
        if cut_off:
            return (
                f"the kernel sent the grader {cut_off}, so it was stopped (a notebook may send"
                f" {self.output_limit:,} bytes of output or widget data in all)"
            )
        if self._flooded:
            return (
                f"the notebook sent more than {self.output_limit:,} bytes of output or widget"
                " data, so its kernel was stopped"
            )
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code in (-9, 137):
            return "the kernel was killed (out of memory, or it killed itself)"
        return (
            f"the kernel stopped while this cell ran (exit status {code}: os._exit, a crash,"
            " or a signal?)"
        )


def message_size(msg: dict) -> int:
    """The bytes of a kernel message that nbclient could keep or log: its type, content and
    metadata, and its binary buffers (widget state)."""
    size = len(str(msg.get("msg_type", "")))
    size += len(json.dumps(msg.get("content"), default=str))
    size += len(json.dumps(msg.get("metadata"), default=str))
    return size + sum(memoryview(buffer).nbytes for buffer in msg.get("buffers") or [])


def _shown_only(output: NotebookNode) -> NotebookNode:
    """``output`` as it reads in the feedback, but as a display, which nbgrader never takes for
    a score, where it is an ``execute_result``."""
    if output.get("output_type") != "execute_result":
        return output
    return NotebookNode(
        output_type="display_data",
        data=output.get("data", {}),
        metadata=output.get("metadata", {}),
    )


def _test_cell(cell) -> str | None:
    """The grade id of an autograded test cell, or None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
        return meta.get("grade_id")
    return None
