"""Lesson 11: The Wasserstein GAN.

With the optimal D, the GAN game measures the Jensen-Shannon divergence:
V(D*, G) = -log 4 + 2 JSD(p_data || p_g) (lesson 6). When p_data and p_g live on disjoint
sets, a D can separate them perfectly, and JSD = log 2 *whatever the distance between them*:
the loss cannot tell "close" from "far", and G gets no gradient from it.

The Wasserstein-1 distance (earth mover's distance) W(p_data, p_g) is the least average
distance mass must travel to turn p_g into p_data. It grows smoothly with the gap. By the
Kantorovich-Rubinstein duality

    W(p_data, p_g) = max over 1-Lipschitz f of  E_x[f(x)] - E_z[f(G(z))],

so a network f, the *critic*, trained to maximise that difference under a Lipschitz
constraint, estimates W, and -E_z[f(G(z))] gives G a gradient that points towards the data
at any distance. WGAN keeps f Lipschitz by clipping its weights; WGAN-GP adds the gradient
penalty lambda E[(||grad f(x^)|| - 1)^2] on points x^ between real and fake samples.

Run: ``python lessons/11_wasserstein.py`` (``--fast`` for the short version).
"""

# %%
import math

import numpy as np

import tinygan
from tinygan import datasets, gan, models, plot
from tinygan.lesson import Lesson
from tinygan.metrics import mmd

lesson = Lesson("11_wasserstein", "Wasserstein GAN: a critic that measures distance")
THETAS = (1.0, 4.0) if lesson.fast else (0.5, 1.0, 2.0, 4.0)
CRITIC_STEPS = 250 if lesson.fast else 400
BATCH = 128
LAMBDA = 10.0  # the gradient penalty's weight (gan.step.WGAN_GP_WEIGHT)
CLIP = 0.01  # weight clipping's c (gan.step.WGAN_CLIP)

# %% [markdown]
# ## 1. Two distributions with disjoint supports
# Arjovsky et al.'s example in the plane: p_data is the vertical segment x = (0, u), and G
# makes the parallel segment G(z) = (theta, u), u ~ U[0, 1]. The supports never meet for
# theta != 0, and W(p_data, p_g) = |theta| exactly (every point moves theta to the left).
# G has a single parameter theta, so "G's gradient" is one number, dL_G / d theta.

# %%
lesson.step("1. p_data = {(0, u)}, p_g = {(theta, u)}, u ~ U[0, 1]")


def real_batch(n):
    return tinygan.concatenate([tinygan.zeros(n, 1), tinygan.rand(n, 1)], axis=1)


def fake_batch(theta, n):
    """G(z) = (theta, u): theta is a Tensor of shape (1, 1), possibly requiring grad."""
    return tinygan.concatenate([theta * tinygan.ones(n, 1), tinygan.rand(n, 1)], axis=1)


def train_critic(theta, loss, steps, lr, optimizer="adam"):
    """Train a fresh D (2 hidden layers of 32) for ``steps`` Step-1 updates against G = theta."""
    D = models.MLPDiscriminator(hidden=32, layers=2)
    opt = gan.make_optimizer(D.parameters(), loss, optimizer, lr=lr,
                             betas=(0.5, 0.9) if optimizer == "adam" else None)
    fixed = tinygan.tensor([[theta]])
    for _ in range(steps):
        gan.d_step(D, opt, real_batch(BATCH), fake_batch(fixed, BATCH), loss)
    return D


# %% [markdown]
# ## 2. The JS-based game: D learns to separate, and then says nothing
# For each theta we train D with the BCE loss until it separates the segments, then read
# JSD = (V(D, G) + log 4) / 2 off the game's value on fresh samples, and G's gradient
# dL_G / d theta for the minimax loss log(1 - D(G(z))) and the non-saturating -log D(G(z)).

# %%
lesson.step("2. The BCE-trained D for each theta")
js_rows = []
for theta_value in THETAS:
    D = train_critic(theta_value, "nonsaturating", CRITIC_STEPS, lr=1e-2)
    theta = tinygan.tensor([[theta_value]], requires_grad=True)
    out_real, out_fake = D(real_batch(1000)), D(fake_batch(theta, 1000))
    value = out_real.logsigmoid().mean().item() + (-out_fake).logsigmoid().mean().item()
    (g_minimax,) = tinygan.grad(gan.generator_loss(out_fake, "minimax"), theta)
    (g_nonsat,) = tinygan.grad(gan.generator_loss(out_fake, "nonsaturating"), theta)
    js_rows.append((theta_value, (value + math.log(4)) / 2, g_minimax.item(), g_nonsat.item()))
    print(f"   theta = {theta_value}: JSD estimate = {js_rows[-1][1]:.4f} (log 2 = 0.6931)   "
          f"dL/dtheta minimax = {g_minimax.item():.2g}, non-saturating = {g_nonsat.item():.3g}")
