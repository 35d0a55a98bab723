"""nbgrader's Execute step, run in the sandbox, and stopped for good at the first fatal cell.

A cell that times out, runs out of memory or ends the kernel (a crash, `os._exit`, the notebook time
limit) stops the notebook: the kernel and everything it started are killed, that cell gets a
`KernelStopped` error naming the cause, every later code cell a `NotRun` error, and grading scores the
notebook 0. The notebook is still saved, so nbgrader writes the student's feedback.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Enum, List, Unicode

from . import agent, checker, forkserver, iopub, logs, rpc
from .agentlink import AgentLink
from .checkview import check_outputs, error_output, explain_unbound, raised_names
from .outcome import NOT_RUN, STOPPED, VERDICT, cell_label, clear_verdicts
from .outputs import OutputBudget, cap_error
from .jail import describe_exit
from .options import Limits
from .sandbox import SandboxKernelManager


#: "start" and "done" of each notebook's run, with the notebook's stem, for the progress bar (progress.py)
PROGRESS = logs.LOG.getChild("progress")


class SandboxedExecute(OutputBudget, Execute):
    limits = Dict(help="the sandbox's limits: fields of sandbox.Limits (defaults for those not given)").tag(config=True)
    isolation = Unicode("bwrap", help="'bwrap' or 'none' (resource limits only)").tag(config=True)
    kernels = Unicode("fork", help="'fork': fork kernels from a template sandbox that has imported `preload` "
                      "(forkserver.py); 'fresh': a new sandbox and Python per notebook").tag(config=True)
    preload = List(Unicode(), help="modules the kernel template imports once").tag(config=True)
    source_dir = Unicode("", help="the source notebooks (with hidden tests) the checker runs").tag(config=True)
    # output still arriving after a cell finished is the learner's flood, not a timeout: note it and go on
    raise_on_iopub_timeout = Bool(False).tag(config=True)
    # the kernel's work is done and the sandbox is emptied after it: a graceful shutdown only polls for 0.1 s
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)
    # widgets' state went into the graded notebook past every output limit; the course uses none, pages can't run them
    store_widget_state = Bool(False).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        self._fatal: str | None = None
        self.restart_output_budget()

    @property
    def sandbox_limits(self) -> Limits:
        return Limits(**self.limits)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        limits = self.sandbox_limits
        key = (self.resources or {}).get("unique_key", "")
        sandboxed = self.isolation == "bwrap"
        # forking needs the sandbox's PID namespace: the template's reset kills every process in it
        template = forkserver.ready_template(limits, self.preload) if sandboxed and self.kernels == "fork" else None
        km.configure(limits, sandboxed, self._submitted_file(key), template)
        return km

    def _submitted_file(self, key: str) -> Path | None:
        """The learner's notebook as handed in (nbgrader's submitted/ folder), which the kernel's work folder
        gets a copy of: not the notebook being run, which holds the hidden tests."""
        info = (self.resources or {}).get("nbgrader", {})
        if not info.get("student") or not info.get("assignment"):
            return None
        course = CourseDirectory(config=self.config)
        return Path(course.format_path(course.submitted_directory, info["student"], info["assignment"])) / f"{key}.ipynb"

    def preprocess(self, nb, resources=None, km=None):
        key = (resources or {}).get("unique_key", "")
        clear_verdicts(nb)   # only the checker's verdicts of this run count, never what a submission carries
        PROGRESS.debug("%s: start", key, extra={"event": "start", "notebook": key})
        try:
            with self.notebook(key):
                return super().preprocess(nb, resources, km)
        finally:
            PROGRESS.debug("%s: done", key, extra={"event": "done", "notebook": key})

    @contextmanager
    def notebook(self, key: str):
        """One notebook's grading state: its checker (from `source_dir/<key>.ipynb`), its verdicts, its
        output budget, and the socket checks use (closed at the end)."""
        self._key, self._link = key, None
        self.restart_budget()
        self.outcomes: dict[str, checker.Outcome] = {}
        self._raised: dict[str, str] = {}   # names of the learner's exercise cells that raised (checkview.py)
        source = Path(self.source_dir) / f"{self._key}.ipynb" if self.source_dir else None
        self._checker = checker.Checker(checker.spec_for(source)) if source and source.is_file() else None
        try:
            yield self
        finally:
            if self._link is not None:
                self._link.close()
            if self._checker is not None:   # the learner's values it holds go now, not at a later collection
                self._checker.ns.clear()

    def restart_budget(self) -> None:
        """Forget the output already counted and the fatal cell: a fresh notebook as far as limits go."""
        self._fatal = None
        self.restart_output_budget()

    @property
    def stopped(self) -> str | None:
        """Why the kernel was stopped ("head_dim timed out (...)"), or None while it runs."""
        return self._fatal

    def _agent_link(self) -> AgentLink:
        """The socket the learner's kernel connects to for each check (made once per notebook)."""
        if self._link is None:
            work = getattr(self.km, "_workdir", None)
            if work is None:
                raise RuntimeError("no work folder for the kernel: checks need the sandbox's kernel manager")
            self._link = AgentLink(work)
        return self._link

    def _run_check(self, cell: NotebookNode, index: int) -> NotebookNode:
        """Run a graded check in the trusted checker (checker.py); the learner's kernel only answers it."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        deadline = time.monotonic() + self.timeout
        conn, reply, msg_id = self._agent_link().start(self.kc, self.timeout, deadline, self._kernel_alive)
        outcome, learner_output = None, ""
        if conn is None:
            why = "it answered without connecting" if reply else "it did not connect in time"
            outcome = checker.Outcome(False, ename="KernelUnreachable", evalue=(
                f"the grader could not reach your notebook's kernel to run this check ({why}: did your code "
                "change Python's socket module, IPython, or leave the kernel busy?), so this check scores 0"))
        if conn is not None:
            peer = checker.TrustedPeer(conn)
            peer.deadline = deadline
            try:
                outcome = self._checker.run(grade_id, peer)
                learner_output = self._learner_output(peer)
            except rpc.RemoteError as err:
                if time.monotonic() >= deadline:
                    raise CellTimeoutError(f"check {grade_id} timed out") from None
                if not self._kernel_alive():
                    raise DeadKernelError("the kernel died during a check") from None
                outcome = checker.Outcome(False, ename="KernelUnreachable", evalue=(
                    f"your notebook's kernel stopped answering the grader during this check ({err}), "
                    "so this check scores 0"))
            finally:
                conn.close()
        if not self._kernel_alive():
            raise DeadKernelError("the kernel died during a check")
        if not outcome.passed:
            outcome.evalue = explain_unbound(outcome.evalue, self._raised)
        if reply is None:
            self.wait_for_reply(msg_id, cell)
        cell.outputs = check_outputs(outcome, learner_output if isinstance(learner_output, str) else "")
        self.outcomes[grade_id] = outcome
        cell.metadata[VERDICT] = {"passed": outcome.passed, "error": f"{outcome.ename}: {outcome.evalue}"}
        return cell

    def _learner_output(self, peer: checker.TrustedPeer) -> str:
        """What the learner's code printed during the check, as the kernel's end of the check returns it.
        The verdict is in by then: a kernel that answers `done` with an error costs nothing more than the
        output it would have shown."""
        try:
            output = peer.request("done")   # rpc.RemoteError (a broken or silent kernel) is not caught here
        except Exception as err:  # noqa: BLE001 - whatever the learner's kernel raised, rebuilt here
            return f"[the grader could not read it: {type(err).__name__}]"
        return output[:agent.MAX_OUTPUT] if isinstance(output, str) else ""   # a replaced agent may send more

    def _kernel_alive(self) -> bool:
        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:   # noqa: BLE001
            return False

    def on_cell_executed(self, **kwargs):
        """Runs once the reply is in and nbclient has stopped waiting for the cell's output. nbgrader's
        version adds the reply's error when the output channel lost it: a check that runs in the kernel
        (checker.LEARNER_SIDE) is judged by its execute reply, which a flood of output can't drop."""
        self._incomplete = not self._idle
        content = kwargs["execute_reply"].get("content", {})
        if content.get("status") == "error":   # at most MAX_REPLY bytes (iopub.py), and kept like any output
            cap_error(content, max(200, min(self.max_output, self.max_notebook_output - self._output_total)))
        super().on_cell_executed(**kwargs)

    def process_message(self, msg, cell, cell_index):
        content = msg.get("content")
        if msg.get("msg_type") == "status" and isinstance(content, dict) and content.get("execution_state") == "idle":
            self._idle = True   # the kernel's last output message for this cell has arrived
        return super().process_message(msg, cell, cell_index)   # OutputBudget's, then nbclient's

    def _run_in_kernel(self, cell: NotebookNode, index: int) -> NotebookNode:
        """A check of *how* the learner computed something (checker.LEARNER_SIDE) runs in the learner's
        kernel, outside IPython's history; stderr and displayed values never decide its score."""
        cell = self.execute_cell(cell, index, store_history=False)
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                out["name"] = "stdout"
            if out.get("output_type") != "execute_result":
                kept.append(out)
        cell.outputs = kept
        return cell

    def _note_lost_output(self, cell: NotebookNode) -> None:
        """Say so in the cell when the output channel dropped an oversized message (iopub.py)."""
        cuts = self.kc.dropped_connections() if hasattr(self.kc, "dropped_connections") else 0
        if cell.cell_type != "code" or not (cuts or self._incomplete):
            return
        note = (f"[output lost: your code sent more than {iopub.MAX_MESSAGE >> 20} MiB of output at once; the "
                "grader dropped it and whatever was sent just after it]\n" if cuts else
                f"[output incomplete: this cell finished, but its output had not all arrived {self.iopub_timeout} s "
                "later (a flood of output, here or in an earlier cell); the grader went on without the rest]\n")
        cell.setdefault("outputs", []).append(NotebookNode(output_type="stream", name="stdout", text=note))

    def _stop(self, cell: NotebookNode, index: int, cause: str) -> None:
        self._fatal = f"{cell_label(self.nb.cells, index)} {cause}"
        if isinstance(self.km, SandboxKernelManager):
            self.km.hard_kill()
        cell.setdefault("outputs", []).append(error_output(
            STOPPED, f"{cause}: the kernel was stopped, the rest of the notebook was not run, and the notebook scores 0"))

    def _reply_cut(self, cell: NotebookNode, index: int) -> None:
        """The request channel was cut (iopub.ReplyTooLarge): by an oversized reply or garbage, or by the
        kernel's death."""
        if any(not self._kernel_alive() or time.sleep(0.2) for _ in range(5)):   # it died: no reply was lost
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("ename") != iopub.ReplyTooLarge.__name__]
            self._stop(cell, index, self._death_cause())
        else:
            self._stop(cell, index, self.kc.reply_cut or "cut the grader's channel for replies")

    def _death_cause(self) -> str:
        km = self.km
        if isinstance(km, SandboxKernelManager):
            if km.stopped_because:
                return km.stopped_because
            if km.out_of_memory():
                return (f"ran out of memory (limit {self.sandbox_limits.memory_mb} MiB for the notebook and every process "
                        "it started)")
            return describe_exit(km.exit_status())
        return "ended the kernel"

    def preprocess_cell(self, cell, resources, index):
        self._idle, self._incomplete = False, False
        if self._fatal:
            if cell.cell_type == "code":
                cell.outputs = [error_output(NOT_RUN, f"not run: {self._fatal}")]
            return cell, resources
        try:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
                if grade_id in checker.HELPER_CELLS:
                    # the checks' shared helpers (hidden tests): the checker holds them; the kernel never sees them
                    cell.outputs, cell.execution_count = [], None
                elif self._checker is not None and grade_id in self._checker.spec.checks \
                        and grade_id not in checker.LEARNER_SIDE:
                    cell = self._run_check(cell, index)
                else:
                    cell = self._run_in_kernel(cell, index)
            else:
                cell, resources = super().preprocess_cell(cell, resources, index)
                self._raised.update(raised_names(cell))
        except iopub.ReplyTooLarge:
            self._reply_cut(cell, index)
        except CellTimeoutError:
            cause = (getattr(self.km, "stopped_because", None)
                     or f"timed out (limit {self.timeout} s per cell)")
            self._stop(cell, index, cause)
        except DeadKernelError:
            self._stop(cell, index, self._death_cause())
        else:
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if any(o.get("ename") == "MemoryError" for o in errors):
                self._stop(cell, index, f"ran out of memory (limit {self.sandbox_limits.memory_mb} MiB)")
        if self.kc is not None and getattr(self.kc, "reply_cut", None) and not self._fatal:
            self._reply_cut(cell, index)
        if self.kc is not None and not self._fatal:   # a stopped kernel's channel closes: that is no lost output
            self._note_lost_output(cell)
        return cell, resources
