"""The losses of the GAN game, written from D's logits.

The lecture's game is

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

D(x) = sigma(l(x)) is the discriminator's probability that x is real and l(x) its logit, the
number the network outputs (no sigmoid layer). Every loss below is a *minimisation* target, one
per player, written as an average over the batch (the expectations' Monte-Carlo estimates):

    variant          D minimises                                  G minimises
    "minimax"        -E_x[log D(x)] - E_z[log(1 - D(G(z)))]       E_z[log(1 - D(G(z)))]
    "nonsaturating"  (the same)                                   -E_z[log D(G(z))]
    "wasserstein"    E_z[f(G(z))] - E_x[f(x)]                     -E_z[f(G(z))]
    "wgan-gp"        E_z[f(G(z))] - E_x[f(x)] + lambda E[(|grad f(x^)| - 1)^2]   -E_z[f(G(z))]

D's loss in the first two rows is -V(D, G): binary cross-entropy with label 1 for real data and
label 0 for fakes (see ``tinygan/functional/losses.py``). The "minimax" G loss is +V's second
term, exactly the game; it *saturates*: early in training D rejects fakes confidently, D(G(z))
is near 0, and log(1 - D(G(z))) is flat there, so G gets almost no gradient. The
"nonsaturating" loss of Goodfellow et al. (2014) has the same fixed point but a strong gradient
exactly where the minimax one is weak: G is trained as BCE(D(G(z)), label 1).

In the Wasserstein rows f is a *critic*: the same network, its output read as a real-valued
score, not a logit (Arjovsky et al. 2017). E_x[f(x)] - E_z[f(G(z))] estimates the Wasserstein-1
distance when f is 1-Lipschitz; WGAN keeps f Lipschitz by clipping its weights, WGAN-GP
(Gulrajani et al. 2017) by the gradient penalty below.

The logs are evaluated stably from the logit: log D(x) = log sigma(l) = ``l.logsigmoid()`` and
log(1 - D(x)) = log sigma(-l) = ``(-l).logsigmoid()``; both stay finite for |l| = 1000.

CycleGAN uses the least-squares losses (Mao et al. 2017) instead, on D's scores:
``least_squares_discriminator_loss`` and ``least_squares_generator_loss``.
"""


from ..engine import Tensor
from ..gradients import grad
from ..random import generator

LOSSES = ("minimax", "nonsaturating", "wasserstein", "wgan-gp")


def check_loss(loss):
    """``loss`` itself when it names a known variant, else a ValueError listing them."""
    if loss not in LOSSES:
        raise ValueError(f"unknown GAN loss {loss!r}; expected one of {', '.join(LOSSES)}")
    return loss


def is_wasserstein(loss):
    """True for the critic-based variants, whose D output is a score, not a logit."""
    return check_loss(loss) in ("wasserstein", "wgan-gp")


def discriminator_loss(real_out, fake_out, loss="nonsaturating"):
    """D's loss for one batch, without the gradient penalty.

    Args:
        real_out: D's outputs on real data, l(x) (logits) or f(x) (critic), shape (N, 1) or (N,).
        fake_out: D's outputs on fakes, l(G(z)) or f(G(z)), shape (M, 1) or (M,).
        loss: one of ``LOSSES``.

    Returns a scalar Tensor:
        BCE variants:         -mean log D(x) - mean log(1 - D(G(z)))
        Wasserstein variants:  mean f(G(z)) - mean f(x)
    """
    if is_wasserstein(loss):
        return fake_out.mean() - real_out.mean()
    log_d_real = real_out.logsigmoid()  # log D(x)         = log sigma(l)
    log_not_d_fake = (-fake_out).logsigmoid()  # log(1 - D(G(z))) = log sigma(-l)
    return -log_d_real.mean() - log_not_d_fake.mean()


