"""Data sets and mini-batches.

- toy distributions that need no download (``tinygan/datasets/toy.py``): ``ring8``, ``grid25``
  (the mixtures of ``../shared/PROTOCOLS.md``), ``mixture_1d``, ``spiral``, ``moons``,
  ``annulus``; ``make(name)`` and ``batches(data, batch_size)`` (fresh samples forever)
- ``mnist(split)``, ``fashion_mnist(split)``: images float32 (N, 1, 28, 28) in [-1, 1] and labels
  int64, from ``$TINYGAN_DATA_DIR``, the user cache, or downloaded (``datasets/mnist.py``)
- ``read_idx``, ``write_idx``: the gzipped IDX format (``tinygan/datasets/idx.py``)
- ``BatchIterator``: endless, seeded, resumable mini-batches (``tinygan/datasets/batches.py``)
- ``domain_pair(name, split)``: two unpaired image domains for CycleGAN, e.g. "mnist:rotated"
  (``tinygan/datasets/domains.py``)
"""

from .batches import BatchIterator
from .domains import DOMAIN_PAIRS, domain_pair
from .idx import IdxError, read_idx, write_idx
from .mnist import CLASSES, DatasetNotFoundError, fashion_mnist, mnist
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
    "CLASSES", "DOMAIN_PAIRS", "TOY_DATASETS", "BatchIterator", "DatasetNotFoundError",
    "IdxError", "Mixture", "domain_pair",
    "Shape2D", "annulus", "batches", "fashion_mnist", "grid25", "make", "mixture_1d", "mnist",
    "moons", "read_idx", "ring8", "spiral", "write_idx",
]
