"""Lesson 9: Mode collapse, and PacGAN packing as a remedy.

p_data is a ring of 8 Gaussians. A generator that puts all its mass on one or two of them
produces perfectly realistic samples, one at a time: D(x) cannot object to any single sample,
only to the *lack of variety*, which a D that judges one sample at a time does not see. This
is mode collapse. Once G sits on one mode, D learns to reject that mode; G then jumps to
whichever place D currently likes best, and the chase goes round the ring without ever
covering it.

We measure it with the evaluation protocol's metric (`tinygan.metrics.mode_coverage`): on
2500 samples, a sample is *high quality* when it lies within 3 standard deviations of a mode's
mean, and a mode is *captured* when at least one high-quality sample is nearest to it.

The remedy: PacGAN (Lin et al. 2018). D judges packs of m samples at once, concatenated into
one input. A pack of real samples holds m different modes (mostly); a pack from a collapsed G
holds m copies of nearly the same point, which D sees at once. Nothing else changes.

Run: ``python lessons/09_mode_collapse.py`` (``--fast`` for the short version).
"""

# %%
import numpy as np

import tinygan
from tinygan import datasets, gan, metrics, models, plot
from tinygan.lesson import Lesson

lesson = Lesson("09_mode_collapse", "Mode collapse on the ring of 8 Gaussians, and PacGAN packing")
STEPS = 400 if lesson.fast else 1500
SEEDS = (lesson.seed,) if lesson.fast else (lesson.seed, lesson.seed + 1, lesson.seed + 2)
EVERY = STEPS // 8  # how often modes are counted
BATCH = 128
LR_D, LR_G = 5e-4, 2e-3
PACK = 4

# %% [markdown]
# ## 1. The data and a setting that collapses
# The 8 means of `datasets.ring8()` on the unit circle, with standard deviation 0.05 instead of
# the protocol's 0.01: the same picture, but short runs can land on it (the high-quality radius
# is then 3 x 0.05). G and D are MLPs with 2 hidden layers of 64 units, non-saturating loss,
# Adam with beta1 = 0.5. The collapsing ingredient: G learns 4 times faster than D
# (lr 2e-3 against 5e-4). A fast G rushes to whatever point D currently rates most real,
# before D has learned that one point is not the whole of p_data. Both rates fall linearly to
# 0 over the second half of the run.

# %%
lesson.step("1. The ring of 8 Gaussians (std 0.05) and the players")
data = datasets.Mixture("ring8, std 0.05", datasets.ring8().means, std=0.05)


def run(pack, seed):
    """Train one GAN; returns (G, D, list of (step, ModeCoverage))."""
    tinygan.manual_seed(seed)
    G = models.MLPGenerator(z_dim=2, hidden=64, layers=2)
    D = models.MLPDiscriminator(hidden=64, layers=2, pack=pack)
    opt_G = tinygan.optim.Adam(G.parameters(), lr=LR_G, betas=(0.5, 0.999))
    opt_D = tinygan.optim.Adam(D.parameters(), lr=LR_D, betas=(0.5, 0.999))
    batches = datasets.batches(data, BATCH)
    z_eval = tinygan.randn(metrics.PROTOCOL_SAMPLES, 2)
    decay = gan.linear_decay(STEPS, start=0.5)
    coverage = []
    for step in range(1, STEPS + 1):
        for opt, lr in ((opt_G, LR_G), (opt_D, LR_D)):
            for group in opt.param_groups:
                group["lr"] = lr * decay(step - 1)
        gan.train_step(G, D, opt_G, opt_D, batches, lambda n: tinygan.randn(n, 2))
        if step % EVERY == 0:
            samples = gan.sample_generator(G, z_eval)
            coverage.append((step, metrics.mode_coverage(samples, data.means, data.std)))
    return G, D, coverage


# %% [markdown]
# ## 2. D judges one sample at a time (pack = 1)
# We count the modes captured every few hundred steps. A collapsed G captures one or two modes
# at a time, and as D catches up it moves on instead of spreading out.

# %%
lesson.step(f"2. {STEPS} steps with an ordinary D (pack = 1), seeds {SEEDS}")
plain = {seed: run(1, seed) for seed in SEEDS}
for seed, (_, _, coverage) in plain.items():
    print(f"   seed {seed}: modes captured over time "
          + " ".join(str(c.modes_captured) for _, c in coverage)
          + f"   at the end: {coverage[-1][1]}")

