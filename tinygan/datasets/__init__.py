"""Data sets: the toy distributions of the lectures (no download needed).

- ``toy``: ``ring8``, ``grid25`` (the mixtures of ``../shared/PROTOCOLS.md``), ``mixture_1d``,
  ``spiral``, ``moons``, ``annulus``; ``make(name)`` and ``batches(data, batch_size)``.
"""

from .toy import (
    TOY_DATASETS,
    Mixture,
    Shape2D,
    annulus,
    batches,
    grid25,
    make,
    mixture_1d,
    moons,
    ring8,
    spiral,
)

__all__ = [
    "TOY_DATASETS", "Mixture", "Shape2D", "annulus", "batches", "grid25", "make", "mixture_1d",
    "moons", "ring8", "spiral",
]
