"""The command line: ``tinygan <command>`` (or ``python -m tinygan <command>``).

Commands:
  demo    check the GAN's gradients against central differences, then train a GAN on the ring
          of 8 Gaussians for about a minute and report the modes it captured (no download)
  train   train a GAN on a toy data set or MNIST / Fashion-MNIST (the DCGAN), a VAE on images
          or CycleGAN on a domain pair; write config, checkpoint, history, metrics, figures
  sample  draw samples from a trained generator (or a VAE's decoder) into a .npy file
  score   the Inception Score and Fréchet distance of generated images (a .npy file)
  info    which kernels are active, the thread count and what the build compiled in

A bad argument prints one line naming what was expected and exits with code 2.
"""

import argparse
import json
import os
import sys
import time
import tomllib
from dataclasses import asdict

import numpy as np

from . import kernels, runs
from .checkpoint import CheckpointError
from .engine import tensor
from .gan import TrainingDiverged, discriminator_loss, generator_loss
from .gradcheck import gradcheck
from .metrics import quality
from .models import MLPDiscriminator, MLPGenerator
from .random import manual_seed

EXIT_BAD_ARGUMENT = 2


class UsageError(Exception):
    """A bad command-line argument: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) and exit code 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}")


# --------------------------------------------------------------------------------- train

def _boolean(text):
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


# The command-line flags of `tinygan train`, each a field of runs.TrainConfig.
_TRAIN_FLAGS = {
    "data": (str, "data set: " + ", ".join([*runs.toy.TOY_DATASETS, *runs.IMAGE_DATASETS])
             + "; or a domain pair for CycleGAN: " + ", ".join(runs.DOMAIN_PAIRS)),
    "model": (str, "mlp (toy data), dcgan or vae (images), cyclegan (a domain pair); default: "
                   "the data's"),
    "loss": (str, "minimax, nonsaturating, wasserstein or wgan-gp"),
    "steps": (int, "rounds of the game (D step(s) then a G step)"),
    "epochs": (int, "image data: passes over the training set (default 5)"),
    "batch_size": (int, "samples per batch (default 256 for toy data, 64 for images)"),
    "lr": (float, "learning rate of both players (default: the loss's)"),
    "d_steps": (int, "D updates per G update (default: the loss's)"),
    "optimizer": (str, "adam, rmsprop or sgd (default: the loss's)"),
    "beta1": (float, "Adam's beta1 (default: the loss's)"),
    "beta2": (float, "Adam's beta2 (default: the loss's)"),
    "z_dim": (int, "dimension of the noise z (default 2 for toy data, 100 for images)"),
    "conditional": (_boolean, "image data: G(z, y) and D(x, y) with the class y (true/false)"),
    "subset": (int, "image data: train on the first N training images only (0: all)"),
    "hidden": (int, "units per hidden layer of G and D"),
    "layers": (int, "hidden layers of G and D"),
    "pack": (int, "PacGAN packing: samples D judges at once"),
    "spectral_norm": (_boolean, "image data: D's layers spectrally normalised, without batch "
                                "norm (true/false)"),
    "codes": (int, "image data: InfoGAN, a categorical code of N values in G's input that D "
                   "must recover (0: none)"),
    "dense": (int, "image data: units of a hidden Dense layer in G and in D (InfoGAN's 1024; 0: "
                   "none)"),
    "lr_decay_start": (float, "fraction of the steps after which the rates fall to 0 (1: never)"),
    "seed": (int, "random seed"),
    "sample_every": (int, "steps between kept samples (GIF frames, metrics over time)"),
    "checkpoint_every": (int, "steps between checkpoints"),
    "base_channels": (int, "VAE and CycleGAN: channels of the first convolution (default 32 "
                           "for the VAE, 8 for CycleGAN)"),
    "blocks": (int, "CycleGAN: residual blocks in each generator"),
    "cycle_weight": (float, "CycleGAN: lambda, the weight of the cycle loss (0: none)"),
    "identity_weight": (float, "CycleGAN: lambda_id, the weight of the identity loss (0: none)"),
}
# Settings that may change when a run is resumed; any other must match the checkpoint's.
_RESUMABLE = {"steps", "epochs", "sample_every", "checkpoint_every"}


def train(args):
    config = _train_config(args)
    print("tinygan train: configuration (every setting of the run)")
    for key, value in asdict(config.resolved()).items():
        print(f"  {key:16s} {value}")
    print(f"  {'out':16s} {args.out}")
    start = time.perf_counter()
    metrics = runs.train(config, args.out, resume=args.resume, progress=not args.quiet)
    seconds = time.perf_counter() - start
    _report(metrics, seconds, args.out)
    return 0


def _train_config(args):
    values = {}
    if args.config:
        values.update(_read_config_file(args.config))
    given = {name: getattr(args, name) for name in _TRAIN_FLAGS if getattr(args, name) is not None}
    values.update(given)
    if args.resume:
        stored_path = os.path.join(args.out, "config.json")
        if not os.path.exists(os.path.join(args.out, "checkpoint.npz")):
            raise UsageError(f"tinygan train: --resume: no checkpoint.npz in {args.out!r} to "
                             "resume from")
        stored = runs.stored_settings(_read_json(stored_path))
        for name, value in values.items():
            if name not in _RESUMABLE and name in stored and stored[name] != value:
                raise UsageError(f"tinygan train: --resume: {name} = {value!r} differs from "
                                 f"the run's {stored[name]!r} (only steps, sample_every and "
                                 "checkpoint_every may change)")
        stored.update({k: v for k, v in values.items() if k in _RESUMABLE})
        values = stored
    try:
        return runs.TrainConfig.from_dict(values, source=args.config or "arguments").validate()
    except (TypeError, ValueError) as error:
        raise UsageError(f"tinygan train: {error}") from None


def _read_config_file(path):
    """A JSON (.json) or TOML (.toml) file of TrainConfig settings; keys may use - or _."""
    if not os.path.isfile(path):
        raise UsageError(f"tinygan train: --config: no such file {path!r}")
    try:
        if path.endswith(".toml"):
            with open(path, "rb") as file:
                values = tomllib.load(file)
        else:
            with open(path) as file:
                values = json.load(file)
    except (ValueError, OSError) as error:
        raise UsageError(f"tinygan train: --config: cannot read {path!r}: {error}") from None
    if not isinstance(values, dict):
        raise UsageError(f"tinygan train: --config: {path!r} must hold a table of settings, got "
                         f"{type(values).__name__}")
    return {key.replace("-", "_"): value for key, value in values.items()}


def _read_json(path):
    try:
        with open(path) as file:
            return json.load(file)
    except (OSError, ValueError) as error:
        raise UsageError(f"tinygan train: cannot read {path!r}: {error}") from None


def _report(metrics, seconds, out):
    print(f"trained {metrics['step']} steps in {seconds:.0f} s")
    if "final" in metrics:
        final = metrics["final"]
        print(f"on {metrics['samples']} fresh samples: {final['modes_captured']}/"
              f"{final['n_modes']} modes captured, {100 * final['high_quality']:.1f}% high "
              f"quality, reverse KL {final['reverse_kl']:.3f}")
    if "mmd_rbf" in metrics:
        print(f"MMD^2 to fresh data (RBF kernel): {metrics['mmd_rbf']:.4f}")
        print(f"figures in {out}: game.png (D(x), real and fake samples, G's gradient), "
              "samples.png, history.png (losses, D(x) and D(G(z)), gradient norms), "
              "training.gif")
    elif metrics.get("model") == "vae":
        test = metrics["test"]
        print(f"test set ({test['images']} images): -ELBO {test['negative_elbo']:.2f} nats per "
              f"image (reconstruction {test['reconstruction']:.2f} + KL {test['kl']:.2f})")
        print(f"figures in {out}: reconstructions.png, samples.png (z ~ N(0, I)), "
              "interpolation.png, history.png (the ELBO curve); score samples with "
              "`tinygan sample` then `tinygan score`")
    elif metrics.get("model") == "cyclegan":
        test = metrics["test"]
        print(f"on {test['images_per_domain']} test images per domain: cycle error |F(G(a)) - a| "
              f"{test['cycle_a']:.4f}, |G(F(b)) - b| {test['cycle_b']:.4f}")
        if "class_kept_a2b" in test:
            print(f"digit kept by the translation: A -> B {100 * test['class_kept_a2b']:.1f}%, "
                  f"B -> A {100 * test['class_kept_b2a']:.1f}% (classifier on real B: "
                  f"{100 * test['classifier_on_b']:.1f}%)")
        print(f"figures in {out}: translation_a2b.png, translation_b2a.png, history.png")
    else:
        print(f"figures in {out}: samples.png (G(z) for fixed z), training.gif (the same z, "
              "once per epoch), interpolation.png, history.png; score samples with "
              "`tinygan sample` then `tinygan score`")


# -------------------------------------------------------------------------------- sample


def sample(args):
    if args.n < 1:
        raise UsageError(f"tinygan sample: --n must be at least 1, got {args.n}")
    if not os.path.isfile(args.checkpoint):
        raise UsageError(f"tinygan sample: --checkpoint: no such file {args.checkpoint!r}")
    try:
        samples = runs.sample(args.checkpoint, args.n, seed=args.seed, label=args.label)
    except (CheckpointError, ValueError) as error:
        raise UsageError(f"tinygan sample: {error}") from None
    runs.save_samples(args.out, samples)
    print(f"wrote {samples.shape[0]} samples of shape {samples.shape[1:]} ({samples.dtype}) to "
          f"{args.out}")
    return 0


# ---------------------------------------------------------------------------------- demo


def demo(args):
    """Gradient-check the game's losses through G and D, then train on ring8 and measure."""
    manual_seed(args.seed)
    print("tinygan demo: a GAN learns the ring of 8 Gaussians\n")

    # 1. The derivatives the training will follow, checked against central differences.
    G = MLPGenerator(z_dim=2, hidden=4, layers=2).double()
    D = MLPDiscriminator(hidden=4, layers=2).double()
    z = tensor(np.random.default_rng(args.seed).standard_normal((6, 2)), dtype=np.float64)
    x = tensor(np.random.default_rng(args.seed + 1).standard_normal((6, 2)), dtype=np.float64)
    check_d = gradcheck(lambda: discriminator_loss(D(x), D(G(z))), params=D.parameters(),
                        raise_exception=False)
    check_g = gradcheck(lambda: generator_loss(D(G(z))), params=G.parameters(),
                        raise_exception=False)
    print("1. the gradients training follows, against central differences (float64):")
    for name, check in (("D's loss w.r.t. D's", check_d), ("G's loss w.r.t. G's", check_g)):
        print(f"   {name} {check.checked} weights: {'passed' if check else 'FAILED'} "
              f"(max abs error {check.max_abs_error:.1e})")

    # 2. The game on ring8, with the training defaults but fewer steps.
    config = runs.TrainConfig(data="ring8", steps=args.steps, seed=args.seed,
                              sample_every=max(args.steps // 40, 1),
                              checkpoint_every=max(args.steps // 4, 1))
    print(f"\n2. training G and D ({config.layers} hidden layers of {config.hidden} units) "
          f"for {config.steps} steps on ring8, with {kernels.active()} kernels:")
    start = time.perf_counter()
    metrics = runs.train(config, args.out, progress=not args.quiet, log=lambda *_: None)
    seconds = time.perf_counter() - start
    final = metrics["final"]
    print(f"\n3. after {seconds:.0f} s, on 2500 fresh samples: {final['modes_captured']}/8 modes "
          f"captured, {100 * final['high_quality']:.1f}% of samples within 3 standard deviations "
          f"of a mode (real data: 98.9%)")
    print(f"   figures in {args.out}/: game.png shows D(x) as a heat map with real (green) and "
          "generated (purple) samples and arrows of G's gradient; training.gif shows G's "
          "samples moving onto the modes; history.png the losses and D's outputs")
    ok = bool(check_d) and bool(check_g) and final["modes_captured"] >= args.min_modes
    if not ok:
        print(f"demo FAILED: the gradient checks must pass and at least {args.min_modes} modes "
              "must be captured")
    return 0 if ok else 1


def info(args):
    for key, value in kernels.info().items():
        print(f"{key}: {value}")
    return 0


# ---------------------------------------------------------------------------------- main


def build_parser():
    parser = _Parser(prog="tinygan", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo_parser = commands.add_parser("demo", help="gradient-check and train a GAN on ring8")
    demo_parser.add_argument("--steps", type=int, default=10000)
    demo_parser.add_argument("--seed", type=int, default=0)
    demo_parser.add_argument("--out", default=os.path.join("runs", "demo"))
    demo_parser.add_argument("--min-modes", type=int, default=6,
                             help="modes the demo must capture to pass")
    demo_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    demo_parser.set_defaults(run=demo)

    train_parser = commands.add_parser("train", help="train a GAN (toy data or images)")
    train_parser.add_argument("--out", required=True, help="output folder")
    train_parser.add_argument("--config", help="a .json or .toml file of settings (flags given "
                                               "on the command line override it)")
    train_parser.add_argument("--resume", action="store_true",
                              help="continue the run in --out exactly where it stopped")
    train_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    defaults = runs.TrainConfig()
    for name, (kind, text) in _TRAIN_FLAGS.items():
        default = getattr(defaults, name)
        train_parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                                  help=text if default is None else f"{text} (default {default!r})")
    train_parser.set_defaults(run=train)

    sample_parser = commands.add_parser("sample", help="samples of a trained generator")
    sample_parser.add_argument("--checkpoint", required=True)
    sample_parser.add_argument("--n", type=int, default=2500)
    sample_parser.add_argument("--out", required=True, help="the .npy file to write")
    sample_parser.add_argument("--seed", type=int, default=0)
    sample_parser.add_argument("--label", type=int, default=None,
                               help="conditional image models: draw class k only")
    sample_parser.set_defaults(run=sample)

    info_parser = commands.add_parser("info", help="kernel and build information")
    info_parser.set_defaults(run=info)
    score_parser = commands.add_parser("score", help="classifier IS and FD of generated images")
    quality.add_score_arguments(score_parser)
    score_parser.set_defaults(run=quality.score_command)
    return parser


def _one_line(error):
    """An error message on one line (a state-dict error lists one mismatch per line)."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except UsageError as error:
        print(_one_line(error), file=sys.stderr)
        return EXIT_BAD_ARGUMENT
    except TrainingDiverged as error:
        print(f"tinygan: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as error:
        print(f"\ntinygan: {error or 'interrupted'}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
