"""DCGAN (Radford, Metz & Chintala 2016): convolutional generator and discriminator for images.

The architecture guidelines of the paper, each followed here:

- no pooling: the discriminator down-samples with strided convolutions (Conv2d, stride 2) and the
  generator up-samples with transposed convolutions (ConvTranspose2d, stride 2);
- batch norm in both players, except at the generator's output and the discriminator's input;
- no hidden fully connected layers: G's first layer projects z to a small stack of feature maps
  (a Dense layer, reshaped), D's last layer maps the flattened feature maps to one number
  (``hidden=H`` breaks this guideline on purpose: see Generator; ``tinygan train``'s MNIST recipe
  does, because with a net this small it measurably pays: runs.IMAGE_DENSE);
- ReLU in the generator with tanh at its output (images in [-1, 1]); LeakyReLU with slope 0.2 in
  the discriminator;
- weights initialised N(0, 0.02^2) (``dcgan_init_``); trained with Adam, lr 2e-4, beta1 = 0.5.

Shapes. An image of size S = s 2^k is built from an s x s start (k doublings; the largest k with
s >= 4, s at most 7): 28 = 7 * 2^2, 64 = 4 * 2^4. With B = ``base_channels``,

    G(z):  z (N, latent_dim) -> Dense -> (N, B 2^(k-1), s, s) -> ... -> (N, 2B, S/4, S/4)
           -> (N, B, S/2, S/2) -> (N, channels, S, S) in [-1, 1]
    D(x):  x (N, channels, S, S) -> (N, B, S/2, S/2) -> (N, 2B, S/4, S/4) -> ...
           -> (N, B 2^(k-1), s, s) -> Flatten -> Dense -> (N,) logits

MNIST (S = 28, channels 1, B = 64, latent_dim 100): G 100 -> 7x7x128 -> 14x14x64 -> 28x28x1, D
28x28x1 -> 14x14x64 -> 7x7x128 -> 1, the common PyTorch MNIST DCGAN. Radford's LSUN model is
S = 64, channels 3, B = 128: G 100 -> 4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64x3.

D returns logits l (D(x) = sigma(l) is the probability that x is real): pair it with
``F.binary_cross_entropy_with_logits``, which is stable where sigma(l) rounds to 0 or 1.

Conditional variants (Mirza & Osindero 2014), ``num_classes=K``: the class y in 0..K-1 is an
input of both players. G(z, y) concatenates a learned embedding e_G(y) (K numbers) to z; D(x, y)
appends a learned embedding e_D(y) (S*S numbers) to x as one more image channel. A conditional
generator then draws an image of the class it is asked for.

InfoGAN (Chen et al. 2016), ``codes=K``: the same G(z, c), but the code c is drawn at random, not
taken from a label, and D has a second head Q(c|x) that must recover c from G(z, c). No label is
used; G learns to give each value of c its own kind of image (on MNIST: mostly its own digit).
"""


from .. import nn
from ..engine import Tensor, as_tensor, concatenate
from ..nn import init


def dcgan_init_(module):
    """The DCGAN paper's initialisation, applied to every sub-module of ``module``.

    "All weights were initialized from a zero-centered Normal distribution with standard
    deviation 0.02": Conv2d, ConvTranspose2d and Dense weights ~ N(0, 0.02^2); BatchNorm
    weights (gamma) ~ N(1, 0.02^2) so each starts near the identity; every bias is 0.
    (Embedding tables keep their N(0, 1) initialisation; a SpectralNorm layer restarts its
    estimate of sigma for the new weight.) Returns the module.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Dense):
            init.normal_(layer.weight, 0.0, 0.02)
        elif isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d) and layer.weight is not None:
            init.normal_(layer.weight, 1.0, 0.02)
        else:
            continue
        if layer.bias is not None:
            init.zeros_(layer.bias)
    for layer in module.modules():  # new weights: a new estimate of their sigma
        if isinstance(layer, nn.SpectralNorm):
            layer.reset_estimate()
    return module


def start_size(image_size):
    """(s, k) with image_size = s 2^k: k as large as possible with s >= 4; s must be <= 7."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8:
        raise ValueError(f"DCGAN: image_size must be an int >= 8, got {image_size!r}")
    s, k = image_size, 0
    while s % 2 == 0 and s // 2 >= 4:
        s, k = s // 2, k + 1
    if s > 7:
        raise ValueError(f"DCGAN: image_size must be s * 2^k with 4 <= s <= 7 (28 = 7*4, "
                         f"64 = 4*16), got {image_size} = {s} * 2^{k}")
    return s, k


