"""How much does the engine's bookkeeping cost? An MLP step through tinygan vs plain NumPy.

The model is the toy-GAN discriminator shape: 2 -> 128 -> 128 -> 128 -> 1 with LeakyReLU(0.2),
batch 256, float32, loss mean(softplus(-D(x))). One step is forward + backward to every weight.

Rows:

- ``numpy (by hand)``: the same arithmetic written by hand with NumPy, no graph (the floor).
- ``tinygan (numpy kernels)``: the engine with the NumPy twins (``kernels.use("numpy")``): the
  same np.matmul as the hand-written code, so its ratio is the engine's pure bookkeeping cost.
- ``tinygan (compiled kernels)``: the engine with the project's compiled GEMM.
- ``torch``: the same model in PyTorch on the same number of threads, when importable.

Both tinygan rows must compute the hand-written numbers before any timing (checked first).

Measuring fairly on a small, shared machine:

- Rows are measured in interleaved rounds (row 1, row 2, ..., then again), keeping each row's
  best block: a burst of noise from another process spoils one block of one row, not a row.
- Three thread pools are involved: OpenBLAS's (np.matmul), our OpenMP pool and torch's. After
  a call each keeps its idle threads spinning for a while (OpenBLAS ~0.1 s) in case more work
  comes; on 2 cores a spinning thread steals the core the next row's threads need. So every
  timed block starts with a short sleep (SETTLE_SECONDS) that lets the previous row's pool go
  to sleep, and a warm-up step of its own. Within a block only one pool is in use, as in a real
  training loop, which uses one kernel set throughout.

Run:  python benchmarks/bench_engine.py
It prints each time per step and the ratio to hand-written NumPy.
"""

import sys
import time

import numpy as np

import tinygan

SIZES = (2, 128, 128, 128, 1)
BATCH = 256
SLOPE = 0.2


def make_weights(rng):
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        bias = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        layers.append((weight, bias))
    return layers


def tinygan_step(x, params):
    h = x
    for i in range(0, len(params), 2):
        weight, bias = params[i], params[i + 1]
        h = h @ weight.T + bias
        if i < len(params) - 2:
            h = h.leaky_relu(SLOPE)
    loss = (-h).softplus().mean()
    for p in params:
        p.grad = None
    loss.backward()
    return loss


def numpy_step(x, layers):
    """Forward and backward by hand: what the engine automates."""
    activations, pre_activations = [x], []
    h = x
    for i, (weight, bias) in enumerate(layers):
        z = h @ weight.T + bias
        pre_activations.append(z)
        h = np.maximum(z, z * np.float32(SLOPE)) if i < len(layers) - 1 else z
        activations.append(h)
    out = activations[-1]
    loss = np.logaddexp(0, -out).mean()
    # d mean(softplus(-out)) / d out = -sigmoid(-out) / n
    g = -0.5 * (1 + np.tanh(-0.5 * out)) / out.size
    grads = []
    for i in reversed(range(len(layers))):
        if i < len(layers) - 1:
            g = np.where(pre_activations[i] > 0, g, g * np.float32(SLOPE))
        weight, _ = layers[i]
        grads.append((g.T @ activations[i], g.sum(axis=0)))
        g = g @ weight
    return loss, grads


def torch_step(torch, x, model):
    model.zero_grad(set_to_none=True)
    loss = torch.nn.functional.softplus(-model(x)).mean()
    loss.backward()
    return loss


ROUNDS = 5  # interleaved rounds; each row keeps its best block
STEPS_PER_BLOCK = 30  # steps timed together in one block
SETTLE_SECONDS = 0.2  # pause before each block: the previous row's idle threads fall asleep


def block_time(step):
    """Seconds per step over one block of STEPS_PER_BLOCK steps, after a pause and a warm-up."""
    time.sleep(SETTLE_SECONDS)
    step()
    start = time.perf_counter()
    for _ in range(STEPS_PER_BLOCK):
        step()
    return (time.perf_counter() - start) / STEPS_PER_BLOCK


def with_kernels(name, step):
    """step() run with kernel set `name` active (switched per call: the rows are interleaved)."""

    def run():
        previous = tinygan.kernels.use(name)
        try:
            return step()
        finally:
            tinygan.kernels.use(previous)

    return run


def check_against_numpy(x, x_tensor, params, layers):
    """Both timed kernel sets must reproduce the hand-written numbers before any timing (the naive
    rung, Python loops, is far too slow for this MLP and is not timed)."""
    reference_loss, reference_grads = numpy_step(x, layers)
    for kernels in ("numpy", "compiled"):
        if kernels not in tinygan.kernels.available():
            continue
        loss = with_kernels(kernels, lambda: tinygan_step(x_tensor, params))()
        assert np.allclose(loss.item(), reference_loss, rtol=1e-5), kernels
        for (gw, gb), i in zip(reference_grads, reversed(range(len(layers)))):
            assert np.allclose(params[2 * i].grad, gw, rtol=1e-3, atol=1e-6), kernels
            assert np.allclose(params[2 * i + 1].grad, gb, rtol=1e-3, atol=1e-6), kernels


def main():
    rng = np.random.default_rng(0)
    layers = make_weights(rng)
    x = rng.standard_normal((BATCH, 2)).astype(np.float32)
    params = [tinygan.tensor(a, requires_grad=True) for layer in layers for a in layer]
    x_tensor = tinygan.tensor(x)

    check_against_numpy(x, x_tensor, params, layers)

    threads = tinygan.kernels.get_num_threads()
    print(f"MLP {' -> '.join(map(str, SIZES))}, LeakyReLU, batch {BATCH}, float32, "
          f"forward+backward; {threads} thread(s) for the compiled kernels; "
          f"best of {ROUNDS} interleaved rounds of {STEPS_PER_BLOCK} steps, "
          f"{SETTLE_SECONDS} s pause before each")
    steps = {"numpy (by hand)": lambda: numpy_step(x, layers)}
    for kernels in ("numpy", "compiled"):
        if kernels in tinygan.kernels.available():
            steps[f"tinygan ({kernels} kernels)"] = with_kernels(
                kernels, lambda: tinygan_step(x_tensor, params)
            )
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(max(threads, 1))
        model = torch.nn.Sequential()
        for i, (weight, bias) in enumerate(layers):
            linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(weight))
                linear.bias.copy_(torch.from_numpy(bias))
            model.append(linear)
            if i < len(layers) - 1:
                model.append(torch.nn.LeakyReLU(SLOPE))
        x_torch = torch.from_numpy(x)
        steps["torch"] = lambda: torch_step(torch, x_torch, model)

    rows = {name: float("inf") for name in steps}
    for _ in range(ROUNDS):
        for name, step in steps.items():
            rows[name] = min(rows[name], block_time(step))
    base = rows["numpy (by hand)"]
    for name, seconds in rows.items():
        print(f"  {name:<27} {seconds * 1e6:9.1f} us/step   ratio to numpy {seconds / base:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
