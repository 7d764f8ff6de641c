"""The small networks of the toy GANs: multi-layer perceptrons for G and D.

G(z): z in R^{z_dim} -> hidden layers (ReLU) -> x in R^{data_dim}, linear output.
D(x): x in R^{data_dim} -> hidden layers (LeakyReLU 0.2) -> one logit l(x); D(x) = sigma(l(x)).

``pack`` > 1 makes D a PacGAN discriminator (Lin et al. 2018): it judges ``pack`` samples at
once, concatenated into one input of pack * data_dim numbers, and outputs one logit per pack.
A pack of fakes from a collapsed G contains near-identical points, which real packs never do,
so D can see the lack of diversity that it cannot see one sample at a time.
"""

from .. import nn


class MLPGenerator(nn.Module):
    """G(z) = W_L relu(... relu(W_1 z + b_1) ...) + b_L. Input (N, z_dim), output (N, data_dim)."""

    def __init__(self, z_dim=2, data_dim=2, hidden=128, layers=3):
        super().__init__()
        self.z_dim, self.data_dim = int(z_dim), int(data_dim)
        self.net = _mlp(self.z_dim, hidden, layers, self.data_dim, nn.ReLU)

    def forward(self, z):
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"MLPGenerator: expected z of shape (N, {self.z_dim}), got {z.shape}")
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """l(x): input (N, data_dim), output (N / pack, 1) logits (critic scores for WGAN)."""

    def __init__(self, data_dim=2, hidden=128, layers=3, pack=1):
        super().__init__()
        self.data_dim, self.pack = int(data_dim), int(pack)
        if self.pack < 1:
            raise ValueError(f"MLPDiscriminator: pack must be at least 1, got {pack}")
        self.net = _mlp(self.data_dim * self.pack, hidden, layers, 1,
                        lambda: nn.LeakyReLU(0.2))

    def forward(self, x):
        if x.ndim != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"MLPDiscriminator: expected x of shape (N, {self.data_dim}), "
                             f"got {x.shape}")
        if x.shape[0] % self.pack:
            raise ValueError(f"MLPDiscriminator: a batch of {x.shape[0]} samples cannot be cut "
                             f"into packs of {self.pack}")
        # Row i of the packed batch is samples i*pack .. i*pack + pack - 1, side by side.
        return self.net(x.reshape(x.shape[0] // self.pack, self.pack * self.data_dim))


def _mlp(n_in, hidden, layers, n_out, activation):
    if layers < 1 or hidden < 1:
        raise ValueError(f"an MLP needs at least one hidden layer of at least one unit, got "
                         f"layers={layers}, hidden={hidden}")
    modules, width = [], n_in
    for _ in range(layers):
        modules += [nn.Dense(width, hidden), activation()]
        width = hidden
    modules.append(nn.Dense(width, n_out))
    return nn.Sequential(*modules)
