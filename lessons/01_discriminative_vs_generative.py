# %%
"""Lesson 1: discriminative vs generative models.

Is an email spam, given its words? Two ways to answer:

- a **discriminative** model learns p(y | x) directly: logistic regression,
  p(spam | x) = sigma(w . x + b), trained by gradient descent;
- a **generative** model learns p(x | y) and p(y): naive Bayes, "each word of a spam email is
  drawn from the spam word distribution". It classifies through Bayes' rule,
  p(y | x) = p(x | y) p(y) / p(x), and it can also *sample new emails*, which the
  discriminative model cannot: it never learned what an email looks like.

We measure both on emails drawn from a known word model, as the training set grows.

Run: python lessons/01_discriminative_vs_generative.py [--fast] [--out DIR] [--seed N]
"""

# %%
import numpy as np

import tinygan
import tinygan.functional as F
from tinygan import optim
from tinygan.lesson import Lesson

lesson = Lesson("01_discriminative_vs_generative", "discriminative p(y|x) vs generative p(x|y)")
rng = tinygan.manual_seed(lesson.seed)

# %% [markdown]
# ## 1. The data: emails as word counts
#
# The true p(x | y): an email has 8 words, each drawn independently from its class's word
# distribution. A few words lean spam, a few lean ham, and some are common to both, so even the
# best possible classifier (Bayes' rule with the *true* distributions) makes some mistakes.
# An email x is its vector of word counts.

# %%
lesson.step("1. The data: emails as word counts")
WORDS = ["free", "win", "money", "click", "offer", "now",
         "meeting", "report", "lunch", "project", "thanks", "hello"]
P_WORD = {  # p(word | class), the truth our models try to learn
    "spam": np.array([8, 6, 6, 5, 5, 6, 2, 2, 3, 2, 3, 5], dtype=np.float64),
    "ham": np.array([2, 2, 3, 2, 2, 5, 6, 5, 5, 6, 6, 5], dtype=np.float64),
}
P_WORD = {k: v / v.sum() for k, v in P_WORD.items()}
LENGTH = 8


def draw_emails(n, spam):
    """n emails of one class, as word counts (n, vocabulary size)."""
    return rng.multinomial(LENGTH, P_WORD["spam" if spam else "ham"], size=n).astype(np.float64)


