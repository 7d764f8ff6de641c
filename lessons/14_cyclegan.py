"""Lesson 14: CycleGAN, unpaired image-to-image translation.

A GAN turns noise z into an image; CycleGAN (Zhu, Park, Isola & Efros 2017) turns an image of one
domain A into an image of another domain B, learning from examples of A and of B that are *not*
paired: no b is given as "the translation of" any a. Two translators, G: A -> B and F: B -> A,
each play a GAN against a discriminator of their target domain (D_B judges G(a), D_A judges
F(b)), and the cycle-consistency loss asks that going there and back returns the start,
F(G(a)) ~ a and G(F(b)) ~ b. Here A is thin MNIST digits and B thick ones (a heavier pen), the
two domains of ``tinygan.datasets.domain_pair("mnist:thick")``. We write the objective out and
check it against the library's update (``tinygan.gan.cycle_step``), train G and F, show the
translations both ways, and then measure what the cycle loss adds: the same training with
lambda = 0 instead of 10, compared on the digit kept after translation (read by the project's
classifier) and on the cycle error.

The runs are short (a few hundred steps of a small model, about a minute each on one core);
``tinygan train --data mnist:thick --model cyclegan`` and ``benchmarks/eval_cyclegan.py`` run
longer ones.

Needs MNIST on disk (``TINYGAN_DATA_DIR``, or the user cache); without it the lesson says how to
get it and exits with code 77 (skipped).

Run: ``python lessons/14_cyclegan.py`` (``--fast`` for the short version).
"""

# %%
import numpy as np

import tinygan
from tinygan import gan, models, plot
from tinygan.datasets import BatchIterator
from tinygan.datasets.domains import change_images
from tinygan.lesson import Lesson
from tinygan.metrics import quality
from tinygan.optim import Adam

lesson = Lesson("14_cyclegan", "CycleGAN: unpaired translation, and what the cycle loss adds")
FAST = lesson.fast
B = 4 if FAST else 8  # base_channels of G, F (ResNet translators) and D_A, D_B (PatchGANs)
BLOCKS = 1 if FAST else 2  # residual blocks in each translator
BATCH = 8 if FAST else 16  # one batch of a's and one of b's per step (the paper: 1)
LR = 2e-3 if FAST else 2e-4  # Adam, beta1 = 0.5, for both pairs: the paper's 2e-4 (step 4)
STEPS = 40 if FAST else 400  # steps of each run (lambda = 10, then lambda = 0)
SUBSET = 512 if FAST else 4000  # training images: SUBSET / 2 in each domain
TEST = 200 if FAST else 1000  # test images per domain for the measurements
LAMBDA = gan.CYCLE_WEIGHT  # 10, Zhu et al.'s weight of the cycle loss

# %% [markdown]
# ## 1. Two domains, no pairs
# Domain A: the first half of the MNIST training images as they are. Domain B: the *second* half,
# each drawn with a heavier pen (every pixel the maximum of its 3 x 3 neighbourhood). So the
# training data hold thin digits and thick digits, but never the thin and the thick version of
# the same image: there is nothing to fit G(a) = b to, only two piles of images. The labels are
# kept aside, for measuring only.

# %%
lesson.step(f"1. Domains A (thin) and B (thick): {SUBSET // 2} training images each, unpaired")
train_images, train_labels = lesson.image_data("mnist", "train")
test_images, test_labels = lesson.image_data("mnist", "test")
classifier, _ = lesson.quality_classifier("mnist")


def classify(images):
    """The class the project's classifier (a small CNN trained on real MNIST) reads in images."""
    log_probs, _ = quality.predict(classifier, np.clip(images, -1, 1).astype(np.float32))
    return log_probs.argmax(axis=1)


def ink(images):
    """The fraction of pixels that are ink (> 0 in [-1, 1]): a thick digit has more."""
    return float((images > 0).mean())


