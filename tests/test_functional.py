"""tinygan.functional: values against formulas written out with NumPy, gradients against central
differences (float64), second derivatives of the losses and of batch_norm, stability, errors."""

import numpy as np
import pytest

import tinygan
import tinygan.functional as F
from tinygan import tensor


def rand64(*shape, low=-1.0, high=1.0, seed=0, requires_grad=True):
    values = np.random.default_rng(seed).uniform(low, high, shape)
    return tensor(values, dtype=np.float64, requires_grad=requires_grad)


def test_nn_functional_names_the_same_functions():
    import tinygan.nn.functional as nn_functional

    assert nn_functional is tinygan.nn.functional
    assert nn_functional.__all__ == tinygan.functional.__all__
    for name in tinygan.functional.__all__:
        assert getattr(nn_functional, name) is getattr(tinygan.functional, name), name


# ------------------------------------------------------------------------------ activations


@pytest.mark.parametrize("name, formula", [
    ("relu", lambda x: np.maximum(x, 0)),
    ("tanh", np.tanh),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ("softplus", lambda x: np.log1p(np.exp(x))),
    ("logsigmoid", lambda x: -np.log1p(np.exp(-x))),
])
def test_activation_values_and_gradients(name, formula):
    x = rand64(3, 4, low=-3, high=3)
    fn = getattr(F, name)
    np.testing.assert_allclose(fn(x).data, formula(x.data), rtol=1e-12, atol=1e-12)
    assert tinygan.gradcheck(fn, [x])


def test_leaky_relu_slope():
    x = tensor([-2.0, 3.0], dtype=np.float64, requires_grad=True)
    np.testing.assert_allclose(F.leaky_relu(x, 0.2).data, [-0.4, 3.0])
    np.testing.assert_allclose(F.leaky_relu(x).data, [-0.02, 3.0])
    F.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_allclose(x.grad, [0.2, 1.0])


# ---------------------------------------------------------------------------------- linear


def test_linear_values_and_gradients():
    x, w, b = rand64(4, 3, seed=1), rand64(2, 3, seed=2), rand64(2, seed=3)
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data)
    np.testing.assert_allclose(F.linear(x, w).data, x.data @ w.data.T)
    assert tinygan.gradcheck(F.linear, [x, w, b])


def test_linear_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(2, 5\)"):
        F.linear(rand64(4, 3), rand64(2, 5))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\)"):
        F.linear(rand64(4, 3), rand64(2, 3), rand64(3))


# ---------------------------------------------------------------------------- convolutions


def conv2d_loops(x, w, b, stride, padding):
    """The definition, one output pixel at a time."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = xp.shape
    o, _, kh, kw = w.shape
    ho, wo = (h - kh) // sh + 1, (wd - kw) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w) + b
    return y


def conv_transpose2d_loops(x, w, b, stride, padding, output_padding):
    """The definition: every input pixel adds weight * value into a window of the output."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, _, h, wd = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw] += np.einsum(
                "nc,cokl->nokl", x[:, :, i, j], w)
    ho, wo = (h - 1) * sh - 2 * ph + kh + oph, (wd - 1) * sw - 2 * pw + kw + opw
    return full[:, :, ph:ph + ho, pw:pw + wo] + b.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("kernel, stride, padding", [
    ((3, 3), (1, 1), (0, 0)), ((2, 3), (2, 1), (1, 2)), ((3, 2), (2, 3), (1, 0)),
])
def test_conv2d_matches_the_definition_and_gradcheck(kernel, stride, padding):
    x, w, b = rand64(2, 2, 5, 6, seed=1), rand64(3, 2, *kernel, seed=2), rand64(3, seed=3)
    y = F.conv2d(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(y.data, conv2d_loops(x.data, w.data, b.data, stride, padding),
                               atol=1e-12)
    assert tinygan.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding), [x, w, b])


@pytest.mark.parametrize("kernel, stride, padding, output_padding", [
    ((3, 3), (1, 1), (0, 0), (0, 0)), ((4, 4), (2, 2), (1, 1), (1, 1)),
    ((2, 3), (2, 3), (0, 1), (1, 2)),
])
def test_conv_transpose2d_matches_the_definition_and_gradcheck(kernel, stride, padding,
                                                               output_padding):
    x, w, b = rand64(2, 3, 3, 4, seed=1), rand64(3, 2, *kernel, seed=2), rand64(2, seed=3)
    y = F.conv_transpose2d(x, w, b, stride, padding, output_padding)
    expected = conv_transpose2d_loops(x.data, w.data, b.data, stride, padding, output_padding)
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    assert tinygan.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding,
                                                        output_padding), [x, w, b])


