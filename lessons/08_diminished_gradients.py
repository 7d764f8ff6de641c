"""Lesson 8: Diminished gradients: log(1 - D(G(z))) saturates, -log D(G(z)) does not.

In the game min_G max_D V(D, G), G's part of V is E_z[log(1 - D(G(z)))]: G minimises it. Early
in training G is bad and D easily rejects its fakes: D(G(z)) is close to 0. There
log(1 - D) is flat, so G gets almost no gradient exactly when it needs one most.

Write D(x) = sigma(l) with l the logit D's network outputs. Per fake, the gradient with respect to
the logit is

    d/dl  log(1 - sigma(l)) = -sigma(l)        = -D(G(z))       (saturating, "minimax")
    d/dl  -log sigma(l)     = -(1 - sigma(l))  = -(1 - D(G(z))) (non-saturating)

Both push l up (make D(G(z)) larger) but the first is D(G(z)) / (1 - D(G(z))) times weaker:
about 100 times weaker when D(G(z)) = 0.01. The non-saturating loss -log D(G(z)) has the same
fixed point (it is still minimised by fooling D), which is why every GAN uses it by default.

We measure ||grad_theta_G|| for both as D grows confident, then train with each.

Run: ``python lessons/08_diminished_gradients.py`` (``--fast`` for the short version).
"""

# %%
import copy

import numpy as np

import tinygan
from tinygan import datasets, gan, models, plot
from tinygan.lesson import Lesson

lesson = Lesson("08_diminished_gradients",
                "Diminished gradients: saturating vs non-saturating G loss")
D_CHECKPOINTS = (0, 20, 50, 100, 200, 400) if lesson.fast else (0, 10, 20, 50, 100, 200, 300, 400)
ROUNDS = 300 if lesson.fast else 800
LR = 1e-3  # Adam's, for D
G_LR = 0.01  # plain gradient descent's, for G in step 3
N_Z = 1000

# %% [markdown]
# ## 1. A bad G and a D that learns to reject it
# p_data = N(3, 0.5^2) in one dimension; G, a freshly initialised MLP, puts its fakes near 0.
# We freeze G and train D alone (Step 1 only, `gan.d_step`), and after every few D steps we
# compute both G losses on the same 1000 fakes and the norm of their gradients over all of G's
# weights (`gan.grad_norm`). Nothing is updated by these measurements.

# %%
lesson.step("1. Freeze G, train D alone, and measure G's gradient under both losses")
data = datasets.mixture_1d(means=(3.0,), std=0.5)
G = models.MLPGenerator(z_dim=1, data_dim=1, hidden=32, layers=2)
D = models.MLPDiscriminator(data_dim=1, hidden=32, layers=2)
opt_D = tinygan.optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
real_batches = datasets.batches(data, 128)


def noise(n):
    return tinygan.randn(n, 1)


z = noise(N_Z)


def g_gradient_norm(loss):
    """||d L_G / d theta_G|| for G's loss ``loss`` on the fixed z; returns (norm, D(G(z)))."""
    for p in G.parameters():
        p.grad = None
    logits = D(G(z))
    gan.generator_loss(logits, loss).backward()
    d_fake = 0.5 * (1 + np.tanh(0.5 * logits.data.reshape(-1)))
    return gan.grad_norm(G.parameters()), d_fake


rows = []  # (D steps, mean D(G(z)), |grad| minimax, |grad| non-saturating, predicted ratio)
done = 0
for target in D_CHECKPOINTS:
    while done < target:
        with tinygan.no_grad():
            fake = G(noise(128))
        gan.d_step(D, opt_D, next(real_batches), fake)
        done += 1
    norm_mm, d_fake = g_gradient_norm("minimax")
    norm_ns, _ = g_gradient_norm("nonsaturating")
    predicted = float((d_fake / (1 - d_fake)).mean())
    rows.append((done, float(d_fake.mean()), norm_mm, norm_ns, predicted))
    print(f"   after {done:3d} D steps: mean D(G(z)) = {d_fake.mean():.4f}   "
          f"|grad| minimax = {norm_mm:.3g}   non-saturating = {norm_ns:.3g}   "
          f"ratio = {norm_mm / norm_ns:.3g}")
rows = np.array(rows)
G.zero_grad()
D.zero_grad()

# %% [markdown]
# ## 2. What the numbers say
# As D becomes confident, D(G(z)) falls towards 0; the saturating gradient collapses with it,
# while the non-saturating one *grows* (D's logit becomes steeper). Their ratio follows the
# prediction D / (1 - D), averaged over the fakes: it is exactly that when every fake has the
# same D(G(z)), and close to it when they have nearly the same.

# %%
lesson.step("2. The saturating gradient vanishes as D grows confident")
first, last = rows[0], rows[-1]
lesson.show("mean D(G(z)) with D confident", last[1])
lesson.check("mean D(G(z)) after D's training", last[1], at_most=0.02,
             why=f"{int(last[0])} D steps against a G that sits 3 away from p_data")
lesson.check("minimax |grad G|: confident D / untrained-D peak", last[2] / rows[:, 2].max(),
             at_most=0.3, why="the saturating gradient is proportional to D(G(z)), which fell "
                              "from ~0.5 to below 0.02 (the logit's slope grew meanwhile)")
lesson.check("non-saturating |grad G|: confident D / untrained D", last[3] / first[3],
             at_least=10.0, why="its gradient is proportional to 1 - D(G(z)) ~ 1, times a "
                                "steeper D")
