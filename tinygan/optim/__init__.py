"""Optimizers: the rules that turn gradients into parameter updates (PyTorch's ``optim``).

- ``SGD``: gradient descent with momentum, Nesterov momentum, weight decay
- ``Adam``: the DCGAN optimizer (lr=2e-4, betas=(0.5, 0.999))
- ``RMSprop``: the WGAN optimizer (lr=5e-5)

Each class's docstring states its update formula; ``Optimizer`` is the shared base.
"""

from .adam import Adam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer", "RMSprop"]
