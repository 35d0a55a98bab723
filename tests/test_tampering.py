"""The learner's code is never the judge: checks run in the grader, and only values come back.

Every tampering submission below pairs a trick with a wrong answer and must score exactly what the same
wrong answer scores untampered; correct code that prints to stderr or warns keeps full marks; and a
function that a hidden check calls can't carry the hidden tests into the feedback.
"""
import html
import textwrap
from pathlib import Path

import pytest

from autograder.bounds import MAX_MESSAGE
from autograder.outcome import VERDICT
from autograder import grading, samples
from autograder.sandbox import Limits
from conftest import shorter_runs
from test_feedback import _hidden_snippets
from test_scan import STRIP

NB1, NB2, NB4, NB7 = ("01_projections.ipynb", "02_scaled_attention.ipynb", "04_output_projection.ipynb",
                       "07_grouped_query_attention.ipynb")
NB5, NB6 = "05_gpu_speed.ipynb", "06_heads_in_action.ipynb"
WRONG_FLOPS = ("def mha_flops(batch, n, d_model, num_heads):\n"    # left out the projections
               "    return 4 * batch * n * n * d_model\n")
WRONG_ABLATE = ("def ablate_heads(concat, keep):\n"                  # zeroes tokens, not heads
                "    out = concat.clone()\n"
                "    for i, k in enumerate(keep):\n"
                "        if not k:\n"
                "            out[..., i, :] = 0\n"
                "    return out\n")
WRONG_HEAD_DIM = "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"   # no divisibility check
WRONG_SOFTMAX = "def softmax(x, axis=-1):\n    e = np.exp(x)\n    return e / e.sum(axis=axis, keepdims=True)\n"
WRONG_HC = ("def head_contributions(H, W_O):\n"        # assumes a batch axis in front
            "    num_heads, d_k = H.shape[1], H.shape[-1]\n"
            "    return H @ W_O.reshape(num_heads, d_k, W_O.shape[-1])\n")
# ... and changes the notebook's sentence so that the visible checks can't tell (they used to read it)
SCRATCH = "\n_H0, _n0, _C0 = H, n, C\nH = H[:, :2]\nn = 2\nC = combine_heads(H)\n"
WRONG_REPEAT = "def repeat_kv(K, n_rep):\n    return np.tile(K, (1,) * (K.ndim - 3) + (n_rep, 1, 1))\n"
# A module whose causal mask is inverted: it fails check_module_grad, one of the two checks that run in the
# learner's kernel. Its flooding twin prints a megabyte more than the largest output message the grader takes on
# every call, which makes the grader cut the output channel (iopub.py) and lose the check's error message: the
# kernel's execute reply must decide instead.
_NB04 = samples.load_catalogue(Path(__file__).parent / "catalogue" / "nb04.py")
WRONG_MODULE = next(c["answers"]["MultiHeadAttention"] for c in _NB04["WRONG"]
                    if c["name"] == "module_mask_torch_convention")
FLOODING_MODULE = WRONG_MODULE.replace("    def forward(self, query, key, value, mask=None):\n",
                                       "    def forward(self, query, key, value, mask=None):\n"
                                       f"        print('x' * {MAX_MESSAGE + 1_000_000})\n", 1)

