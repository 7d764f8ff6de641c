"""tinygan.metrics.quality: the Inception Score and Fréchet distance formulas, their extremes on
real images against noise (a tiny classifier trained here), and the ``score`` command."""

import argparse
import os
import re

import numpy as np
import pytest

import tinygan
from tinygan.cli import main
from tinygan.metrics import quality
from tinygan.metrics.quality import (
    Classifier,
    frechet_distance,
    gaussian_fit,
    inception_score,
    predict,
    train_classifier,
)

# ------------------------------------------------------------------------------- formulas


def test_inception_score_extremes_and_a_hand_computed_case():
    confident_and_even = np.log(np.eye(10)[np.arange(50) % 10] * (1 - 1e-300) + 1e-300 / 10)
    assert inception_score(confident_and_even) == pytest.approx(10, rel=1e-9)
    one_hot = np.where(np.eye(4)[[0, 1, 2, 3]] > 0, 0.0, -np.inf)  # exact zeros: p log p = 0
    assert inception_score(one_hot) == pytest.approx(4, rel=1e-12)
    same = np.log(np.tile([[0.2, 0.3, 0.5]], (7, 1)))
    assert inception_score(same) == pytest.approx(1, rel=1e-12)
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    marginal = p.mean(axis=0)
    kl = (p * np.log(p / marginal)).sum(axis=1)
    assert inception_score(np.log(p)) == pytest.approx(np.exp(kl.mean()), rel=1e-12)


def test_frechet_distance_closed_forms(rng):
    a = rng.standard_normal((6, 6))
    cov = a @ a.T
    mean = rng.standard_normal(6)
    assert abs(frechet_distance(mean, cov, mean, cov)) < 1e-9
    assert frechet_distance(mean, cov, mean + 2, cov) == pytest.approx(6 * 4, rel=1e-9)
    # commuting (diagonal) covariances: sum_i (sqrt(s1_i) - sqrt(s2_i))^2
    s1, s2 = rng.random(5) + 0.1, rng.random(5) + 0.1
    expected = ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(np.zeros(5), np.diag(s1), np.zeros(5), np.diag(s2)) == \
        pytest.approx(expected, rel=1e-9)


def test_frechet_distance_equals_the_trace_of_the_unsymmetric_square_root(rng):
    """tr (S1 S2)^{1/2} from the eigenvalues of S1 S2 itself (real, >= 0: similar to M)."""
    a, b = rng.standard_normal((8, 8)), rng.standard_normal((8, 3))
    s1, s2 = a @ a.T, b @ b.T  # s2 is singular (rank 3)
    m1, m2 = rng.standard_normal(8), rng.standard_normal(8)
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    expected = ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    # s2 has 5 zero eigenvalues; sqrt turns their rounding (~1e-13) into ~1e-7 in either route
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, abs=1e-5)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(frechet_distance(m2, s2, m1, s1),
                                                             abs=1e-5)


def test_formula_input_errors():
    with pytest.raises(ValueError, match=r"means \(F,\) and covariances \(F, F\)"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match=r"shape \(N, K\) with N > 0, got \(5,\)"):
        inception_score(np.zeros(5))
    with pytest.raises(ValueError, match=r"N >= 2, got \(1, 3\)"):
        gaussian_fit(np.zeros((1, 3)))


# -------------------------------------------------------- the extremes, real against noise


