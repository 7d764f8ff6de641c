# %%
"""Lesson 3: GANs rest on a two-sample test.

A GAN never writes down p_g. All it can do is compare *samples*: real x ~ p_data against fakes
G(z) ~ p_g. The question "are these two sample sets from the same distribution?" is a
two-sample test, and a classifier answers it: label the real samples 0 and the others 1, train
on half of them, and count how often it is right on the other half. If p_data = p_g no
classifier can beat a coin on held-out data; if they differ, a good one does. D in a GAN is
exactly this classifier, retrained every step while p_g moves.

We use `tinygan.metrics.two_sample.classifier_two_sample_test`: its held-out accuracy, and a
p-value, the chance of doing at least that well by luck when p_data = p_g (a binomial tail).

Run: python lessons/03_two_sample_test.py [--fast] [--out DIR] [--seed N]
"""

# %%
import math

import numpy as np

import tinygan
from tinygan.lesson import Lesson
from tinygan.metrics.two_sample import binomial_tail, classifier_two_sample_test

lesson = Lesson("03_two_sample_test", "a classifier as a two-sample test")
rng = tinygan.manual_seed(lesson.seed)


def normal_cdf(t):
    return 0.5 * (1 + math.erf(t / math.sqrt(2)))


def p_data(n):
    """Real data: a standard 2-D Gaussian."""
    return rng.standard_normal((n, 2))


def p_g(n, shift):
    """A 'generator' that is slightly off: the same Gaussian moved by `shift` along x_1."""
    return rng.standard_normal((n, 2)) + np.array([shift, 0.0])


# %% [markdown]
# ## 1. Same distribution, then different ones
#
# For two Gaussians of unit variance whose means are delta apart, the best possible classifier
# (Bayes' rule: the threshold halfway between the means) is right with probability
# Phi(delta / 2). With delta = 1 that is 0.69. With delta = 0 it is 1/2: chance.
# The held-out half has n_test samples, so by luck alone the accuracy wanders by about
# sqrt(1/4 / n_test) around 1/2. The classifier is a small MLP (two hidden layers of 16 ReLU
# units, 100 Adam steps): a miniature D.

# %%
lesson.step("1. One test where p_g = p_data, one where p_g is off by delta = 1")
n = 500 if lesson.fast else 2000
same = classifier_two_sample_test(p_data(n), p_data(n), hidden=16, steps=100)
shift = 1.0
differ = classifier_two_sample_test(p_data(n), p_g(n, shift), hidden=16, steps=100)
print(f"   p_g = p_data:          {same}")
print(f"   p_g off by delta = {shift:g}: {differ}")
noise = math.sqrt(0.25 / same.n_test)
lesson.check("p_g = p_data: held-out accuracy", same.accuracy, expected=0.5, tol=3 * noise,
             why=f"chance; {same.n_test} held-out samples give a standard deviation of "
                 f"{noise:.3f}, and 3 of them cover 99.7% of runs")
lesson.check("p_g = p_data: p-value", same.p_value, at_least=0.01,
             why="under p_g = p_data the p-value is uniform on [0, 1]: below 0.01 in 1% of runs")
best = normal_cdf(shift / 2)
tol = 3 * noise + 0.03
lesson.check(f"p_g off by delta = {shift:g}: held-out accuracy, against Phi(delta/2)",
             differ.accuracy, expected=best, tol=tol,
             why=f"the best possible is Phi(1/2) = {best:.3f}; held-out noise {noise:.3f} "
                 f"(x3), and a classifier learned from {n} samples loses up to ~0.03")
worst_accepted = binomial_tail(math.ceil((best - tol) * differ.n_test), differ.n_test)
lesson.check(f"p_g off by delta = {shift:g}: p-value", differ.p_value, at_most=worst_accepted,
             why=f"{differ.n_test} held-out answers right {best:.0%} of the time would come "
                 f"from a coin with probability "
                 f"{binomial_tail(round(best * differ.n_test), differ.n_test):.0e}; the bound "
                 f"is the p-value at the lowest accuracy the claim above accepts")

