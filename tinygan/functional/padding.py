"""Reflection padding: extend an image by mirroring it at its borders (without repeating the
border pixel).

For one row x_0 .. x_{W-1} and a padding of p on each side (p < W),

    x_p ... x_2 x_1 | x_0 x_1 ... x_{W-1} | x_{W-2} x_{W-3} ... x_{W-1-p}

and the same along the columns. In formulas, y[i] = x[r(i - p)] with r(k) = |k| for k < 0 and
r(k) = 2 (W - 1) - k for k > W - 1 (the identity in between).

Why CycleGAN uses it (Zhu et al. 2017, after Johnson et al. 2016): a zero-padded convolution sees
an artificial dark frame around every image and a generator learns to draw it (border artifacts
in the translations); a reflected border continues the image's own texture. The price is
nothing: padding is a copy.

The op is linear, so its backward is its adjoint: every output pixel sends its gradient back to
the input pixel it copied, and a border pixel that was copied twice (once in place, once
mirrored) receives both (``_fold``). The adjoint of ``_fold`` is the padding again, so each op is
the other's derivative and second derivatives work (as for the convolutions).
"""

import numpy as np

from ..arguments import integer
from ..engine import Tensor, as_tensor, record


def reflection_pad2d(input, padding):
    """``input`` (N, C, H, W) padded by reflection: (N, C, H + top + bottom, W + left + right).

    ``padding``: an int p (all four sides) or a tuple (left, right, top, bottom) as PyTorch's
    ``F.pad``; each side smaller than the size of its axis (a reflection needs that many pixels).
    """
    input = as_tensor(input)
    pads = _pads(padding)
    if input.ndim != 4:
        raise ValueError(f"reflection_pad2d: expected an input of shape (N, C, H, W), got "
                         f"{input.shape}")
    (left, right, top, bottom), (h, w) = pads, input.shape[2:]
    if max(top, bottom) >= h or max(left, right) >= w:
        raise ValueError(f"reflection_pad2d: padding (left, right, top, bottom) = {pads} must "
                         f"be smaller than the input's size (H, W) = {(h, w)} on each side")
    return _pad(input, pads)


def _pads(padding):
    if isinstance(padding, int | np.integer) and not isinstance(padding, bool):
        padding = (padding,) * 4
    if not isinstance(padding, tuple | list) or len(padding) != 4:
        raise ValueError(f"reflection_pad2d: padding must be an int or a tuple (left, right, "
                         f"top, bottom), got {padding!r}")
    return tuple(integer("reflection_pad2d", "padding", p, minimum=0) for p in padding)


def _pad(x, pads):
    """Reflection padding; for Tensors a recorded op (backward: ``_fold``), for ndarrays NumPy."""
    left, right, top, bottom = pads
    if not isinstance(x, Tensor):
        return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode="reflect")
    data = _pad(x.data, pads)
    hw = x.shape[2:]

    def backward(g, out, x_):
        return (_fold(g, pads, hw),)

    return record(data, (x,), backward, "reflection_pad2d")


def _fold(g, pads, hw):
    """The adjoint of ``_pad``: g (N, C, H + top + bottom, W + left + right) -> (N, C, H, W),
    each mirrored pixel's gradient added to the pixel it copied."""
    left, right, top, bottom = pads
    h, w = hw
    if isinstance(g, Tensor):
        data = _fold(g.data, pads, hw)

        def backward(gg, out, g_):
            return (_pad(gg, pads),)

        return record(data, (g,), backward, "reflection_fold")
    # Columns: the left pad holds x[..., p], ..., x[..., 1] (reversed), the right pad
    # x[..., w-2], ..., x[..., w-1-right].
    cols = g[..., left:left + w].copy()
    cols[..., 1:left + 1] += g[..., :left][..., ::-1]
    cols[..., w - 1 - right:w - 1] += g[..., left + w:][..., ::-1]
    # Rows, the same along axis 2.
    out = cols[:, :, top:top + h].copy()
    out[:, :, 1:top + 1] += cols[:, :, :top][:, :, ::-1]
    out[:, :, h - 1 - bottom:h - 1] += cols[:, :, top + h:][:, :, ::-1]
    return out
