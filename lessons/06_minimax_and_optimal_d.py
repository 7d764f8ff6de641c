# %%
"""Lesson 6: the minimax game and the optimal discriminator.

The game of Goodfellow et al. (2014):

    min_G max_D V(D, G) = E_{x ~ p_data}[log D(x)] + E_{x ~ p_g}[log(1 - D(x))]
                        = integral of  p_data(x) log D(x) + p_g(x) log(1 - D(x))  dx

For a fixed G, maximise the integrand at each x separately: a log(y) + b log(1 - y) is largest
at y = a / (a + b). So the best discriminator is

    D*(x) = p_data(x) / (p_data(x) + p_g(x)).

Put it back into V and rearrange: with m = (p_data + p_g) / 2,

    V(D*, G) = -log 4 + KL(p_data || m) + KL(p_g || m) = -log 4 + 2 JSD(p_data || p_g),

and the Jensen-Shannon divergence is >= 0, with 0 only when p_g = p_data. So G's best move,
against the best D, is p_g = p_data, where D* = 1/2 everywhere and V = -log 4.

Here p_data and p_g are two fixed, known 1-D densities, so every integral can be computed on a
grid, and D can be trained and compared with D*.

Run: python lessons/06_minimax_and_optimal_d.py [--fast] [--out DIR] [--seed N]
"""

# %%
import math

import numpy as np

import tinygan
from tinygan import datasets, gan, models, optim
from tinygan.lesson import Lesson

lesson = Lesson("06_minimax_and_optimal_d", "the minimax game and D*(x) = p_data / (p_data + p_g)")
p_data = datasets.mixture_1d(means=(-1.5, 1.5), std=0.6, name="p_data")
p_g = datasets.mixture_1d(means=(0.0,), std=1.2, name="p_g")  # a fixed G that is wrong

grid = np.linspace(-12, 12, 24001)  # fine enough that the integrals below are exact to ~1e-9


def integrate(values):
    """The trapezoid rule on the grid."""
    return float(((values[1:] + values[:-1]) / 2 * np.diff(grid)).sum())


