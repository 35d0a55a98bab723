"""What the trusted checker reads from the learner's kernel (autograder/wire.py, rpc.py) is bounded in time and in
the grader's memory, whatever the kernel sends. Both found by attacking the grader: a kernel that trickled one
byte every few seconds held a check until the notebook's time limit (each byte restarted the socket's timeout),
and a 100 MB reply of `[],[],...` took 2.5 GB of the grader to parse before its nodes were counted."""
from __future__ import annotations

import copy
import socket
import struct
import threading
import time

import pytest

from autograder import checker, frames, mirror, rpc, wire


def _trickle(sock: socket.socket, stop: threading.Event) -> None:
    """A message that says it has 10,000 bytes, then one byte every 0.2 s for 6 s (a grader that waits for all
    of it fails the test then, instead of hanging the suite)."""
    sock.sendall(struct.pack("<Q", 10_000))
    for _ in range(30):
        if stop.wait(0.2):
            return
        try:
            sock.sendall(b"x")
        except OSError:
            return
    sock.shutdown(socket.SHUT_WR)


def test_a_trickled_reply_ends_the_check_at_its_deadline():
    ours, theirs = socket.socketpair()
    stop = threading.Event()
    peer = checker.TrustedPeer(ours)
    peer.deadline = time.monotonic() + 1.0
    threading.Thread(target=_trickle, args=(theirs, stop), daemon=True).start()
    start = time.monotonic()
    try:
        with pytest.raises(rpc.RemoteError, match="no answer"):
            peer.request("call", 0, [], {})
        assert time.monotonic() - start < 2.5   # the deadline holds: not one timeout per byte
    finally:
        stop.set()
        ours.close()
        theirs.close()


def _message(head: bytes) -> bytes:
    body = struct.pack("<II", len(head), 0) + head
    return struct.pack("<Q", len(body)) + body