class Generator(nn.Module):
    """G(z) (or G(z, y) with ``num_classes``): noise (N, latent_dim) -> images (N, C, S, S).

    ``hidden=H`` > 0 puts a hidden Dense layer of H units (batch norm, ReLU) before the
    projection to the s x s feature maps, as InfoGAN's MNIST generator does (H = 1024): then
    G(z) is not an affine map of z followed by convolutions, and it can turn a small step in z
    into the switch from one digit to another instead of a blend of the two.
    """

    def __init__(self, image_size=28, channels=1, latent_dim=100, base_channels=64,
                 num_classes=None, hidden=0):
        super().__init__()
        s, k = start_size(image_size)
        self.image_shape = (int(channels), image_size, image_size)
        self.latent_dim, self.num_classes = int(latent_dim), num_classes
        width = base_channels * 2 ** (k - 1)  # channels of the s x s start
        inputs = self.latent_dim
        if num_classes is not None:
            self.label_embedding = nn.Embedding(num_classes, num_classes)
            inputs += num_classes
        layers = []
        if hidden:
            layers += [nn.Dense(inputs, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()]
            inputs = hidden
        layers += [nn.Dense(inputs, width * s * s, bias=False), nn.Unflatten(1, (width, s, s)),
                   nn.BatchNorm2d(width), nn.ReLU()]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU()]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z, y=None):
        z = as_tensor(z)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"Generator: z must have shape (N, {self.latent_dim}), got "
                             f"{tuple(z.shape)}")
        z = _with_label(self, z, y, "z")
        return self.net(z)


