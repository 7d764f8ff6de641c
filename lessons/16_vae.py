"""Lesson 16: the other family: the variational autoencoder.

A GAN is an *implicit* model: G(z) draws samples, but nothing in it says how likely an image x
is, and it learns from D's verdicts, not from a formula for p_g. The variational autoencoder
(Kingma & Welling 2014) is an *explicit* model: a decoder defines p(x|z) for every image, a
prior p(z) = N(0, I) completes p(x) = E_{p(z)}[p(x|z)], and training maximises a lower bound on
log p(x) of the training images, the evidence lower bound

    log p(x) >= ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || N(0, I)),

with an encoder q(z|x) = N(mu(x), diag sigma(x)^2) proposing the codes z that could have made x.
This lesson checks the two pieces of mathematics that make it trainable (the reparameterisation
z = mu + sigma * eps, through which the gradient flows, and the closed-form KL), trains the VAE
of ``tinygan.models.VAE`` on MNIST, shows what it reconstructs and what it samples beside a
DCGAN's samples, scores both with the same classifier, and measures why the VAE's samples are
blurred: its decoder outputs the *average* of the images that its codes cannot tell apart.

Needs MNIST on disk (``TINYGAN_DATA_DIR``, or the user cache); without it the lesson says how to
get it and exits with code 77 (skipped).

Run: ``python lessons/16_vae.py`` (``--fast`` for the short version).
"""

# %%
import numpy as np

import tinygan
from tinygan import functional as F
from tinygan import gan, models, optim, plot
from tinygan.datasets import BatchIterator
from tinygan.lesson import Lesson
from tinygan.metrics import quality
from tinygan.models.vae import reparameterize

lesson = Lesson("16_vae", "The variational autoencoder: an explicit likelihood bound vs a GAN")
FAST = lesson.fast
SUBSET = 512 if FAST else 4000  # training images, for both models
LATENT = 16  # the VAE's code z ~ N(0, I_16) (the command line's default)
VAE_B = 16 if FAST else 32  # the VAE's base_channels (the command line's default)
VAE_BATCH = 32 if FAST else 64
VAE_STEPS = 128 if FAST else 1000  # 16 epochs of 4000 images in full mode
GAN_B = 8 if FAST else 16  # lesson 13's DCGAN recipe, shorter
GAN_LATENT = 100
GAN_BATCH = 16 if FAST else 32
GAN_LR = 2e-3 if FAST else 5e-4
GAN_STEPS = 96 if FAST else 1000  # lesson 13: 1000 (full), 96 (fast)
SCORED = 256 if FAST else 1000  # images per quality measurement

# %% [markdown]
# ## 1. The data
# MNIST digits scaled to [-1, 1]. The VAE reads pixel i as a Bernoulli target
# t_i = (x_i + 1) / 2 in [0, 1] (most MNIST pixels are 0 or 1, the edges grey).

# %%
lesson.step(f"1. MNIST: {SUBSET} training images")
train_images, _ = lesson.image_data("mnist", "train")
test_images, test_labels = lesson.image_data("mnist", "test")
classifier, record = lesson.quality_classifier("mnist")
images = train_images[:SUBSET]
lesson.show("images", f"{images.shape}, values {images.min():.0f} .. {images.max():.0f}")

# %% [markdown]
# ## 2. The reparameterisation: why the gradient reaches the encoder
# The ELBO's first term is an expectation over z ~ q(z|x), and q depends on the encoder's
# weights through mu and sigma. A z drawn directly from N(mu, sigma^2) is a number with no
# derivative. Written as
#
#     z = mu + sigma * eps,   eps ~ N(0, I),   sigma = exp(log sigma^2 / 2),
#
# the randomness is eps, drawn independently of the weights, and z is a differentiable function
# of (mu, log sigma^2): dz/dmu = 1 and dz/d(log sigma^2) = sigma * eps / 2
# (`tinygan.models.vae.reparameterize`). Three checks:
#
# - a gradient check of `reparameterize` in mu and log sigma^2 (the same eps at every call:
#   the seed is reset inside the function, as eps is a constant of the graph);
# - the *pathwise* gradient is an unbiased estimate of the gradient of the expectation. For
#   f(z) = sum_j z_j^2, E_q[f] = sum_j (mu_j^2 + sigma_j^2), so dE/dmu_j = 2 mu_j and
#   dE/d(log sigma_j^2) = sigma_j^2; the average of backward passes through n samples of z
#   must agree, within its standard error;
# - the KL term in closed form, KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)
#   (`F.gaussian_kl`), against a Monte-Carlo estimate E_q[log q(z|x) - log p(z)] with the same
#   samples.

