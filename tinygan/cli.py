"""The command line: ``python -m tinygan <command>`` (or ``tinygan <command>``).

Commands:
  demo   check an MLP's gradients against central differences, then train it with plain
         gradient descent (SGD) on a 2-D data set that needs no download, and report what it learned
  info   which kernels are active, the thread count and what the build compiled in
  score  the Inception Score and Fréchet distance of generated images (a .npy file)
"""

import argparse
import sys
import time

import numpy as np

from . import functional as F
from . import kernels, nn, optim
from .autograd import no_grad
from .engine import tensor
from .gradcheck import gradcheck
from .metrics import quality
from .random import generator, manual_seed


def two_rings(n, rng, noise=0.08):
    """n points on two concentric rings (radius 0.5: class 0, radius 1: class 1), with noise."""
    labels = rng.integers(0, 2, n)
    angles = rng.uniform(0, 2 * np.pi, n)
    radii = np.where(labels == 1, 1.0, 0.5) + noise * rng.standard_normal(n)
    points = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    return points, labels.astype(np.float64)


def mlp(hidden, dtype):
    """2 -> hidden -> hidden -> 1 with Tanh; the output is a logit (no sigmoid)."""
    return nn.Sequential(
        nn.Dense(2, hidden, dtype=dtype), nn.Tanh(),
        nn.Dense(hidden, hidden, dtype=dtype), nn.Tanh(),
        nn.Dense(hidden, 1, dtype=dtype),
    )


def demo(args):
    manual_seed(args.seed)
    rng = generator()
    print("tinygan demo: an MLP 2 -> 32 -> 32 -> 1 learns to tell two rings apart\n")

    # 1. The derivatives the training will follow, checked against central differences.
    small_x, small_y = two_rings(8, rng)
    small = mlp(4, np.float64)
    params = list(small.parameters())
    # gradcheck perturbs each parameter's data in turn; the model reads it on every call
    check = gradcheck(
        lambda *_: F.binary_cross_entropy_with_logits(small(tensor(small_x)).reshape(-1),
                                                      small_y),
        params,
    )
    print(f"1. gradient check of BCE(MLP(x)) w.r.t. all {check.checked} weights and biases: "
          f"{'passed' if check else 'FAILED'} (max abs error {check.max_abs_error:.1e}, "
          f"max rel error {check.max_rel_error:.1e})")

    # 2. Plain full-batch gradient descent in float32, the way every optimiser starts.
    x_train, y_train = two_rings(1024, rng)
    x_test, y_test = two_rings(1024, rng)
    model = mlp(32, np.float32)
    optimizer = optim.SGD(model.parameters(), lr=args.lr)
    x = tensor(x_train, dtype=np.float32)  # NumPy data is float64; train in float32
    y = tensor(y_train, dtype=np.float32)
    start = time.perf_counter()
    print(f"2. training for {args.steps} steps, learning rate {args.lr}:")
    for step in range(args.steps + 1):
        loss = F.binary_cross_entropy_with_logits(model(x).reshape(-1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % max(args.steps // 5, 1) == 0:
            print(f"   step {step:5d}   loss {loss.item():.4f}")
    seconds = time.perf_counter() - start

    with no_grad():
        logits = model(tensor(x_test, dtype=np.float32)).data.reshape(-1)
    accuracy = float(((logits > 0) == (y_test > 0.5)).mean())
    print(f"3. accuracy on 1024 new points: {accuracy:.1%} (chance: 50%), "
          f"trained in {seconds:.1f} s with {kernels.active()} kernels")
    return 0 if check and accuracy > 0.9 else 1


def info(args):
    for key, value in kernels.info().items():
        print(f"{key}: {value}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tinygan", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="gradient-check and train a small MLP")
    demo_parser.add_argument("--steps", type=int, default=1500)
    demo_parser.add_argument("--lr", type=float, default=0.5)
    demo_parser.add_argument("--seed", type=int, default=0)
    demo_parser.set_defaults(run=demo)
    info_parser = commands.add_parser("info", help="kernel and build information")
    info_parser.set_defaults(run=info)
    score_parser = commands.add_parser("score", help="classifier IS and FD of generated images")
    quality.add_score_arguments(score_parser)
    score_parser.set_defaults(run=quality.score_command)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