# Tricks, each put in front of the wrong answer (or, where it says so, inside it).
TRICKS = {
    "strips_asserts": STRIP,
    "patches_allclose": '''
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
''',
    "patches_numpy_internals": '''
import numpy._core.numeric as _n
_n.allclose = lambda *a, **k: True
_n.isclose = lambda *a, **k: np.ones(1, dtype=bool)
''',
    "patches_builtins": '''
import builtins
builtins.all = lambda *a: True
builtins.any = lambda *a: False
builtins.AssertionError = type("AssertionError", (Exception,), {})
''',
    "swallows_errors": "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n",
    "patches_showtraceback": "get_ipython().showtraceback = lambda *a, **k: None\nimport sys\nsys.excepthook = lambda *a: None\n",
    "patches_kernel_execution": '''
_run = get_ipython().run_cell
def _quiet_run_cell(raw_cell, *args, **kwargs):
    if "assert" in raw_cell:   # a check: run it with every assert removed
        raw_cell = "\\n".join(l for l in raw_cell.splitlines() if "assert" not in l) or "pass"
    return _run(raw_cell, *args, **kwargs)
get_ipython().run_cell = _quiet_run_cell
''',
    "patches_via_sys_modules": '''
import sys
for _name, _mod in list(sys.modules.items()):
    if _name.startswith("numpy") and hasattr(_mod, "allclose"):
        setattr(_mod, "allclose", lambda *a, **k: True)
''',
    "repatching_thread": '''
import threading, time
def _keep_patching():
    while True:
        np.allclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        time.sleep(0.001)
threading.Thread(target=_keep_patching, daemon=True).start()
''',
    "event_callback": '''
def _before(*args):
    np.allclose = lambda *a, **k: True
get_ipython().events.register("pre_run_cell", _before)
''',
    "patches_torch": '''
import torch
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
''',
    "flood_of_output": "print('x' * 3_000_000)\nimport sys\nprint('y' * 3_000_000, file=sys.stderr)\n",
}
# Tricks that live inside the wrong function itself (they run while the check calls it).
INSIDE = {
    "displayhook": '''
import sys
def head_dim(d_model, num_heads):
    sys.displayhook(1.0)   # nbgrader read a test cell's first number as its score
    return d_model // num_heads
''',
    "always_equal": '''
class Anything(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def head_dim(d_model, num_heads):
    return Anything(d_model // num_heads)
''',
    "reads_checks_from_frames": '''
import sys, linecache, inspect
def head_dim(d_model, num_heads):
    frame = sys._getframe(1)
    for _ in range(8):   # print every caller's code, the hidden checks if they were here
        if frame is None:
            break
        print(frame.f_code.co_filename, frame.f_code.co_consts)
        print("".join(linecache.getlines(frame.f_code.co_filename)))
        frame = frame.f_back
    return d_model // num_heads
''',
    "exception_without_str": '''
class Weird(Exception):
    def __str__(self):
        raise RuntimeError("no message")
def head_dim(d_model, num_heads):
    if d_model % num_heads:
        raise Weird()
    return d_model // num_heads
''',
    "huge_return": '''
def head_dim(d_model, num_heads):
    if d_model % num_heads:
        return np.zeros((300, 1024, 1024))   # 2.4 GB as float64: too big to send
    return d_model // num_heads
''',
    "deep_return": '''
def head_dim(d_model, num_heads):
    if d_model % num_heads:
        x = []
        for _ in range(10_000):
            x = [x]
        return x
    return d_model // num_heads
''',
}

# Found by attacking the grader: the learner's kernel holds references to the checker's functions (the
# reference head_dim while split_heads is checked). Using one for anything but a call must fail.
ESCAPE_MARK = "/tmp/mha-grader-escaped-{}.txt"
ESCAPE = '''
import nbgrader.utils as U
U.determine_grade = lambda cell, log=None: (float(cell.metadata['nbgrader']['points']),) * 2
open(%r, "w").write("the grader ran my code")
result = "escaped"
'''
REF_SPLIT = samples.reference_answers(NB1)["split_heads"]
REF_HEAD_DIM = samples.reference_answers(NB1)["head_dim"]
REACH = {"getattr": "head_dim._peer.request('getattr', head_dim, '__builtins__')",
         "globals": "head_dim._peer.request('getattr', head_dim, '__globals__')['__builtins__']",
         "item": "head_dim._peer.request('getitem', head_dim, '__builtins__')",
         "copy": "head_dim._peer.request('deepcopy', head_dim).__builtins__",
         "setattr": "head_dim._peer.request('setattr', head_dim, '__code__', None) or {}"}


def _escape_split(how: str) -> str:
    """split_heads (correct) that first tries to run code in the grader through the reference head_dim."""
    payload = ESCAPE % ESCAPE_MARK.format(how)
    call = "b['eval']('(lambda d: (exec(%r, d), d.get(\"result\"))[1])({})' % " + repr(payload) + ")"
    return ("_tried = []\n" + REF_SPLIT.replace("    *batch, n, d_model = X.shape", (
        "    if not _tried:\n"
        "        _tried.append(1)\n"
        "        try:\n"
        f"            b = {REACH[how]}\n"
        f"            print({call})\n"
        "        except Exception as err:\n"
        "            print('refused:', err)\n"
        "    *batch, n, d_model = X.shape")))


# Correct code that talks on stderr or warns: never a lost point.
NOISY = {
    "print_stderr": "import sys\nprint('debug: head_dim', file=sys.stderr)\n",
    "warnings_warn": "import warnings\nwarnings.warn('just so you know')\n",
    "numpy_runtime_warning": "_ = np.log(np.zeros(1))\n",
    "numpy_divide_warning": "_ = np.ones(1) / np.zeros(1)\n",
    "deprecation_warning": "import warnings\nwarnings.warn('old', DeprecationWarning)\n",
    "user_warning_always": "import warnings\nwarnings.simplefilter('always')\nwarnings.warn('again', UserWarning)\n",
    "torch_user_warning": "import torch\n_t = torch.ones(2)\n_ = torch.tensor(_t)   # UserWarning: copy construct\n",
    "stderr_write": "import sys\nsys.stderr.write('progress 100%\\n')\n",
    "display_value": "from IPython.display import display\ndisplay(np.arange(3))\n",
    "logging_error": "import logging\nlogging.getLogger('me').error('this is only a log line')\n",
}

