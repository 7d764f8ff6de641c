"""The command line's runs of the two non-GAN models: the VAE on images, CycleGAN on a domain
pair. ``tinygan.runs.train`` hands a resolved ``TrainConfig`` with ``model`` "vae" or "cyclegan"
to ``train_vae`` / ``train_cyclegan``; everything else (the configuration, ``config.json``, the
command line, ``--resume``) is ``runs``'s.

VAE (``--data mnist --model vae``): ``tinygan.models.VAE`` trained by ``gan.vae_step`` in
``gan.fit_models``; writes ``VAE_FILES``: the checkpoint, history.csv, metrics.json (the test
set's negative ELBO in nats; with ``subset`` n, of the first n test images), history.png (the
ELBO curve: -ELBO, its reconstruction and KL parts, the gradient norm), reconstructions.png
(test images beside their reconstructions), samples.png (decoded z ~ N(0, I)),
interpolation.png (decoded straight lines between the codes mu(x) of test images).
``sample_vae`` draws from the prior like ``tinygan sample`` does from a GAN.

CycleGAN (``--data mnist:rotated --model cyclegan``): ``tinygan.models.cyclegan`` trained by
``gan.cycle_step`` on two ``BatchIterator``s, one per domain (``tinygan.datasets.domain_pair``:
the pairing does not exist in the data); writes ``CYCLEGAN_FILES``: translation_a2b.png (rows
a, G(a), F(G(a)) for test images of A), translation_b2a.png (b, F(b), G(F(b))), history.png
(the generators' adversarial and cycle losses, the discriminators' losses and scores),
history.csv, metrics.json (``evaluate_cyclegan`` on 1000 test images per domain, or as many as
domain A has for training with ``subset``) and the checkpoint.
"""

import os
from dataclasses import asdict

import numpy as np

from . import functional as F_
from . import plot
from .autograd import no_grad
from .creation import randn
from .datasets import BatchIterator, domain_pair
from .datasets.domains import split_name, to_classifier_view
from .datasets.mnist import load as load_dataset
from .engine import Tensor
from .gan import CycleStats, VAEStats, cycle_step, fit_models, linear_decay, vae_step
from .gan.fit import sample_generator
from .models import VAE, cyclegan
from .optim import Adam

VAE_FILES = ("config.json", "checkpoint.npz", "history.csv", "metrics.json", "history.png",
             "reconstructions.png", "samples.png", "interpolation.png")
CYCLEGAN_FILES = ("config.json", "checkpoint.npz", "history.csv", "metrics.json", "history.png",
                  "translation_a2b.png", "translation_b2a.png")
EVAL_BATCH = 500


# ----------------------------------------------------------------------------------- VAE


def build_vae(config):
    """The VAE of a resolved configuration and its Adam optimizer."""
    vae = VAE(28, 1, latent_dim=config.z_dim, base_channels=config.base_channels)
    return vae, Adam(vae.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))


def train_vae(config, out, checkpoint, resume, progress, log):
    """A VAE run (see the module docstring); returns the metrics written to metrics.json."""
    images, _ = load_dataset(config.data, "train")
    if config.subset:
        images = images[:config.subset]
    batches = BatchIterator(images, batch_size=config.batch_size)
    vae, optimizer = build_vae(config)
    fixed_z = randn(64, config.z_dim)  # drawn before training: the same z in every run of a seed
    result = fit_models(lambda: vae_step(vae, optimizer, next(batches)), {"vae": vae},
                        {"vae": optimizer}, config.steps, VAEStats.__dataclass_fields__,
                        checkpoint=checkpoint, checkpoint_every=config.checkpoint_every,
                        resume=resume, iterators={"batches": batches},
                        extra={"config": asdict(config)}, progress=progress,
                        batch_size=config.batch_size, show=("loss", "reconstruction", "kl"),
                        lr_schedule=linear_decay(config.steps, config.lr_decay_start))
    test_images, _ = load_dataset(config.data, "test")
    if config.subset:  # a quick run on a subset is measured on as many test images
        test_images = test_images[:max(config.subset, 32)]
    metrics = {"model": "vae", "step": result.step,
               "epochs": result.step / batches.batches_per_epoch,
               "test": negative_elbo_of(vae, test_images)}
    if result.history["step"]:
        metrics["last_100_steps"] = {k: float(np.mean(v[-100:]))
                                     for k, v in result.history.items() if k != "step"}
    _write(out, metrics, result.history, VAEStats.__dataclass_fields__)
    plot.curves_figure(os.path.join(out, "history.png"), result.history, [
        ("-ELBO (nats per image)", [("loss", "-ELBO")]),
        ("its two terms", [("reconstruction", "-log p(x|z)"), ("kl", "KL(q(z|x) || p(z))")]),
        ("gradient norm", [("grad_norm", "|grad|")])])
    inputs = test_images[:32]
    recon = _eval_call(vae.reconstruct, inputs)
    pairs = np.concatenate([np.stack([inputs[r * 8:(r + 1) * 8], recon[r * 8:(r + 1) * 8]])
                            for r in range(4)]).reshape(-1, 1, 28, 28)
    plot.figure(os.path.join(out, "reconstructions.png"),
                lambda ax: plot.image_grid(ax, pairs, nrow=8, title="x (odd rows), "
                                           "dec(mu(x)) (even rows)"), size=5)
    plot.figure(os.path.join(out, "samples.png"),
                lambda ax: plot.image_grid(ax, sample_generator(vae.decoder, fixed_z), nrow=8,
                                           title=f"dec(z), z ~ N(0, I), step {result.step}"),
                size=5)
    plot.figure(os.path.join(out, "interpolation.png"),
                lambda ax: plot.image_grid(ax, vae_interpolation(vae, test_images[:8]), nrow=10,
                                           title="dec((1 - t) mu(x0) + t mu(x1)), t = 0 .. 1"),
                size=6)
    log(f"wrote {', '.join(VAE_FILES)} to {out}")
    return metrics


