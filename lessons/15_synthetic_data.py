"""Lesson 15: GANs as synthetic training data.

A conditional generator G(z, y) draws an image of the class y it is asked for. That is a labelled
data set for free: ask for 400 images of each digit and the labels are known, because we chose
them. Can a classifier trained *only* on such images recognise real digits? We train a small
digit classifier on synthetic images alone and test it on the real MNIST test set, beside the
same classifier trained on as many real images. The difference is the gap between p_g and
p_data, seen by a downstream task: whatever G gets wrong (malformed digits, missing styles, a
class drawn badly), the classifier learns wrong. Then we mix a little real data into the
synthetic set and measure how much of the gap closes.

Needs MNIST on disk (``TINYGAN_DATA_DIR``, or the user cache); without it the lesson says how to
get it and exits with code 77 (skipped).

Run: ``python lessons/15_synthetic_data.py`` (``--fast`` for the short version).
"""

# %%
import numpy as np

import tinygan
from tinygan import gan, models, plot
from tinygan.datasets import BatchIterator
from tinygan.lesson import Lesson
from tinygan.metrics import quality

lesson = Lesson("15_synthetic_data", "A classifier trained on G's samples, tested on real digits")
FAST = lesson.fast
K = 10  # classes
B = 8 if FAST else 16  # the conditional DCGAN's base_channels (lesson 13's recipe)
LATENT = 100
BATCH = 16 if FAST else 32
LR = 2e-3 if FAST else 5e-4
POOL = 512 if FAST else 8000  # the real labelled images everything below may use
GAN_STEPS = 96 if FAST else 1000
M = 500 if FAST else 4000  # images in each training set (synthetic, or real)
MIXED = (200,) if FAST else (50, 200, 1000)  # real images mixed into the synthetic set
CLASSIFIER_STEPS = 50 if FAST else 400  # gradient steps for every classifier, whatever its data
TEST = 1000 if FAST else 10000  # real test images

# %% [markdown]
# ## 1. The real data
# A pool of labelled real training images; the GAN learns from it, and the real-data classifiers
# draw their images from it. The test set is never seen by anyone until the end.

# %%
lesson.step(f"1. MNIST: a pool of {POOL} labelled training images, {TEST} test images")
train_images, train_labels = lesson.image_data("mnist", "train")
test_images, test_labels = lesson.image_data("mnist", "test")
pool_images, pool_labels = train_images[:POOL], train_labels[:POOL]
test_images, test_labels = test_images[:TEST], test_labels[:TEST]
judge, _ = lesson.quality_classifier("mnist")  # the project's classifier, to check G's labels
lesson.show("images per class in the pool", str(np.bincount(pool_labels, minlength=K)))

# %% [markdown]
# ## 2. A conditional DCGAN
# G(z, y) appends a learned embedding of y to z; D(x, y) appends one to x as an extra image
# channel (`models.dcgan(num_classes=10)`, Mirza & Osindero 2014). Each real batch comes with its
# labels, and in Step 1 the fakes are drawn for the same labels, so D judges "is this a real 7?"
# and G must draw the class it is given. The recipe is lesson 13's.

# %%
lesson.step(f"2. Train a conditional DCGAN for {GAN_STEPS} steps")
tinygan.manual_seed(lesson.seed)
G, D = models.dcgan(28, 1, latent_dim=LATENT, base_channels=B, num_classes=K)
opt_G = gan.make_optimizer(G.parameters(), "nonsaturating", lr=LR, betas=(0.5, 0.999))
opt_D = gan.make_optimizer(D.parameters(), "nonsaturating", lr=LR, betas=(0.5, 0.999))
batches = BatchIterator(pool_images, pool_labels, batch_size=BATCH)  # (x, y) batches
fixed = (tinygan.randn(K * 8, LATENT), np.repeat(np.arange(K), 8))  # one row per class
result = gan.fit(G, D, opt_G, opt_D, batches, lambda n: tinygan.randn(n, LATENT), GAN_STEPS,
                 fixed_noise=fixed, sample_every=GAN_STEPS,
                 lr_schedule=gan.linear_decay(GAN_STEPS, start=0.5), progress=False)
