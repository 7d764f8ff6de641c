# %%
"""Lesson 5: the discriminator D(x) and the binary cross-entropy loss.

D is a binary classifier: D(x) in (0, 1) is its probability that x is real (x ~ p_data) rather
than fake (x = G(z), x ~ p_g). The network outputs a logit l(x), any real number, and
D(x) = sigma(l(x)) = 1 / (1 + e^-l(x)). For a fixed G, D plays its part of

    min_G max_D V(D, G) = E_{x ~ p_data}[log D(x)] + E_z[log(1 - D(G(z)))]

Maximising V is minimising -V. Give every sample a label, y = 1 for real and y = 0 for fake:
both expectations become one average of

    -y log D(x) - (1 - y) log(1 - D(x))

the binary cross-entropy (BCE) between the label and D's prediction. So training D is ordinary
logistic-regression-style classification of real vs fake. This lesson checks that identity,
gradient-checks the loss, and shows why it must be computed from the logit.

Run: python lessons/05_discriminator_and_bce.py [--fast] [--out DIR] [--seed N]
"""

# %%
import math

import numpy as np

import tinygan
import tinygan.functional as F
from tinygan import datasets, gan, models, optim, plot
from tinygan.lesson import Lesson

lesson = Lesson("05_discriminator_and_bce", "the discriminator D(x) and the BCE loss")

# %% [markdown]
# ## 1. -V(D, G) on a batch is BCE with labels 1 (real) and 0 (fake)
#
# Take m real samples and m fakes and D's logits on both. The batch estimate of -V is
# -mean log D(x) - mean log(1 - D(G(z))); the BCE averaged over all 2m labelled samples is
# half of that. `tinygan.gan.discriminator_loss` computes the first form.

# %%
lesson.step("1. -V(D, G) on a batch = 2 x BCE over the labelled batch")
p_data = datasets.mixture_1d(means=(1.0,), std=1.0, name="p_data")
p_g = datasets.mixture_1d(means=(-1.0,), std=1.0, name="p_g")  # a generator that is off by 2
D = models.MLPDiscriminator(data_dim=1, hidden=32, layers=2)
m = 256
real, fake = tinygan.tensor(p_data.sample(m)), tinygan.tensor(p_g.sample(m))
l_real, l_fake = D(real), D(fake)
minus_v = -(l_real.sigmoid().log().mean() + (1 - l_fake.sigmoid()).log().mean())
bce = F.binary_cross_entropy_with_logits(
    tinygan.concatenate([l_real, l_fake]),
    np.concatenate([np.ones((m, 1)), np.zeros((m, 1))]).astype(np.float32))
lesson.show("-V from its definition", minus_v.item())
lesson.show("2 x BCE(logits, labels)", 2 * bce.item())
lesson.show("gan.discriminator_loss", gan.discriminator_loss(l_real, l_fake).item())
lesson.check("|-V - 2 BCE| on a batch of 256 + 256", abs(minus_v.item() - 2 * bce.item()),
             at_most=1e-5, why="the same sum written two ways, in float32 (relative "
                               "rounding ~1e-7 on numbers of order 1)")
lesson.check("|-V - gan.discriminator_loss|",
             abs(minus_v.item() - gan.discriminator_loss(l_real, l_fake).item()), at_most=1e-5,
             why="the library's D loss is -V computed from the logits; float32 rounding")

# %% [markdown]
# ## 2. The gradient of BCE, checked
#
# d/dl of -[y log sigma(l) + (1 - y) log(1 - sigma(l))] is sigma(l) - y: the prediction minus
# the label, bounded by 1 in size. We compare the backward pass with that formula and
# gradient-check the whole D loss in D's weights (a float64 copy of D).

# %%
lesson.step("2. Gradient checks")
logits = tinygan.tensor(np.linspace(-30, 30, 61), dtype=np.float64, requires_grad=True)
labels = (np.arange(61) % 2).astype(np.float64)
F.binary_cross_entropy_with_logits(logits, labels, reduction="sum").backward()
sigma = 1 / (1 + np.exp(-logits.data))
lesson.check("max |dBCE/dl - (sigma(l) - y)| for l from -30 to 30",
             np.abs(logits.grad - (sigma - labels)).max(), at_most=1e-12,
             why="the same number in float64")
