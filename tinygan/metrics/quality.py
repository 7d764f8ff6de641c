"""Sample quality of image generators: a classifier-based Inception Score and Fréchet distance.

Both numbers come from a small convolutional classifier trained with tinygan on the real
training set (``Classifier``; ``classifier(data)`` trains it once and caches its weights), as
``../shared/PROTOCOLS.md`` ("Image quality") defines them.

Inception Score (Salimans et al. 2016, with this classifier in place of Inception). With
p(y|x) the classifier's class probabilities for an image x and p(y) = E_x p(y|x) their average
over the samples,

    IS = exp( E_x KL(p(y|x) || p(y)) ),    KL(p || q) = sum_k p_k (log p_k - log q_k).

It is high (at most K = 10, the number of classes) when every sample is classified confidently
(p(y|x) close to one-hot) and the classes are used evenly (p(y) close to uniform); it is 1 when
all samples get the same prediction. The real test set scores close to 10 (its ceiling here).
Numerics: log p(y|x) is the log_softmax of the logits (never the log of a rounded probability),
and p_k log p_k is taken as 0 where p_k underflows to 0 (its limit).

Fréchet distance (Heusel et al. 2017, FID with this classifier's penultimate features phi(x),
the 128 inputs of its last layer). Fit a Gaussian to the features of each set, mean mu and
covariance S (the unbiased estimate, divided by n - 1), then

    FD = ||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}),

the squared 2-Wasserstein distance between the two Gaussians. (S_1 S_2)^{1/2} is not symmetric
and is ill-conditioned to compute directly; only its trace enters, and S_1 S_2 is similar to the
symmetric positive semi-definite M = S_1^{1/2} S_2 S_1^{1/2} (conjugate by S_1^{1/2}), so

    tr (S_1 S_2)^{1/2} = tr M^{1/2} = sum_i sqrt(lambda_i(M)).

Both square roots come from ``eigh`` of a symmetric matrix: S^{1/2} = V diag(sqrt(lambda)) V^T.
Rounding can make eigenvalues that are truly 0 slightly negative (about -1e-13 relative to the
largest); they are set to 0 before the square root. Everything is computed in float64. The floor
is the FD between 10,000 real training images and the test set (as many images as the protocol's
10,000 samples: the estimate is biased upwards at small n, so compare like with like).
"""

import os
import sys
import time
from collections import namedtuple

import numpy as np
from tqdm import tqdm

from .. import functional as F
from .. import nn, optim
from ..autograd import no_grad
from ..checkpoint import load, save
from ..datasets import BatchIterator
from ..datasets.mnist import DATASETS, DatasetNotFoundError, cache_dir
from ..datasets.mnist import load as load_dataset
from ..engine import tensor
from ..random import generator, manual_seed

CLASSIFIER_VERSION = 1
# data set -> the cached classifier's training: epochs, and the factor that multiplies Adam's
# learning rate (1e-3 in the first epoch) after each epoch. Measured (2 shared cores): MNIST with
# 3 epochs halving the rate reached 98.90% test accuracy, short of 99.0%: hence 5 epochs at 0.7.
RECIPES = {"mnist": {"epochs": 5, "decay": 0.7}, "fashion-mnist": {"epochs": 4, "decay": 0.5}}
REFERENCE_SIZE = 10000  # real training images compared with the test set for the FD floor
# The stand-in that the lessons' --fast mode trains when the real classifier is not cached (a
# fresh machine, CI): the same network, trained for one epoch on the first STAND_IN_SIZE training
# images only, so it is built in seconds, not minutes. Its scores are rougher (MNIST: about 95%
# test accuracy where the real one has 99%); it is cached apart and never used for a reported
# number (``tinygan score`` and the benchmarks always use the real one).
STAND_IN_SIZE = 8000
STAND_IN_BATCH = 64  # twice the steps of batch 128 in its one epoch, for the same arithmetic

Score = namedtuple("Score", ["inception_score", "frechet_distance", "real_inception_score",
                             "real_frechet_distance"])
Score.__doc__ = ("Sample quality: the samples' IS and FD to the real test set, beside the test "
                 "set's own IS (the ceiling) and the train-vs-test FD (the floor).")