print("   figure:", plot.history_figure(lesson.path("gan_history.png"), result.history))

# %% [markdown]
# ## 3. The synthetic data set: M images, labels by construction
# M / 10 images of each class y, G(z, y) with fresh z, drawn in eval mode. Do they show the
# class we asked for? The project's classifier (trained on all real training images) tells us:
# the fraction of the images drawn for class y that it calls y.

# %%
lesson.step(f"3. Draw {M} synthetic images, {M // K} per class")
synthetic_labels = np.repeat(np.arange(K), M // K)
synthetic_images = gan.sample_generator(G, (tinygan.randn(M, LATENT), synthetic_labels))
judged = quality.predict(judge, synthetic_images)[0].argmax(axis=1)
per_class = np.array([(judged[synthetic_labels == k] == k).mean() for k in range(K)])
print("   per class, fraction the project's classifier reads as the class asked for:")
print("   " + "  ".join(f"{k}: {a:.2f}" for k, a in enumerate(per_class)))
real_rows = np.concatenate([pool_images[pool_labels == k][:8] for k in range(K)])
fig, axes = plot.new_figure(ncols=2, size=4.5)
plot.image_grid(axes[0], real_rows, nrow=8, title="real, one row per class")
plot.image_grid(axes[1], synthetic_images[np.argsort(synthetic_labels, kind="stable")]
                .reshape(K, M // K, 1, 28, 28)[:, :8].reshape(-1, 1, 28, 28), nrow=8,
                title="synthetic G(z, y), one row per y")
print("   figure:", plot.save(fig, lesson.path("real_vs_synthetic.png")))
lesson.check("synthetic images read as the class asked for (mean over classes)",
             per_class.mean(), at_least=0.1 if FAST else 0.4,
             why="G draws the class it is given more often than not (0.54 to 0.65 in three full "
                 "runs; some classes far less often than others); chance is 0.1"
                 + (" (--fast, 96 steps: a little above chance; full mode checks more)" if FAST
                    else ""))

# %% [markdown]
# ## 4. Train on synthetic, test on real, beside train on real, test on real
# Two digit classifiers of the same architecture (a small CNN, `quality.Classifier` with fewer
# channels), trained for the same number of gradient steps: one on the M synthetic images, one on
# M real images from the pool. Both are tested on the real test set.

# %%
lesson.step(f"4. Two classifiers: {M} synthetic images vs {M} real images")


def classifier_trained_on(images, labels):
    """A small CNN trained with cross-entropy for CLASSIFIER_STEPS steps of batch <= 64
    (Adam, lr 1e-3 falling to 1e-4 over the epochs), whatever the number of images."""
    batch = min(64, len(images))
    epochs = max(1, round(CLASSIFIER_STEPS / (len(images) // batch)))
    model = quality.Classifier(widths=(8, 16), features=64)
    return quality.train_classifier(images, labels, epochs, batch_size=batch,
                                    decay=0.1 ** (1 / epochs), model=model, progress=False)


def test_accuracy(images, labels):
    """Accuracy on the real test set of a classifier trained on (images, labels)."""
    tinygan.manual_seed(lesson.seed)  # every classifier starts from the same weights
    return quality.accuracy(classifier_trained_on(images, labels), test_images, test_labels)


acc_synthetic = test_accuracy(synthetic_images, synthetic_labels)
acc_real = test_accuracy(pool_images[:M], pool_labels[:M])
gap = acc_real - acc_synthetic
lesson.show(f"trained on {M} synthetic, accuracy on real test digits", acc_synthetic)
lesson.show(f"trained on {M} real, accuracy on real test digits", acc_real)
lesson.show("the gap", gap)
lesson.check("trained on synthetic data only: accuracy on real digits", acc_synthetic,
             at_least=0.1 if FAST else 0.5,
             why="G's samples carry the shape of each digit well enough to learn from (0.73 and "
                 "0.62 in two full runs that differed only in the kernels' float rounding: a GAN's "
                 "outcome is that sensitive); chance "
                 "is 0.1" + (" (--fast: a 96-step G is not there yet; full mode checks it)"
                             if FAST else ""))
lesson.check("the gap: real-trained minus synthetic-trained accuracy", gap, at_least=0.01,
             why="the classifier learns p_g, not p_data: whatever G draws wrong or never draws "
                 "costs accuracy on real digits")

# %% [markdown]
# ## 5. Mixing in a little real data
# The synthetic set plus n real images (n small against M; the first n of the pool), against the
# n real images alone. The first tells how much of the gap a little real data closes; the
# second whether the synthetic images still help when there is that little real data.
#
# Both answers depend on how close p_g is to p_data. With very few real images the synthetic
# set is worth something: in our full runs, 4000 of G's samples alone did about as well as 50
# real images (0.62 to 0.73 against 0.69), and adding them to the 50 changed the accuracy by
# +0.07 in one run and -0.004 in another. With more real images the real data alone does
# better, and the synthetic set costs the more, the more real data there is: a G this
# short-trained draws many digits wrong (step 3), and each wrong sample teaches the classifier
# p_g, not p_data. Synthetic data is only as good as the generator; a classifier trained on it
# measures G's shortcomings (the idea behind
# "train on synthetic, test on real" as a GAN metric).

# %%
lesson.step(f"5. {M} synthetic images plus n real ones, n in {MIXED}")
rows = []
for n in MIXED:
    mixed = test_accuracy(np.concatenate([synthetic_images, pool_images[:n]]),
                          np.concatenate([synthetic_labels, pool_labels[:n]]))
    alone = test_accuracy(pool_images[:n], pool_labels[:n])
    rows.append((n, mixed, alone))
print(f"   {'real images n':>14s}{'synthetic + n real':>20s}{'n real alone':>14s}"
      f"{'gap closed':>12s}")
print(f"   {0:14d}{acc_synthetic:20.3f}{'':>14s}{0:12.0%}")
for n, mixed, alone in rows:
    print(f"   {n:14d}{mixed:20.3f}{alone:14.3f}{(mixed - acc_synthetic) / gap:12.0%}")
print(f"   {'(M real)':>14s}{acc_real:20.3f}")


def draw(ax):
    ns = [n for n, _, _ in rows]
    ax.plot([0] + ns, [acc_synthetic] + [m for _, m, _ in rows], "o-",
            color=plot.FAKE_COLOR, label=f"{M} synthetic + n real")
    ax.plot(ns, [a for _, _, a in rows], "s--", color="grey", label="n real alone")
    ax.axhline(acc_real, color=plot.REAL_COLOR, label=f"{M} real")
    ax.set_xscale("symlog", linthresh=50)
    ax.set_xticks([0] + ns, [str(n) for n in [0] + ns])
    ax.minorticks_off()
    ax.set_xlabel("real training images n (symmetric log scale)")
    ax.set_ylabel("accuracy on the real test set")
    ax.legend(fontsize=8)


lesson.figure("accuracy_vs_real_images.png", draw, size=4.5,
              title="train on G's samples, test on real digits")
n_last, mixed_last, alone_last = rows[-1]
lesson.check(f"gap closed by mixing in {n_last} real images (fraction)",
             (mixed_last - acc_synthetic) / gap, at_least=0.3,
             why=f"{n_last} real images ({n_last / M:.0%} of M) show the classifier what G gets "
                 "wrong")
if FAST:
    print("   (--fast: synthetic + n real against n real alone is checked in full mode only)")
else:
    n_few, mixed_few, alone_few = rows[0]
    lesson.check(f"with {n_last} real images: accuracy with the synthetic set minus without "
                 "(full mode only)", mixed_last - alone_last, at_most=0.0,
                 why="with enough real images, a G this far from p_data pulls the classifier "
                     "towards p_g (-0.06 measured in two full runs)")
    lesson.check(f"what the synthetic set adds with {n_few} real images minus what it adds with "
                 f"{n_last} (full mode only)", (mixed_few - alone_few) - (mixed_last - alone_last),
                 at_least=0.03,
                 why="the less real data, the more G's samples are worth: +0.07 and -0.004 with 50 "
                     "real images in two full runs, -0.06 with 1000 in both")

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
