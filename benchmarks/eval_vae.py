"""The VAE of `tinygan train --data mnist --model vae`, measured: likelihood bound and samples.

Trains the VAE with the command line's defaults (5 epochs of MNIST unless --epochs/--subset say
otherwise), then prints

- the test set's negative ELBO in nats per image (one z ~ q(z|x) per test image: an unbiased
  estimate; lower is better; -ELBO >= -log p(x), so it bounds the model's test likelihood), with
  its reconstruction and KL terms;
- the classifier Inception Score and Fréchet distance (``tinygan.metrics.quality.score``, as
  ../shared/PROTOCOLS.md defines them) of 10,000 samples decoded from z ~ N(0, I), and of the
  reconstructions dec(mu(x)) of the 10,000 test images, beside the real test set's IS (the
  ceiling) and the train-vs-test FD (the floor);
- with --dcgan CHECKPOINT, the same scores of 10,000 samples of that DCGAN, so the trade-off is
  on one table: the VAE's samples are blurrier (a lower IS, a larger FD) but it models every
  test image (reconstructions, a likelihood bound), where a GAN has neither.

    TINYGAN_NUM_THREADS=1 python benchmarks/eval_vae.py                  # 5 epochs
    TINYGAN_NUM_THREADS=1 python benchmarks/eval_vae.py --epochs 1 --subset 20000

Wall and CPU time of the training are printed (the machine may be shared). Needs the MNIST
files ($TINYGAN_DATA_DIR) and the cached quality classifier (trained once if absent).
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from tinygan import kernels, model_runs, runs
from tinygan.datasets import mnist
from tinygan.metrics import quality


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--subset", type=int, default=0, help="train on the first N images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--dcgan", default=None, help="a DCGAN checkpoint.npz to score beside")
    parser.add_argument("--out", default=None, help="run folder (default: temporary)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="eval_vae-"))
    config = runs.TrainConfig(data="mnist", model="vae", epochs=args.epochs, subset=args.subset,
                              seed=args.seed).validate().resolved()
    print(f"tinygan eval_vae: {config.epochs} epochs ({config.steps} steps of batch "
          f"{config.batch_size}{f', first {args.subset} images' if args.subset else ''}), "
          f"latent {config.z_dim}, base channels {config.base_channels}, Adam lr {config.lr}; "
          f"{kernels.get_num_threads()} threads, {kernels.active()} kernels; run in {out}")
    start, cpu_start = time.perf_counter(), time.process_time()
    metrics = runs.train(config, out, progress=False, log=lambda *_: None)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    test = metrics["test"]
    print(f"training + test ELBO: {seconds:.0f} s wall, {cpu:.0f} s CPU\n")
    print(f"test -ELBO: {test['negative_elbo']:.2f} nats per image (reconstruction "
          f"{test['reconstruction']:.2f} + KL {test['kl']:.2f}), {test['images']} images")

    checkpoint = str(out / "checkpoint.npz")
    rows = {"VAE samples dec(z), z ~ N(0, I)": runs.sample(checkpoint, args.samples, seed=1)}
    vae = model_runs.build_vae(config)[0]
    vae.load_state_dict(runs.load_models_checkpoint(checkpoint)["models"]["vae"])
    test_images, _ = mnist("test")
    rows["VAE reconstructions of the test set"] = model_runs._eval_call(vae.reconstruct,
                                                                        test_images)
    if args.dcgan:
        rows["DCGAN samples (--dcgan)"] = runs.sample(args.dcgan, args.samples, seed=1)
    print(f"\n{'':40s}{'Inception Score':>16s}{'Frechet distance':>18s}")
    results = {}
    for name, images in rows.items():
        score = quality.score(np.clip(images, -1, 1).astype(np.float32), "mnist")
        results[name] = {"inception_score": score.inception_score,
                         "frechet_distance": score.frechet_distance}
        print(f"{name:40s}{score.inception_score:16.3f}{score.frechet_distance:18.3f}")
    print(f"{'real test set (ceiling)':40s}{score.real_inception_score:16.3f}{0.0:18.3f}")
    print(f"{'real train vs test (floor)':40s}{'':16s}{score.real_frechet_distance:18.3f}")
    summary = {"config": {"epochs": config.epochs, "steps": config.steps,
                          "subset": args.subset, "seed": args.seed},
               "seconds_wall": seconds, "seconds_cpu": cpu, "test": test, "scores": results,
               "real_inception_score": score.real_inception_score,
               "real_frechet_distance": score.real_frechet_distance}
    (out / "eval_vae.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nwritten to {out / 'eval_vae.json'}")


if __name__ == "__main__":
    main()
