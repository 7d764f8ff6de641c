"""Every op's derivatives checked against central differences, on shapes hypothesis generates.

For each op, ``check`` runs

- ``tinygan.gradcheck``: the first derivatives (the op's backward on ndarrays), and
- ``tinygan.gradgradcheck``: the second derivatives (the same backward run on Tensors with
  ``create_graph=True``, which must itself record a correct graph),

in float64, and where there is a NumPy equivalent it also compares the forward values, because a
gradient check only proves that the backward matches the forward, not that the forward is right.

Inputs are kept away from the points where an op has no derivative (0 for abs/relu, the bounds of
clip, ties for max/min), otherwise central differences straddle a kink and the check is dishonest.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import (
    away_from,
    away_from_zero,
    axes,
    broadcasting_pairs,
    distinct,
    nonscalar_shapes,
    normal,
    positive,
    seeds,
    shapes,
    tensor64,
)

import tinygan as tg


def check(fn, *inputs, second=True):
    """First (and second) derivatives of fn at inputs agree with central differences."""
    result = tg.gradcheck(fn, inputs)
    assert result, result.first_failure
    if second:
        result = tg.gradgradcheck(fn, inputs)
        assert result, result.first_failure


def assert_forward(fn, inputs, reference):
    """fn(*tensors) has the values of reference(*arrays)."""
    out = fn(*inputs)
    expected = reference(*[t.data for t in inputs])
    assert out.shape == np.shape(expected), f"shape {out.shape} != {np.shape(expected)}"
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------- unary elementwise ops


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name: (op on a Tensor, the NumPy reference, values in the op's differentiable domain)
UNARY = {
    "neg": (lambda t: -t, np.negative, normal),
    "exp": (lambda t: t.exp(), np.exp, normal),
    "log": (lambda t: t.log(), np.log, positive),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, positive),
    "abs": (lambda t: t.abs(), np.abs, away_from_zero),
    "tanh": (lambda t: t.tanh(), np.tanh, lambda r, s: normal(r, s, 2.0)),
    "sigmoid": (lambda t: t.sigmoid(), _sigmoid, lambda r, s: normal(r, s, 3.0)),
    "relu": (lambda t: t.relu(), lambda x: np.maximum(x, 0), away_from_zero),
    "leaky_relu(0.01)": (
        lambda t: t.leaky_relu(),
        lambda x: np.where(x > 0, x, 0.01 * x),
        away_from_zero,
    ),
    "leaky_relu(0.2)": (
        lambda t: t.leaky_relu(0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        away_from_zero,
    ),
    # a slope outside [0, 1] takes the np.where branch of the forward
    "leaky_relu(1.5)": (
        lambda t: t.leaky_relu(1.5),
        lambda x: np.where(x > 0, x, 1.5 * x),
        away_from_zero,
    ),
    "softplus": (lambda t: t.softplus(), lambda x: np.log1p(np.exp(x)),
                 lambda r, s: normal(r, s, 3.0)),
    "logsigmoid": (lambda t: t.logsigmoid(), lambda x: -np.log1p(np.exp(-x)),
                   lambda r, s: normal(r, s, 3.0)),
    "clip(-0.5, 0.5)": (
        lambda t: t.clip(-0.5, 0.5),
        lambda x: np.clip(x, -0.5, 0.5),
        lambda r, s: away_from(r, s, [-0.5, 0.5]),
    ),
    "clip(min=-0.5)": (
        lambda t: t.clip(min=-0.5),
        lambda x: np.maximum(x, -0.5),
        lambda r, s: away_from(r, s, [-0.5]),
    ),
    "clip(max=0.5)": (
        lambda t: t.clip(max=0.5),
        lambda x: np.minimum(x, 0.5),
        lambda r, s: away_from(r, s, [0.5]),
    ),
    "x ** 2": (lambda t: t**2, np.square, normal),
    "x ** 3": (lambda t: t**3, lambda x: x**3, normal),
    "x ** 0.5": (lambda t: t**0.5, np.sqrt, positive),
    "x ** -1.5": (lambda t: t**-1.5, lambda x: x**-1.5, positive),
    "x ** 1": (lambda t: t**1, lambda x: x, positive),
}


@pytest.mark.parametrize("name", list(UNARY))
@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=seeds)
def test_unary_op_derivatives(name, shape, seed):
    op, reference, values = UNARY[name]
    x = tensor64(values(np.random.default_rng(seed), shape))
    assert_forward(op, [x], reference)
    check(op, x)


@pytest.mark.parametrize("p", [0, 1])
def test_integer_powers_at_zero_have_finite_derivatives(p):
    x = tensor64([0.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 is what goes wrong
        (g,) = tg.grad((x**p).sum(), x, create_graph=True)
        np.testing.assert_array_equal(g.data, [p, p])  # d/dx x^p = p x^(p-1) = 0, or 1
        (gg,) = tg.grad(g.sum(), x, allow_unused=True)
    assert gg is None or np.array_equal(gg.data, [0.0, 0.0]), gg


# -------------------------------------------------------------------------- binary ops

# name: (op, NumPy reference, values of the first operand, values of the second operand)
BINARY = {
    "add": (lambda a, b: a + b, np.add, normal, normal),
    "sub": (lambda a, b: a - b, np.subtract, normal, normal),
    "mul": (lambda a, b: a * b, np.multiply, normal, normal),
    "div": (lambda a, b: a / b, np.divide, normal, away_from_zero),
    # tensor exponent: positive bases only, so log(base) (the exponent's derivative) exists
    "pow": (lambda a, b: a**b, np.power, positive, normal),
}


@pytest.mark.parametrize("name", list(BINARY))
@settings(max_examples=30, deadline=None)
@given(pair=broadcasting_pairs, seed=seeds)
def test_binary_op_derivatives_with_broadcasting(name, pair, seed):
    """Both operands' gradients, summed back over the broadcast axes to each operand's shape."""
    op, reference, values_a, values_b = BINARY[name]
    rng = np.random.default_rng(seed)
    shape_a, shape_b = pair.input_shapes
    a, b = tensor64(values_a(rng, shape_a)), tensor64(values_b(rng, shape_b))
    assert_forward(op, [a, b], reference)
    assert op(a, b).shape == pair.result_shape
    check(op, a, b)


# Python scalar or ndarray on one side, the Tensor on the other (reverse ops: __radd__ ...).
# Each lambda also runs on plain ndarrays, which gives the reference values.
MIXED = {
    "x + 1.5": lambda x, c: x + 1.5,
    "1.5 + x": lambda x, c: 1.5 + x,
    "x - 2.0": lambda x, c: x - 2.0,
    "2.0 - x": lambda x, c: 2.0 - x,
    "3.0 * x": lambda x, c: 3.0 * x,
    "x * 3": lambda x, c: x * 3,
    "x / 4.0": lambda x, c: x / 4.0,
    "2.0 / x": lambda x, c: 2.0 / x,
    "2.0 ** x": lambda x, c: 2.0**x,
    "array + x": lambda x, c: c + x,
    "array - x": lambda x, c: c - x,
    "x - array": lambda x, c: x - c,
    "array * x": lambda x, c: c * x,
    "array / x": lambda x, c: c / x,
    "x / array": lambda x, c: x / c,
    "array ** x": lambda x, c: c**x,
    "x ** array": lambda x, c: x**c,
}


@pytest.mark.parametrize("name", list(MIXED))
@settings(max_examples=15, deadline=None)
@given(pair=broadcasting_pairs, seed=seeds)
def test_op_with_a_constant_operand(name, pair, seed):
    """Numbers and ndarrays act as constants; the array may broadcast against the tensor."""
    rng = np.random.default_rng(seed)
    shape_x, shape_c = pair.input_shapes
    x = tensor64(away_from_zero(rng, shape_x, 0.5, 2.0))
    if "** x" in name or name == "x ** array":  # positive bases for real powers
        x = tensor64(positive(rng, shape_x))
    constant = positive(rng, shape_c)  # positive: a valid base and a valid divisor
    op = MIXED[name]

    def f(t):
        return op(t, constant)

    out = f(x)
    assert isinstance(out, tg.Tensor), f"{name} gave {type(out).__name__}, not a Tensor"
    np.testing.assert_allclose(out.data, op(x.data, constant), rtol=1e-12)  # NumPy's answer
    check(f, x)


# ---------------------------------------------------------------------------------- matmul


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 4), k=st.integers(1, 4), n=st.integers(1, 4), seed=seeds)
def test_matmul_2d(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a, b = tensor64(normal(rng, (m, k))), tensor64(normal(rng, (k, n)))
    assert_forward(lambda a, b: a @ b, [a, b], np.matmul)
    check(lambda a, b: a @ b, a, b)


@settings(max_examples=25, deadline=None)
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2,
                                                max_side=3),
       m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3), seed=seeds)
def test_matmul_batched_with_broadcast_batch_axes(batch, m, k, n, seed):
    """(..., m, k) @ (..., k, n): the batch axes broadcast; each operand's gradient is summed
    back over the batch axes it was broadcast along."""
    rng = np.random.default_rng(seed)
    batch_a, batch_b = batch.input_shapes
    a = tensor64(normal(rng, batch_a + (m, k)))
    b = tensor64(normal(rng, batch_b + (k, n)))
    assert_forward(lambda a, b: a @ b, [a, b], np.matmul)
    check(lambda a, b: a @ b, a, b)


def test_matmul_batched_3d():
    rng = np.random.default_rng(0)
    a, b = tensor64(normal(rng, (2, 3, 4))), tensor64(normal(rng, (2, 4, 2)))
    assert_forward(lambda a, b: a @ b, [a, b], np.matmul)
    check(lambda a, b: a @ b, a, b)


def test_matmul_broadcasting_batch_example():
    """(2, 1, 3, 4) @ (5, 4, 2) -> (2, 5, 3, 2)."""
    rng = np.random.default_rng(0)
    a, b = tensor64(normal(rng, (2, 1, 3, 4))), tensor64(normal(rng, (5, 4, 2)))
    assert (a @ b).shape == (2, 5, 3, 2)
    assert_forward(lambda a, b: a @ b, [a, b], np.matmul)
    check(lambda a, b: a @ b, a, b)


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3,), (3, 2)),        # vector @ matrix
        ((3,), (2, 3, 4)),     # vector @ batch of matrices
        ((2, 3), (3,)),        # matrix @ vector
        ((2, 4, 3), (3,)),     # batch of matrices @ vector
        ((1,), (1, 1)),
    ],
)
def test_matmul_with_a_1d_operand(shape_a, shape_b):
    """A 1-D operand is a row (left) or column (right) vector whose axis is then dropped."""
    rng = np.random.default_rng(0)
    a, b = tensor64(normal(rng, shape_a)), tensor64(normal(rng, shape_b))
    assert_forward(lambda a, b: a @ b, [a, b], np.matmul)
    check(lambda a, b: a @ b, a, b)


def test_matmul_1d_by_1d_is_a_dot_product():
    rng = np.random.default_rng(0)
    a, b = tensor64(normal(rng, (3,))), tensor64(normal(rng, (3,)))
    assert_forward(lambda a, b: a @ b, [a, b], np.matmul)
    check(lambda a, b: a @ b, a, b)


@settings(max_examples=12, deadline=None)
@given(m=st.integers(1, 3), k=st.integers(2, 4), n=st.integers(2, 4), seed=seeds)
def test_matmul_with_transposed_weight(m, k, n, seed):
    """x @ W.T, the linear layer: W.T is a transposed (Fortran-ordered) view, for which the
    backward takes a separate path that lays the gradient out like W."""
    rng = np.random.default_rng(seed)
    x, w = tensor64(normal(rng, (m, k))), tensor64(normal(rng, (n, k)))
    assert w.T.data.flags.f_contiguous and not w.T.data.flags.c_contiguous
    assert_forward(lambda x, w: x @ w.T, [x, w], lambda x, w: x @ w.T)
    check(lambda x, w: x @ w.T, x, w)


@settings(max_examples=10, deadline=None)
@given(m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3), seed=seeds)
def test_matmul_with_an_ndarray_on_either_side(m, k, n, seed):
    rng = np.random.default_rng(seed)
    left, right = normal(rng, (m, k)), normal(rng, (n, m))
    x = tensor64(normal(rng, (k, n)))
    assert isinstance(left @ x, tg.Tensor)
    check(lambda x: left @ x, x)
    check(lambda x: x @ right, x)


# ------------------------------------------------------------------------------ reductions


@pytest.mark.parametrize("name", ["sum", "mean"])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, keepdims=st.booleans(), seed=seeds)
def test_sum_and_mean(name, data, shape, keepdims, seed):
    axis = data.draw(axes(len(shape)), label="axis")
    x = tensor64(normal(np.random.default_rng(seed), shape))

    def f(t):
        return getattr(t, name)(axis=axis, keepdims=keepdims)

    assert_forward(f, [x], lambda a: getattr(np, name)(a, axis=axis, keepdims=keepdims))
    check(f, x)


@pytest.mark.parametrize("name", ["max", "min"])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, keepdims=st.booleans(), seed=seeds)
def test_max_and_min_with_distinct_values(name, data, shape, keepdims, seed):
    """Distinct values (no ties): the gradient goes to the one extreme element per slice."""
    axis = data.draw(axes(len(shape)), label="axis")
    x = tensor64(distinct(np.random.default_rng(seed), shape))

    def f(t):
        return getattr(t, name)(axis=axis, keepdims=keepdims)

    assert_forward(f, [x], lambda a: getattr(np, name)(a, axis=axis, keepdims=keepdims))
    check(f, x)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_share_the_gradient_between_ties(name):
    """Where several elements tie for the extreme, each gets an equal share of the gradient."""
    sign = 1.0 if name == "max" else -1.0
    x = tensor64(sign * np.array([[1.0, 3.0, 3.0, 2.0],
                                  [5.0, 5.0, 5.0, 0.0]]))
    getattr(x, name)(axis=1).backward(np.array([1.0, 6.0]))
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5, 0], [2.0, 2.0, 2.0, 0]])

    x.zero_grad()
    getattr(x, name)().backward()  # whole tensor: three tied at 5 (or -5)
    np.testing.assert_allclose(x.grad, [[0, 0, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0]])


# --------------------------------------------------------------------------- shape changes


@st.composite
def reshape_targets(draw, shape):
    """A new shape with the same number of elements: the dims in another order, 1s inserted,
    and maybe one dim given as -1."""
    dims = list(draw(st.permutations(list(shape))))
    for _ in range(draw(st.integers(0, 2))):
        dims.insert(draw(st.integers(0, len(dims))), 1)
    if dims and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), shape=shapes, seed=seeds, as_tuple=st.booleans())
def test_reshape(data, shape, seed, as_tuple):
    target = data.draw(reshape_targets(shape), label="target")
    x = tensor64(normal(np.random.default_rng(seed), shape))

    def f(t):
        return t.reshape(target) if as_tuple else t.reshape(*target)

    assert_forward(f, [x], lambda a: a.reshape(target))
    check(f, x)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=shapes, seed=seeds, negative=st.booleans())
def test_transpose_and_permute(data, shape, seed, negative):
    permutation = tuple(data.draw(st.permutations(range(len(shape))), label="permutation"))
    if negative:  # the same permutation written with negative axes
        permutation = tuple(a - len(shape) for a in permutation)
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t.transpose(permutation), [x], lambda a: a.transpose(permutation))
    assert_forward(lambda t: t.permute(*permutation), [x], lambda a: a.transpose(permutation))
    check(lambda t: t.transpose(permutation), x)
    check(lambda t: t.permute(*permutation), x, second=False)


@pytest.mark.parametrize("permutation", [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1),
                                         (2, 1, 0)])
def test_every_permutation_of_three_distinct_axes(permutation):
    """On (2, 3, 4) every permutation gives a different shape; (1, 2, 0) and (2, 0, 1) are not
    their own inverses, so a backward that undoes the wrong permutation fails here."""
    x = tensor64(normal(np.random.default_rng(0), (2, 3, 4)))
    assert_forward(lambda t: t.permute(permutation), [x], lambda a: a.transpose(permutation))
    check(lambda t: t.permute(permutation), x, second=False)
    x.permute(permutation).backward(np.arange(24.0).reshape(x.permute(permutation).shape))
    np.testing.assert_array_equal(
        x.grad, np.arange(24.0).reshape(np.transpose(x.data, permutation).shape)
        .transpose(np.argsort(permutation)))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_swapaxes(data, shape, seed):
    ndim = len(shape)
    axis1 = data.draw(st.integers(-ndim, ndim - 1), label="axis1")
    axis2 = data.draw(st.integers(-ndim, ndim - 1), label="axis2")
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t.swapaxes(axis1, axis2), [x],
                   lambda a: np.swapaxes(a, axis1, axis2))
    check(lambda t: t.swapaxes(axis1, axis2), x)


@settings(max_examples=20, deadline=None)
@given(shape=shapes, seed=seeds)
def test_transpose_property_T_and_mT(shape, seed):
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t.T, [x], lambda a: a.T)
    check(lambda t: t.T, x)
    if len(shape) >= 2:
        assert_forward(lambda t: t.mT, [x], lambda a: np.swapaxes(a, -1, -2))
        check(lambda t: t.mT, x, second=False)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_flatten(data, shape, seed):
    start = data.draw(st.integers(0, len(shape) - 1), label="start_axis")
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t.flatten(start), [x],
                   lambda a: a.reshape(*shape[:start], -1))
    check(lambda t: t.flatten(start), x)


@settings(max_examples=30, deadline=None)
@given(pair=broadcasting_pairs, seed=seeds)
def test_broadcast_to(pair, seed):
    """Each element copied n times gets the sum of its n copies' gradients."""
    shape, target = pair.input_shapes[0], pair.result_shape
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t.broadcast_to(target), [x],
                   lambda a: np.broadcast_to(a, target))
    check(lambda t: t.broadcast_to(target), x)