def bars(n, rng):
    """A 10-class image set: class k is a bright 6x6 square at one of ten places, plus noise."""
    labels = np.arange(n) % 10
    images = np.full((n, 1, 28, 28), -1.0, np.float32)
    for i, k in enumerate(labels):
        row, col = 3 + 14 * (k // 5), 1 + 5 * (k % 5)
        images[i, 0, row:row + 6, col:col + 6] = 1
    images += 0.3 * rng.standard_normal(images.shape).astype(np.float32)
    return np.clip(images, -1, 1), labels


@pytest.fixture(scope="module")
def tiny_classifier():
    rng = np.random.default_rng(0)
    tinygan.manual_seed(0)
    images, labels = bars(320, rng)
    model = Classifier(widths=(4, 8), features=32)
    train_classifier(images, labels, epochs=2, batch_size=32, lr=1e-2, model=model,
                     progress=False)
    return model


def test_real_images_score_high_and_noise_low(tiny_classifier):
    rng = np.random.default_rng(1)
    real, labels = bars(500, rng)
    other_real, _ = bars(500, rng)
    noise = rng.uniform(-1, 1, real.shape).astype(np.float32)
    log_p_real, phi_real = predict(tiny_classifier, real)
    assert (log_p_real.argmax(axis=1) == labels).mean() > 0.95  # the classifier learned
    log_p_noise, phi_noise = predict(tiny_classifier, noise)
    is_real, is_noise = inception_score(log_p_real), inception_score(log_p_noise)
    real_fit = gaussian_fit(phi_real)
    fd_real = frechet_distance(*gaussian_fit(predict(tiny_classifier, other_real)[1]), *real_fit)
    fd_noise = frechet_distance(*gaussian_fit(phi_noise), *real_fit)
    one_class = real[labels == 3]  # perfect images of a single class: mode collapse
    is_collapsed = inception_score(predict(tiny_classifier, one_class)[0])
    print(f"\nIS real {is_real:.2f}, noise {is_noise:.2f}, one class {is_collapsed:.2f}; "
          f"FD real-real {fd_real:.3f}, noise-real {fd_noise:.3f}")
    assert is_real > 8 and is_noise < 2.5 and is_collapsed < 1.5
    assert fd_noise > 20 * fd_real


# ----------------------------------------------------------------------- the command


@pytest.fixture
def cached_classifier(monkeypatch, tmp_path):
    """A cached mnist 'classifier' (untrained weights) with references from made-up images."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    rng = np.random.default_rng(0)
    model = Classifier().eval()
    train_images, _ = bars(60, rng)
    test_images, test_labels = bars(40, rng)
    record = {"model": model.state_dict(), "data": "mnist", "version": 1, "epochs": 0,
              "seconds": 0.0, "test_accuracy": quality.accuracy(model, test_images, test_labels)}
    record.update(quality.reference_statistics(model, train_images, test_images))
    path = quality.classifier_path("mnist")
    os.makedirs(os.path.dirname(path))
    tinygan.save(record, path)
    return record, test_images


def run_score(path, data="mnist"):
    parser = argparse.ArgumentParser()
    quality.add_score_arguments(parser)
    return quality.score_command(parser.parse_args([str(path), "--data", data]))


def test_tinygan_score_on_the_command_line(cached_classifier, tmp_path, capsys):
    np.save(tmp_path / "samples.npy", cached_classifier[1])
    assert main(["score", str(tmp_path / "samples.npy"), "--data", "mnist"]) == 0
    assert "Inception Score" in capsys.readouterr().out
    assert main(["score", str(tmp_path / "missing.npy")]) == 2
    capsys.readouterr()
    assert main(["score", str(tmp_path / "samples.npy"), "--data", "cifar"]) == 2  # one line
    err = capsys.readouterr().err
    assert "invalid choice: 'cifar'" in err and len(err.strip().splitlines()) == 1


def test_score_command_prints_the_samples_beside_the_real_references(cached_classifier, tmp_path,
                                                                     capsys):
    record, test_images = cached_classifier
    np.save(tmp_path / "samples.npy", test_images)
    assert run_score(tmp_path / "samples.npy") == 0
    out = capsys.readouterr().out
    result = quality.score(test_images)
    assert result.frechet_distance == pytest.approx(0, abs=1e-6)  # the test set against itself
    assert result.real_inception_score == record["test_inception_score"]
    assert f"{result.inception_score:16.3f}" in out and "real test set (ceiling)" in out
    assert f"{record['train_test_frechet_distance']:18.3f}" in out and "floor" in out


@pytest.mark.parametrize("content, message", [
    (None, "No such file"),
    (np.zeros((4, 28, 28), np.float32), r"shape \(N, 1, 28, 28\) with N >= 2, got float32 of"),
    (np.full((4, 1, 28, 28), 2.0, np.float32), r"pixel values in \[-1, 1\], got values from 2"),
    (np.zeros((4, 1, 28, 28), np.int64), "expected float images"),
])
def test_score_command_bad_files_exit_2_with_one_line(content, message, tmp_path, capsys):
    path = tmp_path / "samples.npy"
    if content is not None:
        np.save(path, content)
    assert run_score(path) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygan score: error: ") and err.count("\n") == 1
    assert re.search(message, err)


# --------------------------------------------------- the real classifier, when it is cached

CACHED = os.path.exists(quality.classifier_path("mnist")) and os.environ.get("TINYGAN_DATA_DIR")


@pytest.mark.skipif(not CACHED, reason="no cached mnist classifier or no TINYGAN_DATA_DIR")
def test_cached_mnist_classifier_scores_real_digits_near_10_and_noise_near_1():
    images, _ = tinygan.datasets.mnist("test", download=False)
    real = quality.score(images[:2000])
    noise = quality.score(np.random.default_rng(0).uniform(-1, 1, (2000, 1, 28, 28)))
    assert real.inception_score > 9 and noise.inception_score < 3
    assert noise.frechet_distance > 20 * real.frechet_distance
