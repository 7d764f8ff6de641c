"""Time tinygan's convolution kernels at the DCGAN shapes: compiled, im2col, twin, PyTorch.

Run from the project's root, after building the kernels::

    python benchmarks/bench_conv.py [--threads 1,2] [--rounds 7] [--twin]

"compiled" is what conv.pyx runs (implicit or indirect GEMMs: no column matrix); "im2col" is its
im2col + GEMM + col2im path (``_im2col_*``), which the compiled kernels used before; "twin" is
conv_numpy.py (slow; only with --twin). For each layer it times the forward pass, the two
gradients and the whole forward+backward. The contenders take turns, round after round (so a
burst of load from the rest of the machine hits all of them alike), each timing a few calls
after a pause that lets the other thread pools go idle; the medians over rounds are printed
with GFLOP/s and the ratios to torch (below 1 means faster than torch). PyTorch is optional;
it runs on the same number of threads as the compiled kernels.

A transposed convolution is the adjoint of a convolution, so it needs no kernel of its own:
with ``conv2d(z, w) = A z``,

- forward:      ``conv_transpose2d(x, w) = A^T x = conv2d_grad_input(x, w, out_hw)``;
- grad input:   ``A g = conv2d(g, w)``;
- grad weight:  ``d<g, A^T x>/dw = d<A g, x>/dw = conv2d_grad_weight(g, x, kernel_hw)``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tinygan import kernels  # noqa: E402
from tinygan._kernels import conv, conv_numpy  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

BATCH = 64
DTYPE = np.float32
STRIDE, PADDING = (2, 2), (1, 1)
SETTLE_SECONDS = 0.05
CALLS = 3  # timed calls per contender per round; the round's time is their mean

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
KERNELS = ("forward", "grad_input", "grad_weight", "total")


class Im2col:
    """conv.pyx's im2col + GEMM + col2im path under the kernels' names."""

    conv2d = staticmethod(conv._im2col_conv2d)
    conv2d_grad_input = staticmethod(conv._im2col_conv2d_grad_input)
    conv2d_grad_weight = staticmethod(conv._im2col_conv2d_grad_weight)


def out_size(size, transposed):
    if transposed:  # the size whose conv2d gives `size` back, as DCGAN uses it
        return (size - 1) * STRIDE[0] - 2 * PADDING[0] + KERNEL[0]
    return (size + 2 * PADDING[0] - KERNEL[0]) // STRIDE[0] + 1


def tinygan_ops(module, x, w, transposed, out_hw):
    """The three kernels of one layer, as zero-argument callables, plus forward+backward."""
    if not transposed:
        y = module.conv2d(x, w, STRIDE, PADDING)
        g = np.ones_like(y)
        ops = {
            "forward": lambda: module.conv2d(x, w, STRIDE, PADDING),
            "grad_input": lambda: module.conv2d_grad_input(g, w, x.shape[2:], STRIDE, PADDING),
            "grad_weight": lambda: module.conv2d_grad_weight(x, g, KERNEL, STRIDE, PADDING),
        }
    else:
        y = module.conv2d_grad_input(x, w, out_hw, STRIDE, PADDING)
        g = np.ones_like(y)
        ops = {
            "forward": lambda: module.conv2d_grad_input(x, w, out_hw, STRIDE, PADDING),
            "grad_input": lambda: module.conv2d(g, w, STRIDE, PADDING),
            "grad_weight": lambda: module.conv2d_grad_weight(g, x, KERNEL, STRIDE, PADDING),
        }
    ops["total"] = lambda: (ops["forward"](), ops["grad_input"](), ops["grad_weight"]())
    return ops


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
        "total": lambda: (forward(), backward([True, True, False])),
    }


def timed(fn):
    """Mean seconds of CALLS calls of fn, after a pause and one warm-up call."""
    time.sleep(SETTLE_SECONDS)
    fn()
    start = time.perf_counter()
    for _ in range(CALLS):
        fn()
    return (time.perf_counter() - start) / CALLS


def layer_times(contenders, rounds):
    """{kernel: {contender: median seconds}}, the contenders taking turns every round."""
    samples = {k: {name: [] for name in contenders} for k in KERNELS}
    for _ in range(rounds):
        for kernel in KERNELS:
            for name, ops in contenders.items():
                samples[kernel][name].append(timed(ops[kernel]))
    return {k: {name: float(np.median(v)) for name, v in by.items()} for k, by in samples.items()}


def run(threads, rounds, with_twin):
    kernels.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    names = ["compiled", "im2col"] + (["twin"] if with_twin else []) + (
        ["torch"] if torch is not None else [])
    print(f"\n{threads} thread(s); medians of {rounds} interleaved rounds of {CALLS} calls")
    print(f"{'layer':34s} {'kernel':12s} " + " ".join(f"{n:>18s}" for n in names)
          + ("  compiled/torch im2col/torch" if torch is not None else ""))
    rng = np.random.default_rng(0)
    totals = dict.fromkeys(names, 0.0)
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
        contenders = {
            "compiled": tinygan_ops(conv, x, w, transposed, (out, out)),
            "im2col": tinygan_ops(Im2col, x, w, transposed, (out, out)),
        }
        if with_twin:
            contenders["twin"] = tinygan_ops(conv_numpy, x, w, transposed, (out, out))
        if torch is not None:
            contenders["torch"] = torch_ops(x, w, transposed)
        times = layer_times(contenders, rounds)
        for kernel in KERNELS:
            work = flops * (3 if kernel == "total" else 1)
            cells = [f"{times[kernel][n] * 1e3:7.2f} ms {work / times[kernel][n] / 1e9:5.1f} GF"
                     for n in names]
            line = f"{name:34s} {kernel:12s} " + " ".join(f"{c:>18s}" for c in cells)
            if torch is not None:
                by = times[kernel]
                line += f"  {by['compiled'] / by['torch']:14.2f} {by['im2col'] / by['torch']:12.2f}"
            print(line, flush=True)
        for n in names:
            totals[n] += times["total"][n]
    line = f"{'all four layers':34s} {'total':12s} " + " ".join(
        f"{totals[n] * 1e3:10.2f} ms       " for n in names)
    if torch is not None:
        line += (f"  {totals['compiled'] / totals['torch']:14.2f} "
                 f"{totals['im2col'] / totals['torch']:12.2f}")
    print(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default=str(kernels.get_num_threads()),
                        help="comma-separated thread counts (default: the kernels' setting)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--twin", action="store_true", help="also time the NumPy twin (slow)")
    args = parser.parse_args(argv)
    print(f"tinygan conv benchmark: batch {BATCH}, {np.dtype(DTYPE).name}, kernel 4x4, stride 2, "
          f"padding 1" + (f", torch {torch.__version__}" if torch is not None
                          else ", torch not installed"))
    for threads in (int(t) for t in args.threads.split(",")):
        run(threads, args.rounds, args.twin)


if __name__ == "__main__":
    main()
