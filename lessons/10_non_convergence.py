"""Lesson 10: Non-convergence, and how sensitive a GAN is to its hyper-parameters.

Gradient descent on one loss goes downhill until it stops. A GAN is a game: G descends V while
D ascends it, and the pair of updates need not settle at all. The smallest such game is

    min_x max_y V(x, y) = x * y

whose only equilibrium is (0, 0): if y != 0, x can lower V by moving against y's sign, and if
x != 0, y can raise it. We play it with gradient steps of size eta and look at the *update
matrix*: one round maps (x, y) to A (x, y), so n rounds multiply by A^n, and the eigenvalues of
A decide everything: |lambda| > 1 spirals out, |lambda| = 1 circles, |lambda| < 1 converges.

Then a real (toy) GAN: a sweep over the learning rate and the number k of D steps per G step,
drawn as a grid of outcomes (modes found, % high quality). Few cells are good.

Run: ``python lessons/10_non_convergence.py`` (``--fast`` for the short version).
"""

# %%
import numpy as np

import tinygan
from tinygan import datasets, gan, metrics, models, plot
from tinygan.lesson import Lesson

lesson = Lesson("10_non_convergence",
                "Non-convergence: the bilinear game, and a hyper-parameter sweep")
ETA = 0.1  # the step size of the bilinear game
ROUNDS = 300 if lesson.fast else 1000

# %% [markdown]
# ## 1. The gradients of V(x, y) = x y
# dV/dx = y and dV/dy = x. We let tinygan's autograd compute them, as it would for networks:
# x steps *down* its gradient (it minimises), y steps *up* (it maximises).

# %%
lesson.step("1. The gradients of V(x, y) = x y, by autograd")


def gradients(x_value, y_value):
    x = tinygan.tensor(x_value, dtype=np.float64, requires_grad=True)
    y = tinygan.tensor(y_value, dtype=np.float64, requires_grad=True)
    gx, gy = tinygan.grad(x * y, [x, y])
    return float(gx.data), float(gy.data)


gx, gy = gradients(0.7, -0.3)
lesson.check_true("autograd gives dV/dx = y and dV/dy = x", (gx, gy) == (-0.3, 0.7),
                  detail=f"({gx:.3g}, {gy:.3g}) at (x, y) = (0.7, -0.3)",
                  why="V = x y is exact in float64")

# %% [markdown]
# ## 2. Simultaneous steps: both players move at once
# x' = x - eta y and y' = y + eta x, both from the *old* point. As a matrix:
#
#     A_sim = [[1, -eta], [eta, 1]],   eigenvalues 1 +- i eta,   |lambda| = sqrt(1 + eta^2) > 1.
#
# A_sim is a rotation times sqrt(1 + eta^2): every round the distance to the equilibrium grows
# by exactly that factor, for any eta > 0. Smaller steps only slow the spiral down.

# %%
lesson.step(f"2. Simultaneous steps, eta = {ETA}, {ROUNDS} rounds")
start = (1.0, 0.0)


def play(alternating):
    x, y = start
    path = [(x, y)]
    for _ in range(ROUNDS):
        gx, _ = gradients(x, y)
        x_new = x - ETA * gx
        if alternating:  # y answers the x that has just moved
            _, gy = gradients(x_new, y)
        else:  # y answers the old x
            _, gy = gradients(x, y)
        x, y = x_new, y + ETA * gy
        path.append((x, y))
    return np.array(path)


A_sim = np.array([[1.0, -ETA], [ETA, 1.0]])
lam_sim = np.linalg.eigvals(A_sim)
path_sim = play(alternating=False)
radius_sim = np.linalg.norm(path_sim, axis=1)
lesson.show("eigenvalues of A_sim", np.array2string(lam_sim, precision=4))
lesson.check("|lambda| of A_sim", np.abs(lam_sim).max(), expected=np.sqrt(1 + ETA ** 2),
             tol=1e-12, why="sqrt(1 + eta^2), up to float64 rounding")
