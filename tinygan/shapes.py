"""Shape arithmetic of the backward functions: undoing broadcasting and reductions.

Two facts drive every gradient's shape:

- an operand broadcast from shape (3,) to (4, 3) was used 4 times, so its gradient is the sum of
  the 4 gradients: ``sum_to(g, (3,))``;
- a reduction over some axes (``x.sum(axis=1)``) removed them; its gradient is copied back along
  them, which needs the removed axes back as size 1 first: ``keep_reduced_axes``.

These functions only call ``.sum``, ``.reshape`` and ``.shape``, which ndarrays and Tensors both
have, so the same backward code runs on either (see the conventions in ``tinygan/engine.py``).
"""


def sum_to(g, shape):
    """Sum ``g`` over the axes along which an operand of ``shape`` was broadcast."""
    if g.shape == shape:
        return g
    leading = g.ndim - len(shape)
    axes = tuple(range(leading)) + tuple(
        leading + i for i, n in enumerate(shape) if n == 1 and g.shape[leading + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def reduced_axes(ndim, axis):
    """The set of (non-negative) axes that ``axis`` names; None names them all."""
    if axis is None:
        return set(range(ndim))
    return {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}


def reduced_shape(shape, axis, keepdims):
    """The shape after reducing ``axis`` (None: all axes)."""
    axes = reduced_axes(len(shape), axis)
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def keep_reduced_axes(g, shape, axis, keepdims):
    """Reshape a reduction's result so the reduced axes are back as size 1 (for broadcasting)."""
    return g if keepdims else g.reshape(reduced_shape(shape, axis, True))
