"""Benchmark tinygan's compiled GEMM against OpenBLAS (np.matmul), the NumPy twin and PyTorch.

Run from the project's root, after building the kernels::

    python benchmarks/bench_gemm.py

Every implementation gets the same number of threads: tinygan's (TINYGAN_NUM_THREADS, default
every core) is passed to torch.set_num_threads; OpenBLAS uses its own default, which is every
core too unless OPENBLAS_NUM_THREADS says otherwise (set both to compare other counts).
Times are the best of several runs in several rounds, so they show what the code can do, not
the noise (other processes, other thread pools still spinning).
"""

import importlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source checkout
compiled = importlib.import_module("tinygan._kernels.gemm")
twin = importlib.import_module("tinygan._kernels.gemm_numpy")

try:
    import torch
except (ImportError, OSError):  # not installed, or installed without its native libraries
    torch = None

SQUARE_SIZES = (64, 128, 256, 512, 1024)
TIME_PER_MEASUREMENT = 0.05  # seconds spent timing each (implementation, shape); >= 5 runs
SETTLE_SECONDS = 0.15  # pause before timing an implementation: let the others' threads sleep
ROUNDS = 3  # every implementation is timed this many times per shape, taking turns


# Float32 products of the project's own workloads, one section each: (title, rows of (label, m, k,
# n, transpose_a, transpose_b)), m x k @ k x n with .T marking a transposed operand.
FLOAT32_SECTIONS = (
    # Every product of one training step of the engine's MLP (2 -> 128 -> 128 -> 128 -> 1,
    # batch 256, weights W (out, in)), with the transposes Tensor.__matmul__ uses: forward
    # h @ W.T; backward grad @ W, and the weight gradient as (grad^T @ h)^T (see engine.py).
    ("engine MLP step, float32 (m x k @ k x n; .T marks a transposed operand):", (
        ("fwd x @ W1.T 256x2x128", 256, 2, 128, False, True),
        ("fwd h @ W.T 256x128x128", 256, 128, 128, False, True),
        ("fwd h @ W4.T 256x128x1", 256, 128, 1, False, True),
        ("bwd g @ W4 256x1x128", 256, 1, 128, False, False),
        ("bwd g @ W 256x128x128", 256, 128, 128, False, False),
        ("dW4 g.T @ h 1x256x128", 1, 256, 128, True, False),
        ("dW g.T @ h 128x256x128", 128, 256, 128, True, False),
        ("dW1 g.T @ x 128x256x2", 128, 256, 2, True, False),
    )),
    # The Dense layers of `tinygan train --data mnist`'s recipe (batch 64; D: 6272 -> 1024, G:
    # 1024 -> 6272; weights W (out, in)): forward x @ W.T, backward g @ W and g.T @ x.
    ("image recipe's Dense layers, float32, batch 64:", (
        ("fwd x @ W.T 64x6272x1024", 64, 6272, 1024, False, True),
        ("bwd g @ W 64x1024x6272", 64, 1024, 6272, False, False),
        ("dW g.T @ x 1024x64x6272", 1024, 64, 6272, True, False),
        ("fwd x @ W.T 64x1024x6272", 64, 1024, 6272, False, True),
        ("bwd g @ W 64x6272x1024", 64, 6272, 1024, False, False),
        ("dW g.T @ x 6272x64x1024", 6272, 64, 1024, True, False),
    )),
    # Thin shapes that a blocked kernel handles badly (a short side, a short k, transposes).
    ("thin shapes:", (
        ("5000x5 @ 5x5", 5000, 5, 5, False, False),
        ("1x1000 @ 1000x1000", 1, 1000, 1000, False, False),
        ("(1000x1000).T @ 1000x1", 1000, 1000, 1, True, False),
        ("1000x1000 @ 1000x1", 1000, 1000, 1, False, False),
        ("700x3 @ 3x300", 700, 3, 300, False, False),
    )),
)


