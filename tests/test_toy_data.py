"""Toy data sets: the protocol's mixtures exactly, seeded sampling, densities that integrate."""

import numpy as np
import pytest

import tinygan
from tinygan import datasets


def test_ring8_has_eight_distinct_means_on_the_unit_circle():
    ring = datasets.ring8()
    assert ring.means.shape == (8, 2)
    # a linspace(0, 2 pi, 8) bug makes the first and last angle coincide: 7 distinct modes
    assert len({tuple(np.round(m, 9)) for m in ring.means}) == 8
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 1.0)
    pairwise = np.linalg.norm(ring.means[:, None] - ring.means[None], axis=2)
    np.testing.assert_allclose(np.sort(pairwise, axis=1)[:, 1], 2 * np.sin(np.pi / 8))
    assert ring.std == 0.01


def test_grid25_means_and_std_follow_the_protocol():
    grid = datasets.grid25()
    expected = {(a, b) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(m) for m in grid.means} == expected
    assert grid.std == 0.05


def test_mixture_samples_have_the_mixture_moments():
    tinygan.manual_seed(0)
    data = datasets.mixture_1d(means=(-2.0, 2.0), std=0.5, weights=(0.25, 0.75))
    x = data.sample(40000).reshape(-1)
    assert x.dtype == np.float32
    assert np.mean(x > 0) == pytest.approx(0.75, abs=0.01)
    assert x[x > 0].std() == pytest.approx(0.5, abs=0.01)


def test_mixture_density_integrates_to_one():
    data = datasets.mixture_1d(means=(-1.0, 3.0), std=0.7)
    xs = np.linspace(-8, 10, 20001)
    assert np.trapezoid(data.density(xs), xs) == pytest.approx(1.0, abs=1e-6)


def test_sampling_is_seeded_by_manual_seed():
    for name in datasets.TOY_DATASETS:
        data = datasets.make(name)
        tinygan.manual_seed(5)
        first = data.sample(10)
        tinygan.manual_seed(5)
        assert np.array_equal(first, data.sample(10)), name
        assert first.shape == (10, data.dim)


def test_shapes_lie_where_their_docstrings_say():
    tinygan.manual_seed(0)
    radii = np.linalg.norm(datasets.annulus().sample(2000), axis=1)
    assert radii.min() >= 0.5 - 1e-6 and radii.max() <= 1.0 + 1e-6
    assert np.isfinite(datasets.spiral().sample(100)).all()
    assert np.isfinite(datasets.moons().sample(100)).all()


def test_batches_yield_fresh_tensors_forever():
    tinygan.manual_seed(0)
    stream = datasets.batches(datasets.ring8(), 16)
    a, b = next(stream), next(stream)
    assert isinstance(a, tinygan.Tensor) and a.shape == (16, 2)
    assert not np.array_equal(a.data, b.data)


@pytest.mark.parametrize("call, message", [
    (lambda: datasets.make("ring9"), "unknown toy data set 'ring9'"),
    (lambda: next(datasets.batches(datasets.ring8(), 0)), "batch_size must be at least 1"),
    (lambda: datasets.mixture_1d(std=0.0), "std must be positive"),
    (lambda: datasets.mixture_1d(weights=(0.5, 0.6)), "weights must be 2 non-negative"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
