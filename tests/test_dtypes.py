"""float32 by default, float64 on request, NumPy's promotion when mixed, and gradients that
always have their tensor's dtype."""

import numpy as np
import pytest

import tinygan as tg


@pytest.mark.parametrize("data", [
    [1.0, 2.0],                      # list of floats
    [1, 2],                          # list of ints
    3,                               # Python int
    2.5,                             # Python float
    True,                            # Python bool
    np.arange(3),                    # int array
    np.array([True, False]),         # bool array
    np.array([1.0], np.float16),     # float16 is not a tinygan dtype
])
def test_default_dtype_is_float32(data):
    assert tg.tensor(data).dtype == np.float32
    assert tg.Tensor(data).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_arrays_keep_their_dtype(dtype):
    assert tg.tensor(np.ones(3, dtype)).dtype == dtype
    assert tg.tensor(dtype(1.5)).dtype == dtype  # NumPy scalars too


def test_explicit_dtype_argument():
    assert tg.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert tg.tensor(np.ones(2), dtype="float32").dtype == np.float32


@pytest.mark.parametrize("data", ["abc", ["1.5"], [1 + 2j], np.array([object()]), None])
def test_non_numeric_data_raises_type_error(data):
    with pytest.raises(TypeError, match="float"):
        tg.tensor(data)


@pytest.mark.parametrize("data", ["abc", ["1.5"]])
def test_non_numeric_data_raises_type_error_with_an_explicit_dtype(data):
    with pytest.raises(TypeError):
        tg.tensor(data, dtype=np.float64)


def test_unsupported_dtypes_are_refused():
    for dtype in (np.int32, np.float16, np.complex128, "int64"):
        with pytest.raises(TypeError, match="float32 or float64"):
            tg.set_default_dtype(dtype)
        with pytest.raises(TypeError, match="float32 or float64"):
            tg.tensor([1.0]).astype(dtype)
        with pytest.raises(TypeError):
            tg.zeros(2, dtype=dtype)
    assert tg.get_default_dtype() == np.float32


def test_python_numbers_take_the_tensor_dtype():
    """x32 * 2.0 stays float32 (a Python number is not a float64 array)."""
    x = tg.ones(2)
    for y in (x * 2.0, 2.0 * x, x + 1, x / 3.0, 1.0 - x, x**2, 2.0**x):
        assert y.dtype == np.float32


def test_float32_with_float64_promotes_and_grads_keep_each_leaf_dtype():
    a = tg.tensor([1.0, 2.0], requires_grad=True)                         # float32
    b = tg.tensor(np.array([3.0, 4.0]), requires_grad=True)               # float64
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad, [3.0, 4.0])
    np.testing.assert_allclose(b.grad, [1.0, 2.0])


def test_mixed_dtype_matmul_and_concatenate():
    w = tg.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    x = tg.tensor(np.ones((4, 3), np.float64), requires_grad=True)
    y = x @ w
    assert y.dtype == np.float64
    z = tg.concatenate([w, y[:1]], axis=0)  # (3, 2) float32 and (1, 2) float64
    assert z.shape == (4, 2) and z.dtype == np.float64
    (y.sum() + z.sum()).backward()
    assert w.grad.dtype == np.float32 and x.grad.dtype == np.float64
    # y.sum(): 4 rows of ones per weight; z.sum(): w itself (1) and row 0 of y (1 more)
    np.testing.assert_allclose(w.grad, 4.0 + 1.0 + 1.0)


def test_mixed_dtype_second_derivatives_keep_dtypes():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (ga,) = tg.grad((a * a * b).sum(), a, create_graph=True)
    assert ga.dtype == np.float32
    np.testing.assert_allclose(ga.data, 2 * np.array([1.0, 2.0]) * [3.0, 4.0])
    (gb,) = tg.grad(ga.sum(), b)
    assert gb.dtype == np.float64
    np.testing.assert_allclose(gb.data, [2.0, 4.0])


def test_set_default_dtype_changes_factories(float64_default):
    assert tg.get_default_dtype() == np.float64
    for t in (tg.tensor([1, 2]), tg.tensor(1.5), tg.zeros(2), tg.ones(2, 2), tg.full(2, 7.0),
              tg.arange(3), tg.rand(2), tg.randn(2)):
        assert t.dtype == np.float64
    assert (tg.ones(2) * 2.0).dtype == np.float64
    assert tg.tensor(np.ones(2, np.float32)).dtype == np.float32  # arrays still keep theirs


def test_set_default_dtype_returns_the_previous_one():
    previous = tg.set_default_dtype("float64")
    assert previous == np.float32
    assert tg.set_default_dtype(previous) == np.float64
    assert tg.get_default_dtype() == np.float32


def test_astype_round_trip():
    values = np.array([0.5, -1.25, 3.0])  # exactly representable in float32
    x = tg.tensor(values, requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    back = y.astype(tg.float64)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back.data, values)
    (back * back).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, 2 * values)
