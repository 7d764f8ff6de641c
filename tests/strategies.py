"""Hypothesis strategies for the gradient checks: small shapes, axes, and inputs kept away from
the points where an op is not differentiable.

Shapes are small on purpose: gradcheck perturbs every input element twice, and gradgradcheck
does that for a function that itself runs a backward pass.

Values come from a NumPy generator seeded by a hypothesis-drawn integer, so every example is
reproducible from hypothesis' report, and the *shapes* (what hypothesis shrinks) stay readable.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg

MAX_SIDE = 3
MAX_DIMS = 3

seeds = st.integers(0, 2**32 - 1)

# 0-d to 3-d, every side 1..3 (so size-1 axes are common): at most 27 elements
shapes = hnp.array_shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)

# two shapes that broadcast together, e.g. (3, 1) and (2, 1, 1): size-1 axes and missing axes
broadcasting_pairs = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE
)


@st.composite
def axes(draw, ndim):
    """An ``axis`` argument for a reduction over ``ndim`` axes: None, an int (maybe negative),
    or a tuple of distinct axes (maybe negative, maybe empty)."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    return draw(hnp.valid_tuple_axes(ndim))


def tensor64(values):
    """A float64 leaf that requires grad (what gradcheck needs)."""
    return tg.tensor(np.asarray(values, dtype=np.float64), dtype=np.float64, requires_grad=True)


# ------------------------------------------------------------------ values for each domain


def normal(rng, shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def positive(rng, shape, low=0.5, high=2.0):
    """Strictly positive values (log, sqrt, bases of tensor powers, denominators)."""
    return rng.uniform(low, high, shape)


def away_from_zero(rng, shape, low=0.2, high=2.0):
    """Random sign, magnitude in [low, high]: keeps abs/relu/leaky_relu off their kink at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, shape)


def distinct(rng, shape, gap=0.1):
    """All values different by at least ``gap`` (no ties for max/min), in random order."""
    size = int(np.prod(shape, dtype=int))
    return rng.permutation(np.arange(size) * gap - size * gap / 2).reshape(shape)


def away_from(rng, shape, points, margin=0.1, low=-2.0, high=2.0):
    """Uniform values in [low, high] that are at least ``margin`` away from every point."""
    values = rng.uniform(low, high, shape)
    for point in points:
        close = np.abs(values - point) < margin
        values = np.where(close, point + np.sign(values - point + 1e-12) * margin * 2, values)
    return values