# %%
lesson.step("2. z = mu + sigma * eps: gradient check, pathwise gradient, the KL")
mu0 = np.array([[0.5, -1.0, 0.0, 2.0]])
logvar0 = np.array([[0.0, -1.0, 0.7, -2.0]])
mu = tinygan.tensor(mu0.copy(), dtype=np.float64, requires_grad=True)
logvar = tinygan.tensor(logvar0.copy(), dtype=np.float64, requires_grad=True)


def reparameterized(mu, logvar):
    tinygan.manual_seed(1234)  # the same eps at every call: eps is a constant of the graph
    return reparameterize(mu, logvar)


result = tinygan.gradcheck(reparameterized, (mu, logvar), raise_exception=False)
lesson.check_true("gradcheck of z = mu + sigma * eps in mu and log sigma^2", result,
                  detail=f"max abs error {result.max_abs_error:.1e}",
                  why="float64 central differences agree to ~1e-8 when the backward is right")
tinygan.manual_seed(lesson.seed)  # the Monte-Carlo samples below differ with --seed

N_MC = 20000 if FAST else 200000
ones = tinygan.tensor(np.ones((N_MC, 1)), dtype=np.float64)
mu.grad, logvar.grad = None, None
z = reparameterize(mu * ones, logvar * ones)  # n samples of z ~ q, one graph
((z * z).sum() * (1.0 / N_MC)).backward()  # the mean of f(z) = sum_j z_j^2 over the samples
sigma2 = np.exp(logvar0)
pathwise = np.concatenate([mu.grad.ravel(), logvar.grad.ravel()])
exact = np.concatenate([2 * mu0.ravel(), sigma2.ravel()])
# Standard errors of the two estimates, per sample: d f/d mu = 2 z, d f/d logvar = z eps sigma
eps = (z.data - mu0) / np.sqrt(sigma2)
per_sample = np.concatenate([2 * z.data, z.data * eps * np.sqrt(sigma2)], axis=1)
stderr = per_sample.std(axis=0) / np.sqrt(N_MC)
print(f"   {'':18s}" + "".join(f"{n:>9s}" for n in ("mu_1", "mu_2", "mu_3", "mu_4", "lv_1",
                                                         "lv_2", "lv_3", "lv_4")))
print(f"   {'exact gradient':18s}" + "".join(f"{v:9.4f}" for v in exact))
print(f"   {'pathwise (mean)':18s}" + "".join(f"{v:9.4f}" for v in pathwise))
print(f"   {'standard error':18s}" + "".join(f"{v:9.4f}" for v in stderr))
lesson.check("pathwise gradient of E_q[sum z^2]: largest |estimate - exact| / standard error",
             np.max(np.abs(pathwise - exact) / stderr), at_most=4.5,
             why=f"an unbiased mean of {N_MC} samples is within 4.5 standard errors of the truth "
                 "for all 8 numbers, except with probability ~5e-5")