half = SUBSET // 2
train_a = train_images[:half]  # A: thin
train_b = change_images(train_images[half:SUBSET], "thick")  # B: other images, thickened
test_a, labels_a = test_images[:TEST], test_labels[:TEST]  # the test set, split the same way
test_b = change_images(test_images[TEST:2 * TEST], "thick")
labels_b = test_labels[TEST:2 * TEST]
lesson.show("ink: A, B", f"{ink(train_a):.3f}, {ink(train_b):.3f} of the pixels")
fig, axes = plot.new_figure(ncols=2, size=3.5)
plot.image_grid(axes[0], train_a[:36], nrow=6, title="domain A (thin)")
plot.image_grid(axes[1], train_b[:36], nrow=6, title="domain B (thick), other digits")
print("   figure:", plot.save(fig, lesson.path("domains.png")))
read_a = float((classify(test_a) == labels_a).mean())
read_b = float((classify(test_b) == labels_b).mean())
lesson.show("classifier accuracy on A's and B's test images", f"{read_a:.3f}, {read_b:.3f}")
lesson.check("the classifier reads thick digits about as well as thin ones (accuracy on B / "
             "accuracy on A)", read_b / read_a, at_least=0.9,
             why="it was trained on thin digits only, but a thick 3 is still a 3: so 'is the "
                 "digit kept?' can be asked of a translation into B")
lesson.check("ink of B / ink of A", ink(train_b) / ink(train_a), at_least=1.5,
             why="a 3 x 3 dilation widens a stroke of width w to w + 2: for MNIST's 2-3 pixel "
                 "strokes, close to twice the ink; the measure of 'looks like B' in step 5")

# %% [markdown]
# ## 2. The players
# `models.cyclegan` builds four networks (see `tinygan/models/cyclegan.py`):
#
# - G: A -> B and F: B -> A, the same "ResNet" translator: down-sample 28 -> 7 with strided
#   convolutions, a few residual blocks, up-sample back with transposed convolutions, tanh.
#   Image in, image of the same shape out; no z: the randomness is in which a comes in;
# - D_B (judges "a real b, or a G(a)?") and D_A (a real a, or an F(b)?): PatchGANs, whose output
#   is not one number but a 7 x 7 grid of scores, one per 18 x 18 patch: every region of G(a)
#   must look like a region of some b.
#
# Scores, not probabilities: CycleGAN uses the least-squares GAN loss (step 3).

# %%
lesson.step(f"2. G, F (translators) and D_A, D_B (PatchGANs), base_channels {B}")
tinygan.manual_seed(lesson.seed)
G, F, D_A, D_B = models.cyclegan(28, 1, base_channels=B, blocks=BLOCKS)
print(G)
print(D_B)
a, b = tinygan.Tensor(train_a[:BATCH]), tinygan.Tensor(train_b[:BATCH])
with tinygan.no_grad():
    shapes = (tuple(G(a).shape), tuple(F(b).shape), tuple(D_B(b).shape), tuple(D_A(a).shape))
lesson.check_true("G(a), F(b) are images like their inputs; D_B(b), D_A(a) a 7 x 7 grid each",
                  shapes == ((BATCH, 1, 28, 28),) * 2 + ((BATCH, 1, 7, 7),) * 2,
                  detail=str(shapes), why="translators keep the shape; a PatchGAN down-samples "
                                          "28 -> 14 -> 7 and scores each position")

# %% [markdown]
# ## 3. The objective, in the lecture's notation
# With the least-squares adversarial loss (Mao et al. 2017),
#
#     L_GAN(G, D_B) = E_b[(D_B(b) - 1)^2] + E_a[D_B(G(a))^2]         (D_B: real -> 1, fake -> 0)
#     L_GAN(F, D_A) = the same with F, D_A and the roles of a and b swapped
#     L_cyc(G, F)   = E_a ||F(G(a)) - a||_1 + E_b ||G(F(b)) - b||_1   (means over pixels)
#     L(G, F, D_A, D_B) = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc(G, F),   lambda = 10
#
# G and F minimise L, the D's maximise it. In practice (as in the plain GAN) each player has its
# own loss: G and F minimise (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2 + lambda L_cyc, each D
# minimises 1/2 (D(real) - 1)^2 + 1/2 D(fake)^2. `gan.cycle_step` takes one step of each; we
# compute its generator loss by hand and compare. And a sanity check of L_cyc: the pair
# G = F = identity returns every image exactly, so its cycle loss is 0 (a pair that keeps
# everything; step 5 shows why the GAN terms forbid it).

