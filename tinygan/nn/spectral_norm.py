"""SpectralNorm: a Dense or Conv2d layer whose weight is divided by its largest singular value.
The math is in ``tinygan/functional/spectral_norm.py``."""

import numpy as np

from ..functional import conv2d, linear, power_iteration, spectral_normalize
from ..random import generator
from .conv import Conv2d
from .linear import Dense
from .module import Module


class SpectralNorm(Module):
    """``layer`` with its weight W replaced by W / sigma(W) at every call (Miyato et al. 2018).

    The learned parameters stay the layer's own (``layer.weight``, ``layer.bias``); the buffers
    ``u`` (out,) and ``v`` (in,) hold the power iteration's estimate of W's top singular vectors
    (saved in the state dict, so a resumed run continues the same estimate).

    - training mode: each call advances the estimate by ``power_iterations`` steps from the last
      one, then normalises (one step per call tracks sigma as the weights move);
    - eval mode: the stored estimate is used as it is, so evaluating changes nothing.

    ``reset_estimate()`` restarts the estimate from a random v (and iterates ``steps`` times):
    call it after re-initialising the layer's weight.
    """

    def __init__(self, layer, power_iterations=1):
        super().__init__()
        if not isinstance(layer, Dense | Conv2d):
            raise TypeError(f"SpectralNorm: layer must be a Dense or Conv2d, got "
                            f"{type(layer).__name__}")
        if (isinstance(power_iterations, bool) or not isinstance(power_iterations, int)
                or power_iterations < 1):
            raise ValueError(f"SpectralNorm: power_iterations must be an int >= 1, got "
                             f"{power_iterations!r}")
        self.layer, self.power_iterations = layer, power_iterations
        shape = layer.weight.shape
        self.register_buffer("u", np.zeros(shape[0], layer.weight.dtype))
        self.register_buffer("v", np.zeros(int(np.prod(shape[1:])), layer.weight.dtype))
        self.reset_estimate()

    def reset_estimate(self, steps=15):
        """Start the power iteration again from a random unit v; ``steps`` rounds of it."""
        v = generator().standard_normal(self.v.shape[0])
        u, v = power_iteration(self.layer.weight, v / np.linalg.norm(v), steps)
        self.u[...], self.v[...] = u, v  # in place: the buffers stay the same arrays

    def normalized_weight(self):
        """W / sigma(W) (a Tensor of the weight's shape, differentiable in W)."""
        if self.training:
            u, v = power_iteration(self.layer.weight, self.v, self.power_iterations)
            self.u[...], self.v[...] = u, v
        return spectral_normalize(self.layer.weight, self.u, self.v)

    def forward(self, input):
        weight, layer = self.normalized_weight(), self.layer
        if isinstance(layer, Conv2d):
            return conv2d(input, weight, layer.bias, layer.stride, layer.padding)
        return linear(input, weight, layer.bias)

    def extra_repr(self):
        return f"power_iterations={self.power_iterations}"