def generator_loss(fake_out, loss="nonsaturating"):
    """G's loss for one batch, from D's outputs on fakes (computed with D as it is *now*).

    Args:
        fake_out: l(G(z)) (logits) or f(G(z)) (critic scores), shape (M, 1) or (M,).
        loss: one of ``LOSSES``.

    Returns a scalar Tensor:
        "minimax":        mean log(1 - D(G(z)))   (G descends V itself; saturates)
        "nonsaturating": -mean log D(G(z))        (the default)
        Wasserstein:     -mean f(G(z))
    """
    if check_loss(loss) == "minimax":
        return (-fake_out).logsigmoid().mean()  # log(1 - D(G(z))) = log sigma(-l)
    if loss == "nonsaturating":
        return -fake_out.logsigmoid().mean()  # -log D(G(z)) = -log sigma(l)
    return -fake_out.mean()


def least_squares_discriminator_loss(real_out, fake_out):
    """The least-squares GAN's D loss (Mao et al. 2017), CycleGAN's adversarial loss for D:

        1/2 E_x[(D(x) - 1)^2] + 1/2 E_z[D(G(z))^2]

    D's outputs are scores (no sigmoid), any shape: one per image or, for a PatchGAN, one per
    patch (the mean runs over all of them). Real data is pushed towards 1, fakes towards 0. The
    1/2 (Zhu et al.'s choice) slows D relative to G.
    """
    return 0.5 * (((real_out - 1) ** 2).mean() + (fake_out ** 2).mean())


def least_squares_generator_loss(fake_out):
    """The least-squares GAN's G loss: E_z[(D(G(z)) - 1)^2], the fakes' scores pushed towards 1.

    Unlike -log D(G(z)) it does not go flat for fakes D scores far on the "real" side, and its
    gradient grows with the distance from the target (2 (D(G(z)) - 1)): fakes far from the real
    data are moved the most, which is what makes it stable enough for CycleGAN.
    """
    return ((fake_out - 1) ** 2).mean()


def gradient_penalty(D, real, fake, labels=None, weight=10.0):
    """WGAN-GP's penalty  lambda * E_x^[(||grad_x^ f(x^)||_2 - 1)^2]  on random interpolates.

    Args:
        D: the critic f (a callable: ``D(x)``, or ``D(x, labels)`` for a conditional critic).
        real: real batch x, shape (N, ...).
        fake: generated batch G(z), shape (N, ...) — pass it detached (D's step).
        labels: class labels for a conditional critic, or None.
        weight: lambda (10 in Gulrajani et al. 2017).

    x^ = eps x + (1 - eps) G(z) with **one** eps ~ U[0, 1] per example (shape (N, 1, ..., 1),
    broadcast over that example's coordinates), not one per pixel: the penalty asks the critic's
    gradient to have norm 1 along the segments between real and fake samples. The gradient
    grad_x^ f(x^) is itself computed with ``tinygan.grad(..., create_graph=True)``, so the
    penalty can be differentiated once more with respect to D's weights (double backward).
    """
    real = real if isinstance(real, Tensor) else Tensor(real)
    fake = fake if isinstance(fake, Tensor) else Tensor(fake)
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real batch of shape {real.shape} and fake batch of "
                         f"shape {fake.shape} differ; interpolation needs equal shapes")
    eps = Tensor(generator().random((real.shape[0],) + (1,) * (real.ndim - 1)).astype(real.dtype))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).detach().requires_grad_()
    scores = D(x_hat) if labels is None else D(x_hat, labels)
    (g,) = grad(scores.sum(), x_hat, create_graph=True)  # one row per example: d f(x^_i)/d x^_i
    norms = smooth_norm(g.reshape(g.shape[0], -1), axis=1)  # ||grad f(x^_i)||_2, shape (N,)
    return weight * ((norms - 1) ** 2).mean()


def smooth_norm(v, axis, eps=1e-12):
    """sqrt(sum v^2 + eps) along ``axis``: the Euclidean norm, differentiable at v = 0.

    d||v||/dv = v / ||v|| is 0/0 at v = 0 (a critic that is flat at x^): the plain norm's
    backward gives NaN there and the NaN spreads into every weight. With eps = 1e-12 under the
    square root a norm n becomes sqrt(n^2 + eps) ~ n + eps / (2n): off by 5e-13 relative at
    n = 1, where the penalty wants the norm, and by 1e-6 absolute at n = 0. The derivative
    v / sqrt(|v|^2 + eps) is exactly 0 at v = 0 (tested in tests/test_gan.py).
    """
    return ((v * v).sum(axis=axis) + eps).sqrt()