js_rows = np.array(js_rows)
lesson.check("JSD estimate / log 2, smallest over theta", js_rows[:, 1].min() / math.log(2),
             at_least=0.98, why="disjoint supports: D separates them perfectly and JSD = log 2 "
                                "for every theta; 2% for a D that is not quite perfect")
lesson.check("|dL/dtheta| of the minimax loss, largest over theta", np.abs(js_rows[:, 2]).max(),
             at_most=1e-3, why="log(1 - D(G(z))) is flat where D(G(z)) ~ 0: no gradient")
lesson.check("non-saturating dL/dtheta: farthest theta / nearest theta",
             js_rows[-1, 3] / js_rows[0, 3], at_most=0.7,
             why="its gradient is the steepness of D's boundary at the fakes, not the distance: "
                 "it gets *smaller* as G moves away (roughly as 1/theta); 0.7 leaves room for "
                 "how steep each D happened to become")

# %% [markdown]
# The non-saturating loss does return a gradient, but it measures how steep D happened to make
# its boundary, and it *weakens* as theta grows: G far away is pushed less than G nearby.

# %% [markdown]
# ## 3. The critic (WGAN-GP): its value is the distance
# The same experiment with the Wasserstein loss and the gradient penalty (lambda = 10). Now the
# estimate E f(x) - E f(G(z)) grows with theta, and dL_G / d theta stays near 1 at every
# distance: "move left", as strongly far away as nearby.
#
# The estimate is a little *above* theta, by a predictable amount: the penalty is soft. If the
# critic has slope s along the segment between the supports, its loss is
# -s theta + lambda (s - 1)^2, smallest at s = 1 + theta / (2 lambda). So the critic reports
# s theta = theta (1 + theta / 20), and G's gradient is s.

# %%
lesson.step("3. The WGAN-GP critic for each theta")
w_rows = []
for theta_value in THETAS:
    D = train_critic(theta_value, "wgan-gp", CRITIC_STEPS, lr=1e-3)
    theta = tinygan.tensor([[theta_value]], requires_grad=True)
    out_fake = D(fake_batch(theta, 1000))
    estimate = D(real_batch(1000)).mean().item() - out_fake.mean().item()
    (g_critic,) = tinygan.grad(gan.generator_loss(out_fake, "wgan-gp"), theta)
    slope = 1 + theta_value / (2 * LAMBDA)
    w_rows.append((theta_value, estimate, g_critic.item(), slope))
    print(f"   theta = {theta_value}: critic's estimate = {estimate:.3f} (predicted "
          f"{slope * theta_value:.3f})   dL/dtheta = {g_critic.item():.3f} (predicted "
          f"{slope:.3f})")
w_rows = np.array(w_rows)
ratio = w_rows[:, 1] / (w_rows[:, 0] * w_rows[:, 3])
lesson.check("critic's estimate / theta (1 + theta / 2 lambda), worst over theta",
             ratio[np.abs(ratio - 1).argmax()], expected=1.0, tol=0.08,
             why="the soft penalty's optimum; the critic, trained for a few hundred steps on "
                 "noisy batches, is within a few % of it")
lesson.check("G's gradient dL/dtheta / predicted slope, worst over theta",
             (w_rows[:, 2] / w_rows[:, 3])[np.abs(w_rows[:, 2] / w_rows[:, 3] - 1).argmax()],
             expected=1.0, tol=0.1, why="the critic's slope at the fakes, s = 1 + theta/20")


def draw_distances(ax):
    ax.plot(js_rows[:, 0], js_rows[:, 1], "o-", color=plot.D_COLOR, label="JSD estimate (BCE D)")
    ax.plot(w_rows[:, 0], w_rows[:, 1], "s-", color=plot.FAKE_COLOR,
            label="critic's W estimate (WGAN-GP)")
    ax.plot(w_rows[:, 0], w_rows[:, 0], ":", color="gray", label="true W = theta")
    ax.set_xlabel("theta (gap between the supports)")
    ax.set_ylabel("estimated divergence / distance")
    ax.legend(fontsize=7)


lesson.figure("js_vs_wasserstein.png", draw_distances, size=4.5,
              title="what each loss sees as G moves away")

# %% [markdown]
# ## 4. Weight clipping against the gradient penalty
# The original WGAN clips every critic weight to [-0.01, 0.01] after each step (with RMSprop).
# That keeps f Lipschitz, but with a tiny constant: the critic's slope ||grad f|| is far below
# 1, so its value is W times an unknown small factor, and most weights end up pressed against
# the walls of the box. The penalty instead asks for ||grad f|| = 1 where it matters, between
# the real and the fake samples. We train both critics at theta = 1 and look at their slopes
# on random points x^ between real and fake samples, and at their weights.

