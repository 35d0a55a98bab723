"""The GPU branches of notebooks 05, 06 and 08 and of bench/mha_bench.py, run on a CPU under a pretend GPU.

`tests/fake_cuda.py` makes PyTorch believe it has a CUDA GPU (T4, L4, L40, A100, H100, or one that is in
no table of the course) while the numbers are computed on the CPU. The notebooks run top to bottom under
MHA_FAST=1, their hidden tests included.

What this proves: every `if device == "cuda"` branch runs; no tensor is left on the CPU while the others
are on the GPU (PyTorch's "Expected all tensors to be on the same device" error), no GPU tensor goes to
NumPy or Matplotlib without `.cpu()`; the timings synchronise before every clock read (only the
notebook's deliberate no-sync demonstration reads the clock with work queued); the memory measurements use
`torch.cuda`'s statistics correctly; the peak table picks the right GPU; the attention-backend section
shows PyTorch's whole reason, for the backends PyTorch's rules choose on each GPU; notebook 08's model,
training, writing, KV cache and GQA comparison run on the GPU, and a learner's causal mask left on the CPU
stops there with a sentence that says what to change.

What only a real GPU can show: the speeds and the shapes of the curves, the memory used inside fused
kernels, numerical differences of GPU kernels (TF32, float16), whether the installed PyTorch and driver
really pick the backends that these rules (PyTorch's sdp_utils.cpp) predict, and out-of-memory errors.
"""
import contextlib
import importlib.util
import io
import json
import math
import re
import time
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from conftest import SHORTER_RUNS
from fake_cuda import GPUS, MIXED, NUMPY, on_gpu, pretend_gpu

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

REPO = Path(__file__).resolve().parent.parent
NB05, NB06 = REPO / "solutions" / "05_gpu_speed.ipynb", REPO / "solutions" / "06_heads_in_action.ipynb"
NB08 = REPO / "solutions" / "08_transformer_capstone.ipynb"
F16, BF16, F32 = torch.float16, torch.bfloat16, torch.float32
# what PyTorch picks with no backend forced, by its rules (flash, cuDNN: sm80+, half precision; cuDNN first on sm90)
CHOICE = {
    "Tesla T4": {F16: "EFFICIENT_ATTENTION", BF16: "MATH", F32: "EFFICIENT_ATTENTION"},
    "NVIDIA L4": {F16: "FLASH_ATTENTION", BF16: "FLASH_ATTENTION", F32: "EFFICIENT_ATTENTION"},
    "NVIDIA L40": {F16: "FLASH_ATTENTION", BF16: "FLASH_ATTENTION", F32: "EFFICIENT_ATTENTION"},
    "NVIDIA A100-SXM4-40GB": {F16: "FLASH_ATTENTION", BF16: "FLASH_ATTENTION", F32: "EFFICIENT_ATTENTION"},
    "NVIDIA H100 80GB HBM3": {F16: "CUDNN_ATTENTION", BF16: "CUDNN_ATTENTION", F32: "EFFICIENT_ATTENTION"},
    "NVIDIA RTX A1000": {F16: "FLASH_ATTENTION", BF16: "FLASH_ATTENTION", F32: "EFFICIENT_ATTENTION"},
}
FLOAT32_PEAK = {"Tesla T4": 8.1, "NVIDIA L4": 30.3, "NVIDIA L40": 90.5, "NVIDIA A100-SXM4-40GB": 19.5,
                "NVIDIA H100 80GB HBM3": 67, "NVIDIA RTX A1000": None}   # TFLOP/s; None: not in the table


def run_notebook(path, gpu_name, monkeypatch, edit=lambda source: source):
    """Run the code cells of a notebook in this process under a pretend GPU. Returns (namespace, printed text
    by cell index, the PretendGPU)."""
    monkeypatch.setenv("MHA_FAST", "1")
    monkeypatch.setattr(plt, "show", lambda *a, **k: plt.close("all"))
    cells = json.loads(path.read_text())["cells"]
    namespace, printed = {"__name__": "__main__"}, {}
    with pretend_gpu(gpu_name) as gpu, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, cell in enumerate(cells):
            if cell["cell_type"] != "code":
                continue
            gpu.context, out = f"cell {i}", io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    exec(compile(edit("".join(cell["source"])), f"<{path.name} cell {i}>", "exec"), namespace)
                except Exception as err:
                    raise AssertionError(f"{path.name} cell {i} raised on a pretend {gpu_name}: {err!r}\n"
                                         f"{out.getvalue()}") from err
            printed[i] = out.getvalue()
    plt.close("all")
    return namespace, printed, gpu


