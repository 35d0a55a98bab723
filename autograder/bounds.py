"""zmq sockets with a bound on what they hold: the grader's ends of a kernel's channels (iopub.py) and the
kernel manager's own control channel (sandbox.py) are made with `bounded`."""
from __future__ import annotations

import ctypes
from collections.abc import Callable

import zmq

#: the largest single output message the grader accepts (bytes); larger ones are dropped with a note. A
#: cell keeps at most 1,000,000 characters of output anyway (execute.SandboxedExecute.max_output).
MAX_MESSAGE = 2 << 20
#: output messages that may wait in the grader's memory
QUEUE = 16
#: the largest message the grader accepts on the kernel's other channels. An execute reply carries the
#: cell's error whole (a learner's `raise ValueError("A" * 300_000_000)` sent 600 MB and cost the grader
#: 3.6 GB): a larger reply cuts the channel, and the notebook is stopped (ReplyTooLarge)
MAX_REPLY = 16 << 20
#: how long (ms) a send to the kernel may wait: a cut request channel has no peer left, and a send waits for one
#: for ever, blocking the grader's loop and the notebook's time limit with it (a connected channel takes it at once)
SEND_TIMEOUT_MS = 2000


M_MMAP_THRESHOLD = -3   # glibc's mallopt parameter


def return_big_buffers() -> None:
    """Serve allocations of 256 KiB and more with mmap, so that the memory of each output message goes back
    to the system when it is freed. (glibc otherwise raises this threshold as large blocks are freed, and a
    stream of output messages of varied sizes leaves a fragmented heap that never shrinks.)"""
    try:
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, 256 << 10)
    except (OSError, AttributeError):   # not glibc: nothing to do
        pass


def bounded(ctx: zmq.Context, connect: Callable[[], zmq.Socket], largest: int) -> zmq.Socket:
    """A socket made by `connect` that refuses messages over `largest` bytes, queues at most QUEUE and gives up
    a send after SEND_TIMEOUT_MS."""
    before = dict(ctx.sockopts)
    ctx.setsockopt(zmq.MAXMSGSIZE, largest)   # options are read when a socket connects: set them first
    ctx.setsockopt(zmq.RCVHWM, QUEUE)
    ctx.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
    try:
        return connect()
    finally:
        ctx.sockopts.clear()
        ctx.sockopts.update(before)


def watch(sock: zmq.Socket) -> zmq.Socket:
    """A socket that receives an event each time `sock`'s connection is cut."""
    address = f"inproc://channel-monitor-{id(sock)}"
    sock.monitor(address, zmq.EVENT_DISCONNECTED)
    monitor = zmq.Context.shadow(sock.context.underlying).socket(zmq.PAIR)
    monitor.linger = 0
    monitor.connect(address)
    return monitor
