"""One round of the GAN game: Step 1 trains D, Step 2 trains G.

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]

The counterfeiter (G) and the cop (D) take turns. In Step 1 the cop studies a batch of real
notes and a batch of counterfeits made by the counterfeiter *as he is now*, and gets better at
telling them apart; the counterfeiter does not learn from this. In Step 2 the counterfeiter
looks at how the *improved* cop judges his counterfeits and changes his method to fool him;
the cop does not learn from this. ``train_step`` is that round; ``d_step`` and ``g_step`` are
its two halves, usable on their own (a lesson can run Step 1 alone to train D to optimality).

A real batch is an array or Tensor x of shape (N, ...), or a pair (x, y) with class labels y
of shape (N,) for a conditional GAN: then the players are called as G(z, y) and D(x, y), and
the fakes of a step are drawn for the labels of that step's real batch.

InfoGAN (Chen et al. 2016; a D built with ``codes=K``, see ``tinygan.models.dcgan``): the fakes
are G(z, c) with a code c drawn uniformly from {0, ..., K-1} (no label), and both losses get

    lambda L_I = lambda E[-log Q(c | G(z, c))]        (lambda = INFO_WEIGHT = 1, the paper's),

a bound on the mutual information I(c; G(z, c)) from below. In Step 1 it trains Q (D's second
head) to read c from a fake; in Step 2 it trains G to write c so that it can be read. So G gives
each value of c a kind of image of its own, and stops drawing the in-between shapes that a
continuous z alone slides through when it moves from one kind to another.
"""

from dataclasses import asdict, dataclass

import numpy as np

from ..autograd import no_grad
from ..engine import Tensor
from ..functional import cross_entropy
from ..nn import frozen
from ..random import generator
from .losses import discriminator_loss, generator_loss, gradient_penalty, is_wasserstein

# Weight clipping of the original WGAN critic (Arjovsky et al. 2017, Algorithm 1: c = 0.01).
WGAN_CLIP = 0.01
# The gradient penalty's weight lambda (Gulrajani et al. 2017, Algorithm 1).
WGAN_GP_WEIGHT = 10.0
# InfoGAN's lambda, the weight of the mutual-information term for a categorical code (Chen et
# al. 2016: lambda = 1 for discrete codes).
INFO_WEIGHT = 1.0


@dataclass
class StepStats:
    """The game's numbers for one round (one G update after ``d_steps`` D updates).

    d_loss, g_loss: the two players' losses (D's averaged over its d_steps updates; for
        "wgan-gp" D's loss includes the penalty, reported alone in ``penalty``).
    d_real: mean D(x) over the real batch (a probability; the critic's mean f(x) for the
        Wasserstein losses).
    d_fake: mean D(G(z)) as D saw the fakes in Step 1, *before* its update.
    d_fake_after: mean D(G(z)) in Step 2, computed again with the *updated* D.
    d_grad_norm, g_grad_norm: ||dL_D/d theta_D|| and ||dL_G/d theta_G|| over all parameters
        of that player, before its optimizer step (last D update for D).
    penalty: the gradient penalty term ("wgan-gp"), else 0.
    info: InfoGAN's lambda L_I in G's step (included in g_loss; D's is in d_loss), else 0.
    """

    d_loss: float
    g_loss: float
    d_real: float
    d_fake: float
    d_fake_after: float
    d_grad_norm: float
    g_grad_norm: float
    penalty: float = 0.0
    info: float = 0.0

    def as_dict(self):
        return asdict(self)


