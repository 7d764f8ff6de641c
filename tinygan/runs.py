"""A training run: a configuration in, an output folder of results out.

``tinygan train`` and ``benchmarks/eval_toy.py`` both call ``train(config, out)``:

1. build the data set, G, D and their optimizers from the configuration (every number of the
   run is in ``TrainConfig``: nothing is hidden in the code);
2. play the game with ``tinygan.gan.fit`` (progress bar, history, checkpoints, NaN guard);
3. measure the result: on the mixtures, the protocol's modes captured / % high quality / reverse
   KL (``tinygan.metrics.mode_coverage``) on 2500 fresh samples, and over training on the kept
   samples of 2500 fixed z; MMD to fresh data for every data set;
4. write into ``out``: ``config.json``, ``checkpoint.npz``, ``history.csv``, ``metrics.json``,
   ``history.png`` (losses, D's outputs, gradient norms), ``game.png`` (the GAN Lab panel, or
   the 1-D picture of Goodfellow et al.'s Figure 1), ``samples.png`` and ``training.gif``.

On MNIST and Fashion-MNIST the same steps train the DCGAN (``tinygan.models.dcgan``, optionally
conditional on the class) on mini-batches of a ``BatchIterator`` (whose position the checkpoint
keeps), and write a grid of G(z) for fixed z per epoch (one row per class when conditional), the
GIF of those grids and a latent interpolation instead of the 2-D panels (``IMAGE_FILES``); their
sample quality is scored separately (``tinygan score``), since it needs the trained classifier.

``sample(checkpoint, n)`` rebuilds G from a checkpoint's configuration and draws from it.

``--model vae`` (image data) and ``--model cyclegan`` (a domain pair such as "mnist:rotated",
``tinygan.datasets.domain_pair``) are not a game of one G and one D: ``train`` hands them to
``tinygan/model_runs.py`` (trained by ``gan.fit_models``, their defaults in ``MODEL_RECIPES``),
and ``sample`` draws from a VAE's decoder as from a generator.
"""

import csv
import json
import os
from dataclasses import asdict, dataclass, fields

import numpy as np

from . import model_runs, plot
from .creation import randn
from .datasets import DOMAIN_PAIRS, BatchIterator, fashion_mnist, mnist, toy
from .engine import Tensor
from .gan import (
    DEFAULT_D_STEPS,
    DEFAULT_LR,
    HISTORY_COLUMNS,
    fit,
    is_wasserstein,
    linear_decay,
    load_checkpoint,
    make_optimizer,
    sample_generator,
)
from .gan.loop import is_models_checkpoint, load_models_checkpoint
from .gan.losses import LOSSES
from .gan.recipes import DEFAULT_BETAS, OPTIMIZERS, default_optimizer
from .metrics import PROTOCOL_SAMPLES, mode_coverage
from .metrics.mmd import mmd_rbf
from .models import MLPDiscriminator, MLPGenerator, dcgan
from .random import generator, manual_seed

# The BCE losses' learning rate on the toy data (DCGAN's 2e-4 is slow here; see TrainConfig).
TOY_BCE_LR = 6e-4
GIF_FRAMES = 41  # at most, so drawing the GIF stays quick whatever sample_every is
FILES = ("config.json", "checkpoint.npz", "history.csv", "metrics.json", "history.png",
         "game.png", "samples.png", "training.gif")
IMAGE_FILES = ("config.json", "checkpoint.npz", "history.csv", "metrics.json", "history.png",
               "samples.png", "training.gif", "interpolation.png")
