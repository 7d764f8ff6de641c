"""How good are the DCGAN's samples? Train with ``tinygan train``'s recipe, then score them.

Steps (the protocol of ``../shared/PROTOCOLS.md``):

1. train the recipe of ``tinygan train --data DATA --model dcgan`` (every setting is
   ``tinygan.runs.TrainConfig``'s default unless given here), timing it; with ``--monitor N``
   G is scored on N eval-mode samples after every epoch (to see how quality grows);
2. draw 10,000 samples from the saved checkpoint, as ``tinygan sample`` does (eval mode: batch
   norm with its running statistics), and score them with the project's classifier: the
   classifier-based Inception Score and the Frechet distance to the real test set, beside the
   real test set's IS (the ceiling) and the real train-vs-test FD (the floor);
3. the classes the classifier sees in the samples (a balanced generator draws each about 10%);
4. the same z drawn in training mode (batch norm with each batch's own statistics, batches of 64
   as in training): eval-mode samples should score as well;
5. conditional models: per-class accuracy, the fraction of samples drawn for class k that the
   classifier calls k.

Targets (issue 11): MNIST IS >= 9.0; conditional MNIST per-class accuracy >= 95% for every k.
The script exits with 1 when a target is missed (only checked for the full default length).

Run:  TINYGAN_DATA_DIR=../shared/data python benchmarks/eval_dcgan.py --data mnist [--epochs 5]
      [--conditional] [--monitor 2000] [--out runs/eval-dcgan-mnist] [--resume] [--reuse]
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tinygan  # noqa: E402
from tinygan import runs  # noqa: E402
from tinygan.metrics import quality  # noqa: E402

IS_TARGET = 9.0
CLASS_ACCURACY_TARGET = 0.95


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist", choices=sorted(runs.IMAGE_DATASETS))
    parser.add_argument("--conditional", action="store_true")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--monitor", type=int, default=0,
                        help="score N eval-mode samples after every epoch (0: not)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--reuse", action="store_true",
                        help="score the checkpoint already in --out instead of training")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run whose checkpoint is in --out (exactly)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a TrainConfig setting, e.g. --set lr=1e-4 --set epochs=10")
    args = parser.parse_args(argv)

    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = json.loads(value) if value not in ("", None) else value
    config = runs.TrainConfig(data=args.data, conditional=args.conditional, **overrides)
    config = config.validate().resolved()
    default_length = "epochs" not in overrides and "steps" not in overrides
    out = args.out or f"runs/eval-dcgan-{args.data}{'-conditional' if args.conditional else ''}"
    checkpoint = os.path.join(out, "checkpoint.npz")
    model, record = quality.classifier(args.data)
    print(f"config: {json.dumps(asdict(config))}")
    print(f"classifier: {args.data}, test accuracy {record['test_accuracy']:.2%}")

    # 1. train
    curve = []
    per_epoch = config.batches_per_epoch(config.batch_size)
    kinds = runs.image_kinds(config)  # classes (conditional), InfoGAN codes, or 0

    def monitor(step, G):
        if not args.monitor:
            return
        z = tinygan.randn(args.monitor, config.z_dim)
        labels = np.arange(args.monitor) % kinds if kinds else None
        samples = runs.sample_in_chunks(G, z, labels)
        result = quality.score(samples.astype(np.float32), args.data)
        curve.append({"step": step, "epoch": step / per_epoch,
                      "inception_score": result.inception_score,
                      "frechet_distance": result.frechet_distance})
        print(f"  epoch {step / per_epoch:5.2f}: IS {result.inception_score:.3f}, "
              f"FD {result.frechet_distance:.3f} ({args.monitor} samples)", flush=True)

    start = time.perf_counter()
    if not args.reuse:
        print(f"1. training {config.steps} steps ({config.steps / per_epoch:g} epochs) into {out}")
        runs.train(config, out, resume=args.resume, progress=not args.quiet, callback=monitor)
    seconds = time.perf_counter() - start
    print(f"   wall time {seconds:.0f} s ({seconds / 60:.1f} min), "
          f"threads {tinygan.kernels.info()['num_threads']}")

    # 2. score 10,000 eval-mode samples
    samples = runs.sample(checkpoint, args.samples, seed=1)
    result = quality.score(samples, args.data)
    print(f"2. {args.samples} samples (eval mode): IS {result.inception_score:.3f} "
          f"(real test set {result.real_inception_score:.3f}), FD {result.frechet_distance:.3f} "
          f"(real train vs test {result.real_frechet_distance:.3f})")

    # 3. class balance
    log_probs, _ = quality.predict(model, samples)
    counts = np.bincount(log_probs.argmax(1), minlength=runs.IMAGE_CLASSES) / len(samples)
    print("3. classes seen in the samples: "
          + ", ".join(f"{k}: {c:.1%}" for k, c in enumerate(counts))
          + f"; most/least frequent = {counts.max() / max(counts.min(), 1e-9):.2f}")

    # 4. the same z in training mode (batch statistics of batches of 64)
    train_is = training_mode_score(checkpoint, config, args.samples)
    print(f"4. the same z in training mode: IS {train_is:.3f} "
          f"(eval mode {result.inception_score:.3f})")

    # 5. conditional: per-class accuracy
    accuracies = None
    if config.conditional:
        accuracies = []
        for k in range(runs.IMAGE_CLASSES):
            drawn = runs.sample(checkpoint, args.samples // runs.IMAGE_CLASSES, seed=2, label=k)
            accuracies.append(float(np.mean(quality.predict(model, drawn)[0].argmax(1) == k)))
        print("5. per-class accuracy: "
              + ", ".join(f"{k}: {a:.1%}" for k, a in enumerate(accuracies))
              + f"; lowest {min(accuracies):.1%}")

    # 5b. InfoGAN: which digit each value of the code draws (found without labels)
    codes = None
    if config.codes:
        codes = []
        for k in range(config.codes):
            drawn = runs.sample(checkpoint, args.samples // config.codes, seed=2, label=k)
            seen = np.bincount(quality.predict(model, drawn)[0].argmax(1),
                               minlength=runs.IMAGE_CLASSES) / len(drawn)
            codes.append({"class": int(seen.argmax()), "share": float(seen.max())})
        print("5. InfoGAN codes -> the class each draws most (its share): "
              + ", ".join(f"c={k}: {c['class']} ({c['share']:.0%})" for k, c in enumerate(codes))
              + f"; classes covered {len({c['class'] for c in codes})} of {runs.IMAGE_CLASSES}")

    report = {"config": asdict(config), "wall_seconds": seconds, "samples": args.samples,
              "inception_score": result.inception_score,
              "frechet_distance": result.frechet_distance,
              "real_inception_score": result.real_inception_score,
              "real_frechet_distance": result.real_frechet_distance,
              "class_fractions": counts.tolist(), "training_mode_inception_score": train_is,
              "per_class_accuracy": accuracies, "codes": codes, "curve": curve}
    with open(os.path.join(out, "eval.json"), "w") as file:
        json.dump(report, file, indent=2)
    print(f"wrote {os.path.join(out, 'eval.json')}; look at {os.path.join(out, 'samples.png')}")

    failed = []
    if default_length and args.data == "mnist" and result.inception_score < IS_TARGET:
        failed.append(f"IS {result.inception_score:.3f} < {IS_TARGET}")
    if default_length and accuracies and args.data == "mnist" and \
            min(accuracies) < CLASS_ACCURACY_TARGET:
        failed.append(f"lowest per-class accuracy {min(accuracies):.1%} < "
                      f"{CLASS_ACCURACY_TARGET:.0%}")
    if failed:
        print("target missed: " + "; ".join(failed))
        return 1
    return 0


def training_mode_score(checkpoint, config, n, batch=64):
    """IS of G's samples drawn in training mode (batch statistics), batches of ``batch``."""
    G, _ = runs.load_generator(checkpoint)
    G.train()
    tinygan.manual_seed(1)
    z = tinygan.randn(n, config.z_dim).data
    kinds = runs.image_kinds(config)
    labels = np.arange(n) % max(kinds, 1)
    parts = []
    with tinygan.no_grad():
        for i in range(0, n, batch):
            args = (z[i:i + batch],) + ((labels[i:i + batch],) if kinds else ())
            parts.append(G(*args).data)
    samples = np.concatenate(parts).astype(np.float32)
    return quality.score(samples, config.data).inception_score


if __name__ == "__main__":
    sys.exit(main())
