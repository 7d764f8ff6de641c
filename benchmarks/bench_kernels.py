"""All kernel benchmarks in one run: GEMM (bench_gemm.py), convolution (bench_conv.py), then the
fused kernels: batch norm, LeakyReLU, bias, Adam (bench_fused.py).

    python benchmarks/bench_kernels.py

Each part runs in its own process, so each starts with fresh thread pools (OpenBLAS's, OpenMP's,
torch's) and one cannot slow the other. Together they take well under two minutes. Every row
prints times, GFLOP/s and ratios measured in that same run: compare ratios, not absolute times,
across machines.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("bench_gemm.py", "bench_conv.py", "bench_fused.py")


def main():
    start = time.perf_counter()
    failed = []
    for part in PARTS:
        print(f"\n=== {part}", flush=True)
        if subprocess.run([sys.executable, str(HERE / part)], check=False).returncode != 0:
            failed.append(part)
    print(f"\nall kernel benchmarks: {time.perf_counter() - start:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
