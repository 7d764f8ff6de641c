"""Tests of the fused kernels: batch norm (norm_*), LeakyReLU and bias (elementwise_*), the
Adam/RMSprop updates (optim_*), and the one-thread rule for small GEMMs in tinygan.kernels.

For each kernel family: the three rungs (naive loops, NumPy twin, compiled) agree; the ops built
on them (F.batch_norm, F.leaky_relu, F.relu, the bias of Dense and Conv2d) gradient-check in
float64, also to second order (create_graph, as WGAN-GP's penalty needs); they match the
composed reference and PyTorch (skipped without torch); bad inputs get clear errors.
"""

import importlib.util

import numpy as np
import pytest

import tinygan
import tinygan.functional as F
from tinygan import kernels, nn, optim
from tinygan._kernels import (
    elementwise_naive,
    elementwise_numpy,
    norm_naive,
    norm_numpy,
    optim_naive,
    optim_numpy,
)
from tinygan.functional.bias import add_bias
from tinygan.functional.linear import linear_composed
from tinygan.functional.normalization import batch_norm_composed

try:
    from tinygan._kernels import elementwise as elementwise_compiled
    from tinygan._kernels import norm as norm_compiled
    from tinygan._kernels import optim_update as optim_compiled
except ImportError:  # not built: the compiled rung's tests are skipped
    norm_compiled = elementwise_compiled = optim_compiled = None

torch = None  # optional: the comparisons with PyTorch are skipped without it
if importlib.util.find_spec("torch") is not None:
    import torch

needs_compiled = pytest.mark.skipif(norm_compiled is None, reason="compiled kernels not built")
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def rng_array(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def rand64(*shape, seed=0):
    return tinygan.tensor(rng_array(*shape, seed=seed), requires_grad=True)


# ------------------------------------------------------------------------------ batch norm

NORM_SHAPES = [(5, 3), (4, 2, 3), (3, 4, 2, 3), (1, 3, 5)]


def norm_rungs():
    rungs = [norm_numpy, norm_naive]
    return rungs + ([norm_compiled] if norm_compiled is not None else [])


@pytest.mark.parametrize("shape", NORM_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm_rungs_agree(shape, dtype):
    x, g = rng_array(*shape, seed=1, dtype=dtype), rng_array(*shape, seed=2, dtype=dtype)
    C = shape[1]
    w, b = rng_array(C, seed=3, dtype=dtype), rng_array(C, seed=4, dtype=dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    results = []
    for rung in norm_rungs():
        y, mean, var, inv_std = rung.batch_norm_train(x, w, b, 1e-5)
        train = rung.batch_norm_backward(g, x, mean, inv_std, w, training=True)
        evaluation = rung.batch_norm_backward(g, x, mean, inv_std, w, training=False)
        affine = rung.channel_affine(x, w, b)
        results.append((y, mean, var, inv_std) + train + evaluation + (affine,))
    reference = results[0]
    for other in results[1:]:
        for a, b_ in zip(reference, other, strict=True):
            assert a.shape == b_.shape and a.dtype == b_.dtype and b_.flags.c_contiguous
            np.testing.assert_allclose(b_, a, rtol=tol, atol=tol)
    # and the twin against the definition
    axes = (0,) + tuple(range(2, len(shape)))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(reference[1], mean, rtol=tol, atol=tol)
    np.testing.assert_allclose(reference[2], var, rtol=tol, atol=tol)


@needs_compiled
def test_norm_compiled_threads_give_the_same_result():
    x = rng_array(64, 16, 9, 9, seed=1, dtype=np.float32)  # above the one-thread size
    g = rng_array(64, 16, 9, 9, seed=2, dtype=np.float32)
    previous = kernels.get_num_threads()
    try:
        outs = []
        for threads in (1, 2):
            kernels._compiled["gemm"].set_num_threads(threads)  # 2 even on a 1-core machine
            y, mean, var, inv_std = norm_compiled.batch_norm_train(x)
            outs.append((y, mean, var) + norm_compiled.batch_norm_backward(g, x, mean, inv_std))
    finally:
        kernels._compiled["gemm"].set_num_threads(previous)
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)  # each channel is one task: no order changes


@pytest.mark.parametrize("rung", ["numpy", "naive", "compiled"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_fused_equals_composed(rung, training):
    if rung not in kernels.available():
        pytest.skip("compiled kernels not built")
    shape = (4, 3, 2, 3) if rung == "naive" else (6, 3, 4, 5)
    x, w, b = rand64(*shape, seed=1), rand64(3, seed=2), rand64(3, seed=3)
    g = rng_array(*shape, seed=4)
    results = []
    with kernels.using(rung):
        for function in (F.batch_norm, batch_norm_composed):
            stats = np.array([0.1, -0.2, 0.3]), np.array([1.5, 0.5, 2.0])
            for t in (x, w, b):
                t.grad = None
            y = function(x, *stats, w, b, training=training, momentum=0.2)
            y.backward(g)
            results.append((y.data, x.grad, w.grad, b.grad) + stats)
    for fused, composed in zip(*results, strict=True):
        np.testing.assert_allclose(fused, composed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 2, 3)])
def test_batch_norm_fused_gradcheck(shape):
    x, w, b = rand64(*shape, seed=1), rand64(shape[1], seed=2), rand64(shape[1], seed=3)
    assert tinygan.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                             [x, w, b])
    stats = np.linspace(-0.5, 0.5, shape[1]), np.linspace(0.5, 2.0, shape[1])
    assert tinygan.gradcheck(lambda x, w, b: F.batch_norm(x, *stats, w, b, training=False),
                             [x, w, b])


def test_batch_norm_fused_second_derivatives_with_and_without_affine():
    x, w, b = rand64(4, 2, 3, seed=1), rand64(2, seed=2), rand64(2, seed=3)
    assert tinygan.gradgradcheck(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b])
    assert tinygan.gradgradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x])
    stats = np.array([0.1, -0.2]), np.array([1.5, 0.5])
    assert tinygan.gradgradcheck(
        lambda x, w: F.batch_norm(x, *stats, w, None, training=False), [x, w])


