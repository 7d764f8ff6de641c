"""Models built from ``tinygan.nn``: the networks the GANs of the course are built from.

- toy (``tinygan/models/toy.py``): ``MLPGenerator`` and ``MLPDiscriminator`` (with PacGAN
  packing) for 1-D and 2-D data;
- DCGAN (``tinygan/models/dcgan.py``): ``Generator``, ``Discriminator`` (both optionally
  conditional on a class label), the builder ``dcgan(image_size, channels, ...)`` and the
  paper's initialisation ``dcgan_init_``.
"""

from .dcgan import Discriminator, Generator, dcgan, dcgan_init_
from .toy import MLPDiscriminator, MLPGenerator

__all__ = ["Discriminator", "Generator", "MLPDiscriminator", "MLPGenerator", "dcgan",
           "dcgan_init_"]
