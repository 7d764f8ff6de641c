"""2-D convolution and transposed convolution (PyTorch's conv2d and conv_transpose2d).

A placeholder: correct and differentiable (twice), built from NumPy and engine ops; it is to be
replaced by the kernel-backed ops with the same signatures.

conv2d as a matrix product (im2col). Every output pixel is the dot product of the weight with one
(C, kh, kw) patch of the (zero-padded) input. Gather all patches into columns,

    cols[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh * sh + i, ow * sw + j]

and the convolution is one matrix product, y[n] = W.reshape(O, C*kh*kw) @ cols[n].

conv_transpose2d is the adjoint (the backward with respect to the input) of conv2d: each input
pixel spreads W^T x over a (kh, kw) window of the output. Compute the columns W^T x and add each
back into the window it came from (col2im, the adjoint of im2col), then drop the padding.
``im2col`` and ``col2im`` are each other's backward, so both ops are differentiable any number of
times.
"""

import numpy as np

from ..engine import Tensor


def conv2d(input, weight, bias=None, stride=1, padding=0):
    """Cross-correlation of ``input`` (N, C, H, W) with ``weight`` (O, C, kh, kw), plus bias (O,).

    Output (N, O, Ho, Wo) with Ho = (H + 2 ph - kh) // sh + 1 (and likewise Wo).
    ``stride`` and ``padding`` are ints or (height, width) pairs; padding adds zeros.
    """
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    _check_4d(input, weight, "conv2d")
    n, c, h, w = input.shape
    out_channels, in_channels, kh, kw = weight.shape
    if c != in_channels:
        raise ValueError(f"conv2d: input of shape {input.shape} has {c} channels, but weight of "
                         f"shape {weight.shape} expects {in_channels}")
    ho = (h + 2 * padding[0] - kh) // stride[0] + 1
    wo = (w + 2 * padding[1] - kw) // stride[1] + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv2d: kernel {(kh, kw)} is larger than the padded input "
                         f"{(h + 2 * padding[0], w + 2 * padding[1])} (input {input.shape})")
    cols = _im2col(_pad(input, padding), (kh, kw), stride, (ho, wo))  # (N, C, kh, kw, Ho, Wo)
    cols = cols.reshape(n, c * kh * kw, ho * wo)
    out = (weight.reshape(out_channels, c * kh * kw) @ cols).reshape(n, out_channels, ho, wo)
    return out if bias is None else out + _channel_bias(bias, out_channels, "conv2d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution of ``input`` (N, Cin, H, W) with ``weight`` (Cin, Cout, kh, kw).

    Output (N, Cout, Ho, Wo) with Ho = (H - 1) sh - 2 ph + kh + output_padding_h: the shape of
    the input of a conv2d (same kernel, stride, padding) whose output has the shape of ``input``.
    ``output_padding`` (< stride) picks among the several such shapes when the stride is > 1.
    """
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    output_padding = _pair(output_padding, "output_padding")
    _check_4d(input, weight, "conv_transpose2d")
    n, c, h, w = input.shape
    in_channels, out_channels, kh, kw = weight.shape
    if c != in_channels:
        raise ValueError(f"conv_transpose2d: input of shape {input.shape} has {c} channels, but "
                         f"weight of shape {weight.shape} expects {in_channels}")
    for op, s in zip(output_padding, stride):
        if not 0 <= op < s:
            raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller "
                             f"than stride {stride}")
    ho = (h - 1) * stride[0] - 2 * padding[0] + kh + output_padding[0]
    wo = (w - 1) * stride[1] - 2 * padding[1] + kw + output_padding[1]
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv_transpose2d: output size {(ho, wo)} is not positive "
                         f"(input {input.shape}, weight {weight.shape}, padding {padding})")
    # columns: W^T x, one (Cout, kh, kw) window per input pixel
    cols = weight.reshape(in_channels, out_channels * kh * kw).T @ input.reshape(n, c, h * w)
    cols = cols.reshape(n, out_channels, kh, kw, h, w)
    # the un-cropped output: every window lands at (ih * sh + i, iw * sw + j)
    full = ((h - 1) * stride[0] + kh + output_padding[0],
            (w - 1) * stride[1] + kw + output_padding[1])
    out = _col2im(cols, (n, out_channels) + full, stride)
    out = out[:, :, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo]
    return out if bias is None else out + _channel_bias(bias, out_channels, "conv_transpose2d")


# ------------------------------------------------------------------------------- helpers


def _im2col(x, kernel, stride, out_hw):
    """Patches (N, C, kh, kw, Ho, Wo) of x (N, C, H, W); an op whose backward is col2im."""
    if isinstance(x, Tensor):
        shape = x.shape

        def backward(g, out, x_):
            return (_col2im(g, shape, stride),)

        return Tensor._result(_im2col(x.data, kernel, stride, out_hw), (x,), backward, "im2col")
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    cols = np.empty(x.shape[:2] + (kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):  # one strided slice per kernel offset: kh*kw copies, no Python per pixel
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
    return cols


def _col2im(cols, shape, stride):
    """Sum patches (N, C, kh, kw, Ho, Wo) back into an (N, C, H, W) = ``shape`` array.

    The adjoint of im2col: a pixel that was in several patches receives the sum of their values.
    """
    n, c, kh, kw, ho, wo = cols.shape
    if isinstance(cols, Tensor):

        def backward(g, out, cols_):
            return (_im2col(g, (kh, kw), stride, (ho, wo)),)

        return Tensor._result(_col2im(cols.data, shape, stride), (cols,), backward, "col2im")
    sh, sw = stride
    x = np.zeros(shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            x[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
    return x


def _pad(x, padding):
    """x (N, C, H, W) with ``padding`` zeros added on each side of H and W; backward crops."""
    ph, pw = padding
    if ph == pw == 0:
        return x
    h, w = x.shape[2:]

    def backward(g, out, x_):
        return (g[:, :, ph:ph + h, pw:pw + w],)

    data = np.pad(x.data, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return Tensor._result(data, (x,), backward, "pad")


def _channel_bias(bias, channels, name):
    if bias.shape != (channels,):
        raise ValueError(f"{name}: bias of shape {bias.shape} does not match the {channels} "
                         f"output channels (expected ({channels},))")
    return bias.reshape(1, channels, 1, 1)


def _check_4d(input, weight, name):
    if input.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W) and a 4-D weight, got "
                         f"input {input.shape} and weight {weight.shape}")


def _pair(value, name):
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)
