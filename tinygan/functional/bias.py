"""A layer's bias as one op: y[n, c, ...] = x[n, c, ...] + b[c] (channel axis 1).

    forward:   y = x + b[c]                  (x: (N, C) or (N, C, *), b: (C,))
    backward:  dL/dx = g                     dL/db[c] = sum over n and the spatial axes of g

The same as ``x + b.reshape(1, C, 1, ...)`` with the engine's broadcasting ``+`` (whose backward
``sum_to`` finds the same sum), written as one op so the sum runs on ``tinygan.kernels.bias_grad``
(compiled: each channel summed in one pass) instead of NumPy's reduction over the batch and
spatial axes, and the forward on ``kernels.bias_add``. The transposed convolution calls it,
and ``conv2d`` when the bias's dtype differs from the input's; otherwise ``conv2d`` has the
convolution kernel add its bias (``_conv`` in conv.py), and Dense's ``linear`` adds its
bias inside its own op. All three take dL/db from ``bias_gradient`` below.
"""

from .. import kernels
from ..engine import Tensor, as_tensor, record


def add_bias(input, bias):
    """``input`` (N, C, *) plus ``bias`` (C,) along axis 1; the caller checks the shapes."""
    bias = as_tensor(bias)
    if input.dtype != bias.dtype:  # mixed precision: the engine's promoting + does it
        return input + bias.reshape((1, -1) + (1,) * (input.ndim - 2))
    data = kernels.bias_add(input.data, bias.data)

    def backward(g, out, x_, b_):
        return g, bias_gradient(g)

    return record(data, (input, bias), backward, "add_bias")


def bias_gradient(g):
    """dL/db of a bias b (C,) added along axis 1 of an output of shape (N, C, *): g (N, C, *)
    summed over every axis but 1. On ndarrays the compiled kernel ``kernels.bias_grad`` (each
    channel in one pass); on Tensors (a recorded backward, create_graph) the sum as an op."""
    if isinstance(g, Tensor):
        return g.sum(axis=(0,) + tuple(range(2, g.ndim)))
    return kernels.bias_grad(g)