def draw_balanced(n):
    """n emails, half spam (y = 1), half ham (y = 0), shuffled."""
    x = np.concatenate([draw_emails(n // 2, True), draw_emails(n - n // 2, False)])
    y = np.concatenate([np.ones(n // 2), np.zeros(n - n // 2)])
    order = rng.permutation(n)
    return x[order], y[order]


n_test = 4000 if lesson.fast else 20000
test_x, test_y = draw_balanced(n_test)


def naive_bayes_log_odds(x, log_spam, log_ham, prior_spam=0.5):
    """log p(spam | x) - log p(ham | x) by Bayes' rule (the multinomial coefficient cancels)."""
    return x @ (log_spam - log_ham) + np.log(prior_spam) - np.log(1 - prior_spam)


bayes_accuracy = float(((naive_bayes_log_odds(test_x, np.log(P_WORD["spam"]),
                                              np.log(P_WORD["ham"])) > 0) == test_y).mean())
lesson.show("accuracy of Bayes' rule with the true p(x|y) (the best possible)", bayes_accuracy)

# %% [markdown]
# ## 2. Two models
#
# **Naive Bayes** (generative) estimates p(word | class) by counting words in the training
# emails of that class, with one extra pseudo-count per word (Laplace smoothing) so that an
# unseen word does not get probability 0. Training is counting: no gradient needed.
#
# **Logistic regression** (discriminative) has one weight per word and a bias and minimises the
# binary cross-entropy of sigma(w . x + b) against y by gradient descent (Adam), with a small
# L2 penalty. We fit many training sets at once: one row of w per repeat.

# %%
lesson.step("2. Two models: naive Bayes (counting) and logistic regression (gradient descent)")


def fit_naive_bayes(x, y):
    """log p(word | spam), log p(word | ham), p(spam): counts + 1, normalised."""
    spam_counts = x[y == 1].sum(axis=0) + 1
    ham_counts = x[y == 0].sum(axis=0) + 1
    return (np.log(spam_counts / spam_counts.sum()), np.log(ham_counts / ham_counts.sum()),
            float(y.mean()))


def logistic_loss(w, b, x, y, l2=1e-2):
    """Sum over repeats of: mean BCE of sigma(w . x + b) against y, plus l2 |w|^2.
    w: (R, V), b: (R, 1), x: (R, n, V), y: (R, n)."""
    logits = (x @ w.reshape(w.shape[0], w.shape[1], 1)).reshape(y.shape) + b
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(axis=1)
    return (bce + l2 * (w * w).sum(axis=1)).sum()


def fit_logistic(x, y, steps):
    """Logistic regression on R training sets at once: x (R, n, V), y (R, n)."""
    repeats, _, vocabulary = x.shape
    w = tinygan.zeros(repeats, vocabulary, requires_grad=True)
    b = tinygan.zeros(repeats, 1, requires_grad=True)
    optimizer = optim.Adam([w, b], lr=0.05)
    x, y = tinygan.tensor(x), tinygan.tensor(y)
    for _ in range(steps):
        loss = logistic_loss(w, b, x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return w.data.astype(np.float64), b.data.astype(np.float64)


# %% [markdown]
# ## 3. Is logistic regression's gradient right?
#
# Before trusting gradient descent, check the gradient: `tinygan.gradcheck` compares every
# entry of dL/dw and dL/db from the backward pass with central differences (float64).

# %%
lesson.step("3. Gradient check of the logistic regression loss")
small_x, small_y = draw_balanced(6)
w64 = tinygan.tensor(rng.standard_normal((1, len(WORDS))) * 0.3, dtype=np.float64,
                     requires_grad=True)
b64 = tinygan.tensor([[0.1]], dtype=np.float64, requires_grad=True)
check = tinygan.gradcheck(
    lambda w, b: logistic_loss(w, b, tinygan.tensor(small_x[None], dtype=np.float64),
                               tinygan.tensor(small_y[None], dtype=np.float64)),
    [w64, b64], raise_exception=False)
lesson.check_true("logistic regression: backward pass = central differences", check.passed,
                  detail=f"{check.checked} entries, max abs error {check.max_abs_error:.2g}",
                  why="central differences in float64 with eps = 1e-6 are accurate to ~1e-9")

# %% [markdown]
# ## 4. Accuracy as the training set grows
#
# For each training-set size n we draw many training sets, fit both models on each and measure
# their accuracy on the same large test set. Ng & Jordan (2002) showed that the generative
# model approaches its best accuracy with fewer examples (here its assumption, independent
# words, is even true), while the discriminative one needs more data and may be better in the
# end when the generative assumption is wrong.

# %%
lesson.step("4. Accuracy against training-set size")
sizes = [4, 16, 64, 512] if lesson.fast else [4, 8, 16, 32, 64, 128, 512, 2048]
repeats = 100 if lesson.fast else 200
steps = 200 if lesson.fast else 400
curves = {"naive Bayes": [], "logistic regression": []}
for n in sizes:
    sets = [draw_balanced(n) for _ in range(repeats if n <= 64 else 10)]
    nb = []
    for x, y in sets:
        log_spam, log_ham, prior = fit_naive_bayes(x, y)
        nb.append(((naive_bayes_log_odds(test_x, log_spam, log_ham, prior) > 0) == test_y).mean())
    w, b = fit_logistic(np.stack([x for x, _ in sets]), np.stack([y for _, y in sets]), steps)
    lr = (((test_x @ w.T + b.T) > 0) == test_y[:, None]).mean(axis=0)
    curves["naive Bayes"].append(np.array(nb))
    curves["logistic regression"].append(lr)
    print(f"   n = {n:5d}: naive Bayes {np.mean(nb):.3f}, logistic regression {np.mean(lr):.3f} "
          f"(mean of {len(sets)} training sets)")


def draw_curves(ax):
    for (label, accs), color in zip(curves.items(), ["#7b3fbf", "#1f5fbf"]):
        means = np.array([a.mean() for a in accs])
        errors = np.array([a.std() / np.sqrt(len(a)) for a in accs])
        ax.errorbar(sizes, means, yerr=errors, marker="o", color=color, label=label, capsize=3)
    ax.axhline(bayes_accuracy, color="black", ls=":", label="Bayes' rule with the truth")
    ax.set_xscale("log")
    ax.set_xlabel("training emails n")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)


lesson.figure("accuracy_vs_n.png", draw_curves, size=5,
              title="generative vs discriminative")

small = sizes.index(16)
nb_small, lr_small = curves["naive Bayes"][small], curves["logistic regression"][small]
gap = float(nb_small.mean() - lr_small.mean())
gap_se = float(np.sqrt(nb_small.var() / repeats + lr_small.var() / repeats))
lesson.check(f"with n = {sizes[small]} emails naive Bayes beats logistic regression (accuracy gap)",
             gap, at_least=0.0,
             why=f"Ng & Jordan: the generative model learns faster; averaged over {repeats} "
                 f"training sets the gap's standard error is {gap_se:.3f}")
for label, tol in [("naive Bayes", 0.01), ("logistic regression", 0.02)]:
    lesson.check(f"with n = {sizes[-1]} emails {label} is close to the best possible accuracy",
                 curves[label][-1].mean(), expected=bayes_accuracy, tol=tol,
                 why=f"both models can express Bayes' rule here; {n_test} test emails leave "
                     f"~{np.sqrt(0.25 / n_test):.3f} of noise, logistic regression's "
                     f"L2 penalty and fixed step count cost a little more")

# %% [markdown]
# ## 5. Only the generative model can write an email
#
# Naive Bayes holds a full model of p(x | spam): to write a new spam email, draw 8 words from
# the learned word distribution. Logistic regression holds only a direction w in word space
# that separates the classes; nothing in it says how likely an email is.
#
# Are the samples any good? Two measured answers: their word frequencies match the true
# p(word | spam), and logistic regression, trained separately on real emails, calls them spam
# as often as it calls real spam spam. A classifier judging generated samples: that is the
# discriminator of a GAN, in lesson 3 and after.

# %%
lesson.step("5. Sampling new emails from the generative model")
train_x, train_y = draw_balanced(sizes[-1])
log_spam, log_ham, _ = fit_naive_bayes(train_x, train_y)
n_samples = 5000
new_spam = rng.multinomial(LENGTH, np.exp(log_spam), size=n_samples).astype(np.float64)
for counts in new_spam[:3]:
    words = [WORDS[i] for i in np.repeat(np.arange(len(WORDS)), counts.astype(int))]
    print("   a new spam email: " + " ".join(rng.permutation(words)))

frequencies = new_spam.sum(axis=0) / new_spam.sum()
total_variation = 0.5 * float(np.abs(frequencies - P_WORD["spam"]).sum())
lesson.check("word frequencies of the sampled spam vs the true p(word | spam): total variation",
             total_variation, at_most=0.05 if lesson.fast else 0.03,
             why=f"naive Bayes fitted on {sizes[-1]} emails, plus sampling noise of "
                 f"{n_samples * LENGTH} sampled words (about 0.01-0.02)")

w, b = fit_logistic(train_x[None], train_y[None], steps)
judged_spam = float(((new_spam @ w.T + b.T) > 0).mean())
real_spam = test_x[test_y == 1]
judged_real = float(((real_spam @ w.T + b.T) > 0).mean())
lesson.show("logistic regression calls real spam spam", judged_real)
lesson.check("logistic regression calls the *sampled* spam spam as often as real spam",
             judged_spam, expected=judged_real, tol=0.03,
             why=f"if the samples followed the true p(x | spam) both rates would be equal; "
                 f"{n_samples} samples and {len(real_spam)} test emails leave ~0.01 of noise, "
                 f"naive Bayes' estimate from {sizes[-1]} emails up to ~0.02 more")


def draw_words(ax):
    at = np.arange(len(WORDS))
    ax.bar(at - 0.3, P_WORD["spam"], width=0.3, color="black", label="true p(word | spam)")
    ax.bar(at, np.exp(log_spam), width=0.3, color="#7b3fbf", label="naive Bayes' estimate")
    ax.bar(at + 0.3, frequencies, width=0.3, color="#2a9d4b", label="in sampled emails")
    ax.set_xticks(at, WORDS, rotation=60)
    ax.set_ylabel("probability")
    ax.legend(fontsize=8)


lesson.figure("spam_words.png", draw_words, size=5, title="what the generative model learned")

# %%
failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