def test_a_reply_of_too_many_values_is_refused_before_it_is_parsed(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("parsed before its values were counted")

    monkeypatch.setattr(frames.json, "loads", no_parse)
    ours, theirs = socket.socketpair()
    bomb = b'{"ok":true,"v":[' + b"[]," * (wire.MAX_NODES + 1) + b'[]]}'   # 3 MB: 75 MB once parsed
    threading.Thread(target=theirs.sendall, args=(_message(bomb),), daemon=True).start()
    try:
        with pytest.raises(wire.WireError, match="more than 1,000,000 values"):
            frames.receive(ours, time.monotonic() + 10)
    finally:
        ours.close()
        theirs.close()


def test_a_reply_within_the_limits_still_arrives():
    ours, theirs = socket.socketpair()
    theirs.sendall(_message(b'{"ok":true,"v":[' + b"1," * 1000 + b'1]}'))
    header, buffers = frames.receive(ours, time.monotonic() + 10)
    assert header["ok"] is True and len(header["v"]) == 1001 and buffers == []
    ours.close()
    theirs.close()


def test_a_value_that_names_one_buffer_twice_is_refused():
    """encode gives every bytes value and array its own buffer: naming one 1 MB buffer a thousand times would make a
    1 GB value (and a 4 GB message once a check shows it) out of a 1 MB reply."""
    tree = {"t": "list", "v": [{"t": "bytes", "b": 0}, {"t": "bytes", "b": 0}]}
    with pytest.raises(wire.WireError, match="names a buffer twice"):
        wire.decode(tree, [b"\0" * 16], lambda node, dec: None)
    assert wire.decode({"t": "list", "v": [{"t": "bytes", "b": 0}, {"t": "bytes", "b": 1}]}, [b"a", b"b"],
                       lambda node, dec: None) == [b"a", b"b"]


def test_the_checkers_namespace_is_emptied_when_a_notebook_ends():
    """What a learner's code sent to the checks (values it keeps in its namespace) goes with the notebook, not at a
    later garbage collection while the worker grades the next student (1.8 GB stayed for three more notebooks)."""
    from autograder.execute import SandboxedExecute
    from autograder.paths import SOLUTIONS

    ex = SandboxedExecute(source_dir=str(SOLUTIONS))
    with ex.notebook("01_projections"):
        ex._checker.ns["kept_from_the_learner"] = b"\0" * 1024
    assert ex._checker.ns == {}


def test_a_learners_subclass_of_a_builtin_error_arrives_as_that_error():
    """Found by a helper attacking the grader: head_dim raising `class HeadSizeError(ValueError)` lost 2 points,
    because the error arrived as a plain RemoteCallError and the check catches ValueError."""
    class HeadSizeError(ValueError):
        pass

    peer = rpc.Peer.__new__(rpc.Peer)
    err = peer.error_from(rpc.error_info(HeadSizeError("d_model=7 must be divisible by num_heads=2")))
    assert isinstance(err, ValueError) and isinstance(err, rpc.RemoteCallError)
    assert type(err).__name__ == "HeadSizeError" and str(err) == "d_model=7 must be divisible by num_heads=2"
    assert type(peer.error_from(rpc.error_info(ValueError("x")))) is ValueError
    # what a kernel may claim as the base: only a built-in Exception type, never Exception itself or a non-error
    for base in ("KeyboardInterrupt", "SystemExit", "Exception", "BaseException", "len", "object", "os.system", ""):
        claimed = peer.error_from(["HeadSizeError", "m", "", base])
        assert type(claimed).__bases__ == (rpc.RemoteCallError,), base
    assert isinstance(peer.error_from(["Odd", "m", "", "OSError"]), OSError)


def test_an_error_whose_message_raises_is_still_described():
    """Found by attacking the grader: an exception whose __str__ raises broke the connection ('your notebook's
    kernel stopped answering') instead of failing the one check with the learner's error."""
    class Odd(Exception):
        def __str__(self):
            raise RuntimeError("no")

    name, message, _, base = rpc.error_info(Odd())
    assert name == "Odd" and "could not be read" in message and base == ""


def test_an_input_reshaped_in_place_is_reshaped_on_the_checkers_side_too():
    """Found by a helper attacking the grader: split_heads doing `X.shape = ...` on its input kept full marks,
    because only same-shaped changes came back to the checker."""
    import numpy as np
    import torch

    sent, after = np.arange(12.0).reshape(3, 4), np.arange(12.0).reshape(3, 2, 2)
    mirror.copy_back([sent], [after])
    assert sent.shape == (3, 2, 2) and np.array_equal(sent, after)
    view = np.arange(24.0).reshape(4, 6)[:, :4]     # can't take another shape in place: left as it was
    mirror.copy_back([view], [np.zeros((2, 8))])
    assert view.shape == (4, 4) and view[0, 1] == 1.0
    t = torch.arange(6.0).reshape(2, 3)
    mirror.copy_back([t], [torch.zeros(3, 2)])
    assert t.shape == (3, 2) and not t.any()
    mirror.copy_back([t], [torch.zeros(7)])        # another number of elements: left as it was
    assert t.shape == (3, 2)


def test_a_module_keeps_the_dtype_and_frozen_parameters_the_learner_left_it_with():
    """Found by a helper attacking notebook 04: load_into_torch that replaced `.data` with float32 tensors, or
    turned requires_grad off, kept full marks: the checker's module was loaded with load_state_dict, which casts
    back to float64 and knows nothing of requires_grad."""
    import torch

    module = torch.nn.MultiheadAttention(4, 2, bias=False, dtype=torch.float64)
    state = {k: v.float() + 1 for k, v in module.state_dict().items()}
    state["out_proj.weight"] = torch.ones(4, 4, dtype=torch.float64)
    mirror.load_module(module, state, [["in_proj_weight"], []])
    assert module.in_proj_weight.dtype == torch.float32 and torch.equal(module.in_proj_weight, state["in_proj_weight"])
    assert module.out_proj.weight.dtype == torch.float64 and bool((module.out_proj.weight == 1).all())
    assert not module.in_proj_weight.requires_grad and module.out_proj.weight.requires_grad
    mirror.load_module(module, {}, [[], ["in_proj_weight"]])                      # unfrozen again
    assert module.in_proj_weight.requires_grad
    # what a hostile kernel might send instead: ignored, the module stays as it was
    for frozen in (["in_proj_weight"], [[1, 2], "x"], [["no_such_parameter"], []], None):
        mirror.load_module(module, {"in_proj_weight": "junk", "nothing": torch.zeros(2)}, frozen)
    assert module.in_proj_weight.dtype == torch.float32 and module.in_proj_weight.requires_grad


def test_threads_that_call_a_callback_at_once_each_get_their_own_answer():
    """Found by a helper: a correct head_importance that evaluated loss_fn in a thread pool got answers swapped
    between heads (the replies carry no request number; two threads read each other's). One request at a time."""
    learner_sock, grader_sock = socket.socketpair()
    learner, grader = rpc.Peer(learner_sock), rpc.Peer(grader_sock)

    def loss_fn(k):
        time.sleep(0.01 * (k % 3))   # answers that take different times
        return 10 * k

    def serve_forever():
        try:
            while True:
                header, value = grader.receive()
                grader.serve(header, value)
        except (OSError, EOFError):
            pass

    threading.Thread(target=serve_forever, daemon=True).start()
    remote = rpc.Remote(learner, grader._number(loss_fn), "check callback")
    got: dict[int, object] = {}

    def call(k):
        try:
            got[k] = remote(k)
        except BaseException as err:   # noqa: BLE001 - recorded, and the assert below shows it
            got[k] = err

    threads = [threading.Thread(target=call, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    learner_sock.close()
    grader_sock.close()
    assert got == {k: 10 * k for k in range(12)}


def test_a_tuple_subclass_crosses_as_a_plain_tuple_of_its_items():
    """Found by a helper: a correct answer that returned a namedtuple (a tuple) arrived as a Remote, and a check's
    isinstance(result, tuple) failed. A subclass arrives as its base type, with the items it holds, not what its
    own methods say."""
    from collections import namedtuple

    class Liar(tuple):
        def __iter__(self):
            return iter(("forged",))

    pair = namedtuple("Attention", ["output", "weights"])(1.5, [2, 3])
    for value, want in ((pair, (1.5, [2, 3])), (Liar((1, 2)), (1, 2)), (type("L", (list,), {})([4]), [4])):
        tree, buffers = wire.encode(value, lambda obj, enc: {"t": "mine", "id": 1})
        got = wire.decode(tree, buffers, lambda node, dec: object())
        assert isinstance(got, type(want)) and got == want and list(got) == list(want)


def _pair():
    learner_sock, grader_sock = socket.socketpair()
    learner, grader = rpc.Peer(learner_sock), rpc.Peer(grader_sock)

    def serve_forever():
        try:
            while True:
                header, value = learner.receive()
                learner.serve(header, value)
        except (OSError, EOFError, rpc.RemoteError):
            pass

    threading.Thread(target=serve_forever, daemon=True).start()
    grader.deadline = time.monotonic() + 10
    return learner, grader, (learner_sock, grader_sock)


def test_a_namedtuple_sent_back_is_its_owners_namedtuple_again():
    """Found while attacking notebook 08: a correct KV cache kept as `KVCache(K, V)` and read as `cache.K` failed,
    because the check passed back the plain tuple it had received. The checker sees a plain tuple of the items; the
    learner's function gets its namedtuple back, with the items the check sent (not the ones it returned)."""
    from collections import namedtuple
    from typing import NamedTuple

    KVCache = namedtuple("KVCache", ["K", "V"])

    class Typed(NamedTuple):
        K: list
        V: list

    learner, grader, socks = _pair()
    try:
        for cls in (KVCache, Typed):
            def step(cache, cls=cls):
                if cache is None:
                    return cls([1], [2])
                return cls(cache.K + [len(cache.K) + 1], cache.V + [0])   # read by name
            remote = rpc.Remote(grader, learner._number(step), "learner function")
            cache = remote(None)
            assert isinstance(cache, tuple) and cache == ([1], [2]) and not hasattr(cache, "K")
            assert remote(cache) == ([1, 2], [2, 0])
            assert remote(copy.deepcopy(remote(cache))) == ([1, 2, 3], [2, 0, 0])   # a copy keeps its origin
            # what the check sends is what the learner's function reads: items changed by the check arrive changed
            changed = wire._echo(([5], [6]), cache.origin)
            assert remote(changed) == ([5, 2], [6, 0])
        # a plain tuple sent to the learner stays a plain tuple: its function can't read it by name
        with pytest.raises(AttributeError):
            rpc.Remote(grader, learner._number(lambda cache: cache.K), "learner function")(([1], [2]))
    finally:
        for s in socks:
            s.close()


def test_a_kernel_cant_make_the_grader_rebuild_what_it_names():
    """A tuple whose origin names one of the grader's objects that is not a namedtuple arrives as a plain tuple; one
    whose origin is malformed is refused."""
    mine = {"t": "tuple", "v": [1, 2], "o": {"t": "yours", "id": 1}}
    assert type(wire.decode(mine, [], lambda node, dec: print)) is tuple
    for bad in ({"t": "tuple", "v": [1], "o": 3}, {"t": "tuple", "v": [1], "o": {"t": "tuple", "v": []}}):
        with pytest.raises(wire.WireError):
            wire.decode(bad, [], lambda node, dec: print)


def test_a_value_too_deep_to_send_is_an_error_of_that_call_not_a_lost_kernel():
    """Found by a helper: a quiz answer that contained itself (a list appended to itself) could not be encoded, the
    kernel's side of the connection ended, and the check said the kernel had stopped answering. The call now raises
    a ValueError that says why, and the connection goes on serving."""
    answer = ["a", "c", "d"]
    answer.append(answer)
    learner, grader, (learner_sock, grader_sock) = _pair()
    try:
        get = rpc.Remote(grader, learner._number(lambda: answer), "learner function")
        with pytest.raises(ValueError, match="can't be sent to the checker: value nested too deeply"):
            get()
        assert rpc.Remote(grader, learner._number(lambda: ["a", "c"]), "learner function")() == ["a", "c"]
    finally:
        learner_sock.close()
        grader_sock.close()


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_an_ndarray_subclass_and_extended_precision_cross_as_arrays():
    """Found by a helper: a correct `sum_matrix` that returned `np.asmatrix(...)` or a float128 array arrived as a
    Remote, and the check failed with "unsupported operand type(s) for -: 'Remote' and 'float'". A subclass arrives
    as a plain array of its data; np.longdouble arrives as np.longdouble (with float64's precision), so that a
    check still sees which dtype the learner returned."""
    import numpy as np

    class Shouting(np.ndarray):
        def tolist(self):
            return "forged"

    def cross(value):
        tree, buffers = wire.encode(value, lambda obj, enc: pytest.fail(f"{obj!r} sent as a reference"))
        return wire.decode(tree, buffers, lambda node, dec: pytest.fail("a reference"))

    S = np.tile(np.eye(2), (3, 1))
    for value in (np.asmatrix(S), S.view(Shouting)):
        got = cross(value)
        assert type(got) is np.ndarray and got.dtype == np.float64 and np.array_equal(got, S)
    wide = cross(S.astype(np.longdouble) / 3)
    assert type(wide) is np.ndarray and wide.dtype == np.longdouble and np.allclose(wide, S / 3)
    assert cross(np.clongdouble(1 + 2j)).dtype == np.clongdouble and cross(np.longdouble(0.5)) == 0.5
    assert cross(np.arange(3, dtype=np.longdouble)[::2]).tolist() == [0.0, 2.0]
    with pytest.raises(wire.WireError, match="may not cross"):
        wire.decode({"t": "nd", "d": "object", "s": [1], "b": 0}, [b"12345678"], None)


def test_a_tensor_a_check_made_to_need_gradients_needs_them_in_the_kernel_only():
    """Found by a helper attacking notebook 08: a layer_norm, block_forward or lm_loss that computed otherwise while
    gradients were recorded on float32 inputs (as in training) got 19/19, since tensors crossed detached. A check's
    leaf tensor that requires grad arrives in the kernel requiring grad (not a leaf: an activation); a parameter, a
    tensor computed from one and an integer tensor arrive as before; nothing arrives in the checker needing grad."""
    import torch

    def cross(value, grad):
        tree, buffers = wire.encode(value, lambda obj, enc: pytest.fail(f"{obj!r} sent as a reference"))
        return wire.decode(tree, buffers, lambda node, dec: pytest.fail("a reference"), grad)

    x = torch.randn(2, 3, requires_grad=True)
    w = torch.nn.Parameter(torch.randn(3))
    sent = [x, w, x * w, torch.arange(3), x.double().detach().requires_grad_()]
    in_kernel = cross(sent, grad=True)
    assert [t.requires_grad for t in in_kernel] == [True, False, False, False, True]
    assert not in_kernel[0].is_leaf and in_kernel[0].dtype == torch.float32 and torch.equal(in_kernel[0], x)
    assert in_kernel[4].dtype == torch.float64
    assert not any(t.requires_grad for t in cross(sent, grad=False))   # the checker's side


class _Returning(rpc.Peer):
    """A learner's side that reports, as the real agent does, the arguments after the call and which one the call
    returned itself; `claim` forges that report instead."""
    claim = None

    def handle(self, op, args):
        self.returned = super().handle(op, args)
        return self.returned

    def sync_state(self, op, args):
        if op != "call":
            return {}
        same = [i for i, a in enumerate(args[1]) if a is self.returned]
        claimed = self.claim if self.claim is not None else (same[0] if same else None)
        return {"args": args[1:], **({"same": claimed} if claimed is not None else {})}


def test_an_array_a_function_returns_itself_is_the_callers_own_object():
    """Found by a helper attacking notebook 06: ablate_heads that returned concat itself when every head was kept
    kept full marks, because a check got a copy of whatever came back and couldn't tell. A function that returns
    its argument now returns the checker's own object, as it would in one process; a reply can't make the checker
    take one of its own objects for a value that differs from it."""
    import numpy as np
    import torch

    learner_sock, grader_sock = socket.socketpair()
    learner, grader = _Returning(learner_sock), checker.TrustedPeer(grader_sock)

    def serve_forever():
        try:
            while True:
                learner.serve(*learner.receive())
        except (OSError, EOFError, rpc.RemoteError):
            pass

    threading.Thread(target=serve_forever, daemon=True).start()
    grader.deadline = time.monotonic() + 10

    def remote(function):
        return rpc.Remote(grader, learner._number(function), "your function")

    def halve(x):
        x *= 0.5
        return x

    try:
        x, t = np.arange(4.0), torch.arange(4.0)
        assert remote(lambda a, b: a)(x, 2) is x and remote(lambda a: a)(t) is t
        assert remote(lambda a: a.copy())(x) is not x                     # a new array: a copy, as before
        assert remote(halve)(x) is x and x.tolist() == [0.0, 0.5, 1.0, 1.5]   # changed in place, and handed back
        frozen = np.arange(4.0)
        frozen.flags.writeable = False                                     # the checker's, read-only: not changed
        got = remote(halve)(frozen)
        assert got is not frozen and got.tolist() == [0.0, 0.5, 1.0, 1.5] and frozen.tolist() == [0.0, 1.0, 2.0, 3.0]
        learner.claim = 0                                                  # a forged report: the value that came
        got = remote(lambda a: a + 1)(x)
        assert got is not x and got.tolist() == [1.0, 1.5, 2.0, 2.5]
        for claim in (5, -1, "0", 1):                                      # out of range, or not an array
            learner.claim = claim
            assert remote(lambda a, b: a)(x, [1]) is not x
    finally:
        learner_sock.close()
        grader_sock.close()
