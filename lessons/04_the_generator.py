# %%
"""Lesson 4: the generator G(z; theta).

A generator is a function, not a density: it takes noise z ~ N(0, I) and returns a sample
x = G(z; theta). The distribution of its outputs is p_g. Here G is a small network (ReLU MLP)
that pushes 1-D Gaussian noise into a bimodal p_data. To keep the idea on its own we fit it
*without* a discriminator: sort a batch of G(z) and a batch of real x and pull the i-th
smallest fake towards the i-th smallest real sample. In 1-D that is the optimal-transport
(Wasserstein-2) distance between the two batches, and it is differentiable in theta.

Four facts about G: it is differentiable (so gradients can flow through it from D, later);
it need not be invertible (many z can give one x); p_g has no formula, yet sampling it is one
forward pass; and the noise dimension decides how many z share each x.

Run: python lessons/04_the_generator.py [--fast] [--out DIR] [--seed N]
"""

# %%
import math
import time

import numpy as np

import tinygan
from tinygan import datasets, models, optim, plot
from tinygan.lesson import Lesson

lesson = Lesson("04_the_generator", "the generator G(z): noise in, samples out")
p_data = datasets.mixture_1d(means=(-2.0, 2.0), std=0.5)


def w1(a, b):
    """Wasserstein-1 distance between two equal-size 1-D sample sets: mean |sorted a - sorted b|."""
    return float(np.abs(np.sort(np.ravel(a)) - np.sort(np.ravel(b))).mean())


# %% [markdown]
# ## 1. G is differentiable
#
# G(z; theta) is built from `Dense` layers and ReLUs, so the autograd engine gives dG/dz and
# dG/dtheta. We check both against central differences on a float64 copy of the network.

# %%
lesson.step("1. G is differentiable: gradient check in z and in theta")
G_check = models.MLPGenerator(z_dim=1, data_dim=1, hidden=16, layers=2).double()
z_check = tinygan.randn(5, 1, dtype=np.float64, requires_grad=True)
in_z = tinygan.gradcheck(G_check, [z_check], raise_exception=False)
params = list(G_check.parameters())
in_theta = tinygan.gradcheck(lambda *p: G_check(z_check.detach()), params,
                             raise_exception=False)
lesson.check_true("dG/dz = central differences", in_z.passed,
                  detail=f"max abs error {in_z.max_abs_error:.2g}",
                  why="float64 central differences are good to ~1e-9 (lesson 2); a ReLU's kink "
                      "is never within eps = 1e-6 of a random input")
lesson.check_true("dG/dtheta = central differences (every weight and bias)", in_theta.passed,
                  detail=f"{in_theta.checked} entries, max abs error {in_theta.max_abs_error:.2g}",
                  why="as above")

# %% [markdown]
# ## 2. Fitting G without a discriminator
#
# Each step draws a batch of z and a batch of real x, sorts both, and minimises
# mean (G(z)_(i) - x_(i))^2, where (i) is the i-th smallest. The sort is a permutation, so the
# gradient flows back to each G(z) through its rank. Adam's step shrinks to 0 over the
# second half so that the last steps settle.

# %%
lesson.step("2. Fit G to the bimodal p_data by matching sorted samples")
steps = 300 if lesson.fast else 1500
batch = 512


