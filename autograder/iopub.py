"""The grader's ends of the kernel's channels, with a bound on what they will hold.

Whatever a learner prints, nbclient receives on one zmq socket (IOPub). Without a bound, one `print` of a
gigabyte becomes one gigabyte-sized message in the grader's memory before any output cap can look at
it. Here zmq itself refuses it (bounds.py): a message larger than MAX_MESSAGE closes the connection before its body
is read, and at most QUEUE messages wait in the grader. zmq treats such a message as a protocol error and
never reconnects by itself (libzmq 4.3), so the grader connects again, on a new socket (`_IOPubChannel`,
while it waits for a cell's output, and `dropped_connections` after each cell): the rest of the cell and
the cells after a flood keep their output. The worst case the grader holds is QUEUE * MAX_MESSAGE bytes;
the kernel's side of the queue is in the kernel's memory, under the notebook's limit. Every dropped
connection is recorded, so the feedback can say that output was lost and why.

The other channels are bounded the same way: the request channel (shell) at MAX_REPLY, as an execute reply
carries the cell's error whole; a reply over it cuts the channel, the cell's reply becomes a ReplyTooLarge
error and the executor stops the notebook (execute.py). stdin and control, which the grader never reads
from during a cell, at MAX_MESSAGE.

Grades never depend on the output channel: checks answer over their own socket (execute.py), and the two
checks that run in the kernel are judged by the kernel's execute reply, not by its error output.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

from .bounds import MAX_MESSAGE, MAX_REPLY, bounded, return_big_buffers, watch

#: how often (seconds) a wait for output looks whether a flood has cut the channel, to connect it again
RECHECK_S = 0.2
CUT = (f"cut the grader's channel for replies: a reply over {MAX_REPLY >> 20} MiB (an error message that long?) "
       "or bytes that are not a Jupyter message")


class ReplyTooLarge(Exception):
    """The kernel cut its request channel to the grader (a message over MAX_REPLY, or bytes that break zmq's
    protocol, which a learner's code can write to the kernel's sockets): the reply is lost."""


class _Tolerant(AsyncZMQSocketChannel):
    """Skips what is not a Jupyter message: the learner's code can write any bytes to the kernel's sockets."""

    malformed = 0

    async def _valid_msg(self, timeout: float | None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return await super().get_msg(None if deadline is None else max(0.0, deadline - time.monotonic()))
            except (ValueError, KeyError, TypeError, IndexError):   # feed_identities, the signature, the JSON
                self.malformed += 1


class _IOPubChannel(_Tolerant):
    """The output channel. A wait with no time limit (nbclient's, for a cell's output) connects the channel
    again soon after a flood cuts it, and asks the kernel for its info: the kernel answers once it is done
    with the cell, so when that answer's status comes and the cell's own last status (idle) has not, that
    one was lost in the cut, and the wait ends (Empty) instead of lasting nbclient's `iopub_timeout` (4 s)."""

    client: BoundedClient | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._busy: set[str] = set()     # requests whose busy status came and whose idle status has not
        self._probes: set[str] = set()   # our kernel_info requests

    async def get_msg(self, timeout: float | None = None) -> dict:  # type: ignore[override]
        if timeout is not None or self.client is None:
            return self._note(await self._valid_msg(timeout))
        while True:
            try:
                msg = self._note(await self._valid_msg(RECHECK_S))
            except Empty:
                if self.client._take_cuts():
                    if self.client.shell_cut():   # it takes no probe and sends no answer: the reply's wait decides
                        raise
                    try:
                        self._probes.add(self.client.kernel_info())
                    except ReplyTooLarge:         # cut while we looked
                        raise Empty from None
                continue
            if msg["parent_header"].get("msg_id") not in self._probes:
                return msg
            if self._busy:   # the kernel is done with what came before the probe, whose idle status was lost
                self._busy.clear()
                raise Empty

    def _note(self, msg: dict) -> dict:
        if msg.get("msg_type") == "status":
            parent = msg["parent_header"].get("msg_id")
            state = msg.get("content", {}).get("execution_state")
            if state == "busy" and parent not in self._probes:
                self._busy.add(parent)
            elif state == "idle":
                self._busy.discard(parent)
        return msg


class _ShellChannel(_Tolerant):
    """The request channel: a wait for a reply looks every RECHECK_S whether the channel was cut."""

    client: BoundedClient | None = None

    def send(self, msg: dict) -> None:   # a request that can't go within SEND_TIMEOUT_MS: the channel was cut
        try:
            super().send(msg)
        except zmq.Again:
            if self.client is not None:
                self.client.reply_cut = CUT
            raise ReplyTooLarge(CUT) from None

    async def get_msg(self, timeout: float | None = None) -> dict:  # type: ignore[override]
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = RECHECK_S if deadline is None else min(RECHECK_S, max(0.0, deadline - time.monotonic()))
            try:
                return await self._valid_msg(left)
            except Empty:
                client = self.client
                if client is not None and client.shell_cut():
                    client.reply_cut = CUT
                    if client.pending is None:
                        raise ReplyTooLarge(client.reply_cut) from None
                    return _lost_reply(client.pending, client.reply_cut)   # nbclient ends the cell as usual
                if deadline is not None and time.monotonic() >= deadline:
                    raise


