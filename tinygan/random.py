"""One seeded random generator for the whole library.

Every random initialisation, sampler and data shuffle in tinygan draws from the generator returned
by ``generator()``, so ``tinygan.manual_seed(0)`` at the top of a script makes the whole run
reproducible: the same weights, the same noise z, the same minibatches.
"""

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed):
    """Re-seed the library's generator; returns it."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    """The library's np.random.Generator (seeded with 0 until ``manual_seed`` is called)."""
    return _generator