def test_gradient_penalty_through_a_critic_with_batch_norm():
    """WGAN-GP's penalty (||grad_x D(x)|| - 1)^2 differentiates D's backward: with the fused
    batch norm in D, its gradient w.r.t. D's weights equals the composed version's."""
    tinygan.manual_seed(0)
    x = rand64(6, 3, seed=5)
    grads = []
    for use_fused in (True, False):
        tinygan.manual_seed(0)
        dense1, dense2 = nn.Dense(3, 4).to(np.float64), nn.Dense(4, 1).to(np.float64)
        norm = nn.BatchNorm1d(4).to(np.float64)
        function = F.batch_norm if use_fused else batch_norm_composed
        h = function(dense1(x), norm.running_mean, norm.running_var, norm.weight, norm.bias,
                     training=True)
        out = dense2(F.leaky_relu(h, 0.2) if use_fused else h.leaky_relu(0.2)).sum()
        (gx,) = tinygan.grad(out, x, create_graph=True)
        penalty = ((gx * gx).sum(axis=1).sqrt() - 1) ** 2
        params = [dense1.weight, dense1.bias, norm.weight, dense2.weight]  # (beta: no effect)
        grads.append([g.data for g in tinygan.grad(penalty.mean(), params)])
    for fused, composed in zip(*grads, strict=True):
        np.testing.assert_allclose(fused, composed, rtol=1e-9, atol=1e-12)