# -------------------------------------------------------------------------------- indexing


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_basic_indexing(data, shape, seed):
    """Ints (negative too), slices with steps (negative too), Ellipsis and None."""
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True),
                      label="index")
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t[index], [x], lambda a: a[index])
    if x[index].size:
        check(lambda t: t[index], x)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_integer_array_indexing(data, shape, seed):
    """Integer arrays may repeat an element: its gradient is then the sum over the repeats."""
    index = data.draw(hnp.integer_array_indices(shape), label="index")
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t[index], [x], lambda a: a[index])
    check(lambda t: t[index], x)


def test_repeated_integer_indices_add_up():
    x = tensor64([10.0, 20.0, 30.0, 40.0])
    x[[0, 0, 2, 0, -1]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0, 1.0])


def test_repeated_integer_indices_mixed_with_a_slice():
    x = tensor64(np.arange(6.0).reshape(3, 2))
    y = x[np.array([2, 2, 0]), :]
    y.backward(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    np.testing.assert_array_equal(x.grad, [[5.0, 6.0], [0.0, 0.0], [4.0, 6.0]])
    check(lambda t: t[np.array([2, 2, 0]), ::-1], x)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=nonscalar_shapes, seed=seeds)
def test_boolean_mask_indexing(data, shape, seed):
    mask = data.draw(hnp.arrays(np.bool_, shape), label="mask")
    x = tensor64(normal(np.random.default_rng(seed), shape))
    assert_forward(lambda t: t[mask], [x], lambda a: a[mask])
    if mask.any():
        check(lambda t: t[mask], x)
    # a mask given as a list of bools works like the array
    row_mask = [bool(v) for v in mask.reshape(shape[0], -1).any(axis=1)]
    np.testing.assert_array_equal(x[row_mask].data, x.data[np.array(row_mask, bool)])