kl_closed = F.gaussian_kl(tinygan.tensor(mu0), tinygan.tensor(logvar0)).item()
zs = z.data  # the same n samples of z ~ q
log_q = -0.5 * (((zs - mu0) ** 2 / sigma2) + logvar0 + np.log(2 * np.pi)).sum(axis=1)
log_p = -0.5 * (zs ** 2 + np.log(2 * np.pi)).sum(axis=1)
kl_terms = log_q - log_p
kl_mc, kl_err = kl_terms.mean(), kl_terms.std() / np.sqrt(N_MC)
lesson.show("KL closed form", kl_closed, " nats")
lesson.show("KL Monte Carlo", f"{kl_mc:.4f} +- {kl_err:.4f}", " nats")
lesson.check("|KL Monte Carlo - closed form| / standard error", abs(kl_mc - kl_closed) / kl_err,
             at_most=4.0, why=f"E_q[log q - log p] estimated from {N_MC} samples: within 4 "
                              "standard errors but with probability ~6e-5")

# %% [markdown]
# ## 3. Training the VAE
# `gan.vae_step` does one step of Adam on the negative ELBO of a batch
# (`F.negative_elbo`: the reconstruction term -log p(x|z), a Bernoulli log-likelihood summed
# over the 784 pixels for one z = mu + sigma * eps per image, plus the KL): one backward pass
# reaches the decoder through the logits and the encoder through z and through the KL. There is
# no game: the loss goes down, and it means something, a bound on -log p(x) in nats per image.

# %%
lesson.step(f"3. Train the VAE: {VAE_STEPS} steps of {VAE_BATCH}")
tinygan.manual_seed(lesson.seed)
vae = models.VAE(28, 1, latent_dim=LATENT, base_channels=VAE_B)
optimizer = optim.Adam(vae.parameters(), lr=1e-3)
vae_batches = BatchIterator(images, batch_size=VAE_BATCH)
held_out = test_images[:SCORED]


def negative_elbo(vae, x, seed=0):
    """(mean -ELBO, mean KL) of images x, in nats per image, eval mode, one z per image."""
    tinygan.manual_seed(seed)
    vae.eval()
    with tinygan.no_grad():
        logits, mu, logvar = vae(tinygan.tensor(x))
        loss = F.negative_elbo(logits, tinygan.tensor(x), mu, logvar).item()
        kl = F.gaussian_kl(mu, logvar).item()
    vae.train()
    return loss, kl


before, _ = negative_elbo(vae, held_out)
vae_run = gan.fit_models(lambda: gan.vae_step(vae, optimizer, next(vae_batches)), {"vae": vae},
                         {"vae": optimizer}, VAE_STEPS, gan.VAEStats.__dataclass_fields__,
                         progress=False)
after, kl_after = negative_elbo(vae, held_out)
tinygan.manual_seed(lesson.seed + 1)  # the rest of the lesson's random numbers
print(f"   test -ELBO: {before:.1f} nats per image untrained, {after:.1f} trained "
      f"({after - kl_after:.1f} reconstruction + {kl_after:.1f} KL)")
print("   figure:", plot.curves_figure(lesson.path("vae_history.png"), vae_run.history, [
    ("-ELBO (nats per image)", [("loss", "-ELBO")]),
    ("its two terms", [("reconstruction", "-log p(x|z)"), ("kl", "KL(q(z|x) || p(z))")])]))
lesson.check("test -ELBO trained / untrained", after / before, at_most=0.75 if FAST else 0.3,
             why="an untrained decoder gives every pixel probability ~1/2: 784 log 2 = 543 nats; "
                 "trained, the bound tightens by far"
                 + (" (--fast: 128 steps, 0.36 to 0.40 measured)" if FAST else ""))
lesson.check("KL term of the trained VAE (nats per image)", kl_after, at_least=2.0,
             why="the codes carry information about x: a VAE whose q(z|x) equalled the prior "
                 "(KL 0, 'posterior collapse') would decode every z to the same image")

# %% [markdown]
# An explicit model gives every image a number: -ELBO(x) bounds -log p(x) from above, for a
# digit or for anything else. Shuffle the pixels of each test digit (the same amount of ink, no
# stroke left): the bound says such an image is far less likely, in nats. A GAN's G cannot be
# asked this question (and D, trained against one G, does not answer it).

# %%
shuffled = np.stack([x.ravel()[np.random.default_rng(i).permutation(784)].reshape(x.shape)
                     for i, x in enumerate(held_out)])