def fit_generator(z_dim, seed):
    tinygan.manual_seed(seed)
    G = models.MLPGenerator(z_dim=z_dim, data_dim=1, hidden=32, layers=2)
    optimizer = optim.Adam(G.parameters(), lr=1e-2)
    for step in range(steps):
        optimizer.param_groups[0]["lr"] = 1e-2 * min(1.0, 2 * (1 - step / steps))
        fake = G(tinygan.randn(batch, z_dim)).reshape(-1)
        ranks = np.argsort(fake.data)  # fake[ranks] is sorted
        real = np.sort(p_data.sample(batch).reshape(-1))
        loss = ((fake[ranks] - tinygan.tensor(real)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return G


G = fit_generator(z_dim=1, seed=lesson.seed)
n = 5000 if lesson.fast else 20000
z = tinygan.randn(n, 1)
with tinygan.no_grad():
    fake = G(z).data.reshape(-1)
real = p_data.sample(n).reshape(-1)
floor = w1(p_data.sample(n), p_data.sample(n))
one_gaussian = w1(real, real.mean() + real.std() * tinygan.randn(n).data)
lesson.show("W1(p_g, p_data)", w1(fake, real))
lesson.show("W1 between two samples of p_data (sampling noise)", floor)
lesson.show("W1 of a Gaussian with p_data's mean and variance", one_gaussian)
lesson.check("W1(p_g, p_data) after fitting", w1(fake, real), at_most=0.2 if lesson.fast
             else 0.12,
             why=f"sampling noise is {floor:.3f}; a single Gaussian scores {one_gaussian:.2f}; "
                 "the bridge between the modes (section 4) costs ~0.05-0.1, more in the "
                 "short fast run")
lesson.check("fraction of G's samples in the right mode (x > 0)", float((fake > 0).mean()),
             expected=0.5, tol=0.05,
             why=f"p_data puts 1/2 on each mode; {n} samples leave ~{0.5 / np.sqrt(n):.3f} "
                 "of noise, and a G fitted on batches of 512 can be off by ~0.03")


def draw_fit(ax):
    plot.density_1d(ax, p_data, fake[:2000], z=z.data[:2000])
    ax.set_title("x = G(z): lines join z (bottom) to G(z)")


lesson.figure("generator_fit.png", draw_fit, size=5)

# %% [markdown]
# ## 3. p_g has no formula, but sampling it is cheap
#
# What is p_g(x)? It is the density of G(z) when z ~ N(0, 1); writing it down would need every
# z with G(z) = x and the slope of G there (and for a z of higher dimension, an integral over
# a whole curve of z). Nobody computes that. But drawing from p_g is one forward pass:

# %%
lesson.step("3. Sampling p_g: one forward pass")
many = 100_000
start = time.perf_counter()
with tinygan.no_grad():
    samples = G(tinygan.randn(many, 1)).data
seconds = time.perf_counter() - start
lesson.show(f"seconds to draw {many} samples of p_g", seconds)
lesson.check_true("every sample is a finite number", np.isfinite(samples).all(),
                  detail=f"{many} samples in {seconds:.3f} s",
                  why="G is a composition of finite linear maps and ReLUs")

# %% [markdown]
# ## 4. G need not be invertible; the noise dimension decides how many z share an x
#
# With z_dim = 1 the fitted G is (nearly) one-to-one: the few z that land near a given x lie
# in a tiny interval. With z_dim = 2, G maps a plane onto a line: every x is reached by a whole
# curve of z (a level set of G), so G cannot be inverted. For images it is the other way round:
# a DCGAN draws 100 noise numbers for 64 x 64 x 3 = 12288 pixels, so its samples lie on a thin
# 100-dimensional surface (a "manifold") in image space. Either way p_g is defined only through
# G: the noise dimension decides how many z share an x, and which x can be reached at all.
#
# A continuous G cannot jump either: a connected cloud of z maps to a connected set of x, so G
# must pass through the gap between the two modes and puts a little probability where p_data
# has almost none.

# %%
lesson.step("4. Many z, one x; and what the noise dimension changes")
G2 = fit_generator(z_dim=2, seed=lesson.seed + 1)
target, width = 2.0, 0.02


def z_spread(generator, z_dim):
    """Largest distance between two of 20000 z whose G(z) lies within `width` of `target`."""
    zs = tinygan.randn(20000, z_dim)
    with tinygan.no_grad():
        xs = generator(zs).data.reshape(-1)
    hits = zs.data[np.abs(xs - target) < width]
    if len(hits) < 2:
        return 0.0, len(hits)
    gaps = np.sqrt(((hits[:, None, :] - hits[None, :, :]) ** 2).sum(-1))
    return float(gaps.max()), len(hits)


spread1, hits1 = z_spread(G, 1)
spread2, hits2 = z_spread(G2, 2)
print(f"   z_dim = 1: {hits1} z land within {width} of x = {target}; they span {spread1:.3f}")
print(f"   z_dim = 2: {hits2} z land within {width} of x = {target}; they span {spread2:.3f}")
lesson.check("z_dim = 1: spread of the z that give (almost) the same x", spread1, at_most=0.2,
             why=f"x within {width} of {target}: one z, blurred to an interval of "
                 f"2 x {width} / |G'(z)|, and |G'| is of order 1 at the mode")
lesson.check("z_dim = 2: spread of the z that give (almost) the same x", spread2, at_least=1.0,
             why="a curve of z in the plane maps to one x; N(0, I) puts most of it within "
                 "a radius of ~2, so its length is of order 1 or more")
with tinygan.no_grad():
    fake2 = G2(tinygan.randn(n, 2)).data.reshape(-1)
lesson.show("W1(p_g, p_data) with z_dim = 2", w1(fake2, real))
in_gap = float((np.abs(fake) < 0.5).mean())
gap_data = 0.5 * (math.erfc(3 / math.sqrt(2)) - math.erfc(5 / math.sqrt(2)))  # P(|x| < 0.5)
lesson.check("fraction of G's samples in the gap |x| < 0.5 between the modes", in_gap,
             at_least=5 * gap_data,
             why=f"p_data puts {gap_data:.5f} there (3 to 5 standard deviations from a mode); "
                 "a continuous G must bridge the gap, so it puts several times more")

grid = np.linspace(-3, 3, 121)
plane = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2).astype(np.float32)
with tinygan.no_grad():
    level = G2(tinygan.tensor(plane)).data.reshape(len(grid), len(grid))


def draw_plane(ax):
    image = ax.imshow(level, origin="lower", extent=(-3, 3, -3, 3), cmap="RdBu_r",
                      vmin=-3.5, vmax=3.5)
    ax.contour(grid, grid, level, levels=[target], colors="black", linewidths=2)
    ax.figure.colorbar(image, ax=ax, shrink=0.8).set_label("x = G(z)")
    ax.set_xlabel("z_1")
    ax.set_ylabel("z_2")
    ax.set_title(f"z_dim = 2: G(z) = {target} on the black curve")


lesson.figure("many_z_one_x.png", draw_plane, size=5)

# %%
failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
