"""MaxPool2d: down-sampling by the largest value of each window (no parameters). The math is in
``tinygan/functional/pooling.py``."""

from ..functional import max_pool2d
from ..functional.conv import pair
from .module import Module


class MaxPool2d(Module):
    """(N, C, H, W) -> (N, C, (H + 2 padding - kernel_size) // stride + 1, ...).

    ``stride`` defaults to ``kernel_size``: ``MaxPool2d(2)`` halves H and W.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else pair(stride, "stride")
        self.padding = pair(padding, "padding")

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
