"""Layers and models: Module, Parameter and the layers a GAN is built from (PyTorch's ``nn``).

Names, arguments, weight layouts and state-dict keys are PyTorch's, so a model written with
tinygan can be rewritten with ``torch.nn`` line by line, and its state dict loaded into it.

- base: ``Module``, ``Parameter``, ``Sequential``
- layers: ``Dense`` (= ``Linear``), ``Conv2d``, ``ConvTranspose2d``, ``MaxPool2d``,
  ``BatchNorm1d``, ``BatchNorm2d``, ``InstanceNorm2d``, ``ReflectionPad2d``, ``Dropout``,
  ``Flatten``, ``Unflatten``, ``Embedding``; ``ResidualBlock`` (x + f(x), CycleGAN's);
  ``SpectralNorm`` (a Dense or Conv2d with weight W / sigma(W))
- activations: ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``
- ``tinygan.nn.init``: initialisers (``normal_``, ``kaiming_uniform_``, ...; the DCGAN one is
  ``tinygan.models.dcgan_init_``)
- ``tinygan.nn.functional`` (``nn/functional.py``): the functions of ``tinygan.functional``
"""

from . import functional, init
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .container import Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .instance_norm import InstanceNorm2d
from .linear import Dense, Linear
from .module import IncompatibleKeys, Module, frozen
from .normalization import BatchNorm1d, BatchNorm2d
from .padding import ReflectionPad2d
from .parameter import Parameter
from .pooling import MaxPool2d
from .residual import ResidualBlock
from .spectral_norm import SpectralNorm

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "Dense", "Dropout", "Embedding",
    "Flatten", "IncompatibleKeys", "InstanceNorm2d", "LeakyReLU", "Linear", "MaxPool2d", "Module",
    "Parameter", "ReLU", "ReflectionPad2d", "ResidualBlock", "Sequential", "Sigmoid",
    "SpectralNorm", "Tanh",
    "Unflatten", "frozen", "functional", "init",
]
