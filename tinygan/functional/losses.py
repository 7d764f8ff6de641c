"""Loss functions: binary cross-entropy (the GAN losses), cross-entropy of class logits (a
classifier's), mean squared error, mean absolute error (CycleGAN's cycle loss), and the
variational autoencoder's: the closed-form KL divergence of a diagonal Gaussian from N(0, I) and
the negative ELBO.

Where binary cross-entropy comes from. The GAN game of the lecture is

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

D(x) in (0, 1) is the discriminator's probability that x is real. For a fixed G, D maximises V,
i.e. minimises -V. Write every sample with a label y (y = 1 for a real x, y = 0 for a fake
G(z)); the two expectations become one average over labelled samples of

    -y log D(x) - (1 - y) log(1 - D(x))

which is exactly the binary cross-entropy between the label y and the prediction D(x): a real
sample contributes -log D(x), a fake one -log(1 - D(x)). So D's update is ordinary logistic
regression on real-vs-fake. G is trained with the same function: the "non-saturating" generator
loss of the GAN paper is BCE(D(G(z)), y = 1), i.e. -log D(G(z)).

Why the logits form. A discriminator's last layer outputs a logit l, and D = sigma(l). Computing
sigma(l) first and then log(sigma(l)) fails for large |l|: in float32, sigma(-104) rounds to 0 and
its log to -inf; sigma(17) rounds to 1 and log(1 - sigma) to -inf. The identities

    log sigma(l)     = -softplus(-l) = -log(1 + e^-l)
    log(1 - sigma(l)) = log sigma(-l) = -softplus(l)

compute the same numbers without ever forming sigma(l); softplus(u) = log(1 + e^u) is evaluated
as logaddexp(0, u), which is finite for every u (about u for large u, about e^u for very negative
u). Their derivatives, d/dl log sigma(l) = sigma(-l), are bounded by 1 — so even a logit of 1000
gives a finite loss (1000 for a wrong answer) and a gradient of size 1, not NaN.
``binary_cross_entropy_with_logits`` uses them; prefer it to ``sigmoid`` + ``binary_cross_entropy``.

Every loss takes ``reduction``: "mean" (the default: average over all elements), "sum", or "none"
(the elementwise losses, in the input's shape). The target must have the input's shape (or be a
number); unlike PyTorch, ``mse_loss`` refuses to broadcast a differently shaped target instead of
warning, because (N, 1) against (N,) silently computes an (N, N) loss.
"""

import numpy as np

from ..engine import Tensor, record
from .activations import log_softmax

_REDUCTIONS = ("mean", "sum", "none")