# %%
lesson.step("4. Weight clipping vs gradient penalty, theta = 1")
clipped = train_critic(1.0, "wasserstein", CRITIC_STEPS, lr=5e-4, optimizer="rmsprop")
penalised = train_critic(1.0, "wgan-gp", CRITIC_STEPS, lr=1e-3)


def critic_report(D):
    """(mean ||grad f|| on interpolates, W estimate) at theta = 1."""
    real, fake = real_batch(1000), fake_batch(tinygan.tensor([[1.0]]), 1000)
    eps = tinygan.rand(1000, 1)
    x_hat = (eps * real + (1 - eps) * fake).detach().requires_grad_()
    (g,) = tinygan.grad(D(x_hat).sum(), x_hat)
    slope = float(np.linalg.norm(g.data, axis=1).mean())
    with tinygan.no_grad():
        estimate = D(real).mean().item() - D(fake).mean().item()
    return slope, estimate


slope_clip, w_clip = critic_report(clipped)
slope_gp, w_gp = critic_report(penalised)
weights = np.concatenate([p.data.ravel() for name, p in clipped.named_parameters()
                          if name.endswith("weight")])
at_wall = float(np.mean(np.abs(weights) >= CLIP * (1 - 1e-6)))
lesson.show("clipping: mean ||grad f|| between the supports", slope_clip)
lesson.show("clipping: W estimate (true W = 1)", w_clip)
lesson.show("clipping: share of weights at +-0.01", at_wall)
lesson.show("penalty: mean ||grad f|| between the supports", slope_gp)
lesson.show("penalty: W estimate (true W = 1)", w_gp)
lesson.check("clipping: share of weights pressed against +-c", at_wall, at_least=0.5,
             why="to make f as steep as the box allows, the weights run to its walls")
lesson.check("clipping: the critic's slope", slope_clip, at_most=0.05,
             why="a product of 3 weight matrices with entries <= 0.01 in size: tiny slope, so the "
                 "estimate is W times an unknown small factor")
lesson.check("penalty: the critic's slope", slope_gp, expected=1.05, tol=0.1,
             why="1 + theta/(2 lambda) = 1.05 along the segments, per section 3")

fig, axes = plot.new_figure(ncols=2, size=4.0)
band = np.concatenate([real_batch(300).data, fake_batch(tinygan.tensor([[1.0]]), 300).data])
real_pts, fake_pts = band[:300], band[300:]
bounds = (-0.75, 1.75, -0.75, 1.75)
plot.gan_lab(axes[0], clipped, real_pts, fake_pts, loss="wasserstein", bounds=bounds,
             title=f"weight clipping: slope {slope_clip:.1e}")
plot.gan_lab(axes[1], penalised, real_pts, fake_pts, loss="wgan-gp", bounds=bounds,
             title=f"gradient penalty: slope {slope_gp:.2f}")
print("   figure:", plot.save(fig, lesson.path("clipping_vs_penalty.png")))

# %% [markdown]
# ## 5. Gradient-check the penalty's second-order gradient
# The penalty contains a gradient, ||grad_x f(x^)||; training the critic differentiates it once
# more, with respect to the critic's weights (`tinygan.grad(..., create_graph=True)` inside
# `gan.gradient_penalty`). We compare that double backward with central differences on a
# small float64 critic. The penalty draws its eps from the library's random generator, so we
# reseed inside the function: every evaluation then uses the same x^.

# %%
lesson.step("5. gradcheck of the gradient penalty with respect to the critic's weights")
tinygan.manual_seed(lesson.seed + 3)
small = models.MLPDiscriminator(hidden=5, layers=2).double()
tinygan.nn.init.normal_(small.net[0].weight, std=1.0)  # away from a flat start
real_small = tinygan.randn(4, 2, dtype=np.float64)
fake_small = tinygan.randn(4, 2, dtype=np.float64)


def penalty(*_weights):
    tinygan.manual_seed(11)  # the same eps, hence the same x^, on every evaluation
    return gan.gradient_penalty(small, real_small, fake_small, weight=LAMBDA)


result = tinygan.gradcheck(penalty, list(small.parameters()), raise_exception=False)
lesson.check_true("the penalty's gradient w.r.t. the critic's weights matches central "
                  "differences", result.passed,
                  detail=f"{result.checked} entries, largest error {result.max_abs_error:.1e}",
                  why="float64, eps = 1e-6: a correct double backward agrees to ~1e-8")

