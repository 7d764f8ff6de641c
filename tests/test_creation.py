"""Factories (zeros, ones, full, arange, rand, randn, *_like, tensor) and seeding."""

import numpy as np
import pytest

import tinygan as tg


@pytest.mark.parametrize("factory, value", [(tg.zeros, 0.0), (tg.ones, 1.0)])
def test_zeros_and_ones_accept_sizes_or_a_shape(factory, value):
    for args in ((2, 3), ((2, 3),), ([2, 3],)):
        t = factory(*args)
        assert t.shape == (2, 3) and t.dtype == np.float32 and not t.requires_grad
        assert np.all(t.data == value)
    assert factory(4).shape == (4,)
    assert factory().shape == ()
    assert factory(2, dtype=np.float64, requires_grad=True).requires_grad
    assert factory(2, dtype=np.float64).dtype == np.float64


def test_full():
    t = tg.full((2, 3), 7.5)
    assert t.shape == (2, 3) and t.dtype == np.float32 and np.all(t.data == 7.5)
    assert tg.full(4, -1).shape == (4,)
    assert tg.full([1, 2], 0.0, dtype=np.float64, requires_grad=True).requires_grad


def test_arange():
    np.testing.assert_array_equal(tg.arange(4).data, [0, 1, 2, 3])
    np.testing.assert_array_equal(tg.arange(2, 5).data, [2, 3, 4])
    np.testing.assert_allclose(tg.arange(0, 1, 0.25).data, [0, 0.25, 0.5, 0.75])
    assert tg.arange(3).dtype == np.float32
    assert tg.arange(3, dtype=np.float64, requires_grad=True).requires_grad


def test_arange_with_only_a_stop_and_a_step():
    np.testing.assert_array_equal(tg.arange(10, step=2).data, [0, 2, 4, 6, 8])


def test_rand_and_randn_shapes_dtypes_and_ranges():
    u = tg.rand(200, 5)
    assert u.shape == (200, 5) and u.dtype == np.float32
    assert u.data.min() >= 0.0 and u.data.max() < 1.0
    assert tg.rand((2, 3)).shape == (2, 3)
    n = tg.randn(2000, dtype=np.float64, requires_grad=True)
    assert n.dtype == np.float64 and n.requires_grad
    assert abs(n.data.mean()) < 0.1 and abs(n.data.std() - 1.0) < 0.1


@pytest.mark.parametrize("like", [tg.zeros_like, tg.ones_like, tg.rand_like, tg.randn_like])
def test_like_factories_copy_shape_and_dtype(like):
    other = tg.tensor(np.zeros((2, 1, 3), np.float64))
    t = like(other)
    assert t.shape == (2, 1, 3) and t.dtype == np.float64 and not t.requires_grad
    t = like(other, dtype=np.float32, requires_grad=True)
    assert t.dtype == np.float32 and t.requires_grad
    assert like(tg.tensor(1.0)).shape == ()


def test_full_like():
    t = tg.full_like(tg.zeros(2, 2), 3.0, requires_grad=True)
    assert t.shape == (2, 2) and np.all(t.data == 3.0) and t.requires_grad


def test_tensor_copies_its_data():
    array = np.ones(3)
    t = tg.tensor(array)
    array[0] = 5.0
    assert t.data[0] == 1.0
    u = tg.tensor(t)
    t.data[1] = 7.0
    assert u.data[1] == 1.0
    named = tg.tensor([1.0], name="w", requires_grad=True)
    assert named.name == "w" and named.requires_grad and named.is_leaf


def test_manual_seed_makes_random_tensors_reproducible():
    tg.manual_seed(42)
    a, b = tg.randn(3, 4), tg.rand(5)
    tg.manual_seed(42)
    c, d = tg.randn(3, 4), tg.rand(5)
    np.testing.assert_array_equal(a.data, c.data)
    np.testing.assert_array_equal(b.data, d.data)
    assert not np.array_equal(a.data, tg.randn(3, 4).data)  # the stream moves on


def test_different_seeds_give_different_numbers():
    tg.manual_seed(1)
    a = tg.randn(10)
    tg.manual_seed(2)
    b = tg.randn(10)
    assert not np.array_equal(a.data, b.data)


def test_manual_seed_returns_the_generator_factories_use():
    generator = tg.manual_seed(3)
    expected = generator.standard_normal(4).astype(np.float32)
    tg.manual_seed(3)
    np.testing.assert_array_equal(tg.randn(4).data, expected)
