"""The three rungs of GEMM agree: the compiled kernel (gemm.pyx) and the naive triple loop
(gemm_naive.py) must match the NumPy twin (gemm_numpy.py) on every input.

Random shapes for the compiled kernel are drawn around its block sizes (MR x NR micro-tiles,
KC/MC/NC cache blocks), so edge tiles and multi-block loops are exercised, with both dtypes, all
four transpose combinations, strided views and batches; the naive rung runs the same properties on
small shapes. Bad inputs must raise the twin's errors on every rung.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygan._kernels import gemm as compiled
from tinygan._kernels import gemm_naive as naive
from tinygan._kernels import gemm_numpy as twin

INFO = compiled.build_info()
MR, NR_F32 = INFO["micro_kernel_float32"]
KC, MC, NC = INFO["blocks_kc_mc_nc"]

# Sizes that matter to a blocked kernel: 0, 1, primes, one less/more than a tile or a block.
INTERESTING_SIZES = sorted(
    {0, 1, 2, 3, 5, 7, 13, 31, 61, MR - 1, MR, MR + 1, NR_F32 - 1, NR_F32 + 1, MC + 7, KC + 3}
)
sizes = st.one_of(st.sampled_from(INTERESTING_SIZES), st.integers(1, 150))
tiny_sizes = st.integers(0, 5)  # the naive rung: a Python statement per multiply-add
dtypes = st.sampled_from([np.float32, np.float64])


def assert_matches_twin(a, b, transpose_a=False, transpose_b=False, rung=compiled):
    """gemm(a, b) equals the twin's result within the rounding of a different summation order."""
    expected = twin.gemm(a, b, transpose_a, transpose_b)
    result = rung.gemm(a, b, transpose_a, transpose_b)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    assert result.flags.c_contiguous
    k = b.shape[-1] if transpose_b else b.shape[-2]
    # Each entry is a sum of k products; the two sums round differently, by about
    # eps * k * (sum of |products|). Compare relative to the magnitude of the entries.
    eps = np.finfo(a.dtype).eps
    scale = twin.gemm(np.abs(a), np.abs(b), transpose_a, transpose_b) + 1.0
    np.testing.assert_array_less(np.abs(result - expected), 4 * eps * max(k, 1) * scale)


def random_operand(rng, shape, dtype, view):
    """An array of `shape` that is contiguous, a stepped slice of a bigger array, or negative-
    strided: the kernel must read all of them through their strides, never assuming layout."""
    if view == "contiguous":
        return rng.standard_normal(shape).astype(dtype)
    if view == "stepped":
        bigger = rng.standard_normal(tuple(2 * s + 1 for s in shape)).astype(dtype)
        return bigger[tuple(slice(1, 1 + 2 * s, 2) for s in shape)]
    reversed_ = rng.standard_normal(shape).astype(dtype)
    return reversed_[..., ::-1, :]  # "reversed": a negative row stride


views = st.sampled_from(["contiguous", "stepped", "reversed"])


def operands(rng, m, k, n, dtype, transpose_a, transpose_b, view_a, view_b, batch_a=(), batch_b=()):
    a_shape = batch_a + ((k, m) if transpose_a else (m, k))
    b_shape = batch_b + ((n, k) if transpose_b else (k, n))
    return random_operand(rng, a_shape, dtype, view_a), random_operand(rng, b_shape, dtype, view_b)


def check_2d(rung, m, k, n, dtype, transpose_a, transpose_b, view_a, view_b, seed):
    rng = np.random.default_rng(seed)
    a, b = operands(rng, m, k, n, dtype, transpose_a, transpose_b, view_a, view_b)
    assert_matches_twin(a, b, transpose_a, transpose_b, rung)


def check_batched(rung, batch, m, k, n, dtype, transpose_a, transpose_b, layout, view_a, view_b,
                  seed):
    rng = np.random.default_rng(seed)
    batch_a = () if layout == "2d@3d" else (batch,)
    batch_b = () if layout == "3d@2d" else (batch,)
    a, b = operands(rng, m, k, n, dtype, transpose_a, transpose_b, view_a, view_b, batch_a, batch_b)
    assert_matches_twin(a, b, transpose_a, transpose_b, rung)


