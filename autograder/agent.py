"""The learner's side of a check: code the grader runs in the learner's kernel, to answer the checker.

At a kernel's first graded check the grader executes `serve_code(path)` in the learner's kernel (silently,
outside IPython's history): it defines the agent in a namespace of its own, keeps it in `sys.modules` under
MODULE, and runs it. At every later check of that kernel, `call_code(path)` runs the kept agent: one short
line instead of about 25 KB of source for IPython to take in and compile (about 18 ms of the kernel's CPU
per check). Where the learner's code removed it, the grader sends the whole source again (agentlink.py);
where it replaced it, the replacement can only answer for the learner, as the learner's own code can at any
time. The agent connects to the checker's socket in the kernel's work folder and answers its
requests (look up a name, call a function, read an attribute, ...) with values, until the checker says
`done`. Nothing it runs decides a grade: whatever the learner's process answers is only the learner's
answer; the checks, the hidden tests and the verdict stay in the checker (checker.py).

While a check runs, the learner's output goes to a buffer (it reaches the feedback, and never costs
points), and the names in `swap` (the earlier exercises of the notebook) call the reference solution in
the checker, so that one mistake costs points in its own exercise's checks only (`unswap` puts the learner's
own back, for a check that failed with the reference's and runs again).
"""
from __future__ import annotations

from pathlib import Path

FILENAME = "<mha-grader>"
MAX_OUTPUT = 20_000
#: the key under which the learner's kernel keeps the agent, once its first check has defined it
MODULE = "_mha_grader_agent"