# correct code that compiles with PyTorch's compiler in the sandbox: its C++ backend precompiled a 150 MB header,
# more than a sandboxed file may be (g++: "File size limit exceeded"), and the cell raised InductorError
COMPILES = ("import torch\n_double = torch.compile(lambda x: 2 * x)\n"
            "assert _double(torch.ones(2)).tolist() == [2.0, 2.0]\n")


def _inside_warning(source: str) -> str:
    """The correct head_dim, making noise every time it is called (so while the checks run)."""
    body = textwrap.indent(source, "    ")
    return ("def head_dim(d_model, num_heads):\n" + body
            + "    if num_heads < 1 or d_model % num_heads:\n"
              "        raise ValueError(f'd_model={d_model} must be divisible by num_heads={num_heads}')\n"
              "    return d_model // num_heads\n")


def _cases() -> dict[str, tuple[str, dict]]:
    cases = {"plain_wrong_01": (NB1, {"head_dim": WRONG_HEAD_DIM}),
             "plain_wrong_02": (NB2, {"softmax": WRONG_SOFTMAX}),
             "plain_wrong_07": (NB7, {"repeat_kv": WRONG_REPEAT}),
             "plain_wrong_04": (NB4, {"head_contributions": WRONG_HC}),
             "t05_patches_torch": (NB5, {"mha_flops": TRICKS["patches_torch"] + WRONG_FLOPS}),
             "t06_patches_torch": (NB6, {"ablate_heads": TRICKS["patches_torch"] + TRICKS["patches_allclose"]
                                         + WRONG_ABLATE}),
             "t04_changes_the_sentence": (NB4, {"head_contributions": WRONG_HC + SCRATCH, "quiz_summing":
                                                samples.reference_answers(NB4)["quiz_summing"]
                                                + "\nH, n, C = _H0, _n0, _C0\n"}),
             "n04_correct_rebinds_n": (NB4, {"head_contributions": samples.reference_answers(NB4)["head_contributions"]
                                             + "\nn = 5   # scratch: a 5-token sentence next\n"}),
             "plain_wrong_module_04": (NB4, {"MultiHeadAttention": WRONG_MODULE}),
             "y04_flood_hides_the_error": (NB4, {"MultiHeadAttention": FLOODING_MODULE}),
             "correct_01": (NB1, {})}
    for name, trick in TRICKS.items():
        cases[f"t01_{name}"] = (NB1, {"head_dim": trick + WRONG_HEAD_DIM})
    cases["t01_forged_verdicts"] = (NB1, {"head_dim": WRONG_HEAD_DIM})   # every cell says "passed" (FORGED)
    for name in ("strips_asserts", "patches_allclose", "patches_kernel_execution", "repatching_thread"):
        cases[f"t02_{name}"] = (NB2, {"softmax": TRICKS[name] + WRONG_SOFTMAX})
        cases[f"t07_{name}"] = (NB7, {"repeat_kv": TRICKS[name] + WRONG_REPEAT})
    for name, source in INSIDE.items():
        cases[f"i01_{name}"] = (NB1, {"head_dim": source})
    for how in REACH:
        cases[f"r01_escape_{how}"] = (NB1, {"head_dim": WRONG_HEAD_DIM, "split_heads": _escape_split(how)})
    for name, noise in NOISY.items():
        cases[f"n01_{name}"] = (NB1, {"head_dim": noise + samples.reference_answers(NB1)["head_dim"]})
    cases["k01_removes_the_kept_agent"] = (NB1, {"split_heads": KEPT_AGENT["removes_the_kept_agent"] + REF_SPLIT})
    cases["k01_plain_two_wrong"] = (NB1, {"head_dim": WRONG_HEAD_DIM, "split_heads": WRONG_SPLIT})
    cases["k01_wraps_the_kept_agent"] = (NB1, {"head_dim": WRONG_HEAD_DIM,
                                               "split_heads": WRONG_SPLIT + KEPT_AGENT["wraps_the_kept_agent"]})
    for name in ("no_op_agent", "hangs_up_agent"):
        cases[f"k01_{name}"] = (NB1, {"head_dim": WRONG_HEAD_DIM, "split_heads": KEPT_AGENT[name] + REF_SPLIT})
    cases["c01_compiles_with_torch"] = (NB1, {"head_dim": COMPILES + REF_HEAD_DIM})
    for name in ("print_stderr", "warnings_warn", "numpy_runtime_warning", "torch_user_warning"):
        cases[f"m01_{name}"] = (NB1, {"head_dim": _inside_warning(NOISY[name])})
    return cases