def test_tensor_indices():
    """A Tensor of (float-held) integers indexes like the integer array it holds."""
    x = tensor64(np.arange(12.0).reshape(4, 3))
    index = tg.tensor([3, -1, 0, 3])
    np.testing.assert_array_equal(x[index].data, x.data[[3, -1, 0, 3]])
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad.sum(axis=1), [3.0, 0.0, 0.0, 9.0])
    check(lambda t: t[index], x)
    check(lambda t: t[index, tg.tensor([0, 2, 1, 1])], x)


# ------------------------------------------------------------------- joining and choosing


@st.composite
def pieces_to_join(draw, new_axis):
    """Shapes of 1-3 tensors to concatenate (sizes along the axis may differ) or stack (same
    shape), and the axis, possibly negative."""
    shape = draw(nonscalar_shapes)
    count = draw(st.integers(1, 3))
    ndim = len(shape) + (1 if new_axis else 0)
    axis = draw(st.integers(-ndim, ndim - 1))
    if new_axis:
        return [shape] * count, axis
    sizes = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    at = axis % len(shape)
    return [shape[:at] + (n,) + shape[at + 1:] for n in sizes], axis


@pytest.mark.parametrize("name", ["concatenate", "stack"])
@settings(max_examples=30, deadline=None)
@given(data=st.data(), seed=seeds)
def test_concatenate_and_stack(name, data, seed):
    piece_shapes, axis = data.draw(pieces_to_join(new_axis=name == "stack"), label="pieces")
    rng = np.random.default_rng(seed)
    pieces = [tensor64(normal(rng, s)) for s in piece_shapes]
    join, reference = getattr(tg, name), getattr(np, name)

    def f(*ts):
        return join(ts, axis=axis)

    assert_forward(f, pieces, lambda *arrays: reference(arrays, axis=axis))
    check(f, *pieces)


