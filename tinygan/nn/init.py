"""Initialising parameters in place, drawing from ``tinygan.random.generator()``.

Each function overwrites ``tensor.data`` (no graph is recorded) and returns the tensor, like
PyTorch's ``torch.nn.init`` functions with the trailing underscore.

Fan-in and fan-out of a weight (PyTorch's rule): for a weight of shape (d0, d1, k...),
fan_in = d1 * prod(k) and fan_out = d0 * prod(k). For a Dense weight (out, in) that is
fan_in = in; for a Conv2d weight (out, in, kh, kw), fan_in = in * kh * kw, the number of inputs
of one output unit. (For a ConvTranspose2d weight (in, out, kh, kw) the same rule gives
out * kh * kw — not the true fan-in of a transposed convolution, but what PyTorch uses.)
"""

import math

import numpy as np

from ..random import generator


def calculate_gain(nonlinearity, param=None):
    """The gain that keeps activations' variance steady through ``nonlinearity``.

    linear/conv/sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with slope a: sqrt(2 / (1 + a^2)).
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of at least 2 dimensions (see the module docstring)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight of at least 2 dimensions, got shape "
                         f"{tensor.shape}")
    receptive_field = int(np.prod(tensor.shape[2:]))  # 1 for a Dense weight
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples of U(a, b)."""
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2)."""
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0.0)


def ones_(tensor):
    return _fill(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0):
    """Glorot & Bengio (2010): U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).

    Keeps the variance of activations and of gradients roughly equal from layer to layer.
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """He et al. (2015): U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(...).

    (sqrt(3) because U(-b, b) has standard deviation b / sqrt(3): the samples have standard
    deviation gain / sqrt(fan).) PyTorch's default for Dense and Conv weights is this with
    a = sqrt(5): gain = sqrt(2 / 6), so b = 1 / sqrt(fan_in).
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming_uniform_: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    if tensor.size == 0:  # nothing to draw (a Dense(0, n)); as in PyTorch, a no-op
        return tensor
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def default_init_(weight, bias=None):
    """PyTorch's default for Dense and Conv layers: weight by kaiming_uniform_ with a = sqrt(5),
    which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from that same range."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)
    return weight


def _fill(tensor, values):
    """Write ``values`` into ``tensor.data`` in place, in the tensor's dtype."""
    tensor.data[...] = np.asarray(values, dtype=np.float64).astype(tensor.dtype)
    return tensor
