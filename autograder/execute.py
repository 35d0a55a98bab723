"""nbgrader's Execute step, run in the sandbox, and stopped for good at the first fatal cell.

A cell that times out, runs out of memory or ends the kernel (a crash, `os._exit`, the notebook time
limit) stops the notebook: the kernel and everything it started are killed, that cell gets a
`KernelStopped` error naming the cause, every later code cell a `NotRun` error, and grading scores the
notebook 0. The notebook is still saved, so nbgrader writes the student's feedback.
"""
from __future__ import annotations

import os
import secrets
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, List, Unicode

from . import agent, checker, forkserver, iopub, rpc
from .feedback import LEARNER_FRAMES
from .sandbox import Limits, SandboxKernelManager, describe_exit

STOPPED, NOT_RUN = "KernelStopped", "NotRun"

#: {notebook stem: the submitted file}, set by the grading worker before each autograde: the file
#: copied into the sandbox's work folder.
SUBMITTED: dict[str, Path] = {}
#: {notebook stem: {grade_id: the checker's outcome}}, read by the grading worker.
OUTCOMES: dict[str, dict] = {}
#: called with ("start" or "done", notebook stem) around each notebook's run: the grading worker's progress
PROGRESS: list = []


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _check_outputs(outcome: checker.Outcome, learner_output: str) -> list[NotebookNode]:
    """The outputs a check shows in the feedback. They report the checker's verdict; they never make it."""
    outputs = []
    if outcome.output:
        outputs.append(NotebookNode(output_type="stream", name="stdout", text=outcome.output))
    if learner_output:
        outputs.append(NotebookNode(output_type="stream", name="stdout",
                                    text="[printed by your code while this check ran]\n" + learner_output))
    if not outcome.passed:
        error = _error(outcome.ename, outcome.evalue)
        if outcome.learner_trace:
            error.traceback.append(LEARNER_FRAMES + "\n" + outcome.learner_trace)
        outputs.append(error)
    return outputs


def cell_label(cells: list, index: int) -> str:
    """A cell's name as the feedback page shows it: its grade id (`head_dim`, `check_split_heads`), or, for a
    cell without one, where it stands: `the cell after check_split_heads`, never a number the page doesn't show
    (a repair note or a learner's extra cells shift the numbers anyway)."""
    def gid(i: int) -> str:
        return cells[i].metadata.get("nbgrader", {}).get("grade_id") or ""

    if gid(index):
        return gid(index)
    before = next((gid(i) for i in range(index - 1, -1, -1) if gid(i)), "")
    after = next((gid(i) for i in range(index + 1, len(cells)) if gid(i)), "")
    return f"the cell after {before}" if before else f"the cell before {after}" if after else f"code cell {index + 1}"