def test_conv_second_derivatives():
    x, w = rand64(1, 2, 4, 4, seed=1), rand64(2, 2, 3, 2, seed=2)
    assert tinygan.gradgradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1), [x, w])
    b = rand64(2, seed=4)  # with a bias: one op (_conv), its bias gradient a sum of g
    assert tinygan.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                                 [x, w, b])
    wt = rand64(2, 1, 3, 3, seed=3)
    assert tinygan.gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, None, 2, 1, 1), [x, wt])


def test_conv_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(1, 2, 4, 4\).*\(3, 5, 3, 3\)"):
        F.conv2d(rand64(1, 2, 4, 4), rand64(3, 5, 3, 3))
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(rand64(1, 2, 4, 4), rand64(2, 1, 3, 3), stride=1, output_padding=1)


# ----------------------------------------------------------------------------- batch_norm


def test_batch_norm_training_normalises_and_updates_running_stats():
    x = rand64(6, 3, 4, seed=1, low=0, high=5)
    w, b = rand64(3, seed=2), rand64(3, seed=3)
    running_mean, running_var = np.zeros(3), np.ones(3)
    y = F.batch_norm(x, running_mean, running_var, w, b, training=True, momentum=0.1, eps=1e-5)
    mean = x.data.mean(axis=(0, 2))
    var = x.data.var(axis=(0, 2))  # biased, for normalising
    expected = ((x.data - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * w.data[:, None]
                + b.data[:, None])
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    np.testing.assert_allclose(running_mean, 0.1 * mean)
    unbiased = x.data.var(axis=(0, 2), ddof=1)  # n = 6 * 4 values per channel
    np.testing.assert_allclose(running_var, 0.9 + 0.1 * unbiased)


def test_batch_norm_eval_uses_running_stats_and_leaves_them():
    x = rand64(4, 2, 3, 3, seed=1)
    running_mean, running_var = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    y = F.batch_norm(x, running_mean, running_var, training=False, eps=1e-5)
    expected = ((x.data - running_mean.reshape(1, 2, 1, 1))
                / np.sqrt(running_var.reshape(1, 2, 1, 1) + 1e-5))
    np.testing.assert_allclose(y.data, expected)
    np.testing.assert_array_equal(running_mean, [0.5, -1.0])


@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3), (3, 2, 2, 3)])
def test_batch_norm_gradients_training(shape):
    x = rand64(*shape, seed=1)
    w, b = rand64(shape[1], seed=2), rand64(shape[1], seed=3)
    stats = np.zeros(shape[1]), np.ones(shape[1])
    assert tinygan.gradcheck(lambda x, w, b: F.batch_norm(x, *stats, w, b, training=True),
                             [x, w, b])


def test_batch_norm_gradients_eval():
    x, w, b = rand64(3, 2, 2, 2, seed=1), rand64(2, seed=2), rand64(2, seed=3)
    stats = np.array([0.1, -0.2]), np.array([1.5, 0.5])
    assert tinygan.gradcheck(lambda x, w, b: F.batch_norm(x, *stats, w, b, training=False),
                             [x, w, b])


def test_batch_norm_second_derivatives():
    x, w, b = rand64(4, 2, 3, seed=1), rand64(2, seed=2), rand64(2, seed=3)
    assert tinygan.gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                         [x, w, b])


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(rand64(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"weight of shape \(2,\).*\(4, 3\)"):
        F.batch_norm(rand64(4, 3), None, None, rand64(2), training=True)


# -------------------------------------------------------------------------------- dropout


def test_dropout_scales_survivors_and_is_reproducible():
    x = tinygan.ones(200, 50, requires_grad=True)
    tinygan.manual_seed(3)
    y = F.dropout(x, p=0.3)
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7, rtol=1e-6)  # the gradient uses the same mask
    tinygan.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, p=0.3).data, y.data)


def test_dropout_eval_and_edge_cases():
    x = rand64(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


# --------------------------------------------------------------------------------- losses


def test_bce_matches_formula_and_reductions():
    p, y = rand64(4, 3, low=0.05, high=0.95, seed=1), np.random.default_rng(2).random((4, 3))
    elementwise = -(y * np.log(p.data) + (1 - y) * np.log(1 - p.data))
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, reduction="none").data, elementwise)
    np.testing.assert_allclose(F.binary_cross_entropy(p, y).item(), elementwise.mean())
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, reduction="sum").item(),
                               elementwise.sum())
    weight = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, weight=weight).item(),
                               (elementwise * weight).mean())


