"""Lesson 7: Training a GAN: which network first?

One round of the game has two steps, always in this order:

- **Step 1 (the cop studies).** D is trained on a batch of real notes x ~ p_data and a batch of
  counterfeits G(z) made by the counterfeiter *as he is now*. Only D's weights move.
- **Step 2 (the counterfeiter adapts).** G looks at how the *improved* D judges his counterfeits
  and changes his method to fool it. Only G's weights move.

We play this game in one dimension, where the whole state fits in one picture (Goodfellow et al.
2014, Figure 1): p_data (dotted), p_g (purple), D(x) (dashed), and below them the lines from
z to x = G(z). At the end p_g should match p_data, measured by a distance between samples, and
D(x) should sit near 1/2 everywhere: the cop can no longer tell.

Run: ``python lessons/07_training_order.py`` (``--fast`` for the short version).
"""

# %%
import copy

import numpy as np

import tinygan
from tinygan import datasets, gan, models, plot
from tinygan.lesson import Lesson

lesson = Lesson("07_training_order", "Training a GAN: Step 1 trains D, Step 2 trains G")
STEPS = 600 if lesson.fast else 2000
BATCH = 64 if lesson.fast else 128
D_STEPS = 2  # k: D updates per G update (Goodfellow et al.'s Algorithm 1)
LR = 1e-3
N_EVAL = 4000  # samples for every measured distance

# %% [markdown]
# ## 1. The players
# p_data is a Gaussian N(2, 0.5^2). The noise z is one number from N(0, 1), so G is a map from
# a line to a line and we can draw it. G and D are small MLPs (2 hidden layers of 32 units);
# D outputs a logit l(x) and D(x) = sigma(l(x)).

# %%
lesson.step("1. The players: p_data = N(2, 0.5^2), z ~ N(0, 1), small MLPs for G and D")
data = datasets.mixture_1d(means=(2.0,), std=0.5)
G = models.MLPGenerator(z_dim=1, data_dim=1, hidden=32, layers=2)
D = models.MLPDiscriminator(data_dim=1, hidden=32, layers=2)
opt_G = tinygan.optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
opt_D = tinygan.optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
real_batches = datasets.batches(data, BATCH)


def noise(n):
    return tinygan.randn(n, 1)


def d_of(x):
    """D(x) = sigma(l(x)) as a NumPy array, without a graph."""
    with tinygan.no_grad():
        logits = D(tinygan.Tensor(np.asarray(x, dtype=np.float32))).data
    return 0.5 * (1 + np.tanh(0.5 * logits.reshape(-1)))


def wasserstein_1d(a, b):
    """W1 between two equal-sized 1-D samples: the mean gap between their sorted values."""
    return float(np.abs(np.sort(np.ravel(a)) - np.sort(np.ravel(b))).mean())


def params_of(model):
    return [p.data.copy() for p in model.parameters()]


def moved(before, model):
    return max(float(np.abs(b - p.data).max()) for b, p in zip(before, model.parameters()))


# %% [markdown]
# ## 2. One round by hand
# Step 1 (`gan.d_step`): the cop gets a real batch and a batch of fakes from the current G.
# `d_step` detaches the fakes, so the cop's lesson cannot change the counterfeiter. Step 2
# (`gan.g_step`): D(G(z)) is computed *again* with the updated D, and only G moves. We check
# both: D's loss on the same batch falls after Step 1, D(G(z)) rises after Step 2, and each
# step leaves the other player's weights exactly as they were.

# %%
lesson.step("2. One round by hand: Step 1 (d_step), then Step 2 (g_step)")
real = next(real_batches)
z = noise(BATCH)
fake = G(z)  # counterfeits of the counterfeiter as he is now
with tinygan.no_grad():
    loss_before = gan.discriminator_loss(D(real), D(fake.detach())).item()
g_before, d_before = params_of(G), params_of(D)
gan.d_step(D, opt_D, real, fake)  # Step 1
with tinygan.no_grad():
    loss_after = gan.discriminator_loss(D(real), D(fake.detach())).item()
lesson.show("D's loss on this batch before Step 1", loss_before)
lesson.show("D's loss on this batch after Step 1", loss_after)
lesson.check("Step 1 lowers D's loss on the batch it studied", loss_before - loss_after,
             at_least=1e-6, why="one Adam step along -grad lowers the loss for a small enough lr")
lesson.check_true("Step 1 leaves G's weights untouched", moved(g_before, G) == 0.0,
                  detail=f"largest change {moved(g_before, G):.1e}",
                  why="d_step detaches G(z), and opt_D holds only D's weights")

d_before = params_of(D)
fooled_before = d_of(fake.data).mean()
gan.g_step(D, opt_G, fake)  # Step 2, against the updated D
fooled_after = d_of(G(z).data).mean()
lesson.show("mean D(G(z)) before Step 2", fooled_before)
lesson.show("mean D(G(z)) after Step 2 (same z, same D)", fooled_after)
lesson.check("Step 2 raises D(G(z)) for the same z and the same D", fooled_after - fooled_before,
             at_least=1e-6, why="G descends -log D(G(z)); one small step raises D(G(z))")
lesson.check_true("Step 2 leaves D's weights untouched", moved(d_before, D) == 0.0,
                  detail=f"largest change {moved(d_before, D):.1e}",
                  why="opt_G holds only G's weights; D's .grad is cleared before its next step")