class SandboxedExecute(Execute):
    notebook_timeout = Integer(600, help="seconds the whole notebook may run").tag(config=True)
    memory_mb = Integer(4096, help="memory limit of the kernel's processes (MiB)").tag(config=True)
    file_mb = Integer(64, help="largest file student code may write (MiB)").tag(config=True)
    processes = Integer(256, help="processes and threads the kernel may have").tag(config=True)
    tmp_mb = Integer(256, help="size of the kernel's private /tmp (MiB)").tag(config=True)
    disk_mb = Integer(512, help="what the kernel's work folder may hold (MiB)").tag(config=True)
    max_output = Integer(1_000_000, help="characters of output kept per cell").tag(config=True)
    max_notebook_output = Integer(3_000_000, help="characters of output kept per notebook, every cell and "
                                  "output type together").tag(config=True)
    isolation = Unicode("bwrap", help="'bwrap' or 'none' (resource limits only)").tag(config=True)
    kernels = Unicode("fork", help="'fork': fork kernels from a template sandbox that has imported `preload` "
                      "(forkserver.py); 'fresh': a new sandbox and Python per notebook").tag(config=True)
    preload = List(Unicode(), help="modules the kernel template imports once").tag(config=True)
    source_dir = Unicode("", help="the source notebooks (with hidden tests) the checker runs").tag(config=True)
    # output still arriving after a cell finished is the learner's flood, not a timeout: note it and go on
    raise_on_iopub_timeout = Bool(False).tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
        self._fatal: str | None = None
        self._output_size: dict[int, int] = {}

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        limits = Limits(self.notebook_timeout, self.memory_mb, self.file_mb, self.processes, self.tmp_mb,
                        self.disk_mb)
        key = (self.resources or {}).get("unique_key", "")
        sandboxed = self.isolation == "bwrap"
        # forking needs the sandbox's PID namespace: the template's reset kills every process in it
        template = forkserver.ready_template(limits, self.preload) if sandboxed and self.kernels == "fork" else None
        km.configure(limits, sandboxed, SUBMITTED.get(key), template)
        return km

    def preprocess(self, nb, resources=None, km=None):
        key = (resources or {}).get("unique_key", "")
        for tell in PROGRESS:
            tell("start", key)
        try:
            with self.notebook(key):
                return super().preprocess(nb, resources, km)
        finally:
            for tell in PROGRESS:
                tell("done", key)

    @contextmanager
    def notebook(self, key: str):
        """One notebook's grading state: its checker (from `source_dir/<key>.ipynb`), its verdicts, its
        output budget, and the socket checks use (closed at the end)."""
        self._key, self._sock, self._sock_path = key, None, ""
        self.restart_budget()
        self.outcomes: dict[str, checker.Outcome] = {}
        OUTCOMES[self._key] = self.outcomes
        source = Path(self.source_dir) / f"{self._key}.ipynb" if self.source_dir else None
        self._checker = checker.Checker(checker.spec_for(source)) if source and source.is_file() else None
        try:
            yield self
        finally:
            if self._sock is not None:
                self._sock.close()
                Path(self._sock_path).unlink(missing_ok=True)

    def restart_budget(self) -> None:
        """Forget the output already counted and the fatal cell: a fresh notebook as far as limits go."""
        self._fatal, self._output_size, self._output_total, self._said_full = None, {}, 0, False

    @property
    def stopped(self) -> str | None:
        """Why the kernel was stopped ("head_dim timed out (...)"), or None while it runs."""
        return self._fatal

    def _listener(self) -> socket.socket | None:
        """The socket the learner's kernel connects to for each check, in its work folder (made once per
        notebook by the grader; the kernel can only connect to it)."""
        if self._sock is None:
            work = getattr(self.km, "_workdir", None)
            if work is None:
                return None
            path = Path(work) / f".grader-{secrets.token_hex(8)}.sock"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(path))
            os.chmod(path, 0o777)   # the kernel may run as a uid of its own
            sock.listen(1)
            self._sock, self._sock_path = sock, str(path)
        return self._sock

    def _run_check(self, cell: NotebookNode, index: int) -> NotebookNode:
        """Run a graded check in the trusted checker (checker.py); the learner's kernel only answers it."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        deadline = time.monotonic() + self.timeout
        listener = self._listener()
        if listener is None:
            raise RuntimeError("no work folder for the kernel: checks need the sandbox's kernel manager")
        msg_id = self.kc.execute(agent.serve_code(self._sock_path, self.timeout), silent=True,
                                 store_history=False, allow_stdin=False)
        outcome, learner_output = None, ""
        conn, reply = self._accept(listener, msg_id, deadline)
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
                learner_output = peer.request("done")
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
        if reply is None:
            self.wait_for_reply(msg_id, cell)
        cell.outputs = _check_outputs(outcome, learner_output if isinstance(learner_output, str) else "")
        self.outcomes[grade_id] = outcome
        return cell

    def _accept(self, listener: socket.socket, msg_id: str, deadline: float) -> tuple[socket.socket | None, dict | None]:
        """The agent's connection, or (None, its execute reply) when the kernel answered without connecting
        (the agent failed), or (None, None) when the kernel neither connected nor answered in time."""
        listener.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                return listener.accept()[0], None
            except OSError:
                pass
            if not self._kernel_alive():
                raise DeadKernelError("the kernel died before a check")
            while run_sync(self.kc.shell_channel.msg_ready)():
                msg = run_sync(self.kc.shell_channel.get_msg)(timeout=1)
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    return None, msg
        raise CellTimeoutError("the kernel did not start the check in time")

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
        super().on_cell_executed(**kwargs)

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") == "status" and msg.get("content", {}).get("execution_state") == "idle":
            self._idle = True   # the kernel's last output message for this cell has arrived
        return super().process_message(msg, cell, cell_index)

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
        cell.setdefault("outputs", []).append(_error(
            STOPPED, f"{cause}: the kernel was stopped, the rest of the notebook was not run, and the notebook scores 0"))

    def _death_cause(self) -> str:
        km = self.km
        if isinstance(km, SandboxKernelManager):
            if km.stopped_because:
                return km.stopped_because
            if km.out_of_memory():
                return (f"ran out of memory (limit {self.memory_mb} MiB for the notebook and every process "
                        "it started)")
            return describe_exit(km.exit_status())
        return "ended the kernel"

    def preprocess_cell(self, cell, resources, index):
        self._idle, self._incomplete = False, False
        if self._fatal:
            if cell.cell_type == "code":
                cell.outputs = [_error(NOT_RUN, f"not run: {self._fatal}")]
            return cell, resources
        try:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
                if self._checker is not None and grade_id in self._checker.spec.checks \
                        and grade_id not in checker.LEARNER_SIDE:
                    cell = self._run_check(cell, index)
                else:
                    cell = self._run_in_kernel(cell, index)
            else:
                cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            cause = (getattr(self.km, "stopped_because", None)
                     or f"timed out (limit {self.timeout} s per cell)")
            self._stop(cell, index, cause)
        except DeadKernelError:
            self._stop(cell, index, self._death_cause())
        else:
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if any(o.get("ename") == "MemoryError" for o in errors):
                self._stop(cell, index, f"ran out of memory (limit {self.memory_mb} MiB)")
        if self.kc is not None:
            self._note_lost_output(cell)
        return cell, resources

    def _budget(self, cell_index: int, size: int) -> tuple[int, int]:
        """(characters this cell may still show, characters the notebook may still show), before `size`."""
        used = self._output_size.get(cell_index, 0)
        self._output_size[cell_index] = used + size
        total = self._output_total
        self._output_total = total + size
        return self.max_output - used, self.max_notebook_output - total

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most `max_output` characters of a cell's output and `max_notebook_output` of the whole
        notebook's, so that a feedback page and the grader's memory stay small whatever a learner prints."""
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        cell_left, notebook_left = self._budget(cell_index, size)
        left = min(cell_left, notebook_left)
        what = (f"more than {self.max_output} characters in this cell" if cell_left <= notebook_left else
                f"more than {self.max_notebook_output} characters in this notebook")
        if left <= 0:
            if notebook_left > 0 or self._said_full:
                return None
            self._said_full = True   # say it once, where the first output is dropped
            size, left = 1, 0
            what = f"more than {self.max_notebook_output} characters in this notebook"
        elif size > left and notebook_left < cell_left:
            self._said_full = True
        if size > left and msg.get("msg_type") == "stream" and left > 0:
            content["text"] = content["text"][:left] + f"\n[output truncated: {what}]\n"
        elif size > left:
            note = {"name": "stdout", "text": f"[output truncated: {what}]\n"}
            return super().output(outs, {**msg, "msg_type": "stream", "content": note,
                                         "header": {**msg.get("header", {}), "msg_type": "stream"}}, None, cell_index)
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        """A display handle's `.update()` counts against the notebook's output like any other output."""
        content = msg.get("content", {})
        size = sum(len(str(v)) for v in content.get("data", {}).values())
        self._output_total += size
        if self._output_total > self.max_notebook_output:
            return None
        return super()._update_display_id(display_id, msg)
