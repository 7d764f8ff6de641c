"""Mode coverage of `tinygan train`'s defaults on ring8 and grid25, as ../shared/PROTOCOLS.md asks.

For each data set and seed, train with the defaults of `tinygan train` (only --data and --seed
change), then score 2500 fresh samples: modes captured, % high quality (within 3 standard
deviations of the nearest mean), reverse KL of the mode histogram to uniform. Prints one row
per run, the mean over seeds beside PacGAN's published figures, and checks the targets:

    ring8:  8/8 modes and >= 90% high quality (mean of the seeds)
    grid25: >= 24/25 modes and >= 80% high quality (mean of the seeds)
    every run: at most 5 minutes

    python benchmarks/eval_toy.py                    # 3 seeds on each (about 2 x 3 runs)
    python benchmarks/eval_toy.py --data ring8 --seeds 0 1

Exits 1 when a target is missed. Runs are written to --out (default: a temporary folder).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinygan import kernels, runs

TARGETS = {"ring8": (8, 0.90), "grid25": (24, 0.80)}
PUBLISHED = {  # PacGAN (Lin et al. 2018), Table 2: (modes, % high quality)
    "ring8": {"vanilla GAN": (6.3, 98.2), "best (PacGAN)": (7.9, 95.6)},
    "grid25": {"vanilla GAN": (17.3, 94.8), "best (PacGAN)": (24.8, 93.6)},
}
TIME_LIMIT = 300.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=["ring8", "grid25"], choices=list(TARGETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", default=None, help="folder for the runs (default: temporary)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="eval_toy-"))
    defaults = runs.TrainConfig()
    r = defaults.resolved()
    print(f"tinygan eval_toy: defaults of `tinygan train` ({r.steps} steps, batch {r.batch_size}, "
          f"lr {r.lr} decaying from {r.lr_decay_start} of the steps, {r.layers}x{r.hidden} MLPs, "
          f"z_dim {r.z_dim}, loss {r.loss}, pack {r.pack}); {kernels.get_num_threads()} "
          f"threads, {kernels.active()} kernels; runs in {out}\n")
    failures = []
    for name in args.data:
        rows = []
        for seed in args.seeds:
            start, cpu_start = time.perf_counter(), time.process_time()
            metrics = runs.train(runs.TrainConfig(data=name, seed=seed), out / f"{name}-{seed}",
                                 progress=False, log=lambda *_: None)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            final = metrics["final"]
            rows.append((final["modes_captured"], 100 * final["high_quality"],
                         final["reverse_kl"], seconds))
            print(f"{name} seed {seed}: {final['modes_captured']}/{final['n_modes']} modes, "
                  f"{100 * final['high_quality']:.1f}% high quality, reverse KL "
                  f"{final['reverse_kl']:.3f}, {seconds:.0f} s ({cpu:.0f} s of CPU)", flush=True)
            if seconds > TIME_LIMIT:
                failures.append(f"{name} seed {seed} took {seconds:.0f} s > {TIME_LIMIT:.0f} s")
        modes, quality, kl, seconds = (float(np.mean(column)) for column in zip(*rows))
        print(f"{name} mean of {len(rows)} seeds: {modes:.2f} modes, {quality:.1f}% high quality, "
              f"reverse KL {kl:.3f}, {seconds:.0f} s per run")
        for label, (ref_modes, ref_quality) in PUBLISHED[name].items():
            print(f"    published {label}: {ref_modes} modes, {ref_quality}% high quality")
        need_modes, need_quality = TARGETS[name]
        if modes < need_modes or quality < 100 * need_quality:
            failures.append(f"{name}: {modes:.2f} modes / {quality:.1f}% < target "
                            f"{need_modes} / {100 * need_quality:.0f}%")
        print()
    for failure in failures:
        print("TARGET MISSED:", failure)
    print("all targets met" if not failures else f"{len(failures)} target(s) missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