_LEARNER_SIDE = r'''
_ABSENT = object()
#: name -> the course's function, while a check has the learner's swapped for it (see _stand_in)
_SWAPPED = {}


def _stand_in(name, own):
    """What the notebook's `name` is while a check runs: the course's function while one is swapped in, the learner's
    own (`own`) after. A learner's function that kept it (a dict of helpers filled on its first call) still works in
    later checks, instead of calling a connection that has closed."""
    def stand_in(*args, **kwargs):
        function = _SWAPPED.get(name, own)
        if function is _ABSENT:
            raise NameError(f"name {name!r} is not defined")
        return function(*args, **kwargs)
    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def _torch_state():
    """PyTorch's settings for the whole kernel that a learner's function must leave as it found them."""
    torch = __import__("sys").modules.get("torch")
    if torch is None:
        return None
    return torch.is_grad_enabled(), torch.is_inference_mode_enabled(), torch.get_default_dtype()


def _changed_message(function, changed):
    name = getattr(function, "__name__", None) or type(function).__name__
    return (f"{name} {changed} for the whole notebook, so later cells don't work as they should: change such "
            "settings only inside a `with` block (`with torch.no_grad():` switches gradients back on at its end), "
            "or put them back before returning")


def _torch_changed(before):
    """What a call changed of `_torch_state` (as a phrase), after putting back what can be put back."""
    after = _torch_state()
    if before is None or after is None or after == before:
        return ""
    torch, phrases = __import__("sys").modules["torch"], []
    if after[1] and not before[1]:   # a kept inference_mode() guard can't be left from here
        phrases.append("left PyTorch in inference mode (torch.inference_mode() entered and never left)")
    if before[0] and not after[0]:
        torch.set_grad_enabled(True)   # put back, so that the checks after this one don't pay for it too
        phrases.append("left PyTorch's gradients switched off (torch.set_grad_enabled(False), or a torch.no_grad() "
                       "entered and never left)")
    if after[2] != before[2]:
        torch.set_default_dtype(before[2])
        phrases.append(f"changed PyTorch's default dtype to {after[2]} (torch.set_default_dtype)")
    return phrases[0] if phrases else ""


def _frozen(module):
    return [name for name, p in module.named_parameters() if not p.requires_grad]


def _has_arrays(x, depth=0):
    if depth > 3:
        return False
    if type(x) in (list, tuple):
        return any(_has_arrays(v, depth + 1) for v in x)
    if type(x) is dict:
        return any(_has_arrays(v, depth + 1) for v in x.values())
    return type(x).__name__ in ("ndarray", "Tensor", "Parameter")


class _LearnerPeer(Peer):
    def __init__(self, sock, ns):
        super().__init__(sock, kind="the grader's", make_module=self._make_module, grad=True)
        self.ns, self.saved, self.out, self.returned = ns, {}, None, None
        self.frozen0 = {}   # id(module) -> its parameters that didn't require grad when it was made

    def _make_module(self, node, dec):
        if "pickle" in node:
            import io, torch
            return self._made(torch.load(io.BytesIO(dec(node["pickle"])), weights_only=False))
        cls = self.ns.get(str(node.get("cls")))
        if not isinstance(cls, type):
            raise NameError(f"name {node.get('cls')!r} is not defined")
        args, kwargs = dec(node.get("init"))
        module = cls(*args, **kwargs)
        module.load_state_dict(dec(node.get("state")))
        if node.get("training") is False and hasattr(module, "eval"):   # a check's module in eval mode stays so
            module.eval()
        return self._made(module)

    def _made(self, module):
        if hasattr(module, "named_parameters"):
            self.frozen0[id(module)] = _frozen(module)
        return module

    def sync_state(self, op, args):
        state = {n: dict(m.state_dict()) for n, m in self.synced.items() if hasattr(m, "state_dict")}
        # parameters the learner's code froze or unfroze (requires_grad_): [frozen, unfrozen] since it was made
        changes = {}
        for n, m in self.synced.items():
            if id(m) in self.frozen0:
                before, now = set(self.frozen0[id(m)]), set(_frozen(m))
                if before != now:
                    changes[str(n)] = [sorted(now - before), sorted(before - now)]
        if changes:
            state["frozen"] = changes
        if op == "call" and type(args) is list and len(args) == 3 and _has_arrays(args[1:]):
            state["args"] = args[1:]
            same = [i for i, a in enumerate(args[1]) if a is self.returned and _has_arrays(a)][:1]
            if same:   # `return x`: the caller gets its own x back, as in one process (rpc._own_argument)
                state["same"] = same[0]
        if op == "call":
            self.returned = None
        return state

    def describe(self, err):
        import traceback
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename != FILENAME]
        text = "".join(traceback.format_list(frames)[-12:])
        return error_info(err, text[-MAX_TRACE:])

    def handle(self, op, args):
        if op == "get":
            if args[0] not in self.ns:
                raise NameError(f"name {args[0]!r} is not defined")
            return self.ns[args[0]]
        if op == "swap":
            for name, value in args[0].items():
                if name not in self.saved:
                    self.saved[name] = self.ns.get(name, _ABSENT)
                    self.ns[name] = _stand_in(name, self.saved[name])
                _SWAPPED[name] = value
            return None
        if op == "unswap":   # the check runs again with the learner's own earlier exercises
            self.restore()
            return None
        if op == "done":
            self.restore()
            return self.out.getvalue()[:MAX_OUTPUT] if self.out is not None else ""
        if op != "call":
            return super().handle(op, args)
        before, self.returned = _torch_state(), None
        try:
            result = self.returned = super().handle(op, args)
        except BaseException as err:   # a function may switch something off, then fail
            if changed := _torch_changed(before):
                raise RuntimeError(_changed_message(args[0], changed)) from err
            raise
        if changed := _torch_changed(before):
            raise RuntimeError(_changed_message(args[0], changed))
        return result

    def restore(self):
        for name, value in self.saved.items():
            _SWAPPED.pop(name, None)
            if value is _ABSENT:
                self.ns.pop(name, None)
            else:
                self.ns[name] = value
        self.saved.clear()


def _capped_buffer():
    """A text buffer that keeps the first MAX_OUTPUT characters written to it: a thread of the learner's that
    prints without end while a check runs must not fill the kernel's memory."""
    import io

    class Capped(io.StringIO):
        def write(self, text):
            room = MAX_OUTPUT - self.tell()
            if room > 0:
                super().write(text[:room])
            return len(text)
    return Capped()


def _mha_serve(path, timeout):
    import contextlib, socket, warnings
    ns = get_ipython().user_ns
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    peer = _LearnerPeer(sock, ns)
    peer.out = _capped_buffer()
    try:
        with contextlib.redirect_stdout(peer.out), contextlib.redirect_stderr(peer.out), \
                warnings.catch_warnings(), _torch_defaults():
            warnings.simplefilter("default")
            while True:
                header, value = peer.receive()
                if peer.serve(header, value) == "done":
                    break
    finally:
        peer.restore()
        sock.close()


def _torch_defaults():
    """A check runs with PyTorch's defaults (gradients on, float32, no inference mode), whatever the learner's
    cells left switched: a setting changed by the learner's function is charged at that function's check (the
    calls are watched), and the learner's own settings are back once the check is done."""
    import contextlib, sys
    torch = sys.modules.get("torch")
    if torch is None:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode(False))
    stack.enter_context(torch.enable_grad())
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    stack.callback(torch.set_default_dtype, dtype)
    return stack


def _mha_keep():
    import sys, types
    module = types.ModuleType(MODULE)
    module._mha_serve = _mha_serve
    sys.modules[MODULE] = module
'''


def _source() -> str:
    here = Path(__file__).parent
    parts = [(here / name).read_text() for name in ("wire.py", "frames.py", "rpc.py")] + [_LEARNER_SIDE]
    return "\n".join(p.replace("from __future__ import annotations\n", "") for p in parts)


_CODE: str | None = None


def serve_code(path: str, timeout: float) -> str:
    """What the grader executes in the learner's kernel before its first check: the agent, in a namespace
    of its own (nothing is added to the learner's), kept in `sys.modules[MODULE]`, connecting to `path`."""
    global _CODE
    if _CODE is None:
        _CODE = _source()
    return ("(lambda ns: (exec(compile(%r, %r, 'exec'), ns), ns['_mha_keep'](), ns['_mha_serve'](%r, %r)))"
            "({'__name__': '_mha_agent', 'get_ipython': get_ipython, 'MAX_OUTPUT': %d, 'FILENAME': %r, "
            "'MODULE': %r})" % (_CODE, FILENAME, path, float(timeout), MAX_OUTPUT, FILENAME, MODULE))


def call_code(path: str, timeout: float) -> str:
    """What the grader executes before each later check of the same kernel: the kept agent, connecting to
    `path`. It fails at once, without connecting, where the agent is gone."""
    return "__import__('sys').modules[%r]._mha_serve(%r, %r)" % (MODULE, path, float(timeout))
