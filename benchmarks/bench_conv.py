"""Time tinygan's convolution kernels at the DCGAN shapes: compiled, NumPy twin, and PyTorch.

Run from the project's root, after building the kernels::

    python benchmarks/bench_conv.py

For each layer it times the forward pass, the two gradients and the whole forward+backward,
best of several runs (the minimum is the least disturbed by the rest of the machine), and
prints the time, GFLOP/s and the ratio compiled / torch (below 1 means faster than torch).
PyTorch is optional; it runs on the same number of threads as the compiled kernels.

A transposed convolution is the adjoint of a convolution, so it needs no kernel of its own:
with ``conv2d(z, w) = A z``,

- forward:      ``conv_transpose2d(x, w) = A^T x = conv2d_grad_input(x, w, out_hw)``;
- grad input:   ``A g = conv2d(g, w)``;
- grad weight:  ``d<g, A^T x>/dw = d<A g, x>/dw = conv2d_grad_weight(g, x, kernel_hw)``.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinygan._kernels import conv, conv_numpy  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

BATCH = 64
DTYPE = np.float32
STRIDE, PADDING = (2, 2), (1, 1)

# (name, transposed, input channels, output channels, input size): the DCGAN layers on 28x28.
# For a transposed layer "input" is what the generator feeds in, and the weight has PyTorch's
# conv_transpose2d layout (C_in, C_out, kH, kW), which is conv2d's layout for the adjoint conv.
LAYERS = [
    ("conv2d            1->64   28->14", False, 1, 64, 28),
    ("conv2d           64->128  14->7 ", False, 64, 128, 14),
    ("conv_transpose2d 128->64   7->14", True, 128, 64, 7),
    ("conv_transpose2d  64->1   14->28", True, 64, 1, 14),
]
KERNEL = (4, 4)


def best_time(fn, repeats):
    fn()  # warm up: first-touch of memory, thread pool start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def out_size(size, transposed):
    if transposed:  # the size whose conv2d gives `size` back, as DCGAN uses it
        return (size - 1) * STRIDE[0] - 2 * PADDING[0] + KERNEL[0]
    return (size + 2 * PADDING[0] - KERNEL[0]) // STRIDE[0] + 1


def tinygan_ops(module, x, w, transposed, out_hw):
    """The three kernels of one layer, as zero-argument callables, plus a gradient to use."""
    if not transposed:
        y = module.conv2d(x, w, STRIDE, PADDING)
        g = np.ones_like(y)
        return {
            "forward": lambda: module.conv2d(x, w, STRIDE, PADDING),
            "grad_input": lambda: module.conv2d_grad_input(g, w, x.shape[2:], STRIDE, PADDING),
            "grad_weight": lambda: module.conv2d_grad_weight(x, g, KERNEL, STRIDE, PADDING),
        }
    y = module.conv2d_grad_input(x, w, out_hw, STRIDE, PADDING)
    g = np.ones_like(y)
    return {
        "forward": lambda: module.conv2d_grad_input(x, w, out_hw, STRIDE, PADDING),
        "grad_input": lambda: module.conv2d(g, w, STRIDE, PADDING),
        "grad_weight": lambda: module.conv2d_grad_weight(g, x, KERNEL, STRIDE, PADDING),
    }


def torch_ops(x, w, transposed):
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    op = torch.nn.functional.conv_transpose2d if transposed else torch.nn.functional.conv2d

    def forward():
        return op(xt, wt, None, STRIDE, PADDING)

    g = torch.ones_like(forward())

    def backward(mask):
        return torch.ops.aten.convolution_backward(
            g, xt, wt, None, STRIDE, PADDING, (1, 1), transposed, (0, 0), 1, mask
        )

    return {
        "forward": forward,
        "grad_input": lambda: backward([True, False, False]),
        "grad_weight": lambda: backward([False, True, False]),
        "backward": lambda: backward([True, True, False]),
    }


def main():
    threads = conv.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(
        f"tinygan conv benchmark: batch {BATCH}, {np.dtype(DTYPE).name}, kernel 4x4, "
        f"stride 2, padding 1, {threads} threads"
        + (f", torch {torch.__version__}" if torch is not None else ", torch not installed")
    )
    print(
        f"{'layer':34s} {'kernel':12s} {'compiled':>18s} {'numpy twin':>18s} "
        f"{'torch':>18s} {'ratio':>6s}"
    )
    rng = np.random.default_rng(0)
    totals = {"compiled": 0.0, "twin": 0.0, "torch": 0.0}
    for name, transposed, c_in, c_out, size in LAYERS:
        x = rng.standard_normal((BATCH, c_in, size, size)).astype(DTYPE)
        # conv2d weight (C_out, C_in, kH, kW); conv_transpose2d weight (C_in, C_out, kH, kW)
        w_shape = (c_in, c_out, *KERNEL) if transposed else (c_out, c_in, *KERNEL)
        w = (0.1 * rng.standard_normal(w_shape)).astype(DTYPE)
        out = out_size(size, transposed)
        # Each kernel does the same multiply-adds: one per (n, o, c, p, q, pixel) of the
        # underlying conv2d's output, which is the smaller of the two images.
        conv_out = size if transposed else out
        flops = 2 * BATCH * c_in * c_out * KERNEL[0] * KERNEL[1] * conv_out**2
        ops = {
            "compiled": tinygan_ops(conv, x, w, transposed, (out, out)),
            "twin": tinygan_ops(conv_numpy, x, w, transposed, (out, out)),
        }
        if torch is not None:
            ops["torch"] = torch_ops(x, w, transposed)
        for kernel in ("forward", "grad_input", "grad_weight", "total"):
            times = {}
            for impl, fns in ops.items():
                repeats = 3 if impl == "twin" else 15
                if kernel != "total":
                    times[impl] = best_time(fns[kernel], repeats)
                elif impl == "torch":
                    times[impl] = best_time(
                        lambda f=fns: (f["forward"](), f["backward"]()), repeats
                    )
                else:
                    times[impl] = best_time(
                        lambda f=fns: (f["forward"](), f["grad_input"](), f["grad_weight"]()),
                        repeats,
                    )
            work = flops * (3 if kernel == "total" else 1)
            cells = []
            for impl in ("compiled", "twin", "torch"):
                if impl in times:
                    t = times[impl]
                    cells.append(f"{t * 1e3:7.2f} ms {work / t / 1e9:5.1f} GF")
                else:
                    cells.append(f"{'-':>18s}")
            ratio = f"{times['compiled'] / times['torch']:6.2f}" if "torch" in times else "     -"
            print(
                f"{name:34s} {kernel:12s} {cells[0]:>18s} {cells[1]:>18s} {cells[2]:>18s} {ratio}"
            )
            if kernel == "total":
                for impl, t in times.items():
                    totals[impl] += t
    line = (
        f"{'all four layers':34s} {'total':12s} {totals['compiled'] * 1e3:10.2f} ms "
        f"{totals['twin'] * 1e3:15.2f} ms"
    )
    if torch is not None:
        line += f" {totals['torch'] * 1e3:15.2f} ms {totals['compiled'] / totals['torch']:6.2f}"
    print(line)


if __name__ == "__main__":
    main()
