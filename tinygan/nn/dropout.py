"""Dropout layer: zero activations at random in training mode, do nothing in eval mode."""

from ..functional import dropout
from .module import Module


class Dropout(Module):
    """Zero each element with probability p while training; scale survivors by 1 / (1 - p).

    In eval mode (``model.eval()``) it is the identity. See ``tinygan.functional.dropout``.
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, input):
        return dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
