"""The VAE and CycleGAN: the reparameterisation's gradient, model shapes, a few training steps
changing every parameter, the cycle loss of an inverse pair, the domain pairs, exact resume of
``fit_models``, and command-line runs on tiny subsets writing every promised file."""

import json
import os

import numpy as np
import pytest

import tinygan as tg
from tinygan import optim, runs
from tinygan.cli import main
from tinygan.datasets import BatchIterator
from tinygan.datasets.domains import CHANGES, change_images, to_classifier_view
from tinygan.gan import (
    VAEStats,
    cycle_consistency_loss,
    cycle_step,
    fit_models,
    vae_step,
)
from tinygan.model_runs import CYCLEGAN_FILES, VAE_FILES
from tinygan.models import VAE, PatchDiscriminator, ResnetGenerator, cyclegan, reparameterize


def images(rng, n=8):
    return rng.uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32)


# --------------------------------------------------------------------------------- VAE


def test_reparameterisation_lets_the_gradient_reach_mu_and_sigma():
    mu = tg.tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    logvar = tg.tensor(np.array([[0.2, -0.4, 1.0]]), requires_grad=True)
    z = reparameterize(mu, logvar)
    z.sum().backward()
    sigma = np.exp(0.5 * logvar.data)
    eps = (z.data - mu.data) / sigma  # the noise that was drawn
    np.testing.assert_allclose(mu.grad, np.ones((1, 3)))  # dz/dmu = 1
    np.testing.assert_allclose(logvar.grad, 0.5 * sigma * eps)  # dz/dlogvar = sigma eps / 2
    assert np.all(eps != 0)


def test_reparameterisation_gradchecks_with_the_noise_held_fixed(rng):
    mu, logvar = (tg.tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(2))

    def sample(m, v):
        tg.manual_seed(7)  # the same eps at every evaluation: z is a function of (mu, logvar)
        return reparameterize(m, v)

    assert tg.gradcheck(sample, [mu, logvar])


def test_vae_shapes_and_the_decoder_is_a_generator(rng):
    vae = VAE(latent_dim=5)
    x = images(rng, 4)
    logits, mu, logvar = vae(x)
    assert logits.shape == (4, 1, 28, 28) and mu.shape == logvar.shape == (4, 5)
    assert vae.reconstruct(x).shape == (4, 1, 28, 28)
    drawn = vae.decoder(tg.randn(3, 5))
    assert drawn.shape == (3, 1, 28, 28) and np.abs(drawn.data).max() <= 1
    with pytest.raises(ValueError, match=r"z must have shape \(N, 5\), got \(3, 4\)"):
        vae.decoder(tg.zeros(3, 4))
    with pytest.raises(ValueError, match=r"x must have shape \(N, \*\(1, 28, 28\)\)"):
        vae(tg.zeros(2, 1, 27, 27))


def test_vae_steps_change_every_parameter_and_lower_the_loss(rng):
    vae = VAE(latent_dim=4, base_channels=4)
    optimizer = optim.Adam(vae.parameters(), lr=1e-3)
    x = images(rng, 16)
    before = {name: p.data.copy() for name, p in vae.named_parameters()}
    losses = [vae_step(vae, optimizer, x) for _ in range(5)]
    assert isinstance(losses[0], VAEStats)
    assert losses[0].loss == pytest.approx(losses[0].reconstruction + losses[0].kl, rel=1e-5)
    assert losses[-1].loss < losses[0].loss
    for name, p in vae.named_parameters():
        assert not np.array_equal(p.data, before[name]), name


# ---------------------------------------------------------------------------- CycleGAN


