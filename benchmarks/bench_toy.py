"""A toy GAN training step: tinygan against the same step in PyTorch, on the same threads.

The step is `tinygan.gan.train_step` with the non-saturating loss: G and D are MLPs with 3
hidden layers of 128 units (G: z in R^2 -> R^2, ReLU; D: R^2 -> logit, LeakyReLU 0.2), batch
256, float32, Adam(2e-4, betas (0.5, 0.999)) for both; Step 1 (D on a real batch and detached
fakes) then Step 2 (G through the updated D). The PyTorch step is the same code written with
torch.nn, starting from the same weights.

Measuring: rows are interleaved (tinygan block, torch block, ... for --rounds rounds), each block
times --steps steps after one warm-up step and a short pause that lets the other library's
thread pool go idle; the medians over rounds are compared. Run with 1 and 2 threads:

    python benchmarks/bench_toy.py                 # threads = all cores
    python benchmarks/bench_toy.py --threads 1

It prints the milliseconds per step of each and the ratio tinygan / torch (target: <= 1.0).
Without torch it prints tinygan's time alone.
"""

import argparse
import statistics
import sys
import time

import numpy as np

import tinygan
from tinygan import datasets, gan, kernels
from tinygan.models import MLPDiscriminator, MLPGenerator

BATCH, Z_DIM, HIDDEN, LAYERS, LR, BETAS = 256, 2, 128, 3, 2e-4, (0.5, 0.999)
SETTLE_SECONDS = 0.3

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None


def tinygan_runner():
    tinygan.manual_seed(0)
    G, D = MLPGenerator(Z_DIM, 2, HIDDEN, LAYERS), MLPDiscriminator(2, HIDDEN, LAYERS)
    opt_G = tinygan.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_D = tinygan.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    data = datasets.batches(datasets.ring8(), BATCH)

    def noise(n):
        return tinygan.randn(n, Z_DIM)

    def step():
        gan.train_step(G, D, opt_G, opt_D, data, noise)

    return step, G, D


def torch_runner(G_state, D_state):
    nn = torch.nn

    def mlp(n_in, n_out, act):
        layers, width = [], n_in
        for _ in range(LAYERS):
            layers += [nn.Linear(width, HIDDEN), act()]
            width = HIDDEN
        return nn.Sequential(*layers, nn.Linear(width, n_out))

    G = mlp(Z_DIM, 2, nn.ReLU)
    D = mlp(2, 1, lambda: nn.LeakyReLU(0.2))
    # the same initial weights as tinygan's (state-dict keys: "net.0.weight" -> "0.weight")
    G.load_state_dict({k.removeprefix("net."): torch.from_numpy(v) for k, v in G_state.items()})
    D.load_state_dict({k.removeprefix("net."): torch.from_numpy(v) for k, v in D_state.items()})
    opt_G = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
    opt_D = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
    ring = datasets.ring8()
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)

    def step():
        real = torch.from_numpy(ring.sample(BATCH))
        fake = G(torch.randn(BATCH, Z_DIM))
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()
        g_loss = bce(D(fake), ones)
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()

    return step


def time_block(step, steps):
    time.sleep(SETTLE_SECONDS)
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    if args.threads:
        kernels.set_num_threads(args.threads)
    threads = kernels.get_num_threads()
    runners = {}
    step, G, D = tinygan_runner()
    runners["tinygan"] = step
    if torch is not None:
        torch.set_num_threads(threads)
        runners["torch"] = torch_runner(G.state_dict(), D.state_dict())
    times = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, run in runners.items():
            times[name].append(time_block(run, args.steps))
    print(f"toy GAN step (MLPs {LAYERS}x{HIDDEN}, batch {BATCH}, float32, Adam; D step then G "
          f"step), {threads} thread(s), {kernels.active()} kernels, median of {args.rounds} "
          f"rounds of {args.steps} steps")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"  {name:8s} {value:7.2f} ms/step  (rounds {spread})")
    if "torch" in medians:
        print(f"  ratio tinygan / torch: {medians['tinygan'] / medians['torch']:.2f}")
    else:
        print("  (torch is not importable: no comparison)")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
