"""Embedding: a lookup table of learned vectors, one per class (a conditional GAN's label input).

    input: integer indices y of any shape S, each in 0..K-1;  weight: (K, D)
    output: (*S, D) with output[s] = weight[y[s]]

It is the product of a one-hot vector with the table (onehot(y) @ weight) without forming the
one-hot matrix. The derivative with respect to the table: row k receives the sum of the
gradients of every output that looked k up, dL/dweight[k] = sum_{s: y[s] = k} g[s] — the
engine's indexing op and its scatter-add backward. There is no derivative with respect to the
indices (they are integers).
"""

import numpy as np

from ..engine import Tensor, as_tensor


def embedding(input, weight):  # noqa: A002 (PyTorch's names)
    """``weight[input]``: rows of the table ``weight`` (K, D) picked by integer indices."""
    indices = np.asarray(input.data if isinstance(input, Tensor) else input)
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be a (num_embeddings, embedding_dim) table, got "
                         f"shape {weight.shape}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        raise IndexError(f"embedding: indices must lie in 0..{weight.shape[0] - 1}, got values "
                         f"from {indices.min()} to {indices.max()}")
    return weight[indices]