# PyTorch clamps log(p) at -100 in binary_cross_entropy, so p = 0 or 1 gives a finite loss; its
# gradient divides by max(p (1 - p), 1e-12) instead of p (1 - p) for the same reason.
_LOG_CLAMP = -100.0
_GRAD_EPS = 1e-12
_TINY = float(np.exp(_LOG_CLAMP))  # clip(p, min=e^-100).log() is max(log p, -100)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """BCE on probabilities: mean over elements of -w [y log p + (1 - y) log(1 - p)].

    Args:
        input: Tensor of probabilities p in [0, 1] (e.g. the output of a sigmoid), any shape.
        target: labels y in [0, 1] of the same shape (Tensor, ndarray or number).
        weight: optional rescaling w of each element, broadcast against the input.
        reduction: "mean", "sum" or "none".

    log p and log(1 - p) are clamped at -100, so p = 0 or 1 gives a finite loss (as PyTorch).
    Inputs and targets outside [0, 1] (or NaN) are errors, as in PyTorch: a target of 2 would
    otherwise give a *negative* loss that training would happily drive to -infinity.
    """
    _check_reduction(reduction)
    _check_input("binary_cross_entropy", input)
    target = _target_like(target, input, "binary_cross_entropy")
    _check_probabilities("binary_cross_entropy", "input", input,
                         " (for logits use binary_cross_entropy_with_logits)")
    _check_probabilities("binary_cross_entropy", "target", target, "")
    return _reduce(_weighted(_bce(input, target), weight), reduction)


def _bce(p, y):
    """-[y log p + (1 - y) log(1 - p)] elementwise, each log clamped at -100.

    Its derivative in p, -y/p + (1 - y)/(1 - p), is written over one denominator,
    (p - y) / (p (1 - p)), with the denominator kept >= 1e-12 as PyTorch does: then p = y = 1
    (a confident, correct prediction) has gradient 0, not -1 + 0 * 1e12. The backward uses only
    ops that work on ndarrays and on Tensors, so it can be differentiated again.
    """

    with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped
        log_p = np.maximum(np.log(p.data), _LOG_CLAMP)
        log_not_p = np.maximum(np.log(1 - p.data), _LOG_CLAMP)
    data = -(y.data * log_p + (1 - y.data) * log_not_p)
    needs_y = y.requires_grad

    def backward(g, out, p_, y_):
        grad_p = g * (p_ - y_) / (p_ * (1 - p_)).clip(min=_GRAD_EPS)
        grad_y = None
        if needs_y:  # d/dy = log(1 - p) - log p, clamped like the loss
            grad_y = g * (_log((1 - p_).clip(min=_TINY)) - _log(p_.clip(min=_TINY)))
        return grad_p, grad_y

    return record(data.astype(p.dtype, copy=False), (p, y), backward, "bce")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on logits l, computed stably: -w [pos_weight y log sigma(l) + (1 - y) log sigma(-l)].

    Args:
        input: Tensor of logits l (any real numbers), any shape.
        target: labels y in [0, 1] of the same shape (Tensor, ndarray or number).
        weight: optional rescaling of each element, broadcast against the input.
        reduction: "mean", "sum" or "none".
        pos_weight: optional weight of the positive (y = 1) term, broadcast against the input
            (per class along the last axis in PyTorch's examples).

    log sigma(l) is the engine's ``logsigmoid``, -softplus(-l): finite for |l| = 1000 and beyond
    (see the module docstring).
    """
    _check_reduction(reduction)
    _check_input("binary_cross_entropy_with_logits", input)
    target = _target_like(target, input, "binary_cross_entropy_with_logits")
    positive = target * input.logsigmoid()  # y log sigma(l)
    if pos_weight is not None:
        positive = positive * _as_constant(pos_weight, input)
    loss = -(positive + (1 - target) * (-input).logsigmoid())  # log(1 - sigma(l)) = log sigma(-l)
    return _reduce(_weighted(loss, weight), reduction)


