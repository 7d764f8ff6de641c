"""The fused kernels against their NumPy twins and PyTorch, at the MNIST DCGAN's shapes.

    python benchmarks/bench_fused.py [--threads 1,2] [--rounds 7]

Rows (float32, the shapes of the DCGAN step of benchmarks/bench_dcgan.py, batch 64):

- batch norm, training, forward + backward (dx, dgamma, dbeta), on the G's and D's BatchNorm2d
  inputs: the compiled kernels (norm.pyx), the NumPy twin (norm_numpy.py), the engine-op
  reference (``batch_norm_composed``, what tinygan ran before the fused op) and torch;
- LeakyReLU(0.2) forward + backward: compiled (elementwise.pyx), the twin, torch;
- bias add + bias gradient, on a conv output and on a Dense output;
- one Adam step on the DCGAN's largest parameter shapes: compiled (optim_update.pyx), the twin,
  torch.optim.Adam on one tensor.

Contenders are interleaved (one block of each per round, a short pause before each block so the
previous thread pool goes idle), and each row prints the median over rounds, and the ratio of
each contender to torch.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tinygan  # noqa: E402
from tinygan import kernels  # noqa: E402
from tinygan._kernels import elementwise_numpy, norm_numpy, optim_numpy  # noqa: E402
from tinygan.functional.normalization import batch_norm_composed  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

SETTLE_SECONDS = 0.05


def median_time(function, repeats):
    time.sleep(SETTLE_SECONDS)
    function()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def batch_norm_rows(shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    C = shape[1]
    w, b = np.ones(C, np.float32), np.zeros(C, np.float32)
    compiled = kernels._compiled["norm"] if kernels._compiled else None

    def run(module):
        y, mean, var, inv_std = module.batch_norm_train(x, w, b, 1e-5)
        module.batch_norm_backward(g, x, mean, inv_std, w, True)

    def composed():
        xt = tinygan.tensor(x, requires_grad=True)
        wt, bt = tinygan.tensor(w, requires_grad=True), tinygan.tensor(b, requires_grad=True)
        batch_norm_composed(xt, None, None, wt, bt, training=True).backward(g)

    rows = {"compiled": lambda: run(compiled)} if compiled else {}
    rows.update({"numpy twin": lambda: run(norm_numpy), "engine ops (before)": composed})
    if torch:
        xt = torch.tensor(x, requires_grad=True)
        wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        gt = torch.tensor(g)

        def torch_run():
            torch.nn.functional.batch_norm(xt, None, None, wt, bt, True).backward(gt)

        rows["torch"] = torch_run
    return f"batch norm fwd+bwd {shape}", rows


def leaky_rows(shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    compiled = kernels._compiled["elementwise"] if kernels._compiled else None

    def run(module):
        module.leaky_relu(x, 0.2)
        module.leaky_relu_backward(x, g, 0.2)

    rows = {"compiled": lambda: run(compiled)} if compiled else {}
    rows["numpy twin"] = lambda: run(elementwise_numpy)
    if torch:
        xt, gt = torch.tensor(x, requires_grad=True), torch.tensor(g)

        def torch_run():
            torch.nn.functional.leaky_relu(xt, 0.2).backward(gt)

        rows["torch"] = torch_run
    return f"leaky_relu fwd+bwd {shape}", rows


def bias_rows(shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    bias = rng.standard_normal(shape[1]).astype(np.float32)
    compiled = kernels._compiled["elementwise"] if kernels._compiled else None

    def run(module):
        module.bias_add(x, bias)
        module.bias_grad(g)

    rows = {"compiled": lambda: run(compiled)} if compiled else {}
    rows["numpy twin"] = lambda: run(elementwise_numpy)
    if torch:
        xt, gt = torch.tensor(x), torch.tensor(g)
        bt = torch.tensor(bias, requires_grad=True)
        view = (1, -1) + (1,) * (len(shape) - 2)

        def torch_run():
            bt.grad = None
            (xt + bt.reshape(view)).backward(gt)

        rows["torch"] = torch_run
    return f"bias add+grad {shape}", rows


def adam_rows(shape, rng):
    param = rng.standard_normal(shape).astype(np.float32)
    grad = rng.standard_normal(shape).astype(np.float32)
    state = {name: [np.zeros_like(param), np.zeros_like(param)] for name in ("c", "n")}
    compiled = kernels._compiled["optim"] if kernels._compiled else None
    settings = dict(lr=2e-4, beta1=0.5, beta2=0.999, eps=1e-8, weight_decay=0.0)

    def run(module, key):
        module.adam_update(param, grad, *state[key], 3, **settings)

    rows = {"compiled": lambda: run(compiled, "c")} if compiled else {}
    rows["numpy twin"] = lambda: run(optim_numpy, "n")
    if torch:
        p = torch.nn.Parameter(torch.tensor(param))
        p.grad = torch.tensor(grad)
        opt = torch.optim.Adam([p], lr=2e-4, betas=(0.5, 0.999))
        rows["torch"] = opt.step
    return f"adam step {shape}", rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=10, help="calls per timed block")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    benches = [batch_norm_rows((64, 128, 7, 7), rng), batch_norm_rows((64, 64, 14, 14), rng),
               leaky_rows((64, 64, 14, 14), rng), leaky_rows((64, 128, 7, 7), rng),
               bias_rows((64, 64, 14, 14), rng), bias_rows((256, 128), rng),
               adam_rows((6272, 100), rng), adam_rows((128, 64, 4, 4), rng)]
    print(f"fused kernels, float32, median of {args.rounds} interleaved rounds of "
          f"{args.repeats} calls" + (f", torch {torch.__version__}" if torch else ""))
    for threads in [int(t) for t in args.threads.split(",")]:
        kernels.set_num_threads(threads)
        if torch:
            torch.set_num_threads(threads)
        print(f"\n{threads} thread(s)")
        for title, rows in benches:
            times = {name: [] for name in rows}
            for _ in range(args.rounds):
                for name, function in rows.items():
                    times[name].append(median_time(function, args.repeats))
            medians = {name: statistics.median(values) for name, values in times.items()}
            line = f"  {title:38s}"
            for name, value in medians.items():
                ratio = f" ({value / medians['torch']:.2f}x torch)" if "torch" in medians \
                    and name != "torch" else ""
                line += f"  {name} {value * 1e6:8.0f} us{ratio}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