def negative_elbo_of(vae, images, seed=0):
    """The mean over ``images`` of -ELBO (nats per image) and of its two terms, one z ~ q(z|x)
    per image (an unbiased estimate of the ELBO), the VAE in eval mode. The z's come from the
    library generator seeded with ``seed`` (its state is restored afterwards)."""
    from .random import generator, manual_seed

    saved = generator().bit_generator.state
    manual_seed(seed)
    total = {"negative_elbo": 0.0, "reconstruction": 0.0, "kl": 0.0}
    was_training = vae.training
    vae.eval()
    try:
        with no_grad():
            for start in range(0, len(images), EVAL_BATCH):
                x = Tensor(images[start:start + EVAL_BATCH])
                logits, mu, logvar = vae(x)
                loss = F_.negative_elbo(logits, x, mu, logvar, reduction="sum").item()
                kl = F_.gaussian_kl(mu, logvar, reduction="sum").item()
                total["negative_elbo"] += loss
                total["kl"] += kl
                total["reconstruction"] += loss - kl
    finally:
        vae.train(was_training)
        generator().bit_generator.state = saved
    return {name: value / len(images) for name, value in total.items()} | {"images": len(images)}


def vae_interpolation(vae, images, steps=10):
    """len(images) // 2 rows of ``steps`` images decoded along the line from mu(x_2i) to
    mu(x_2i+1)."""
    mu = _eval_call(lambda x: vae.encoder(x)[0], images, module=vae)
    t = np.linspace(0, 1, steps, dtype=np.float32)[None, :, None]
    z = (1 - t) * mu[0::2, None] + t * mu[1::2, None]
    return sample_generator(vae.decoder, z.reshape(-1, mu.shape[1]))


def sample_vae(config, ckpt, n, checkpoint):
    """n images decoded from z ~ N(0, I) by the VAE of a checkpoint (the caller seeds)."""
    vae, _ = build_vae(config)
    try:
        vae.load_state_dict(ckpt["models"]["vae"])
    except (KeyError, RuntimeError) as error:
        raise ValueError(f"{checkpoint}: the VAE's weights do not fit the stored "
                         f"configuration: {error}") from None
    z = randn(int(n), config.z_dim).data
    parts = [sample_generator(vae.decoder, z[i:i + 1000]) for i in range(0, len(z), 1000)]
    return np.concatenate(parts).astype(np.float32)


# ------------------------------------------------------------------------------ CycleGAN


def build_cyclegan(config):
    """(G, F, D_A, D_B, opt_G, opt_D) of a resolved configuration."""
    G, F, D_A, D_B = cyclegan(28, 1, base_channels=config.base_channels, blocks=config.blocks)
    betas = (config.beta1, config.beta2)
    opt_G = Adam(list(G.parameters()) + list(F.parameters()), lr=config.lr, betas=betas)
    opt_D = Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=config.lr, betas=betas)
    return G, F, D_A, D_B, opt_G, opt_D


