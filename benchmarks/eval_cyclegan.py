"""CycleGAN of `tinygan train --model cyclegan`, measured: does the translation keep the digit?

For each cycle weight lambda given (default: 10, Zhu et al.'s, and 0, no cycle loss at all),
train CycleGAN on a domain pair (default "mnist:thick": A = the first half of MNIST's training
images, B = the second half drawn with thicker strokes; no image of B is a thickened image of
A), then on the pair's test images (5000 per domain, the test set split the same way) print

- class kept A -> B: the fraction of test a's whose translation G(a), turned back (or
  un-inverted; ``tinygan.datasets.domains.to_classifier_view``), the quality classifier
  (``tinygan.metrics.quality``) assigns to a's class; B -> A the same for F(b); beside the
  classifier's accuracy on the real B images (the ceiling) and 10% (chance);
- the cycle reconstruction errors mean |F(G(a)) - a| and |G(F(b)) - b| (pixels in [-1, 1]);
- the wall and CPU time of each training run.

    TINYGAN_NUM_THREADS=1 python benchmarks/eval_cyclegan.py                 # 1 epoch each
    TINYGAN_NUM_THREADS=1 python benchmarks/eval_cyclegan.py --steps 1200 --data mnist:rotated

On "mnist:rotated" the PatchGAN discriminators (18 x 18 patches) cannot see the rotation of the
whole image, and G learns the identity; the script prints how many G(a) are still read upright.

Needs the MNIST files ($TINYGAN_DATA_DIR) and the cached quality classifier (trained once if
absent).
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from tinygan import kernels, model_runs, runs
from tinygan.datasets import DOMAIN_PAIRS


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="mnist:thick", choices=DOMAIN_PAIRS)
    parser.add_argument("--weights", nargs="+", type=float, default=[10.0, 0.0],
                        help="cycle weights lambda to compare")
    parser.add_argument("--identity", type=float, default=0.0, help="identity loss weight")
    parser.add_argument("--epochs", type=int, default=None, help="default: the CLI's (1)")
    parser.add_argument("--steps", type=int, default=None, help="overrides --epochs")
    parser.add_argument("--subset", type=int, default=0, help="train on the first N images")
    parser.add_argument("--n", type=int, default=None, help="test images per domain (all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="folder for the runs (default: temporary)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="eval_cyclegan-"))
    data = args.data.split(":")[0]
    predict = model_runs.quality_classifier(data, train=True)
    print(f"tinygan eval_cyclegan: {args.data}, {kernels.get_num_threads()} threads, "
          f"{kernels.active()} kernels; runs in {out}")
    rows = []
    for weight in args.weights:
        config = runs.TrainConfig(data=args.data, model="cyclegan", epochs=args.epochs,
                                  steps=args.steps, subset=args.subset, seed=args.seed,
                                  cycle_weight=weight, identity_weight=args.identity)
        config = config.validate().resolved()
        folder = out / f"lambda-{weight:g}"
        start, cpu_start = time.perf_counter(), time.process_time()
        runs.train(config, folder, progress=False, log=lambda *_: None)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        ckpt = runs.load_models_checkpoint(str(folder / "checkpoint.npz"))
        G, F = model_runs.build_cyclegan(config)[:2]
        G.load_state_dict(ckpt["models"]["G"])
        F.load_state_dict(ckpt["models"]["F"])
        result = model_runs.evaluate_cyclegan(G, F, args.data, n=args.n,
                                              classify=lambda _: predict)
        result.update(cycle_weight=weight, steps=config.steps, batch_size=config.batch_size,
                      base_channels=config.base_channels, seconds_wall=seconds, seconds_cpu=cpu)
        rows.append(result)
        print(f"  lambda = {weight:g}: {config.steps} steps of batch {config.batch_size} in "
              f"{seconds:.0f} s wall, {cpu:.0f} s CPU")
    print(f"\n{'lambda':>7s}{'kept A->B':>11s}{'kept B->A':>11s}{'|F(G(a))-a|':>13s}"
          f"{'|G(F(b))-b|':>13s}")
    for r in rows:
        print(f"{r['cycle_weight']:7g}{100 * r['class_kept_a2b']:10.1f}%"
              f"{100 * r['class_kept_b2a']:10.1f}%{r['cycle_a']:13.4f}{r['cycle_b']:13.4f}")
    if "untranslated_a2b" in rows[0]:
        print("G(a) read as a's class without undoing B's change (G did not translate): "
              + ", ".join(f"lambda {r['cycle_weight']:g}: {100 * r['untranslated_a2b']:.1f}%"
                          for r in rows))
    print(f"(classifier on the real B test images: {100 * rows[0]['classifier_on_b']:.1f}%; on "
          f"{rows[0]['images_per_domain']} test images per domain; chance: 10%)")
    (out / "eval_cyclegan.json").write_text(json.dumps({"data": args.data, "runs": rows},
                                                       indent=2) + "\n")
    print(f"written to {out / 'eval_cyclegan.json'}")


if __name__ == "__main__":
    main()