def xlogy(a, b):
    """a log b, with 0 log 0 = 0 (densities underflow to 0 far in the tails)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log(np.where(b > 0, b, 1.0)), 0.0)


def value(d, p, q):
    """V(D, G) = integral of p log D + q log(1 - D)."""
    return integrate(xlogy(p, d) + xlogy(q, 1 - d))


def jsd(p, q):
    m = (p + q) / 2
    return 0.5 * integrate(xlogy(p, p) - xlogy(p, m)) + 0.5 * integrate(xlogy(q, q) - xlogy(q, m))


def optimal_d(p, q):
    with np.errstate(invalid="ignore"):
        return np.where(p + q > 0, p / np.where(p + q > 0, p + q, 1.0), 0.5)


def d_on(D, xs):
    with tinygan.no_grad():
        logits = D(tinygan.tensor(xs[:, None].astype(np.float32))).data.reshape(-1)
    return 0.5 * (1 + np.tanh(0.5 * logits))  # sigma(l), without overflow


# %% [markdown]
# ## 1. Train D against a fixed G and compare it with D*
#
# `tinygan.gan.d_step` is Step 1 of GAN training: one Adam step of D on BCE with real samples
# labelled 1 and fakes labelled 0 (lesson 5). Run alone, with G frozen, it drives D towards D*.
# We compare where there is data to learn from: where (p_data + p_g) / 2 > 0.05. Far in the
# tails D has seen almost no samples and can say anything (the figure shows it): a D learned
# from samples is only right where the samples are.

# %%
lesson.step("1. Train D with G fixed; compare D(x) with D*(x)")
dens_data, dens_g = p_data.density(grid), p_g.density(grid)
d_star = optimal_d(dens_data, dens_g)


def train_d(p, q, steps, lr, seed):
    tinygan.manual_seed(seed)
    D = models.MLPDiscriminator(data_dim=1, hidden=32, layers=2)
    optimizer = optim.Adam(D.parameters(), lr=lr)
    for step in range(steps):
        optimizer.param_groups[0]["lr"] = lr * min(1.0, 2 * (1 - step / steps))  # settle
        gan.d_step(D, optimizer, tinygan.tensor(p.sample(512)), tinygan.tensor(q.sample(512)))
    return D


steps, lr = (500, 2e-3) if lesson.fast else (2000, 1e-3)
D = train_d(p_data, p_g, steps, lr, lesson.seed)
d_trained = d_on(D, grid)
where = (dens_data + dens_g) / 2 > 0.05
error = np.abs(d_trained - d_star)[where]
lesson.show("mean |D - D*| where there is data", float(error.mean()))
lesson.check("max |D(x) - D*(x)| where (p_data + p_g) / 2 > 0.05", float(error.max()),
             at_most=0.08 if lesson.fast else 0.05,
             why=f"D saw {steps} batches of 512 + 512 samples: the noise of its estimate is a "
                 "few hundredths, largest where the densities are thin")


def draw_d(ax):
    show = np.abs(grid) <= 4.5
    ax.plot(grid[show], dens_data[show], ":", color="black", lw=2, label="p_data")
    ax.plot(grid[show], dens_g[show], color="#7b3fbf", lw=1.5, label="p_g")
    ax.plot(grid[show], d_star[show], color="#1f5fbf", lw=3, alpha=0.4,
            label="D* = p_data / (p_data + p_g)")
    ax.plot(grid[show], d_trained[show], "--", color="#1f5fbf", lw=1.5, label="D trained")
    ax.axhline(0.5, color="gray", lw=0.8)
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    ax.set_title("the trained D against D*")


lesson.figure("optimal_d.png", draw_d, size=5)

# %% [markdown]
# ## 2. V(D*, G) = -log 4 + 2 JSD(p_data || p_g)
#
# Both sides as integrals on the grid: V from its definition with D*, and JSD from its own
# definition. The trained D is a discriminator too, so its V can only be lower than D*'s.

# %%
lesson.step("2. V(D*, G) against -log 4 + 2 JSD")
v_star = value(d_star, dens_data, dens_g)
divergence = jsd(dens_data, dens_g)
lesson.show("V(D*, G)", v_star)
lesson.show("-log 4 + 2 JSD(p_data || p_g)", -math.log(4) + 2 * divergence)
lesson.check("|V(D*, G) - (-log 4 + 2 JSD)|", abs(v_star + math.log(4) - 2 * divergence),
             at_most=1e-9, why="two integrals of the same function after the algebra above, "
                               "on one grid: only rounding differs")
v_trained = value(d_trained, dens_data, dens_g)
lesson.show("V(D trained, G)", v_trained)
lesson.check("V(D*, G) - V(D trained, G)", v_star - v_trained, at_least=0.0,
             at_most=0.02 if lesson.fast else 0.01,
             why="D* maximises V, so the gap is >= 0; it is second order in D - D*, about "
                 "the mean of (D - D*)^2 / (2 D* (1 - D*)), largest in the tails where D* is "
                 "near 0 or 1 and D saw few samples")

# %% [markdown]
# ## 3. The best G: p_g = p_data
#
# Against D*, G's loss is C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g). We scan a
# family of generators, p_g = two Gaussians at -a and +a with p_data's width, for a from 0 to
# 3. The minimum should be at a = 1.5, where p_g = p_data, with C = -log 4 and D* = 1/2.

# %%
lesson.step("3. C(G) = max_D V(D, G) over a family of p_g")
spreads = np.round(np.arange(0.0, 3.0001, 0.05), 2)
costs = []
for a in spreads:
    q = datasets.mixture_1d(means=(-a, a), std=0.6).density(grid)
    costs.append(value(optimal_d(dens_data, q), dens_data, q))
costs = np.array(costs)
best = int(np.argmin(costs))
lesson.check("the a that minimises C(G)", spreads[best], expected=1.5, tol=1e-9,
             why="p_g = p_data at a = 1.5, and the scan contains 1.5 exactly")
lesson.check("min C(G), against -log 4", costs[best], expected=-math.log(4), tol=1e-9,
             why="JSD(p || p) = 0; the grid integral of a density is 1 to ~1e-12")
lesson.check("max |D*(x) - 1/2| at p_g = p_data",
             float(np.abs(optimal_d(dens_data, dens_data) - 0.5).max()), at_most=1e-12,
             why="p / (p + p) = 1/2 exactly")


def draw_costs(ax):
    ax.plot(spreads, costs, "o-", ms=3, color="#7b3fbf", label="C(G) = max_D V(D, G)")
    ax.axhline(-math.log(4), color="black", ls=":", label="-log 4")
    ax.axvline(1.5, color="gray", lw=0.8)
    ax.set_xlabel("a (p_g: Gaussians at -a and +a; p_data: a = 1.5)")
    ax.set_ylabel("V(D*, G)")
    ax.legend(fontsize=8)
    ax.set_title("G's loss against the best D")


lesson.figure("c_of_g.png", draw_costs, size=5)

# %% [markdown]
# ## 4. At the equilibrium a trained D says 1/2 everywhere
#
# Train D once more, now with "fakes" drawn from p_data itself. No classifier can tell the two
# apart, and D(x) settles at 1/2: the value D(x) and D(G(z)) are expected to approach when a GAN
# has converged.

# %%
lesson.step("4. p_g = p_data: the trained D is 1/2")
D_eq = train_d(p_data, p_data, 300 if lesson.fast else 1000, lr, lesson.seed + 1)
inside = dens_data > 0.05
deviation = float(np.abs(d_on(D_eq, grid)[inside] - 0.5).max())
lesson.check("max |D(x) - 1/2| where p_data > 0.05", deviation, at_most=0.1,
             why="D only sees noise: two batches of 512 from one distribution differ by "
                 "chance, and D fits a little of that before the learning rate decays")

# %%
failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