IMAGE_DATASETS = {"mnist": mnist, "fashion-mnist": fashion_mnist}
IMAGE_TRAIN_SIZE = 60000  # both data sets' training split
IMAGE_CLASSES = 10
# The image recipe's two additions to the common MNIST DCGAN, chosen with benchmarks/eval_dcgan.py
# (5 epochs, MNIST, IS of 10,000 samples; real test set 9.72; see the README): a hidden Dense
# layer of IMAGE_DENSE units in G and in D, and (unconditional runs) InfoGAN's categorical code
# of IMAGE_CODES values. Neither (with PacGAN 2): IS 6.55; the code alone (10 or 20 values):
# 6.97, 7.40; the Dense layer alone: 8.62; both: 9.62, every class 9.3-10.8% of the samples.
IMAGE_DENSE = 1024
IMAGE_CODES = 10
# Settings added after the first image runs, with the values those runs had: a config.json or
# checkpoint written before a setting existed was trained without it.
LEGACY_SETTINGS = {"spectral_norm": False, "codes": 0, "dense": 0}


def stored_settings(values):
    """The settings a run stored (config.json, a checkpoint's config), completed with
    ``LEGACY_SETTINGS`` for those it predates: what that run was actually trained with."""
    return {**LEGACY_SETTINGS, **values}