def test_bce_clamps_log_at_minus_100():
    p = tensor([0.0, 1.0, 0.0, 1.0], dtype=np.float64, requires_grad=True)
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad))


def test_bce_with_logits_matches_bce_of_sigmoid():
    logits, y = rand64(5, 2, low=-4, high=4, seed=1), np.random.default_rng(2).random((5, 2))
    expected = F.binary_cross_entropy(logits.sigmoid(), y, reduction="none").data
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(logits, y, reduction="none").data, expected)
    pos_weight, weight = np.array([3.0, 0.5]), np.array([[2.0], [1.0], [1.0], [0.0], [1.0]])
    s = 1 / (1 + np.exp(-logits.data))
    formula = -weight * (pos_weight * y * np.log(s) + (1 - y) * np.log(1 - s))
    loss = F.binary_cross_entropy_with_logits(logits, y, weight, "sum", pos_weight)
    np.testing.assert_allclose(loss.item(), formula.sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_stable_at_1000(dtype):
    logits = tensor([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype, requires_grad=True)
    target = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1000.0, 1000.0])
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad, [0.0, 0.0, 1.0, -1.0])  # sigma(l) - y


def test_mse_loss():
    x, y = rand64(3, 2, seed=1), np.random.default_rng(2).random((3, 2))
    np.testing.assert_allclose(F.mse_loss(x, y).item(), ((x.data - y) ** 2).mean())
    np.testing.assert_allclose(F.mse_loss(x, 0.5, reduction="sum").item(),
                               ((x.data - 0.5) ** 2).sum())


@pytest.mark.parametrize("loss", [
    lambda x, t: F.binary_cross_entropy(x.sigmoid(), t),
    lambda x, t: F.binary_cross_entropy(x.sigmoid(), t, weight=np.array([1.0, 2.0, 3.0]),
                                        reduction="sum"),
    lambda x, t: F.binary_cross_entropy_with_logits(x, t),
    lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=np.array([2.0, 1.0, 0.5]),
                                                    reduction="none"),
    lambda x, t: F.mse_loss(x, t),
])
def test_loss_first_and_second_derivatives(loss):
    x = rand64(2, 3, low=-2, high=2, seed=1)
    t = rand64(2, 3, low=0, high=1, seed=2)  # the target is differentiable too
    assert tinygan.gradcheck(loss, [x, t])
    assert tinygan.gradgradcheck(loss, [x, t])


def test_loss_targets_may_be_numbers_arrays_or_tensors():
    x = rand64(3, requires_grad=False)
    a = F.binary_cross_entropy_with_logits(x, 1.0)
    b = F.binary_cross_entropy_with_logits(x, np.ones(3))
    c = F.binary_cross_entropy_with_logits(x, tinygan.ones(3, dtype=np.float64))
    assert a.item() == b.item() == c.item()


@pytest.mark.parametrize("loss", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits,
                                  F.mse_loss])
def test_loss_shape_mismatch_and_reduction_errors(loss):
    x = rand64(4, 1, low=0.1, high=0.9)
    with pytest.raises(ValueError, match=r"target of shape \(4,\).*input of shape \(4, 1\)"):
        loss(x, np.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        loss(x, np.ones((4, 1)), reduction="avg")


def test_bce_gradient_is_zero_for_a_confident_correct_prediction():
    p = tensor([1.0, 0.0, 0.5], dtype=np.float64, requires_grad=True)
    F.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]), reduction="sum").backward()
    np.testing.assert_allclose(p.grad, [0.0, 0.0, -2.0])  # (p - y) / (p (1 - p))


def test_bce_refuses_values_that_are_not_probabilities():
    with pytest.raises(ValueError, match=r"probability in \[0, 1\]"):
        F.binary_cross_entropy(tensor([1.5]), tensor([1.0]))


def test_conv_promotes_float32_with_float64_like_every_other_op():
    x = tensor(np.ones((1, 1, 4, 4)), dtype=np.float32, requires_grad=True)
    w = tensor(np.ones((2, 1, 3, 3)), dtype=np.float64)
    y = F.conv2d(x, w, stride=np.int64(1))
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
