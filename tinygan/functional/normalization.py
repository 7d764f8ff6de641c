"""Batch normalization: standardise each channel over the batch, then scale and shift.

For an input x of shape (N, C) or (N, C, L) or (N, C, H, W), channel c is normalised with the
mean and variance of all its values in the batch (every axis but axis 1):

    mean_c = mean(x[:, c])        var_c = mean((x[:, c] - mean_c)^2)      (biased: divide by n)
    y[:, c] = (x[:, c] - mean_c) / sqrt(var_c + eps) * weight_c + bias_c

In training, the running estimates that evaluation will use are updated in place:

    running_mean = (1 - momentum) * running_mean + momentum * mean_c
    running_var  = (1 - momentum) * running_var  + momentum * var_c * n / (n - 1)   (unbiased)

(momentum is the weight of the new batch, not of the old estimate: PyTorch's convention.)
In evaluation, y[:, c] = (x[:, c] - running_mean_c) / sqrt(running_var_c + eps) * weight_c + bias_c.

Two versions of the same function:

- ``batch_norm_composed`` is composed of engine ops (mean, -, *, /, sqrt), so its gradient —
  including the part that flows through the batch mean and variance — and its second derivative
  come from the ops' own backward functions. Read it first: it is the formula, line for line.
- ``batch_norm`` (what the layers call) is the same function as ONE op of the graph, forward and
  backward each one kernel (``tinygan.kernels.batch_norm_train`` / ``batch_norm_backward``:
  one pass per channel, channels on several threads). What that buys, measured on the MNIST
  DCGAN's BatchNorm2d(128) at 64 x 128 x 7 x 7, float32, forward + backward, one thread
  (``benchmarks/bench_fused.py``, a busy 2-core Xeon): 3.5 ms, against 19.3 ms for the composed
  ops (10.5 ms for the kernels' NumPy twin, 6.4 ms for PyTorch). The composed chain makes about
  ten full-size passes forward and twenty backward; the kernels three and two.

The backward of the fused op, derived by hand. With n values per channel, x_hat = (x - mean) r,
r = 1 / sqrt(var + eps), y = w x_hat + b and g = dL/dy, per channel:

    dL/db = sum g        dL/dw = sum g x_hat
    dL/dx = w r (g - (1/n) sum g - x_hat (1/n) sum g x_hat)

(the last two terms are the paths through the mean and the variance: d mean / dx = 1/n,
d var / dx = 2 (x - mean) / n). In evaluation mean and r are constants: dL/dx = w r g.
When the backward pass is itself recorded (``tinygan.grad(..., create_graph=True)``, the WGAN-GP
penalty through a critic with batch norm) the same formulas run on Tensors, written with engine
ops, so second derivatives flow through them (checked by gradgradcheck in the tests).
"""

import numpy as np

from .. import kernels
from ..engine import Tensor, record


