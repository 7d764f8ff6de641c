"""The ops the image models add: max pooling, embedding lookup, (log-)softmax and cross-entropy.
Values against their definitions, first and second derivatives against central differences."""

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
from tinygan import nn


def max_pool_definition(x, kernel, stride, padding):
    """y[n, c, i, j] = max over the window of x padded with -inf (the module docstring)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    oh = (x.shape[2] + 2 * ph - kh) // sh + 1
    ow = (x.shape[3] + 2 * pw - kw) // sw + 1
    y = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return y


CASES = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (2, 1), (1, 0)),
         ((2, 2), (1, 1), (0, 0))]  # the last two overlap: an element can win two windows


@pytest.mark.parametrize("kernel, stride, padding", CASES)
def test_max_pool2d_matches_the_definition_and_gradcheck(kernel, stride, padding, rng):
    x = rng.standard_normal((2, 3, 5, 7))
    y = F.max_pool2d(tg.tensor(x), kernel, stride, padding)
    np.testing.assert_array_equal(y.data, max_pool_definition(x, kernel, stride, padding))
    xt = tg.tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True)
    assert tg.gradcheck(lambda t: F.max_pool2d(t, kernel, stride, padding), [xt])
    assert tg.gradgradcheck(lambda t: F.max_pool2d(t, kernel, stride, padding), [xt])


def test_max_pool2d_gradient_goes_to_the_first_maximum_and_adds_up_where_windows_overlap():
    x = tg.tensor(np.array([[[[1.0, 5.0, 5.0], [0.0, 2.0, 1.0]]]]), requires_grad=True)
    y = F.max_pool2d(x, 2, stride=1)  # windows [[1,5],[0,2]] and [[5,5],[2,1]] -> 5 and 5
    np.testing.assert_array_equal(y.data, [[[[5.0, 5.0]]]])
    y.backward(np.array([[[[1.0, 10.0]]]]))
    # both windows pick the 5 at (0, 1): the first maximum of the second window in row-major order
    np.testing.assert_array_equal(x.grad, [[[[0.0, 11.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_max_pool2d_layer_and_errors():
    layer = nn.MaxPool2d(2)
    assert layer(tg.zeros(4, 3, 28, 28)).shape == (4, 3, 14, 14)
    assert "kernel_size=(2, 2), stride=(2, 2)" in repr(layer)
    with pytest.raises(ValueError, match=r"4-D \(N, C, H, W\), got shape \(3, 28, 28\)"):
        F.max_pool2d(tg.zeros(3, 28, 28), 2)
    with pytest.raises(ValueError, match="padding .* at most half"):
        F.max_pool2d(tg.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        F.max_pool2d(tg.zeros(1, 1, 2, 2), 3)


def test_embedding_looks_up_rows_and_sums_gradients_of_repeated_labels(rng):
    weight = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    labels = np.array([[2, 0], [2, 2]])
    out = F.embedding(labels, weight)
    np.testing.assert_array_equal(out.data, weight.data[labels])
    out.sum().backward()
    np.testing.assert_array_equal(weight.grad, [[1, 1, 1], [0, 0, 0], [3, 3, 3], [0, 0, 0]])
    assert tg.gradcheck(lambda w: F.embedding(labels, w) ** 2, [weight])
    assert tg.gradgradcheck(lambda w: F.embedding(labels, w) ** 2, [weight])


def test_embedding_layer_and_errors():
    layer = nn.Embedding(10, 5)
    assert layer.weight.shape == (10, 5) and abs(layer.weight.data.std() - 1) < 0.4
    assert layer(np.arange(10)).shape == (10, 5)
    with pytest.raises(IndexError, match=r"indices must lie in 0..9, got values from 0 to 10"):
        layer(np.array([0, 10]))
    with pytest.raises(TypeError, match="indices must be integers, got dtype float64"):
        layer(np.array([0.0, 1.0]))


def test_log_softmax_and_softmax(rng):
    x = rng.standard_normal((3, 5)) * 4
    expected = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(F.log_softmax(tg.tensor(x)).data, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(F.softmax(tg.tensor(x), axis=1).data.sum(axis=1), 1.0)
    big = F.log_softmax(tg.tensor(np.array([[1000.0, 0.0, -1000.0]])))
    np.testing.assert_allclose(big.data, [[0.0, -1000.0, -2000.0]])  # no overflow, no log(0)
    xt = tg.tensor(x, requires_grad=True)
    assert tg.gradcheck(lambda t: F.log_softmax(t, axis=0), [xt])
    assert tg.gradgradcheck(lambda t: F.log_softmax(t), [xt])


def test_cross_entropy_is_minus_the_mean_log_probability_of_the_labels(rng):
    logits = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(4), labels]
    lt = tg.tensor(logits, requires_grad=True)
    assert F.cross_entropy(lt, labels).item() == pytest.approx(expected.mean(), rel=1e-12)
    np.testing.assert_allclose(F.cross_entropy(lt, labels, reduction="none").data, expected)
    assert tg.gradcheck(lambda t: F.cross_entropy(t, labels), [lt])
    assert tg.gradgradcheck(lambda t: F.cross_entropy(t, labels, reduction="sum"), [lt])
    with pytest.raises(ValueError, match=r"target classes must lie in 0..2, got values from 0 "):
        F.cross_entropy(lt, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"integer class numbers of shape \(4,\), got float64"):
        F.cross_entropy(lt, np.zeros(4))
