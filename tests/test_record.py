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


def test_no_backward_of_the_library_captures_an_input_tensor():
    """The convention in engine.py's docstring: a backward takes its values from its arguments
    (saved when the op ran) and captures constants only, never a Tensor."""
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.uniform(0.5, 2.0, (2, 3)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    image = tg.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    kernel = tg.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    F = tg.functional
    outputs = [
        x + w[0], x - 1.0, x * x, x / w[:2, :], x**2, x ** w[:2, :], -x, 2.0**x, x @ w.T,
        x.sum(axis=1), x.max(axis=0), x.min(), x.reshape(3, 2), x.T, x.broadcast_to((4, 2, 3)),
        x[0, [0, 0, 2]], x.astype(np.float32), x.exp(), x.log(), x.sqrt(), x.abs(), x.tanh(),
        x.sigmoid(), x.relu(), x.leaky_relu(0.2), x.softplus(), x.logsigmoid(), x.clip(1, 1.5),
        tg.concatenate([x, x]), tg.stack([x, x]), tg.where(x.data > 1, x, w[:2, :]),
        F.conv2d(image, kernel, padding=1), F.conv_transpose2d(image, kernel.swapaxes(0, 1)),
        F.binary_cross_entropy(x.sigmoid(), np.ones((2, 3))),
    ]
    seen = set()
    for out in outputs:
        stack = [out]
        while stack:  # every node of every graph, the op and the ones it was composed of
            node = stack.pop()
            if id(node) in seen or node._backward is None:
                continue
            seen.add(id(node))
            captured = [cell.cell_contents for cell in node._backward.__closure__ or ()]
            assert not any(isinstance(value, tg.Tensor) for value in captured), node._op
            stack.extend(node._parents)
    assert len(seen) > 35