def test_concatenate_with_a_constant_piece():
    x = tensor64([[1.0, 2.0]])
    check(lambda t: tg.concatenate([t, np.zeros((1, 2)), t * 2], axis=-2), x)


@settings(max_examples=30, deadline=None)
@given(shapes3=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3),
       data=st.data(), seed=seeds)
def test_where(shapes3, data, seed):
    """where(condition, a, b): a's gradient where the condition holds, b's elsewhere; the
    condition, a and b broadcast together."""
    shape_c, shape_a, shape_b = shapes3.input_shapes
    condition = data.draw(hnp.arrays(np.bool_, shape_c), label="condition")
    rng = np.random.default_rng(seed)
    a, b = tensor64(normal(rng, shape_a)), tensor64(normal(rng, shape_b))

    def f(a, b):
        return tg.where(condition, a, b)

    assert_forward(f, [a, b], lambda a, b: np.where(condition, a, b))
    check(f, a, b)
    check(lambda a: tg.where(tg.tensor(condition), a, 0.0), a)


# ------------------------------------------------------------------------------------ astype


@settings(max_examples=15, deadline=None)
@given(shape=shapes, seed=seeds)
def test_astype_round_trip_gradient(shape, seed):
    """float64 -> float32 -> float64 is the identity up to rounding, and so is its gradient.

    gradcheck needs float64 all the way; through a float32 stage central differences are only
    good to ~1e-7 / eps, so eps is raised to 1e-2 (the function is linear, so that is exact).
    """
    x = tensor64(normal(np.random.default_rng(seed), shape))

    def f(t):
        return t.astype(np.float32).astype(np.float64) * 3.0

    assert f(x).dtype == np.float64
    assert x.astype(np.float32).dtype == np.float32
    result = tg.gradcheck(f, x, eps=1e-2)
    assert result, result.first_failure
    result = tg.gradgradcheck(f, x, eps=1e-2)
    assert result, result.first_failure
    f(x).backward(np.ones(shape))
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, 3.0)


