"""The bad-input suite, fuzz: the compiled kernels' Python-callable entry points with
adversarial geometry (issue 9, "Also"), so that the class of bug of items 1 and 2 -- a size
computation that overflows, a guard that passes, a kernel that writes outside its arrays --
cannot come back.

Every entry point that Python code can reach is called with sizes that are huge (near 2**63,
as zero-stride views that need no memory), negative, zero, mismatched or overflowing, with odd
strides and with outputs that alias inputs. The contract: each call either raises a Python
exception (TypeError, ValueError, OverflowError, MemoryError, IndexError) or returns the right
numbers. A kernel that crashes kills this test process, which fails the run.

The entry points: ``gemm.gemm``, ``gemm.set_num_threads``, ``conv.conv2d`` and its two
gradients, and the helpers ``conv._im2col``, ``conv._col2im``, ``conv._swap_first_axes``.
See tests/test_bad_inputs.py for the rules of the suite.
"""

import importlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygan

pytestmark = pytest.mark.skipif("compiled" not in tinygan.kernels.available(),
                                reason="the compiled kernels are not built")

if "compiled" in tinygan.kernels.available():
    gemm = importlib.import_module("tinygan._kernels.gemm")
    conv = importlib.import_module("tinygan._kernels.conv")
from tinygan._kernels import conv_numpy, gemm_numpy  # noqa: E402 (after the compiled imports)

REFUSALS = (TypeError, ValueError, OverflowError, MemoryError, IndexError)

# Sizes a hostile caller would try: the edges of every integer type a kernel might use.
EDGES = [0, 1, 2, 3, 7, 16, 17, 2**31 - 1, 2**31, 2**32 + 1, 2**62, 2**63 - 1, 2**63, 2**64 + 3]
any_int = st.one_of(st.integers(-3, 20), st.sampled_from(EDGES + [-(2**63), -(2**31)]),
                    st.integers(-(2**70), 2**70))


# ---------------------------------------------------------------------------------------------
# GEMM: small operands in every layout, compared with float64 NumPy.