D64 = models.MLPDiscriminator(data_dim=1, hidden=8, layers=2).double()
x_real = tinygan.tensor(p_data.sample(4), dtype=np.float64)
x_fake = tinygan.tensor(p_g.sample(4), dtype=np.float64)
check = tinygan.gradcheck(lambda *p: gan.discriminator_loss(D64(x_real), D64(x_fake)),
                          list(D64.parameters()), raise_exception=False)
lesson.check_true("D's loss: backward = central differences in every weight", check.passed,
                  detail=f"{check.checked} entries, max abs error {check.max_abs_error:.2g}",
                  why="float64 central differences, eps = 1e-6: good to ~1e-9 (lesson 2)")

# %% [markdown]
# ## 3. Training D as a classifier
#
# With G fixed (p_g = N(-1, 1)) and p_data = N(1, 1), minimising BCE makes D the best
# classifier it can be. For two unit Gaussians 2 apart the best accuracy is Phi(1) = 0.84
# (threshold at 0). `tinygan.gan.d_step` is one such update: BCE on a real and a fake batch.

# %%
lesson.step("3. Train D alone and measure its held-out accuracy")
optimizer = optim.Adam(D.parameters(), lr=1e-3)
steps = 300 if lesson.fast else 1500
for _ in range(steps):
    gan.d_step(D, optimizer, tinygan.tensor(p_data.sample(m)), tinygan.tensor(p_g.sample(m)))
n_test = 5000 if lesson.fast else 20000
with tinygan.no_grad():
    right_real = (D(tinygan.tensor(p_data.sample(n_test))).data > 0).mean()
    right_fake = (D(tinygan.tensor(p_g.sample(n_test))).data < 0).mean()
accuracy = float((right_real + right_fake) / 2)
best = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
lesson.check("D's held-out accuracy, against the best possible Phi(1)", accuracy,
             expected=best, tol=0.02,
             why=f"{2 * n_test} test samples leave ~{math.sqrt(0.13 / (2 * n_test)):.3f} of "
                 "noise; D's threshold may sit a little off 0 after a short training")


def draw_d(ax):
    plot.density_1d(ax, p_data, p_g.sample(20000), D=D, bounds=(-5, 5))
    ax.set_title("D(x) after training: p_data (dotted), p_g (purple)")


lesson.figure("discriminator.png", draw_d, size=5)

# %% [markdown]
# ## 4. Why BCE is computed from the logit
#
# The textbook form first computes D = 1 / (1 + e^-l) and then its log. Floating point breaks
# it on *confident* inputs, which D produces all the time early in a GAN's training:
#
# - a fake that D calls real (y = 0, large l): 1 + e^-l rounds to exactly 1 once e^-l is below
#   half the machine epsilon, so 1 - D = 0 and log(1 - D) = -inf. That happens from
#   l = 24 ln 2 = 16.6 in float32 (53 ln 2 = 36.7 in float64);
# - a real sample that D calls fake (y = 1, very negative l): e^-l overflows to inf from
#   l = -ln(largest float) = -88.7 in float32 (-709.8 in float64), D = 0 and log D = -inf.
#
# The loss becomes inf, its gradient NaN, and one NaN in one weight spreads to all of them.
# `binary_cross_entropy_with_logits` uses log sigma(l) = -softplus(-l) and
# log(1 - sigma(l)) = -softplus(l), never forming D: finite for every l, gradient sigma(l) - y.

# %%
lesson.step("4. Naive BCE (sigmoid, then log) against BCE from logits")


def naive_d(l):
    return 1 / (1 + (-l).exp())  # D = sigma(l), the textbook way


def naive_bce(l, y):
    d = naive_d(l)
    return -(y * d.log() + (1 - y) * (1 - d).log())