@dataclass
class TrainConfig:
    """Every setting of a toy run, with the defaults of ``tinygan train``.

    The defaults were chosen with ``benchmarks/eval_toy.py`` (see the README for its figures):
    3-layer MLPs of 128 units, the non-saturating loss, Adam at 6e-4 (beta1 0.5) for both
    players, 30000 steps of batch 256, the learning rates decaying linearly to 0 over the second
    half. Measured on seed 0 (ring8 / grid25): at 2e-4 grid25 had found 19/25 modes after 12000
    steps where 6e-4 had all 25; without the decay ring8's samples kept drifting off the modes
    (91.6% high quality at step 6000, 58% at 12000), with it they settle (96% at 12000). With
    20000 steps grid25's seeds 0-2 found 24, 25 and 21 modes; with 30000, 23, 25 and 25.
    """

    data: str = "ring8"
    model: str | None = None  # None: "mlp" for toy data, "dcgan" for images (the only pairs)
    loss: str = "nonsaturating"
    steps: int | None = None  # None: 30000 for toy data, epochs x batches per epoch for images
    epochs: int | None = None  # image data only (None: 5); steps wins when both are given
    batch_size: int | None = None  # None: 256 for toy data, 64 for images
    lr: float | None = None  # None: TOY_BCE_LR for toy BCE runs, else the loss's published one
    d_steps: int | None = None  # None: the loss's (1; 5 for the Wasserstein losses)
    optimizer: str | None = None  # None: the loss's (Adam; RMSprop for "wasserstein")
    beta1: float | None = None  # None: the loss's (0.5)
    beta2: float | None = None  # None: the loss's (0.999; 0.9 for "wgan-gp")
    z_dim: int | None = None  # None: 2 for toy data, 100 for images
    conditional: bool = False  # images: G(z, y) and D(x, y) with the class y
    subset: int = 0  # images: train on the first `subset` training images only (0: all)
    hidden: int = 128
    layers: int = 3
    pack: int = 1
    spectral_norm: bool = False  # images: D's layers W / sigma(W) instead of its batch norm
    codes: int | None = None  # images: InfoGAN's code c of K values (None: IMAGE_CODES or 0)
    dense: int | None = None  # images: hidden Dense units in G and D (None: IMAGE_DENSE or 0)
    lr_decay_start: float = 0.5  # both rates fall linearly to 0 from this fraction of the steps
    seed: int = 0
    sample_every: int | None = None  # None: 500 steps for toy data, one epoch for images
    checkpoint_every: int = 2000
    # The VAE ("--model vae", image data) and CycleGAN ("--model cyclegan", a domain pair such
    # as "mnist:rotated"): tinygan/model_runs.py. Their defaults: MODEL_RECIPES.
    base_channels: int | None = None  # None: 32 for the VAE, 8 for CycleGAN
    blocks: int = 2  # CycleGAN: residual blocks in each generator
    cycle_weight: float = 10.0  # CycleGAN: lambda, the cycle loss's weight (0: no cycle loss)
    identity_weight: float = 0.0  # CycleGAN: lambda_id, the identity loss's weight (0: none)

    @property
    def is_image(self):
        return self.data in IMAGE_DATASETS

    @property
    def is_pair(self):
        """A pair of unpaired image domains ("mnist:rotated", ...), CycleGAN's data."""
        return self.data in DOMAIN_PAIRS

    @property
    def is_other_model(self):
        """The VAE or CycleGAN (not a GAN of G and D): trained by tinygan/model_runs.py."""
        return self.model in MODEL_RECIPES or (self.model is None and self.is_pair)

    def resolved(self):
        """A copy with each None replaced by the loss's published setting (gan.recipes) or the
        data kind's default (toy or image)."""
        if self.is_other_model:
            return _resolved_other_model(self)
        values = asdict(self)
        beta1, beta2 = DEFAULT_BETAS.get(self.loss, (0.5, 0.999))
        image = self.is_image
        lr = DEFAULT_LR[self.loss] if is_wasserstein(self.loss) or image else TOY_BCE_LR
        recipe = {"lr": lr, "d_steps": DEFAULT_D_STEPS[self.loss],
                  "optimizer": default_optimizer(self.loss), "beta1": beta1, "beta2": beta2,
                  "batch_size": 64 if image else 256, "z_dim": 100 if image else 2,
                  "epochs": 5 if image else None, "model": "dcgan" if image else "mlp"}
        for name, value in recipe.items():
            if values[name] is None:
                values[name] = value
        if values["steps"] is None:
            values["steps"] = (values["epochs"] * self.batches_per_epoch(values["batch_size"])
                               if image else 30000)
        if values["sample_every"] is None:
            values["sample_every"] = self.batches_per_epoch(values["batch_size"]) if image else 500
        if values["dense"] is None:
            values["dense"] = IMAGE_DENSE if image else 0
        if values["codes"] is None:  # InfoGAN's code: not with classes, nor with PacGAN's packs
            values["codes"] = IMAGE_CODES if image and not self.conditional and self.pack == 1 \
                else 0
        return TrainConfig(**values)

    def batches_per_epoch(self, batch_size):
        """Full batches in one pass over the (subset of the) training images."""
        return max(1, (self.subset or IMAGE_TRAIN_SIZE) // batch_size)

    def validate(self):
        """Raise ValueError naming the first setting that is out of range."""
        names = list(toy.TOY_DATASETS) + list(IMAGE_DATASETS) + list(DOMAIN_PAIRS)
        _expect(self.data in names, "data", self.data, "one of " + ", ".join(names))
        if self.is_other_model:
            _validate_other_model(self)
        else:
            _expect(self.loss in LOSSES, "loss", self.loss, "one of " + ", ".join(LOSSES))
        _expect(self.optimizer in (None,) + OPTIMIZERS, "optimizer", self.optimizer,
                "one of " + ", ".join(OPTIMIZERS))
        for name in ("steps", "epochs", "subset", "codes", "dense"):  # None: the default
            value = getattr(self, name)
            _expect(value is None or _is_int(value) and value >= 0, name, value,
                    "an integer >= 0")
        for name in ("d_steps", "batch_size", "z_dim", "hidden", "layers", "pack",
                     "sample_every", "checkpoint_every"):
            value = getattr(self, name)
            _expect(value is None or _is_int(value) and value >= 1, name, value,
                    "an integer >= 1")
        _expect(self.model in _models_for(self), "model", self.model,
                "dcgan or vae for image data, cyclegan for a domain pair (mnist:rotated, ...), "
                "mlp for toy data")
        for name in ("conditional", "spectral_norm"):
            _expect(isinstance(getattr(self, name), bool), name, getattr(self, name),
                    "true or false")
        _expect(self.is_image or not (self.spectral_norm or self.codes or self.dense), "data",
                self.data, "mnist or fashion-mnist for spectral_norm, codes and dense")
        _expect(not self.codes or (self.pack == 1 and not self.conditional), "codes",
                self.codes, "0 with pack > 1 or conditional (InfoGAN's code replaces the class)")
        _expect(self.is_image or (self.is_pair and not self.conditional)
                or not (self.conditional or self.epochs or self.subset),
                "data", self.data, "mnist or fashion-mnist for conditional, epochs and subset")
        _expect(_is_int(self.seed), "seed", self.seed, "an integer")
        _expect(self.lr is None or _is_number(self.lr) and self.lr > 0, "lr", self.lr,
                "a number > 0")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            _expect(value is None or _is_number(value) and 0 <= value < 1, name, value,
                    "a number in [0, 1)")
        _expect(_is_number(self.lr_decay_start) and 0 <= self.lr_decay_start <= 1,
                "lr_decay_start", self.lr_decay_start, "a fraction in [0, 1] (1: no decay)")
        _expect(self.batch_size is None or self.batch_size % self.pack == 0, "batch_size",
                self.batch_size, f"a multiple of pack = {self.pack}")
        return self

    @classmethod
    def from_stored(cls, values, source="configuration"):
        """A TrainConfig from the resolved dict a run stored (config.json, a checkpoint): the
        settings it predates get the values its run was trained with (``stored_settings``)."""
        return cls.from_dict(stored_settings(values), source)

    @classmethod
    def from_dict(cls, values, source="configuration"):
        """A TrainConfig from a dict (a config file); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source}: unknown setting(s) {', '.join(unknown)}; expected "
                             f"some of {', '.join(sorted(known))}")
        return cls(**values)


def build(config, load_data=True):
    """The data set, G, D and their optimizers of a (resolved) configuration. For image data
    the data set is a BatchIterator over the training images (and labels when conditional);
    ``load_data=False`` skips reading the images (to sample from a checkpoint)."""
    if config.is_image:
        data = _image_batches(config) if load_data else None
        G, D = dcgan(28, 1, latent_dim=config.z_dim,
                     num_classes=IMAGE_CLASSES if config.conditional else None,
                     pack=config.pack, spectral_norm=config.spectral_norm, codes=config.codes,
                     hidden=config.dense)
    else:
        data = toy.make(config.data)
        G = MLPGenerator(z_dim=config.z_dim, data_dim=data.dim, hidden=config.hidden,
                         layers=config.layers)
        D = MLPDiscriminator(data_dim=data.dim, hidden=config.hidden, layers=config.layers,
                             pack=config.pack)
    betas = (config.beta1, config.beta2)
    opt_G = make_optimizer(G.parameters(), config.loss, config.optimizer, config.lr, betas)
    opt_D = make_optimizer(D.parameters(), config.loss, config.optimizer, config.lr, betas)
    return data, G, D, opt_G, opt_D


def train(config, out, resume=False, progress=True, log=print, callback=None):
    """Run ``config`` (a TrainConfig) and write every file of ``FILES`` into ``out``.
    Returns the metrics dict that is also written to ``metrics.json``. ``callback(step, G)`` is
    passed to ``gan.fit`` (called whenever the fixed-noise samples are kept)."""
    config = config.validate().resolved()
    os.makedirs(out, exist_ok=True)
    checkpoint = os.path.join(out, "checkpoint.npz")
    if not resume:
        _write_json(os.path.join(out, "config.json"), asdict(config))
    manual_seed(config.seed)
    if config.model == "vae":
        return model_runs.train_vae(config, out, checkpoint, resume, progress, log)
    if config.model == "cyclegan":
        return model_runs.train_cyclegan(config, out, checkpoint, resume, progress, log)
    if config.is_image:
        return _train_images(config, out, checkpoint, resume, progress, log, callback)
    data, G, D, opt_G, opt_D = build(config)
    fixed_z = randn(PROTOCOL_SAMPLES, config.z_dim)  # the same z all run long: GIF, metrics
    result = _fit(config, G, D, opt_G, opt_D, toy.batches(data, config.batch_size), fixed_z,
                  checkpoint, resume, progress, callback)

    metrics = evaluate(G, D, data, config, result)
    _write_json(os.path.join(out, "metrics.json"), metrics)
    write_history_csv(os.path.join(out, "history.csv"), result.history)
    draw_run(out, G, D, data, config, result)
    log(f"wrote {', '.join(FILES)} to {out}")
    return metrics


def _fit(config, G, D, opt_G, opt_D, batches, fixed, checkpoint, resume, progress,
         callback=None):
    """``gan.fit`` with every setting taken from the configuration (stored in the checkpoint)."""
    return fit(G, D, opt_G, opt_D, batches, _noise(config.z_dim), config.steps,
               loss=config.loss, d_steps=config.d_steps, fixed_noise=fixed,
               sample_every=config.sample_every, checkpoint=checkpoint,
               checkpoint_every=config.checkpoint_every, resume=resume,
               extra={"config": asdict(config)}, progress=progress,
               batch_size=config.batch_size,
               lr_schedule=linear_decay(config.steps, config.lr_decay_start), callback=callback)


def evaluate(G, D, data, config, result):
    """The run's figures: final and over time (see the module docstring)."""
    fresh = sample_generator(G, randn(PROTOCOL_SAMPLES, config.z_dim))
    real = data.sample(PROTOCOL_SAMPLES)
    metrics = {"step": result.step, "samples": PROTOCOL_SAMPLES,
               "mmd_rbf": mmd_rbf(fresh[:1000], real[:1000])}
    if isinstance(data, toy.Mixture):
        metrics["final"] = mode_coverage(fresh, data.means, data.std).as_dict()
        metrics["over_time"] = [
            {"step": step, **mode_coverage(samples, data.means, data.std).as_dict()}
            for step, samples in zip(result.sample_steps, result.samples)
        ]
    if result.history["step"]:
        last = {k: float(np.mean(v[-100:])) for k, v in result.history.items() if k != "step"}
        metrics["last_100_steps"] = last
    return metrics


def draw_run(out, G, D, data, config, result):
    """history.png, game.png, samples.png and training.gif of a run."""
    wasserstein = is_wasserstein(config.loss)
    plot.history_figure(os.path.join(out, "history.png"), result.history, wasserstein)
    real = data.sample(1000)
    z = randn(1000, config.z_dim)
    fake = sample_generator(G, z)
    title = f"step {result.step}"

    def draw_game(ax):  # the GAN Lab panel, or Goodfellow et al.'s Figure 1 in 1-D
        if data.dim == 1:
            plot.density_1d(ax, data, fake, D=D, z=z if config.z_dim == 1 else None,
                            loss=config.loss, title=title)
        else:
            plot.gan_lab(ax, D, real, fake, loss=config.loss, title=title)

    def draw_samples(ax):
        if data.dim == 1:
            plot.density_1d(ax, data, fake, title="samples")
        else:
            plot.scatter(ax, real, fake, title="samples")

    plot.figure(os.path.join(out, "game.png"), draw_game, size=5)
    plot.figure(os.path.join(out, "samples.png"), draw_samples)

    frames = list(zip(result.sample_steps, result.samples))
    if len(frames) > GIF_FRAMES:  # evenly spaced, always with the first and the last
        frames = [frames[i] for i in np.linspace(0, len(frames) - 1, GIF_FRAMES).astype(int)]
    if frames:
        bounds = None if data.dim == 1 else plot.square_bounds(real)

        def draw_frame(ax, frame):
            step, samples = frame
            if data.dim == 1:
                plot.density_1d(ax, data, samples, title=f"step {step}")
            else:
                plot.scatter(ax, real, samples[:1000], bounds=bounds, title=f"step {step}")

        plot.animate(os.path.join(out, "training.gif"), frames, draw_frame)


def sample(checkpoint, n, seed=0, label=None):
    """n samples of the generator saved in ``checkpoint`` (by ``train``), as a float32 array:
    (n, d) for toy data, (n, 1, 28, 28) in [-1, 1] for images (``label`` k: all of class k,
    conditional models only; None: classes drawn uniformly). Raises CheckpointError/ValueError
    for a file that is not such a checkpoint."""
    if is_models_checkpoint(checkpoint):
        return _sample_other_model(checkpoint, n, seed, label)
    manual_seed(seed)  # before building G: its initialisation draws from the same generator
    G, config = load_generator(checkpoint)
    kinds = image_kinds(config)
    if label is not None and not kinds:
        raise ValueError(f"{checkpoint}: --label needs a conditional model (or InfoGAN's code); "
                         "this one was trained without classes")
    if label is not None and not (_is_int(label) and 0 <= label < kinds):
        raise ValueError(f"--label: expected a class 0..{kinds - 1}, got {label!r}")
    z = randn(int(n), config.z_dim)
    if not kinds:
        return sample_in_chunks(G, z)
    labels = (np.full(int(n), label, dtype=np.int64) if label is not None
              else generator().integers(0, kinds, int(n)))
    return sample_in_chunks(G, z, labels)


def _stored_config(checkpoint, ckpt):
    """The resolved TrainConfig stored in ``ckpt``, the loaded contents of the checkpoint file
    ``checkpoint`` written by ``train`` (ValueError if it has none)."""
    stored = ckpt.get("extra", {}).get("config")
    if not isinstance(stored, dict):
        raise ValueError(f"{checkpoint}: this checkpoint has no stored configuration; it was "
                         "not written by `tinygan train`")
    return TrainConfig.from_stored(stored, source=checkpoint).validate().resolved()


def load_generator(checkpoint):
    """(G, config): the generator saved in a checkpoint of ``train``, rebuilt from its stored
    configuration, with its weights and batch-norm statistics (in eval mode)."""
    ckpt = load_checkpoint(checkpoint)  # read once: with Adam's moments it can be 160 MB
    config = _stored_config(checkpoint, ckpt)
    _, G, _, _, _ = build(config, load_data=False)
    try:
        G.load_state_dict(ckpt["generator"])
    except RuntimeError as error:
        raise ValueError(f"{checkpoint}: the generator's weights do not fit the stored "
                         f"configuration: {error}") from None
    return G.eval(), config


def write_history_csv(path, history, columns=HISTORY_COLUMNS):
    """One row per step, ``columns`` (a GAN's ``HISTORY_COLUMNS`` by default)."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for row in zip(*(history[name] for name in columns)):
            writer.writerow(row)


def save_samples(path, samples):
    """Write samples as a plain .npy array (atomically: temp file, then rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".tmp-{os.getpid()}-{os.path.basename(path)}")
    with open(temporary, "wb") as file:
        np.save(file, samples)
    os.replace(temporary, path)


# ---------------------------------------------------------------------------- image runs


def _image_batches(config):
    """A BatchIterator over the training images (with their labels when conditional)."""
    images, labels = IMAGE_DATASETS[config.data]("train")
    if config.subset:
        images, labels = images[:config.subset], labels[:config.subset]
    arrays = (images, labels) if config.conditional else (images,)
    return BatchIterator(*arrays, batch_size=config.batch_size)


def _train_images(config, out, checkpoint, resume, progress, log, callback=None):
    """An image run: the DCGAN (conditional or not) on MNIST or Fashion-MNIST; one grid of
    samples from fixed z per epoch (one row per class when conditional)."""
    batches, G, D, opt_G, opt_D = build(config)
    kinds = image_kinds(config)
    if kinds:  # one row per class (or InfoGAN code), 8 fixed z each
        fixed = (randn(kinds * 8, config.z_dim), np.repeat(np.arange(kinds), 8))
    else:
        fixed = randn(64, config.z_dim)
    result = _fit(config, G, D, opt_G, opt_D, batches, fixed, checkpoint, resume, progress,
                  callback)
    metrics = {"step": result.step, "epochs": result.step / batches.batches_per_epoch,
               "images_per_epoch": batches.batches_per_epoch * config.batch_size}
    if result.history["step"]:
        metrics["last_100_steps"] = {k: float(np.mean(v[-100:]))
                                     for k, v in result.history.items() if k != "step"}
    _write_json(os.path.join(out, "metrics.json"), metrics)
    write_history_csv(os.path.join(out, "history.csv"), result.history)
    nrow = 8
    plot.history_figure(os.path.join(out, "history.png"), result.history,
                        is_wasserstein(config.loss))
    plot.figure(os.path.join(out, "samples.png"),
                lambda ax: plot.image_grid(ax, result.samples[-1], nrow=nrow,
                                           title=f"G(z), step {result.step}"), size=5)
    frames = list(zip(result.sample_steps, result.samples))
    plot.animate(os.path.join(out, "training.gif"), frames,
                 lambda ax, frame: plot.image_grid(ax, frame[1], nrow=nrow,
                                                   title=f"step {frame[0]}"), size=5)
    plot.figure(os.path.join(out, "interpolation.png"),
                lambda ax: plot.image_grid(ax, _interpolation(G, config), nrow=10,
                                           title="G((1 - t) z0 + t z1), t = 0 .. 1"), size=6)
    log(f"wrote {', '.join(IMAGE_FILES)} to {out}")
    return metrics


def _interpolation(G, config, rows=4, steps=10):
    """rows x steps images along straight lines between pairs of random z (the same class per
    row when conditional)."""
    z0, z1 = randn(rows, config.z_dim).data, randn(rows, config.z_dim).data
    t = np.linspace(0, 1, steps, dtype=np.float32)[None, :, None]
    z = ((1 - t) * z0[:, None] + t * z1[:, None]).reshape(rows * steps, config.z_dim)
    if image_kinds(config):
        return sample_in_chunks(G, z, np.repeat(np.arange(rows), steps))
    return sample_generator(G, z)


def image_kinds(config):
    """How many values G's second input takes: 10 classes (conditional), K codes (InfoGAN), or
    0 (G(z) alone)."""
    return IMAGE_CLASSES if config.conditional else config.codes


def sample_in_chunks(G, z, labels=None, chunk=1000):
    """G(z) (or G(z, labels)) in eval mode as float32, ``chunk`` rows at a time (bounded memory
    for 10,000 samples)."""
    z = z.data if isinstance(z, Tensor) else np.asarray(z)
    parts = [sample_generator(G, Tensor(z[i:i + chunk]) if labels is None
                              else (Tensor(z[i:i + chunk]), labels[i:i + chunk]))
             for i in range(0, len(z), chunk)]
    return np.concatenate(parts).astype(np.float32)


# --------------------------------------------------------------- the VAE and CycleGAN

# model -> its defaults for every setting left None (the other settings keep their meaning).
# VAE: Adam at Kingma & Ba's 1e-3 (Kingma & Welling trained with Adagrad; Adam is the common
# choice now), a 16-number code, DCGAN-sized batches. CycleGAN: Zhu et al.'s Adam (2e-4, beta1
# 0.5; their rate decays linearly to 0 over the second half, as lr_decay_start = 0.5 does),
# batches of 16 (they used 1), 8 base channels so an epoch takes minutes on a CPU.
MODEL_RECIPES = {
    "vae": {"loss": "elbo", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "batch_size": 64,
            "z_dim": 16, "epochs": 5, "base_channels": 32},
    "cyclegan": {"loss": "least-squares", "lr": 2e-4, "beta1": 0.5, "beta2": 0.999,
                 "batch_size": 16, "epochs": 1, "base_channels": 8},
}


def _models_for(config):
    """The models that train on ``config.data`` (None: the data kind's default)."""
    if config.is_pair:
        return (None, "cyclegan")
    return (None, "dcgan", "vae") if config.is_image else (None, "mlp")


def _validate_other_model(config):
    """The checks of the VAE's and CycleGAN's settings (``validate`` does the shared ones)."""
    model = config.model or "cyclegan"
    loss = MODEL_RECIPES[model]["loss"]
    # "nonsaturating" is the GAN default, left unchanged: the model's own loss is used.
    _expect(config.loss in ("nonsaturating", loss), "loss", config.loss,
            f"{loss} for the {model} (--loss chooses a GAN's loss)")
    _expect(not config.conditional, "conditional", config.conditional,
            f"false (the {model} is not conditional)")
    _expect(config.optimizer in (None, "adam"), "optimizer", config.optimizer,
            f"adam for the {model}")
    _expect(config.base_channels is None or _is_int(config.base_channels)
            and config.base_channels >= 1, "base_channels", config.base_channels,
            "an integer >= 1")
    _expect(_is_int(config.blocks) and config.blocks >= 0, "blocks", config.blocks,
            "an integer >= 0")
    for name in ("cycle_weight", "identity_weight"):
        value = getattr(config, name)
        _expect(_is_number(value) and value >= 0, name, value, "a number >= 0")


def _resolved_other_model(config):
    values = asdict(config)
    values["model"] = config.model or "cyclegan"
    recipe = MODEL_RECIPES[values["model"]]
    values["loss"] = recipe["loss"]
    values["optimizer"], values["d_steps"] = "adam", 1
    for name, value in recipe.items():
        if values[name] is None:
            values[name] = value
    # An epoch is one pass over the training images (over domain A's half for a pair).
    images = (config.subset or IMAGE_TRAIN_SIZE) // (2 if config.is_pair else 1)
    per_epoch = max(1, images // values["batch_size"])
    if values["steps"] is None:
        values["steps"] = values["epochs"] * per_epoch
    if values["sample_every"] is None:
        values["sample_every"] = per_epoch
    return TrainConfig(**values)


def _sample_other_model(checkpoint, n, seed, label):
    """``sample`` for a checkpoint of ``fit_models``: the VAE decodes z ~ N(0, I)."""
    ckpt = load_models_checkpoint(checkpoint)
    stored = ckpt.get("extra", {}).get("config")
    if not isinstance(stored, dict):
        raise ValueError(f"{checkpoint}: this checkpoint has no stored configuration; it was "
                         "not written by `tinygan train`")
    config = TrainConfig.from_dict(stored, source=checkpoint).validate().resolved()
    if config.model != "vae":
        raise ValueError(f"{checkpoint}: a {config.model} translates images and has no prior "
                         "to sample from; `tinygan sample` draws from GANs and VAEs")
    if label is not None:
        raise ValueError(f"{checkpoint}: --label needs a conditional model; a VAE has no classes")
    manual_seed(seed)
    return model_runs.sample_vae(config, ckpt, n, checkpoint)


# ------------------------------------------------------------------------------- helpers


def _noise(z_dim):
    def noise(n):
        return randn(n, z_dim)  # z ~ N(0, I), from the library's generator

    return noise


def _write_json(path, value):
    temporary = path + ".tmp"
    with open(temporary, "w") as file:
        json.dump(value, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)


def _expect(condition, name, value, expected):
    if not condition:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")


def _is_int(value):
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


__all__ = ["FILES", "IMAGE_DATASETS", "IMAGE_FILES", "TrainConfig", "build", "draw_run",
           "evaluate", "sample", "save_samples", "train", "write_history_csv"]
