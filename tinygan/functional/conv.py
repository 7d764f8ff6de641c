"""Convolution and transposed convolution as differentiable ops, on the kernel layer.

Shapes (PyTorch's layouts):
    conv2d:            x (N, C_in, H, W), weight (C_out, C_in, kH, kW) -> y (N, C_out, H_out, W_out)
    conv_transpose2d:  x (N, C_in, H, W), weight (C_in, C_out, kH, kW) -> y (N, C_out, H_out, W_out)

    y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * weight[o, c, p, q]   (+ bias[o])

conv2d is linear in x and linear in weight, so both of its gradients are again convolutions:

    dL/dx      = conv2d_grad_input(g, weight)   -- the adjoint of x -> conv2d(x, weight)
    dL/dweight = conv2d_grad_weight(x, g)       -- the adjoint of weight -> conv2d(x, weight)

A transposed convolution *is* that adjoint: conv_transpose2d(x, w) = conv2d_grad_input(x, w). So
three kernels serve both layers, forward and backward, and every one of the three ops below has
the other two as its derivatives. That closure is what makes second derivatives (gradients of
gradients, for the WGAN-GP penalty) work: each backward, run on Tensors, is built from the same
differentiable ops. (conv2d's bias, when it has one, is a third input of the same op,
``_conv``: the kernel adds it as it writes y instead of in a pass of its own.)
"""

import numpy as np

from .. import kernels
from ..arguments import int_pair
from ..engine import Tensor, as_tensor, record
from .bias import add_bias, bias_gradient


def _common_dtype(x, w):
    """float32 with float64 computes in float64, as NumPy's promotion (and every other op) does."""
    dtype = np.result_type(x.dtype, w.dtype)
    return x.astype(dtype), w.astype(dtype)


def _tensor(op, name, value):
    """A Tensor or an ndarray of floats as a Tensor; anything else is named in a TypeError."""
    if not isinstance(value, Tensor | np.ndarray):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    return as_tensor(value)


def _check_4d(op, name, tensor):
    if tensor.ndim != 4:
        raise ValueError(f"{op}: {name} must be 4-D, got shape {tensor.shape}")


# ---------------------------------------------------------------- the three differentiable ops
# Each is recorded with fresh_grads=True: in a plain backward pass its gradients are new
# arrays from the kernels, which backward() may keep as a weight's .grad without a copy.


def _conv(x, w, stride, padding, b=None):
    """y = conv2d(x, w) (+ b[o]); for Tensors a recorded op, for ndarrays the kernel.

    A bias b (a Tensor, only with Tensors) is part of this one op, added by the kernel as it
    writes y: the same map and gradients as ``add_bias`` after the op (dL/db = g summed over n,
    i, j), without add_bias's pass over y, which reads and writes the whole output again.
    Measured on the DCGAN discriminator's first layer (64 x 1 x 28 x 28 -> 64 x 64 x 14 x 14,
    the kernels alone, medians): 0.93 ms for conv2d then bias_add, 0.62 ms with the bias in the
    kernel on one thread; 0.49 and 0.34 ms on two. (The indirect GEMM, for many input channels,
    still adds it in a pass of its own.)
    """
    if not isinstance(x, Tensor) and not isinstance(w, Tensor):
        return kernels.conv2d(x, w, stride, padding)
    x, w = as_tensor(x), as_tensor(w)
    parents = (x, w) if b is None else (x, w, b)
    data = kernels.conv2d(x.data, w.data, stride, padding, None if b is None else b.data)
    needs_x, needs_w = x.requires_grad, w.requires_grad
    needs_b = b is not None and b.requires_grad

    def backward(g, out, x_, w_, *b_):
        grad_x = _grad_input(g, w_, x_.shape[2:], stride, padding) if needs_x else None
        grad_w = _grad_weight(x_, g, w_.shape[2:], stride, padding) if needs_w else None
        if b is None:
            return grad_x, grad_w
        return grad_x, grad_w, (bias_gradient(g) if needs_b else None)

    return record(data, parents, backward, "conv2d", fresh_grads=True)


def _grad_input(g, w, input_hw, stride, padding):
    """dx = conv2d_grad_input(g, w): linear in g (adjoint of conv in x) and in w."""
    if not isinstance(g, Tensor) and not isinstance(w, Tensor):
        return kernels.conv2d_grad_input(g, w, tuple(input_hw), stride, padding)
    g, w = as_tensor(g), as_tensor(w)
    data = kernels.conv2d_grad_input(g.data, w.data, tuple(input_hw), stride, padding)
    needs_g, needs_w = g.requires_grad, w.requires_grad

    def backward(gg, out, g_, w_):
        # <gg, A_w^T g> = <A_w gg, g>: in g the adjoint is conv2d itself; in w it is grad_weight
        # with gg in the role of the input.
        grad_g = _conv(gg, w_, stride, padding) if needs_g else None
        grad_w = _grad_weight(gg, g_, w_.shape[2:], stride, padding) if needs_w else None
        return grad_g, grad_w

    return record(data, (g, w), backward, "conv2d_grad_input", fresh_grads=True)