def train_step(G, D, opt_G, opt_D, batches, noise, loss="nonsaturating", d_steps=1):
    """One round of the game: ``d_steps`` updates of D, then one update of G.

    Args:
        G, D: the generator and the discriminator (Modules; D outputs logits, or critic scores
            for the Wasserstein losses).
        opt_G, opt_D: their optimizers (each holds only its own player's parameters).
        batches: an iterator of real batches: each D update takes a fresh one with ``next``.
        noise: a function n -> z, shape (n, ...), drawing fresh noise (e.g.
            ``lambda n: tinygan.randn(n, 2)``).
        loss: "minimax", "nonsaturating" (default), "wasserstein" or "wgan-gp"
            (see ``tinygan.gan.losses``).
        d_steps: k, the number of D updates per G update (Goodfellow et al.'s Algorithm 1;
            n_critic = 5 for the Wasserstein losses).

    Returns a ``StepStats``.
    """
    if d_steps < 1:
        raise ValueError(f"train_step: d_steps must be at least 1, got {d_steps}")
    d_stats = []
    codes = getattr(D, "codes", 0)  # InfoGAN: c takes K = codes values (0: no code)
    for _ in range(d_steps):  # Step 1, k times: each on a fresh real batch and fresh z
        real = next(batches)
        x, labels = _unpack(real)
        z = noise(x.shape[0])
        c = generator().integers(0, codes, x.shape[0]) if codes else None  # c ~ Uniform{0..K-1}
        fake = _generate(G, z, labels if c is None else c)  # G(z), recorded: Step 2 reuses it
        d_stats.append(d_step(D, opt_D, real, fake, loss, codes=c))
    g_stats = g_step(D, opt_G, fake, labels, loss, codes=c)  # Step 2
    return StepStats(
        d_loss=float(np.mean([s["d_loss"] for s in d_stats])),
        g_loss=g_stats["g_loss"],
        d_real=d_stats[-1]["d_real"],
        d_fake=d_stats[-1]["d_fake"],
        d_fake_after=g_stats["d_fake_after"],
        d_grad_norm=d_stats[-1]["d_grad_norm"],
        g_grad_norm=g_stats["g_grad_norm"],
        penalty=float(np.mean([s["penalty"] for s in d_stats])),
        info=g_stats["info"],
    )


def d_step(D, opt_D, real, fake, loss="nonsaturating", codes=None):
    """Step 1: one update of D on a real batch and a batch of fakes from the current G.

    ``fake`` is G(z) (a Tensor, possibly still attached to G's graph); for InfoGAN, G(z, c) with
    ``codes`` = c (N,). Returns a dict with d_loss, d_real, d_fake, d_grad_norm and penalty.
    """
    x, y = _unpack(real)
    # .detach(): D's loss must not send gradients into G. Without it, backward() would fill
    # G's .grad with dL_D/d theta_G — the gradient of the *cop's* objective — and a later G
    # step that forgot zero_grad() would follow it. Here the counterfeiter stands still.
    fake = fake.detach()
    real_out = _judge(D, x, y)  # l(x): D's logit (or critic score) on real data
    fake_out, info_loss = _judge_fakes(D, fake, y, codes)  # l(G(z)); "real" = 1, "fake" = 0
    d_loss = discriminator_loss(real_out, fake_out, loss)  # -log D(x) - log(1 - D(G(z)))
    if info_loss is not None:  # InfoGAN: Q learns to read c from a fake
        d_loss = d_loss + info_loss
    penalty = 0.0
    if loss == "wgan-gp":
        gp = gradient_penalty(D, x, fake, labels=y, weight=WGAN_GP_WEIGHT)
        penalty = gp.item()
        d_loss = d_loss + gp
    opt_D.zero_grad()
    d_loss.backward()
    d_grad_norm = grad_norm(_params(opt_D))
    opt_D.step()
    if loss == "wasserstein":
        clip_weights(_params(opt_D), WGAN_CLIP)
    return {
        "d_loss": d_loss.item(),
        "d_real": _mean_output(real_out, loss),
        "d_fake": _mean_output(fake_out, loss),
        "d_grad_norm": d_grad_norm,
        "penalty": penalty,
    }


