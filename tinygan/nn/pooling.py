"""MaxPool2d: down-sampling by the largest value of each window (no parameters). The math is in
``tinygan/functional/pooling.py``."""

from ..arguments import int_pair
from ..functional import max_pool2d
from .module import Module


class MaxPool2d(Module):
    """(N, C, H, W) -> (N, C, (H + 2 padding - kernel_size) // stride + 1, ...).

    ``stride`` defaults to ``kernel_size``: ``MaxPool2d(2)`` halves H and W.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        # checked here, at construction (see arguments.py), not at the first forward
        self.kernel_size = int_pair("MaxPool2d", "kernel_size", kernel_size, 1)
        self.stride = (self.kernel_size if stride is None
                       else int_pair("MaxPool2d", "stride", stride, 1))
        self.padding = int_pair("MaxPool2d", "padding", padding, 0)

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