def train_cyclegan(config, out, checkpoint, resume, progress, log):
    """A CycleGAN run (see the module docstring); returns the metrics written to metrics.json."""
    a_images, _, b_images, _ = domain_pair(config.data, "train", config.subset)
    batches_a = BatchIterator(a_images, batch_size=config.batch_size)
    batches_b = BatchIterator(b_images, batch_size=config.batch_size)
    G, F, D_A, D_B, opt_G, opt_D = build_cyclegan(config)

    def step():
        return cycle_step(G, F, D_A, D_B, opt_G, opt_D, next(batches_a), next(batches_b),
                          config.cycle_weight, config.identity_weight)

    models = {"G": G, "F": F, "D_A": D_A, "D_B": D_B}
    result = fit_models(step, models, {"G": opt_G, "D": opt_D}, config.steps,
                        CycleStats.__dataclass_fields__, checkpoint=checkpoint,
                        checkpoint_every=config.checkpoint_every, resume=resume,
                        iterators={"a": batches_a, "b": batches_b},
                        extra={"config": asdict(config)}, progress=progress,
                        batch_size=config.batch_size, show=("adversarial", "cycle", "d_a_loss"),
                        lr_schedule=linear_decay(config.steps, config.lr_decay_start))
    metrics = {"model": "cyclegan", "step": result.step,
               "epochs": result.step / batches_a.batches_per_epoch,
               "test": evaluate_cyclegan(G, F, config.data, n=min(1000, len(a_images)),
                                         classify=_cached_classifier)}
    if result.history["step"]:
        metrics["last_100_steps"] = {k: float(np.mean(v[-100:]))
                                     for k, v in result.history.items() if k != "step"}
    _write(out, metrics, result.history, CycleStats.__dataclass_fields__)
    plot.curves_figure(os.path.join(out, "history.png"), result.history, [
        ("generators", [("adversarial", "adversarial (LSGAN)"), ("cycle", "cycle L1")]),
        ("discriminators", [("d_a_loss", "D_A loss"), ("d_b_loss", "D_B loss")]),
        ("D's scores", [("d_real", "real"), ("d_fake", "translated")])])
    test_a, _, test_b, _ = domain_pair(config.data, "test")
    for name, x, there, back in (("a2b", test_a[:8], G, F), ("b2a", test_b[:8], F, G)):
        moved = _eval_call(there, x)
        grid = np.concatenate([x, moved, _eval_call(back, moved)])
        label = ("a, G(a), F(G(a))" if name == "a2b" else "b, F(b), G(F(b))")
        plot.figure(os.path.join(out, f"translation_{name}.png"),
                    lambda ax, grid=grid, label=label: plot.image_grid(
                        ax, grid, nrow=8, title=f"rows: {label}, step {result.step}"), size=5)
    log(f"wrote {', '.join(CYCLEGAN_FILES)} to {out}")
    return metrics


def evaluate_cyclegan(G, F, pair, n=None, classify=None):
    """How well G: A -> B and F: B -> A translate the test images of the domain pair ``pair``.

    For the first n test images of each domain (all when n is None):
    - ``cycle_a``, ``cycle_b``: mean |F(G(a)) - a| and |G(F(b)) - b| over pixels (in [-1, 1]
      units; 0 is a perfect return);
    - with ``classify`` (a function data -> (images -> predicted classes) or None):
      ``class_kept_a2b``, the fraction of a's whose translation G(a), seen as the classifier
      sees domain B (``to_classifier_view``), is given a's class; ``class_kept_b2a`` the same
      for F(b); and ``classifier_on_b``, the classifier's accuracy on the real B test images
      (the ceiling of class_kept_a2b: a thick digit is harder to read than a thin one); and,
      for "rotated" and "inverted", ``untranslated_a2b``: the fraction of G(a) the classifier
      reads as a's class *without* undoing B's change; high when G left a as it was instead
      of translating it.
    """
    data, change = split_name(pair)
    a, a_labels, b, b_labels = domain_pair(pair, "test")
    if n is not None:
        a, a_labels, b, b_labels = a[:n], a_labels[:n], b[:n], b_labels[:n]
    fake_b, fake_a = _eval_call(G, a), _eval_call(F, b)
    result = {"images_per_domain": len(a),
              "cycle_a": float(np.abs(_eval_call(F, fake_b) - a).mean()),
              "cycle_b": float(np.abs(_eval_call(G, fake_a) - b).mean())}
    predict = classify(data) if classify is not None else None
    if predict is not None:
        result["class_kept_a2b"] = float((predict(to_classifier_view(fake_b, change))
                                          == a_labels).mean())
        result["class_kept_b2a"] = float((predict(fake_a) == b_labels).mean())
        result["classifier_on_b"] = float((predict(to_classifier_view(b, change))
                                           == b_labels).mean())
        if change != "thick":
            result["untranslated_a2b"] = float((predict(fake_b) == a_labels).mean())
    return result


def quality_classifier(data, train=False):
    """images -> predicted classes by the quality classifier of ``data`` (tinygan.metrics);
    None when it is not cached and ``train`` is False."""
    from .metrics import quality

    try:
        model, _ = quality.classifier(data, train=train, progress=False)
    except FileNotFoundError:
        return None

    def predict(images):
        log_probs, _ = quality.predict(model, np.clip(images, -1, 1).astype(np.float32))
        return log_probs.argmax(axis=1)

    return predict


def _cached_classifier(data):
    return quality_classifier(data, train=False)


# ------------------------------------------------------------------------------- helpers


def _eval_call(function, images, module=None):
    """``function`` of the images (eval mode, no graph, in batches) as a float32 ndarray;
    ``function`` is a Module or a bound method of one (else give its ``module``)."""
    module = module or getattr(function, "__self__", function)
    was_training = module.training
    module.eval()
    try:
        with no_grad():
            parts = [function(Tensor(np.asarray(images[i:i + EVAL_BATCH], dtype=np.float32))).data
                     for i in range(0, len(images), EVAL_BATCH)]
    finally:
        module.train(was_training)
    return np.concatenate(parts).astype(np.float32)


def _write(out, metrics, history, columns):
    from .runs import _write_json, write_history_csv  # runs imports this module: not at the top

    _write_json(os.path.join(out, "metrics.json"), metrics)
    write_history_csv(os.path.join(out, "history.csv"), history, ("step",) + tuple(columns))