def test_batch_norm_fused_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(rand64(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"weight of shape \(2,\).*\(4, 3\)"):
        F.batch_norm(rand64(4, 3), None, None, rand64(2), training=True)
    with pytest.raises(ValueError, match=r"shape \(N, C, \.\.\.\), got \(4,\)"):
        F.batch_norm(rand64(4), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        F.batch_norm(rand64(4, 3), None, None, training=False)


@pytest.mark.parametrize("rung", norm_rungs())
def test_norm_kernel_bad_inputs(rung):
    x = rng_array(4, 3)
    with pytest.raises(TypeError, match=r"batch_norm_train: x must be float32 or float64, got "
                                        r"int64"):
        rung.batch_norm_train(np.ones((4, 3), np.int64))
    with pytest.raises(ValueError, match=r"batch_norm_train: weight of shape \(2,\) does not "
                                         r"match the 3 channels"):
        rung.batch_norm_train(x, np.ones(2))
    with pytest.raises(ValueError, match=r"batch_norm_train: eps must be >= 0, got -1"):
        rung.batch_norm_train(x, eps=-1)
    with pytest.raises(ValueError, match=r"batch_norm_backward: g of shape \(4, 2\) differs"):
        rung.batch_norm_backward(rng_array(4, 2), x, np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match=r"channel_affine: x must be a numpy array, got list"):
        rung.channel_affine([[1.0]], np.ones(1))


@needs_torch
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_fused_matches_torch(training):
    x, w, b = rand64(8, 3, 4, 4, seed=1), rand64(3, seed=2), rand64(3, seed=3)
    g = rng_array(8, 3, 4, 4, seed=4)
    mean, var = np.array([0.1, -0.2, 0.3]), np.array([1.5, 0.5, 2.0])
    y = F.batch_norm(x, mean, var, w, b, training=training, momentum=0.1, eps=1e-5)
    y.backward(g)
    xt, wt, bt = (torch.tensor(t.data, requires_grad=True) for t in (x, w, b))
    mean_t, var_t = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64), \
        torch.tensor([1.5, 0.5, 2.0], dtype=torch.float64)
    yt = torch.nn.functional.batch_norm(xt, mean_t, var_t, wt, bt, training, 0.1, 1e-5)
    yt.backward(torch.tensor(g))
    for ours, theirs in ((y.data, yt), (x.grad, xt.grad), (w.grad, wt.grad), (b.grad, bt.grad),
                         (mean, mean_t), (var, var_t)):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ LeakyReLU, ReLU and bias


def elementwise_rungs():
    rungs = [elementwise_numpy, elementwise_naive]
    return rungs + ([elementwise_compiled] if elementwise_compiled is not None else [])


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0])
def test_elementwise_rungs_agree(shape, dtype, slope):
    x, g = rng_array(*shape, seed=1, dtype=dtype), rng_array(*shape, seed=2, dtype=dtype)
    x.reshape(-1)[:3] = 0  # the kink: y = 0, dx = slope g
    bias = rng_array(shape[1], seed=3, dtype=dtype)
    expected_y = np.where(x > 0, x, x * dtype(slope))
    expected_dx = np.where(x > 0, g, g * dtype(slope))
    expected_bias_grad = g.astype(np.float64).sum(axis=tuple(i for i in range(g.ndim) if i != 1))
    for rung in elementwise_rungs():
        np.testing.assert_array_equal(rung.leaky_relu(x, slope), expected_y)
        np.testing.assert_array_equal(rung.leaky_relu_backward(x, g, slope), expected_dx)
        np.testing.assert_array_equal(rung.bias_add(x, bias),
                                      x + bias.reshape((1, -1) + (1,) * (x.ndim - 2)))
        np.testing.assert_allclose(rung.bias_grad(g), expected_bias_grad, rtol=1e-5)


@pytest.mark.parametrize("rung", elementwise_rungs())
def test_relu_gives_positive_zero_and_nan_stays_nan(rung):
    x = np.array([-2.0, -0.0, 0.0, 3.0, np.nan], np.float32)
    y = rung.leaky_relu(x, 0.0)
    np.testing.assert_array_equal(y, [0, 0, 0, 3, np.nan])
    assert not np.signbit(y[:3]).any()  # as max(x, 0) and torch's relu: +0.0
    assert np.isnan(rung.leaky_relu(x, 0.2)[-1])


