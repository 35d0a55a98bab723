"""Benchmark four implementations of multi-head attention that share the same weights.

    python bench/mha_bench.py [--device cpu|cuda] [--json out.json] [--quick] [--threads N] [--reuse-freed-memory]

The four implementations (self-attention, no mask, no biases):
  loop      a Python loop over heads, one small attention per head
  batched   the learner's batched MultiHeadAttention from notebook 04 (all heads in one tensor)
  torch     torch.nn.MultiheadAttention(need_weights=False) with the same weights
  sdpa      the batched MHA with F.scaled_dot_product_attention as its core (fused kernels)

They are checked equal on every input before anything is timed. Times are medians (and IQRs) from
torch.utils.benchmark.Timer, which warms up, synchronises the GPU and fixes the CPU thread count.
FLOPs count a multiply-add as 2: 4*B*n^2*d_model for attention plus 8*B*n*d_model^2 for the projections.
Peak memory is measured on CUDA (torch.cuda.max_memory_allocated above the inputs); a CPU has no
allocator statistics, so on CPU the column gives the bytes of the n x n score tensors that each
implementation keeps alive at once (theory: B*h*n^2*bytes for batched, B*n^2*bytes for the loop,
none for the fused kernels). Each row also records the minor page faults of one call (getrusage): on
Linux, glibc's malloc hands every block of 32 MiB or more straight back to the kernel when it is freed, so
each fresh n x n tensor is page-faulted and zero-filled again on every call. --reuse-freed-memory keeps
freed memory in the process (glibc mallopt), as allocators such as jemalloc or tcmalloc do.
"""
from __future__ import annotations

import argparse
import importlib.util
import ctypes
import ctypes.util
import json
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils import benchmark


# ---- the learner's batched MHA (notebook 04): the course's reference solution, which `python -m autograder
# release` writes to course_pieces.py from solutions/ (so this bench times exactly what the course teaches) ----
_spec = importlib.util.spec_from_file_location("course_pieces", Path(__file__).with_name("course_pieces.py"))
course_pieces = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course_pieces)
head_dim, MultiHeadAttention = course_pieces.head_dim, course_pieces.MultiHeadAttention


# ---- the other three implementations, sharing the weights of one MultiHeadAttention ----
def loop_mha(mha, x):
    """One head at a time: head i uses columns [i*d_k, (i+1)*d_k) of W_Q, W_K and W_V."""
    heads = []
    for i in range(mha.num_heads):
        cols = slice(i * mha.d_k, (i + 1) * mha.d_k)
        Q_i, K_i, V_i = x @ mha.W_Q[:, cols], x @ mha.W_K[:, cols], x @ mha.W_V[:, cols]   # (B, n, d_k)
        weights_i = (Q_i @ K_i.transpose(-1, -2) / math.sqrt(mha.d_k)).softmax(dim=-1)   # (B, n, n)
        heads.append(weights_i @ V_i)                                                     # (B, n, d_k)
    return torch.cat(heads, dim=-1) @ mha.W_O                                             # (B, n, d_model)


def sdpa_mha(mha, x):
    """The batched MHA with F.scaled_dot_product_attention as its core: no n x n tensor is kept."""
    Q, K, V = mha.split(x @ mha.W_Q), mha.split(x @ mha.W_K), mha.split(x @ mha.W_V)   # (B, h, n, d_k)
    heads = F.scaled_dot_product_attention(Q, K, V)                                       # (B, h, n, d_k)
    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O                                  # (B, n, d_model)


def to_torch_mha(mha):
    """nn.MultiheadAttention with the same weights (it applies x @ W.T, Q/K/V stacked in in_proj_weight)."""
    d_model = mha.W_Q.shape[0]
    torch_mha = nn.MultiheadAttention(d_model, mha.num_heads, bias=False, batch_first=True,
                                      device=mha.W_Q.device, dtype=mha.W_Q.dtype)
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(torch.cat([mha.W_Q.T, mha.W_K.T, mha.W_V.T]))
        torch_mha.out_proj.weight.copy_(mha.W_O.T)
    return torch_mha.eval()


IMPLS = ("loop", "batched", "torch", "sdpa")
LABELS = {"loop": "loop over heads", "batched": "batched (04)", "torch": "nn.MultiheadAttention",
          "sdpa": "SDPA core"}


def implementations(mha):
    """{name: fn(x) -> (B, n, d_model)} for the four implementations, all using mha's weights."""
    torch_mha = to_torch_mha(mha)
    return {
        "loop": lambda x: loop_mha(mha, x),
        "batched": lambda x: mha(x, x, x)[0],
        "torch": lambda x: torch_mha(x, x, x, need_weights=False)[0],
        "sdpa": lambda x: sdpa_mha(mha, x),
    }


def mha_flops(batch, n, d_model):
    """FLOPs of one self-attention MHA forward pass (a multiply-add counts 2)."""
    return 4 * batch * n * n * d_model + 8 * batch * n * d_model * d_model


