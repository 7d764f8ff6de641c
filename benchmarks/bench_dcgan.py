"""One DCGAN training iteration on MNIST-sized images: tinygan against PyTorch on the CPU.

The models are ``tinygan.models.dcgan()`` (G: 100 -> 7x7x128 -> 14x14x64 -> 28x28x1, D: 28x28x1
-> 14x14x64 -> 7x7x128 -> logit) and the same layers in PyTorch, loaded with the same weights.
One iteration, batch 64, Adam (lr 2e-4, beta1 0.5) for each player:

    fake = G(z)
    D step:  loss_D = BCE(D(x), 1) + BCE(D(fake.detach()), 0)      (binary cross-entropy on logits)
    G step:  loss_G = BCE(D(fake), 1)                               (the non-saturating loss)
             with D's weights frozen, as tinygan.gan.g_step does: D's weight gradients are
             not computed (torch: D.requires_grad_(False) around the G step, the same work)

Before timing, both libraries run the same iterations from the same weights on the same batches
and noise, and their losses must agree (checked, printed).

Timing on a small shared machine: for each thread count (1 and 2 by default; tinygan's kernels
and torch are given the same), the two libraries run in interleaved rounds (tinygan block, torch
block, tinygan block, ...), each block a pause that lets the other library's thread pool go idle,
one warm-up iteration and ``--iterations`` timed ones; the medians over rounds are reported.
"Images/s" counts the batch's 64 real images per iteration (each iteration also makes 64 fakes).

Run:  python benchmarks/bench_dcgan.py [--rounds 5] [--iterations 3] [--threads 1,2]

``--recipe`` times instead what ``tinygan train --data mnist`` runs: ``tinygan.gan.train_step``
on the default image recipe (``tinygan.runs``: the hidden Dense layers, InfoGAN's code; PyTorch
has no counterpart here), rounds of ``--iterations`` steps, and prints the median time per step
and what 5 epochs (4685 steps) of it take. ``--set name=value`` changes a setting, e.g.
``--set dense=512``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tinygan  # noqa: E402
import tinygan.functional as F  # noqa: E402
from tinygan import nn, optim, runs  # noqa: E402
from tinygan.gan import train_step  # noqa: E402
from tinygan.models import dcgan  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

BATCH = 64
LATENT = 100
SETTLE_SECONDS = 0.3


def torch_layer(layer):
    """The torch.nn layer with the settings of a tinygan layer."""
    if isinstance(layer, nn.Dense):
        return torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
        cls = torch.nn.Conv2d if isinstance(layer, nn.Conv2d) else torch.nn.ConvTranspose2d
        return cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                   layer.padding, bias=layer.bias is not None)
    if isinstance(layer, nn.BatchNorm2d):
        return torch.nn.BatchNorm2d(layer.num_features, layer.eps, layer.momentum)
    if isinstance(layer, nn.LeakyReLU):
        return torch.nn.LeakyReLU(layer.negative_slope)
    if isinstance(layer, nn.Unflatten):
        return torch.nn.Unflatten(layer.dim, layer.unflattened_size)
    return {nn.ReLU: torch.nn.ReLU, nn.Tanh: torch.nn.Tanh, nn.Flatten: torch.nn.Flatten}[
        type(layer)]()


class TorchPlayer(torch.nn.Module if torch else object):
    """``net`` (a Sequential), as in tinygan's Generator and Discriminator: same state-dict keys."""

    def __init__(self, ours, logits):
        super().__init__()
        self.logits = logits  # D: (N, 1) -> (N,) logits, as tinygan's Discriminator
        self.net = torch.nn.Sequential(*[torch_layer(layer) for layer in ours.net])
        self.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})

    def forward(self, x):
        out = self.net(x)
        return out.reshape(-1) if self.logits else out