def cross_entropy(input, target, reduction="mean"):
    """Cross-entropy of class logits: mean over samples of -log p(y_n | x_n).

    Args:
        input: Tensor of logits (N, K): p(k | x_n) = softmax(input[n])_k.
        target: class numbers y_n in 0..K-1, integer array-like of shape (N,).
        reduction: "mean", "sum" or "none" (the (N,) per-sample losses).

    -log p(y | x) = -log_softmax(input)[n, y_n], stable for any logits (see ``log_softmax``).
    """
    _check_reduction(reduction)
    if input.ndim != 2:
        raise ValueError(f"cross_entropy: input must be logits of shape (N, K), got {input.shape}")
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if labels.dtype.kind not in "iu" or labels.shape != input.shape[:1]:
        raise ValueError(f"cross_entropy: target must be integer class numbers of shape "
                         f"({input.shape[0]},), got {labels.dtype} of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= input.shape[1]):
        raise ValueError(f"cross_entropy: target classes must lie in 0..{input.shape[1] - 1}, got "
                         f"values from {labels.min()} to {labels.max()}")
    log_p = log_softmax(input, axis=1)
    return _reduce(-log_p[np.arange(len(labels)), labels], reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error: mean over elements of (x - y)^2. Shapes must match."""
    _check_reduction(reduction)
    _check_input("mse_loss", input)
    target = _target_like(target, input, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error: mean over elements of |x - y|. Shapes must match.

    CycleGAN's cycle-consistency loss ||F(G(a)) - a||_1 (Zhu et al. 2017): the L1 norm rather
    than the squared error, because it penalises small differences as much as large ones and so
    does not blur the reconstruction towards an average. Its derivative is sign(x - y), taken as
    0 where x = y (as PyTorch's).
    """
    _check_reduction(reduction)
    _check_input("l1_loss", input)
    target = _target_like(target, input, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def gaussian_kl(mu, logvar, reduction="mean"):
    """KL(N(mu, diag sigma^2) || N(0, I)) in closed form, summed over the latent dimensions.

    Args:
        mu: Tensor (N, d), the means of q(z|x) for N inputs.
        logvar: Tensor (N, d), log sigma^2 (the log variance, any real number).
        reduction: "mean" (over the N inputs, default), "sum", or "none" (the (N,) values).

    For one input, with sigma_j^2 = exp(logvar_j),

        KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)           (nats)

    (Kingma & Welling 2014, Appendix B). Each term is >= 0 and is 0 exactly at mu_j = 0,
    sigma_j = 1: the KL pulls every posterior towards the prior. Writing it with log sigma^2
    keeps sigma^2 = exp(logvar) positive whatever the encoder outputs.
    """
    _check_reduction(reduction)
    _check_input("gaussian_kl", mu)
    logvar = _target_like(logvar, mu, "gaussian_kl")
    if mu.ndim != 2:
        raise ValueError(f"gaussian_kl: mu and logvar must have shape (N, d), got {mu.shape}")
    kl = 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(axis=1)  # (N,)
    return _reduce(kl, reduction)


def negative_elbo(logits, x, mu, logvar, reduction="mean"):
    """The VAE's loss: -ELBO = reconstruction + KL, in nats per image (lower is better).

    Args:
        logits: Tensor (N, C, H, W), the decoder's Bernoulli logits l = dec(z) for z ~ q(z|x).
        x: images (N, C, H, W) with pixels in [-1, 1] (the data's scale); the Bernoulli target
            of pixel i is t_i = (x_i + 1) / 2 in [0, 1].
        mu, logvar: Tensors (N, d), the encoder's q(z|x) = N(mu, diag exp(logvar)).
        reduction: "mean" over the N images (default), "sum", or "none" ((N,) values).

    For one image x, with the evidence lower bound

        log p(x) >= ELBO = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || N(0, I)),

    the loss is

        -ELBO = sum_i -[t_i log sigma(l_i) + (1 - t_i) log sigma(-l_i)]   (reconstruction)
                + 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)     (``gaussian_kl``)

    The reconstruction expectation is estimated with the one z the logits were decoded from
    (one sample, as Kingma & Welling's minibatch estimator). log p(x|z) is the Bernoulli
    log-likelihood of each pixel (the usual choice for MNIST); MNIST's pixels are grey levels,
    mostly 0 or 1, so it is the binary cross-entropy with soft targets, computed from logits
    with ``binary_cross_entropy_with_logits`` (stable for any l). The decoder's mean image in
    [-1, 1] is 2 sigma(l) - 1 = tanh(l / 2).
    """
    _check_reduction(reduction)
    _check_input("negative_elbo", logits)
    target = (_target_like(x, logits, "negative_elbo") + 1) * 0.5  # pixels in [0, 1]
    if logits.ndim < 2 or mu.ndim != 2 or mu.shape[0] != logits.shape[0]:
        raise ValueError(f"negative_elbo: logits (N, ...) and mu (N, d) must share N, got "
                         f"logits {logits.shape} and mu {mu.shape}")
    pixels = binary_cross_entropy_with_logits(logits, target, reduction="none")
    reconstruction = pixels.reshape(logits.shape[0], -1).sum(axis=1)  # (N,): -log p(x|z)
    return _reduce(reconstruction + gaussian_kl(mu, logvar, reduction="none"), reduction)


# ------------------------------------------------------------------------------- helpers


def _log(value):
    return value.log() if isinstance(value, Tensor) else np.log(value)


def _target_like(target, input, name):
    """The target as a Tensor of the input's dtype; its shape must match (a number is fine)."""
    if isinstance(target, int | float):
        return Tensor(np.asarray(target, dtype=input.dtype))
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=input.dtype))
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: target of shape {target.shape} differs from input of shape {input.shape} "
            "(reshape one of them, e.g. target.reshape(input.shape))"
        )
    return target


def _check_input(name, input):
    """The input of a loss is the Tensor the gradient flows into; an ndarray has no graph."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor (the prediction, e.g. a model's "
                        f"output), got {type(input).__name__}; wrap data in tinygan.tensor(...)")


def _check_probabilities(name, what, tensor, hint):
    """Every value in [0, 1]. Written as "not (min >= 0 and max <= 1)" so NaN fails too."""
    values = tensor.data
    if values.size and not (values.min() >= 0 and values.max() <= 1):
        nan = " (it contains NaN)" if np.isnan(values).any() else ""
        raise ValueError(f"{name}: every {what} must be a probability in [0, 1], got values "
                         f"from {np.nanmin(values):.4g} to {np.nanmax(values):.4g}{nan}{hint}")


def _as_constant(value, like):
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=like.dtype))


def _weighted(loss, weight):
    return loss if weight is None else loss * _as_constant(weight, loss)


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
