"""How much does the engine's bookkeeping cost? An MLP step through tinygan vs plain NumPy.

The model is the toy-GAN discriminator shape: 2 -> 128 -> 128 -> 128 -> 1 with LeakyReLU(0.2),
batch 256, float32, loss mean(softplus(-D(x))). One step is forward + backward to every weight.

- ``tinygan``: the model written with engine ops (Tensor, @, leaky_relu, backward()).
- ``numpy``: the same arithmetic written by hand with NumPy, no graph (the floor).
- ``torch``: the same model in PyTorch on the same number of threads, when importable.

Run:  python benchmarks/bench_engine.py
It prints each time per step (best of several repeats) and the ratios to hand-written NumPy.
"""

import os
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


def best_time(step, repeats=7, number=50):
    step()  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            step()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def main():
    rng = np.random.default_rng(0)
    layers = make_weights(rng)
    x = rng.standard_normal((BATCH, 2)).astype(np.float32)
    params = [tinygan.tensor(a, requires_grad=True) for layer in layers for a in layer]
    x_tensor = tinygan.tensor(x)

    # both implementations must compute the same numbers before their speed means anything
    loss = tinygan_step(x_tensor, params)
    reference_loss, reference_grads = numpy_step(x, layers)
    assert np.allclose(loss.item(), reference_loss, rtol=1e-5)
    for (gw, gb), i in zip(reference_grads, reversed(range(len(layers)))):
        assert np.allclose(params[2 * i].grad, gw, rtol=1e-3, atol=1e-6)
        assert np.allclose(params[2 * i + 1].grad, gb, rtol=1e-3, atol=1e-6)

    threads = tinygan.kernels.get_num_threads()
    print(f"MLP {' -> '.join(map(str, SIZES))}, LeakyReLU, batch {BATCH}, float32, "
          f"forward+backward; kernels: {tinygan.kernels.active()}, {threads} thread(s)")
    rows = {
        "numpy (by hand)": best_time(lambda: numpy_step(x, layers)),
        "tinygan": best_time(lambda: tinygan_step(x_tensor, params)),
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(max(threads, 1) if tinygan.kernels.active() == "compiled"
                              else os.cpu_count())
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
        rows["torch"] = best_time(lambda: torch_step(torch, x_torch, model))
    base = rows["numpy (by hand)"]
    for name, seconds in rows.items():
        print(f"  {name:<16} {seconds * 1e6:9.1f} us/step   ratio to numpy {seconds / base:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