# %%
lesson.step("3. The generators' loss by hand against gan.cycle_step")
with tinygan.no_grad():  # before the step: the networks cycle_step will see
    fake_b, fake_a = G(a), F(b)
    adversarial = ((D_B(fake_b).data - 1) ** 2).mean() + ((D_A(fake_a).data - 1) ** 2).mean()
    cycle = (np.abs(F(fake_b).data - a.data).mean() + np.abs(G(fake_a).data - b.data).mean())
opt_G = Adam(list(G.parameters()) + list(F.parameters()), lr=LR, betas=(0.5, 0.999))
opt_D = Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=LR, betas=(0.5, 0.999))
stats = gan.cycle_step(G, F, D_A, D_B, opt_G, opt_D, a, b, cycle_weight=LAMBDA)
print(f"   by hand: adversarial {adversarial:.5f}, L_cyc {cycle:.5f}, total "
      f"{adversarial + LAMBDA * cycle:.5f}")
print(f"   cycle_step: adversarial {stats.adversarial:.5f}, L_cyc {stats.cycle:.5f}, total "
      f"{stats.g_loss:.5f}")
lesson.check("|G and F's loss by hand - cycle_step's|",
             abs(adversarial + LAMBDA * cycle - stats.g_loss), at_most=1e-4,
             why="the same formula on the same batch (instance norm has no running statistics: "
                 "no-grad and training mode compute the same); float32 rounding of sums ~1e-6")


def identity(x):
    return x


lesson.check("L_cyc of the pair G = F = identity", gan.cycle_consistency_loss(
    identity, identity, train_a[:64], train_b[:64]).item(), expected=0.0, tol=0.0,
             why="F(G(a)) = a exactly: the cycle loss alone is satisfied by doing nothing")

# %% [markdown]
# ## 4. Training, lambda = 10
# Each step draws one batch of a's and one *unrelated* batch of b's, then `cycle_step` moves G
# and F together (one Adam over both), then D_A and D_B, with the paper's Adam (lr 2e-4,
# beta1 = 0.5). A faster lr does not make up for the short run: measured with 400 steps (seed 0,
# 500 test images), lr 5e-4 kept a's digit in 25% of the G(a) against 72% with 2e-4, although
# its cycle error was as low. (`--fast` trains 40 steps at 2e-3: the start of the game only.)
#
# The translation grids show, for test images the networks never saw, the three rows
# x, G(x), F(G(x)) for x in A and x, F(x), G(F(x)) for x in B.

# %%
lesson.step(f"4. Train with lambda = {LAMBDA:g}: {STEPS} steps of {BATCH} a's and {BATCH} b's")


def train(cycle_weight):
    """G, F (and the history of their losses) after STEPS cycle_steps from the same start."""
    tinygan.manual_seed(lesson.seed)
    G, F, D_A, D_B = models.cyclegan(28, 1, base_channels=B, blocks=BLOCKS)
    opt_G = Adam(list(G.parameters()) + list(F.parameters()), lr=LR, betas=(0.5, 0.999))
    opt_D = Adam(list(D_A.parameters()) + list(D_B.parameters()), lr=LR, betas=(0.5, 0.999))
    batches_a = BatchIterator(train_a, batch_size=BATCH)
    batches_b = BatchIterator(train_b, batch_size=BATCH)  # shuffled on their own: no pairs
    history = {"step": []}
    for step in range(1, STEPS + 1):
        stats = gan.cycle_step(G, F, D_A, D_B, opt_G, opt_D, next(batches_a), next(batches_b),
                               cycle_weight=cycle_weight).as_dict()
        history["step"].append(step)
        for key, value in stats.items():
            history.setdefault(key, []).append(value)
    return G, F, history