# %% [markdown]
# ## 3. Many rounds
# `gan.train_step` is exactly that round: k = 2 updates of D (each on a fresh real batch and
# fresh fakes), then one of G. We keep snapshots of G and D to draw (more of them early on,
# when the picture changes fastest). In the second half both learning rates fall linearly to
# 0 (`gan.linear_decay`): at a constant rate the two players keep circling the equilibrium
# instead of settling on it (lesson 10 shows why).

# %%
lesson.step(f"3. {STEPS} rounds of train_step (k = {D_STEPS} D updates per G update)")
z_fixed = noise(N_EVAL)
real_eval = data.sample(N_EVAL)
moments = sorted({0, STEPS // 20, STEPS // 5, STEPS})
FRAMES = 6 if lesson.fast else 25  # frames of the GIF, spread over the run
frame_steps = set(np.unique(np.geomspace(1, STEPS, FRAMES).astype(int))) | set(moments)
snapshots = {}  # step -> (G's samples on z_fixed, a copy of D)


def snapshot(step):
    snapshots[step] = (gan.sample_generator(G, z_fixed), copy.deepcopy(D))


history = {name: [] for name in gan.HISTORY_COLUMNS}
decay = gan.linear_decay(STEPS, start=0.5)
snapshot(0)
start_distance = wasserstein_1d(snapshots[0][0], real_eval)
for step in range(1, STEPS + 1):
    for opt in (opt_G, opt_D):
        for group in opt.param_groups:
            group["lr"] = LR * decay(step - 1)
    stats = gan.train_step(G, D, opt_G, opt_D, real_batches, noise, d_steps=D_STEPS)
    history["step"].append(step)
    for name, value in stats.as_dict().items():
        history[name].append(value)
    if step in frame_steps:
        snapshot(step)

# %% [markdown]
# ## 4. The rounds, drawn as Goodfellow et al.'s Figure 1
# (a) At the start G(z) sits near 0, far from p_data, and D quickly learns "right is real".
# (b), (c) The cop's verdict D(x) rises towards p_data; following it, the counterfeiter moves
# his mass there. (d) p_g lies on p_data and D(x) is flat near 1/2: no x looks more real
# than another. The lines below show G's map z -> x stretching and shifting the noise.

# %%
lesson.step("4. Snapshots of the game (Goodfellow et al. 2014, Figure 1)")
fig, axes = plot.new_figure(ncols=len(moments), size=3.4)
bounds = (-1.5, 4.5)
for ax, step, letter in zip(axes, moments, "abcdefg"):
    fakes, D_then = snapshots[step]
    plot.density_1d(ax, data, fakes, D=D_then, z=z_fixed.data, bounds=bounds,
                    title=f"({letter}) after {step} rounds")
print("   figure:", plot.save(fig, lesson.path("figure1_rounds.png")))


def draw_frame(ax, step):
    fakes, D_then = snapshots[step]
    plot.density_1d(ax, data, fakes, D=D_then, z=z_fixed.data, bounds=bounds,
                    title=f"after {step} rounds")


print("   animation:", plot.animate(lesson.path("rounds.gif"), sorted(snapshots), draw_frame,
                                    fps=3))
print("   figure:", plot.history_figure(lesson.path("history.png"), history,
                                       smooth=max(10, STEPS // 40)))

# %% [markdown]
# ## 5. Did the counterfeiter win?
# The distance between p_g and p_data is measured with the 1-D Wasserstein distance W1: sort
# 4000 fakes and 4000 real samples and average the gaps. Two samples of p_data itself are
# about 0.015 apart (sampling noise); a G whose mean is off by 0.2, or whose spread is 0.3
# instead of 0.5, scores about 0.2. At the equilibrium D(x) = 1/2 on real data and on fakes.
#
# Look at G's spread in the output: it is often somewhat too narrow, and yet D says 1/2
# everywhere. D(x) = 1/2 does not prove p_g = p_data; it says that *this* D, a small network,
# cannot tell them apart. A narrower p_g than p_data is a mild form of the mode collapse of
# lesson 9.

# %%
lesson.step("5. p_g against p_data, and D at the end")
final_fakes = gan.sample_generator(G, z_fixed)
distance = wasserstein_1d(final_fakes, real_eval)
noise_floor = wasserstein_1d(data.sample(N_EVAL), real_eval)
lesson.show("W1(p_g, p_data) before training", start_distance)
lesson.show("W1(p_g, p_data) after training", distance)
lesson.show("W1 between two samples of p_data (noise floor)", noise_floor)
lesson.show("mean and std of G(z)", f"{final_fakes.mean():.3f}, {final_fakes.std():.3f} "
            "(p_data: 2, 0.5)")
lesson.check("W1(p_g, p_data) at the end", distance, at_most=0.25,
             why="from ~2 at the start to the size of a small error in G's mean or spread; "
                 "runs with other seeds end between 0.05 and 0.2")
lesson.check("mean of G(z) at the end", final_fakes.mean(), expected=2.0, tol=0.2,
             why="the location is what D sees most easily; 0.2 is 0.4 of p_data's std")
d_real, d_fake = d_of(real_eval).mean(), d_of(final_fakes).mean()
d_tol = 0.08 if lesson.fast else 0.05
lesson.check("mean D(x) on real data at the end", d_real, expected=0.5, tol=d_tol,
             why="D* = p_data / (p_data + p_g) = 1/2 when p_g = p_data; a D trained on "
                 f"batches of {BATCH} wobbles around it")
lesson.check("mean D(G(z)) on fakes at the end", d_fake, expected=0.5, tol=d_tol,
             why="the same: the cop can no longer tell")

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
