"""Models built from ``tinygan.nn``: the networks the GANs of the course are built from.

- toy (``tinygan/models/toy.py``): ``MLPGenerator`` and ``MLPDiscriminator`` (with PacGAN
  packing) for 1-D and 2-D data;
- DCGAN (``tinygan/models/dcgan.py``): ``Generator``, ``Discriminator`` (both optionally
  conditional on a class label), the builder ``dcgan(image_size, channels, ...)`` and the
  paper's initialisation ``dcgan_init_``;
- VAE (``tinygan/models/vae.py``): ``VAE`` (``Encoder``, ``Decoder``) and ``reparameterize``;
- CycleGAN (``tinygan/models/cyclegan.py``): ``ResnetGenerator``, ``PatchDiscriminator`` and the
  builder ``cyclegan(image_size, channels, ...)``.
"""

from .cyclegan import PatchDiscriminator, ResnetGenerator, cyclegan
from .dcgan import Discriminator, Generator, dcgan, dcgan_init_
from .toy import MLPDiscriminator, MLPGenerator
from .vae import VAE, Decoder, Encoder, reparameterize

__all__ = ["VAE", "Decoder", "Discriminator", "Encoder", "Generator", "MLPDiscriminator",
           "MLPGenerator", "PatchDiscriminator", "ResnetGenerator", "cyclegan", "dcgan",
           "dcgan_init_", "reparameterize"]