shuffled_bound, _ = negative_elbo(vae, shuffled)
lesson.show("-ELBO of the same test digits with their pixels shuffled", shuffled_bound,
            " nats per image")
lesson.check("-ELBO of shuffled-pixel images / -ELBO of the real test digits",
             shuffled_bound / after, at_least=1.3 if FAST else 2.0,
             why="the bound of log p(x) is much lower for images unlike the training data")

# %% [markdown]
# ## 4. Reconstructions, and samples from the prior
# An autoencoder's first test: encode a test image x, decode its code's mean mu(x)
# (`vae.reconstruct`). A GAN has no encoder and cannot do this. Then the generative test: decode
# z ~ N(0, I), the prior, as a GAN's G does with its noise (`vae.decoder(z)`). Beside them, a
# DCGAN trained with lesson 13's recipe (B = 16, 1000 steps of 32, Adam at 5e-4 with beta1 = 0.5)
# on the same 4000 images: about as much CPU time as the VAE's training.

# %%
lesson.step("4. Reconstructions dec(mu(x)), samples dec(z), and a DCGAN's G(z)")


def reconstruct(vae, x):
    """dec(mu(x)) in eval mode (batch norm with its running statistics), as NumPy."""
    vae.eval()
    with tinygan.no_grad():
        out = vae.reconstruct(tinygan.tensor(x)).data
    vae.train()
    return out


recon = reconstruct(vae, held_out)
read_input = quality.predict(classifier, held_out)[0].argmax(axis=1)
read_recon = quality.predict(classifier, recon)[0].argmax(axis=1)
kept = float((read_input == read_recon).mean())
vae_samples_z = tinygan.randn(SCORED, LATENT).data
vae_samples = gan.sample_generator(vae.decoder, vae_samples_z)
pairs = np.stack([held_out[:32].reshape(4, 8, 1, 28, 28),
                  recon[:32].reshape(4, 8, 1, 28, 28)], axis=1).reshape(-1, 1, 28, 28)
lesson.figure("reconstructions.png", lambda ax: plot.image_grid(
    ax, pairs, nrow=8, title="x (odd rows), dec(mu(x)) (even rows)"), size=5)
lesson.check("reconstructions the classifier reads as the input's digit", kept,
             at_least=0.2 if FAST else 0.9,
             why="a 16-number code keeps the digit's identity; chance is 0.1"
                 + (" (--fast: 128 steps, a rough code; 0.34 measured)" if FAST else ""))

tinygan.manual_seed(lesson.seed)
G, D = models.dcgan(28, 1, latent_dim=GAN_LATENT, base_channels=GAN_B)
models.dcgan_init_(G)
models.dcgan_init_(D)
opt_G = gan.make_optimizer(G.parameters(), "nonsaturating", lr=GAN_LR, betas=(0.5, 0.999))
opt_D = gan.make_optimizer(D.parameters(), "nonsaturating", lr=GAN_LR, betas=(0.5, 0.999))
gan_batches = BatchIterator(images, batch_size=GAN_BATCH)
gan_run = gan.fit(G, D, opt_G, opt_D, gan_batches, lambda n: tinygan.randn(n, GAN_LATENT),
                  GAN_STEPS, lr_schedule=gan.linear_decay(GAN_STEPS, start=0.5), progress=False)
tinygan.manual_seed(lesson.seed + 2)
gan_samples = gan.sample_generator(G, tinygan.randn(SCORED, GAN_LATENT))
fig, axes = plot.new_figure(ncols=3, size=3.6)
plot.image_grid(axes[0], held_out[:36], nrow=6, title="real x")
plot.image_grid(axes[1], vae_samples[:36], nrow=6, title=f"VAE dec(z), z ~ N(0, I)\n"
                                                          f"{VAE_STEPS} steps")
plot.image_grid(axes[2], gan_samples[:36], nrow=6, title=f"DCGAN G(z)\n{GAN_STEPS} steps")
print("   figure:", plot.save(fig, lesson.path("vae_vs_dcgan_samples.png")))

