"""tinygan: Generative Adversarial Networks from scratch, on a small autograd engine.

The layers, from the bottom up (a module only imports the ones above it in this list):

- the engine: ``engine`` (Tensor, its ops, and ``record``, the way to define an op),
  ``shapes`` (the shape arithmetic of gradients), ``autograd`` (backpropagation, no_grad),
  ``gradients`` (``grad``), ``gradcheck``, ``graph`` (render_graph), ``creation`` and
  ``random`` (factories, seeding), ``dtypes``, ``allocator`` (malloc settings that keep freed
  arrays for reuse), ``arguments`` (the normalisers that check every public entry point's
  arguments once);
- ``kernels``: the dispatch (``use``, ``using``, ``info``, ``gemm``, ``conv2d``, ...) to one of
  three rungs of every kernel in ``_kernels`` (naive loops, NumPy twins, compiled Cython), on
  plain arrays;
- ``functional`` (differentiable functions: activations, linear, conv, batch_norm, dropout,
  losses), then ``nn`` (Module and layers) and ``optim`` (SGD, Adam, RMSprop); ``checkpoint``
  (``save``/``load`` of state dicts as .npz).
"""

import numpy as _np

from . import allocator, functional, kernels, nn, optim
from . import engine as _engine
from .autograd import enable_grad, is_grad_enabled, no_grad
from .checkpoint import CheckpointError, load, save
from .creation import (
    arange,
    full,
    full_like,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from .dtypes import get_default_dtype, set_default_dtype
from .engine import Tensor, as_tensor, concatenate, record, stack, tensor, where
from .gradcheck import GradcheckError, GradcheckResult, gradcheck, gradgradcheck
from .gradients import grad
from .graph import render_graph
from .random import manual_seed

# Freed arrays stay in the process for the next training step (see tinygan/allocator.py).
allocator.tune_malloc()

# The engine's `@` runs on the kernel layer's GEMM: this line fills the slot `_matmul_kernel` of
# tinygan/engine.py with tinygan.kernels.matmul (the active rung: naive, NumPy twin or compiled).
_engine.set_matmul_kernel(kernels.matmul)

float32 = _np.float32
float64 = _np.float64

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "GradcheckError", "GradcheckResult", "Tensor", "arange", "as_tensor",
    "concatenate", "enable_grad", "float32", "float64", "full", "full_like", "functional",
    "get_default_dtype", "grad", "gradcheck", "gradgradcheck", "is_grad_enabled", "kernels", "load",
    "manual_seed", "nn", "no_grad", "ones", "ones_like", "optim", "rand", "rand_like", "randn",
    "randn_like", "record", "render_graph", "save", "set_default_dtype", "stack", "tensor",
    "where", "zeros", "zeros_like",
]