# The kernel keeps the agent after its first check (agent.MODULE); these run in split_heads, after check_head_dim.
KEPT = "_mha_grader_agent"
KEPT_AGENT = {
    # correct code that happens to clear the grader's module: the next check sends the whole agent again
    "removes_the_kept_agent": f"import sys\nsys.modules.pop({KEPT!r}, None)\n",
    # an agent that never connects, hoping the later checks are skipped: the grader sends the real one
    "no_op_agent": f"import sys, types\nsys.modules[{KEPT!r}] = types.SimpleNamespace(_mha_serve=lambda *a: None)\n",
    # an agent that connects and hangs up: the checks it was meant to answer score 0, nothing more
    "hangs_up_agent": ("import socket, sys, types\n"
                       "def _fake(path, timeout):\n"
                       "    s = socket.socket(socket.AF_UNIX)\n    s.connect(path)\n"
                       "    s.sendall(b'{\"op\": \"done\", \"passed\": true}\\n')\n    s.close()\n"
                       f"sys.modules[{KEPT!r}] = types.SimpleNamespace(_mha_serve=_fake)\n"),
    # found by attacking the grader: wrap the kept agent so that the learner's own (wrong) head_dim is not swapped
    # for the reference during later checks; it can only cost the learner, never gain
    "wraps_the_kept_agent": f'''
import sys
_m = sys.modules.get({KEPT!r})
if _m is not None:
    _orig = _m._mha_serve
    def _serve(path, timeout):
        peer = _orig.__globals__["_LearnerPeer"]
        if not getattr(peer, "_patched", False):
            old = peer.handle
            peer.handle = lambda self, op, args: None if op == "swap" else old(self, op, args)
            peer._patched = True
        return _orig(path, timeout)
    _m._mha_serve = _serve
''',
}
#: a split_heads that mixes tokens
WRONG_SPLIT = ("def split_heads(X, num_heads):\n    *batch, n, d_model = X.shape\n"
               "    return X.reshape(*batch, num_heads, n, head_dim(d_model, num_heads))\n")


HOSTILE_HTML = '''
from IPython.display import HTML, Javascript, display
display(HTML("<script>alert('pwned-1')</script><img src=x onerror=\\"alert('pwned-2')\\">"
             "<iframe src='https://example.org/pwned-3'></iframe><b>bold-stays</b>"))
display(Javascript("alert('pwned-4')"))
'''
HOSTILE_MARKDOWN = ("Notes <script>alert('pwned-5')</script> <a href=\"javascript:alert('pwned-6')\">link</a> "
                    "<div onclick=\"alert('pwned-7')\">click</div> <iframe src='https://example.org/pwned-8'></iframe>")

_SEND = ("get_ipython().kernel.session.send(get_ipython().kernel.iopub_socket, {!r}, {},\n"
         "                                  parent=get_ipython().kernel.get_parent())\n")
MALFORMED = "".join(_SEND.format(kind, content) for kind, content in [
    ("status", '{"state": "idle"}'),                                         # no execution_state
    ("stream", '{"name": "stdout"}'),                                        # no text
    ("comm_open", '{"comm_id": "c", "target_name": "jupyter.widget", "data": {"state": {"_model_name": "X"}}}'),
    ("execute_result", '{"execution_count": "x", "data": {"text/plain": "1"}, "metadata": {}}'),
    ("display_data", '{"data": {"text/plain": 5}, "metadata": {}}'),            # not the notebook format
])
WIDGETS = "for _i in range(30):\n    " + _SEND.format("comm_open", (
    '{"comm_id": f"c{_i}", "target_name": "jupyter.widget", "data": {"state": {"_model_name": "LabelModel", '
    '"_model_module": "@jupyter-widgets/controls", "_model_module_version": "2.0.0", "value": "x" * 1_500_000}, '
    '"buffer_paths": []}}'))   # the call's second line is inside its parentheses: any indent
JSON_BOMB = '''
import gc, socket, struct
def head_dim(d_model, num_heads):
    for o in gc.get_objects():   # the agent's connection to the grader: a reply of 1,100,000 empty lists
        if isinstance(o, socket.socket):
            try:
                peer = o.getpeername()
            except OSError:
                continue
            if isinstance(peer, str) and ".grader-" in peer:
                head = b'{"ok":true,"v":[' + b"[]," * 1_100_000 + b"[]]}"
                body = struct.pack("<II", len(head), 0) + head
                o.sendall(struct.pack("<Q", len(body)) + body)
    return d_model // num_heads
'''

