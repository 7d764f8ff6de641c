"""The layers and losses the VAE and CycleGAN add: instance normalization, reflection padding,
the residual block, L1, the Gaussian KL (closed form against sampling), the negative ELBO and the
least-squares GAN losses. Values against their definitions, first and second derivatives against
central differences (float64), and against PyTorch when it is importable."""

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
from tinygan import nn
from tinygan.gan import least_squares_discriminator_loss, least_squares_generator_loss

try:
    import torch
except ImportError:  # the comparisons with PyTorch are skipped
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def t64(array, grad=True):
    return tg.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------------ instance norm


def test_instance_norm_matches_its_definition_and_gradchecks(rng):
    x = rng.standard_normal((2, 3, 4, 5)) * 3 + 1
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    y = F.instance_norm(t64(x), t64(w), t64(b))
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-5) * w[None, :, None, None] + b[None, :, None, None]
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-12)
    small = [t64(rng.standard_normal((2, 2, 3, 2))), t64(rng.standard_normal(2)),
             t64(rng.standard_normal(2))]
    assert tg.gradcheck(lambda x, w, b: F.instance_norm(x, w, b) ** 2, small)
    assert tg.gradgradcheck(lambda x, w, b: F.instance_norm(x, w, b) ** 2, small)


def test_instance_norm_of_one_image_does_not_depend_on_the_others(rng):
    x = rng.standard_normal((3, 2, 4, 4))
    alone = F.instance_norm(tg.tensor(x[:1])).data
    together = F.instance_norm(tg.tensor(x)).data[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-6)


def test_instance_norm_layer_and_errors():
    layer = nn.InstanceNorm2d(4)
    assert layer.weight is None and list(layer.parameters()) == []
    assert len(list(nn.InstanceNorm2d(4, affine=True).parameters())) == 2
    assert layer(tg.zeros(2, 4, 3, 3)).shape == (2, 4, 3, 3)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4, H, W\), got \(2, 3"):
        layer(tg.zeros(2, 3, 3, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.instance_norm(tg.zeros(2, 3, 1, 1))
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) does not match"):
        F.instance_norm(tg.zeros(2, 3, 2, 2), tg.ones(2))


@needs_torch
def test_instance_norm_matches_torch(rng):
    x, w, b = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal(3), rng.standard_normal(3)
    g = rng.standard_normal((2, 3, 5, 4))
    ours = [t64(x), t64(w), t64(b)]
    (F.instance_norm(*ours) * tg.tensor(g)).sum().backward()
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    out = torch.nn.functional.instance_norm(theirs[0], weight=theirs[1], bias=theirs[2])
    (out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(F.instance_norm(*ours).data, out.detach().numpy(), atol=1e-10)
    for mine, yours in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, yours.grad.numpy(), atol=1e-10)


# -------------------------------------------------------------------- reflection padding


@pytest.mark.parametrize("pads", [1, (2, 1, 0, 3), (0, 0, 1, 0)])
def test_reflection_pad_matches_numpy_and_gradchecks(pads, rng):
    x = rng.standard_normal((2, 2, 4, 5))
    left, right, top, bottom = (pads,) * 4 if isinstance(pads, int) else pads
    expected = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="reflect")
    np.testing.assert_array_equal(F.reflection_pad2d(tg.tensor(x), pads).data, expected)
    xt = t64(rng.standard_normal((1, 2, 4, 5)))
    assert tg.gradcheck(lambda t: F.reflection_pad2d(t, pads) ** 2, [xt])
    assert tg.gradgradcheck(lambda t: F.reflection_pad2d(t, pads) ** 2, [xt])


def test_reflection_pad_sends_a_mirrored_pixel_its_gradient_twice():
    x = t64([[[[1.0, 2.0, 3.0]]]])
    F.reflection_pad2d(x, (1, 1, 0, 0)).sum().backward()  # [2, 1, 2, 3, 2]
    np.testing.assert_array_equal(x.grad, [[[[1.0, 3.0, 1.0]]]])


def test_reflection_pad_layer_and_errors():
    layer = nn.ReflectionPad2d(3)
    assert layer(tg.zeros(2, 1, 28, 28)).shape == (2, 1, 34, 34)
    assert "(3, 3, 3, 3)" in repr(layer)
    with pytest.raises(ValueError, match=r"must be smaller than the input's size \(H, W\) = "
                                         r"\(3, 3\)"):
        F.reflection_pad2d(tg.zeros(1, 1, 3, 3), 3)
    with pytest.raises(ValueError, match="an int or a tuple"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got \(3, 3\)"):
        F.reflection_pad2d(tg.zeros(3, 3), 1)


@needs_torch
def test_reflection_pad_matches_torch(rng):
    x, g = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 3, 8, 9))
    ours = t64(x)
    out = F.reflection_pad2d(ours, (1, 2, 0, 3))
    (out * tg.tensor(g)).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.pad(theirs, (1, 2, 0, 3), mode="reflect")
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_array_equal(out.data, out_t.detach().numpy())
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-12)