def tinygan_setup():
    tinygan.manual_seed(0)
    G, D = dcgan()
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = np.ones(BATCH, np.float32), np.zeros(BATCH, np.float32)

    def iteration(real, z):
        fake = G(tinygan.tensor(z))
        loss_d = (F.binary_cross_entropy_with_logits(D(tinygan.tensor(real)), ones)
                  + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        with nn.frozen(D):
            loss_g = F.binary_cross_entropy_with_logits(D(fake), ones)
            opt_g.zero_grad()
            loss_g.backward()
        opt_g.step()
        return loss_d.item(), loss_g.item()

    return (G, D), iteration


def torch_setup(G, D):
    G_t, D_t = TorchPlayer(G, logits=False), TorchPlayer(D, logits=True)
    opt_g = torch.optim.Adam(G_t.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D_t.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def iteration(real, z):
        fake = G_t(torch.from_numpy(z))
        loss_d = bce(D_t(torch.from_numpy(real)), ones) + bce(D_t(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        D_t.requires_grad_(False)
        loss_g = bce(D_t(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        D_t.requires_grad_(True)
        opt_g.step()
        return loss_d.item(), loss_g.item()

    return iteration


def batches(n, seed=1, latent=LATENT):
    """n (real, z) pairs: 'real' images are random in [-1, 1] (the speed does not depend on it),
    z of ``latent`` values."""
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, (BATCH, 1, 28, 28)).astype(np.float32),
             rng.standard_normal((BATCH, latent)).astype(np.float32)) for _ in range(n)]


def timed_block(iteration, data):
    time.sleep(SETTLE_SECONDS)  # let the other library's idle threads stop spinning
    iteration(*data[0])  # warm-up
    start = time.perf_counter()
    for real, z in data[1:]:
        iteration(real, z)
    return (time.perf_counter() - start) / (len(data) - 1)


def recipe_steps(settings, iterations, rounds, thread_counts):
    """Median seconds per ``train_step`` of the default image recipe, per thread count: the
    same batches and timed blocks as the PyTorch comparison."""
    config = runs.TrainConfig(data="mnist", **settings).validate().resolved()
    tinygan.manual_seed(0)
    _, G, D, opt_G, opt_D = runs.build(config, load_data=False)

    def iteration(real, z):  # one round of the game on this batch and this noise
        train_step(G, D, opt_G, opt_D, iter([real]), lambda n: tinygan.tensor(z[:n]))

    print(f"train_step of the image recipe: dense {config.dense}, codes {config.codes}, "
          f"batch {config.batch_size}, {sum(p.data.size for p in G.parameters()):,} + "
          f"{sum(p.data.size for p in D.parameters()):,} parameters (G + D)")
    data = batches(iterations + 1, latent=config.z_dim)
    for threads in thread_counts:
        tinygan.kernels.set_num_threads(threads)
        step = float(np.median([timed_block(iteration, data) for _ in range(rounds)]))
        print(f"{threads} thread(s): {step * 1e3:7.1f} ms/step; {config.epochs} epochs of MNIST "
              f"({config.steps} steps) {step * config.steps / 60:5.1f} min of training steps",
              flush=True)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations per block")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--recipe", action="store_true",
                        help="time gan.train_step on `tinygan train --data mnist`'s recipe")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="with --recipe: change a TrainConfig setting, e.g. dense=512")
    args = parser.parse_args(argv)
    thread_counts = [int(t) for t in args.threads.split(",")]
    if args.recipe:
        settings = {}
        for item in args.set:
            name, _, value = item.partition("=")
            settings[name] = json.loads(value)  # as eval_dcgan.py's --set: 512, true, "adam"
        return recipe_steps(settings, args.iterations, args.rounds, thread_counts)
    print(f"DCGAN iteration (D step + G step), batch {BATCH}, MNIST models, float32, "
          f"{tinygan.kernels.active()} kernels"
          + (f", torch {torch.__version__}" if torch else ", torch not installed"))

    (G, D), ours = tinygan_setup()
    theirs = torch_setup(G, D) if torch else None
    if theirs is not None:  # the same computation: losses of three identical iterations
        for real, z in batches(3, seed=2):
            a, b = ours(real, z), theirs(real, z)
            print(f"  check: loss_D {a[0]:.6f} (tinygan) {b[0]:.6f} (torch), "
                  f"loss_G {a[1]:.6f} {b[1]:.6f}")
            if not np.allclose(a, b, rtol=1e-3, atol=1e-4):
                print("  the two libraries disagree: not timing different computations")
                return 1

    data = batches(args.iterations + 1)
    for threads in thread_counts:
        tinygan.kernels.set_num_threads(threads)
        if torch:
            torch.set_num_threads(threads)
        times = {"tinygan": [], "torch": []}
        for _ in range(args.rounds):
            times["tinygan"].append(timed_block(ours, data))
            if theirs is not None:
                times["torch"].append(timed_block(theirs, data))
        ours_s = float(np.median(times["tinygan"]))
        line = (f"{threads} thread(s): tinygan {ours_s * 1e3:7.1f} ms/iteration "
                f"({BATCH / ours_s:6.0f} images/s)")
        if theirs is not None:
            theirs_s = float(np.median(times["torch"]))
            line += (f"   torch {theirs_s * 1e3:7.1f} ms ({BATCH / theirs_s:6.0f} images/s)"
                     f"   ratio tinygan/torch {ours_s / theirs_s:5.2f}")
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