# found by attacking the grader: the learner's code finds the agent's end of the check's connection and answers
# the check itself, with a value that names one buffer many times
ALIASES = '''
import sys, struct, json
def _forge():
    tree = {"t": "list", "v": [{"t": "list", "v": [{"t": "bytes", "b": 0}] * 12}, {"t": "dict", "k": [], "v": []}]}
    head = json.dumps({"ok": True, "v": tree}).encode()
    body = struct.pack("<II", len(head), 1) + head + struct.pack("<Q", 1 << 20) + b"\\0" * (1 << 20)
    return struct.pack("<Q", len(body)) + body
def head_dim(d_model, num_heads):
    f = sys._getframe(1)
    while f is not None and not (hasattr(f.f_locals.get("self"), "sock") and hasattr(f.f_locals.get("self"), "serve")):
        f = f.f_back
    if f is None:
        return d_model // num_heads
    peer = f.f_locals["self"]
    peer.sock.sendall(_forge())
    while True:
        header, value = peer.receive()
        if header.get("op") == "call":
            peer.sock.sendall(_forge())
            continue
        if peer.serve(header, value) == "done":
            break
    return 0
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    import nbformat

    root = tmp_path_factory.mktemp("tamper")
    subs = root / "submissions"
    for student, (notebook, answers) in _cases().items():
        nb = shorter_runs(notebook, samples.fill(notebook, answers))   # no check reads what 05 times, 06 trains
        if student == "t01_forged_verdicts":   # the metadata in which the grader records its checks' verdicts
            for cell in nb.cells:
                cell.metadata[VERDICT] = {"passed": True, "error": ""}
        samples.write_submission(subs, student, notebook, nb)
    nb = samples.fill(NB1, {"head_dim": HOSTILE_HTML + samples.reference_answers(NB1)["head_dim"]})
    nb.cells.insert(6, nbformat.v4.new_markdown_cell(HOSTILE_MARKDOWN))
    samples.write_submission(subs, "x01_hostile_html", NB1, nb)
    nb = samples.fill(NB1)
    for k in range(8):   # 8 cells displaying 1,000,000 characters each, and a display updated with 20 MB
        nb.cells.insert(6, nbformat.v4.new_code_cell(f"display('{k}' * 1_000_000)"))
    nb.cells.insert(6, nbformat.v4.new_code_cell(
        "from IPython.display import display\nh = display('start', display_id=True)\n"
        "for _ in range(20):\n    h.update('z' * 1_000_000)"))
    samples.write_submission(subs, "x01_output_flood", NB1, nb)
    # one message over the output channel's limit, then more output from the same cell once it has been cut
    samples.write_submission(subs, "z01_prints_after_a_flood", NB1, samples.fill(NB1, {"head_dim": (
        f"print('x' * {MAX_MESSAGE + 1_000_000})\nimport time\ntime.sleep(1)\nprint('AFTER-' + 'THE-FLOOD')\n"
        + samples.reference_answers(NB1)["head_dim"])}))
    # correct code that is loud while the checks call it: 20 MB printed per call (the kernel's buffer of a
    # check's output grew without end: MemoryError, "autograde failed"), or 3 MB written straight to fd 2 (an
    # oversized message arrived while no one read the output channel; connecting that socket again aborted the
    # grading process, with every notebook it held)
    for name, noise in {"z01_prints_20_mb_per_call_in_checks": "print('x' * 20_000_000)",
                        "z01_writes_3_mb_to_fd2_in_checks": "import os\n    os.write(2, b'E' * 3_000_000)"}.items():
        loud = (f"_head_dim = head_dim\ndef head_dim(d_model, num_heads):\n    {noise}\n"
                "    return _head_dim(d_model, num_heads)\n")
        samples.write_submission(subs, name, NB1, samples.fill(NB1, {"head_dim": REF_HEAD_DIM + "\n" + loud}))
    # an error message of 3 MB arrives in the cell's execute reply (the output channel drops it) and is kept
    # short; one of 12 MB (a reply of over 24 MB: the message and its traceback) is more than the grader reads
    # (iopub.MAX_REPLY): the notebook is stopped, the grader's memory stays small (it took 3.6 GB for 300 MB)
    for name, size in {"z01_raises_a_3_mb_error": 3_000_000, "z01_raises_a_12_mb_error": 12_000_000}.items():
        samples.write_submission(subs, name, NB1, samples.fill(NB1, {"head_dim": (
            REF_HEAD_DIM + f"\nraise ValueError('A' * {size})\n")}))
    # found by attacking the grader: a message on the output channel that is not a Jupyter message (skipped),
    # and bytes written to every socket of the kernel (they cut its channels: the notebook is stopped; they hung
    # the grader in the heartbeat's thread, and failed it with a ValueError)
    samples.write_submission(subs, "z01_sends_junk_messages", NB1, samples.fill(NB1, {"head_dim": (
        REF_HEAD_DIM + "\nfor _ in range(3):\n    get_ipython().kernel.iopub_socket.send_multipart([b'junk'])\n"
        "print('AFTER-' + 'THE-JUNK')\n")}))
    samples.write_submission(subs, "z01_writes_bytes_to_every_socket", NB1, samples.fill(NB1, {"head_dim": (
        "import os, socket\ndef head_dim(d_model, num_heads):\n    for fd in range(3, 200):\n        try:\n"
        "            socket.socket(fileno=os.dup(fd)).sendall(b'\\x00' * 64 + b'{\"ok\": true}')\n"
        "        except Exception:\n            pass\n    return 3\n")}))
    # found by attacking the grader: messages that are signed but malformed (nbclient failed the whole notebook:
    # "autograde failed"), widget state (it went into the graded notebook past every output limit: 450 MB), and
    # a check's reply of 3 MB of `[],[],...` (parsed whole before its values were counted: 25 times its size)
    samples.write_submission(subs, "w01_malformed_messages", NB1, samples.fill(NB1, {"head_dim": (
        REF_HEAD_DIM + "\n" + MALFORMED)}))
    samples.write_submission(subs, "w01_widget_state", NB1, samples.fill(NB1, {"head_dim": (
        REF_HEAD_DIM + "\n" + WIDGETS)}))
    samples.write_submission(subs, "j01_reply_of_a_million_values", NB1, samples.fill(NB1, {"head_dim": JSON_BOMB}))
    # a reply that names one 1 MB buffer 12 times (its repr in a check's message: 50 MB in grades.csv and the page),
    # and a wrong head_dim whose returned value, shown by the check's message, is a megabyte long
    samples.write_submission(subs, "j01_names_one_buffer_12_times", NB1, samples.fill(NB1, {"head_dim": ALIASES}))
    samples.write_submission(subs, "j01_a_megabyte_in_the_message", NB1, samples.fill(NB1, {"head_dim": (
        "def head_dim(d_model, num_heads):\n    return d_model // num_heads if d_model % num_heads == 0 "
        "else 'x' * 1_000_000\n")}))
    for student in ("josé", "Jane Doe"):   # ids with letters and spaces that a name can have
        samples.write_submission(subs, student, NB1, samples.fill(NB1))
    out = root / "out"
    # no case here is meant to time out; notebook 06's head-count sweep takes 8 s alone and once passed 30 s
    # while the machine was loaded
    rows = grading.grade(subs, out, cell_timeout=120, progress=False, jobs=2,
                         limits=Limits(notebook_timeout=300, memory_mb=2048))
    return {r.student_id: r for r in rows}, out


def _plain(student: str) -> str:
    return f"plain_wrong_{student[1:3]}"


def test_the_wrong_answers_lose_points_in_their_own_checks_only(graded):
    rows, _ = graded
    assert set(rows["plain_wrong_01"].failed) == {"check_head_dim"}
    assert rows["plain_wrong_01"].score == 6.0
    assert set(rows["plain_wrong_02"].failed) == {"check_softmax_stable"}
    assert set(rows["plain_wrong_07"].failed) == {"check_repeat_kv"}
    assert set(rows["plain_wrong_04"].failed) == {"check_head_contributions"}
    assert rows["correct_01"].score == rows["correct_01"].max_score == 8.0


TAMPERED = [s for s in _cases() if s[0] in "tir"]


def test_there_are_at_least_20_tampering_submissions():
    assert len(TAMPERED) >= 20 and len({_cases()[s][0] for s in TAMPERED}) == 6


#: notebooks 05 and 06 are the slowest to grade: their plain wrong answers (the catalogue's flops_no_projections
#: and ablate_token_rows) aren't graded again here; what they lose is known exactly: the points of their one check
NO_PLAIN = {"05": "check_mha_flops", "06": "check_ablate_heads"}


@pytest.mark.parametrize("student", TAMPERED)
def test_tampering_scores_what_the_wrong_code_scores(graded, student):
    rows, _ = graded
    cheat = rows[student]
    if student[1:3] in NO_PLAIN:
        check = NO_PLAIN[student[1:3]]
        lost = cheat.cells[check][1]
        assert lost > 0 and set(cheat.failed) == {check}, cheat.failed
        assert cheat.cells[check][0] == 0 and cheat.score == cheat.max_score - lost, (cheat.score, cheat.status)
        return
    plain = rows[_plain(student)]
    assert cheat.score == plain.score < plain.max_score, (cheat.score, cheat.status, cheat.failed)
    assert set(cheat.failed) == set(plain.failed), cheat.failed


@pytest.mark.parametrize("student", [s for s in _cases() if s[0] in "nm"])
def test_correct_code_that_warns_or_writes_to_stderr_keeps_full_marks(graded, student):
    rows, _ = graded
    assert rows[student].score == rows[student].max_score, (rows[student].status, rows[student].failed)
    assert rows[student].failed == {}


def test_correct_code_that_uses_torch_compile_keeps_full_marks(graded):
    row = graded[0]["c01_compiles_with_torch"]
    assert (row.score, row.failed) == (row.max_score, {}), (row.status, row.failed)


def test_an_object_that_equals_everything_arrives_as_a_plain_int_or_not_at_all(graded):
    rows, _ = graded
    assert "check_head_dim" in rows["i01_always_equal"].failed


def test_what_the_learner_prints_during_a_check_is_shown_but_not_the_hidden_tests(graded):
    _, out = graded
    page = html.unescape((out / "feedback" / "i01_reads_checks_from_frames" / "01_projections.html").read_text())
    assert "printed by your code while this check ran" in page
    leaked = [s for s in _hidden_snippets(NB1) if s in page]
    assert not leaked, leaked[:3]


def test_a_warning_during_a_check_reaches_the_feedback(graded):
    _, out = graded
    page = html.unescape((out / "feedback" / "m01_warnings_warn" / "01_projections.html").read_text())
    assert "just so you know" in page


def test_a_flood_of_output_is_cut(graded):
    _, out = graded
    page = (out / "feedback" / "t01_flood_of_output" / "01_projections.html").read_text(encoding="utf-8")
    assert len(page) < 4_000_000
    assert "[output lost: your code sent more than 2 MiB of output at once" in page
    # the output channel is connected again: the cells after the flood keep their output (the plot of the heads)
    assert "data:image/png" in page and "[output incomplete" not in page


def test_feedback_pages_run_no_learner_script(graded):
    rows, out = graded
    assert rows["x01_hostile_html"].score == 8.0
    page = (out / "feedback" / "x01_hostile_html" / "01_projections.html").read_text()
    assert "bold-stays" in page and "Notes" in page    # the text stays (escaped), the markup does not run
    import re
    for live in (r"<script[^>]*>[^<]*pwned", r"<[a-zA-Z][^>]*\son[a-z]+\s*=", r"<iframe", r"href=.javascript:"):
        assert not re.search(live, page), (live, re.search(live, page))


def test_no_code_of_the_learner_ran_in_the_grader(graded):
    from pathlib import Path

    rows, out = graded
    for how in REACH:
        assert not Path(ESCAPE_MARK.format(how)).exists(), how
        page = html.unescape((out / "feedback" / f"r01_escape_{how}" / "01_projections.html").read_text())
        assert "refused:" in page, how


def test_the_checker_answers_only_calls_of_what_it_sent():
    """Unit test of the boundary: the checker's end refuses attributes, items and copies of its objects."""
    import socket

    from autograder import checker, rpc

    a, b = socket.socketpair()
    trusted = checker.TrustedPeer(a)
    number = trusted._number(lambda x: x + 1)
    f = trusted.objects[number]
    assert trusted.handle("call", [f, [1], {}]) == 2
    for op, args in [("getattr", [f, "__globals__"]), ("getitem", [f, 0]), ("deepcopy", [f]),
                     ("setattr", [f, "__code__", None]), ("call", [eval, ["1"], {}]),
                     ("call", [rpc.Remote(trusted, 1, "x"), [], {}])]:
        with pytest.raises(PermissionError):
            trusted.handle(op, args)
    a.close()
    b.close()


def test_students_with_unicode_and_spaces_in_their_ids_are_graded(graded):
    from autograder.intake import safe_id

    rows, out = graded
    for student in ("josé", "Jane Doe"):
        assert rows[student].score == 8.0, rows[student].status
        assert rows[student].feedback == f"feedback/{safe_id(student)}/01_projections.html"
        assert (out / rows[student].feedback).is_file()


def test_a_flood_that_cuts_the_output_channel_cannot_hide_a_failed_check(graded):
    rows, out = graded
    plain, cheat = rows["plain_wrong_module_04"], rows["y04_flood_hides_the_error"]
    assert "check_module_grad" in plain.failed and plain.score < plain.max_score, plain.failed
    assert cheat.score == plain.score and set(cheat.failed) == set(plain.failed), (cheat.score, cheat.failed)
    assert "[output lost" in (out / cheat.feedback).read_text()


def test_output_sent_after_a_flood_cut_the_channel_is_kept(graded):
    """The grader connects the output channel again while the cell still runs (iopub.py), not after it: what
    the cell prints once the oversized message has gone arrives, and the page says what was dropped."""
    rows, out = graded
    row = rows["z01_prints_after_a_flood"]
    assert row.score == row.max_score == 8.0, row.status
    page = (out / row.feedback).read_text()
    assert "[output lost" in page and "AFTER-THE-FLOOD" in page


@pytest.mark.parametrize("student", ["z01_prints_20_mb_per_call_in_checks", "z01_writes_3_mb_to_fd2_in_checks"])
def test_correct_code_that_floods_the_output_during_checks_keeps_full_marks(graded, student):
    rows, out = graded
    assert rows[student].score == rows[student].max_score == 8.0, rows[student].status
    page = (out / rows[student].feedback).read_text()
    assert len(page) < 5_000_000   # the notebook keeps 3,000,000 characters of output at most
    if "prints" in student:
        assert "[output truncated: more than 20000 characters while this check ran]" in page


def test_a_long_error_message_is_kept_short_and_one_too_long_to_read_stops_the_notebook(graded):
    rows, out = graded
    kept, stopped = rows["z01_raises_a_3_mb_error"], rows["z01_raises_a_12_mb_error"]
    assert kept.score == kept.max_score == 8.0, kept.status
    assert kept.errors == ["head_dim raised ValueError"], kept.errors
    page = (out / kept.feedback).read_text()
    assert len(page) < 1_500_000 and "the rest cut" in page
    assert stopped.score == 0.0 and stopped.outcome.value == "stopped"
    assert "head_dim cut the grader's channel for replies: a reply over 16 MiB" in stopped.status, stopped.status
    assert len((out / stopped.feedback).read_text()) < 1_500_000


def test_junk_on_the_kernels_sockets_costs_only_the_one_who_sent_it(graded):
    rows, out = graded
    junk, garbage = rows["z01_sends_junk_messages"], rows["z01_writes_bytes_to_every_socket"]
    assert junk.score == junk.max_score == 8.0, junk.status
    assert "AFTER-THE-JUNK" in (out / junk.feedback).read_text()
    assert garbage.score == 0.0 and garbage.outcome.value == "stopped", garbage.status
    assert "cut the grader's channel for replies" in garbage.status, garbage.status


def test_a_notebook_keeps_a_few_mb_of_output_in_all(graded):
    rows, out = graded
    assert rows["x01_output_flood"].score == 8.0, rows["x01_output_flood"].status
    page = (out / rows["x01_output_flood"].feedback).read_text()
    assert len(page) < 5_000_000 and "characters in this notebook" in page


def test_correct_code_that_removes_the_kept_agent_keeps_full_marks(graded):
    rows, _ = graded
    row = rows["k01_removes_the_kept_agent"]
    assert row.score == row.max_score == 8.0 and row.failed == {}, (row.status, row.failed)


def test_an_agent_that_never_connects_is_replaced_by_the_real_one(graded):
    """The later checks are still run and judged: exactly what the wrong head_dim alone scores."""
    rows, _ = graded
    row, plain = rows["k01_no_op_agent"], rows["plain_wrong_01"]
    assert row.score == plain.score == 6.0 and set(row.failed) == {"check_head_dim"}, (row.status, row.failed)


def test_an_agent_that_hangs_up_gets_no_credit_for_the_checks_it_answered(graded):
    rows, _ = graded
    row = rows["k01_hangs_up_agent"]
    later = {"check_split_heads", "check_split_heads_batched", "check_score_cost"}
    assert set(row.failed) == {"check_head_dim"} | later, row.failed
    assert row.score == 0.0, (row.score, row.status)
    assert all("stopped answering the grader" in row.failed[c] for c in later), row.failed


def test_an_agent_wrapped_to_skip_the_swaps_gains_nothing(graded):
    rows, _ = graded
    row, plain = rows["k01_wraps_the_kept_agent"], rows["k01_plain_two_wrong"]
    assert plain.score == 1.0 and set(plain.failed) == {"check_head_dim", "check_split_heads",
                                                         "check_split_heads_batched"}, plain.failed
    # Unwrapped, score_cost's check calls the reference head_dim, which raises for 7 columns and 2 heads; with the
    # swap skipped it calls the learner's wrong one, so the learner only loses score_cost's point as well
    assert row.score == 0.0 and set(row.failed) == set(plain.failed) | {"check_score_cost"}, (row.score, row.failed)
    assert "returned 600 instead of raising ValueError" in row.failed["check_score_cost"], row.failed


def test_malformed_messages_from_the_kernel_are_skipped(graded):
    rows, _ = graded
    row = rows["w01_malformed_messages"]
    assert row.score == row.max_score == 8.0 and row.outcome.value == "graded", row.status


def test_widget_state_does_not_go_into_the_graded_notebook(graded):
    """30 widgets of 1.5 MB each: the graded notebook (its size is in the worker's log) stays small."""
    import re

    rows, out = graded
    assert rows["w01_widget_state"].score == 8.0, rows["w01_widget_state"].status
    logs = "".join(p.read_text() for p in (out / "logs").glob("worker-*.log"))
    sizes = [int(n) for n in re.findall(r"Writing (\d+) bytes to \S*/autograded/w01_widget_state/", logs)]
    assert sizes and max(sizes) < 2_000_000, sizes


def test_a_reply_of_a_million_values_is_refused_unread(graded):
    rows, _ = graded
    row, plain = rows["j01_reply_of_a_million_values"], rows["plain_wrong_01"]
    assert set(row.failed) == {"check_head_dim"} and row.score == plain.score == 6.0, (row.score, row.failed)
    assert "more than 1,000,000 values" in row.failed["check_head_dim"], row.failed


@pytest.mark.parametrize("student", ["j01_names_one_buffer_12_times", "j01_a_megabyte_in_the_message"])
def test_a_learners_value_in_a_checks_message_is_cut(graded, student):
    rows, out = graded
    row, plain = rows[student], rows["plain_wrong_01"]
    assert set(row.failed) == {"check_head_dim"} and row.score == plain.score == 6.0, (row.score, row.failed)
    assert len(row.failed["check_head_dim"]) < 5_000, len(row.failed["check_head_dim"])
    assert len((out / row.feedback).read_text()) < 5_000_000   # the notebook's own output: 3,000,000 characters at most
