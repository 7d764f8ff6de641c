"""Spectral normalisation (Miyato et al. 2018): a weight divided by its largest singular value.

A discriminator built from layers whose weights W have spectral norm sigma(W) = max_|v|=1 |W v|
equal to 1, and from 1-Lipschitz activations (LeakyReLU), is itself 1-Lipschitz: |D(x) - D(x')|
<= |x - x'|. That is the constraint the Wasserstein GAN needs of its critic (weight clipping and
the gradient penalty are two other ways to impose it), and it keeps any GAN's D from becoming
so sharp that G's gradient vanishes or explodes.

    W_SN = W / sigma(W)        W: (out, ...), as the matrix W_mat = W.reshape(out, -1): (out, in)

sigma(W) is found by power iteration, one step per forward pass, continuing from the previous
pass's estimate v (the weights change little between steps, so one step is enough to track it):

    u <- W_mat v / |W_mat v|        v <- W_mat^T u / |W_mat^T u|        sigma = u^T W_mat v

(the order of PyTorch's ``spectral_norm``, so the two agree step for step).

``power_iteration`` does the two updates (NumPy, no gradient: u and v are estimates, not
functions the loss is differentiated through). ``spectral_normalize`` is the differentiable part,
W / (u^T W_mat v) with u, v held fixed, built from engine ops (``reshape``, ``@``, ``/``), so its
gradient is checked like every other. With u, v the exact top singular pair, d sigma / dW = u v^T,
which is the gradient this gives: holding u and v fixed loses nothing at the fixed point.
"""

import numpy as np

from ..engine import Tensor


def power_iteration(weight, v, steps=1, eps=1e-12):
    """``steps`` rounds of power iteration on W_mat = weight.reshape(out, -1) from the estimate v.

    weight: (out, ...) ndarray or Tensor; v: (in,) ndarray, in = the product of weight.shape[1:].
    Returns (u, v): unit vectors of shapes (out,) and (in,), the estimates of W_mat's top left and
    right singular vectors (new arrays; the v given is not changed). ``eps`` guards the division
    for an all-zero weight.
    """
    matrix = (weight.data if isinstance(weight, Tensor) else np.asarray(weight))
    matrix = matrix.reshape(matrix.shape[0], -1)
    v = np.asarray(v, dtype=matrix.dtype)
    if v.shape != (matrix.shape[1],):
        raise ValueError(f"power_iteration: v must have shape ({matrix.shape[1]},) (one entry per "
                         f"input of the weight of shape {tuple(weight.shape)}), got {v.shape}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"power_iteration: steps must be an int >= 1, got {steps!r}")
    for _ in range(steps):
        u = matrix @ v
        u /= max(np.linalg.norm(u), eps)
        v = matrix.T @ u
        v /= max(np.linalg.norm(v), eps)
    return u, v


def spectral_normalize(weight, u, v):
    """W / sigma with sigma = u^T W_mat v, W_mat = W.reshape(out, -1); u (out,), v (in,) fixed.

    weight: Tensor (out, ...). Returns a Tensor of the weight's shape, differentiable in W.
    """
    out = weight.shape[0]
    inputs = int(np.prod(weight.shape[1:]))
    if np.shape(u) != (out,) or np.shape(v) != (inputs,):
        raise ValueError(f"spectral_normalize: for a weight of shape {tuple(weight.shape)}, u "
                         f"must have shape ({out},) and v ({inputs},); got {np.shape(u)} and "
                         f"{np.shape(v)}")
    u = Tensor(np.asarray(u, dtype=weight.dtype).reshape(1, out))
    v = Tensor(np.asarray(v, dtype=weight.dtype).reshape(inputs, 1))
    sigma = (u @ weight.reshape(out, inputs) @ v).reshape(())  # u^T W_mat v, a scalar
    return weight / sigma