def cell_with(printed, text):
    return next(i for i, out in printed.items() if text in out)


# ---- the harness raises where a GPU would, and sees what a GPU would hide ----
def test_the_pretend_gpu_refuses_what_a_gpu_refuses():
    with pretend_gpu("Tesla T4") as gpu:
        x, w = torch.randn(3, 4, device="cuda"), torch.randn(4, 2)
        assert torch.cuda.is_available() and x.device.type == "cuda" and w.device.type == "cpu"
        with pytest.raises(RuntimeError, match=re.escape(MIXED)):
            x @ w
        module = nn.Linear(4, 2)
        with pytest.raises(RuntimeError, match=re.escape(MIXED)):
            module(x)
        assert module.to("cuda")(x).device.type == "cuda"     # once moved, it works
        for to_numpy in (lambda t: t.numpy(), np.asarray):
            with pytest.raises(TypeError, match=re.escape(NUMPY)):
                to_numpy(x)
        assert np.asarray(x.cpu()).shape == (3, 4) and (x * torch.tensor(2.0)).device.type == "cuda"
        gpu.context = "timed"
        start = time.perf_counter()          # noqa: F841  (queued work: randn, matmul...)
        assert gpu.early_reads and gpu.early_reads[-1][0] == "timed"
        torch.cuda.synchronize()
        reads = len(gpu.early_reads)
        time.perf_counter()
        assert len(gpu.early_reads) == reads, "a clock read after synchronize() has nothing queued"


def test_memory_statistics_follow_live_gpu_tensors():
    with pretend_gpu("NVIDIA L4"):
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        big = torch.zeros(1024, 256, device="cuda")          # 1 MiB
        assert torch.cuda.memory_allocated() - before == 2**20
        view = big[:10]                                      # a view shares the storage: no new bytes
        assert torch.cuda.memory_allocated() - before == 2**20
        del big, view
        assert torch.cuda.memory_allocated() == before and torch.cuda.max_memory_allocated() - before == 2**20


@pytest.mark.parametrize("gpu_name", GPUS)
def test_backend_choice_follows_pytorchs_rules(gpu_name):
    with pretend_gpu(gpu_name):
        for dtype, want in CHOICE[gpu_name].items():
            q = torch.randn(1, 2, 16, 64, device="cuda", dtype=dtype)
            assert SDPBackend(torch._fused_sdp_choice(q, q, q)).name == want, (gpu_name, dtype)


def test_a_refused_backend_warns_and_raises_like_pytorch():
    with pretend_gpu("Tesla T4"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        q = torch.randn(1, 2, 16, 64, device="cuda", dtype=F16)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION), pytest.raises(RuntimeError, match="No available kernel"):
            F.scaled_dot_product_attention(q, q, q)
    messages = [str(w.message) for w in caught]
    assert messages[0].startswith("Memory efficient kernel not used because:")
    assert all(re.search(r"\(Triggered internally at .*sdp_utils\.cpp:\d+\.\)$", m) for m in messages)
    assert any("sm 7.5" in m for m in messages)


# ---- the notebooks and the benchmark on every pretend GPU ----
def shorter(path: Path):
    """An edit for run_notebook: the lines of tests/conftest.py's SHORTER_RUNS for this notebook (shorter timings and
    trainings, as the suite's whole-notebook gradings use them); the test fails, saying so, when one of the
    notebook's lines has changed (the edit would do nothing)."""
    lines = SHORTER_RUNS[path.name]
    sources = "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])
    missing = [old for old in lines if old not in sources]
    assert not missing, f"{path.name}'s lines {missing} changed: update SHORTER_RUNS in tests/conftest.py"

    def edit(source):
        for old, new in lines.items():
            source = source.replace(old, new)
        return source
    return edit


# 05's timings measure each function for 5-30 ms under MHA_FAST, and the head-count section in 3 rounds: here for
# about 1 ms, in one round (the test checks what is timed and how, not the figures)
shorter_timings = shorter(NB05)