def naive_term(l, y):
    """The one term of the naive BCE that a label uses: -log D (real) or -log(1 - D) (fake).
    (The full formula has a second problem: y log D is 0 * (-inf) = NaN when D rounds to 0.)"""
    return -naive_d(l).log() if y == 1 else -(1 - naive_d(l)).log()


step = 0.01
scan = {"float32": np.arange(-120, 120, step), "float64": np.arange(-800, 800, step)}
breaks = {}
with np.errstate(all="ignore"):
    for name, ls in scan.items():
        l = tinygan.tensor(ls, dtype=np.dtype(name))
        for y in (0, 1):
            with tinygan.no_grad():
                loss = naive_term(l, y).data
            bad = ls[~np.isfinite(loss)]
            # y = 0 breaks for large positive l, y = 1 for large negative l
            breaks[(name, y)] = bad.min() if y == 0 else bad.max()
theory = {("float32", 0): 24 * math.log(2), ("float64", 0): 53 * math.log(2),
          ("float32", 1): -math.log(np.finfo(np.float32).max),
          ("float64", 1): -math.log(np.finfo(np.float64).max)}
for (name, y), measured in breaks.items():
    side = ("-log(1 - D) of a fake (y = 0) is inf from logit" if y == 0
            else "-log D of a real (y = 1) is inf below logit")
    lesson.check(f"naive {side} ... ({name})", measured,
                 expected=theory[(name, y)], tol=2 * step,
                 why=f"theory: {'e^-l < machine eps / 2' if y == 0 else 'e^-l overflows'}; "
                     f"the scan's step is {step}")

confident = tinygan.tensor([-1000.0, -100.0, -20.0, 20.0, 100.0, 1000.0], requires_grad=True)
targets = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0], dtype=np.float32)  # all confidently wrong
with np.errstate(all="ignore"):
    naive = naive_bce(confident, tinygan.tensor(targets))
    naive.sum().backward()
naive_grad, confident.grad = confident.grad, None
stable = F.binary_cross_entropy_with_logits(confident, targets, reduction="none")
stable.sum().backward()
print(f"   l               {confident.data}")
print(f"   naive loss      {naive.data}")
print(f"   naive gradient  {naive_grad}")
print(f"   stable loss     {stable.data}")
print(f"   stable gradient {confident.grad}")
lesson.check("naive BCE: non-finite losses or gradients among the 6 confident inputs",
             int((~np.isfinite(naive.data)).sum() + (~np.isfinite(naive_grad)).sum()),
             at_least=4, why="|l| = 100 and 1000 are past the breaking points above")
lesson.check("BCE from logits: non-finite losses or gradients",
             int((~np.isfinite(stable.data)).sum() + (~np.isfinite(confident.grad)).sum()),
             at_most=0, why="softplus never overflows and its derivative is in [0, 1]")
lesson.check("BCE from logits at l = 1000 for a fake: the loss equals l", stable.data[-1],
             expected=1000.0, tol=1e-3,
             why="softplus(l) = l + log(1 + e^-l) = l to float32 precision for large l")


def draw_breaks(ax):
    ls = np.linspace(-5, 60, 1301)
    for name, color in (("float32", "#7b3fbf"), ("float64", "#1f5fbf")):
        with np.errstate(all="ignore"), tinygan.no_grad():
            values = naive_term(tinygan.tensor(ls, dtype=np.dtype(name)), 0).data
        ax.plot(ls, np.where(np.isfinite(values), values, np.nan), color=color,
                lw=5 if name == "float32" else 2,
                label=f"naive, {name}")
        ax.axvline(theory[(name, 0)], color=color, ls=":")
    with tinygan.no_grad():
        exact = F.binary_cross_entropy_with_logits(
            tinygan.tensor(ls, dtype=np.float64), np.zeros_like(ls), reduction="none").data
    ax.plot(ls, exact, "k--", lw=1, label="from the logit (softplus)")
    ax.set_xlabel("logit l of a fake sample (y = 0)")
    ax.set_ylabel("BCE loss")
    ax.legend(fontsize=8)
    ax.set_title("the naive loss stops (inf) at the dotted lines")


lesson.figure("naive_vs_logits.png", draw_breaks, size=5)

# %%
failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