def _grad_weight(x, g, kernel_hw, stride, padding):
    """dw = conv2d_grad_weight(x, g): linear in x and in g."""
    if not isinstance(x, Tensor) and not isinstance(g, Tensor):
        return kernels.conv2d_grad_weight(x, g, tuple(kernel_hw), stride, padding)
    x, g = as_tensor(x), as_tensor(g)
    data = kernels.conv2d_grad_weight(x.data, g.data, tuple(kernel_hw), stride, padding)
    needs_x, needs_g = x.requires_grad, g.requires_grad

    def backward(gw, out, x_, g_):
        # <gw, W(x, g)> = <conv2d(x, gw), g>: in x the adjoint is grad_input, in g it is conv2d.
        grad_x = _grad_input(g_, gw, x_.shape[2:], stride, padding) if needs_x else None
        grad_g = _conv(x_, gw, stride, padding) if needs_g else None
        return grad_x, grad_g

    return record(data, (x, g), backward, "conv2d_grad_weight", fresh_grads=True)


# ---------------------------------------------------------------------------- the public API


def conv2d(input, weight, bias=None, stride=1, padding=0):  # noqa: A002 (PyTorch's names)
    """2-D convolution (cross-correlation, as in PyTorch) of ``input`` with ``weight``, + bias.

    input (N, C_in, H, W), weight (C_out, C_in, kH, kW), bias (C_out,) or None
    -> (N, C_out, (H + 2 pH - kH) // sH + 1, (W + 2 pW - kW) // sW + 1).
    """
    stride = int_pair("conv2d", "stride", stride, 1)  # checked once, here (see arguments.py)
    padding = int_pair("conv2d", "padding", padding, 0)
    x, w = _common_dtype(_tensor("conv2d", "input", input), _tensor("conv2d", "weight", weight))
    _check_4d("conv2d", "input", x)
    _check_4d("conv2d", "weight", w)
    if bias is None:
        return _conv(x, w, stride, padding)
    b = _checked_channel_bias(bias, w.shape[0], "conv2d")
    if b.dtype != x.dtype:  # mixed precision: add_bias's promoting +, after the op
        return add_bias(_conv(x, w, stride, padding), b)
    return _conv(x, w, stride, padding, b)  # the bias added by the kernel


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0,  # noqa: A002
                     output_padding=0):
    """Transposed convolution: the adjoint (gradient) of conv2d, which upsamples by ``stride``.

    input (N, C_in, H, W), weight (C_in, C_out, kH, kW) (PyTorch's layout), bias (C_out,)
    -> (N, C_out, (H - 1) sH - 2 pH + kH + opH, (W - 1) sW - 2 pW + kW + opW).

    Several output sizes convolve down to the same H, which is why ``output_padding`` exists: it
    picks the larger one (it must be smaller than the stride).
    """
    op = "conv_transpose2d"
    stride = int_pair(op, "stride", stride, 1)  # checked once, here (see arguments.py)
    padding = int_pair(op, "padding", padding, 0)
    extra = int_pair(op, "output_padding", output_padding, 0)
    x, w = _common_dtype(_tensor(op, "input", input), _tensor(op, "weight", weight))
    _check_4d(op, "input", x)
    _check_4d(op, "weight", w)
    if any(e >= s for e, s in zip(extra, stride)):
        raise ValueError(f"conv_transpose2d: output_padding {extra} must be smaller than the "
                         f"stride {stride}")
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"conv_transpose2d: input has {x.shape[1]} channels but weight expects {w.shape[0]} "
            f"(weight shape {w.shape}, layout (in, out, kH, kW))"
        )
    out_hw = tuple((n - 1) * s - 2 * p + k + e for n, s, p, k, e
                   in zip(x.shape[2:], stride, padding, w.shape[2:], extra))
    if min(out_hw) <= 0:
        raise ValueError(f"conv_transpose2d: input {x.shape} with weight {w.shape} gives an "
                         f"empty output {out_hw}")
    y = _grad_input(x, w, out_hw, stride, padding)
    return _add_channel_bias(y, bias, "conv_transpose2d")


def _checked_channel_bias(bias, channels, op):
    """The bias as a Tensor of shape (channels,), or a ValueError naming both shapes."""
    bias = as_tensor(bias)
    if bias.shape != (channels,):
        raise ValueError(f"{op}: bias of shape {bias.shape} does not match the {channels} "
                         f"output channels (expected ({channels},))")
    return bias


def _add_channel_bias(y, bias, op):
    """y + bias[c] at every pixel of channel c."""
    if bias is None:
        return y
    bias = _checked_channel_bias(bias, y.shape[1], op)
    return add_bias(y, bias)  # y + bias.reshape(1, channels, 1, 1), as one op (bias.py)
