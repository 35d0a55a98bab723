"""The benchmark script runs, prints its table and JSON, and its four implementations agree.

No timing is asserted here: CI machines are too noisy for that. The speed targets are reported by
`python bench/mha_bench.py` itself and quoted in the README.
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "mha_bench.py"
IMPLS = ("loop", "batched", "torch", "sdpa")
LABELS = ("loop over heads", "batched (04)", "nn.MultiheadAttention", "SDPA core")


def load_bench():
    spec = importlib.util.spec_from_file_location("mha_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--device", "cpu", "--json", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, f"bench --quick failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout, json.loads(out.read_text())


def test_quick_table_structure(quick_run):
    stdout, result = quick_run
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("n |"))
    for column in ("median ms", "IQR ms", "x SDPA", "GFLOP/s", "peak mem MiB"):
        assert column in lines[header], f"table header lacks {column!r}: {lines[header]!r}"
    ns = result["meta"]["ns"]
    rows = [line for line in lines[header + 2:] if line.count("|") == 6]
    assert len(rows) == len(ns) * len(IMPLS), f"expected one table row per (n, implementation):\n{stdout}"
    for i, line in enumerate(rows):
        cells = [c.strip() for c in line.split("|")]
        assert int(cells[0]) == ns[i // len(IMPLS)]
        assert cells[1] == LABELS[i % len(IMPLS)]
        assert float(cells[2]) > 0 and float(cells[3]) >= 0 and float(cells[5]) > 0
    sdpa_rows = [line for line in rows if "SDPA core" in line]
    assert all(float(line.split("|")[4]) == 1.0 for line in sdpa_rows), "the SDPA row's ratio to itself must be 1.00"


def test_quick_json(quick_run):
    _, result = quick_run
    meta, rows = result["meta"], result["rows"]
    assert meta["device"] == "cpu" and meta["threads"] == 1
    assert [(r["n"], r["impl"]) for r in rows] == [(n, impl) for n in meta["ns"] for impl in IMPLS]
    bench = load_bench()
    for r in rows:
        assert r["max_abs_diff"] <= 1e-4, f"{r['impl']} at n={r['n']} disagrees with the batched MHA"
        assert r["median_s"] > 0 and r["iqr_s"] >= 0 and r["samples"] >= 1
        assert r["flops"] == bench.mha_flops(meta["batch"], r["n"], meta["d_model"])
        assert r["flop_per_s"] == pytest.approx(r["flops"] / r["median_s"])
        assert r["peak_mem_kind"] == "theory" and r["peak_mem_bytes"] >= 0
        sdpa = next(s for s in rows if s["n"] == r["n"] and s["impl"] == "sdpa")
        assert r["ratio_to_sdpa"] == pytest.approx(r["median_s"] / sdpa["median_s"])


@pytest.mark.parametrize("batch,n,d_model,heads", [(1, 16, 32, 4), (2, 33, 48, 3), (3, 7, 16, 1)])
def test_implementations_agree(batch, n, d_model, heads):
    bench = load_bench()
    torch.manual_seed(0)
    mha = bench.MultiHeadAttention(d_model, heads).eval()
    x = torch.randn(batch, n, d_model)
    with torch.inference_mode():
        outs = {name: fn(x) for name, fn in bench.implementations(mha).items()}
    assert set(outs) == set(IMPLS)
    for name, out in outs.items():
        assert out.shape == (batch, n, d_model), f"{name} returned shape {tuple(out.shape)}"
        assert torch.allclose(out, outs["batched"], atol=1e-5), f"{name} differs from the batched MHA"


def test_flops_and_memory_formulas():
    bench = load_bench()
    assert bench.mha_flops(1, 10, 8) == 4 * 100 * 8 + 8 * 10 * 64
    assert bench.mha_flops(2, 10, 8) == 2 * bench.mha_flops(1, 10, 8)
    assert bench.theory_score_bytes("batched", 1, 8, 1024, 4) == 32 * 2**20
    assert bench.theory_score_bytes("loop", 1, 8, 1024, 4) == 4 * 2**20
    assert bench.theory_score_bytes("sdpa", 1, 8, 1024, 4) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_reusing_freed_memory_removes_the_batched_modules_page_faults(tmp_path):
    """At n=1024 each batched call maps fresh 32 MiB score tensors (8 heads of 1024 x 1024); with freed memory kept
    it does not. d_model 64 instead of 512: the same scores, far less arithmetic."""
    faults = {}
    for extra in ([], ["--reuse-freed-memory"]):
        out = tmp_path / f"run{len(extra)}.json"
        proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--n", "1024", "--d-model", "64",
                               "--min-run-time", "0.01", "--json", str(out), *extra],
                              capture_output=True, text=True, timeout=300, cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-2000:]
        result = json.loads(out.read_text())
        assert result["meta"]["allocator"] == ("default" if not extra else load_bench().GLIBC_REUSE)
        faults[bool(extra)] = next(r["minor_faults_per_call"] for r in result["rows"] if r["impl"] == "batched")
    assert faults[False] > 5000 and faults[True] < faults[False] / 5, faults


def test_suite_cpu_reports_each_file_and_a_failure(tmp_path):
    """bench/suite_cpu.py runs each file alone and reports its CPU time, and says when a file failed."""
    failing = tmp_path / "test_fails.py"
    failing.write_text("def test_fails():\n    assert 1 == 2\n")
    out = tmp_path / "cpu.json"
    done = subprocess.run([sys.executable, "bench/suite_cpu.py", "tests/test_quiz.py", str(failing), "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    figures = json.loads(out.read_text())
    rows = {tuple(r["files"]): r for r in figures["rows"]}
    quiz, fails = rows[("tests/test_quiz.py",)], rows[(str(failing),)]
    assert quiz["ok"] and "passed" in quiz["summary"] and quiz["cpu_s"] > 0 and quiz["wall_s"] > 0
    assert not fails["ok"] and "1 failed" in fails["summary"]
    assert figures["loop_cpu_s"] > 0 and "(FAILED)" in done.stdout


def test_suite_cpu_runs_the_files_of_a_shared_fixture_together():
    spec = importlib.util.spec_from_file_location("suite_cpu", REPO / "bench" / "suite_cpu.py")
    suite_cpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite_cpu)
    got = suite_cpu.groups(["tests/test_browser.py", "tests/test_pool.py", "tests/test_cli.py"])
    assert got == [["tests/test_browser.py", "tests/test_cli.py"], ["tests/test_pool.py"]]