def g_step(D, opt_G, fake, labels=None, loss="nonsaturating", codes=None):
    """Step 2: one update of G, through the discriminator as it is *after* Step 1.

    ``fake`` is G(z) with its graph (not detached: G's gradient flows back through it); for
    InfoGAN, G(z, c) with ``codes`` = c. D(G(z)) is computed *again* here: the D outputs of
    Step 1 were computed with D's old weights, and G must beat the cop it will face next, not
    the one before his lesson. Returns a dict with g_loss, d_fake_after, g_grad_norm and info.
    """
    # The cop does not learn in Step 2, so D's weights are frozen while G's loss is computed
    # and differentiated: the gradient flows *through* D to G(z), but dL_G/d theta_D is never
    # computed (it would only be thrown away: opt_G holds G's weights alone, and D's next
    # step starts with zero_grad()). That skips D's weight gradients, about half of the
    # backward work through D in this step (tests/test_gan.py checks D's .grad is untouched).
    with frozen(D):
        fake_out, info_loss = _judge_fakes(D, fake, labels, codes)  # with D's updated weights
        g_loss = generator_loss(fake_out, loss)  # -log D(G(z)) by default
        info = 0.0
        if info_loss is not None:  # InfoGAN: G learns to write c so that Q can read it
            info = info_loss.item()
            g_loss = g_loss + info_loss
        opt_G.zero_grad()
        g_loss.backward()
    g_grad_norm = grad_norm(_params(opt_G))
    opt_G.step()  # only G moves: opt_G holds G's parameters alone
    return {
        "g_loss": g_loss.item(),
        "d_fake_after": _mean_output(fake_out, loss),
        "g_grad_norm": g_grad_norm,
        "info": info,
    }


def grad_norm(params):
    """sqrt(sum over parameters of sum(p.grad^2)): the length of the whole gradient vector.
    Parameters without a gradient count as 0."""
    total = 0.0
    for p in params:
        if p.grad is not None:
            g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
            total += _sum_of_squares(g)
    return total ** 0.5


def _sum_of_squares(g):
    """sum(g^2), written as np.einsum rather than np.vdot(g, g): vdot is BLAS's dot product,
    which OpenBLAS runs on a thread pool of its own, and those threads keep spinning after it
    returns, taking the cores from the compiled kernels' OpenMP threads. Measured on a step of
    the default image recipe on 2 threads (``python benchmarks/bench_dcgan.py --recipe``, idle
    2-core Xeon): 203 ms with vdot, 163 ms with einsum (or with OPENBLAS_NUM_THREADS=1)."""
    flat = g.ravel()
    return float(np.einsum("i,i->", flat, flat))


def clip_weights(params, c):
    """The original WGAN's Lipschitz constraint: every weight clipped to [-c, c] after D's step.
    (The array is replaced, not written into, as the optimizers do.)"""
    with no_grad():
        for p in params:
            p.data = np.clip(p.data, -c, c)


# ------------------------------------------------------------------------------- helpers


def _unpack(real):
    """(x, y) for a labelled batch, (x, None) for an unlabelled one; x as a Tensor cut from any
    graph: the real data are data, the game never computes a gradient for them."""
    x, y = real if isinstance(real, tuple) else (real, None)
    return (x.detach() if isinstance(x, Tensor) else Tensor(x)), y


def _generate(G, z, y):
    return G(z) if y is None else G(z, y)


def _judge(D, x, y):
    return D(x) if y is None else D(x, y)


def _judge_fakes(D, fake, labels, codes):
    """(D's output on the fakes, InfoGAN's lambda L_I = lambda E[-log Q(c | G(z, c))] or None
    without a code); with a code both come from one pass through D's shared layers."""
    if codes is None:
        return _judge(D, fake, labels), None
    fake_out, code_logits = D.judge_and_decode(fake)
    return fake_out, INFO_WEIGHT * cross_entropy(code_logits, codes)


def _params(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def _mean_output(out, loss):
    """mean D(x) = mean sigma(l) for the BCE losses; the critic's mean score otherwise."""
    values = out.data
    if not is_wasserstein(loss):
        values = 0.5 * (1 + np.tanh(0.5 * values))  # sigma(l), without overflow for large |l|
    return float(values.mean())
