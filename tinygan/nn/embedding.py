"""Embedding: a learned vector per class, looked up by integer index. The math is in
``tinygan/functional/embedding.py``."""

import numpy as np

from .. import dtypes
from ..arguments import integer
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
        self.num_embeddings = integer("Embedding", "num_embeddings", num_embeddings, minimum=1)
        self.embedding_dim = integer("Embedding", "embedding_dim", embedding_dim, minimum=1)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.float_dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight, 0.0, 1.0)

    def forward(self, input):
        return embedding(input, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