def test_cyclegan_shapes(rng):
    G, F, D_A, D_B = cyclegan(base_channels=4, blocks=1)
    x = images(rng, 2)
    assert G(x).shape == F(x).shape == (2, 1, 28, 28)
    assert np.abs(G(x).data).max() <= 1
    assert D_A(x).shape == D_B(x).shape == (2, 1, 7, 7)  # one score per patch
    assert ResnetGenerator(image_size=16, channels=3, base_channels=2)(
        tg.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    assert PatchDiscriminator(image_size=32, channels=3)(tg.zeros(1, 3, 32, 32)).shape == \
        (1, 1, 8, 8)
    with pytest.raises(ValueError, match="multiple of 4"):
        ResnetGenerator(image_size=30)


def test_cycle_loss_of_an_inverse_pair_is_zero(rng):
    a, b = images(rng, 3), images(rng, 3)
    assert cycle_consistency_loss(lambda x: x, lambda x: x, a, b).item() == 0.0

    def rotate(x):
        return tg.tensor(change_images(x.data, "rotated"))

    def unrotate(x):
        return tg.tensor(to_classifier_view(x.data, "rotated"))

    assert cycle_consistency_loss(rotate, unrotate, a, b).item() == 0.0
    assert cycle_consistency_loss(rotate, rotate, a, b).item() > 0.1  # not each other's inverse


@pytest.mark.parametrize("identity_weight", [0.0, 5.0])
def test_cycle_steps_change_all_four_networks(identity_weight, rng):
    G, F, D_A, D_B = models = cyclegan(base_channels=2, blocks=1)
    opt_G = optim.Adam(list(G.parameters()) + list(F.parameters()), lr=1e-3, betas=(0.5, 0.999))
    opt_D = optim.Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=1e-3,
                       betas=(0.5, 0.999))
    before = [{n: p.data.copy() for n, p in m.named_parameters()} for m in models]
    for _ in range(2):
        stats = cycle_step(G, F, D_A, D_B, opt_G, opt_D, images(rng, 4), images(rng, 4),
                           identity_weight=identity_weight)
    expected = stats.adversarial + 10 * stats.cycle + identity_weight * stats.identity
    assert stats.g_loss == pytest.approx(expected, rel=1e-5)
    assert (stats.identity > 0) == (identity_weight > 0)
    for model, old in zip(models, before):
        for name, p in model.named_parameters():
            assert not np.array_equal(p.data, old[name]), name


def test_without_the_cycle_weight_the_generators_loss_is_adversarial_only(rng):
    G, F, D_A, D_B = cyclegan(base_channels=2, blocks=0)
    opt_G = optim.Adam(list(G.parameters()) + list(F.parameters()))
    opt_D = optim.Adam(list(D_A.parameters()) + list(D_B.parameters()))
    stats = cycle_step(G, F, D_A, D_B, opt_G, opt_D, images(rng, 2), images(rng, 2),
                       cycle_weight=0.0)
    assert stats.cycle > 0 and stats.g_loss == pytest.approx(stats.adversarial, rel=1e-6)


# ------------------------------------------------------------------------- domain pairs


@pytest.mark.parametrize("change", CHANGES)
def test_domain_changes(change, rng):
    x = np.full((2, 1, 6, 6), -1.0, dtype=np.float32)
    x[:, :, 1:4, 2] = 1.0  # a vertical stroke
    changed = change_images(x, change)
    assert changed.shape == x.shape and not np.array_equal(changed, x)
    if change == "thick":
        assert (changed >= x).all() and (changed == 1).sum() > (x == 1).sum()
        np.testing.assert_array_equal(to_classifier_view(changed, change), changed)
    else:
        np.testing.assert_array_equal(to_classifier_view(changed, change), x)
    if change == "rotated":
        np.testing.assert_array_equal(changed[0, 0, 3, 1:4], [1, 1, 1])  # now horizontal


# ---------------------------------------------------------------------- the training loop


