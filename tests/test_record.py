"""``tinygan.record``: the one public way to define a differentiable op.

A new op is defined here exactly as a student (or a lesson) would: forward with NumPy, a backward
that follows the contract in ``record``'s docstring, then checked against central differences,
first and second order.
"""

import numpy as np
import pytest

import tinygan as tg
from tinygan.shapes import sum_to


def swish(x):
    """swish(x) = x * sigmoid(x), as an op of its own (not composed of engine ops)."""
    s = 1 / (1 + np.exp(-x.data))
    data = x.data * s

    def backward(g, out, x_):
        # d/dx [x sigma(x)] = sigma + x sigma (1 - sigma), written with what ndarrays and Tensors
        # share, so it also runs (and is recorded) under create_graph=True
        sigma = 1 / (1 + (-x_).exp()) if isinstance(x_, tg.Tensor) else 1 / (1 + np.exp(-x_))
        return (g * (sigma + x_ * sigma * (1 - sigma)),)

    return tg.record(data, (x,), backward, "swish")


def scaled_difference(a, b, scale):
    """(a - b) * scale with broadcasting; b's gradient is skipped when b needs none."""
    data = (a.data - b.data) * scale
    needs_b = b.requires_grad

    def backward(g, out, a_, b_):
        grad_a = sum_to(g * scale, a_.shape)
        grad_b = sum_to(-g * scale, b_.shape) if needs_b else None
        return grad_a, grad_b

    return tg.record(data, (a, b), backward, "scaled_difference")


def test_a_new_op_passes_first_and_second_order_checks():
    x = tg.tensor(np.linspace(-3, 3, 7), dtype=np.float64, requires_grad=True)
    assert tg.gradcheck(swish, x)
    assert tg.gradgradcheck(swish, x)
    np.testing.assert_allclose(swish(x).data, x.data / (1 + np.exp(-x.data)))
    assert swish(x)._op == "swish" and swish(x).requires_grad


def test_a_new_binary_op_with_broadcasting_and_a_skipped_gradient():
    rng = np.random.default_rng(0)
    a = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = tg.tensor(rng.standard_normal(4), requires_grad=True)
    assert tg.gradcheck(lambda a, b: scaled_difference(a, b, 2.5), (a, b))
    assert tg.gradgradcheck(lambda a, b: (scaled_difference(a, b, 2.5) ** 2), (a, b))
    constant = tg.tensor(rng.standard_normal(4))  # needs no gradient: backward returns None
    scaled_difference(a, constant, 2.5).sum().backward()
    assert constant.grad is None
    np.testing.assert_allclose(a.grad, np.full((3, 4), 2.5))


def test_no_node_is_recorded_under_no_grad_or_without_inputs_that_require_grad():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        assert not swish(x).requires_grad and swish(x).is_leaf
    assert not swish(tg.tensor([1.0])).requires_grad


def test_record_reports_misuse():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="record: bad: parents must be a tuple of Tensors"):
        tg.record(x.data * 2, (x.data,), lambda g, out, x_: (g,), "bad")
    with pytest.raises(TypeError, match="record: bad: data must be an array of floats, got int"):
        tg.record(np.array([1, 2]), (x,), lambda g, out, x_: (g,), "bad")


def test_the_private_name_is_the_same_function():
    assert tg.Tensor._result is tg.record