@pytest.mark.parametrize("rung", ["numpy", "naive", "compiled"])
def test_activation_and_bias_ops_gradcheck(rung):
    if rung not in kernels.available():
        pytest.skip("compiled kernels not built")
    x = rand64(3, 4, seed=1)
    x.data[0, 0] = 0.3  # away from the kink, where central differences are meaningless
    b, images, channel_bias = rand64(4, seed=2), rand64(2, 3, 2, 2, seed=3), rand64(3, seed=4)
    with kernels.using(rung):
        assert tinygan.gradcheck(lambda x: F.leaky_relu(x, 0.2), [x])
        assert tinygan.gradcheck(F.relu, [x])
        assert tinygan.gradcheck(add_bias, [x, b])
        assert tinygan.gradcheck(add_bias, [images, channel_bias])
        assert tinygan.gradgradcheck(lambda x: F.leaky_relu(x, 0.2) * x, [x])
        assert tinygan.gradgradcheck(lambda x, b: add_bias(x, b) ** 2, [x, b])


def test_fused_activation_matches_the_tensor_method():
    x = rand64(4, 5, seed=1)
    for ours, method in ((F.leaky_relu(x, 0.2), x.leaky_relu(0.2)), (F.relu(x), x.relu())):
        np.testing.assert_array_equal(ours.data, method.data)
    # slopes outside [0, 1] are the Tensor method's (no kernel): same values
    np.testing.assert_array_equal(F.leaky_relu(x, 1.5).data, x.leaky_relu(1.5).data)


