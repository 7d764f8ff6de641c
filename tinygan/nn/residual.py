"""ResidualBlock: x + f(x), the building block of CycleGAN's generator (He et al. 2016; Johnson
et al. 2016's image transformation network)."""

from .activation import ReLU
from .container import Sequential
from .conv import Conv2d
from .instance_norm import InstanceNorm2d
from .module import Module
from .padding import ReflectionPad2d


class ResidualBlock(Module):
    """y = x + f(x) with f = pad, conv 3x3, norm, ReLU, pad, conv 3x3, norm; (N, C, H, W) kept.

    The block learns a *change* f(x) to its input rather than a new image: at initialisation
    f(x) is small and the block is close to the identity, and the gradient reaches earlier layers
    through the "+ x" unchanged (dL/dx = dL/dy + dL/dy df/dx). A translation network that should
    keep most of its input (a digit's shape) while changing its style is exactly that.

    The padding is by reflection (1 pixel for the 3x3 kernel, so H and W stay) and the
    normalization instance normalization, both as in CycleGAN's ResNet generator (Zhu et al.
    2017); ``padding="zeros"`` uses the convolution's zero padding instead.
    """

    def __init__(self, channels, padding="reflect"):
        super().__init__()
        if padding not in ("reflect", "zeros"):
            raise ValueError(f"ResidualBlock: padding must be 'reflect' or 'zeros', got "
                             f"{padding!r}")
        self.channels = int(channels)

        def conv():
            if padding == "reflect":
                return [ReflectionPad2d(1), Conv2d(channels, channels, 3)]
            return [Conv2d(channels, channels, 3, padding=1)]

        self.block = Sequential(*conv(), InstanceNorm2d(channels), ReLU(),
                                *conv(), InstanceNorm2d(channels))

    def forward(self, x):
        return x + self.block(x)

    def extra_repr(self):
        return f"{self.channels}"