def best_time(function):
    """The fastest of several calls of function(), in seconds (after one warm-up call).

    First a pause: after a call, every thread pool here (OpenMP's, OpenBLAS's, torch's) keeps
    its threads spinning for a while (up to ~0.2 s) in case more work comes. On a machine with
    few cores those spinning threads would steal the cores from the next implementation.
    """
    time.sleep(SETTLE_SECONDS)
    function()
    best, spent, runs = float("inf"), 0.0, 0
    while runs < 5 or spent < TIME_PER_MEASUREMENT:
        start = time.perf_counter()
        function()
        elapsed = time.perf_counter() - start
        best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
    return best


def implementations(a, b, transpose_a, transpose_b):
    """name -> zero-argument function computing op(a) @ op(b) with that implementation."""
    op_a = a.T if transpose_a else a
    op_b = b.T if transpose_b else b
    candidates = {
        "compiled": lambda: compiled.gemm(a, b, transpose_a, transpose_b),
        "openblas": lambda: np.matmul(op_a, op_b),
        "twin": lambda: twin.gemm(a, b, transpose_a, transpose_b),
    }
    if torch is not None:
        torch_a = torch.from_numpy(a).T if transpose_a else torch.from_numpy(a)
        torch_b = torch.from_numpy(b).T if transpose_b else torch.from_numpy(b)
        candidates["torch"] = lambda: torch.matmul(torch_a, torch_b)
    return candidates


def benchmark_row(label, dtype, m, k, n, transpose_a=False, transpose_b=False):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if transpose_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if transpose_b else (k, n)).astype(dtype)
    flops = 2.0 * m * n * k
    candidates = implementations(a, b, transpose_a, transpose_b)
    # Rounds that take turns: a burst of activity from another process spoils one round of one
    # implementation, not its best time.
    seconds = {name: float("inf") for name in candidates}
    for _ in range(ROUNDS):
        for name, function in candidates.items():
            seconds[name] = min(seconds[name], best_time(function))
    cells, gflops = [], {}
    for name in candidates:
        gflops[name] = flops / seconds[name] / 1e9
        cells.append(f"{seconds[name] * 1e3:9.3f} {gflops[name]:7.1f}")
    ratio = gflops["compiled"] / gflops["openblas"]
    slowdown_vs_twin = gflops["twin"] / gflops["compiled"]
    print(
        f"{label:<26} {np.dtype(dtype).name:<8}"
        + " | ".join(cells)
        + f" | {ratio:6.2f} {slowdown_vs_twin:6.2f}"
    )


def main():
    threads = compiled.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"tinygan build: {compiled.build_info()}")
    print(
        f"threads: tinygan {threads}, torch {torch.get_num_threads() if torch else '-'}, "
        "OpenBLAS its default (every core unless OPENBLAS_NUM_THREADS is set)"
    )
    names = ["compiled", "openblas", "twin"] + (["torch"] if torch is not None else [])
    print(
        f"{'shape':<26} {'dtype':<8}"
        + " | ".join(f"{name + ' ms':>9} {'GFLOP/s':>7}" for name in names)
        + " | c/oblas twin/c"
    )
    for dtype in (np.float32, np.float64):
        for size in SQUARE_SIZES:
            benchmark_row(f"{size}x{size} @ {size}x{size}", dtype, size, size, size)
    # The engine's typical layer: a batch of 256 rows through a 128 -> 128 linear layer,
    # forward (x @ W), and the two backward products (grad @ W.T and x.T @ grad).
    for dtype in (np.float32, np.float64):
        benchmark_row("256x128 @ 128x128", dtype, 256, 128, 128)
        benchmark_row("256x128 @ (128x128).T", dtype, 256, 128, 128, transpose_b=True)
        benchmark_row("(256x128).T @ 256x128", dtype, 128, 256, 128, transpose_a=True)
    for title, rows in FLOAT32_SECTIONS:
        print(title)
        for label, m, k, n, transpose_a, transpose_b in rows:
            benchmark_row(label, np.float32, m, k, n, transpose_a, transpose_b)
    print(
        "c/oblas: compiled GFLOP/s over OpenBLAS GFLOP/s (higher is better); "
        "twin/c: how many times slower compiled is than the twin (below 1 is faster)"
    )


if __name__ == "__main__":
    main()