matrix_flags = dict(dtype=dtypes, transpose_a=st.booleans(), transpose_b=st.booleans(),
                    view_a=views, view_b=views, seed=st.integers(0, 2**32 - 1))
layouts = st.sampled_from(["3d@3d", "3d@2d", "2d@3d"])


@settings(max_examples=600, deadline=None)
@given(m=sizes, k=sizes, n=sizes, **matrix_flags)
def test_2d_matches_twin(m, k, n, dtype, transpose_a, transpose_b, view_a, view_b, seed):
    check_2d(compiled, m, k, n, dtype, transpose_a, transpose_b, view_a, view_b, seed)


@settings(max_examples=60, deadline=None)
@given(m=tiny_sizes, k=tiny_sizes, n=tiny_sizes, **matrix_flags)
def test_naive_2d_matches_twin(m, k, n, dtype, transpose_a, transpose_b, view_a, view_b, seed):
    check_2d(naive, m, k, n, dtype, transpose_a, transpose_b, view_a, view_b, seed)


@settings(max_examples=300, deadline=None)
@given(batch=st.integers(0, 5), m=sizes, k=sizes, n=sizes, layout=layouts, **matrix_flags)
def test_batched_matches_twin(
    batch, m, k, n, dtype, transpose_a, transpose_b, layout, view_a, view_b, seed
):
    check_batched(compiled, batch, m, k, n, dtype, transpose_a, transpose_b, layout, view_a,
                  view_b, seed)


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(0, 3), m=tiny_sizes, k=tiny_sizes, n=tiny_sizes, layout=layouts,
       **matrix_flags)
def test_naive_batched_matches_twin(
    batch, m, k, n, dtype, transpose_a, transpose_b, layout, view_a, view_b, seed
):
    check_batched(naive, batch, m, k, n, dtype, transpose_a, transpose_b, layout, view_a,
                  view_b, seed)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_larger_than_every_block(dtype, transpose_a, transpose_b):
    """m > MC, k > KC and n > NR: several blocks in each loop, plus ragged edges."""
    rng = np.random.default_rng(0)
    m, k, n = MC * 2 + 5, KC * 2 + 3, NR_F32 * 3 + 7
    a, b = operands(rng, m, k, n, dtype, transpose_a, transpose_b, "contiguous", "contiguous")
    assert_matches_twin(a, b, transpose_a, transpose_b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [17, "NR"])
@pytest.mark.parametrize("k", [KC + 3, 8 * KC + 5])  # one slice; split along k (SPLIT_DEPTH)
@pytest.mark.parametrize("view", ["contiguous", "stepped", "reversed"])
@pytest.mark.parametrize("threads", [1, 2])
def test_short_c_times_transposed_b(dtype, m, k, view, threads):
    """x @ W^T with at most NR rows (a Dense layer's forward pass on a batch) is computed as
    (W @ x^T)^T, W's rows read in place by the micro-kernel: several row blocks of W, a last
    sliver of fewer than MR rows, a long k, W as a strided or reversed view, both dtypes, a
    batch of such products, one or two threads."""
    rng = np.random.default_rng(7)
    if m == "NR":
        m = INFO["micro_kernel_float32" if dtype == np.float32 else "micro_kernel_float64"][1]
    n = MC + MR + 1
    x = random_operand(rng, (m, k), dtype, "contiguous")
    w = random_operand(rng, (n, k), dtype, view)
    batch = random_operand(rng, (2, m, k), dtype, view)
    previous = compiled.get_num_threads()
    try:
        compiled.set_num_threads(threads)
        assert_matches_twin(x, w, transpose_b=True)
        assert_matches_twin(batch, w, transpose_b=True)
        assert_matches_twin(w, x, transpose_b=True)  # C^T = W @ x^T itself: W read in place
    finally:
        compiled.set_num_threads(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6272, 64), (517, 17), (2, 300, 33), (5, 1), (1, 16)])