# %% [markdown]
# ## 5. The same quality metric for both
# The classifier Inception Score (high when each image is read confidently and the classes are
# used evenly; the real test set's is the ceiling) and the Fréchet distance of the classifier's
# features to the real test set's (real training images give the floor), as in lesson 13.
#
# What to expect (full mode, seeds 0 and 1): the two models' samples get about the same IS
# (4.3 to 4.8), but the DCGAN's FD is less than half the VAE's: its digits are often malformed
# (the IS sees that), the VAE's are blurred, and the blur moves every image's features away from
# the real ones (the FD sees that). The VAE's reconstructions score close to the real ceiling:
# the encoder hands the decoder codes that came from real digits, where samples from the prior
# can fall between the codes of different digits.

# %%
lesson.step(f"5. IS and FD of {SCORED} images each")


def quality_of(samples):
    """(IS, FD) of images by the project's quality classifier (``tinygan.metrics.quality``)."""
    log_probs, features = quality.predict(classifier, samples)
    mean, cov = quality.gaussian_fit(features)
    return (quality.inception_score(log_probs),
            quality.frechet_distance(mean, cov, record["test_mean"], record["test_cov"]))


scores = {"VAE samples dec(z)": quality_of(vae_samples),
          "VAE reconstructions": quality_of(recon),
          "DCGAN samples G(z)": quality_of(gan_samples),
          "real test images (ceiling)": (quality_of(held_out)[0], float("nan")),
          "real train images (floor)": (float("nan"), quality_of(train_images[-SCORED:])[1])}
print(f"   {'':28s}{'IS':>8s}{'FD':>10s}")
for name, (inception, frechet) in scores.items():
    print(f"   {name:28s}{inception:8.2f}{frechet:10.1f}")
vae_is, vae_fd = scores["VAE samples dec(z)"]
recon_is, recon_fd = scores["VAE reconstructions"]
gan_is, gan_fd = scores["DCGAN samples G(z)"]
ceiling = scores["real test images (ceiling)"][0]
if FAST:  # 128 steps: reconstructions and samples are both grey blobs (FD ratio 0.94 measured)
    print("   (--fast: reconstructions against samples is checked in full mode only)")
else:
    lesson.check("FD: VAE reconstructions / VAE samples (full mode only)", recon_fd / vae_fd,
                 at_most=0.8,
                 why="the decoder draws a digit well when the encoder gives it a code that came "
                     "from a real digit; z ~ N(0, I) often falls between the codes")
lesson.check("IS of the VAE's samples, as a fraction of the ceiling", vae_is / ceiling,
             at_most=0.9, why="blurred samples are read less confidently than real digits")
if FAST:
    print("   (--fast: the DCGAN against the VAE is checked in full mode only)")
else:
    lesson.check("FD: DCGAN samples / VAE samples (full mode only)", gan_fd / vae_fd,
                 at_most=0.8,
                 why="the DCGAN's sharp digits are closer to real ones in the classifier's "
                     "features than the VAE's blurred ones, although its IS is no higher")

