"""The grader's end of the line to the agent in the learner's kernel (agent.py): the socket that each check
of a notebook connects on, and starting the agent for one check."""
from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import agent


class AgentLink:
    """One notebook's socket for checks, in the kernel's work folder (the kernel can only connect to it)."""

    def __init__(self, workdir: str | Path) -> None:
        self.path = str(Path(workdir) / f".grader-{secrets.token_hex(8)}.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        os.chmod(self.path, 0o777)   # the kernel may run as a uid of its own
        self.listener.listen(1)
        self._keeps: Any = None      # the kernel client whose kernel keeps the agent from an earlier check

    def close(self) -> None:
        self.listener.close()
        Path(self.path).unlink(missing_ok=True)

    def start(self, kc: Any, timeout: float, deadline: float,
              alive: Callable[[], bool]) -> tuple[socket.socket | None, dict | None, str]:
        """Start the agent for one check: the short call where this kernel keeps it from an earlier check,
        else (or where the learner's code removed it) the whole agent. Returns (the agent's connection or
        None, the execute reply where the kernel answered without connecting, the id of that request)."""
        codes = [agent.serve_code(self.path, timeout)]
        if self._keeps is kc:
            codes.insert(0, agent.call_code(self.path, timeout))
        conn, reply, msg_id = None, None, ""
        for code in codes:
            msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
            conn, reply = self._accept(kc, msg_id, deadline, alive)
            if conn is not None:
                self._keeps = kc
                break
            if reply is None:   # neither connected nor answered in time
                break
        return conn, reply, msg_id

    def _accept(self, kc: Any, msg_id: str, deadline: float,
                alive: Callable[[], bool]) -> tuple[socket.socket | None, dict | None]:
        """The agent's connection, or (None, its execute reply) when the kernel answered without connecting
        (the agent failed or is gone), or (None, None) when the kernel neither connected nor answered in time."""
        self.listener.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                return self.listener.accept()[0], None
            except OSError:
                pass
            if not alive():
                raise DeadKernelError("the kernel died before a check")
            while run_sync(kc.shell_channel.msg_ready)():
                msg = run_sync(kc.shell_channel.get_msg)(timeout=1)
                if msg.get("parent_header", {}).get("msg_id") == msg_id:
                    return None, msg
        raise CellTimeoutError("the kernel did not start the check in time")