@pytest.mark.parametrize("gpu_name", GPUS)
def test_notebook_05_on_a_gpu(gpu_name, monkeypatch):
    ns, printed, gpu = run_notebook(NB05, gpu_name, monkeypatch, edit=shorter_timings)
    text = "".join(printed.values())
    assert f"Running on the GPU: {gpu_name}" in text
    # timings synchronise: only the deliberate "no sync" demonstration reads the clock with work queued
    demo = cell_with(printed, "real GPU, n=")
    assert {where for where, _, _ in gpu.early_reads} == {f"cell {demo}"}, gpu.early_reads
    # section 6 measures memory: the batched module holds its (batch, h, n, n) scores, the fused kernel doesn't
    peaks = {m[1]: [float(v) for v in m[2].split()]
             for m in re.finditer(r"^(\S.*?)\s+peak extra memory \(MiB\): \[(.*)\]$", text, re.M)}
    scores_mib = ns["scores_bytes"](ns["batch"], ns["num_heads"], ns["N_LIST"][-1]) / 2**20
    assert peaks["batched (yours)"][-1] >= scores_mib > peaks["SDPA"][-1], peaks
    # section 8: the right datasheet peak, or a measured one that says where it was measured
    peak_line = next(line for line in text.splitlines() if line.startswith("peak used:"))
    if FLOAT32_PEAK[gpu_name]:
        assert f"{FLOAT32_PEAK[gpu_name] * 1000:.1f} GFLOP/s in float32 (datasheet float32 peak of the {gpu_name}" \
            in peak_line, peak_line
    else:
        assert "measured" in peak_line and "on the GPU" in peak_line and "thread" not in peak_line, peak_line
    # section 9: whole reasons, none of PyTorch's headers or file positions; PyTorch's choice
    section9 = printed[cell_with(printed, "with no backend forced")]
    refused = re.findall(r"not available: (.*)", section9)
    assert all(r and "Triggered internally" not in r and "not used because" not in r for r in refused), section9
    if gpu_name == "Tesla T4":
        assert re.search(r"FLASH_ATTENTION\s+not available: Flash attention only supports .*sm 7\.5 gpu\.", section9)
    for dtype in (F16, BF16):
        assert re.search(rf"{dtype}\s+inputs use: {CHOICE[gpu_name][dtype]}", section9), section9


def test_what_if_4_float16_runs_as_written(monkeypatch):
    """What-if 4: DTYPE = torch.float16 in section 1, then run again; section 8 compares with float16's peak."""
    def float16(source):
        return shorter_timings(source).replace("DTYPE = torch.float32", "DTYPE = torch.float16")
    _, printed, gpu = run_notebook(NB05, "NVIDIA A100-SXM4-40GB", monkeypatch, edit=float16)
    text = "".join(printed.values())
    assert "peak used: 312000.0 GFLOP/s in float16 (datasheet float16 tensor-core peak" in text
    assert (F16, SDPBackend.FLASH_ATTENTION) in gpu.backends_used


# 06 trains its 4-head model, then two more in the head-count sweep, with the same `train_model`: here every model
# trains for 50 steps, not 500 (the test checks where tensors live and when the clock is read, not what the models
# learn; the checks that follow test the learner's functions, not the trained model)
shorter_training_06 = shorter(NB06)


def test_notebook_06_on_a_gpu(monkeypatch):
    _, printed, gpu = run_notebook(NB06, "Tesla T4", monkeypatch, edit=shorter_training_06)
    text = "".join(printed.values())
    assert "trained 50 steps" in text, "the edit should shorten the training"
    assert "d_k = 16: 1616 weights" in text, "the sweep should still train h = 1"
    assert "device: cuda" in text
    assert gpu.early_reads == [], f"clock read with GPU work queued: {gpu.early_reads}"