# ------------------------------------------------------------------------ residual block


def test_residual_block_keeps_the_shape_and_gradchecks(rng):
    tg.manual_seed(0)
    block = nn.ResidualBlock(2).double()
    x = t64(rng.standard_normal((2, 2, 4, 4)))
    assert block(x).shape == x.shape
    assert tg.gradcheck(lambda x: block(x) ** 2, [x], params=block.parameters())
    zeros = nn.ResidualBlock(2, padding="zeros")
    assert zeros(tg.zeros(1, 2, 5, 5)).shape == (1, 2, 5, 5)
    with pytest.raises(ValueError, match="'reflect' or 'zeros', got 'same'"):
        nn.ResidualBlock(2, padding="same")


@needs_torch
def test_residual_block_matches_torch(rng):
    tg.manual_seed(0)
    ours = nn.ResidualBlock(3).double()

    class TorchBlock(torch.nn.Module):
        def __init__(self, c):
            super().__init__()
            tn = torch.nn
            self.block = tn.Sequential(tn.ReflectionPad2d(1), tn.Conv2d(c, c, 3),
                                       tn.InstanceNorm2d(c), tn.ReLU(), tn.ReflectionPad2d(1),
                                       tn.Conv2d(c, c, 3), tn.InstanceNorm2d(c))

        def forward(self, x):
            return x + self.block(x)

    theirs = TorchBlock(3).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x, g = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 5))
    xo = t64(x)
    out = ours(xo)
    (out * tg.tensor(g)).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    out_t = theirs(xt)
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), atol=1e-10)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, dict(theirs.named_parameters())[name].grad.numpy(),
                                   atol=1e-9, err_msg=name)


# ----------------------------------------------------------------------------------- L1


def test_l1_loss_value_gradient_and_errors(rng):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert F.l1_loss(t64(x), y).item() == pytest.approx(np.abs(x - y).mean())
    assert F.l1_loss(t64(x), y, reduction="sum").item() == pytest.approx(np.abs(x - y).sum())
    assert tg.gradcheck(lambda a: F.l1_loss(a, y), [t64(x)])
    with pytest.raises(ValueError, match=r"target of shape \(4,\) differs from input"):
        F.l1_loss(t64(x), y[0])


@needs_torch
def test_l1_loss_matches_torch(rng):
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    ours = t64(x)
    F.l1_loss(ours, y).backward()
    theirs = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.l1_loss(theirs, torch.tensor(y))
    loss.backward()
    assert F.l1_loss(t64(x), y).item() == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-12)


# --------------------------------------------------------------------------- Gaussian KL


def test_gaussian_kl_closed_form_agrees_with_a_monte_carlo_estimate(rng):
    """KL(q || p) = E_q[log q(z) - log p(z)], estimated with 200,000 draws z ~ q."""
    mu = np.array([[0.5, -1.0, 0.0], [2.0, 0.3, -0.2]])
    logvar = np.array([[0.0, -1.0, 0.7], [-0.5, 0.4, -2.0]])
    closed = F.gaussian_kl(t64(mu), t64(logvar), reduction="none").data
    sigma = np.exp(0.5 * logvar)
    eps = rng.standard_normal((200_000,) + mu.shape)
    z = mu + sigma * eps
    log_q = (-0.5 * eps ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)).sum(axis=-1)
    log_p = (-0.5 * z ** 2 - 0.5 * np.log(2 * np.pi)).sum(axis=-1)
    samples = log_q - log_p
    estimate, error = samples.mean(axis=0), samples.std(axis=0) / np.sqrt(len(samples))
    assert np.all(np.abs(closed - estimate) < 4 * error), (closed, estimate, error)
    assert np.all(closed > 0)