# %% [markdown]
# ## 3. D judges packs of 4 (PacGAN)
# The same networks, the same learning rates, the same seeds; only D's input changes from one
# sample (2 numbers) to 4 samples side by side (8 numbers). `models.MLPDiscriminator(pack=4)`
# cuts every batch into packs of 4 consecutive samples; real packs are judged real, fake packs
# fake.

# %%
lesson.step(f"3. The same runs with PacGAN's D (pack = {PACK})")
packed = {seed: run(PACK, seed) for seed in SEEDS}
for seed, (_, _, coverage) in packed.items():
    print(f"   seed {seed}: modes captured over time "
          + " ".join(str(c.modes_captured) for _, c in coverage)
          + f"   at the end: {coverage[-1][1]}")

# %% [markdown]
# ## 4. The claims
# With pack = 1, G never covers more than half of the ring at any moment we measured; with
# packs of 4 it captures all 8 modes by the end, in every run. (The share of high-quality
# samples stays modest in these short runs: the sharpening comes with many more steps.)

# %%
lesson.step("4. Modes captured, measured the same way for both")
most_plain = max(c.modes_captured for _, _, cov in plain.values() for _, c in cov)
least_packed_end = min(cov[-1][1].modes_captured for _, _, cov in packed.values())
# Reverse KL is infinite when a run has no high-quality sample at all; count that as log 8,
# the value of a single mode (no spread is worse than that for this comparison).
worst = np.log(8)
kl_plain = np.mean([min(cov[-1][1].reverse_kl, worst) for _, _, cov in plain.values()])
kl_packed = np.mean([min(cov[-1][1].reverse_kl, worst) for _, _, cov in packed.values()])
lesson.check("pack = 1: most modes captured at any measurement, any seed", most_plain,
             at_most=4, why="a collapsed G holds one to three modes at a time; 4 is half the "
                            "ring")
lesson.check(f"pack = {PACK}: fewest modes captured at the end, over the seeds",
             least_packed_end, at_least=8, why="packing lets D see the missing variety, so G "
                                               "must spread over every mode")
lesson.show("reverse KL to uniform at the end, pack 1 (log 8 = 2.08 is one mode)", kl_plain)
lesson.show(f"reverse KL to uniform at the end, pack {PACK} (0 is a perfect spread)", kl_packed)
lesson.check("reverse KL: pack 1 minus pack 4", kl_plain - kl_packed, at_least=0.5,
             why="the high-quality samples of a collapsed G sit on few modes (KL near log 8 = "
                 "2.08), packing spreads them (KL near 0)")

# %% [markdown]
# ## 5. Pictures
# Left: the collapsed G of the first seed in GAN Lab's picture: D(x) as a heat map (blue:
# "real"), real samples (green), fakes (purple) and arrows where G's next step moves each
# fake. Right: the packed G. Below them, modes captured over time for every run.

# %%
lesson.step("5. Figures")
seed = SEEDS[0]
z_show = tinygan.randn(1000, 2)
real_show = data.sample(1000)
bounds = (-1.6, 1.6, -1.6, 1.6)
fig, axes = plot.new_figure(ncols=2, size=4.2)
plot.gan_lab(axes[0], plain[seed][1], real_show, gan.sample_generator(plain[seed][0], z_show),
             bounds=bounds, title=f"pack = 1: {plain[seed][2][-1][1].modes_captured}/8 modes")
plot.gan_lab(axes[1], packed[seed][1], real_show,
             gan.sample_generator(packed[seed][0], z_show), bounds=bounds,
             title=f"pack = {PACK}: {packed[seed][2][-1][1].modes_captured}/8 modes")
print("   figure:", plot.save(fig, lesson.path("collapse_vs_pacgan.png")))


def draw_coverage(ax):
    for runs, color, name in ((plain, plot.FAKE_COLOR, "pack 1"),
                              (packed, plot.REAL_COLOR, f"pack {PACK}")):
        for i, (_, _, coverage) in enumerate(runs.values()):
            steps = [s for s, _ in coverage]
            modes = [c.modes_captured for _, c in coverage]
            ax.plot(steps, modes, "o-", color=color, alpha=0.8, label=name if i == 0 else None)
    ax.set_ylim(-0.3, 8.5)
    ax.set_xlabel("step")
    ax.set_ylabel("modes captured (of 8)")
    ax.legend(fontsize=8)


lesson.figure("modes_over_time.png", draw_coverage, size=4.5,
              title="modes captured, every run")

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
