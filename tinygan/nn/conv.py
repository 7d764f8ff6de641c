"""Convolution layers: Conv2d (downsampling, the discriminator) and ConvTranspose2d (upsampling,
the generator). The math is in ``tinygan/functional/conv.py``."""


import numpy as np

from .. import arguments, dtypes
from ..functional import conv2d, conv_transpose2d
from . import init
from .module import Module
from .parameter import Parameter


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: settings, parameters, initialisation, repr.

    Every argument is checked here, once, when the layer is built (``Conv2d(3, 8, 4, stride=0)``
    fails now, naming ``stride``, not at the first forward pass), by the same normalisers
    (``tinygan.arguments``) that ``functional.conv2d`` applies to its own arguments.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 bias, dtype):
        super().__init__()
        op = type(self).__name__
        self.in_channels = arguments.integer(op, "in_channels", in_channels, minimum=1)
        self.out_channels = arguments.integer(op, "out_channels", out_channels, minimum=1)
        self.kernel_size = arguments.int_pair(op, "kernel_size", kernel_size, 1)
        self.stride = arguments.int_pair(op, "stride", stride, 1)
        self.padding = arguments.int_pair(op, "padding", padding, 0)
        self.output_padding = arguments.int_pair(op, "output_padding", output_padding, 0)
        if any(e >= s for e, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"{op}: output_padding {self.output_padding} must be smaller than "
                             f"stride {self.stride}")
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.float_dtype(dtype)
        self.weight = Parameter(np.empty(self._weight_channels() + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight by kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), ...),
        bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in computed from the weight's shape."""
        init.default_init_(self.weight, self.bias)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """2-D convolution: (N, in_channels, H, W) -> (N, out_channels, Ho, Wo).

    Ho = (H + 2 padding - kernel_size) // stride + 1 (per axis). Parameters: ``weight``
    (out_channels, in_channels, kh, kw), ``bias`` (out_channels,). ``kernel_size``, ``stride``,
    ``padding``: an int or an (h, w) pair.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, 0, bias, dtype)

    def _weight_channels(self):
        return (self.out_channels, self.in_channels)

    def forward(self, input):
        return conv2d(input, self.weight, self.bias, self.stride, self.padding)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution: (N, in_channels, H, W) -> (N, out_channels, Ho, Wo).

    Ho = (H - 1) stride - 2 padding + kernel_size + output_padding (per axis): with stride 2,
    kernel 4, padding 1 it doubles H and W, the DCGAN generator's upsampling step.
    Parameters: ``weight`` (in_channels, out_channels, kh, kw) — note the order, PyTorch's —
    and ``bias`` (out_channels,). ``output_padding`` must be smaller than ``stride``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding,
                         bias, dtype)

    def _weight_channels(self):
        return (self.in_channels, self.out_channels)  # PyTorch's layout for the transpose

    def forward(self, input):
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding)
