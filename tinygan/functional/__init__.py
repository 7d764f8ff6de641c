"""Differentiable functions of Tensors: the stateless half of the layers (PyTorch's ``F``).

A layer in ``tinygan.nn`` owns parameters and calls one of these; each is composed of engine ops
(or, where that would be unstable or slow, is an op of its own with its backward beside it), so
every gradient here is checked the same way as the engine's.

- activations: ``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``, ``softplus``, ``logsigmoid``;
  ``softmax``, ``log_softmax``
- ``linear``;  ``conv2d``, ``conv_transpose2d``;  ``max_pool2d``;  ``embedding``
- ``batch_norm``, ``instance_norm``;  ``reflection_pad2d``;  ``dropout``
- ``spectral_normalize`` and its ``power_iteration`` (W / sigma(W), SpectralNorm's)
- losses: ``binary_cross_entropy``, ``binary_cross_entropy_with_logits``, ``cross_entropy``,
  ``mse_loss``, ``l1_loss``; the VAE's ``gaussian_kl`` and ``negative_elbo``

Also named ``tinygan.nn.functional`` (``import tinygan.nn.functional as F``, see nn/functional.py).
"""

from .activations import (
    leaky_relu,
    log_softmax,
    logsigmoid,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from .conv import conv2d, conv_transpose2d
from .dropout import dropout
from .embedding import embedding
from .instance_norm import instance_norm
from .linear import linear
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gaussian_kl,
    l1_loss,
    mse_loss,
    negative_elbo,
)
from .normalization import batch_norm
from .padding import reflection_pad2d
from .pooling import max_pool2d
from .spectral_norm import power_iteration, spectral_normalize

__all__ = [
    "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "conv2d",
    "conv_transpose2d", "cross_entropy", "dropout", "embedding", "gaussian_kl", "instance_norm",
    "l1_loss", "leaky_relu", "linear", "log_softmax", "logsigmoid", "max_pool2d", "mse_loss",
    "negative_elbo", "power_iteration", "reflection_pad2d", "relu", "sigmoid", "softmax",
    "softplus", "spectral_normalize", "tanh",
]
