"""Run a submission's notebook for grading, in the sandbox, and contain what goes wrong.

nbgrader's own ``Execute`` stops a notebook at the first kernel that dies, waits for a hung
cell again and again, and keeps every byte a cell prints. :class:`ContainedExecute` replaces
it in ``nbgrader autograde`` (see ``nbgrader_config.py``):

- every kernel starts in the bubblewrap sandbox (:mod:`autograder.sandbox`); without bwrap it
  refuses to run unless ``sandbox`` is switched off explicitly;
- a cell that runs past the time limit is interrupted; a kernel that does not come back within
  a few seconds is stopped;
- a kernel that dies (``os._exit``, a kill, memory) or floods its output (it is stopped then)
  ends the run of that notebook: the cell where it happened and every later code cell get an
  error output with a one-line reason, so their tests score zero and the learner reads why;
- a notebook may run for a limited time in all.

Everything before the incident keeps its outputs and its points, and the next submission is
graded in a fresh sandbox as if nothing had happened.
"""

from __future__ import annotations

import json
import time

from jupyter_core.utils import run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from .sandbox import SandboxedKernelManager, bwrap_path

# The error names the grader writes into a notebook; course.py's summary looks for them.
STOPPED = "GradingStopped"  # the kernel was stopped or died; the reason follows
TIMED_OUT = "CellTimedOut"  # a cell ran past the limit and was interrupted
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "update_display_data", "error"}


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output whose one line, ``ename: evalue``, is what the learner reads."""
    return NotebookNode(
        output_type="error",
        ename=ename,
        evalue=evalue,
        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"],
    )


class ContainedExecute(Execute):
    """nbgrader's Execute in a sandbox, with kernel deaths, hangs and floods contained."""

    sandbox = Bool(
        True,
        help="Run every kernel in the bubblewrap sandbox. Switch off only on purpose: the"
        " submissions then run with your rights.",
    ).tag(config=True)
    notebook_timeout = Integer(1200, help="seconds a notebook may run in all").tag(config=True)
    output_limit = Integer(
        4 * 1024 * 1024, help="bytes of output a notebook may produce before it is stopped"
    ).tag(config=True)
    interrupt_grace = Integer(
        10, help="seconds a timed-out kernel has to come back after the interrupt"
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        """Execute every code cell as ExecutePreprocessor does, containing what goes wrong."""
        if self.sandbox:
            bwrap_path()  # a clear error, before any kernel starts, when bwrap is missing
            self.kernel_manager_class = SandboxedKernelManager
        else:
            self.log.warning("UNSANDBOXED: this submission runs with your rights")
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.error_on_timeout = dict(
            error_output(
                TIMED_OUT,
                f"this cell ran longer than {self.timeout} s and was interrupted"
                " (an endless loop, or a very long computation?)",
            )
        )
        self._output_bytes, self._flooded = 0, False
        stopped, started = None, time.monotonic()
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                if stopped is None and time.monotonic() - started > self.notebook_timeout:
                    stopped = f"the notebook ran longer than {self.notebook_timeout} s in all"
                    self._kill_kernel()
                if stopped is not None:
                    cell.outputs = [error_output(STOPPED, f"not run: {stopped}")]
                    continue
                self._timed_out_cell = False
                try:
                    self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    stopped = self._death_reason()
                    cell.outputs.append(error_output(STOPPED, stopped))
                    self.log.warning("contained: %s", stopped)
                    continue
                except CellTimeoutError:  # not even the interrupt got an answer
                    self._timed_out_cell = True
                if self._timed_out(cell) and not self._kernel_recovers():
                    stopped = (
                        f"a cell ran longer than {self.timeout} s and the kernel did not"
                        " respond to the interrupt, so it was stopped"
                    )
                    cell.outputs.append(error_output(STOPPED, stopped))
                    self.log.warning("contained: %s", stopped)
                    self._kill_kernel()
        self.set_widgets_metadata()
        return self.nb, self.resources

    def process_message(self, msg, cell, cell_index):
        """Count every output's bytes; past the limit, drop them and stop the kernel."""
        if msg["msg_type"] in OUTPUT_TYPES:
            self._output_bytes += len(json.dumps(msg["content"], default=str))
            if self._output_bytes > self.output_limit:
                if not self._flooded:
                    self._flooded = True
                    self._kill_kernel()
                return None
        return super().process_message(msg, cell, cell_index)

    def _timed_out(self, cell) -> bool:
        outputs = cell.get("outputs", [])
        return self._timed_out_cell or any(o.get("ename") == TIMED_OUT for o in outputs)

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
        if self._flooded:
            return (
                f"the notebook printed more than {self.output_limit:,} bytes of output, so its"
                " kernel was stopped"
            )
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code in (-9, 137):
            return "the kernel was killed (out of memory, or it killed itself)"
        return (
            f"the kernel stopped while this cell ran (exit status {code}: os._exit, a crash,"
            " or a signal?)"
        )