def _lost_reply(msg_id: str, why: str) -> dict:
    """An execute reply in place of one the channel dropped: an error, whose cell the executor stops."""
    return {"msg_type": "execute_reply", "parent_header": {"msg_id": msg_id}, "metadata": {},
            "header": {"msg_type": "execute_reply", "msg_id": "", "date": datetime.now(timezone.utc)},
            "content": {"status": "error", "ename": ReplyTooLarge.__name__, "evalue": why,
                        "traceback": [f"{ReplyTooLarge.__name__}: {why}"], "execution_count": None}}


class BoundedClient(AsyncKernelClient):
    """nbclient's kernel client, whose IOPub socket refuses oversized messages and keeps a short queue."""

    iopub_channel_class = Type(_IOPubChannel)  # type: ignore[assignment]
    shell_channel_class = Type(_ShellChannel)  # type: ignore[assignment]
    _monitor: zmq.Socket | None = None
    _shell_monitor: zmq.Socket | None = None
    _cuts = 0
    #: the last execute request sent, and why its reply was lost, once a reply over MAX_REPLY cut the channel
    pending: str | None = None
    reply_cut: str | None = None

    def execute(self, *args, **kwargs) -> str:  # type: ignore[override]
        self.pending = super().execute(*args, **kwargs)
        return self.pending

    @property
    def iopub_channel(self) -> _IOPubChannel:
        channel = super().iopub_channel
        channel.client = self
        return channel

    @property
    def shell_channel(self) -> _ShellChannel:
        channel = super().shell_channel
        channel.client = self
        return channel

    def connect_iopub(self, identity: bytes | None = None) -> zmq.Socket:
        return_big_buffers()
        sock = bounded(self.context, lambda: super(BoundedClient, self).connect_iopub(identity), MAX_MESSAGE)
        self._monitor = watch(sock)
        return sock

    def connect_shell(self, identity: bytes | None = None) -> zmq.Socket:
        sock = bounded(self.context, lambda: super(BoundedClient, self).connect_shell(identity), MAX_REPLY)
        self._shell_monitor = watch(sock)
        return sock

    def connect_stdin(self, identity: bytes | None = None) -> zmq.Socket:
        return bounded(self.context, lambda: super(BoundedClient, self).connect_stdin(identity), MAX_MESSAGE)

    def connect_control(self, identity: bytes | None = None) -> zmq.Socket:
        return bounded(self.context, lambda: super(BoundedClient, self).connect_control(identity), MAX_MESSAGE)

    def shell_cut(self) -> bool:
        """Has the request channel been cut (an oversized reply, bytes that break zmq's protocol, or the
        kernel's end closed)?"""
        return self._shell_monitor is not None and bool(self._shell_monitor.poll(0))

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Ready once the kernel answers kernel_info and its output channel delivers. (jupyter_client's own
        wait then idles 0.2 s to flush the output channel; nbclient skips output of other requests anyway.)"""
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:   # the reply's busy/idle status on the output channel: it is connected
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    def dropped_connections(self) -> int:
        """How many times the output channel was cut since the last call (each cut loses the oversized
        message and whatever the kernel sent before the channel was connected again)."""
        self._take_cuts()
        cuts, self._cuts = self._cuts, 0
        return cuts

    def _take_cuts(self) -> int:
        """Count the cuts the socket's monitor reports, and connect again if there are any. Returns how many."""
        cuts = 0
        while self._monitor is not None and self._monitor.poll(0):
            self._monitor.recv_multipart()
            cuts += 1
        if cuts:
            self._reconnect()
            self._cuts += cuts
        return cuts

    def _reconnect(self) -> None:
        """Connect the output channel again, on a new socket. The cut one is closed unread: once a poll has
        read the first frames of a message from it, libzmq aborts the whole process when the rest can't come
        (`Assertion failed: !_more (src/fq.cpp:80)`), which a disconnect-and-connect on the same socket caused
        when output arrived during a check."""
        channel = self.iopub_channel
        old, old_monitor = channel.socket, self._monitor
        channel.socket = self.connect_iopub()
        if old_monitor is not None:
            old_monitor.close()
        if old is not None:
            old.close(linger=0)

    def start_channels(self, shell: bool = True, iopub: bool = True, stdin: bool = True, hb: bool = True,
                       control: bool = True) -> None:
        """Every channel but the heartbeat: whether the kernel lives is the kernel manager's to say (its
        process), and bytes that a learner's code wrote to the kernel's heartbeat socket left the heartbeat's
        thread waiting for ever, and the grader with it when it stopped the channels."""
        super().start_channels(shell, iopub, stdin, False, control)

    def stop_channels(self) -> None:
        for monitor in (self._monitor, self._shell_monitor):
            if monitor is not None:
                monitor.close()
        self._monitor = self._shell_monitor = None
        super().stop_channels()