# %% [markdown]
# ## 6. Why the VAE's samples are blurred
# Look at the pictures: the VAE's digits are soft, their strokes fade out over several grey
# pixels, where real digits and the DCGAN's go from black to white in one or two. The reason is
# the decoder's likelihood. p(x|z) is a product over pixels (Bernoulli here; a Gaussian decoder
# is the same story), so the loss -log p(x|z) is a sum of per-pixel losses, and for a set of
# images x_1 .. x_k that the decoder must serve with one output (their codes are too close for it
# to tell apart), the per-pixel Bernoulli probabilities that minimise the summed cross-entropy
# sum_m -[t_mi log p_i + (1 - t_mi) log (1 - p_i)] are p_i = (1/k) sum_m t_mi, **the average of
# the images** (a Gaussian decoder's squared error ||x - dec(z)||^2 has the same minimiser: the
# mean). Where the digits agree the average is black or white; where they disagree, at the edges
# of the strokes, it is grey. For a decoder free to output anything for each z, the best output
# is E_{q(x|z)}[x], with q(x|z) proportional to q(z|x) p_data(x): the average of the images whose
# codes could be z. A GAN's G is never asked for an average: D tells a blurred digit from a real
# one, so G is pushed to sharp images (and, with no image to reconstruct, it is free to drop the
# digits it finds hard: mode collapse, lesson 9).
#
# Two measurements. First the blur itself, on images in t = (x + 1) / 2: the share of the ink
# (pixels with t > 0.2) that is mid-grey (0.2 < t < 0.8), and the mean of each image's 20
# largest steps between neighbouring pixels (edge sharpness: a real stroke edge is a step of
# about 1). Second, the averaging: for z ~ N(0, I), the mean squared distance of dec(z) to the
# average of the K = 10 training images whose codes mu(x_i) are nearest to z, against its distance
# to the single nearest one; and for test images, whether the reconstruction dec(mu(x)) is
# closer to the average of x's K code-neighbours in the training set than to x itself.
#
# Which images share a z? Not, on this training set, through overlapping q(z|x): with 4000
# images and posteriors sigma ~ 0.2 wide, the weights q(z|x_i) / sum_j q(z|x_j) of one z put
# almost all their mass on one image (printed below as the effective number of images). The
# averaging comes from the decoder itself: a smooth network of limited size cannot give each of
# nearby codes its own sharp image, so it gives them their pixel-wise compromise, the mean.

# %%
lesson.step("6. The blur: measured, and the decoder as an average")


def grey_share(x):
    """Fraction of the ink pixels (t > 0.2, t = (x + 1) / 2) that are mid-grey (t < 0.8)."""
    t = (np.asarray(x) + 1) / 2
    return float(((t > 0.2) & (t < 0.8)).sum() / (t > 0.2).sum())


def edge_sharpness(x, top=20):
    """Mean over images of their ``top`` largest steps |t_a - t_b| between neighbouring pixels."""
    t = (np.asarray(x)[:, 0] + 1) / 2
    steps = np.concatenate([np.abs(np.diff(t, axis=1)).reshape(len(t), -1),
                            np.abs(np.diff(t, axis=2)).reshape(len(t), -1)], axis=1)
    return float(np.sort(steps, axis=1)[:, -top:].mean())


blur = {"real test images": held_out, "VAE samples dec(z)": vae_samples,
        "VAE reconstructions": recon, "DCGAN samples G(z)": gan_samples}
print(f"   {'':24s}{'mid-grey share of ink':>24s}{'edge sharpness':>16s}")
for name, x in blur.items():
    print(f"   {name:24s}{grey_share(x):24.3f}{edge_sharpness(x):16.3f}")
lesson.check("mid-grey share of the ink: VAE samples / real digits",
             grey_share(vae_samples) / grey_share(held_out), at_least=1.3,
             why="the VAE's strokes fade over several grey pixels")
lesson.check("edge sharpness: VAE samples / real digits",
             edge_sharpness(vae_samples) / edge_sharpness(held_out), at_most=0.9,
             why="a blurred edge is a ramp of small steps, not one step of ~1")
lesson.check("edge sharpness: DCGAN samples minus VAE samples",
             edge_sharpness(gan_samples) - edge_sharpness(vae_samples),
             at_least=0.1 if FAST else 0.2,
             why="D penalises blur; G is never asked for an average (0.35 measured on seeds 0 "
                 "and 1 in full mode)")

K_NEAR = 10  # code-space neighbours averaged
ANCHORS = 64 if FAST else 200
vae.eval()
with tinygan.no_grad():
    mu_train, logvar_train = (t.data.astype(np.float64) for t in vae.encoder(
        tinygan.tensor(images)))
    mu_test = vae.encoder(tinygan.tensor(held_out[:ANCHORS]))[0].data.astype(np.float64)
vae.train()
flat = images.reshape(SUBSET, -1).astype(np.float64)


