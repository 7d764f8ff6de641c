"""Figures: each drawing function writes a real image, and what the arrows show is right in
numbers (a picture is not a test)."""

import numpy as np
import pytest
from PIL import Image

import tinygan
from tinygan import datasets, gan, nn, plot
from tinygan.models import MLPDiscriminator, MLPGenerator


def _linear_d(w):
    """D(x) = sigma(w . x): a 2 -> 1 Dense layer without bias."""
    layer = nn.Dense(2, 1, bias=False)
    layer.weight.data = np.array([w], dtype=np.float32)
    return layer


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_generator_arrows_point_up_the_gradient_of_d(loss):
    # Every loss makes G move its samples where D(x) (or the critic) grows: along +w.
    D = _linear_d([2.0, -1.0])
    fake = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    arrows = plot.generator_arrows(D, fake, loss)
    cosine = arrows @ np.array([2.0, -1.0]) / np.linalg.norm(arrows, axis=1) / np.sqrt(5)
    np.testing.assert_allclose(cosine, 1.0, rtol=1e-5)


def test_generator_arrows_saturate_under_the_minimax_loss():
    # Far on D's "fake" side, log(1 - D) is flat: the minimax arrows vanish, the others do not.
    D = _linear_d([5.0, 0.0])
    fake = np.array([[-3.0, 0.0]], dtype=np.float32)  # D(x) = sigma(-15) ~ 3e-7
    minimax = np.linalg.norm(plot.generator_arrows(D, fake, "minimax"))
    nonsaturating = np.linalg.norm(plot.generator_arrows(D, fake, "nonsaturating"))
    assert minimax < 1e-5 < 1.0 < nonsaturating


def test_d_heatmap_is_sigma_of_the_logit_on_the_grid():
    D = _linear_d([1.0, 0.0])
    values, extent = plot.d_heatmap(D, (-2, 2, -1, 1), resolution=5)
    np.testing.assert_allclose(values[0], 1 / (1 + np.exp(-np.linspace(-2, 2, 5))), rtol=1e-6)
    assert extent == (-2, 2, -1, 1)


def _image(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_every_figure_is_a_real_image(tmp_path):
    tinygan.manual_seed(0)
    ring = datasets.ring8()
    G, D = MLPGenerator(hidden=8, layers=1), MLPDiscriminator(hidden=8, layers=1, pack=2)
    real, fake = ring.sample(100), G(tinygan.randn(100, 2)).data
    history = {name: list(range(1, 31)) for name in gan.HISTORY_COLUMNS}
    line = datasets.mixture_1d()
    G1, D1 = MLPGenerator(z_dim=1, data_dim=1, hidden=8, layers=1), MLPDiscriminator(1, 8, 1)
    z1 = tinygan.randn(200, 1)
    paths = [
        plot.figure(tmp_path / "lab.png", lambda ax: plot.gan_lab(ax, D, real, fake)),
        plot.figure(tmp_path / "line.png",
                    lambda ax: plot.density_1d(ax, line, G1(z1).data, D=D1, z=z1)),
        plot.history_figure(tmp_path / "history.png", history),
        plot.figure(tmp_path / "grid.png",
                    lambda ax: plot.image_grid(ax, np.zeros((6, 1, 5, 5)) - 1)),
        plot.figure(tmp_path / "matrix.png",
                    lambda ax: plot.matrix(ax, np.arange(12).reshape(3, 4), numbers=True,
                                           boxes=[(0, 1, 2, 2, "red")])),
        plot.animate(tmp_path / "anim.gif", [fake, real],
                     lambda ax, pts: plot.scatter(ax, real, pts)),
    ]
    for path in paths:
        pixels = _image(path)
        assert pixels.ndim == 3 and pixels.std() > 5, path  # not a blank canvas
    with Image.open(paths[-1]) as gif:
        assert gif.n_frames == 2


def test_plot_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 1 or 3, H, W\)"):
        plot.image_grid(None, np.zeros((4, 28, 28)))
    with pytest.raises(ValueError, match=r"matrix: expected a 2-D array, got shape \(2, 3, 4\)"):
        plot.matrix(None, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="no frames"):
        plot.animate("x.gif", [], None)


def test_matrix_writes_every_nonzero_value_and_each_box():
    values = np.array([[0.0, 1.5, 2.0], [3.0, 0.0, -4.0]])
    fig, ax = plot.new_figure()
    plot.matrix(ax, values, numbers=True, boxes=[(0, 0, 1, 2, "red"), (1, 2, 1, 1, "blue")])
    assert sorted(t.get_text() for t in ax.texts) == ["-4", "1.5", "2", "3"]  # zeros stay blank
    assert [(p.get_x(), p.get_y(), p.get_width(), p.get_height()) for p in ax.patches] == [
        (-0.5, -0.5, 2, 1), (1.5, 0.5, 1, 1)]
