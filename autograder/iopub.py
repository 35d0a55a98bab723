"""The grader's end of the kernel's output channel (IOPub), with a bound on what it will hold.

Whatever a learner prints, nbclient receives on one zmq socket. Without a bound, one `print` of a
gigabyte becomes one gigabyte-sized message in the grader's memory before any output cap can look at
it. Here zmq itself refuses it: a message larger than MAX_MESSAGE closes the connection before its body
is read, and at most QUEUE messages wait in the grader. zmq treats such a message as a protocol error and
never reconnects by itself (libzmq 4.3), so the grader connects again (`_IOPubChannel`, while it waits for
a cell's output, and `dropped_connections` after each cell): the rest of the cell and the cells after a
flood keep their output. The worst case the
grader holds is QUEUE * MAX_MESSAGE bytes; the kernel's side of the queue is in the kernel's memory,
under the notebook's limit. Every dropped connection is recorded, so the feedback can say that output
was lost and why.

Grades never depend on this channel: checks answer over their own socket (execute.py), and the two
checks that run in the kernel are judged by the kernel's execute reply, not by its error output.
"""
from __future__ import annotations

import ctypes
import time
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type

#: the largest single output message the grader accepts (bytes); larger ones are dropped with a note. A
#: cell keeps at most 1,000,000 characters of output anyway (execute.SandboxedExecute.max_output).
MAX_MESSAGE = 2 << 20
#: output messages that may wait in the grader's memory
QUEUE = 16
#: how often (seconds) a wait for output looks whether a flood has cut the channel, to connect it again
RECHECK_S = 0.2


M_MMAP_THRESHOLD = -3   # glibc's mallopt parameter


def return_big_buffers() -> None:
    """Serve allocations of 256 KiB and more with mmap, so that the memory of each output message goes back
    to the system when it is freed. (glibc otherwise raises this threshold as large blocks are freed, and a
    stream of output messages of varied sizes leaves a fragmented heap that never shrinks.)"""
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 256 << 10)
    except (OSError, AttributeError):   # not glibc: nothing to do
        pass


class _IOPubChannel(AsyncZMQSocketChannel):
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
            return self._note(await super().get_msg(timeout))
        while True:
            try:
                msg = self._note(await super().get_msg(RECHECK_S))
            except Empty:
                if self.client._take_cuts():
                    self._probes.add(self.client.kernel_info())
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


class BoundedClient(AsyncKernelClient):
    """nbclient's kernel client, whose IOPub socket refuses oversized messages and keeps a short queue."""

    iopub_channel_class = Type(_IOPubChannel)  # type: ignore[assignment]
    _monitor: zmq.Socket | None = None
    _cuts = 0

    @property
    def iopub_channel(self) -> _IOPubChannel:
        channel = super().iopub_channel
        channel.client = self
        return channel

    def connect_iopub(self, identity: bytes | None = None) -> zmq.Socket:
        return_big_buffers()
        ctx = self.context
        before = dict(ctx.sockopts)
        ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)   # options are read when a socket connects: set them first
        ctx.setsockopt(zmq.RCVHWM, QUEUE)
        try:
            sock = super().connect_iopub(identity)
        finally:
            ctx.sockopts.clear()
            ctx.sockopts.update(before)
        address = f"inproc://iopub-monitor-{id(sock)}"
        sock.monitor(address, zmq.EVENT_DISCONNECTED)
        self._monitor = zmq.Context.shadow(ctx.underlying).socket(zmq.PAIR)
        self._monitor.linger = 0
        self._monitor.connect(address)
        return sock

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
        sock = self.iopub_channel.socket
        address = (f"tcp://{self.ip}:{self.iopub_port}" if self.transport == "tcp"
                   else f"{self.transport}://{self.ip}-{self.iopub_port}")
        try:
            sock.disconnect(address)
        except zmq.ZMQError:   # already gone
            pass
        sock.connect(address)

    def stop_channels(self) -> None:
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None
        super().stop_channels()