def test_bench_on_a_gpu(tmp_path):
    spec = importlib.util.spec_from_file_location("mha_bench", REPO / "bench" / "mha_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "gpu.json"
    with pretend_gpu("NVIDIA L4") as gpu, contextlib.redirect_stdout(io.StringIO()):
        assert bench.main(["--quick", "--device", "cuda", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["meta"]["device_name"] == "NVIDIA L4" and gpu.early_reads == []
    for r in result["rows"]:
        assert r["peak_mem_kind"] == "measured"
        if r["impl"] == "batched":
            assert r["peak_mem_bytes"] >= bench.theory_score_bytes("batched", 1, result["meta"]["num_heads"], r["n"], 4)


def test_peak_table_matches_whole_gpu_names():
    """The table of section 8 against names as torch.cuda.get_device_name() gives them."""
    cells = json.loads(NB05.read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "def datasheet_peak" in "".join(c["source"]))
    ns = {}
    exec(source.split("PEAK_FLOPS = None")[0], ns)
    want = {"Tesla T4": 8.1, "NVIDIA L4": 30.3, "NVIDIA L40": 90.5, "NVIDIA L40S": 91.6, "NVIDIA A10": 31.2,
            "NVIDIA A100-SXM4-40GB": 19.5, "NVIDIA A100-SXM4-80GB": 19.5, "NVIDIA A100 80GB PCIe": 19.5,
            "Tesla V100-SXM2-16GB": 15.7, "NVIDIA H100 80GB HBM3": 67, "NVIDIA H100 PCIe": 51, "NVIDIA H200": 67,
            "NVIDIA RTX A1000": None, "NVIDIA T400": None, "NVIDIA GeForce RTX 4090": None, "NVIDIA A10G": None}
    got = {name: (ns["datasheet_peak"](name) or (None,))[0] for name in want}
    assert got == want


# ---- notebook 08: the capstone's model, training, writing and KV cache on the pretend GPU ----
# 08's model trains for 12 steps, not 80 (its loss falls, though not yet below the unigram baseline: the test checks
# that training runs on the GPU and what it leaves there, not how well it writes), and its GQA comparison trains
# three variants with the same code for 3 steps each (the test checks where their tensors live and their caches)
shorter_training_08 = shorter(NB08)


def test_notebook_08_on_a_gpu(monkeypatch):
    ns, printed, gpu = run_notebook(NB08, "Tesla T4", monkeypatch, edit=shorter_training_08)
    text = "".join(printed.values())
    assert ns["device"] == "cuda" and "device: cuda (Tesla T4)" in text
    # the model, the batches and the variants of section 9 live on the GPU (labelled so: the pretend GPU has ended
    # here, so .device would say cpu), the attention maps come back to the CPU
    for model in (ns["model"], ns["variant"]):
        assert all(on_gpu(p) for p in model.parameters())
    assert on_gpu(ns["val_windows"]) and not on_gpu(ns["train_data"])
    assert all(not on_gpu(m) for m in ns["maps"])
    # every check passed (hidden tests included): the checks run on the CPU whatever the device
    assert text.count("OK: ") == 11, text
    # training: finite losses that fall from about ln V
    history = ns["history"]
    assert ns["STEPS"] == 12 and all(math.isfinite(v) for v in history["train"] + history["val"])
    assert history["val"][-1] < history["val"][0] <= ns["UNIFORM_LOSS"] + 0.2, history
    # writing: the samples start with the prompt and have their length; the cache writes what the full model writes
    assert all(s.startswith(ns["PROMPT"]) and len(s) == len(ns["PROMPT"]) + 160 for s in ns["samples"].values())
    cached, full = ns["timings"]["with KV cache"][0], ns["timings"]["without cache"][0]
    assert cached == full and len(cached) == ns["CONTEXT"]
    assert ns["difference"] < 1e-4
    results = ns["results"]
    assert all(math.isfinite(r["loss"]) for r in results.values())
    assert results["MHA"]["cache"] == 2 * results["GQA"]["cache"] == 4 * results["MQA"]["cache"]
    assert re.search(r"with KV cache : [\d.]+ ms per character on cuda", text), text
    # every clock read (training time, decoding speed) waited for the GPU first
    assert gpu.early_reads == [], f"clock read with GPU work queued: {gpu.early_reads}"


def test_notebook_08_names_the_mask_left_on_the_cpu(monkeypatch):
    """A block_forward that makes its causal mask on the CPU passes every check (they run on the CPU), then
    stops at the first cell that runs it on the GPU with PyTorch's error and what to change."""
    def cpu_mask(source):
        return source.replace("causal_mask(x.shape[-2], device=x.device)", "causal_mask(x.shape[-2])")
    with pytest.raises(AssertionError) as raised:
        run_notebook(NB08, "NVIDIA L4", monkeypatch, edit=cpu_mask)
    message = str(raised.value)
    assert MIXED in message and "causal_mask(n, device=x.device)" in message, message
    cells = json.loads(NB08.read_text())["cells"]   # the first cell that runs block_forward on the GPU
    first = next(i for i, c in enumerate(cells) if "block_demo = Block(16, 4, 64).to(device)" in "".join(c["source"]))
    assert f"cell {first} raised" in message, message