predicted = np.abs(lam_sim).max() ** ROUNDS
lesson.show(f"distance to (0, 0) after {ROUNDS} rounds", radius_sim[-1])
lesson.check(f"growth after {ROUNDS} rounds / |lambda|^{ROUNDS}", radius_sim[-1] / predicted,
             expected=1.0, tol=1e-9,
             why="A_sim is a scaled rotation, so the radius grows by exactly |lambda| each "
                 "round; only rounding separates them")

# %% [markdown]
# ## 3. Alternating steps: y answers the x that has just moved
# x' = x - eta y, then y' = y + eta x'. Substituting x' gives
#
#     A_alt = [[1, -eta], [eta, 1 - eta^2]],   det A_alt = 1,   trace = 2 - eta^2.
#
# For eta < 2 the eigenvalues are complex conjugates whose product is det = 1: |lambda| = 1.
# The point neither escapes nor converges: it circles for ever. (Exactly conserved:
# H = x^2 + y^2 - eta x y, an ellipse close to the circle.) This is what GAN training does: D
# and G take turns, and near an equilibrium of this kind they orbit it instead of reaching it.

# %%
lesson.step(f"3. Alternating steps, eta = {ETA}, {ROUNDS} rounds")
A_alt = np.array([[1.0, -ETA], [ETA, 1.0 - ETA ** 2]])
lam_alt = np.linalg.eigvals(A_alt)
path_alt = play(alternating=True)
radius_alt = np.linalg.norm(path_alt, axis=1)
lesson.show("eigenvalues of A_alt", np.array2string(lam_alt, precision=4))
lesson.check("|lambda| of A_alt", np.abs(lam_alt).max(), expected=1.0, tol=1e-12,
             why="det = 1 and complex conjugate eigenvalues: both have modulus 1")
H = path_alt[:, 0] ** 2 + path_alt[:, 1] ** 2 - ETA * path_alt[:, 0] * path_alt[:, 1]
lesson.check("largest relative drift of H = x^2 + y^2 - eta x y", np.abs(H / H[0] - 1).max(),
             at_most=1e-10, why="conserved exactly by the alternating map; rounding adds ~1e-16 "
                                "per round")
lesson.check("distance to (0, 0): largest / smallest over the run",
             radius_alt.max() / radius_alt.min(),
             at_most=np.sqrt((1 + ETA / 2) / (1 - ETA / 2)) * (1 + 1e-9),
             why="H is conserved, so the point stays on one ellipse, whose axes are in the ratio "
                 "sqrt((1 + eta/2) / (1 - eta/2)) (plus 1e-9 for rounding)")


def draw_paths(ax):
    ax.plot(path_sim[:, 0], path_sim[:, 1], lw=0.8, color=plot.FAKE_COLOR,
            label=f"simultaneous: |lambda| = {np.abs(lam_sim).max():.4f}")
    ax.plot(path_alt[:, 0], path_alt[:, 1], lw=1.5, color=plot.REAL_COLOR,
            label=f"alternating: |lambda| = {np.abs(lam_alt).max():.4f}")
    ax.plot([start[0]], [start[1]], "ko", ms=4)
    ax.plot([0], [0], "k*", ms=10, label="equilibrium (0, 0)")
    ax.set_xlabel("x (minimises x y)")
    ax.set_ylabel("y (maximises x y)")
    ax.set_aspect("equal")
    limit = min(radius_sim.max(), 6.0) * 1.05
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.legend(fontsize=7, loc="upper right")


lesson.figure("bilinear_game.png", draw_paths, size=5.0,
              title=f"min_x max_y x y, eta = {ETA}, {ROUNDS} rounds")

# %% [markdown]
# ## 4. A toy GAN: learning rate x D steps
# Real GANs are not bilinear, but near an equilibrium they behave much like it, and the
# outcome depends on the hyper-parameters in ways that are hard to predict. We train the same
# small GAN (MLPs with 2 hidden layers, non-saturating loss, Adam with beta1 = 0.5, both rates
# falling linearly to 0 over the second half) on the ring of 8 Gaussians (the protocol's means,
# standard deviation 0.05 so short runs can land on it) for a grid of learning rates and of
# k, the number of D steps per G step. Every cell is scored with the protocol's metric
# (`metrics.mode_coverage`, 2500 samples): modes captured and % high quality. A cell is *good*
# when it finds all 8 modes with at least the high-quality share below.