def test_astype_to_the_same_dtype_is_a_no_op():
    x = tensor64([1.0, 2.0])
    assert x.astype(np.float64) is x


# ----------------------------------------------------------------------- composed functions


@settings(max_examples=10, deadline=None)
@given(seed=seeds, batch=st.integers(1, 3))
def test_a_small_network_end_to_end(seed, batch):
    """Ops composed the way a GAN's layers compose them: linear, leaky_relu, linear, sigmoid,
    binary cross-entropy written with logsigmoid."""
    rng = np.random.default_rng(seed)
    x = tensor64(normal(rng, (batch, 3)))
    w1, b1 = tensor64(normal(rng, (4, 3))), tensor64(normal(rng, (4,)))
    w2, b2 = tensor64(normal(rng, (1, 4))), tensor64(normal(rng, (1,)))
    labels = rng.integers(0, 2, (batch, 1)).astype(np.float64)

    def loss(x, w1, b1, w2, b2):
        h = (x @ w1.T + b1).leaky_relu(0.2)
        logits = h @ w2.T + b2
        return -(labels * logits.logsigmoid() + (1 - labels) * (-logits).logsigmoid()).mean()

    check(loss, x, w1, b1, w2, b2)


def test_tensor_exponent_at_base_zero_has_a_finite_gradient():
    a = tg.tensor([0.0, 2.0], dtype=np.float64, requires_grad=True)
    b = tg.tensor([2.0, 3.0], dtype=np.float64, requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_allclose(b.grad, [0.0, 8.0 * np.log(2.0)])  # d a^b/db = a^b log a -> 0
    np.testing.assert_allclose(a.grad, [0.0, 12.0])


def test_numpy_scalars_promote_like_numpy_and_python_numbers_do_not():
    x = tg.ones(2)
    assert (x * 2.0).dtype == np.float32
    assert (x * np.float64(2.0)).dtype == np.float64


def test_truth_value_follows_numpy():
    assert bool(tg.tensor(1.0)) and not bool(tg.tensor([0.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(tg.tensor([1.0, 2.0]))


def test_a_tensor_index_must_hold_whole_numbers():
    x = tg.arange(5)
    np.testing.assert_array_equal(x[tg.tensor([1.0, 3.0])].data, [1.0, 3.0])
    with pytest.raises(IndexError, match="whole numbers"):
        x[tg.tensor([1.7])]


def test_reductions_accept_a_list_of_axes():
    x = tg.tensor(np.arange(24.0).reshape(2, 3, 4))
    for name in ("sum", "mean", "max", "min"):
        np.testing.assert_allclose(getattr(x, name)(axis=[0, 2]).data,
                                   getattr(np, name)(x.data, axis=(0, 2)))


# ------------------------------------------------------------------------ comparisons


def test_comparisons_return_bool_arrays_without_gradient():
    x = tg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = tg.tensor([0.0, 0.0, 3.0])
    for result, expected in [
        (x < 0, [True, False, False]), (x <= 0, [True, True, False]),
        (x > 0, [False, False, True]), (x >= 0, [False, True, True]),
        (x == y, [False, True, False]), (x != y, [True, False, True]),
        (0 < x, [False, False, True]), (x < y, [True, False, True]),
        (x > np.array([-2.0, 1.0, 1.0]), [True, False, True]),
        (np.array([-2.0, 1.0, 1.0]) < x, [True, False, True]),
    ]:
        assert type(result) is np.ndarray and result.dtype == bool
        np.testing.assert_array_equal(result, expected)
    # a mask, used where masks are used: where, indexing, counting
    np.testing.assert_array_equal(tg.where(x > 0, x, 0.0).data, [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(x.data[x >= 0], [0.0, 2.0])
    assert (x > -5).mean() == 1.0
    # multiplying by a mask is differentiable in x; the mask itself is a constant
    (x * (x > 0)).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def test_tensors_hash_by_identity_and_work_as_keys_after_comparisons_exist():
    a, b = tg.tensor([1.0, 2.0]), tg.tensor([1.0, 2.0])
    assert (a == b).all() and a is not b
    assert hash(a) != hash(b) and len({a, b}) == 2
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"
    assert (a == None) is False and (a != None) is True  # noqa: E711 (no value to compare)
    model = tg.nn.Dense(2, 2)
    optimizer = tg.optim.Adam(model.parameters())
    model(tg.tensor([[1.0, 2.0]])).sum().backward()
    optimizer.step()
    assert all(p in optimizer.state for p in model.parameters())


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1 / 3, 0.5, 0.999, 1.0, 1.5, -0.5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaky_relu_backward_without_branches_equals_the_select(slope, dtype):
    from tinygan.engine import _leaky_relu_grad_of

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 33)).astype(dtype)
    x[0, :5] = 0.0  # the kink: x = 0 takes the slope, as in the forward's x > 0
    g = rng.standard_normal((64, 33)).astype(dtype)
    expected = np.where(x > 0, g, g * dtype(slope))
    assert np.array_equal(_leaky_relu_grad_of(x, g, slope), expected)
