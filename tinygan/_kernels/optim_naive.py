"""Optimizer updates, the naive rung: ``optim_numpy.py``'s lines for one element at a time.

Each element is computed with NumPy scalars of the parameter's dtype, so in float32 every
operation rounds to float32 exactly as the twin's array operations do: same bits. Slow (a
Python loop over the parameter): tiny parameters only.
"""

import math

import numpy as np

from .optim_checks import check_update


def _lerp(start, end, weight, t):
    if abs(weight) < 0.5:
        return start + t(weight) * (end - start)
    return end - (end - start) * t(1 - weight)


def adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """One Adam step, element by element (as ``optim_numpy.adam_update``)."""
    grad = check_update("adam_update", param, grad,
                        (("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)))
    t = param.dtype.type
    step_size = t(lr / (1 - beta1**step))
    bias2 = t(math.sqrt(1 - beta2**step))
    new = np.empty_like(param)
    for i in np.ndindex(param.shape):
        g, p = grad[i], param[i]
        if weight_decay != 0:
            g = g + t(weight_decay) * p
        m = _lerp(exp_avg[i], g, 1 - beta1, t)
        v = exp_avg_sq[i] * t(beta2) + t(1 - beta2) * g * g
        exp_avg[i], exp_avg_sq[i] = m, v
        new[i] = p - step_size * (m / (np.sqrt(v) / bias2 + t(eps)))
    return new


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                   weight_decay, momentum):
    """One RMSprop step, element by element (as ``optim_numpy.rmsprop_update``)."""
    grad = check_update("rmsprop_update", param, grad,
                        (("square_avg", square_avg), ("grad_avg", grad_avg),
                         ("momentum_buffer", momentum_buffer)))
    t = param.dtype.type
    new = np.empty_like(param)
    for i in np.ndindex(param.shape):
        g, p = grad[i], param[i]
        if weight_decay != 0:
            g = g + t(weight_decay) * p
        s = square_avg[i] * t(alpha) + t(1 - alpha) * g * g
        square_avg[i] = s
        if grad_avg is not None:
            a = _lerp(grad_avg[i], g, 1 - alpha, t)
            grad_avg[i] = a
            denom = np.sqrt(s - a * a) + t(eps)
        else:
            denom = np.sqrt(s) + t(eps)
        if momentum_buffer is not None:
            b = momentum_buffer[i] * t(momentum) + g / denom
            momentum_buffer[i] = b
            new[i] = p - t(lr) * b
        else:
            new[i] = p - t(lr) * (g / denom)
    return new