def batch_norm_composed(input, running_mean, running_var, weight=None, bias=None,
                        training=False, momentum=0.1, eps=1e-5):
    """Normalise ``input`` (N, C, *) per channel with engine ops: the readable reference.

    Args:
        input: Tensor of shape (N, C) or (N, C, *).
        running_mean, running_var: ndarrays of shape (C,), or None. Updated in place when
            ``training`` is True; used instead of the batch statistics when it is False.
        weight, bias: Tensors of shape (C,) (gamma and beta), or None for 1 and 0.
        training: use (and record) the batch statistics.
        momentum: weight of the current batch in the running averages.
        eps: added to the variance, so a constant channel does not divide by zero.
    Returns:
        A Tensor of the input's shape.
    """
    _check(input, running_mean, running_var, weight, bias)
    channels = input.shape[1]
    axes = (0,) + tuple(range(2, input.ndim))  # every axis but the channels
    per_channel = (1, channels) + (1,) * (input.ndim - 2)  # (C,) broadcast against the input

    if training:
        count = input.size // channels  # values per channel
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {input.shape}"
            )
        mean = input.mean(axis=axes, keepdims=True)
        centered = input - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)  # biased, as normalised
        x_hat = centered / (var + eps).sqrt()
        if running_mean is not None:
            # In place, so the module's buffers (the same arrays) see the update. The batch
            # statistics are constants here: the running averages are not part of the graph.
            running_mean *= 1 - momentum
            running_mean += momentum * mean.data.reshape(channels)
        if running_var is not None:
            unbiased = var.data.reshape(channels) * (count / (count - 1))
            running_var *= 1 - momentum
            running_var += momentum * unbiased
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training (or pass training=True to use the batch statistics)")
        mean = Tensor(np.asarray(running_mean).reshape(per_channel))
        std = Tensor(np.sqrt(np.asarray(running_var).reshape(per_channel) + eps))
        x_hat = (input - mean) / std

    out = x_hat
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def _check(input, running_mean, running_var, weight, bias):
    """The shapes both batch norms accept: ValueError naming the first that does not fit."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got {input.shape}")
    channels = input.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(
                f"batch_norm: {name} of shape {tuple(value.shape)} does not match input of "
                f"shape {input.shape} (expected ({channels},), one value per channel)"
            )


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """``batch_norm_composed`` as one fused op: same arguments, same results up to rounding.

    Args:
        input: Tensor of shape (N, C) or (N, C, *).
        running_mean, running_var: ndarrays of shape (C,), or None. Updated in place when
            ``training`` is True; used instead of the batch statistics when it is False.
        weight, bias: Tensors of shape (C,) (gamma and beta), or None for 1 and 0.
        training: use (and record) the batch statistics.
        momentum: weight of the current batch in the running averages.
        eps: added to the variance, so a constant channel does not divide by zero.
    Returns:
        A Tensor of the input's shape.
    """
    _check(input, running_mean, running_var, weight, bias)
    dtype = np.result_type(*[t.dtype for t in (input, weight, bias) if t is not None])
    input = input.astype(dtype)  # float32 with float64 parameters computes in float64
    channels = input.shape[1]
    params = tuple(t for t in (weight, bias) if t is not None)
    w = None if weight is None else weight.data.astype(dtype, copy=False)
    b = None if bias is None else bias.data.astype(dtype, copy=False)
    axes = (0,) + tuple(range(2, input.ndim))  # every axis but the channels
    per_channel = (1, channels) + (1,) * (input.ndim - 2)
    has_weight, has_bias = weight is not None, bias is not None

    if training:
        count = input.size // channels  # values per channel
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {input.shape}"
            )
        data, mean, var, inv_std = kernels.batch_norm_train(input.data, w, b, eps)
        if running_mean is not None:  # in place, as batch_norm_composed (constants, no graph)
            running_mean *= 1 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1 - momentum
            running_var += momentum * (var * (count / (count - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training (or pass training=True to use the batch statistics)")
        mean = np.asarray(running_mean).astype(dtype)
        inv_std = 1 / np.sqrt(np.asarray(running_var).astype(dtype) + dtype.type(eps))
        scale = inv_std if w is None else w * inv_std
        shift = -mean * scale if b is None else b - mean * scale
        data = kernels.channel_affine(input.data, scale, shift)

    def backward(g, out, x_, *params_):
        w_ = params_[0] if has_weight else None
        if isinstance(g, Tensor):  # a recorded backward (create_graph): the formulas as ops
            dx, dw, db = _backward_as_ops(g, x_, w_, mean, inv_std, training, eps, axes,
                                          per_channel)
        else:
            dx, dw, db = kernels.batch_norm_backward(g, x_, mean, inv_std, w_, training)
        return (dx,) + ((dw,) if has_weight else ()) + ((db,) if has_bias else ())

    return record(data, (input,) + params, backward, "batch_norm")


def _backward_as_ops(g, x, w, mean, inv_std, training, eps, axes, per_channel):
    """(dx, dw, db) written with engine ops on Tensors, for a recorded backward pass.

    In training the batch statistics are functions of x, so they are recomputed here from x
    with ops (not taken from the forward's constants), so that the second derivative sees how
    they depend on x. The formulas are the module docstring's.
    """
    n = x.size // x.shape[1]
    if training:
        centered = x - x.mean(axis=axes, keepdims=True)
        r = 1 / ((centered * centered).mean(axis=axes, keepdims=True) + eps).sqrt()
    else:
        centered = x - Tensor(mean.reshape(per_channel))
        r = Tensor(inv_std.reshape(per_channel))
    x_hat = centered * r
    db = g.sum(axis=axes)
    dw = (g * x_hat).sum(axis=axes)
    wr = r if w is None else r * w.reshape(per_channel)
    if training:
        dx = (g - db.reshape(per_channel) / n - x_hat * dw.reshape(per_channel) / n) * wr
    else:
        dx = g * wr
    return dx, dw, db
