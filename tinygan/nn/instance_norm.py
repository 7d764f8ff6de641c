"""InstanceNorm2d: per-image, per-channel normalization of (N, C, H, W) inputs, the
normalization of CycleGAN's generators and discriminators. The math is in
``tinygan/functional/instance_norm.py``."""

import numpy as np

from .. import arguments, dtypes
from ..functional import instance_norm
from .module import Module
from .parameter import Parameter


class InstanceNorm2d(Module):
    """Normalise each channel of each image over its H x W pixels; optionally scale and shift.

    As PyTorch's ``InstanceNorm2d`` with its defaults (``affine=False``, no running statistics):
    training and evaluation compute the same function. With ``affine=True`` there are a learned
    ``weight`` (C,) initialised to 1 and ``bias`` (C,) initialised to 0.
    """

    def __init__(self, num_features, eps=1e-5, affine=False, dtype=None):
        super().__init__()
        self.num_features = arguments.integer("InstanceNorm2d", "num_features", num_features,
                                              minimum=1)
        self.eps = arguments.real("InstanceNorm2d", "eps", eps, minimum=0)
        self.affine = bool(affine)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.float_dtype(dtype)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        if input.ndim != 4 or input.shape[1] != self.num_features:
            raise ValueError(f"InstanceNorm2d: expected input of shape (N, {self.num_features}, "
                             f"H, W), got {input.shape}")
        return instance_norm(input, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, affine={self.affine}"
