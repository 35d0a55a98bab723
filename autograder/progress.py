"""The grading progress bar, counted in notebooks from the start: the executor logs each notebook's start
and end (`execute.PROGRESS`), and `listen` hands them on, through a queue when workers are processes of
their own."""
from __future__ import annotations

import logging
import queue
import time
from pathlib import Path
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


class Progress:
    """The progress bar, counted in notebooks: one step as each notebook's run ends (not each student's)."""

    def __init__(self, work: list[tuple[str, list]], show: bool) -> None:
        self.expected = {(sid, Path(sub.notebook).stem) for sid, subs in work for sub in subs}
        self.counted: set[tuple[str, str]] = set()
        self.bar = tqdm(total=len(self.expected), desc="grading", unit="notebook", disable=not show,
                        mininterval=0.5)
        self.bar.set_postfix_str("starting")
        self.shown = time.monotonic()

    def event(self, student_id: str, what: str, stem: str) -> None:
        if what == "start":
            self.bar.set_postfix_str(f"{student_id} {stem}")
        elif what == "done":
            self._count(student_id, stem)

    def _count(self, student_id: str, stem: str) -> None:
        if (student_id, stem) in self.expected and (student_id, stem) not in self.counted:
            self.counted.add((student_id, stem))
            self.bar.update()

    def unit_done(self, student_id: str, subs: list) -> None:
        """These notebooks count now, also those that never ran (autograde failed)."""
        for sub in subs:
            self._count(student_id, Path(sub.notebook).stem)

    def drain(self, events) -> list[tuple[str, str, str]]:
        """Take every event the workers have sent so far ((student_id, "start" or "done", stem), and others
        for the caller), and return them."""
        taken = []
        while True:
            try:
                taken.append(events.get_nowait())
            except queue.Empty:
                break
            self.event(*taken[-1])
        if time.monotonic() - self.shown >= 1:   # the elapsed time moves even while a long notebook runs
            self.bar.refresh()
            self.shown = time.monotonic()
        return taken

    def close(self) -> None:
        self.bar.close()


class _Events(logging.Handler):
    def __init__(self, student_id: str, send: Callable[[tuple[str, str, str]], None]) -> None:
        super().__init__(logging.DEBUG)
        self.student_id, self.send = student_id, send

    def emit(self, record: logging.LogRecord) -> None:
        event, notebook = getattr(record, "event", None), getattr(record, "notebook", None)
        if event and notebook is not None:
            self.send((self.student_id, event, notebook))


@contextmanager
def listen(student_id: str, send: Callable[[tuple[str, str, str]], None] | None) -> Iterator[None]:
    """While one student's notebooks are graded here, send each (student_id, "start" or "done", stem)."""
    from .execute import PROGRESS

    if send is None:
        yield
        return
    handler = _Events(student_id, send)
    PROGRESS.setLevel(logging.DEBUG)
    PROGRESS.addHandler(handler)
    try:
        yield
    finally:
        PROGRESS.removeHandler(handler)
