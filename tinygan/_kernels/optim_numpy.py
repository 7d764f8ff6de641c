"""Optimizer updates, the NumPy twin: Adam's and RMSprop's step on one parameter, as ndarrays.

The rules are those of ``tinygan/optim/adam.py`` and ``rmsprop.py`` (read them for the math);
these functions are their arithmetic in PyTorch's order of operations, one NumPy line per
formula. Every scalar meets the arrays in the arrays' dtype (NumPy treats Python floats as
"weak"), so in float32 each line rounds to float32. The compiled kernel (``optim_update.pyx``)
performs the same operations in the same order and precision, element by element, and gives the
same bits; the naive rung (``optim_naive.py``) does it with NumPy scalars in a Python loop.

State arrays (m, v, ...) are updated in place; the new parameter is returned as a new array
(the optimizers give each parameter a new ``.data``, see ``tinygan/optim/optimizer.py``).
"""

import math

import numpy as np

from .optim_checks import check_update


def lerp_(start, end, weight):
    """start <- start + weight (end - start), in place, as PyTorch's ``lerp_`` computes it:
    for weight >= 0.5 as end - (end - start) (1 - weight), which is more accurate there."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
    return start


def adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """One Adam step (t = ``step``, already incremented); returns the new parameter."""
    grad = check_update("adam_update", param, grad,
                        (("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)))
    if weight_decay != 0:
        grad = grad + weight_decay * param
    lerp_(exp_avg, grad, 1 - beta1)  # m = m + (1 - beta1) (g - m)
    exp_avg_sq *= beta2  # v = beta2 v + (1 - beta2) g^2
    exp_avg_sq += (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1**step)
    denom = np.sqrt(exp_avg_sq) / math.sqrt(1 - beta2**step) + eps
    return param - step_size * (exp_avg / denom)


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                   weight_decay, momentum):
    """One RMSprop step; ``grad_avg`` (centered) and ``momentum_buffer`` (momentum > 0) may be
    None. Returns the new parameter."""
    grad = check_update("rmsprop_update", param, grad,
                        (("square_avg", square_avg), ("grad_avg", grad_avg),
                         ("momentum_buffer", momentum_buffer)))
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg *= alpha  # s = alpha s + (1 - alpha) g^2
    square_avg += (1 - alpha) * grad * grad
    if grad_avg is not None:  # centered: divide by a running std
        lerp_(grad_avg, grad, 1 - alpha)
        denom = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        denom = np.sqrt(square_avg) + eps
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += grad / denom
        return param - lr * momentum_buffer
    return param - lr * (grad / denom)
