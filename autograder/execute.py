"""nbgrader's Execute step, run in the sandbox, and stopped for good at the first fatal cell.

A cell that times out, runs out of memory or ends the kernel (a crash, `os._exit`, the notebook time
limit) stops the notebook: the kernel and everything it started are killed, that cell gets a
`KernelStopped` error naming the cause, every later code cell a `NotRun` error, and grading scores the
notebook 0. The notebook is still saved, so nbgrader writes the student's feedback.
"""
from __future__ import annotations

from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode

from . import forkserver, guard
from .sandbox import Limits, SandboxKernelManager, describe_exit

STOPPED, NOT_RUN, TAMPERED = "KernelStopped", "NotRun", "TamperedKernel"

#: {notebook stem: the submitted file}, set by the grading worker before each autograde: the file
#: copied into the sandbox's work folder.
SUBMITTED: dict[str, Path] = {}
#: {notebook stem: what the guard had to undo before the test cells}, read by the grading worker.
TAMPERING: dict[str, list[str]] = {}


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def cell_label(cell: NotebookNode, index: int) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"


class SandboxedExecute(Execute):
    notebook_timeout = Integer(600, help="seconds the whole notebook may run").tag(config=True)
    memory_mb = Integer(4096, help="memory limit of the kernel's processes (MiB)").tag(config=True)
    file_mb = Integer(64, help="largest file student code may write (MiB)").tag(config=True)
    processes = Integer(256, help="processes and threads the kernel may have").tag(config=True)
    tmp_mb = Integer(256, help="size of the kernel's private /tmp (MiB)").tag(config=True)
    disk_mb = Integer(512, help="what the kernel's work folder may hold (MiB)").tag(config=True)
    max_output = Integer(1_000_000, help="characters of output kept per cell").tag(config=True)
    isolation = Unicode("bwrap", help="'bwrap' or 'none' (resource limits only)").tag(config=True)
    kernels = Unicode("fork", help="'fork': fork kernels from a template sandbox that has imported `preload` "
                      "(forkserver.py); 'fresh': a new sandbox and Python per notebook").tag(config=True)
    preload = List(Unicode(), help="modules the kernel template imports once").tag(config=True)

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
        self._fatal, self._output_size, self._guarded = None, {}, False
        self._key = (resources or {}).get("unique_key", "")
        TAMPERING[self._key] = []
        return super().preprocess(nb, resources, km)

    def _guard(self, cell: NotebookNode, index: int) -> None:
        """Install the guard before the first cell; run it before each graded test cell (guard.py)."""
        if not self._guarded:
            expression, nonce = guard.setup_expression(), None
            self._guarded = True
        elif cell.metadata.get("nbgrader", {}).get("grade"):
            nonce = guard.new_nonce()
            expression = guard.check_expression(nonce)
        else:
            return
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"guard": expression})
        reply = self.wait_for_reply(msg_id)
        found = guard.read_reply(reply or {}, nonce) if nonce else []
        if nonce is None and (reply or {}).get("content", {}).get("user_expressions", {}).get(
                "guard", {}).get("status") != "ok":
            found = ["the grader's guard could not be installed"]
        for f in found:
            note = f"before {cell_label(cell, index)}: {f}"
            if not any(n.endswith(f) for n in TAMPERING[self._key]):
                TAMPERING[self._key].append(note)

    def _canary(self, cell: NotebookNode, index: int) -> None:
        """A passing test cell counts only if the kernel still fails a canary's checks (guard.py)."""
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return
        nonce = guard.new_nonce()
        probe = NotebookNode(cell_type="code", source=guard.canary_source(nonce, guard.canary_value()),
                             metadata={}, outputs=[], execution_count=None)
        probe = self.execute_cell(probe, index, store_history=False)
        self.nb.cells[index] = cell   # execute_cell put the probe in the test cell's place
        wrong = guard.canary_verdict(probe.get("outputs", []), nonce)
        if wrong:
            if not any("the canary failed" in n for n in TAMPERING[self._key]):   # once per notebook
                TAMPERING[self._key].append(f"after {cell_label(cell, index)}: the canary failed: {wrong}")
            cell.setdefault("outputs", []).append(_error(
                TAMPERED, f"this kernel cannot be trusted to run checks: {wrong}, so this cell scores 0"))

    def _stop(self, cell: NotebookNode, index: int, cause: str) -> None:
        self._fatal = f"{cell_label(cell, index)} {cause}"
        if isinstance(self.km, SandboxKernelManager):
            self.km.hard_kill()
        cell.setdefault("outputs", []).append(_error(
            STOPPED, f"{cause}: the kernel was stopped, the rest of the notebook was not run, and the notebook scores 0"))

    def _death_cause(self) -> str:
        km = self.km
        if isinstance(km, SandboxKernelManager):
            if km.stopped_because:
                return km.stopped_because
            return describe_exit(km.exit_status())
        return "ended the kernel"

    def preprocess_cell(self, cell, resources, index):
        if self._fatal:
            if cell.cell_type == "code":
                cell.outputs = [_error(NOT_RUN, f"not run: {self._fatal}")]
            return cell, resources
        try:
            if cell.cell_type == "code":
                self._guard(cell, index)
            if cell.metadata.get("nbgrader", {}).get("grade"):
                # not in IPython's history (In, _ih), where later student cells could print the hidden tests
                cell = self.execute_cell(cell, index, store_history=False)
                self._canary(cell, index)
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
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most `max_output` characters of a cell's output (100 MB on one line stays out)."""
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        used = self._output_size.get(cell_index, 0)
        self._output_size[cell_index] = used + size
        if used >= self.max_output:
            return None
        if used + size > self.max_output and msg.get("msg_type") == "stream":
            content["text"] = content["text"][: self.max_output - used] + (
                f"\n[output truncated: more than {self.max_output} characters]\n")
        elif used + size > self.max_output:
            return super().output(outs, {**msg, "msg_type": "stream", "content": {
                "name": "stdout", "text": f"[output truncated: more than {self.max_output} characters]\n"}},
                display_id, cell_index)
        return super().output(outs, msg, display_id, cell_index)
