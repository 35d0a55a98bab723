"""What a kernel or a kernel template writes to its stderr, kept for the log under OUT/logs/.

Learner code can write anything to file descriptor 2, as fast as it likes, so the grader reads the pipe all
the time (the kernel never blocks on it) and keeps only the first and the last few kilobytes of each
notebook's share. `flush(label)` writes what came since the last flush to the worker's log at DEBUG level:
a crash of the kernel (a segfault's message, a failed import in the template) is there for the maintainer.
"""
from __future__ import annotations

import os
import threading

from . import logs

LOG = logs.LOG.getChild("kernel")
KEEP = 4096   # bytes kept from the start and from the end of each notebook's stderr


class StderrTail:
    """A pipe to give a child process as its stderr, read by a thread that keeps its head and tail."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        read, self.fd = os.pipe()
        self._lock = threading.Lock()
        self._reset()
        self._reader = threading.Thread(target=self._read, args=(read,), daemon=True)
        self._reader.start()

    def _reset(self) -> None:
        self._head, self._tail, self._total = b"", b"", 0

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                with self._lock:
                    self._total += len(chunk)
                    room = self.keep - len(self._head)
                    if room > 0:
                        self._head += chunk[:room]
                        chunk = chunk[room:]
                    self._tail = (self._tail + chunk)[-self.keep:]

    def close_writer(self) -> None:
        """Call once the child has its copy: the pipe ends when the child does."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def wait_closed(self, timeout: float) -> bool:
        """Wait until every process holding the pipe has ended and all it wrote is read."""
        self._reader.join(timeout)
        return not self._reader.is_alive()

    def take(self) -> str:
        """What came since the last call: all of it, or its head and tail around a note of what was left out."""
        with self._lock:
            head, tail, total = self._head, self._tail, self._total
            self._reset()
        left_out = total - len(head) - len(tail)
        text = head.decode(errors="replace")
        if left_out > 0:
            text += f"\n[... {left_out} bytes left out ...]\n"
        return text + tail.decode(errors="replace")

    def flush(self, label: str) -> None:
        text = self.take()
        if text.strip():
            LOG.debug("stderr of %s:\n%s", label, text.rstrip())
