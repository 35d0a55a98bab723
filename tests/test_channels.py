"""The grader's ends of a kernel's channels (autograder/iopub.py), against a pretend kernel's sockets: a cut
request channel ends the waits and the sends on it instead of blocking the grader for ever.

Found by the suite: a learner's `raise ValueError("A" * 12_000_000)` cuts both channels at once (the error goes
out on both). When the grader saw the output channel's cut first, it asked the kernel for its info over the
request channel, which had no peer left: zmq's send waited for one, and the notebook's time limit with it,
until the pool's watchdog ended the worker 7 minutes later (about one grading in two)."""
from __future__ import annotations

import asyncio
import threading
import time
from queue import Empty

import pytest
import zmq

from autograder import bounds, iopub

# the pretend kernel's test drives the client's asyncio sockets from plain calls too
pytestmark = pytest.mark.filterwarnings("ignore:No running event loop")
#: threads that a call left waiting: their sockets are left open (closing a socket in use can crash zmq)
HUNG: list[threading.Thread] = []


def _within(seconds: float, call):
    """What `call()` returns or raises, run in a thread that must end within `seconds` (a hang fails the test
    instead of stopping the suite)."""
    box: dict = {}

    def run():
        try:
            box["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        HUNG.append(thread)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return box


def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the pretend kernel's channel was never cut"
        time.sleep(0.02)


@pytest.fixture
def kernel_and_client():
    """A pretend kernel (bound sockets) and the grader's BoundedClient connected to it."""
    ctx = zmq.Context()
    shell, iopub_sock, stdin, control = (ctx.socket(kind) for kind in (zmq.ROUTER, zmq.XPUB, zmq.ROUTER, zmq.ROUTER))
    ports = {name: sock.bind_to_random_port("tcp://127.0.0.1")
             for name, sock in {"shell_port": shell, "iopub_port": iopub_sock, "stdin_port": stdin,
                                "control_port": control}.items()}
    kc = iopub.BoundedClient(ip="127.0.0.1", hb_port=1, **ports)
    kc.start_channels()
    yield kc, shell, iopub_sock
    if HUNG:
        return
    kc.stop_channels()
    for sock in (shell, iopub_sock, stdin, control):
        sock.close(linger=0)
    ctx.term()


def _cut_both(kc, shell, iopub_sock) -> None:
    """The pretend kernel sends a reply over MAX_REPLY and an output message over MAX_MESSAGE."""
    kc.kernel_info()                        # the kernel learns the grader's address on the request channel
    assert shell.poll(5000), "no request arrived"
    identity = shell.recv_multipart()[0]
    shell.send_multipart([identity, b"A" * (bounds.MAX_REPLY + 1)])
    _until(kc.shell_cut)
    # the output channel: once the grader's subscription has arrived (XPUB passes it on), an oversized message
    # cuts it
    assert iopub_sock.poll(5000), "the grader never subscribed"
    iopub_sock.recv()
    iopub_sock.send(b"B" * (bounds.MAX_MESSAGE + 1))
    _until(lambda: kc._monitor.poll(0))


def test_a_wait_for_output_ends_when_both_channels_are_cut(kernel_and_client):
    kc, shell, iopub_sock = kernel_and_client
    _cut_both(kc, shell, iopub_sock)
    box = _within(10, lambda: asyncio.run(kc.iopub_channel.get_msg(timeout=None)))
    assert isinstance(box.get("error"), Empty), box


def test_a_request_on_a_cut_channel_is_refused_in_seconds(kernel_and_client):
    kc, shell, iopub_sock = kernel_and_client
    _cut_both(kc, shell, iopub_sock)

    def requests() -> str:
        # one request may still go into the connection that zmq is closing (and be lost there); none after it
        for _ in range(5):
            kc.execute("1 + 1")
            time.sleep(0.1)
        return "all 5 sent"

    box = _within(20, requests)
    assert isinstance(box.get("error"), iopub.ReplyTooLarge), box
    assert kc.reply_cut == iopub.CUT and "a reply over 16 MiB" in kc.reply_cut


def test_a_reply_wait_on_a_cut_channel_returns_the_lost_reply(kernel_and_client):
    """The cell whose reply was lost gets an error reply in its place: the executor stops the notebook."""
    kc, shell, iopub_sock = kernel_and_client
    kc.pending = "the-cells-request"
    _cut_both(kc, shell, iopub_sock)
    box = _within(10, lambda: asyncio.run(kc.shell_channel.get_msg(timeout=None)))
    reply = box["value"]
    assert reply["parent_header"]["msg_id"] == "the-cells-request"
    assert reply["content"]["ename"] == "ReplyTooLarge" and reply["content"]["evalue"] == iopub.CUT
