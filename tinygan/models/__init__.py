"""Models: the networks the GANs of the course are built from.

- ``toy``: ``MLPGenerator`` and ``MLPDiscriminator`` (with PacGAN packing) for 1-D and 2-D data.
"""

from .toy import MLPDiscriminator, MLPGenerator

__all__ = ["MLPDiscriminator", "MLPGenerator"]
