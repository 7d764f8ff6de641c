"""All kernel benchmarks in one run: GEMM (bench_gemm.py), then convolution (bench_conv.py),
each on 1 and on 2 threads.

    python benchmarks/bench_kernels.py

Each part runs in its own process, so each starts with fresh thread pools (OpenBLAS's, OpenMP's,
torch's) and one cannot slow the other. Together they take a few minutes. Every row
prints times, GFLOP/s and ratios measured in that same run: compare ratios, not absolute times,
across machines.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (script, arguments, environment): the GEMM benchmark takes its threads from the environment
# (OpenBLAS's too), the convolution benchmark from --threads.
PARTS = (
    ("bench_gemm.py", [], {"TINYGAN_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}),
    ("bench_gemm.py", [], {"TINYGAN_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"}),
    ("bench_conv.py", ["--threads", "1,2"], {}),
)


def main():
    start = time.perf_counter()
    failed = []
    for part, arguments, environment in PARTS:
        label = " ".join([part, *arguments, *(f"{k}={v}" for k, v in environment.items())])
        print(f"\n=== {label}", flush=True)
        command = [sys.executable, str(HERE / part), *arguments]
        if subprocess.run(command, env={**os.environ, **environment},
                          check=False).returncode != 0:
            failed.append(label)
    print(f"\nall kernel benchmarks: {time.perf_counter() - start:.0f} s")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