# %% [markdown]
# ## 2. Power grows with the sample size
#
# A smaller difference, delta = 0.5 (best accuracy Phi(0.25) = 0.60), is hard to see in a few
# samples. The *power* of the test is the fraction of repeated experiments in which it rejects
# p_g = p_data at level alpha = 0.05. If the classifier reached the best accuracy a*, its
# number of right answers would be Binomial(n_test, a*), and the power would be the chance
# that this exceeds the binomial's 95% point under a coin: it grows with n_test like
# Phi(2 (a* - 1/2) sqrt(n_test) - 1.645). The same repeats with p_g = p_data should reject
# in only alpha = 5% of runs. Here the classifier is a logistic regression (`hidden=0`), the
# right shape for a shift.

# %%
lesson.step("2. Power against sample size (delta = 0.5, alpha = 0.05)")
small_shift, alpha = 0.5, 0.05
sizes = [25, 100, 400] if lesson.fast else [25, 50, 100, 200, 400, 800]
repeats = 6 if lesson.fast else 40
a_star = normal_cdf(small_shift / 2)


def predicted_power(n_test):
    """P(Binomial(n_test, a*) >= k), k the smallest count with binomial_tail(k) <= alpha."""
    k = next(k for k in range(n_test + 1) if binomial_tail(k, n_test) <= alpha)
    return sum(math.comb(n_test, j) * a_star ** j * (1 - a_star) ** (n_test - j)
               for j in range(k, n_test + 1))


power, false_alarms = [], []
for size in sizes:
    rejected = [classifier_two_sample_test(p_data(size), p_g(size, small_shift), hidden=0,
                                           steps=60, lr=0.05).p_value <= alpha
                for _ in range(repeats)]
    null = [classifier_two_sample_test(p_data(size), p_data(size), hidden=0, steps=60,
                                       lr=0.05).p_value <= alpha for _ in range(repeats)]
    power.append(float(np.mean(rejected)))
    false_alarms.append(float(np.mean(null)))
    print(f"   n = {size:4d} per set: power {power[-1]:.2f} (best possible "
          f"{predicted_power(size):.2f}), rejections when p_g = p_data {false_alarms[-1]:.2f}")

lesson.check(f"power with n = {sizes[0]} per set", power[0], at_most=0.5,
             why=f"best possible {predicted_power(sizes[0]):.2f}; {repeats} repeats leave "
                 f"~{math.sqrt(0.25 / repeats):.2f} of noise")
lesson.check(f"power with n = {sizes[-1]} per set", power[-1], at_least=0.75,
             why=f"best possible {predicted_power(sizes[-1]):.2f}; the learned logistic "
                 f"regression is a little worse, and {repeats} repeats add noise")
total = repeats * len(sizes)
lesson.check("rejection rate when p_g = p_data (all sizes)", float(np.mean(false_alarms)),
             at_most=alpha + 3 * math.sqrt(alpha * (1 - alpha) / total),
             why=f"a level-{alpha} test rejects a true p_g = p_data in {alpha:.0%} of runs "
                 f"(the binomial is discrete, so a little less); {total} runs, 3 standard "
                 "deviations")


def draw_power(ax):
    grid = np.unique(np.geomspace(sizes[0], sizes[-1], 30).astype(int))
    ax.plot(grid, [predicted_power(s) for s in grid], color="black", ls=":",
            label="best possible classifier")
    ax.plot(sizes, power, "o-", color="#7b3fbf", label="measured, p_g off by 0.5")
    ax.plot(sizes, false_alarms, "s-", color="#2a9d4b", label="measured, p_g = p_data")
    ax.axhline(alpha, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("samples per set n")
    ax.set_ylabel(f"fraction of runs with p <= {alpha}")
    ax.legend(fontsize=8)


lesson.figure("power.png", draw_power, size=5, title="power of the classifier two-sample test")

# %% [markdown]
# ## 3. What this means for a GAN
#
# D's held-out accuracy is a measure of how far p_g is from p_data: 1/2 means D cannot tell,
# which is where the game should end (lesson 6). But a test with few samples cannot see small
# differences: "D is at chance" on a small batch is weak evidence that p_g = p_data.

# %%
failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