ratio = last[2] / last[3]
lesson.check("ratio minimax / non-saturating, relative to mean D/(1-D)", ratio / last[4],
             expected=1.0, tol=0.3,
             why="per fake the ratio of the logit gradients is exactly D/(1-D); fakes with "
                 "slightly different D(G(z)) weigh the backward sums differently")


def draw_norms(ax):
    ax.plot(rows[:, 0], rows[:, 2], "o-", color=plot.D_COLOR, label="log(1 - D(G(z)))")
    ax.plot(rows[:, 0], rows[:, 3], "s-", color=plot.FAKE_COLOR, label="-log D(G(z))")
    ax.set_yscale("log")
    ax.set_xlabel("D steps against a fixed G")
    ax.set_ylabel("||grad_theta_G L_G||")
    twin = ax.twinx()
    twin.plot(rows[:, 0], rows[:, 1], ":", color="gray", label="mean D(G(z))")
    twin.set_ylabel("mean D(G(z)) (dotted)")
    twin.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left")


lesson.figure("gradient_norms.png", draw_norms, size=4.5,
              title="G's gradient as D grows confident")

# %% [markdown]
# ## 3. Train with both
# From this same start (the confident D, the bad G) we play the game with each G loss. D is
# trained as before (Adam); G takes plain gradient-descent steps (SGD, lr 0.01): the setting of
# the argument above, where the step is the gradient times the learning rate. We follow the 1-D
# Wasserstein distance W1 between G's samples and p_data (sorted samples, averaged gaps). With
# the saturating loss G hardly moves, and D, never challenged, stays confident: a stalemate.
# The non-saturating G moves at once (it overshoots and swings back before it settles).
#
# Adam divides each weight's step by a running average of its gradient's size, so a tiny
# gradient still gets steps of size ~lr: with Adam for G the saturating loss loses much less
# time here. That rescue is partial and accidental; the non-saturating loss removes the cause.

# %%
lesson.step(f"3. {ROUNDS} rounds from the same start with each G loss")
start_G, start_D = copy.deepcopy(G), copy.deepcopy(D)
real_eval = data.sample(N_Z)


def wasserstein_1d(a, b):
    return float(np.abs(np.sort(np.ravel(a)) - np.sort(np.ravel(b))).mean())


runs = {}
for loss in ("minimax", "nonsaturating"):
    tinygan.manual_seed(lesson.seed + 1)  # the same batches and noise for both runs
    G_run, D_run = copy.deepcopy(start_G), copy.deepcopy(start_D)
    opt_g = tinygan.optim.SGD(G_run.parameters(), lr=G_LR)
    opt_d = tinygan.optim.Adam(D_run.parameters(), lr=LR, betas=(0.5, 0.999))
    history = {name: [] for name in gan.HISTORY_COLUMNS}
    distance = [(0, wasserstein_1d(gan.sample_generator(G_run, z), real_eval))]
    for step in range(1, ROUNDS + 1):
        stats = gan.train_step(G_run, D_run, opt_g, opt_d, real_batches, noise, loss=loss)
        history["step"].append(step)
        for name, value in stats.as_dict().items():
            history[name].append(value)
        if step % 10 == 0:
            distance.append((step, wasserstein_1d(gan.sample_generator(G_run, z), real_eval)))
    runs[loss] = (history, np.array(distance))


def rounds_to_reach(loss, level):
    steps, values = runs[loss][1].T
    below = np.flatnonzero(values < level)
    return float(steps[below[0]]) if len(below) else float("inf")


start_w1 = runs["minimax"][1][0, 1]
final_mm = runs["minimax"][1][-1, 1]
best_ns = runs["nonsaturating"][1][:, 1].min()
lesson.show("W1 at the start", start_w1)
lesson.show(f"W1 after {ROUNDS} rounds, saturating", final_mm)
lesson.show("rounds until W1 < 0.5, non-saturating", rounds_to_reach("nonsaturating", 0.5))
lesson.check(f"saturating: W1 after {ROUNDS} rounds / W1 at the start", final_mm / start_w1,
             at_least=0.9, why="each SGD step moves G by lr x |grad| ~ 0.01 x 0.003: G stays "
                               "where it started")
lesson.check("non-saturating: smallest W1 during the run", best_ns, at_most=0.5,
             why="its gradient is hundreds of times larger: G reaches p_data (W1 started near 3), "
                 "then swings around it")
early = 50
mm_early = np.mean(runs["minimax"][0]["g_grad_norm"][:early])
ns_early = np.mean(runs["nonsaturating"][0]["g_grad_norm"][:early])
lesson.check(f"mean |grad G| over the first {early} rounds: saturating / non-saturating",
             mm_early / ns_early, at_most=0.01,
             why="D stays confident (D(G(z)) < 0.01) while G is still far away, and the "
                 "ratio is about D(G(z)) / (1 - D(G(z)))")

def draw_distance(ax):
    for loss, color in (("minimax", plot.D_COLOR), ("nonsaturating", plot.FAKE_COLOR)):
        steps, values = runs[loss][1].T
        ax.plot(steps, values, color=color, label=loss)
    ax.set_xlabel("round")
    ax.set_ylabel("W1(p_g, p_data)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)


lesson.figure("distance_both.png", draw_distance, title="distance to p_data, each G loss")
fig, axes = plot.new_figure(ncols=2, size=3.6)
plot.grad_norm_curves(axes[0], runs["minimax"][0], smooth=10,
                      title="gradient norms, log(1 - D(G(z)))")
plot.grad_norm_curves(axes[1], runs["nonsaturating"][0], smooth=10,
                      title="gradient norms, -log D(G(z))")
print("   figure:", plot.save(fig, lesson.path("grad_norms_both.png")))

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