@pytest.mark.parametrize("threads", [1, 2])
def test_transposed_moves_every_value(dtype, shape, threads):
    """_transposed (the blocked transpose that turns C^T back into C): bands of rows in
    parallel, 16 x 16 register blocks, scalar edges, batches; exactly the swapped axes."""
    c_t = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    previous = compiled.get_num_threads()
    try:
        compiled.set_num_threads(threads)
        out = compiled._transposed(c_t)
    finally:
        compiled.set_num_threads(previous)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.swapaxes(c_t, -1, -2))


def test_wider_than_one_column_panel():
    """n > NC: the outermost loop runs more than once."""
    rng = np.random.default_rng(1)
    a, b = operands(rng, 7, 9, NC + 70, np.float32, False, False, "contiguous", "stepped")
    assert_matches_twin(a, b)


def test_batch_strides_and_transposed_views():
    """A transposed view, a batch taken with a step, and a Fortran-ordered array."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 40, 30))[::2]  # non-contiguous batch axis
    b = np.asfortranarray(rng.standard_normal((40, 50)))
    assert_matches_twin(a, b, transpose_a=True)
    assert_matches_twin(a.transpose(0, 2, 1), b)


@pytest.mark.parametrize("rung", [naive, twin, compiled], ids=["naive", "numpy", "compiled"])
def test_zero_inner_dimension_gives_zeros(rung):
    a = np.ones((3, 0), dtype=np.float32)
    b = np.ones((0, 4), dtype=np.float32)
    result = rung.gemm(a, b)
    assert result.shape == (3, 4)
    assert not result.any()


def test_misaligned_and_odd_strided_views():
    """Hand-made views whose data pointer or strides are not whole items: read correctly."""
    misaligned = np.ndarray((10, 10), np.float64, buffer=np.zeros(801, np.uint8), offset=1)
    odd_rows = np.ndarray((10, 10), np.float32, buffer=np.zeros(420, np.uint8), strides=(42, 4))
    for operand in (misaligned, odd_rows):
        operand[...] = np.arange(100).reshape(10, 10)
        assert_matches_twin(operand, np.eye(10, dtype=operand.dtype))
        assert_matches_twin(np.eye(10, dtype=operand.dtype), operand, transpose_b=True)


@pytest.mark.skipif(not compiled.build_info()["openmp"],
                    reason="built without OpenMP: there is only one thread to compare with")
def test_same_result_with_one_and_several_threads():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((MC * 3 + 1, 300)).astype(np.float32)
    b = rng.standard_normal((300, 200)).astype(np.float32)
    few = rng.standard_normal((5, 70, 300)).astype(np.float32)  # each product split by rows
    many = rng.standard_normal((8, 70, 300)).astype(np.float32)  # one product per thread

    def products():
        return compiled.gemm(a, b), compiled.gemm(few, b), compiled.gemm(many, b)

    previous = compiled.get_num_threads()
    try:
        compiled.set_num_threads(1)
        single = products()
        compiled.set_num_threads(4)
        several = products()
    finally:
        compiled.set_num_threads(previous)
    # Threads split rows or batch items, never a sum, so the results are bit for bit equal.
    for one, other in zip(single, several, strict=True):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "transpose_a", "transpose_b"),
    [
        ((600, 500), (500, 3), False, False),  # narrow C: dot products, split by rows
        ((500, 600), (500, 1), True, False),  # x.T @ grad of a 1-output layer: axpy on C.T
        ((3, 500), (500, 900), False, False),  # short C, row-major B: axpy, split by columns
        ((1, 900), (2000, 900), False, True),  # one row, transposed B: dots, split by columns
        ((4, 300, 7), (4, 300, 2), True, False),  # a batch of thin products
    ],
)
def test_thin_products_on_several_threads(a_shape, b_shape, transpose_a, transpose_b):
    rng = np.random.default_rng(4)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    previous = compiled.get_num_threads()
    try:
        compiled.set_num_threads(4)
        assert_matches_twin(a, b, transpose_a, transpose_b)
    finally:
        compiled.set_num_threads(previous)


# Every thin layout (which operand is long, which of its axes is contiguous, long or short k):
# THIN_SHORT, THIN_NARROW, their _PACKED variants, the dot products, and the short-k thin path
# for big m and n; plus the engine's own MLP products (2 -> 128 -> 128 -> 128 -> 1, batch 256).
THIN_SHAPES = [
    (1, 1000, 1000),  # one row of C
    (3, 40, 900),  # a few rows
    (1000, 1000, 1),  # one column of C
    (5000, 5, 5),  # narrow C, short k
    (500, 7, 13),  # narrow C, k below the dot threshold
    (17, 300, 16),  # narrow C at the thin limit
    (700, 3, 300),  # short k, big m and n
    (300, 8, 9),  # short k, narrow-ish
    (256, 2, 128),  # engine: x @ W1.T
    (256, 128, 1),  # engine: h @ W4.T
    (256, 1, 128),  # engine: grad @ W4
    (1, 256, 128),  # engine: (grad^T @ h) for W4
    (128, 256, 2),  # engine: (grad^T @ x) for W1
    (128, 256, 128),  # engine: (grad^T @ h) for W2, W3
]


@pytest.mark.parametrize(("m", "k", "n"), THIN_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("view", ["contiguous", "stepped", "reversed"])
@pytest.mark.parametrize("threads", [1, 4])
def test_thin_layouts_match_twin(m, k, n, dtype, transpose_a, transpose_b, view, threads):
    rng = np.random.default_rng(m * 31 + k * 7 + n)
    a, b = operands(rng, m, k, n, dtype, transpose_a, transpose_b, view, view)
    previous = compiled.get_num_threads()
    try:
        compiled.set_num_threads(threads)
        assert_matches_twin(a, b, transpose_a, transpose_b)
        # a batch of the same product, shared or not, takes the same path once per item
        batch = np.stack([a, a[::-1] if a.shape[0] > 1 else a])
        assert_matches_twin(batch, b, transpose_a, transpose_b)
    finally:
        compiled.set_num_threads(previous)


def test_thread_count_and_build_info():
    assert compiled.get_num_threads() >= 1
    with pytest.raises(ValueError, match="set_num_threads"):
        compiled.set_num_threads(0)
    for implementation in (compiled, twin, naive):
        info = implementation.build_info()
        assert isinstance(info["openmp"], bool) and isinstance(info["native"], bool)


# --- bad inputs: both implementations raise the same error, naming what was expected and got.

f32 = np.zeros((2, 3), dtype=np.float32)
BAD_INPUTS = [
    (f32, np.zeros((3, 4)), {}, TypeError, "same dtype, got float32 and float64"),
    (
        f32.astype(np.int64),
        np.zeros((3, 4), np.int64),
        {},
        TypeError,
        "float32 or float64 arrays, got int64",
    ),
    (np.zeros(3, np.float32), f32, {}, ValueError, "2-D or 3-D (batched) operands, got 1-D"),
    (np.zeros((1, 1, 2, 3), np.float32), f32.T, {}, ValueError, "got 4-D (1, 1, 2, 3)"),
    (
        np.zeros((64, 784), np.float32),
        np.zeros((28, 10), np.float32),
        {},
        ValueError,
        "gemm: (64, 784) @ (28, 10): inner dimensions 784 and 28 differ",
    ),
    (f32, f32, {"transpose_b": False}, ValueError, "inner dimensions 3 and 2 differ"),
    (
        f32,
        np.zeros((2, 4), np.float32),
        {"transpose_a": True, "transpose_b": True},
        ValueError,
        "gemm: (2, 3).T @ (2, 4).T: inner dimensions 2 and 4 differ",
    ),
    (
        np.zeros((4, 2, 3), np.float32),
        np.zeros((5, 3, 2), np.float32),
        {},
        ValueError,
        "batch sizes 4 and 5 differ",
    ),
    ([[1.0]], f32, {}, TypeError, "two numpy arrays, got list and ndarray"),
]


@pytest.mark.parametrize("implementation", [compiled, twin, naive],
                         ids=["compiled", "twin", "naive"])
@pytest.mark.parametrize(("a", "b", "flags", "error", "message"), BAD_INPUTS)
def test_bad_input_raises(implementation, a, b, flags, error, message):
    with pytest.raises(error, match=re.escape(message)):
        implementation.gemm(a, b, **flags)
