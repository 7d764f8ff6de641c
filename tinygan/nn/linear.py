"""Dense (fully connected) layer: y = x W^T + b. Called Linear in PyTorch; both names work."""


import numpy as np

from .. import arguments, dtypes
from ..functional import linear
from . import init
from .module import Module
from .parameter import Parameter


class Dense(Module):
    """y = x W^T + b for x of shape (..., in_features); y has shape (..., out_features).

    Parameters: ``weight`` (out_features, in_features), ``bias`` (out_features,) (absent when
    ``bias=False``). Initialised as PyTorch's Linear: weight by kaiming_uniform_ with a = sqrt(5),
    i.e. U(-1/sqrt(in_features), 1/sqrt(in_features)), and bias from the same range.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features = arguments.integer("Dense", "in_features", in_features, minimum=0)
        self.out_features = arguments.integer("Dense", "out_features", out_features, minimum=0)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.float_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_init_(self.weight, self.bias)

    def forward(self, input):
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


Linear = Dense
