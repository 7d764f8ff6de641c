"""Figures of the game, drawn with matplotlib on its Agg backend (no screen needed).

Every figure the command line or a lesson writes is drawn here:

- ``gan_lab(ax, D, real, fake, loss)``: the GAN Lab picture of a 2-D GAN — D(x) as a heat map
  over the plane, real samples, fake samples G(z), and arrows showing where the generator's
  gradient pushes each fake (-dL_G/dx at x = G(z));
- ``density_1d(ax, ...)``: Goodfellow et al. (2014), Figure 1 — p_data, p_g and D(x) on one axis,
  with the mapping x = G(z) drawn from a line of z values below;
- ``loss_curves``, ``d_output_curves``, ``grad_norm_curves``: the history of a run;
- ``scatter``, ``image_grid``: samples;
- ``matrix``: an array as a grid of cells, optionally with each value written in its cell and
  boxes around chosen blocks (im2col's windows and columns, a convolution written as a matrix);
- ``animate``: a GIF, one frame per kept moment of training (matplotlib's Pillow writer).

The ``ax``-taking functions draw into a matplotlib Axes; ``figure(path, draw, ...)`` makes a
figure, calls ``draw(ax)`` and saves it. No function here changes matplotlib's global state:
figures are made with ``matplotlib.figure.Figure`` and an Agg canvas, never through pyplot.
"""

import os

import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .autograd import no_grad
from .engine import Tensor
from .gan.losses import generator_loss, is_wasserstein
from .gradients import grad

REAL_COLOR = "#2a9d4b"
FAKE_COLOR = "#7b3fbf"
D_COLOR = "#1f5fbf"