class Classifier(nn.Module):
    """The quality classifier: two conv blocks with max pooling, then two Dense layers.

        x (N, C, S, S) -> [Conv 3x3 (w1) -> BatchNorm -> ReLU -> MaxPool 2]
                       -> [Conv 3x3 (w2) -> BatchNorm -> ReLU -> MaxPool 2]
                       -> Flatten -> Dense (features) -> ReLU = phi(x)  (N, features)
                       -> Dense (num_classes) = logits  (N, num_classes)

    ``features(x)`` returns phi(x), the penultimate layer that the Fréchet distance compares.
    """

    def __init__(self, channels=1, image_size=28, num_classes=10, widths=(32, 64), features=128):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"Classifier: image_size must be a multiple of 4 (two 2x2 poolings), "
                             f"got {image_size}")
        w1, w2 = widths
        self.body = nn.Sequential(
            nn.Conv2d(channels, w1, 3, padding=1), nn.BatchNorm2d(w1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w1, w2, 3, padding=1), nn.BatchNorm2d(w2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dense(w2 * (image_size // 4) ** 2, features), nn.ReLU(),
        )
        self.head = nn.Dense(features, num_classes)
        self.image_shape = (channels, image_size, image_size)

    def features(self, x):
        """phi(x): (N, C, S, S) -> (N, features)."""
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"Classifier: expected images of shape (N, *{self.image_shape}), "
                             f"got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x):
        """Class logits (N, num_classes)."""
        return self.head(self.features(x))


def predict(model, images, batch_size=500):
    """Log-probabilities log p(y|x) (N, K) and features phi(x) (N, F) of ``images``, in float64.

    Runs in eval mode (batch norm with its running statistics) without recording a graph.
    """
    images = np.asarray(images, dtype=np.float32)
    was_training = model.training
    model.eval()
    log_probs, features = [], []
    try:
        with no_grad():
            for start in range(0, len(images), batch_size):
                phi = model.features(tensor(images[start:start + batch_size]))
                log_probs.append(F.log_softmax(model.head(phi), axis=1).data.astype(np.float64))
                features.append(phi.data.astype(np.float64))
    finally:
        model.train(was_training)
    return np.concatenate(log_probs), np.concatenate(features)


def inception_score(log_probs):
    """exp(E_x KL(p(y|x) || p(y))) from log p(y|x) of shape (N, K); see the module docstring."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2 or len(log_probs) == 0:
        raise ValueError(f"inception_score: expected log-probabilities of shape (N, K) with "
                         f"N > 0, got {log_probs.shape}")
    p = np.exp(log_probs)  # p(y|x)
    with np.errstate(divide="ignore", invalid="ignore"):  # the masked terms below
        log_marginal = np.log(p.mean(axis=0))  # log p(y); -inf only where every p_k is 0
        # sum_k p_k (log p_k - log p(y)_k); where p_k = 0 the term is 0 (log p_k may be -inf)
        terms = np.where(p > 0, p * (log_probs - log_marginal), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def gaussian_fit(features):
    """(mean (F,), covariance (F, F)) of features (N, F), the covariance divided by N - 1."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"gaussian_fit: expected features of shape (N, F) with N >= 2, got "
                         f"{features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def sqrtm_psd(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix, by ``eigh``:
    S = V diag(lambda) V^T  ->  S^{1/2} = V diag(sqrt(max(lambda, 0))) V^T."""
    eigenvalues, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T


def frechet_distance(mean1, cov1, mean2, cov2):
    """||mu_1 - mu_2||^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}); see the module docstring."""
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    f = mean1.shape[0]
    if mean1.shape != (f,) or mean2.shape != (f,) or cov1.shape != (f, f) or cov2.shape != (f, f):
        raise ValueError(f"frechet_distance: expected means (F,) and covariances (F, F), got "
                         f"{mean1.shape}, {cov1.shape}, {mean2.shape}, {cov2.shape}")
    root1 = sqrtm_psd(cov1)
    middle = root1 @ cov2 @ root1  # M = S_1^{1/2} S_2 S_1^{1/2}
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)  # symmetric up to rounding
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()  # tr (S_1 S_2)^{1/2}
    difference = mean1 - mean2
    distance = difference @ difference + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt
    return max(float(distance), 0.0)  # >= 0 exactly; rounding can put a true 0 at -1e-13


# ---------------------------------------------------------------- training and the cache


def train_classifier(images, labels, epochs, batch_size=128, lr=1e-3, decay=0.5, model=None,
                     progress=True):
    """Train ``model`` (default: a new ``Classifier``) on (images, labels) with cross-entropy.

    Adam with learning rate ``lr`` in the first epoch, times ``decay`` after each; mini-batches from
    a ``BatchIterator`` seeded by ``tinygan.random``. Returns the model, in eval mode.
    """
    images, labels = np.asarray(images, np.float32), np.asarray(labels, np.int64)
    if model is None:
        model = Classifier(channels=images.shape[1], image_size=images.shape[2],
                           num_classes=int(labels.max()) + 1)
    model.train()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    batches = BatchIterator(images, labels, batch_size=batch_size)
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = lr * decay**epoch
        bar = tqdm(range(batches.batches_per_epoch), desc=f"classifier epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False)
        for _ in bar:
            x, y = next(batches)
            loss = F.cross_entropy(model(tensor(x)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return model.eval()


def accuracy(model, images, labels):
    """The fraction of ``images`` that ``model`` assigns to their ``labels``."""
    log_probs, _ = predict(model, images)
    return float((log_probs.argmax(axis=1) == np.asarray(labels)).mean())


def reference_statistics(model, train_images, test_images, test_prediction=None):
    """What generated samples are compared with: the test set's feature Gaussian and its IS
    (the ceiling), and the FD of ``REFERENCE_SIZE`` training images to the test set (the floor).
    ``test_prediction``: ``predict(model, test_images)`` when the caller already has it.
    """
    test_log_probs, test_features = test_prediction or predict(model, test_images)
    test_mean, test_cov = gaussian_fit(test_features)
    pick = np.random.default_rng(0).choice(len(train_images), min(REFERENCE_SIZE,
                                                                  len(train_images)), False)
    _, train_features = predict(model, train_images[np.sort(pick)])
    return {
        "test_mean": test_mean, "test_cov": test_cov,
        "test_inception_score": inception_score(test_log_probs),
        "train_test_frechet_distance": frechet_distance(*gaussian_fit(train_features),
                                                        test_mean, test_cov),
    }


def classifier_path(data, stand_in=False):
    """Where the classifier of data set ``data`` is cached: ``<cache>/classifiers/<data>-v1.npz``
    under the user cache folder (``$XDG_CACHE_HOME/tinygan`` or ``~/.cache/tinygan``); the fast
    lessons' stand-in (``stand_in=True``) in ``<data>-stand-in-v1.npz`` beside it."""
    _check_data(data)
    name = f"{data}-stand-in" if stand_in else data
    return os.path.join(cache_dir(), "classifiers", f"{name}-v{CLASSIFIER_VERSION}.npz")


def build_classifier(data="mnist", epochs=None, seed=0, progress=True, stand_in=False):
    """Train the quality classifier of ``data`` on its training set, measure it, and cache it.

    ``stand_in=True`` builds the fast lessons' stand-in instead: one epoch on the first
    ``STAND_IN_SIZE`` training images (see ``STAND_IN_SIZE``), cached apart. Training draws from
    ``tinygan.random`` seeded with ``seed`` (the library generator's state is restored
    afterwards). Returns the saved record: {"model": state dict, "data", "version", "epochs",
    "lr_decay", "train_size", "seconds", "test_accuracy", and the ``reference_statistics``}.
    """
    _check_data(data)
    recipe = RECIPES[data]
    epochs = (1 if stand_in else recipe["epochs"]) if epochs is None else int(epochs)
    train_images, train_labels = load_dataset(data, "train")
    test_images, test_labels = load_dataset(data, "test")
    size = min(STAND_IN_SIZE, len(train_images)) if stand_in else len(train_images)
    saved = generator().bit_generator.state
    manual_seed(seed)
    start = time.perf_counter()
    try:
        model = train_classifier(train_images[:size], train_labels[:size], epochs,
                                 batch_size=STAND_IN_BATCH if stand_in else 128,
                                 decay=recipe["decay"], progress=progress)
    finally:
        seconds = time.perf_counter() - start
        manual_seed(0)
        generator().bit_generator.state = saved
    test_prediction = predict(model, test_images)  # (log p(y|x), phi(x)): used twice
    record = {"model": model.state_dict(), "data": data, "version": CLASSIFIER_VERSION,
              "epochs": epochs, "lr_decay": recipe["decay"], "train_size": size,
              "seconds": seconds,
              "test_accuracy": float((test_prediction[0].argmax(axis=1) == test_labels).mean())}
    record.update(reference_statistics(model, train_images, test_images, test_prediction))
    path = classifier_path(data, stand_in)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save(record, path)
    return record


def classifier(data="mnist", train=True, progress=True, stand_in=False):
    """(model, record) of the cached classifier of ``data`` (or of its stand-in, see
    ``STAND_IN_SIZE``); trained first when not cached (``train=False``: FileNotFoundError
    instead)."""
    path = classifier_path(data, stand_in)
    if os.path.exists(path):
        record = load(path)
    elif train:
        record = build_classifier(data, progress=progress, stand_in=stand_in)
    else:
        raise FileNotFoundError(f"no cached {data} classifier at {path}; build it with "
                                f"tinygan.metrics.build_classifier({data!r})")
    model = Classifier()
    model.load_state_dict(record["model"])
    return model.eval(), record


def score(samples, data="mnist"):
    """IS and FD of generated ``samples`` (N, 1, 28, 28) in [-1, 1], with the real references.

    Returns a ``Score``(inception_score, frechet_distance to the real test set,
    real_inception_score of the test set, real_frechet_distance train vs test).
    """
    samples = check_samples(samples)
    return _score(samples, *classifier(data))


def _score(samples, model, record):
    log_probs, features = predict(model, samples)
    return Score(inception_score(log_probs),
                 frechet_distance(*gaussian_fit(features), record["test_mean"], record["test_cov"]),
                 record["test_inception_score"], record["train_test_frechet_distance"])


def check_samples(samples):
    """``samples`` as float32 (N, 1, 28, 28) with N >= 2, values in [-1, 1]; else ValueError."""
    samples = np.asarray(samples)
    if samples.dtype.kind != "f" or samples.ndim != 4 or samples.shape[1:] != (1, 28, 28) \
            or len(samples) < 2:
        raise ValueError(f"expected float images of shape (N, 1, 28, 28) with N >= 2, got "
                         f"{samples.dtype} of shape {samples.shape}")
    if not np.all(np.isfinite(samples)) or samples.min() < -1 or samples.max() > 1:
        raise ValueError(f"expected pixel values in [-1, 1], got values from {np.nanmin(samples)} "
                         f"to {np.nanmax(samples)}" + ("" if np.all(np.isfinite(samples)) else
                                                       " and non-finite values"))
    return samples.astype(np.float32, copy=False)


def _check_data(data):
    if data not in DATASETS:
        raise ValueError(f"unknown data set {data!r}; expected one of {sorted(DATASETS)}")



# ------------------------------------------------------------------- the score command


def add_score_arguments(parser):
    """The arguments of ``tinygan score``: a .npy file of samples and ``--data``."""
    parser.add_argument("samples", help="a .npy file of float images (N, 1, 28, 28) in [-1, 1]")
    parser.add_argument("--data", default="mnist", choices=sorted(DATASETS),
                        help="the data set whose classifier scores the samples (default: mnist)")


def score_command(args):
    """``tinygan score samples.npy --data mnist``: print IS and FD beside the real references.

    Returns the exit code: 0; 2 with a one-line error for a missing or malformed file; 1 when
    the classifier must be trained and the data set is not available.
    """
    try:
        samples = check_samples(np.load(args.samples, allow_pickle=False))
    except (OSError, ValueError) as error:
        print(f"tinygan score: error: {args.samples}: {error}", file=sys.stderr)
        return 2
    if not os.path.exists(classifier_path(args.data)):
        print(f"tinygan score: training the {args.data} classifier once (cached in "
              f"{classifier_path(args.data)})", file=sys.stderr)
    try:
        model, record = classifier(args.data)
    except DatasetNotFoundError as error:
        print(f"tinygan score: error: {error}", file=sys.stderr)
        return 1
    result = _score(samples, model, record)
    print(f"{len(samples)} samples from {args.samples}, scored by the {args.data} classifier "
          f"(test accuracy {record['test_accuracy']:.2%})")
    print(f"{'':28s}{'Inception Score':>16s}{'Frechet distance':>18s}")
    print(f"{'samples':28s}{result.inception_score:16.3f}{result.frechet_distance:18.3f}")
    print(f"{'real test set (ceiling)':28s}{result.real_inception_score:16.3f}{0.0:18.3f}")
    print(f"{'real train vs test (floor)':28s}{'':16s}{result.real_frechet_distance:18.3f}")
    if len(samples) != 10000:
        print(f"(the protocol uses 10,000 samples; with {len(samples)} the FD is biased "
              "upwards)")
    return 0
