"""Data sets and mini-batches.

- ``mnist(split)``, ``fashion_mnist(split)``: images float32 (N, 1, 28, 28) in [-1, 1] and labels
  int64, from ``$TINYGAN_DATA_DIR``, the user cache, or downloaded (``datasets/mnist.py``)
- ``read_idx``, ``write_idx``: the gzipped IDX format (``tinygan/datasets/idx.py``)
- ``BatchIterator``: endless, seeded, resumable mini-batches (``tinygan/datasets/batches.py``)
"""

from .batches import BatchIterator
from .idx import IdxError, read_idx, write_idx
from .mnist import CLASSES, DatasetNotFoundError, fashion_mnist, mnist

__all__ = [
    "CLASSES", "BatchIterator", "DatasetNotFoundError", "IdxError", "fashion_mnist", "mnist",
    "read_idx", "write_idx",
]