def translate(net, images):
    """net(images) as an array (no graph), in batches of 250."""
    return np.concatenate([gan.sample_generator(net, images[i:i + 250])
                           for i in range(0, len(images), 250)])


def grids(name, G, F, cycle_weight):
    """The translation grids of step 4: rows x, there(x), back(there(x)) for 8 test images."""
    fig, axes = plot.new_figure(ncols=2, size=4)
    for ax, x, there, back, label in ((axes[0], test_a[:8], G, F, "a, G(a), F(G(a))"),
                                      (axes[1], test_b[:8], F, G, "b, F(b), G(F(b))")):
        moved = translate(there, x)
        plot.image_grid(ax, np.concatenate([x, moved, translate(back, moved)]), nrow=8,
                        title=f"lambda = {cycle_weight:g}, rows: {label}")
    print("   figure:", plot.save(fig, lesson.path(name)))


def measure(G, F):
    """Class kept both ways, cycle errors, and the ink of G(a) and F(b), on the test images."""
    fake_b, fake_a = translate(G, test_a), translate(F, test_b)
    return {"kept A->B": float((classify(fake_b) == labels_a).mean()),
            "kept B->A": float((classify(fake_a) == labels_b).mean()),
            "|F(G(a)) - a|": float(np.abs(translate(F, fake_b) - test_a).mean()),
            "|G(F(b)) - b|": float(np.abs(translate(G, fake_a) - test_b).mean()),
            "ink G(a)": ink(fake_b), "ink F(b)": ink(fake_a)}


G, F, history = train(LAMBDA)
grids("translation_lambda10.png", G, F, LAMBDA)
print("   figure:", plot.curves_figure(lesson.path("history_lambda10.png"), history, [
    ("G and F", [("adversarial", "adversarial (LSGAN)"), ("cycle", "L_cyc")]),
    ("D_A and D_B", [("d_a_loss", "D_A loss"), ("d_b_loss", "D_B loss")]),
    ("D's scores", [("d_real", "real"), ("d_fake", "translated")])]))