def new_figure(ncols=1, nrows=1, size=4.0):
    """A Figure with an Agg canvas and its grid of Axes (a single Axes when 1 x 1)."""
    fig = Figure(figsize=(size * ncols, size * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def save(fig, path, dpi=100):
    """Write ``fig`` to ``path`` (PNG, SVG, PDF, by the suffix), creating the folder; returns
    the path."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def figure(path, draw, size=4.0, title=None):
    """Make a one-Axes figure, call ``draw(ax)``, save it to ``path``; returns the path."""
    fig, ax = new_figure(size=size)
    draw(ax)
    if title:
        ax.set_title(title)
    return save(fig, path)


# ------------------------------------------------------------------------- the 2-D game


def generator_arrows(D, fake, loss="nonsaturating", labels=None):
    """-dL_G/dx at each fake x = G(z): the direction in which G's next step moves that sample
    (to first order), as an (n, 2) array. L_G is G's loss for ``loss``; D is held fixed."""
    x = Tensor(np.asarray(getattr(fake, "data", fake), dtype=np.float32)).requires_grad_()
    out = D(x) if labels is None else D(x, labels)
    (g,) = grad(generator_loss(out, loss) * len(x), x)  # per-sample gradient, not / n
    return -g.data


def d_heatmap(D, bounds, resolution=120, loss="nonsaturating"):
    """D(x) on a resolution x resolution grid over bounds = (xmin, xmax, ymin, ymax).
    Returns (values, extent): sigma(l(x)) for the BCE losses, the critic's f(x) otherwise.
    D is evaluated in eval mode, without a graph. (A PacGAN D judges packs, not points: the
    grid is shown to it as packs of one point repeated.)"""
    xmin, xmax, ymin, ymax = bounds
    xs, ys = np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
    pack = getattr(D, "pack", 1)
    was_training = D.training
    D.eval()
    try:
        with no_grad():
            out = D(Tensor(np.repeat(grid, pack, axis=0))).data.reshape(-1)
    finally:
        D.train(was_training)
    values = out if is_wasserstein(loss) else 0.5 * (1 + np.tanh(0.5 * out))
    return values.reshape(resolution, resolution), (xmin, xmax, ymin, ymax)


def gan_lab(ax, D, real, fake, loss="nonsaturating", bounds=None, arrows=True, title=None):
    """Draw the GAN Lab panel: D(x) heat map, real (green) and fake (purple) samples, and arrows
    of -dL_G/dx on the fakes. ``real``, ``fake``: (n, 2) arrays or Tensors."""
    real = np.asarray(getattr(real, "data", real))
    fake = np.asarray(getattr(fake, "data", fake))
    bounds = bounds or square_bounds(real, fake)
    values, extent = d_heatmap(D, bounds, loss=loss)
    wasserstein = is_wasserstein(loss)
    image = ax.imshow(values, origin="lower", extent=extent, cmap="RdBu" if not wasserstein
                      else "PuOr", vmin=None if wasserstein else 0, vmax=None if wasserstein
                      else 1, alpha=0.55, aspect="auto")
    cbar = ax.figure.colorbar(image, ax=ax, shrink=0.8)
    cbar.set_label("critic f(x)" if wasserstein else "D(x)")
    ax.scatter(real[:, 0], real[:, 1], s=4, c=REAL_COLOR, label="real x ~ p_data", alpha=0.6)
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c=FAKE_COLOR, label="fake G(z)", alpha=0.6)
    if arrows and len(fake):
        shown = fake[:200]
        direction = generator_arrows(D, shown, loss)
        length = np.linalg.norm(direction, axis=1, keepdims=True)
        span = max(extent[1] - extent[0], extent[3] - extent[2])
        typical = max(float(np.percentile(length, 90)), 1e-12)
        # the typical arrow 6% of the panel; the few far larger ones capped at twice that
        direction = direction * (0.06 * span / typical) / np.maximum(length / typical / 2, 1)
        ax.quiver(shown[:, 0], shown[:, 1], direction[:, 0], direction[:, 1], angles="xy",
                  scale_units="xy", scale=1, color="black", width=0.003, alpha=0.7)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    if title:
        ax.set_title(title)


def scatter(ax, real, fake, bounds=None, title=None):
    """Real (green) and fake (purple) 2-D samples."""
    real = np.asarray(getattr(real, "data", real))
    fake = np.asarray(getattr(fake, "data", fake))
    bounds = bounds or square_bounds(real, fake)
    ax.scatter(real[:, 0], real[:, 1], s=3, c=REAL_COLOR, label="real", alpha=0.5)
    ax.scatter(fake[:, 0], fake[:, 1], s=3, c=FAKE_COLOR, label="G(z)", alpha=0.5)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    if title:
        ax.set_title(title)


# ------------------------------------------------------------------------- the 1-D game


def density_1d(ax, data, fake, D=None, z=None, bounds=None, bins=80, loss="nonsaturating",
               title=None):
    """Goodfellow et al. (2014), Figure 1: p_data (black, dotted), p_g (purple: a histogram of
    the fakes), D(x) (blue, dashed) on one x axis; below it, when ``z`` and the matching fakes
    are given in the same order, lines from z to x = G(z) show how G maps noise to data.

    Args:
        data: a ``tinygan.datasets.Mixture`` with d = 1 (its density is drawn), or real samples.
        fake: (n, 1) or (n,) samples of G.
        D: the discriminator (optional), drawn as D(x) = sigma(l(x)) in [0, 1].
        z: (n, 1) or (n,) noise that produced ``fake`` (optional).
    """
    fake = np.asarray(getattr(fake, "data", fake), dtype=np.float64).reshape(-1)
    if hasattr(data, "density"):
        lo, hi = bounds or _bounds_1d(data.means.reshape(-1), data.std, fake)
        xs = np.linspace(lo, hi, 400)
        p_data = data.density(xs)
    else:
        real = np.asarray(getattr(data, "data", data), dtype=np.float64).reshape(-1)
        lo, hi = bounds or (min(real.min(), fake.min()), max(real.max(), fake.max()))
        xs = np.linspace(lo, hi, 400)
        p_data, edges = np.histogram(real, bins=bins, range=(lo, hi), density=True)
        xs_hist = 0.5 * (edges[1:] + edges[:-1])
        p_data = np.interp(xs, xs_hist, p_data)
    density, edges = np.histogram(fake, bins=bins, range=(lo, hi), density=True)
    top = max(p_data.max(), density.max(), 1.0) * 1.1
    ax.plot(xs, p_data, ":", color="black", lw=2, label="p_data")
    ax.stairs(density, edges, color=FAKE_COLOR, lw=1.5, label="p_g")
    if D is not None:
        d_values = _d_on_line(D, xs, loss)
        if is_wasserstein(loss):  # rescale the critic into the plot's range
            span = max(np.ptp(d_values), 1e-12)
            d_values = (d_values - d_values.min()) / span * top * 0.9
            ax.plot(xs, d_values, "--", color=D_COLOR, lw=2, label="critic f(x) (rescaled)")
        else:
            ax.plot(xs, d_values * top * 0.9 / 1.0, "--", color=D_COLOR, lw=2,
                    label=f"D(x) (1 = {0.9 * top:.2g})")
    if z is not None:
        z = np.asarray(getattr(z, "data", z), dtype=np.float64)
        if z.size != len(fake):
            raise ValueError(f"density_1d: the lines z -> G(z) need one z number per fake, got "
                             f"z of shape {z.shape} for {len(fake)} fakes (a 1-D z)")
        z = z.reshape(-1)
        zmin, zmax = np.percentile(z, [1, 99])
        z_axis = lo + (z - zmin) / max(zmax - zmin, 1e-12) * (hi - lo)
        floor = -0.35 * top
        chosen = np.linspace(0, len(z) - 1, min(len(z), 40)).astype(int)
        order = np.argsort(z)[chosen]
        for i in order:
            if lo <= fake[i] <= hi:
                ax.plot([z_axis[i], fake[i]], [floor, 0], color="gray", lw=0.6, alpha=0.6)
        ax.axhline(floor, color="black", lw=0.8)
        ax.text(lo, floor, " z", va="bottom", fontsize=8)
        ax.set_ylim(floor * 1.05, top)
    else:
        ax.set_ylim(0, top)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("x")
    ax.legend(loc="upper right", fontsize=7)
    if title:
        ax.set_title(title)


# ------------------------------------------------------------------------------ history


def loss_curves(ax, history, smooth=50, title="losses"):
    """D's and G's losses over the steps of a run (``fit``'s history), with a moving average."""
    _curves(ax, history, [("d_loss", "D loss", D_COLOR), ("g_loss", "G loss", FAKE_COLOR)],
            smooth)
    ax.set_ylabel("loss")
    ax.set_title(title)


def d_output_curves(ax, history, smooth=50, wasserstein=False, title="D's outputs"):
    """mean D(x) on real data and mean D(G(z)) on fakes over the steps (0.5 is the
    equilibrium of the BCE game: D cannot tell them apart)."""
    real, fake = ("mean f(x)", "mean f(G(z))") if wasserstein else ("D(x)", "D(G(z))")
    _curves(ax, history, [("d_real", real, REAL_COLOR), ("d_fake", fake, FAKE_COLOR)], smooth)
    if not wasserstein:
        ax.axhline(0.5, color="gray", lw=0.8, ls=":")
        ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)


