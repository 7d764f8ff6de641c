"""CycleGAN (Zhu, Park, Isola & Efros 2017): translate images between two domains A and B from
unpaired examples.

Two generators, G: A -> B and F: B -> A, and two discriminators, D_B (is this a real B or a
G(a)?) and D_A (a real A or an F(b)?). Nothing tells G which b belongs to an a (there are no
pairs); the cycle-consistency loss ||F(G(a)) - a||_1 + ||G(F(b)) - b||_1 asks that translating
there and back returns the input, so G must keep what F needs to undo it: the content. The
update is ``tinygan.gan.cycle.cycle_step``.

Generator (Johnson et al. 2016's "ResNet" translation network, as in Zhu et al.'s code, scaled
down to 28 x 28 MNIST-sized images; B = ``base_channels`` = 16, ``blocks`` = 2):

    x (N, C, 28, 28) -> ReflectionPad 3, Conv 7x7 -> (N, B, 28, 28)              c7s1-B
                     -> Conv 3x3/2 -> (N, 2B, 14, 14) -> Conv 3x3/2 -> (N, 4B, 7, 7)   d2B, d4B
                     -> ``blocks`` residual blocks of 4B channels at 7 x 7           R4B
                     -> ConvT 3x3/2 -> (N, 2B, 14, 14) -> ConvT 3x3/2 -> (N, B, 28, 28)   u2B, uB
                     -> ReflectionPad 3, Conv 7x7 -> (N, C, 28, 28), tanh           c7s1-C

each convolution but the last followed by instance normalization and ReLU. Reflection padding at
the 7 x 7 convolutions and in the residual blocks, as in the paper: no dark frame for the
network to learn (``tinygan/functional/padding.py``).

Discriminator ("PatchGAN", Isola et al. 2017): a fully convolutional network whose output is a
7 x 7 grid of scores, each judging one 18 x 18 patch of the image (its receptive field), so the
adversarial loss asks every region to look real rather than the image as a whole:

    x (N, C, 28, 28) -> Conv 4x4/2 -> (N, B, 14, 14) -> Conv 4x4/2 -> (N, 2B, 7, 7)
                     -> Conv 3x3/1 -> (N, 1, 7, 7) scores

LeakyReLU 0.2 after the first two, instance norm after the second. Scores, not logits: CycleGAN
trains with the least-squares loss (``tinygan.gan.losses.least_squares_*``). Weights are
initialised N(0, 0.02^2) as in the paper's code (``dcgan_init_``).
"""

from .. import nn
from ..engine import as_tensor
from .dcgan import dcgan_init_


class ResnetGenerator(nn.Module):
    """A translation network: images (N, C, S, S) -> images (N, C, S, S) in [-1, 1]; S % 4 == 0."""

    def __init__(self, image_size=28, channels=1, base_channels=16, blocks=2):
        super().__init__()
        if image_size % 4 or image_size < 8:
            raise ValueError(f"ResnetGenerator: image_size must be a multiple of 4 (>= 8), got "
                             f"{image_size}")
        self.image_shape = (int(channels), image_size, image_size)
        b = base_channels

        def norm_relu(width):
            return [nn.InstanceNorm2d(width), nn.ReLU()]

        layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, b, 7), *norm_relu(b),
                  nn.Conv2d(b, 2 * b, 3, 2, 1), *norm_relu(2 * b),
                  nn.Conv2d(2 * b, 4 * b, 3, 2, 1), *norm_relu(4 * b)]
        layers += [nn.ResidualBlock(4 * b) for _ in range(blocks)]
        layers += [nn.ConvTranspose2d(4 * b, 2 * b, 3, 2, 1, output_padding=1), *norm_relu(2 * b),
                   nn.ConvTranspose2d(2 * b, b, 3, 2, 1, output_padding=1), *norm_relu(b),
                   nn.ReflectionPad2d(3), nn.Conv2d(b, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"ResnetGenerator: x must have shape (N, *{self.image_shape}), got "
                             f"{tuple(x.shape)}")
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """D(x): images (N, C, S, S) -> one score per patch, (N, 1, S/4, S/4)."""

    def __init__(self, image_size=28, channels=1, base_channels=16):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"PatchDiscriminator: image_size must be a multiple of 4, got "
                             f"{image_size}")
        self.image_shape = (int(channels), image_size, image_size)
        b = base_channels
        self.net = nn.Sequential(
            nn.Conv2d(channels, b, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(b, 2 * b, 4, 2, 1), nn.InstanceNorm2d(2 * b), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * b, 1, 3, 1, 1))
        dcgan_init_(self)

    def forward(self, x):
        x = as_tensor(x)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"PatchDiscriminator: x must have shape (N, *{self.image_shape}), "
                             f"got {tuple(x.shape)}")
        return self.net(x)


def cyclegan(image_size=28, channels=1, base_channels=16, blocks=2):
    """(G, F, D_A, D_B): G: A -> B, F: B -> A, D_A judges domain A, D_B domain B."""
    return (ResnetGenerator(image_size, channels, base_channels, blocks),
            ResnetGenerator(image_size, channels, base_channels, blocks),
            PatchDiscriminator(image_size, channels, base_channels),
            PatchDiscriminator(image_size, channels, base_channels))