def theory_score_bytes(impl, batch, num_heads, n, bytes_per_element):
    """Bytes of the n x n score tensors an implementation holds at once (CPU has no allocator stats)."""
    return {"loop": batch * n * n * bytes_per_element,
            "batched": batch * num_heads * n * n * bytes_per_element,
            "torch": 0, "sdpa": 0}[impl]


def cpu_name():
    """The processor's model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


GLIBC_REUSE = "glibc malloc keeping freed memory (mallopt M_MMAP_MAX=0, M_TRIM_THRESHOLD=1 GiB)"


def reuse_freed_memory():
    """Make glibc's malloc keep freed memory instead of returning it to the kernel; returns a description.

    By default glibc serves a block of 32 MiB or more (one 8 x 1024 x 1024 float32 score tensor) with its own
    mmap and unmaps it when it is freed, so the next call page-faults and zero-fills the whole block again.
    With M_MMAP_MAX=0 every block comes from the heap, and a high M_TRIM_THRESHOLD keeps freed heap memory
    mapped, so the next tensor of the same size reuses pages that are already there. Same effect from the
    shell: GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1073741824.
    """
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        raise SystemExit("--reuse-freed-memory needs glibc (Linux): mallopt not found")
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
    if not (libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)):
        raise SystemExit("--reuse-freed-memory: mallopt refused the settings")
    return GLIBC_REUSE


def minor_faults_per_call(fn, x, calls=10, warmup=5):
    """Minor page faults (fresh pages the kernel maps and zero-fills) per call of fn(x): the mean over `calls`
    calls after `warmup` calls (with freed memory kept, the heap grows during the first few calls, then
    stops faulting)."""
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(calls):
            fn(x)
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def measure(fn, x, threads, min_run_time, max_run_time):
    """Median and IQR of fn(x) in seconds (torch.utils.benchmark: warm-up, sync, fixed threads)."""
    timer = benchmark.Timer(stmt="fn(x)", globals={"fn": fn, "x": x}, num_threads=threads)
    with torch.inference_mode():
        m = timer.adaptive_autorange(threshold=0.1, min_run_time=min_run_time, max_run_time=max_run_time)
    return m.median, m.iqr, len(m.times)


def peak_memory(fn, x, device):
    """Bytes allocated by fn(x) at its peak, above what was allocated before (CUDA only)."""
    sync(device)
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    with torch.inference_mode():
        fn(x)
    sync(device)
    return torch.cuda.max_memory_allocated() - before


def run(device="cpu", ns=(128, 256, 512, 1024, 2048), batch=1, d_model=512, num_heads=8,
        dtype=torch.float32, threads=1, min_run_time=0.2, max_run_time=2.0, seed=0, log=print,
        allocator="default"):
    """Benchmark every implementation at every n. Returns the result as a JSON-ready dict."""
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    torch.manual_seed(seed)
    if device == "cpu":
        torch.set_num_threads(threads)
    mha = MultiHeadAttention(d_model, num_heads).to(device=device, dtype=dtype).eval()
    fns = implementations(mha)
    bytes_per_element = torch.finfo(dtype).bits // 8
    atol = 1e-4 if dtype == torch.float32 else 2e-2
    rows = []
    for n in ns:
        x = torch.randn(batch, n, d_model, device=device, dtype=dtype)   # (B, n, d_model)
        with torch.inference_mode():
            reference = fns["batched"](x)
            diffs = {name: (fn(x) - reference).abs().max().item() for name, fn in fns.items()}
        bad = {name: d for name, d in diffs.items() if not d <= atol}
        if bad:
            raise SystemExit(f"n={n}: implementations disagree with the batched MHA (max abs diff {bad}, "
                             f"tolerance {atol}); nothing was timed")
        flops = mha_flops(batch, n, d_model)
        for name, fn in fns.items():
            median, iqr, samples = measure(fn, x, threads, min_run_time, max_run_time)
            faults = minor_faults_per_call(fn, x) if device == "cpu" else None
            if device == "cuda":
                mem, mem_kind = peak_memory(fn, x, device), "measured"
            else:
                mem, mem_kind = theory_score_bytes(name, batch, num_heads, n, bytes_per_element), "theory"
            rows.append(dict(n=n, impl=name, median_s=median, iqr_s=iqr, samples=samples, flops=flops,
                             flop_per_s=flops / median, peak_mem_bytes=mem, peak_mem_kind=mem_kind,
                             max_abs_diff=diffs[name], minor_faults_per_call=faults))
        sdpa_time = next(r["median_s"] for r in rows if r["n"] == n and r["impl"] == "sdpa")
        for r in rows:
            if r["n"] == n:
                r["ratio_to_sdpa"] = r["median_s"] / sdpa_time
        log(format_rows([r for r in rows if r["n"] == n], header=(n == ns[0])))
    meta = dict(device=device, device_name=(torch.cuda.get_device_name() if device == "cuda"
                                            else cpu_name()),
                threads=threads if device == "cpu" else None, torch=torch.__version__,
                python=platform.python_version(), batch=batch, d_model=d_model, num_heads=num_heads,
                dtype=str(dtype).replace("torch.", ""), ns=list(ns), min_run_time=min_run_time,
                max_run_time=max_run_time, command=" ".join([sys.executable.split("/")[-1]] + sys.argv),
                load_average_1min_start=load_start,
                load_average_1min=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                cpu_count=os.cpu_count(), allocator=allocator)
    return dict(meta=meta, rows=rows, targets=targets(rows))


def targets(rows):
    """The speed targets of the project (reported, not asserted)."""
    t = {(r["n"], r["impl"]): r["median_s"] for r in rows}
    out = {}
    if (1024, "batched") in t and (1024, "torch") in t:
        out["batched_over_torch_at_1024"] = dict(value=t[1024, "batched"] / t[1024, "torch"], target="<= 1.2")
    if (2048, "batched") in t and (2048, "sdpa") in t:
        out["batched_over_sdpa_at_2048"] = dict(value=t[2048, "batched"] / t[2048, "sdpa"], target=">= 2")
    return out


COLUMNS = ("n", "implementation", "median ms", "IQR ms", "x SDPA", "GFLOP/s", "peak mem MiB")


def format_rows(rows, header=True):
    lines = []
    if header:
        lines.append("{:>6} | {:<22} | {:>10} | {:>8} | {:>7} | {:>8} | {:>14}".format(*COLUMNS))
        lines.append("-" * 94)
    for r in rows:
        mem = r["peak_mem_bytes"] / 2**20
        mem_text = (f"{mem:.2f}" if r["peak_mem_bytes"] else "0 (fused)") + (" *" if r["peak_mem_kind"] == "theory" else "")
        lines.append(f"{r['n']:>6} | {LABELS[r['impl']]:<22} | {r['median_s'] * 1e3:>10.3f} | "
                     f"{r['iqr_s'] * 1e3:>8.3f} | {r['ratio_to_sdpa']:>7.2f} | {r['flop_per_s'] / 1e9:>8.2f} | "
                     f"{mem_text:>14}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", metavar="OUT", help="also write the results as JSON to this file")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of a few seconds")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    p.add_argument("--n", help="comma-separated sequence lengths (default 128..2048 on CPU, ..8192 on GPU)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--dtype", choices=("float32", "float16", "bfloat16"), default="float32")
    p.add_argument("--min-run-time", type=float, default=None, help="seconds of timing per measurement")
    p.add_argument("--reuse-freed-memory", action="store_true",
                   help="glibc only: keep freed memory in the process (mallopt) instead of page-faulting every "
                        "large tensor afresh; default: the allocator as it comes")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA GPU is visible to PyTorch")
    if args.n:
        ns = tuple(int(v) for v in args.n.split(","))
    elif args.quick:
        ns = (64, 128)
    else:
        ns = (128, 256, 512, 1024, 2048) + ((4096, 8192) if args.device == "cuda" else ())
    d_model, heads = (64, 4) if args.quick else (args.d_model, args.heads)
    min_run = args.min_run_time if args.min_run_time is not None else (0.01 if args.quick else 0.2)
    dtype = getattr(torch, args.dtype)
    allocator = reuse_freed_memory() if args.reuse_freed_memory else "default"
    threads_text = f", {args.threads} thread(s)" if args.device == "cpu" else ""
    load = f", load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores" if hasattr(os, "getloadavg") else ""
    print(f"MHA benchmark on {args.device}{threads_text}: batch={args.batch} d_model={d_model} heads={heads} "
          f"dtype={args.dtype} torch={torch.__version__}{load}; allocator: {allocator}")
    t0 = time.perf_counter()
    result = run(device=args.device, ns=ns, batch=args.batch, d_model=d_model, num_heads=heads,
                 dtype=dtype, threads=args.threads, min_run_time=min_run, max_run_time=max(10 * min_run, 0.05),
                 allocator=allocator)
    if args.device == "cpu":
        print("* theory (a CPU has no allocator statistics): one n x n score tensor for the heads computed at "
              "once, B*h*n^2*bytes batched, B*n^2*bytes in the loop, none in the fused kernels")
    if args.device == "cpu":
        n_faults = 1024 if 1024 in ns else ns[-1]
        print(f"minor page faults per call at n={n_faults}: " + ", ".join(
            f"{LABELS[r['impl']]} {r['minor_faults_per_call']:.0f}" for r in result["rows"] if r["n"] == n_faults))
    for name, t in result["targets"].items():
        print(f"target {name}: {t['value']:.2f} (target {t['target']})")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        busy = load > torch.get_num_threads() + 0.5
        print(f"load average at the end: {load:.2f} on {os.cpu_count()} cores"
              + (" (above the thread count: other programs shared the processor and slowed some runs)" if busy else ""))
    print(f"total {time.perf_counter() - t0:.1f} s; all four implementations agree "
          f"(max abs diff {max(r['max_abs_diff'] for r in result['rows']):.1e})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