with_cycle = measure(G, F)
lesson.show("lambda = 10", ", ".join(f"{k} {v:.3f}" for k, v in with_cycle.items()))
lesson.check("L_cyc over the last 10% of the steps / over the first 10%",
             np.mean(history["cycle"][-STEPS // 10:]) / np.mean(history["cycle"][:STEPS // 10]),
             at_most=0.5, why="the term with weight 10 dominates G and F's loss and falls first")

# %% [markdown]
# ## 5. What the cycle loss adds: lambda = 0
# With lambda = 0 the objective is two unrelated GANs: G only has to make images D_B takes for
# thick digits, F images D_A takes for thin ones. Nothing asks G(a) to be *a's* digit, thick:
# any thick digit will do, and F is free to undo G differently or not at all. Same seed, same
# batches, only lambda differs. We measure on the test images:
#
# - class kept A -> B: the fraction of a's whose G(a) the classifier reads as a's digit (its
#   accuracy on real thick digits, step 1, is the ceiling; 10% is chance); B -> A the same for
#   F(b);
# - the cycle errors mean |F(G(a)) - a| and |G(F(b)) - b| (pixels in [-1, 1]);
# - the ink of G(a) and F(b): has anything been translated? (Doing nothing would keep every
#   digit and have cycle error 0; the adversarial terms are what make G thicken.)
#
# Measured in full mode (400 steps, 1000 test images per domain), seeds 0 and 1: with
# lambda = 10 the digit was kept in 73% and 84% of the G(a), 65% and 69% of the F(b); with
# lambda = 0 in 4% and 11%, 10% and 10%: chance. The cycle error fell from 0.34-0.50 to
# 0.08-0.13. The lambda = 0 grids show why: on both seeds G and F had collapsed onto almost
# one image each, whatever they were given (lesson 9's mode collapse): a single convincing
# thick digit satisfies D_B for a while, and only the cycle loss asks G for a different output
# per input. Longer training makes both runs better, and not equally: with 1200 steps
# (`benchmarks/eval_cyclegan.py --steps 1200`, the project README's table) lambda = 10 kept
# 95.7% / 98.5%, lambda = 0 84.3% / 9.4%. Thickening is a local change that G's convolutions
# can make to a's own strokes, so even without the cycle loss G drifts towards keeping the
# digit; F, thinning, collapses onto a few outputs. The short runs here show the gap at its
# widest, before that drift.

# %%
lesson.step("5. The same training with lambda = 0, and the two compared")
G0, F0, history0 = train(0.0)
grids("translation_lambda0.png", G0, F0, 0.0)
without = measure(G0, F0)
lesson.show("lambda = 0", ", ".join(f"{k} {v:.3f}" for k, v in without.items()))
print(f"\n   {'':16s}{'lambda = 10':>12s}{'lambda = 0':>12s}")
for key in with_cycle:
    print(f"   {key:16s}{with_cycle[key]:12.3f}{without[key]:12.3f}")
print(f"   (classifier on real B: {read_b:.3f}; ink of real A: {ink(test_a):.3f}, "
      f"of real B: {ink(test_b):.3f}; chance: 0.100)")
fig, axes = plot.new_figure(ncols=2, size=3.5)
runs = ("lambda = 10", "lambda = 0")
for ax, keys, title in ((axes[0], ("kept A->B", "kept B->A"), "class kept"),
                        (axes[1], ("|F(G(a)) - a|", "|G(F(b)) - b|"), "cycle error")):
    for i, key in enumerate(keys):
        ax.bar(np.arange(2) + 0.4 * i, [with_cycle[key], without[key]], width=0.4, label=key)
    ax.set_xticks(np.arange(2) + 0.2, runs)
    ax.set_title(title)
    ax.legend()
axes[0].axhline(0.1, color="grey", linestyle=":")
print("   figure:", plot.save(fig, lesson.path("lambda_compared.png")))

error_ratio = ((with_cycle["|F(G(a)) - a|"] + with_cycle["|G(F(b)) - b|"])
               / (without["|F(G(a)) - a|"] + without["|G(F(b)) - b|"]))
lesson.check("cycle error with lambda = 10 / with lambda = 0", error_ratio,
             at_most=0.85 if FAST else 0.5,
             why="lambda = 10 trains F(G(a)) ~ a directly; with lambda = 0 nothing does"
                 + (" (--fast, 40 steps: a first drop; 0.70 and 0.45 measured, seeds 0 and 1)"
                    if FAST else ""))
if not FAST:  # 40 steps do not yet draw digits the classifier can read, with or without
    worse = min(with_cycle["kept A->B"], with_cycle["kept B->A"])
    lesson.check("class kept with lambda = 10, the worse of the two directions", worse,
                 at_least=0.4, why="far above chance (0.1): G(a) is mostly a's digit")
    lesson.check("class kept: lambda = 10 minus lambda = 0, the smaller of the two directions",
                 min(with_cycle[k] - without[k] for k in ("kept A->B", "kept B->A")),
                 at_least=0.25, why="without the cycle loss G draws *some* thick digit, F some "
                                    "thin one, not the one they were given")
    way = (ink(test_b) - ink(test_a))  # the ink a translation must add (A -> B) or remove
    lesson.check("translated, not copied: ink of G(a), F(b) as a fraction of the way, the smaller",
                 min((with_cycle["ink G(a)"] - ink(test_a)) / way,
                     (ink(test_b) - with_cycle["ink F(b)"]) / way), at_least=0.4,
                 why="D_B rejects thin strokes and D_A thick ones; the pair G = F = identity, "
                     "with cycle loss 0 and every digit kept, would score 0 here")

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
