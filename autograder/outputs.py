"""How much output a graded notebook keeps: at most `max_output` characters per cell and `max_notebook_output`
for the whole notebook, every cell and output type together, so that a feedback page and the grader's memory
stay small whatever a learner prints. A mixin of the executor (execute.py), on nbclient's output hooks."""
from __future__ import annotations

from nbformat import ValidationError
from traitlets import Integer
from traitlets.config import Configurable

DISPLAYS = ("execute_result", "display_data", "update_display_data")


def cap_error(content: dict, limit: int) -> dict:
    """An error's message and traceback shortened in place to about `limit` characters in all (the ends that
    say the most: the message's start and the innermost frames). Returns `content`."""
    evalue, trace = str(content.get("evalue", "")), [str(t) for t in content.get("traceback", [])]
    if len(evalue) + sum(map(len, trace)) <= limit:
        return content
    half = max(limit // 2, 100)
    cut = " [... the rest cut: the grader keeps a few characters of an error this long]"
    content["evalue"] = evalue[:half] + (cut if len(evalue) > half else "")
    kept: list[str] = []
    for line in reversed(trace):
        if half <= 0:
            break
        kept.insert(0, line[:half] + (cut if len(line) > half else ""))
        half -= len(line)
    content["traceback"] = kept
    return content


class OutputBudget(Configurable):
    max_output = Integer(1_000_000, help="characters of output kept per cell").tag(config=True)
    max_notebook_output = Integer(3_000_000, help="characters of output kept per notebook, every cell and "
                                  "output type together").tag(config=True)

    def restart_output_budget(self) -> None:
        """A fresh notebook: nothing counted yet."""
        self._output_size: dict[int, int] = {}
        self._output_total, self._said_full = 0, False
        self._cells_with_error: set[int] = set()

    def count_display(self, msg: dict) -> dict | None:
        """A display handle's `.update()` rewrites earlier outputs, so it counts against the notebook's output:
        over the budget, an update is dropped (None) and a new display updates nothing earlier."""
        content, kind = msg.get("content", {}), msg.get("msg_type")
        if not ((content.get("transient") or {}).get("display_id") and kind in DISPLAYS):
            return msg
        self._output_total += sum(len(str(v)) for v in content.get("data", {}).values())
        if self._output_total <= self.max_notebook_output:
            return msg
        return None if kind == "update_display_data" else {**msg, "content": {**content, "transient": {}}}

    def process_message(self, msg, cell, cell_index):
        """A message that is signed but malformed (the learner's code can send any on the kernel's sockets) is
        skipped, like one that is not signed (iopub.py): it made nbclient fail the whole notebook."""
        try:
            if not isinstance(msg["content"].get("execution_count", 0), (int, type(None))):
                raise TypeError("execution_count is not a number")
            msg = self.count_display(msg)
            return None if msg is None else super().process_message(msg, cell, cell_index)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ValidationError) as err:
            self.log.warning("skipped a malformed %r message (%s: %s)", msg.get("msg_type"), type(err).__name__, err)
            return None

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
        if msg.get("msg_type") == "error":
            return self._error_output(outs, msg, cell_index)
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
        last = outs[-1] if outs else None
        if (msg.get("msg_type") == "stream" and last is not None and last.get("output_type") == "stream"
                and last.get("name") == content.get("name") and not self.clear_before_next_output
                and not self.output_hook_stack.get(msg.get("parent_header", {}).get("msg_id"))):
            # one print can reach the grader in several messages (the kernel flushes on a timer): join them, as
            # Jupyter does, so that a loaded machine doesn't break the learner's lines on the feedback page
            last["text"] += content["text"]
            return last
        return super().output(outs, msg, display_id, cell_index)

    def _error_output(self, outs, msg, cell_index):
        """An error counts against the budgets like any output; over them, it is shortened, and a cell keeps
        one such error at least (its name says how the cell ended: MemoryError stops the notebook)."""
        content = msg.get("content", {})
        size = len(str(content.get("evalue", ""))) + sum(len(str(t)) for t in content.get("traceback", []))
        left = min(self._budget(cell_index, size))
        if left <= 0 and cell_index in self._cells_with_error:
            return None
        self._cells_with_error.add(cell_index)
        cap_error(content, max(left, 200))
        return super().output(outs, msg, None, cell_index)
