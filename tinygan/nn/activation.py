"""Activation layers: modules with no parameters that apply a function elementwise."""

from .. import functional as F
from .module import Module


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise. DCGAN's discriminator uses slope 0.2."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """tanh(x), in (-1, 1): the output layer of an image generator (pixels scaled to [-1, 1])."""

    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    """sigma(x) = 1 / (1 + e^-x), in (0, 1). For a loss, prefer logits with
    ``binary_cross_entropy_with_logits`` (stable) to Sigmoid + ``binary_cross_entropy``."""

    def forward(self, input):
        return F.sigmoid(input)