class Discriminator(nn.Module):
    """D(x) (or D(x, y) with ``num_classes``): images (N, C, S, S) -> logits (N / pack,).

    ``pack`` > 1 is PacGAN (Lin et al. 2018): D judges ``pack`` samples at once, stacked along
    the channel axis, so it can see that a batch of fakes lacks the variety of real data (a
    generator that repeats a few digits is caught even when each digit looks real).

    ``spectral_norm=True`` (Miyato et al. 2018) wraps every Conv2d and the Dense in
    ``nn.SpectralNorm`` (weight W / sigma(W)) and drops D's batch norm, as the SN-GAN's
    "standard CNN" does: each layer is then 1-Lipschitz, so D cannot turn so steep that the
    gradient it hands G explodes or vanishes.

    ``codes=K`` > 0 is InfoGAN's discriminator (Chen et al. 2016): beside D(x) it has a second
    head Q(c|x), logits over K values of a categorical code c, on the same features phi(x)
    (``judge_and_decode``). G(z, c) draws c at random, and both players are also trained to make
    c recoverable from G(z, c): no label is used, yet G learns to give each value of c one kind
    of image (see ``tinygan.gan.step``).

    ``hidden=H`` > 0 adds a hidden Dense layer of H units (batch norm, LeakyReLU) between the
    flattened feature maps and the output, as InfoGAN's MNIST discriminator does (H = 1024).
    """

    def __init__(self, image_size=28, channels=1, base_channels=64, num_classes=None, pack=1,
                 spectral_norm=False, codes=0, hidden=0):
        super().__init__()
        s, k = start_size(image_size)
        self.image_shape = (int(channels), image_size, image_size)
        self.num_classes = num_classes
        if isinstance(pack, bool) or not isinstance(pack, int) or pack < 1:
            raise ValueError(f"Discriminator: pack must be an int >= 1, got {pack!r}")
        self.pack = pack
        inputs = int(channels)
        if num_classes is not None:
            self.label_embedding = nn.Embedding(num_classes, image_size * image_size)
            inputs += 1
        self.spectral_norm = bool(spectral_norm)
        lipschitz = nn.SpectralNorm if spectral_norm else (lambda layer: layer)
        width = base_channels
        layers = [lipschitz(nn.Conv2d(inputs * pack, width, 4, 2, 1)), nn.LeakyReLU(0.2)]
        for _ in range(k - 1):
            if spectral_norm:
                layers += [lipschitz(nn.Conv2d(width, width * 2, 4, 2, 1)), nn.LeakyReLU(0.2)]
            else:
                layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                           nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2)]
            width *= 2
        layers += [nn.Flatten()]
        features = width * s * s
        if hidden:
            if spectral_norm:
                layers += [lipschitz(nn.Dense(features, hidden)), nn.LeakyReLU(0.2)]
            else:
                layers += [nn.Dense(features, hidden, bias=False), nn.BatchNorm1d(hidden),
                           nn.LeakyReLU(0.2)]
            features = hidden
        layers += [lipschitz(nn.Dense(features, 1))]
        self.net = nn.Sequential(*layers)
        if isinstance(codes, bool) or not isinstance(codes, int) or codes < 0:
            raise ValueError(f"Discriminator: codes must be an int >= 0, got {codes!r}")
        if codes and (pack > 1 or num_classes is not None):
            raise ValueError("Discriminator: codes (InfoGAN) work with pack = 1 and no "
                             f"num_classes, got pack = {pack}, num_classes = {num_classes}")
        self.codes = codes
        if codes:  # Q(c|x): phi(x) -> 128 -> K logits (InfoGAN's Q: one hidden layer)
            self.code_head = nn.Sequential(nn.Dense(features, 128), nn.LeakyReLU(0.2),
                                           nn.Dense(128, codes))
        dcgan_init_(self)

    def forward(self, x, y=None):
        return self.net[-1](self._features(x, y)).reshape(-1)

    def judge_and_decode(self, x):
        """InfoGAN (``codes=K``): (D's logits (N,), Q's code logits (N, K)) for images x, both
        from one pass through the shared layers: phi(x) = net[:-1](x), D = net[-1](phi(x)),
        Q = code_head(phi(x))."""
        if not self.codes:
            raise ValueError("Discriminator.judge_and_decode: this D has no code head; build it "
                             "with codes=K (InfoGAN)")
        features = self._features(x)
        return self.net[-1](features).reshape(-1), self.code_head(features)

    def _features(self, x, y=None):
        """phi(x): every layer of ``net`` but the last Dense, after the checks, the label
        channel (conditional) and the packing (PacGAN)."""
        x = as_tensor(x)
        if tuple(x.shape[1:]) != self.image_shape or x.ndim != 4:
            raise ValueError(f"Discriminator: x must have shape (N, *{self.image_shape}), got "
                             f"{tuple(x.shape)}")
        if x.shape[0] % self.pack:
            raise ValueError(f"Discriminator: a batch of {x.shape[0]} images cannot be cut into "
                             f"packs of {self.pack}")
        x = _with_label(self, x, y, "x")
        if self.pack > 1:  # images i*pack .. i*pack + pack - 1 side by side as channels
            n, c, h, w = x.shape
            x = x.reshape(n // self.pack, self.pack * c, h, w)
        for layer in list(self.net)[:-1]:
            x = layer(x)
        return x


def _with_label(model, input, y, name):
    """The input with the label's embedding appended (conditional models), or the input as it is.

    Generator: z (N, latent_dim) -> (N, latent_dim + K); Discriminator: x (N, C, S, S) ->
    (N, C + 1, S, S).
    """
    who = type(model).__name__
    if model.num_classes is None:
        if y is not None:
            raise ValueError(f"{who}: this model is unconditional; call it as {who[0]}({name}) "
                             "without a label (or build it with num_classes=K)")
        return input
    if y is None:
        raise ValueError(f"{who}: this model is conditional ({model.num_classes} classes); "
                         f"call it as {who[0]}({name}, y) with integer labels y of shape (N,)")
    labels = y.data if isinstance(y, Tensor) else y
    if getattr(labels, "shape", None) != (input.shape[0],):
        raise ValueError(f"{who}: labels y must have shape ({input.shape[0]},), got "
                         f"{getattr(labels, 'shape', type(labels).__name__)}")
    code = model.label_embedding(labels)
    if input.ndim == 4:  # one more image channel
        code = code.reshape(input.shape[0], 1, *input.shape[2:])
    return concatenate([input, code.astype(input.dtype)], axis=1)


def dcgan(image_size=28, channels=1, latent_dim=100, base_channels=64, num_classes=None,
          pack=1, spectral_norm=False, codes=0, hidden=0):
    """(G, D): a DCGAN generator and discriminator for ``image_size`` x ``image_size`` images of
    ``channels`` channels, initialised N(0, 0.02); conditional on K classes with
    ``num_classes=K``; D judging ``pack`` images at once (PacGAN) with ``pack`` > 1; D
    spectrally normalised without batch norm with ``spectral_norm=True``; InfoGAN with
    ``codes=K``: G(z, c) with a categorical code c of K values and D with its Q head; a hidden
    Dense layer of ``hidden`` units in each player with ``hidden`` > 0 (InfoGAN's 1024)."""
    G = Generator(image_size, channels, latent_dim, base_channels, num_classes or codes or None,
                  hidden)
    return G, Discriminator(image_size, channels, base_channels, num_classes, pack, spectral_norm,
                            codes, hidden)