# %% [markdown]
# ## 6. Training a WGAN-GP: the critic's estimate falls as G improves
# Finally the whole game on a 2-D Gaussian p_data, G an MLP: 5 critic steps per G step
# (n_critic), Adam with betas (0.5, 0.9), both learning rates falling linearly to 0. Each round
# reports the critic's E f(x) - E f(G(z)); we compare it with a distance that needs no critic:
# the MMD between G's samples and p_data (`metrics.mmd.mmd_rbf`), measured every few rounds.
#
# While G approaches p_data, the critic's number falls with the MMD: it is a distance you can
# watch during training, which the BCE loss is not. What happens *after* G arrives is lesson
# 10 again: the penalty keeps ||grad f|| near 1 even when p_g = p_data, so the critic never
# goes flat and G keeps getting a push of size ~1. G drifts past p_data, and the critic, whose
# signal is now tiny, is slow to turn round: its estimate can even drop below 0 for a while.
# The falling learning rate is what finally stops the drift. So the checks below look at the
# approach: from the start up to the round where G came closest to p_data.

# %%
rounds = 100 if lesson.fast else 200
lesson.step(f"6. {rounds} rounds of WGAN-GP on a 2-D Gaussian")
tinygan.manual_seed(lesson.seed)
blob = datasets.Mixture("blob", [[1.0, 0.5]], std=0.3)
G = models.MLPGenerator(z_dim=2, hidden=32, layers=2)
critic = models.MLPDiscriminator(hidden=32, layers=2)
lr = 1e-3
opt_G = gan.make_optimizer(G.parameters(), "wgan-gp", lr=lr)
opt_D = gan.make_optimizer(critic.parameters(), "wgan-gp", lr=lr)
batches = datasets.batches(blob, 64)
decay = gan.linear_decay(rounds, start=0.0)
z_eval, real_eval = tinygan.randn(500, 2), blob.sample(500)
history = {name: [] for name in gan.HISTORY_COLUMNS}
every = rounds // 20
marks, estimates, distances = [], [], []
for step in range(1, rounds + 1):
    for opt in (opt_G, opt_D):
        for group in opt.param_groups:
            group["lr"] = lr * decay(step - 1)
    stats = gan.train_step(G, critic, opt_G, opt_D, batches, lambda n: tinygan.randn(n, 2),
                           loss="wgan-gp", d_steps=5)
    history["step"].append(step)
    for name, value in stats.as_dict().items():
        history[name].append(value)
    if step % every == 0:
        marks.append(step)
        estimates.append(np.mean(history["d_real"][-every:]) - np.mean(history["d_fake"][-every:]))
        distances.append(mmd.mmd_rbf(gan.sample_generator(G, z_eval), real_eval, bandwidth=0.5))
marks, estimates, distances = np.array(marks), np.array(estimates), np.array(distances)
closest = int(distances.argmin())
peak = int(estimates[:closest + 1].argmax())
for i in range(0, len(marks), 2):
    print(f"   round {marks[i]:4d}: critic's estimate {estimates[i]:7.3f}   "
          f"MMD^2 to p_data {distances[i]:.4f}" + ("   <- closest" if i == closest else ""))
lesson.show("round where G came closest to p_data", int(marks[closest]))
lesson.check("MMD^2 to p_data: closest / start", distances[closest] / distances[0],
             at_most=0.3, why="G's samples really did improve (a distance computed without the "
                              "critic)")
lesson.check("critic's estimate at the closest round / its peak before it",
             estimates[closest] / estimates[peak], at_most=0.6,
             why="the distance the critic measures shrinks as G arrives (by 90% or more in most "
                 "runs); the critic lags G by a few rounds, so a slow run keeps up to half")
approach = slice(peak, closest + 1)
ranks = [np.argsort(np.argsort(v[approach])) for v in (estimates, distances)]
rank_corr = float(np.corrcoef(ranks[0], ranks[1])[0, 1]) if closest - peak >= 2 else float("nan")
lesson.check("rank correlation of the critic's estimate with MMD^2, peak to closest round",
             rank_corr, at_least=0.6, why="both fall together; window-to-window noise in the "
                                          "critic's number keeps it below 1")


def draw_estimate(ax):
    ax.plot(marks, estimates, "o-", color=plot.FAKE_COLOR, label="critic: E f(x) - E f(G(z))")
    ax.axvline(marks[closest], color="gray", lw=0.8, ls="--")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("round (dashed: G closest to p_data)")
    ax.set_ylabel("critic's estimate")
    twin = ax.twinx()
    twin.plot(marks, distances, "s:", color="gray", label="MMD^2(p_g, p_data)")
    twin.set_ylabel("MMD^2 (dotted)")
    ax.legend(fontsize=7, loc="upper right")


lesson.figure("critic_estimate.png", draw_estimate, size=4.5,
              title="the critic's distance falls as G improves")
print("   figure:", plot.history_figure(lesson.path("history.png"), history, wasserstein=True,
                                       smooth=10))

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
