"""Dropout: during training, zero each activation with probability p.

Inverted dropout (PyTorch's form): the survivors are scaled by 1 / (1 - p), so the expected value
of every activation is unchanged, E[mask * x / (1 - p)] = x, and evaluation needs no rescaling —
dropout is simply switched off (``training=False``).
"""

import numpy as np

from ..engine import Tensor
from ..random import generator


def dropout(input, p=0.5, training=True):
    """``input * mask / (1 - p)``, mask ~ Bernoulli(1 - p) elementwise; identity if not training.

    The mask is a constant: the gradient flows only through the kept entries, scaled alike.
    It is drawn from ``tinygan.random.generator()``, so a seeded run drops the same units.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:  # everything dropped (1 / (1 - p) would be 1 / 0)
        return input * Tensor(np.zeros(input.shape, dtype=input.dtype))
    keep = generator().random(input.shape) >= p
    mask = keep.astype(input.dtype) * input.dtype.type(1.0 / (1.0 - p))
    return input * Tensor(mask)