def nearest_codes(z):
    """Indices of the training images, nearest code mu(x_i) to z first, (len(z), SUBSET)."""
    return np.argsort(((z[:, None] - mu_train[None]) ** 2).sum(axis=2), axis=1)


def squared(a, b):
    return float(((np.asarray(a, np.float64) - b) ** 2).mean())


z_anchor = vae_samples_z[:ANCHORS].astype(np.float64)  # the z of the samples above
decoded = vae_samples[:ANCHORS]
order = nearest_codes(z_anchor)
x_mean = flat[order[:, :K_NEAR]].mean(axis=1).reshape(ANCHORS, 1, 28, 28)
x_nearest = images[order[:, 0]]
to_mean, to_nearest = squared(decoded, x_mean), squared(decoded, x_nearest)
order_test = nearest_codes(mu_test)
recon_mean = flat[order_test[:, :K_NEAR]].mean(axis=1).reshape(ANCHORS, 1, 28, 28)
recon_to_mean = squared(recon[:ANCHORS], recon_mean)
recon_to_self = squared(recon[:ANCHORS], held_out[:ANCHORS])
# For comparison: how many training images share a z through q(z|x) (effective number)
log_q = -0.5 * ((((z_anchor[:, None] - mu_train[None]) ** 2) / np.exp(logvar_train)[None])
                + logvar_train[None]).sum(axis=2)
w = np.exp(log_q - log_q.max(axis=1, keepdims=True))
w /= w.sum(axis=1, keepdims=True)
lesson.show("images sharing a z through q(z|x): effective number 1 / sum w_i^2, median",
            float(np.median(1 / (w ** 2).sum(axis=1))))
print(f"   mean squared distance of dec(z), z ~ N(0, I), to: the mean of its {K_NEAR} nearest-code "
      f"training images {to_mean:.3f}, the nearest one {to_nearest:.3f}")
print(f"   of dec(mu(x)), x a test image, to: the mean of x's {K_NEAR} nearest-code training "
      f"images {recon_to_mean:.3f}, x itself {recon_to_self:.3f}")
print(f"   mid-grey share of the averages of {K_NEAR}: {grey_share(x_mean):.3f}")
lesson.check(f"dec(z): squared distance to the mean of {K_NEAR} code-neighbours / to the nearest",
             to_mean / to_nearest, at_most=0.7,
             why="the decoder's output for z is the pixel-wise compromise of the images coded "
                 "near z, not a copy of any one of them")
lesson.check(f"dec(mu(x)): squared distance to the mean of x's {K_NEAR} code-neighbours / to x",
             recon_to_mean / recon_to_self, at_most=1.0 if FAST else 0.9,
             why="even the reconstruction of x looks more like the average of the training "
                 "digits coded near x than like x")
rows = np.concatenate([np.concatenate([decoded[r:r + 1], x_mean[r:r + 1].astype(np.float32),
                                       images[order[r, :6]]]) for r in range(6)])
lesson.figure("decoder_is_an_average.png", lambda ax: plot.image_grid(
    ax, rows, nrow=8, title=f"dec(z) | mean of {K_NEAR} nearest codes | the 6 nearest x_i"),
    size=5)

# %% [markdown]
# The pixels of p(x|z) are independent given z: the sharpness of a real stroke (its neighbouring
# pixels are black together) is not in the model. Drawing the pixels from Bernoulli(sigma(l))
# instead of showing the mean does not sharpen the digit; it speckles it.

# %%
probabilities = (decoded[:36] + 1) / 2  # sigma(l): the decoder's Bernoulli means
bernoulli = np.where(tinygan.rand(36, 1, 28, 28).data < probabilities, 1.0, -1.0)
fig, axes = plot.new_figure(ncols=2, size=3.6)
plot.image_grid(axes[0], decoded[:36], nrow=6, title="mean image 2 sigma(l) - 1")
plot.image_grid(axes[1], bernoulli, nrow=6, title="pixels drawn from Bernoulli(sigma(l))")
print("   figure:", plot.save(fig, lesson.path("bernoulli_pixels.png")))

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
