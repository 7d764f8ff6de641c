"""Activation functions: thin wrappers over the Tensor methods that define them.

Each op (forward and backward) lives in ``tinygan/engine.py``; these names exist so that code
reads like PyTorch's ``torch.nn.functional`` (``F.leaky_relu(x, 0.2)``).
All of them but the two softmaxes act elementwise; every output has the input's shape.
"""

import numpy as np

from .. import kernels
from ..engine import Tensor, record


def relu(input):
    """max(x, 0): ``leaky_relu`` with slope 0 (the same op as ``Tensor.relu``, on the kernels)."""
    return _leaky_relu_op(input, 0.0, "relu")


def leaky_relu(input, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise (DCGAN's discriminator uses 0.2).

    The op of ``Tensor.leaky_relu`` run on ``tinygan.kernels`` (compiled: one branch-free pass on
    several threads) for slopes in [0, 1]; other slopes use the Tensor method.
    """
    if not isinstance(negative_slope, int | float) or not 0 <= negative_slope <= 1:
        return input.leaky_relu(negative_slope)
    return _leaky_relu_op(input, float(negative_slope), "leaky_relu")


def _leaky_relu_op(input, slope, name):
    """y = x where x > 0, slope x elsewhere; dL/dx = g where x > 0, slope g elsewhere."""
    data = kernels.leaky_relu(input.data, slope)

    def backward(g, out, x_):
        if isinstance(g, Tensor):  # a recorded backward (create_graph): g times a constant
            return (g * np.where(x_.data > 0, 1.0, slope).astype(x_.dtype),)
        return (kernels.leaky_relu_backward(x_, g, slope),)

    return record(data, (input,), backward, name)


def tanh(input):
    """(e^x - e^-x) / (e^x + e^-x), in (-1, 1): the DCGAN generator's output layer."""
    return input.tanh()


def sigmoid(input):
    """sigma(x) = 1 / (1 + e^-x), in (0, 1): a probability."""
    return input.sigmoid()


def softplus(input):
    """log(1 + e^x), a smooth relu; -softplus(-x) = log sigma(x)."""
    return input.softplus()


def logsigmoid(input):
    """log sigma(x) = -softplus(-x), finite for every x (log(sigmoid(x)) is -inf below -104)."""
    return input.logsigmoid()


def log_softmax(input, axis=-1):
    """log p_k = x_k - log sum_j e^{x_j} along ``axis``: log-probabilities of classes from logits.

    Computed as (x_k - m) - log sum_j e^{x_j - m} with m = max_j x_j, a constant: the value is the
    same for any m (numerator and denominator gain e^-m), and with this m every exponent is <= 0
    (no overflow) and the largest term of the sum is 1 (no log of 0). Because the result does not
    depend on m, m carries no gradient and the derivative comes from the ops: d log p_k / d x_j =
    [k = j] - p_j.
    """
    shift = Tensor(np.max(input.data, axis=axis, keepdims=True))
    shifted = input - shift
    return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()


def softmax(input, axis=-1):
    """p_k = e^{x_k} / sum_j e^{x_j} along ``axis`` (exp of ``log_softmax``): probabilities."""
    return log_softmax(input, axis).exp()
