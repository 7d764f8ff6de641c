"""Toy data sets that need no download: the distributions p_data of the lectures' small GANs.

Every sampler draws from the library's one generator, so ``tinygan.manual_seed(n)`` fixes the
data too. Samples are float32 arrays of shape (n, d): d = 1 for the 1-D mixtures, d = 2 else.

- ``ring8()`` and ``grid25()``: the two mixtures of ``../shared/PROTOCOLS.md`` (8 Gaussians of
  standard deviation 0.01 on the unit circle; 25 of standard deviation 0.05 on {-4,-2,0,2,4}^2),
  on which mode collapse is measured (``tinygan.metrics.mode_coverage``);
- ``mixture_1d(means, std, weights)``: a 1-D Gaussian mixture with a density, for the 1-D
  pictures of Goodfellow et al. (2014), Figure 1;
- ``spiral()``, ``moons()``, ``annulus()``: 2-D shapes that are not mixtures.

``make(name)`` builds one by its name (``TOY_DATASETS``) and ``batches(data, n)`` yields fresh
batches from it forever, the iterator ``tinygan.gan.train_step`` takes.
"""

import math

import numpy as np

from ..engine import Tensor
from ..random import generator


class Mixture:
    """An equal-weight (or ``weights``-weighted) mixture of isotropic Gaussians in d dimensions.

    p(x) = sum_k w_k N(x; mu_k, std^2 I).   means: (K, d); std: a number; weights: (K,).
    """

    def __init__(self, name, means, std, weights=None):
        self.name = name
        self.means = np.asarray(means, dtype=np.float64)
        if self.means.ndim != 2:
            raise ValueError(f"{name}: means must have shape (K, d), got {self.means.shape}")
        if not std > 0:
            raise ValueError(f"{name}: std must be positive, got {std}")
        self.std = float(std)
        k = len(self.means)
        weights = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, np.float64)
        if weights.shape != (k,) or (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
            raise ValueError(f"{name}: weights must be {k} non-negative numbers summing to 1, "
                             f"got {weights.tolist()}")
        self.weights = weights
        self.dim = self.means.shape[1]

    def sample(self, n):
        """n samples, shape (n, d), float32: pick a component k ~ w, then x = mu_k + std * e."""
        rng = generator()
        component = rng.choice(len(self.means), size=int(n), p=self.weights)
        noise = rng.standard_normal((int(n), self.dim))
        return (self.means[component] + self.std * noise).astype(np.float32)

    def density(self, x):
        """p(x) at points x of shape (n, d) (or (n,) for d = 1), as a float64 array (n,)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        squared = ((x[:, None, :] - self.means[None, :, :]) ** 2).sum(axis=2)  # (n, K)
        normaliser = (2 * math.pi * self.std ** 2) ** (self.dim / 2)
        return (np.exp(-squared / (2 * self.std ** 2)) / normaliser) @ self.weights

    def __repr__(self):
        return f"Mixture({self.name!r}, {len(self.means)} components, std={self.std})"


class Shape2D:
    """A 2-D distribution given by a sampler (no density): spiral, moons, annulus."""

    def __init__(self, name, sampler):
        self.name = name
        self.dim = 2
        self._sampler = sampler

    def sample(self, n):
        """n samples, shape (n, 2), float32."""
        return self._sampler(int(n), generator()).astype(np.float32)

    def __repr__(self):
        return f"Shape2D({self.name!r})"


def ring8():
    """8 Gaussians, equal weights, means (cos 2 pi k/8, sin 2 pi k/8), k = 0..7, std 0.01.

    The angles are 2 pi k / 8 for k = 0..7 — not ``linspace(0, 2 pi, 8)``, whose first and last
    points coincide and leave 7 modes."""
    angles = 2 * math.pi * np.arange(8) / 8
    return Mixture("ring8", np.stack([np.cos(angles), np.sin(angles)], axis=1), std=0.01)


def grid25():
    """25 Gaussians, equal weights, means {-4, -2, 0, 2, 4}^2, std 0.05."""
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    means = np.array([(a, b) for a in axis for b in axis])
    return Mixture("grid25", means, std=0.05)


def mixture_1d(means=(-2.0, 2.0), std=0.5, weights=None, name="mixture1d"):
    """A 1-D Gaussian mixture: p(x) = sum_k w_k N(x; mu_k, std^2)."""
    return Mixture(name, np.asarray(means, dtype=np.float64).reshape(-1, 1), std, weights)


def spiral(turns=1.5, noise=0.05):
    """Points along the spiral r = theta / (2 pi turns), theta in [0, 2 pi turns], plus noise."""

    def sample(n, rng):
        t = np.sqrt(rng.random(n))  # sqrt: uniform density along the arc, not in theta
        theta = 2 * math.pi * turns * t
        points = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
        return points + noise * rng.standard_normal((n, 2))

    return Shape2D("spiral", sample)


def moons(noise=0.05):
    """Two interleaved half circles (radius 1, centres (0, 0) and (1, -0.5)), plus noise."""

    def sample(n, rng):
        upper = rng.random(n) < 0.5
        theta = math.pi * rng.random(n)
        x = np.where(upper, np.cos(theta), 1 - np.cos(theta))
        y = np.where(upper, np.sin(theta), 0.5 - np.sin(theta)) - 0.25
        return np.stack([x - 0.5, y], axis=1) + noise * rng.standard_normal((n, 2))

    return Shape2D("moons", sample)


def annulus(inner=0.5, outer=1.0):
    """Uniform on the ring inner <= |x| <= outer: a disc with a hole, which a continuous G must
    wrap around."""

    def sample(n, rng):
        r = np.sqrt(rng.uniform(inner ** 2, outer ** 2, n))  # uniform in area
        theta = 2 * math.pi * rng.random(n)
        return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

    return Shape2D("annulus", sample)


TOY_DATASETS = {
    "ring8": ring8,
    "grid25": grid25,
    "mixture1d": mixture_1d,
    "spiral": spiral,
    "moons": moons,
    "annulus": annulus,
}


def make(name):
    """The toy data set called ``name`` (one of ``TOY_DATASETS``)."""
    if name not in TOY_DATASETS:
        raise ValueError(f"unknown toy data set {name!r}; expected one of "
                         f"{', '.join(TOY_DATASETS)}")
    return TOY_DATASETS[name]()


def batches(data, batch_size):
    """Fresh batches from ``data`` forever: each ``next`` draws batch_size new samples (Tensor
    of shape (batch_size, d)). A toy distribution is sampled, not iterated: no epochs."""
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be at least 1, got {batch_size}")
    while True:
        yield Tensor(data.sample(batch_size))
