"""Models built from ``tinygan.nn``.

- DCGAN (``tinygan/models/dcgan.py``): ``Generator``, ``Discriminator`` (both optionally
  conditional on a class label), the builder ``dcgan(image_size, channels, ...)`` and the
  paper's initialisation ``dcgan_init_``.
"""

from .dcgan import Discriminator, Generator, dcgan, dcgan_init_

__all__ = ["Discriminator", "Generator", "dcgan", "dcgan_init_"]