# %%
if lesson.fast:
    LRS, KS, STEPS, HIDDEN, BATCH, GOOD_HQ = (1e-3, 1e-2), (1, 3), 300, 32, 64, 0.40
else:
    LRS, KS, STEPS, HIDDEN, BATCH, GOOD_HQ = (1e-4, 1e-3, 3e-3, 1e-2, 3e-2), (1, 3), 800, 64, \
        128, 0.75
lesson.step(f"4. Sweep: lr in {LRS} x k in {KS}, {STEPS} steps each")
ring = datasets.Mixture("ring8, std 0.05", datasets.ring8().means, std=0.05)


def train_toy(lr, k):
    tinygan.manual_seed(lesson.seed)  # every cell starts from the same weights and data
    G = models.MLPGenerator(z_dim=2, hidden=HIDDEN, layers=2)
    D = models.MLPDiscriminator(hidden=HIDDEN, layers=2)
    opt_G = tinygan.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_D = tinygan.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    batches = datasets.batches(ring, BATCH)
    decay = gan.linear_decay(STEPS, start=0.5)
    for step in range(STEPS):
        for opt in (opt_G, opt_D):
            for group in opt.param_groups:
                group["lr"] = lr * decay(step)
        gan.train_step(G, D, opt_G, opt_D, batches, lambda n: tinygan.randn(n, 2), d_steps=k)
    samples = gan.sample_generator(G, tinygan.randn(metrics.PROTOCOL_SAMPLES, 2))
    if not np.isfinite(samples).all():
        return None
    return metrics.mode_coverage(samples, ring.means, ring.std)


grid = {}
for k in KS:
    for lr in LRS:
        try:
            grid[lr, k] = train_toy(lr, k)
        except gan.TrainingDiverged:
            grid[lr, k] = None
        print(f"   lr {lr:g}, k = {k}: " + (str(grid[lr, k]) if grid[lr, k] else "diverged"))


def is_good(cell):
    return cell is not None and cell.modes_captured == 8 and cell.high_quality >= GOOD_HQ


good = [key for key, cell in grid.items() if is_good(cell)]
lesson.show("good cells", ", ".join(f"lr {lr:g} k {k}" for lr, k in good) or "none")
lesson.check("good cells (all 8 modes, high quality >= "
             f"{100 * GOOD_HQ:.0f}%)", len(good), at_least=1,
             why="the sweep covers a setting that works")
lesson.check("share of the grid that is good", len(good) / len(grid), at_most=0.5,
             why="most settings collapse onto a few modes, stay blurry, or blow up: the good "
                 "region is a small part of the grid")


def draw_grid(ax):
    scores = np.array([[grid[lr, k].high_quality if grid[lr, k] else np.nan for lr in LRS]
                       for k in KS])
    ax.imshow(scores, cmap="Greens", vmin=0, vmax=1, origin="lower", aspect="auto")
    for i, k in enumerate(KS):
        for j, lr in enumerate(LRS):
            cell = grid[lr, k]
            text = (f"{cell.modes_captured}/8\n{100 * cell.high_quality:.0f}%" if cell
                    else "diverged")
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    fontweight="bold" if is_good(cell) else "normal",
                    color="black" if is_good(cell) else "dimgray")
    ax.set_xticks(range(len(LRS)), [f"{lr:g}" for lr in LRS])
    ax.set_yticks(range(len(KS)), [str(k) for k in KS])
    ax.set_xlabel("learning rate (both players)")
    ax.set_ylabel("k = D steps per G step")


lesson.figure("sweep.png", draw_grid, size=5.0,
              title=f"modes captured / % high quality after {STEPS} steps")

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
