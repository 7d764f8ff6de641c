"""The classifier two-sample test: the question a GAN's discriminator asks, asked once, honestly.

Given samples X ~ P and Y ~ Q, is P = Q? Label X with 0 and Y with 1, train a classifier on half
of them and measure its accuracy a on the other half (n_test samples it never saw). If P = Q no
classifier can beat chance on held-out data, so the number of correct answers is
Binomial(n_test, 1/2); if P != Q a good classifier is right more often. The p-value is the
chance of being right at least that often by luck:

    p = P(Binomial(n_test, 1/2) >= n_correct) = 2^-n_test sum_{k >= n_correct} C(n_test, k)

(Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", 2017.) A GAN's D is this
classifier, trained while Q = p_g moves; here it is trained from scratch on fixed samples.
"""

import math
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..autograd import no_grad
from ..engine import Tensor
from ..random import generator


@dataclass
class TwoSampleResult:
    """accuracy on the held-out half; p_value of "P = Q"; n_test held-out samples."""

    accuracy: float
    p_value: float
    n_test: int

    def __str__(self):
        return f"held-out accuracy {self.accuracy:.3f} on {self.n_test}, p = {self.p_value:.3g}"


def classifier_two_sample_test(x, y, hidden=32, steps=500, lr=1e-2):
    """Train a classifier to tell ``x`` (label 0) from ``y`` (label 1); test it on held-out data.

    Args:
        x: (n, d) samples of P (array or Tensor); y: (m, d) samples of Q.
        hidden: width of the classifier's two hidden layers (0: logistic regression).
        steps: full-batch Adam steps on the training half.
        lr: Adam's learning rate.

    Both sets are shuffled and split in halves with the library's generator; the inputs are
    standardised with the training half's mean and standard deviation.
    """
    x = _as_2d(x, "x")
    y = _as_2d(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"two-sample test: x has {x.shape[1]} features, y has {y.shape[1]}")
    if len(x) < 4 or len(y) < 4:
        raise ValueError(f"two-sample test: need at least 4 samples of each, got {len(x)} and "
                         f"{len(y)}")
    points = np.concatenate([x, y])
    labels = np.concatenate([np.zeros(len(x)), np.ones(len(y))])
    order = generator().permutation(len(points))
    points, labels = points[order], labels[order]
    half = len(points) // 2
    train_x, test_x = points[:half], points[half:]
    train_y, test_y = labels[:half], labels[half:]
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-8
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std

    model = _classifier(x.shape[1], hidden)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    inputs, targets = Tensor(train_x.astype(np.float32)), Tensor(train_y.astype(np.float32))
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(inputs).reshape(-1), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with no_grad():
        logits = model(Tensor(test_x.astype(np.float32))).data.reshape(-1)
    correct = int(((logits > 0) == (test_y > 0.5)).sum())
    return TwoSampleResult(accuracy=correct / len(test_y),
                           p_value=binomial_tail(correct, len(test_y)), n_test=len(test_y))


def binomial_tail(k, n):
    """P(Binomial(n, 1/2) >= k), summed exactly in log space (no overflow for large n)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    logs = [math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) - n * math.log(2)
            for j in range(k, n + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def _classifier(n_in, hidden):
    if hidden == 0:
        return nn.Dense(n_in, 1)  # logistic regression
    return nn.Sequential(nn.Dense(n_in, hidden), nn.ReLU(), nn.Dense(hidden, hidden), nn.ReLU(),
                         nn.Dense(hidden, 1))


def _as_2d(samples, name):
    array = np.asarray(getattr(samples, "data", samples), dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"two-sample test: {name} must have shape (n, d), got {array.shape}")
    return array