def test_dense_and_conv_bias_gradients_are_the_sums():
    tinygan.manual_seed(0)
    dense = nn.Dense(3, 4).to(np.float64)
    conv = nn.Conv2d(2, 3, 3, padding=1).to(np.float64)
    x = tinygan.tensor(rng_array(5, 3, seed=1))
    images = tinygan.tensor(rng_array(2, 2, 4, 4, seed=2))
    g_dense, g_conv = rng_array(5, 4, seed=3), rng_array(2, 3, 4, 4, seed=4)
    dense(x).backward(g_dense)
    conv(images).backward(g_conv)
    np.testing.assert_allclose(dense.bias.grad, g_dense.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(conv.bias.grad, g_conv.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("rung", ["numpy", "compiled"])
def test_linear_op_equals_composed_and_gradchecks(rung):
    if rung not in kernels.available():
        pytest.skip("compiled kernels not built")
    x, w, b = rand64(5, 3, seed=1), rand64(4, 3, seed=2), rand64(4, seed=3)
    g = rng_array(5, 4, seed=4)
    results = []
    with kernels.using(rung):
        for function in (F.linear, linear_composed):
            for t in (x, w, b):
                t.grad = None
            y = function(x, w, b)
            y.backward(g)
            results.append((y.data, x.grad, w.grad, b.grad))
        assert tinygan.gradcheck(F.linear, [x, w, b])
        assert tinygan.gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, [x, w, b])
        assert tinygan.gradcheck(lambda x, w: F.linear(x, w), [x, w])
    for fused, composed in zip(*results, strict=True):
        np.testing.assert_allclose(fused, composed, rtol=1e-12, atol=1e-14)
    assert F.linear(x, w, b)._op == "linear"  # one node
    assert len(F.linear(x, w, b)._parents) == 3


@pytest.mark.parametrize("rung", elementwise_rungs())
def test_elementwise_bad_inputs(rung):
    x = rng_array(4, 3)
    with pytest.raises(ValueError, match=r"leaky_relu: negative_slope must be in \[0, 1\], "
                                         r"got -0\.5"):
        rung.leaky_relu(x, -0.5)
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a number, got str"):
        rung.leaky_relu(x, "0.2")
    with pytest.raises(ValueError, match=r"leaky_relu_backward: g of shape \(3, 4\) differs"):
        rung.leaky_relu_backward(x, rng_array(3, 4), 0.2)
    with pytest.raises(ValueError, match=r"bias_add: bias of shape \(4,\) does not match x of "
                                         r"shape \(4, 3\)"):
        rung.bias_add(x, np.ones(4))
    with pytest.raises(ValueError, match=r"bias_grad: expected an array of shape \(N, C, "
                                         r"\.\.\.\), got \(3,\)"):
        rung.bias_grad(np.ones(3))


@needs_torch
def test_leaky_relu_and_bias_match_torch():
    x = rand64(8, 4, 3, 3, seed=1)
    b = rand64(4, seed=2)
    g = rng_array(8, 4, 3, 3, seed=3)
    F.leaky_relu(add_bias(x, b), 0.2).backward(g)
    xt, bt = torch.tensor(x.data, requires_grad=True), torch.tensor(b.data, requires_grad=True)
    yt = torch.nn.functional.leaky_relu(xt + bt.reshape(1, 4, 1, 1), 0.2)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad, bt.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------------- optimizer updates


def optim_rungs():
    rungs = [optim_numpy, optim_naive]
    return rungs + ([optim_compiled] if optim_compiled is not None else [])


ADAM_SETTINGS = [dict(lr=2e-4, beta1=0.5, beta2=0.999, eps=1e-8, weight_decay=0.0),
                 dict(lr=1e-2, beta1=0.3, beta2=0.9, eps=1e-6, weight_decay=0.1)]
RMSPROP_SETTINGS = [dict(lr=5e-5, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0),
                    dict(lr=1e-2, alpha=0.3, eps=1e-6, weight_decay=0.1, momentum=0.5)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("settings", ADAM_SETTINGS)
@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_adam_update_rungs_give_the_same_bits(dtype, settings, order):
    results = []
    for rung in optim_rungs():
        param = rng_array(6, 5, seed=1, dtype=dtype)
        m, v = np.zeros_like(param), np.zeros_like(param)
        if order == "F":
            param, m, v = (np.asfortranarray(a) for a in (param, m, v))
        for step in range(1, 4):
            grad = rng_array(6, 5, seed=10 + step, dtype=dtype)
            if order == "strided":  # a view with steps: the compiled rung uses the twin
                grad = np.repeat(grad, 2, axis=1)[:, ::2]
            param = rung.adam_update(param, grad, m, v, step, **settings)
        results.append((param, m, v))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert a.dtype == b.dtype == dtype
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("settings", RMSPROP_SETTINGS)
@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop_update_rungs_give_the_same_bits(dtype, settings, centered):
    results = []
    for rung in optim_rungs():
        param = rng_array(4, 7, seed=1, dtype=dtype)
        square = np.zeros_like(param)
        average = np.zeros_like(param) if centered else None
        buffer = np.zeros_like(param) if settings["momentum"] > 0 else None
        for step in range(1, 4):
            grad = rng_array(4, 7, seed=10 + step, dtype=dtype)
            param = rung.rmsprop_update(param, grad, square, average, buffer, **settings)
        results.append((param, square, average, buffer))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            if a is None:
                assert b is None
            else:
                np.testing.assert_array_equal(a, b)


def test_adam_update_matches_the_formula():
    """Independent of the twin: one step from zero moments, float64, written out."""
    param, grad = rng_array(5, seed=1), rng_array(5, seed=2)
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    for rung in optim_rungs():
        m, v = np.zeros(5), np.zeros(5)
        new = rung.adam_update(param, grad, m, v, 1, lr, beta1, beta2, eps, 0.0)
        m_hat, v_hat = (1 - beta1) * grad / (1 - beta1), (1 - beta2) * grad**2 / (1 - beta2)
        np.testing.assert_allclose(new, param - lr * m_hat / (np.sqrt(v_hat) + eps), rtol=1e-12)
        np.testing.assert_allclose(m, (1 - beta1) * grad, rtol=1e-12)


@pytest.mark.parametrize("rung", optim_rungs())
def test_optim_update_bad_inputs(rung):
    param = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"adam_update: grad of shape \(2, 3\) differs from "
                                         r"param of shape \(3, 2\)"):
        rung.adam_update(param, np.zeros((2, 3)), np.zeros((3, 2)), np.zeros((3, 2)), 1,
                         0.1, 0.9, 0.999, 1e-8, 0)
    with pytest.raises(ValueError, match=r"adam_update: state exp_avg_sq is float32 \(3, 2\), "
                                         r"expected float64 \(3, 2\)"):
        rung.adam_update(param, param, np.zeros((3, 2)), np.zeros((3, 2), np.float32), 1,
                         0.1, 0.9, 0.999, 1e-8, 0)
    shared = np.zeros((3, 2))
    with pytest.raises(ValueError, match="rmsprop_update: states square_avg and grad_avg share "
                                         "memory"):
        rung.rmsprop_update(param, param, shared, shared, None, 0.1, 0.99, 1e-8, 0, 0)
    with pytest.raises(TypeError, match="adam_update: param must be float32 or float64, got "
                                        "int64"):
        ints = np.zeros(3, np.int64)
        rung.adam_update(ints, ints, ints, ints, 1, 0.1, 0.9, 0.999, 1e-8, 0)


@pytest.mark.parametrize("make", [
    lambda ps: optim.Adam(ps, lr=0.05, betas=(0.5, 0.999), weight_decay=0.01),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
])
def test_optimizers_give_the_same_bits_on_every_rung(make):
    results = []
    for rung in kernels.available():
        with kernels.using(rung):
            p = nn.Parameter(rng_array(3, 4, seed=1, dtype=np.float32))
            optimizer = make([p])
            for step in range(3):
                p.grad = rng_array(3, 4, seed=20 + step, dtype=np.float32)
                optimizer.step()
            results.append(p.data)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@needs_compiled
def test_elementwise_and_optim_kernels_give_the_same_bits_on_two_threads():
    """Big enough arrays to be split between threads: the results do not depend on it."""
    x = rng_array(64, 64, 9, 9, seed=1, dtype=np.float32)  # 331776 values: 2 threads
    g = rng_array(64, 64, 9, 9, seed=2, dtype=np.float32)
    bias = rng_array(64, seed=3, dtype=np.float32)
    gemm_module = kernels._compiled["gemm"]
    previous = gemm_module.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            gemm_module.set_num_threads(threads)  # 2 even on a 1-core machine
            m, v = np.zeros_like(x), np.zeros_like(x)
            new = optim_compiled.adam_update(x, g, m, v, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0)
            outs.append((elementwise_compiled.leaky_relu(x, 0.2),
                         elementwise_compiled.leaky_relu_backward(x, g, 0.2),
                         elementwise_compiled.bias_add(x, bias), elementwise_compiled.bias_grad(g),
                         new, m, v))
    finally:
        gemm_module.set_num_threads(previous)
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------ small GEMMs


@needs_compiled
def test_small_products_run_on_one_thread_and_restore_the_setting(monkeypatch):
    gemm_module = kernels._compiled["gemm"]
    previous = gemm_module.get_num_threads()
    seen = []
    real_gemm = gemm_module.gemm

    def spy(a, b, transpose_a=False, transpose_b=False):
        seen.append(gemm_module.get_num_threads())
        return real_gemm(a, b, transpose_a, transpose_b)

    try:
        gemm_module.set_num_threads(2)
        monkeypatch.setattr(gemm_module, "gemm", spy)
        with kernels.using("compiled"):
            a, b = rng_array(16, 8, seed=1), rng_array(8, 4, seed=2)
            np.testing.assert_allclose(kernels.gemm(a, b), a @ b, rtol=1e-12)
            big_a = np.ones((256, 256))
            kernels.gemm(big_a, big_a)  # 2^24 multiply-adds: over the threshold
        assert seen == [1, 2]
        assert gemm_module.get_num_threads() == 2
    finally:
        gemm_module.set_num_threads(previous)
