"""ReflectionPad2d: mirror an image at its borders before a convolution (CycleGAN's generator).
Why, and the math: ``tinygan/functional/padding.py``."""

from ..functional import reflection_pad2d
from ..functional.padding import _pads
from .module import Module


class ReflectionPad2d(Module):
    """(N, C, H, W) -> (N, C, H + top + bottom, W + left + right), the border mirrored.

    ``padding``: an int (all sides) or (left, right, top, bottom), as PyTorch's.
    """

    def __init__(self, padding):
        super().__init__()
        self.padding = _pads(padding)

    def forward(self, input):
        return reflection_pad2d(input, self.padding)

    def extra_repr(self):
        return f"{self.padding}"
