"""One update of a variational autoencoder: the encoder and the decoder descend the negative
ELBO together (there is no game; compare ``train_step`` in ``tinygan/gan/step.py``).

    x -> encoder -> (mu, log sigma^2) -> z = mu + sigma * eps -> decoder -> logits l
    loss = -ELBO = -log p(x | z) + KL(q(z|x) || N(0, I))      (``F.negative_elbo``)

One backward pass reaches every weight: the decoder's through l, the encoder's through z, which
the reparameterisation (``tinygan.models.vae.reparameterize``) made a differentiable function of
mu and sigma, and directly through the KL term.
"""

from dataclasses import asdict, dataclass

from .. import functional as F
from ..engine import Tensor
from .step import _params, grad_norm


@dataclass
class VAEStats:
    """One VAE update: loss = reconstruction + kl (nats per image, batch means), the gradient's
    length over all parameters before the step."""

    loss: float
    reconstruction: float
    kl: float
    grad_norm: float

    def as_dict(self):
        return asdict(self)


def vae_step(vae, optimizer, x):
    """One step of ``optimizer`` on the negative ELBO of the batch ``x`` (N, C, H, W) in [-1, 1].

    ``vae(x)`` must return (logits, mu, logvar) (``tinygan.models.VAE``). Returns ``VAEStats``.
    """
    x = x.detach() if isinstance(x, Tensor) else Tensor(x)
    logits, mu, logvar = vae(x)  # z = mu + sigma * eps inside: one sample per image
    loss = F.negative_elbo(logits, x, mu, logvar)  # reconstruction + KL, mean over the batch
    optimizer.zero_grad()
    loss.backward()
    norm = grad_norm(_params(optimizer))
    optimizer.step()
    kl = F.gaussian_kl(mu.detach(), logvar.detach()).item()  # the KL part alone, for the record
    return VAEStats(loss=loss.item(), reconstruction=loss.item() - kl, kl=kl, grad_norm=norm)
