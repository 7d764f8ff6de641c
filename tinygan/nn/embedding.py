"""Embedding: a learned vector per class, looked up by integer index. The math is in
``tinygan/functional/embedding.py``."""

import numpy as np

from .. import dtypes
from ..functional import embedding
from . import init
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """Integer indices of shape S, each in 0..num_embeddings-1 -> (*S, embedding_dim).

    Parameter: ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch.
    """

    def __init__(self, num_embeddings, embedding_dim, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if self.num_embeddings < 1 or self.embedding_dim < 1:
            raise ValueError(f"Embedding: num_embeddings and embedding_dim must be positive, got "
                             f"{num_embeddings} and {embedding_dim}")
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.float_dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight, 0.0, 1.0)

    def forward(self, input):
        return embedding(input, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
