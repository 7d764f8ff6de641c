"""Numerically stable ops stay finite (with the right derivative) far out in their tails.

A naive log(1 + exp(1000)) is inf and a naive log(1 / (1 + exp(1000))) is -inf; GAN losses
written with softplus/logsigmoid hit such logits when the discriminator is very confident.
"""

import numpy as np
import pytest

import tinygan as tg

X = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])


def exact_sigmoid(x):
    """1 / (1 + e^-x) evaluated without overflow: e^x / (1 + e^x) for negative x."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def exact_softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def tolerance(dtype):
    """Absolute error allowed for a value in [0, 1]: a few units in the last place."""
    return 4 * np.finfo(dtype).eps


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_values_and_gradient_far_out(dtype):
    x = tg.tensor(X.astype(dtype), requires_grad=True)
    y = x.softplus()
    y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(y.data, exact_softplus(X), rtol=tolerance(dtype), atol=1e-30)
    np.testing.assert_allclose(x.grad, exact_sigmoid(X), rtol=0, atol=tolerance(dtype))
    assert y.data[-1] == 1000.0 and x.grad[-1] == 1.0  # softplus(1000) = 1000, slope 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsigmoid_values_and_gradient_far_out(dtype):
    x = tg.tensor(X.astype(dtype), requires_grad=True)
    y = x.logsigmoid()
    y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(y.data, -exact_softplus(-X), rtol=tolerance(dtype), atol=1e-30)
    np.testing.assert_allclose(x.grad, exact_sigmoid(-X), rtol=0, atol=tolerance(dtype))
    assert y.data[0] == -1000.0 and x.grad[0] == 1.0  # logsigmoid(-1000) = -1000, slope 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_finite_at_plus_minus_1000(dtype):
    x = tg.tensor(X.astype(dtype), requires_grad=True)
    y = x.sigmoid()
    y.sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(y.data, exact_sigmoid(X), rtol=0, atol=tolerance(dtype))
    assert y.data[0] == 0.0 and y.data[-1] == 1.0
    np.testing.assert_allclose(x.grad, exact_sigmoid(X) * exact_sigmoid(-X), rtol=0,
                               atol=tolerance(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_relative_accuracy_in_the_negative_tail(dtype):
    tail = np.array([-10.0, -20.0, -30.0, -50.0])
    y = tg.tensor(tail.astype(dtype)).sigmoid()
    np.testing.assert_allclose(y.data, exact_sigmoid(tail), rtol=10 * np.finfo(dtype).eps)


def test_second_derivatives_far_out_are_finite_and_right():
    """softplus'' = s(1 - s), logsigmoid'' = -s(1 - s), sigmoid'' = s(1 - s)(1 - 2s)."""
    x = tg.tensor(X, requires_grad=True)
    s = exact_sigmoid(X)
    expected = {
        "softplus": s * (1 - s),
        "logsigmoid": -s * (1 - s),
        "sigmoid": s * (1 - s) * (1 - 2 * s),
    }
    for name, second in expected.items():
        (g,) = tg.grad(getattr(x, name)().sum(), x, create_graph=True)
        (gg,) = tg.grad(g.sum(), x)
        assert np.all(np.isfinite(gg.data)), name
        np.testing.assert_allclose(gg.data, second, rtol=0, atol=1e-12, err_msg=name)


def test_binary_cross_entropy_with_confident_logits_is_finite():
    """BCE written with logsigmoid: -[y log s(z) + (1-y) log(1 - s(z))], z = +-1000."""
    z = tg.tensor(np.array([1000.0, -1000.0, 1000.0]), requires_grad=True)
    labels = np.array([1.0, 0.0, 0.0])  # the last one is confidently wrong
    loss = -(labels * z.logsigmoid() + (1 - labels) * (-z).logsigmoid()).mean()
    loss.backward()
    assert loss.item() == pytest.approx(1000.0 / 3)
    np.testing.assert_allclose(z.grad, [0.0, 0.0, 1 / 3], atol=1e-12)
