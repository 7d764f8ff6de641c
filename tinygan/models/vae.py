"""The variational autoencoder (Kingma & Welling 2014): "the other family" of generative models,
trained by maximising a lower bound on the likelihood instead of playing a game.

The model. A latent z ~ p(z) = N(0, I) (d numbers) is decoded into an image; each pixel of x is
Bernoulli with probability sigma(l_i), l = dec(z) the decoder's logits. The likelihood
p(x) = E_{p(z)}[p(x|z)] cannot be computed, so an encoder proposes, for each x, a Gaussian
q(z|x) = N(mu(x), diag sigma(x)^2) over the z that could have made it, and the two networks are
trained together on the evidence lower bound

    log p(x) >= ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || p(z))

(``tinygan.functional.negative_elbo`` is its negative, the loss; its KL term is in closed form,
``gaussian_kl``). The first term asks the decoder to reconstruct x from the encoder's code; the
second keeps the codes close to the prior, so that decoding z ~ N(0, I) gives images too.

Shapes (MNIST, B = ``base_channels`` = 32, d = ``latent_dim`` = 16):

    encoder:  x (N, 1, 28, 28) -> Conv 4x4/2 -> (N, B, 14, 14) -> Conv 4x4/2 -> (N, 2B, 7, 7)
              -> Flatten -> Dense -> (N, 2d), split into mu (N, d) and logvar = log sigma^2 (N, d)
    decoder:  z (N, d) -> Dense -> (N, 2B, 7, 7) -> ConvT 4x4/2 -> (N, B, 14, 14)
              -> ConvT 4x4/2 -> (N, 1, 28, 28) logits l

The decoder is the DCGAN generator's layer stack (``tinygan.models.dcgan.Generator``: a Dense
projection, batch norm and ReLU, stride-2 transposed convolutions) without its final tanh: its
output is the Bernoulli logits, and the image it stands for, the mean 2 sigma(l) - 1 =
tanh(l / 2) in [-1, 1], is what ``Decoder.forward`` returns. So ``vae.decoder`` is used exactly
like a GAN's generator: ``vae.decoder(z)`` draws images from the prior's z.
"""

from .. import nn
from ..creation import randn_like
from ..engine import as_tensor


class Encoder(nn.Module):
    """q(z|x): images (N, C, S, S) -> (mu, logvar), each (N, latent_dim)."""

    def __init__(self, image_size=28, channels=1, latent_dim=16, base_channels=32):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"Encoder: image_size must be a multiple of 4, got {image_size}")
        self.image_shape = (int(channels), image_size, image_size)
        self.latent_dim = int(latent_dim)
        s = image_size // 4
        self.net = nn.Sequential(
            nn.Conv2d(channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(base_channels, 2 * base_channels, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Dense(2 * base_channels * s * s, 2 * self.latent_dim))

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"Encoder: x must have shape (N, *{self.image_shape}), got "
                             f"{tuple(x.shape)}")
        out = self.net(x)
        d = self.latent_dim
        return out[:, :d], out[:, d:]  # mu, log sigma^2


class Decoder(nn.Module):
    """p(x|z): latents (N, latent_dim) -> Bernoulli logits (``logits``) or images (``forward``)."""

    def __init__(self, image_size=28, channels=1, latent_dim=16, base_channels=32):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"Decoder: image_size must be a multiple of 4, got {image_size}")
        self.image_shape = (int(channels), image_size, image_size)
        self.latent_dim = int(latent_dim)
        s, width = image_size // 4, 2 * base_channels
        self.net = nn.Sequential(
            nn.Dense(self.latent_dim, width * s * s, bias=False), nn.Unflatten(1, (width, s, s)),
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, base_channels, 4, 2, 1, bias=False),
            nn.BatchNorm2d(base_channels), nn.ReLU(),
            nn.ConvTranspose2d(base_channels, channels, 4, 2, 1))

    def logits(self, z):
        """l = dec(z), (N, C, S, S): pixel i is 1 with probability sigma(l_i)."""
        z = as_tensor(z)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Decoder: z must have shape (N, {self.latent_dim}), got "
                             f"{tuple(z.shape)}")
        return self.net(z)

    def forward(self, z):
        """The mean image 2 sigma(l) - 1 = tanh(l / 2), in [-1, 1] like a GAN generator's."""
        return (self.logits(z) * 0.5).tanh()


class VAE(nn.Module):
    """Encoder and decoder; ``vae(x)`` returns (logits, mu, logvar) for the loss
    ``F.negative_elbo(logits, x, mu, logvar)``."""

    def __init__(self, image_size=28, channels=1, latent_dim=16, base_channels=32):
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.encoder = Encoder(image_size, channels, latent_dim, base_channels)
        self.decoder = Decoder(image_size, channels, latent_dim, base_channels)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        return self.decoder.logits(z), mu, logvar

    def reconstruct(self, x):
        """The mean image decoded from the code's mean mu(x) (no sampling): what the VAE keeps
        of x."""
        mu, _ = self.encoder(x)
        return self.decoder(mu)


def reparameterize(mu, logvar):
    """z ~ N(mu, diag sigma^2), drawn as z = mu + sigma * eps with eps ~ N(0, I).

    Why this form: the loss is an expectation over z ~ q(z|x), and q depends on the encoder's
    weights. Drawing z directly from N(mu, sigma^2) would be a random number with no derivative
    with respect to mu or sigma. Written as a fixed random eps, drawn independently of the
    weights, pushed through a differentiable function of (mu, sigma), the sample *is* a function
    of the weights:

        dz/dmu = 1,    dz/dsigma = eps,    so  dL/dmu = dL/dz,  dL/dsigma = dL/dz * eps,

    and backpropagation reaches the encoder through both mu and sigma. eps is a constant of the
    graph (a leaf that requires no gradient), which is what "the randomness is moved out of the
    way of the gradient" means. sigma = exp(logvar / 2) keeps it positive.
    """
    sigma = (logvar * 0.5).exp()  # sigma = sqrt(exp(log sigma^2))
    eps = randn_like(sigma)  # N(0, I), from the library's generator: no gradient
    return mu + sigma * eps
