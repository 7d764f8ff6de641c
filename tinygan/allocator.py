"""Keep freed array memory for reuse: glibc's malloc settings for an autograd workload.

Why this exists (measured with benchmarks/bench_engine.py): a training step allocates dozens of
arrays of ~100 KiB-1 MiB, keeps them alive until backward() is done (the graph needs them), then
frees them all at once. With glibc's default settings, arrays of 128 KiB and more are served by
mmap and returned to the operating system on free, and a large free at the top of the heap is
trimmed; so every step asks the kernel for fresh pages again, and the kernel zero-fills each
4 KiB page on first touch. That made the forward pass of the benchmark MLP three times slower
with a graph than without one. Raising the mmap and trim thresholds keeps that memory inside the
process, where the next step reuses it.

It changes two numbers in the C library, for this process only, and only on glibc (Linux). Turn
it off with ``TINYGAN_MALLOC_TUNING=0``.
"""

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1  # from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value: arrays below it use the heap
TRIM_THRESHOLD = 512 * 1024 * 1024  # free memory kept before any is given back to the system

tuned = False


def tune_malloc():
    """Apply the thresholds above once; returns True when glibc accepted them."""
    global tuned
    if tuned or not sys.platform.startswith("linux"):
        return tuned
    if os.environ.get("TINYGAN_MALLOC_TUNING", "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return tuned