def test_gaussian_kl_is_zero_at_the_prior_and_gradchecks(rng):
    assert F.gaussian_kl(tg.zeros(4, 3), tg.zeros(4, 3)).item() == 0.0
    inputs = [t64(rng.standard_normal((3, 2))), t64(rng.standard_normal((3, 2)))]
    assert tg.gradcheck(lambda m, v: F.gaussian_kl(m, v, reduction="none"), inputs)
    assert tg.gradgradcheck(lambda m, v: F.gaussian_kl(m, v), inputs)
    with pytest.raises(ValueError, match=r"shape \(N, d\), got \(3,\)"):
        F.gaussian_kl(tg.zeros(3), tg.zeros(3))


@needs_torch
def test_gaussian_kl_matches_torch_distributions(rng):
    mu, logvar = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    q = torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar)))
    p = torch.distributions.Normal(torch.zeros(4, 3, dtype=torch.float64),
                                   torch.ones(4, 3, dtype=torch.float64))
    theirs = torch.distributions.kl_divergence(q, p).sum(dim=1).numpy()
    np.testing.assert_allclose(F.gaussian_kl(t64(mu), t64(logvar), reduction="none").data,
                               theirs, rtol=1e-12)


# -------------------------------------------------------------------------- negative ELBO


def test_negative_elbo_is_the_bernoulli_reconstruction_plus_the_kl(rng):
    logits, x = rng.standard_normal((2, 1, 3, 3)), rng.uniform(-1, 1, (2, 1, 3, 3))
    mu, logvar = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    t = (x + 1) / 2
    p = 1 / (1 + np.exp(-logits))
    reconstruction = -(t * np.log(p) + (1 - t) * np.log(1 - p)).reshape(2, -1).sum(axis=1)
    kl = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum(axis=1)
    got = F.negative_elbo(t64(logits), x, t64(mu), t64(logvar), reduction="none").data
    np.testing.assert_allclose(got, reconstruction + kl, rtol=1e-12)
    inputs = [t64(logits), t64(mu), t64(logvar)]
    assert tg.gradcheck(lambda l, m, v: F.negative_elbo(l, x, m, v), inputs)
    with pytest.raises(ValueError, match="must share N"):
        F.negative_elbo(t64(logits), x, t64(mu[:1]), t64(logvar[:1]))


@needs_torch
def test_negative_elbo_matches_torch(rng):
    logits, x = rng.standard_normal((3, 1, 4, 4)), rng.uniform(-1, 1, (3, 1, 4, 4))
    mu, logvar = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    ours = [t64(logits), t64(mu), t64(logvar)]
    loss = F.negative_elbo(ours[0], x, ours[1], ours[2])
    loss.backward()
    lt, mt, vt = (torch.tensor(v, requires_grad=True) for v in (logits, mu, logvar))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        lt, torch.tensor((x + 1) / 2), reduction="sum")
    theirs = (bce - 0.5 * (1 + vt - mt ** 2 - vt.exp()).sum()) / 3
    theirs.backward()
    assert loss.item() == pytest.approx(theirs.item(), rel=1e-12)
    for mine, yours in zip(ours, (lt, mt, vt)):
        np.testing.assert_allclose(mine.grad, yours.grad.numpy(), atol=1e-12)


# ------------------------------------------------------------------ least-squares GAN losses


def test_least_squares_losses_and_their_targets(rng):
    real, fake = rng.standard_normal((4, 1, 3, 3)), rng.standard_normal((4, 1, 3, 3))
    d = least_squares_discriminator_loss(t64(real), t64(fake)).item()
    assert d == pytest.approx(0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean()))
    assert least_squares_generator_loss(t64(fake)).item() == pytest.approx(((fake - 1) ** 2).mean())
    assert least_squares_discriminator_loss(tg.ones(3), tg.zeros(3)).item() == 0.0
    assert least_squares_generator_loss(tg.ones(3)).item() == 0.0
    assert tg.gradcheck(least_squares_discriminator_loss, [t64(real), t64(fake)])