def _layout(draw, shape, dtype, kind):
    """An array of ``shape`` as ``kind``: contiguous, a stepped view, a reversed view, a zero-
    stride broadcast, or Fortran order."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "broadcast":
        return np.broadcast_to(rng.standard_normal((1,) * len(shape)).astype(dtype), shape)
    base = rng.standard_normal(shape).astype(dtype)
    if kind == "stepped":
        big = np.zeros(tuple(2 * n for n in shape), dtype)
        view = big[tuple(slice(None, None, 2) for _ in shape)]
        view[...] = base
        return view
    if kind == "reversed":
        return np.ascontiguousarray(base[..., ::-1, ::-1])[..., ::-1, ::-1]
    if kind == "fortran":
        return np.asfortranarray(base)
    return base


@st.composite
def gemm_operands(draw):
    dim = st.sampled_from([0, 1, 2, 3, 5, 16, 17, 33])
    m, k, n, batch = draw(dim), draw(dim), draw(dim), draw(st.sampled_from([None, 1, 3]))
    k_b = k if draw(st.booleans()) or k == 0 else k + 1  # sometimes mismatched
    transpose_a, transpose_b = draw(st.booleans()), draw(st.booleans())
    a_shape = (k, m) if transpose_a else (m, k)
    b_shape = (n, k_b) if transpose_b else (k_b, n)
    if batch is not None:
        which = draw(st.sampled_from(["a", "b", "both", "mismatch"]))
        if which in ("a", "both", "mismatch"):
            a_shape = (batch, *a_shape)
        if which in ("b", "both"):
            b_shape = (batch, *b_shape)
        if which == "mismatch":
            b_shape = (batch + 1, *b_shape)
    dtypes = draw(st.sampled_from([(np.float32, np.float32), (np.float64, np.float64),
                                   (np.float32, np.float64), (np.int64, np.int64)]))
    kinds = st.sampled_from(["contiguous", "stepped", "reversed", "broadcast", "fortran"])
    a = _layout(draw, a_shape, dtypes[0], draw(kinds))
    b = _layout(draw, b_shape, dtypes[1], draw(kinds))
    return a, b, transpose_a, transpose_b


@settings(max_examples=300, deadline=None)
@given(gemm_operands())
def test_fuzz_gemm_small_operands_in_every_layout(operands):
    a, b, transpose_a, transpose_b = operands
    try:
        c = gemm.gemm(a, b, transpose_a, transpose_b)
    except REFUSALS:
        with pytest.raises(REFUSALS):  # the twin refuses the same input
            gemm_numpy.gemm(a, b, transpose_a, transpose_b)
        return
    op_a = np.swapaxes(a, -1, -2) if transpose_a else a
    op_b = np.swapaxes(b, -1, -2) if transpose_b else b
    expected = np.matmul(op_a.astype(np.float64), op_b.astype(np.float64))
    assert c.shape == expected.shape and c.dtype == a.dtype
    tolerance = 1e-4 if a.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(c, expected, rtol=tolerance, atol=tolerance * max(1, a.shape[-1]))


# GEMM with sizes up to 2**62: zero-stride views of one element, no memory behind them. Every
# such product must be refused (its buffers or its output cannot exist), never computed with a
# size that wrapped around. k is huge only with m, n <= 16 and fully zero-stride operands: that
# product needs a k-sized buffer (the dot path), so it is refused, not run for 2**40 steps.


@st.composite
def huge_gemm_operands(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    itemsize = np.dtype(dtype).itemsize
    threads = draw(st.sampled_from([1, 2, 3, 4]))  # buffer sizes grow with the thread count
    which = draw(st.sampled_from(["k", "k", "m", "n", "batch"]))
    small = st.sampled_from([1, 1, 2, 3, 5, 16])
    m, n = draw(small), draw(small)
    # >= 2**46 elements: at least 2**48 bytes (256 TiB), which no allocation can get, so an
    # accepted call would be a bug, not a machine with a lot of memory. And sizes just past a
    # wrap-around: c * size * itemsize = 2**64 + a few bytes, with c the number of size-long
    # rows a buffer holds (threads + n for the dot path), so that a buffer computed in C
    # integers would come out as a few bytes: the bug of item 1 (c = 2 + 1, float64).
    rows = st.sampled_from([threads + n, threads + 1, n + 1, threads * (n + 1), 1, 2, 3])
    wrapping = st.builds(lambda c, extra: (2**64 + extra) // (c * itemsize), rows,
                         st.sampled_from([0, 8, 64, 128, 4096]))
    huge = st.one_of(wrapping, st.integers(2**46, 2**62),
                     st.sampled_from([2**46, 2**50, 2**59, 2**60, 2**61, 2**62]))
    m = draw(huge) if which == "m" else m
    n = draw(huge) if which == "n" else n
    k = draw(huge) if which == "k" else draw(st.integers(1, 40))
    batch = draw(huge) if which == "batch" else None
    transpose_a, transpose_b = draw(st.booleans()), draw(st.booleans())
    one = np.ones((), dtype)
    a_shape = (k, m) if transpose_a else (m, k)
    b_shape = (n, k) if transpose_b else (k, n)
    if batch is not None:
        a_shape = (batch, *a_shape)
    try:
        a, b = np.broadcast_to(one, a_shape), np.broadcast_to(one, b_shape)
    except ValueError:  # NumPy itself refuses views whose byte size overflows
        assume(False)
    return a, b, transpose_a, transpose_b, threads


@settings(max_examples=150, deadline=None)
@given(huge_gemm_operands())
def test_fuzz_gemm_sizes_near_2_63_are_refused(operands):
    a, b, transpose_a, transpose_b, threads = operands
    before = gemm.get_num_threads()
    gemm.set_num_threads(threads)
    try:
        with pytest.raises((MemoryError, ValueError)):
            gemm.gemm(a, b, transpose_a, transpose_b)
    finally:
        gemm.set_num_threads(before)


@settings(max_examples=200, deadline=None)
@given(st.one_of(any_int, st.floats(allow_nan=True), st.booleans(), st.none(), st.text()))
def test_fuzz_set_num_threads(value):
    before = gemm.get_num_threads()
    try:
        gemm.set_num_threads(value)
    except (TypeError, ValueError):
        assert gemm.get_num_threads() == before
        return
    finally:
        gemm.set_num_threads(before)
    assert isinstance(value, int) and 1 <= value <= gemm.MAX_THREADS


# ---------------------------------------------------------------------------------------------
# Convolution: the three public kernels with any geometry, compared with the twin.


@st.composite
def conv_arguments(draw):
    size = st.integers(0, 6)
    N, C, O, H, W = (draw(size) for _ in range(5))
    kH, kW = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    stride = draw(st.one_of(st.integers(1, 3), any_int,
                            st.tuples(st.integers(-1, 3), st.sampled_from([1, 2, 2**62])),
                            st.sampled_from([1.5, None, True, (1,), (1, 2, 3)])))
    padding = draw(st.one_of(st.integers(0, 2), any_int,
                             st.tuples(st.integers(-1, 2), st.sampled_from([0, 2**40, 2**62]))))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((O, C + draw(st.sampled_from([0, 0, 0, 1])), kH, kW)).astype(dtype)
    return x, w, stride, padding


def _same_outcome(call):
    """Call the compiled kernel and its twin the same way: both refuse, or both agree."""
    try:
        expected = call(conv_numpy)
    except REFUSALS as twin_error:
        with pytest.raises(type(twin_error)):
            call(conv)
        return
    np.testing.assert_allclose(call(conv), expected, rtol=1e-4, atol=1e-4)


MAX_ELEMENTS = 10**6  # a valid geometry needing more is a legitimate (big) request: not run


def _assume_small(x, w, stride, padding):
    """Skip valid geometries whose arrays would be big (padding=10**5 is valid, and would
    really allocate gigabytes); invalid ones are kept: both kernels must refuse them."""
    try:
        g = conv_numpy.check_conv2d(x, w, stride, padding)[2]
    except REFUSALS:
        return
    (H, W), (pH, pW), (H_out, W_out) = g.in_hw, g.padding, g.out_hw
    sizes = ((H + 2 * pH) * (W + 2 * pW), g.batch * g.out_channels * H_out * W_out,
             g.col_rows * g.batch * H_out * W_out)
    assume(max(sizes) <= MAX_ELEMENTS)


@settings(max_examples=120, deadline=None)
@given(conv_arguments())
def test_fuzz_conv_kernels_with_any_geometry(arguments):
    x, w, stride, padding = arguments
    _assume_small(x, w, stride, padding)
    _same_outcome(lambda module: module.conv2d(x, w, stride, padding))
    try:
        y = conv_numpy.conv2d(x, w, stride, padding)
    except REFUSALS:
        y = np.ones((x.shape[0], w.shape[0], 2, 2), x.dtype)
    _same_outcome(lambda module: module.conv2d_grad_input(y, w, x.shape[2:], stride, padding))
    _same_outcome(lambda module: module.conv2d_grad_weight(x, y, w.shape[2:], stride, padding))


# ---------------------------------------------------------------------------------------------
# The im2col / col2im helpers: arbitrary integers for every size, arrays of arbitrary shapes,
# and outputs that alias inputs. Accepted calls are checked against plain loops.


def reference_im2col(x, kH, kW, sH, sW, pH, pW, H_out, W_out):
    N, C, H, W = x.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pH, pH), (pW, pW)))
    cols = np.zeros((C * kH * kW, N * H_out * W_out), x.dtype)
    for c in range(C):
        for p in range(kH):
            for q in range(kW):
                for n in range(N):
                    for i in range(H_out):
                        for j in range(W_out):
                            cols[(c * kH + p) * kW + q, (n * H_out + i) * W_out + j] = \
                                x_pad[n, c, i * sH + p, j * sW + q]
    return cols


def reference_col2im(dcols, shape, kH, kW, sH, sW, pH, pW, H_out, W_out):
    N, C, H, W = shape
    dx_pad = np.zeros((N, C, H + 2 * pH, W + 2 * pW), dcols.dtype)
    for c in range(C):
        for p in range(kH):
            for q in range(kW):
                for n in range(N):
                    for i in range(H_out):
                        for j in range(W_out):
                            dx_pad[n, c, i * sH + p, j * sW + q] += \
                                dcols[(c * kH + p) * kW + q, (n * H_out + i) * W_out + j]
    return dx_pad[:, :, pH:pH + H, pW:pW + W]


def wrapped(value):
    """``value`` as a signed 64-bit C integer would hold it (wrapped around modulo 2**64)."""
    return (value + 2**63) % 2**64 - 2**63


@st.composite
def helper_geometry(draw):
    small = st.integers(0, 4)
    N, C, H, W = draw(small), draw(small), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    near_wrap = st.sampled_from([2**61, 2**62, 2**62 + 1, 2**63 - 1])
    geometry = {}
    for name, low in (("kH", 1), ("kW", 1), ("sH", 1), ("sW", 1), ("pH", 0), ("pW", 0)):
        geometry[name] = draw(st.one_of(st.integers(low, 3), near_wrap, any_int))
    # usually the consistent output size (so that calls get accepted), sometimes anything
    for out, size, k, s, p in (("H_out", H, "kH", "sH", "pH"), ("W_out", W, "kW", "sW", "pW")):
        g = geometry
        valid = (size + 2 * g[p] - g[k]) // g[s] + 1 if g[s] > 0 else 0
        geometry[out] = draw(st.one_of(st.just(valid), any_int))
    g = geometry
    rows = C * g["kH"] * g["kW"]
    columns = N * g["H_out"] * g["W_out"]
    plane = (H + 2 * g["pH"]) * (W + 2 * g["pW"])
    # The array sizes: the true ones (when small enough to exist), the ones a C guard whose
    # products wrap around would have expected (the adversary of item 2), or anything.
    candidates = [(rows, columns, plane),
                  (wrapped(rows), wrapped(columns), wrapped(plane))]
    choice = draw(st.sampled_from(candidates + candidates[1:] + [None]))
    if choice is None or not all(0 <= n <= 4096 for n in choice[:2]):
        cols_shape = (draw(st.integers(0, 40)), draw(st.integers(0, 40)))
    else:
        cols_shape = choice[:2]
    if choice is not None and 0 <= choice[2] <= 4096 and draw(st.booleans()):
        scratch_columns = choice[2]
    else:
        scratch_columns = draw(st.integers(0, 200))
    alias = draw(st.sampled_from([None, None, "scratch is cols", "cols is x"]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return (N, C, H, W), cols_shape, scratch_columns, alias, dtype, geometry


@settings(max_examples=200, deadline=None)
@given(helper_geometry())
def test_fuzz_im2col_and_col2im_with_adversarial_geometry(case):
    image_shape, cols_shape, scratch_columns, alias, dtype, g = case
    rng = np.random.default_rng(0)
    threads = gemm.get_num_threads()
    image = rng.standard_normal(image_shape).astype(dtype)
    cols = rng.standard_normal(cols_shape).astype(dtype)
    scratch = np.zeros((threads, scratch_columns), dtype)
    if alias == "scratch is cols" and cols.size:
        scratch = cols.reshape(1, -1) if threads == 1 else cols[:1].reshape(1, -1)
    if alias == "cols is x" and image.size:
        cols = image.reshape(image.shape[0] * image.shape[1], -1)
    # im2col: x -> cols
    try:
        conv._im2col(image, cols, scratch, **g)
    except REFUSALS:
        pass
    else:
        expected = reference_im2col(image, **g)
        np.testing.assert_array_equal(cols, expected)
    # col2im: dcols -> dx
    dx = np.zeros(image_shape, dtype)
    dcols = rng.standard_normal(cols.shape).astype(dtype)
    if alias == "cols is x" and dx.size:
        dcols = dx.reshape(dx.shape[0] * dx.shape[1], -1)
    try:
        conv._col2im(dcols, dx, scratch, **g)
    except REFUSALS:
        pass
    else:
        expected = reference_col2im(dcols, image_shape, **g)
        np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=100, deadline=None)
@given(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)),
       st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)), st.booleans())
def test_fuzz_swap_first_axes(src_shape, dst_shape, alias):
    src = np.arange(np.prod(src_shape), dtype=np.float64).reshape(src_shape)
    dst = src if alias else np.zeros(dst_shape)
    try:
        conv._swap_first_axes(src, dst)
    except REFUSALS:
        assert alias and src.size or dst.shape != (src.shape[1], src.shape[0], src.shape[2])
        return
    np.testing.assert_array_equal(dst, src.transpose(1, 0, 2))
