"""Spectral normalisation: the power iteration finds the largest singular value, the normalised
weight has spectral norm 1, the gradient of W / (u^T W v) against central differences (first and
second order, float64), the layer's two modes and its state, and PyTorch's spectral_norm on the
same weights and estimate."""

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
from tinygan import nn

try:
    import torch
except ImportError:  # the comparison with PyTorch is skipped
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def test_power_iteration_converges_to_the_top_singular_pair(rng):
    w = rng.standard_normal((6, 3, 2, 2))
    matrix = w.reshape(6, -1)
    left, singular, right = np.linalg.svd(matrix)
    v0 = rng.standard_normal(12)
    u, v = F.power_iteration(w, v0 / np.linalg.norm(v0), steps=200)
    assert u @ matrix @ v == pytest.approx(singular[0], rel=1e-10)
    assert abs(u @ left[:, 0]) == pytest.approx(1.0, abs=1e-8)  # the same vector up to sign
    assert abs(v @ right[0]) == pytest.approx(1.0, abs=1e-8)
    _, one_step = F.power_iteration(w, v0 / np.linalg.norm(v0), steps=1)
    assert one_step @ matrix.T @ matrix @ one_step < singular[0] ** 2  # one step: below sigma^2


def test_spectral_normalize_gives_spectral_norm_one_and_gradchecks(rng):
    w = rng.standard_normal((5, 4))
    u, v = F.power_iteration(w, np.ones(4) / 2, steps=300)
    normalized = F.spectral_normalize(tg.tensor(w), u, v).data
    assert np.linalg.norm(normalized, 2) == pytest.approx(1.0, rel=1e-10)
    np.testing.assert_allclose(normalized, w / np.linalg.svd(w)[1][0], rtol=1e-10)
    # the differentiable part, u and v fixed: W -> W / (u^T W v)
    weight = tg.tensor(rng.standard_normal((5, 2, 2)), requires_grad=True)
    u, v = rng.standard_normal(5), rng.standard_normal(4)
    assert tg.gradcheck(lambda w: F.spectral_normalize(w, u, v) ** 2, [weight])
    assert tg.gradgradcheck(lambda w: F.spectral_normalize(w, u, v) ** 2, [weight])


def test_spectral_norm_layer_modes_state_and_errors(rng):
    tg.manual_seed(0)
    layer = nn.SpectralNorm(nn.Conv2d(2, 4, 3, stride=2, padding=1))
    x = tg.tensor(rng.standard_normal((3, 2, 6, 6)).astype(np.float32))
    assert layer(x).shape == (3, 4, 3, 3)
    assert sorted(layer.state_dict()) == ["layer.bias", "layer.weight", "u", "v"]
    assert [p is q for p, q in zip(layer.parameters(), layer.layer.parameters())] == [True, True]
    sigma = np.linalg.svd(layer.layer.weight.data.reshape(4, -1).astype(np.float64))[1][0]
    for _ in range(30):  # training mode: every call advances the estimate
        layer(x)
    np.testing.assert_allclose(layer.normalized_weight().data, layer.layer.weight.data / sigma,
                               rtol=1e-4)
    layer.eval()
    v = layer.v.copy()
    first = layer(x).data
    np.testing.assert_array_equal(layer.v, v)  # eval mode: the estimate is not changed
    np.testing.assert_array_equal(layer(x).data, first)
    dense = nn.SpectralNorm(nn.Dense(7, 3))
    assert dense(tg.zeros(2, 7)).shape == (2, 3)
    with pytest.raises(TypeError, match="must be a Dense or Conv2d, got ConvTranspose2d"):
        nn.SpectralNorm(nn.ConvTranspose2d(2, 2, 4))
    with pytest.raises(ValueError, match="power_iterations must be an int >= 1, got 0"):
        nn.SpectralNorm(nn.Dense(2, 2), power_iterations=0)
    with pytest.raises(ValueError, match=r"v must have shape \(2,\) .* got \(3,\)"):
        F.power_iteration(np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match=r"u must have shape \(3,\) and v \(2,\); got \(3,\) and"):
        F.spectral_normalize(tg.ones(3, 2), np.ones(3), np.ones(3))


@needs_torch
def test_spectral_norm_matches_pytorch(rng):
    tg.manual_seed(1)
    ours = nn.SpectralNorm(nn.Conv2d(3, 5, 4, stride=2, padding=1, dtype=np.float64))
    theirs = torch.nn.Conv2d(3, 5, 4, stride=2, padding=1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.layer.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.layer.bias.data))
    theirs = torch.nn.utils.parametrizations.spectral_norm(theirs)
    parametrization = theirs.parametrizations.weight[0]
    parametrization._v.copy_(torch.from_numpy(ours.v))
    x = rng.standard_normal((2, 3, 8, 8))
    for _ in range(3):  # three training calls, each one power-iteration step
        ours_out = ours(tg.tensor(x))
        theirs_out = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(ours.u, parametrization._u.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.v, parametrization._v.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_out.data, theirs_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    ours_out.sum().backward()
    theirs_out.sum().backward()
    np.testing.assert_allclose(ours.layer.weight.grad,
                               theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-9,
                               atol=1e-12)