def grad_norm_curves(ax, history, smooth=50, title="gradient norms"):
    """||dL_D/d theta_D|| and ||dL_G/d theta_G|| over the steps, on a log scale."""
    _curves(ax, history, [("d_grad_norm", "|grad D|", D_COLOR),
                          ("g_grad_norm", "|grad G|", FAKE_COLOR)], smooth)
    ax.set_yscale("log")
    ax.set_title(title)


def history_figure(path, history, wasserstein=False, smooth=50):
    """One PNG with the three history panels side by side; returns the path."""
    fig, axes = new_figure(ncols=3, size=3.6)
    loss_curves(axes[0], history, smooth)
    d_output_curves(axes[1], history, smooth, wasserstein)
    grad_norm_curves(axes[2], history, smooth)
    return save(fig, path)


# ------------------------------------------------------------------------------- images


def image_grid(ax, images, nrow=None, title=None):
    """Images (N, C, H, W) with values in [-1, 1] tiled in a grid (nrow per row)."""
    images = np.asarray(getattr(images, "data", images), dtype=np.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"image_grid: expected images of shape (N, 1 or 3, H, W), got "
                         f"{images.shape}")
    n, c, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / nrow))
    canvas = np.ones((rows * (h + 2), nrow * (w + 2), c), dtype=np.float32)
    for i in range(n):
        r, k = divmod(i, nrow)
        canvas[r * (h + 2) + 1:r * (h + 2) + 1 + h, k * (w + 2) + 1:k * (w + 2) + 1 + w] = \
            images[i].transpose(1, 2, 0)
    canvas = np.clip((canvas + 1) / 2, 0, 1)
    ax.imshow(canvas[..., 0] if c == 1 else canvas, cmap="gray" if c == 1 else None,
              vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def matrix(ax, values, numbers=False, boxes=(), title=None, cmap="viridis", vmin=None,
           vmax=None, fmt="{:g}"):
    """A 2-D array as a grid of coloured cells, row 0 at the top (as printed).

    ``numbers=True`` writes each nonzero value in its cell with ``fmt`` (zeros stay blank, so the
    pattern of a sparse matrix shows). ``boxes``: (row, column, height, width, colour) tuples, each
    drawn as a rectangle around that block of cells, e.g. one window of an image and the column
    im2col copies it into. ``vmin``/``vmax`` fix the colour scale (the array's range by default).
    """
    values = np.asarray(getattr(values, "data", values), dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"matrix: expected a 2-D array, got shape {values.shape}")
    rows, columns = values.shape
    ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    if numbers:
        low = values.min() if vmin is None else vmin
        high = values.max() if vmax is None else vmax
        middle = (low + high) / 2
        size = max(4.0, min(9.0, 90.0 / max(rows, columns)))
        for (r, c), value in np.ndenumerate(values):
            if value != 0:
                ax.text(c, r, fmt.format(value), ha="center", va="center", fontsize=size,
                        color="black" if value > middle else "white")
    for row, column, height, width, colour in boxes:
        ax.add_patch(Rectangle((column - 0.5, row - 0.5), width, height, fill=False,
                               edgecolor=colour, lw=2.5))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


# ------------------------------------------------------------------------------ animation


def animate(path, frames, draw, size=4.0, fps=5, dpi=80):
    """A GIF at ``path``: for each item of ``frames``, ``draw(ax, item)`` on a cleared figure.
    Written with matplotlib's Pillow writer; returns the path."""
    frames = list(frames)
    if not frames:
        raise ValueError("animate: no frames to draw")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig = Figure(figsize=(size, size))
    FigureCanvasAgg(fig)
    writer = PillowWriter(fps=fps)
    with writer.saving(fig, path, dpi):
        for item in frames:
            fig.clear()
            ax = fig.add_subplot()
            draw(ax, item)
            writer.grab_frame()
    return path


# ------------------------------------------------------------------------------- helpers


def _curves(ax, history, columns, smooth):
    steps = np.asarray(history["step"])
    for key, label, color in columns:
        values = np.asarray(history[key], dtype=np.float64)
        if not len(values):
            continue
        ax.plot(steps, values, color=color, alpha=0.25, lw=0.6)
        ax.plot(steps, _moving_average(values, smooth), color=color, lw=1.5, label=label)
    ax.set_xlabel("step")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _moving_average(values, window):
    window = max(1, min(int(window), len(values)))
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    head = cumulative[1:window] / np.arange(1, window)  # the first points: average so far
    return np.concatenate([head, (cumulative[window:] - cumulative[:-window]) / window])


def square_bounds(*point_sets, margin=0.15):
    """(xmin, xmax, ymin, ymax) of a square around the 2-D points (0.5-99.5 percentiles plus a
    margin): the same frame for every panel, e.g. every frame of a GIF."""
    points = np.concatenate([np.asarray(p).reshape(-1, 2) for p in point_sets])
    points = points[np.isfinite(points).all(axis=1)]
    lo, hi = np.percentile(points, 0.5, axis=0), np.percentile(points, 99.5, axis=0)
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2 * (1 + margin) + 1e-6
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def _bounds_1d(means, std, fake):
    lo, hi = means.min() - 4 * std, means.max() + 4 * std
    if len(fake):
        lo = min(lo, float(np.percentile(fake, 1)))
        hi = max(hi, float(np.percentile(fake, 99)))
    return lo, hi


def _d_on_line(D, xs, loss):
    was_training = D.training
    D.eval()
    try:
        with no_grad():
            pack = getattr(D, "pack", 1)
            out = D(Tensor(np.repeat(xs.astype(np.float32)[:, None], pack, axis=0))).data
    finally:
        D.train(was_training)
    out = out.reshape(-1)
    return out if is_wasserstein(loss) else 0.5 * (1 + np.tanh(0.5 * out))
