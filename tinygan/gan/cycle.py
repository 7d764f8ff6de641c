"""One CycleGAN update (Zhu et al. 2017): the two translators, then the two discriminators.

Domains A and B, generators G: A -> B and F: B -> A, discriminators D_A and D_B. The full
objective, minimised by G and F and maximised by the D's, is

    L(G, F, D_A, D_B) = L_GAN(G, D_B) + L_GAN(F, D_A)                          (adversarial)
                        + lambda (||F(G(a)) - a||_1 + ||G(F(b)) - b||_1)        (cycle, lambda=10)
                        + lambda_id (||G(b) - b||_1 + ||F(a) - a||_1)           (identity, optional)

with the least-squares adversarial loss: G minimises E_a[(D_B(G(a)) - 1)^2], D_B minimises
1/2 E_b[(D_B(b) - 1)^2] + 1/2 E_a[D_B(G(a))^2] (``tinygan.gan.losses.least_squares_*``), and the
same for F and D_A. The L1 norms are means over pixels (``F.l1_loss``).

Why the cycle term: the adversarial terms alone only ask that G(a) *look like* some b. Any
mapping of A onto B's distribution does, including one that turns every 3 into a 7. Asking
F(G(a)) = a forces G to keep enough of a to get it back: for digits, which digit it is.

Compared with the plain GAN's ``train_step`` (``tinygan/gan/step.py``): the generators move first
(the reference implementation's order), against the discriminators as they are; then each D
takes a step on real images of its domain and on the translations just made, detached so no
gradient reaches the generators. The paper also keeps a pool of 50 past translations for D; this
update uses the current ones only.
"""

from dataclasses import asdict, dataclass

from .. import functional as F_
from ..engine import Tensor
from ..nn import frozen
from .losses import least_squares_discriminator_loss, least_squares_generator_loss
from .step import _params, grad_norm

# The cycle loss's weight lambda (Zhu et al. 2017, Section 4).
CYCLE_WEIGHT = 10.0


@dataclass
class CycleStats:
    """The numbers of one CycleGAN update.

    g_loss: the generators' total loss (adversarial + lambda cycle + lambda_id identity).
    adversarial: (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2, means over patches.
    cycle: |F(G(a)) - a| + |G(F(b)) - b|, means over pixels (before the weight lambda).
    identity: |G(b) - b| + |F(a) - a| (0 when its weight is 0: not computed).
    d_a_loss, d_b_loss: the discriminators' least-squares losses.
    d_real, d_fake: mean score of D_A and D_B on real images and on the translations (before
        their update); 1 and 0 are the targets.
    g_grad_norm, d_grad_norm: the gradients' lengths over all of G and F's, all of D_A and D_B's
        parameters.
    """

    g_loss: float
    adversarial: float
    cycle: float
    identity: float
    d_a_loss: float
    d_b_loss: float
    d_real: float
    d_fake: float
    g_grad_norm: float
    d_grad_norm: float

    def as_dict(self):
        return asdict(self)


def cycle_step(G, F, D_A, D_B, opt_G, opt_D, real_a, real_b, cycle_weight=CYCLE_WEIGHT,
               identity_weight=0.0):
    """One update of G and F (together, ``opt_G`` holds both), then of D_A and D_B (``opt_D``).

    Args:
        G, F: the translators A -> B and B -> A.
        D_A, D_B: the discriminators of domain A and of domain B (scores, e.g. per patch).
        opt_G, opt_D: optimizers over G's and F's parameters, and over D_A's and D_B's.
        real_a, real_b: a batch of each domain (arrays or Tensors), unrelated to each other.
        cycle_weight: lambda (10); 0 trains two independent GANs, no cycle.
        identity_weight: lambda_id (0: no identity loss; Zhu et al. use 0.5 lambda for photos).

    Returns a ``CycleStats``.
    """
    a, b = _data(real_a), _data(real_b)

    # 1. The translators: fool the discriminators and come back to where they started.
    fake_b, fake_a = G(a), F(b)  # G(a) should look like a B, F(b) like an A
    with frozen(D_A, D_B):  # the D's do not learn here: no gradient for their weights
        adversarial = (least_squares_generator_loss(D_B(fake_b))
                       + least_squares_generator_loss(D_A(fake_a)))
        cycle = F_.l1_loss(F(fake_b), a) + F_.l1_loss(G(fake_a), b)  # a -> B -> a, b -> A -> b
        g_loss = adversarial + cycle_weight * cycle
        identity = 0.0
        if identity_weight:  # a B given to G (an A given to F) should come out unchanged
            identity_term = F_.l1_loss(G(b), b) + F_.l1_loss(F(a), a)
            g_loss = g_loss + identity_weight * identity_term
            identity = identity_term.item()
        opt_G.zero_grad()
        g_loss.backward()
    g_grad_norm = grad_norm(_params(opt_G))
    opt_G.step()

    # 2. The discriminators: real images of their domain -> 1, the translations -> 0.
    # .detach(): D's loss must not reach the generators (see d_step in step.py).
    real_a_out, fake_a_out = D_A(a), D_A(fake_a.detach())
    real_b_out, fake_b_out = D_B(b), D_B(fake_b.detach())
    d_a_loss = least_squares_discriminator_loss(real_a_out, fake_a_out)
    d_b_loss = least_squares_discriminator_loss(real_b_out, fake_b_out)
    opt_D.zero_grad()
    (d_a_loss + d_b_loss).backward()
    d_grad_norm = grad_norm(_params(opt_D))
    opt_D.step()

    return CycleStats(
        g_loss=g_loss.item(), adversarial=adversarial.item(), cycle=cycle.item(),
        identity=identity, d_a_loss=d_a_loss.item(), d_b_loss=d_b_loss.item(),
        d_real=0.5 * float(real_a_out.data.mean() + real_b_out.data.mean()),
        d_fake=0.5 * float(fake_a_out.data.mean() + fake_b_out.data.mean()),
        g_grad_norm=g_grad_norm, d_grad_norm=d_grad_norm)


def cycle_consistency_loss(G, F, a, b):
    """||F(G(a)) - a||_1 + ||G(F(b)) - b||_1 (means over pixels): 0 exactly when F undoes G on
    the a's and G undoes F on the b's."""
    a, b = _data(a), _data(b)
    return F_.l1_loss(F(G(a)), a) + F_.l1_loss(G(F(b)), b)


def _data(x):
    """A batch as a Tensor cut from any graph (real data gets no gradient)."""
    return x.detach() if isinstance(x, Tensor) else Tensor(x)