def test_fit_models_resumes_exactly(tmp_path, rng):
    data = images(rng, 32)

    def run(steps, resume):
        tg.manual_seed(0)
        batches = BatchIterator(data, batch_size=8)
        vae = VAE(latent_dim=3, base_channels=2)
        opt = optim.Adam(vae.parameters(), lr=1e-3)
        result = fit_models(lambda: vae_step(vae, opt, next(batches)), {"vae": vae},
                            {"vae": opt}, steps, VAEStats.__dataclass_fields__,
                            checkpoint=str(tmp_path / f"{resume}.npz"), resume=resume,
                            iterators={"b": batches}, progress=False)
        return vae, result

    straight, result = run(6, False)
    run(3, True)  # the first 3 steps, checkpointed...
    resumed, resumed_result = run(6, True)  # ...then continued to 6
    assert resumed_result.history["loss"] == result.history["loss"]
    for (name, p), q in zip(straight.named_parameters(), resumed.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


# ------------------------------------------------------------------------- command line

needs_mnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(os.environ.get("TINYGAN_DATA_DIR", "/nonexistent"), "mnist",
                                    "train-images-idx3-ubyte.gz")),
    reason="the MNIST files are not in $TINYGAN_DATA_DIR")


@needs_mnist
def test_vae_run_writes_every_promised_file_and_samples(tmp_path, capsys):
    out = tmp_path / "vae"
    assert main(["train", "--data", "mnist", "--model", "vae", "--subset", "128", "--epochs",
                 "1", "--out", str(out), "--quiet"]) == 0
    for name in VAE_FILES:
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["step"] == 2 and metrics["test"]["negative_elbo"] > 0
    assert metrics["test"]["images"] == 128  # with --subset, as many test images
    assert "-ELBO" in capsys.readouterr().out
    target = tmp_path / "s.npy"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.npz"), "--n", "5", "--out",
                 str(target)]) == 0
    drawn = np.load(target)
    assert drawn.shape == (5, 1, 28, 28) and drawn.dtype == np.float32
    assert drawn.min() >= -1 and drawn.max() <= 1
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].split(",") == ["step", *VAEStats.__dataclass_fields__] and len(history) == 3


@needs_mnist
def test_cyclegan_run_writes_every_promised_file(tmp_path, capsys):
    out = tmp_path / "cycle"
    assert main(["train", "--data", "mnist:rotated", "--model", "cyclegan", "--subset", "64",
                 "--steps", "2", "--base-channels", "2", "--blocks", "1", "--out", str(out),
                 "--quiet"]) == 0
    for name in CYCLEGAN_FILES:
        assert (out / name).stat().st_size > 0, name
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert test["cycle_a"] > 0 and test["images_per_domain"] == 32  # as many as in training
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(out / "checkpoint.npz"), "--out",
                 str(tmp_path / "s.npy")]) == 2
    err = capsys.readouterr().err
    assert "has no prior to sample from" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--data", "ring8", "--model", "vae"], "model: expected dcgan or vae for image data"),
    (["--data", "mnist", "--model", "cyclegan"], "cyclegan for a domain pair"),
    (["--data", "mnist:rotated", "--model", "vae"], "cyclegan for a domain pair"),
    (["--data", "mnist", "--model", "vae", "--loss", "wgan-gp"], "loss: expected elbo"),
    (["--data", "mnist:rotated", "--cycle-weight", "-1"], "cycle_weight: expected a number >= 0"),
    (["--data", "mnist", "--model", "vae", "--conditional", "true"], "conditional: expected false"),
    (["--data", "mnist:spun"], "data: expected one of"),
])
def test_bad_vae_and_cyclegan_settings_give_one_line_and_exit_code_2(argv, message, capsys):
    assert main(["train", *argv, "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_resolved_defaults_of_the_two_models():
    vae = runs.TrainConfig(data="mnist", model="vae", subset=640).validate().resolved()
    assert (vae.loss, vae.lr, vae.z_dim, vae.steps, vae.base_channels) == ("elbo", 1e-3, 16, 50, 32)
    cycle = runs.TrainConfig(data="mnist:thick", subset=640).validate().resolved()
    assert (cycle.model, cycle.loss, cycle.steps, cycle.cycle_weight) == \
        ("cyclegan", "least-squares", 20, 10.0)  # one epoch: 320 images of domain A, batch 16
    assert vae.validate().resolved() == vae  # a stored configuration resolves to itself
