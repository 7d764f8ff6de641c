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

The function is composed of engine ops (mean, -, *, /, sqrt), so its gradient — including the
part that flows through the batch mean and variance — and its second derivative come from the
ops' own backward functions. A fused op with a hand-derived backward would be faster; this is
easier to read and to check.
"""

import numpy as np

from ..engine import Tensor


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise ``input`` (N, C, *) per channel; see the module docstring for the math.

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
