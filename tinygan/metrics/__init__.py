"""Measuring generators: how close p_g is to p_data.

- ``modes`` (``tinygan/metrics/modes.py``): ``mode_coverage`` (modes captured, % high quality,
  reverse KL) on the toy mixtures, as ``../shared/PROTOCOLS.md`` defines it;
- ``two_sample``: ``classifier_two_sample_test`` (held-out accuracy and p-value); ``mmd``:
  ``mmd_rbf`` (maximum mean discrepancy with a Gaussian kernel);
- image quality (``tinygan/metrics/quality.py``): ``score(samples, data)`` gives the classifier
  Inception Score and Fréchet distance of generated images beside the real data's own;
  ``inception_score``, ``frechet_distance``, ``gaussian_fit``, the ``Classifier`` and
  ``classifier(data)`` / ``build_classifier(data)`` that train it once and cache it.
"""

from .mmd import mmd_rbf
from .modes import PROTOCOL_SAMPLES, ModeCoverage, mode_coverage, reverse_kl_to_uniform
from .quality import (
    Classifier,
    Score,
    build_classifier,
    classifier,
    frechet_distance,
    gaussian_fit,
    inception_score,
    score,
)
from .two_sample import TwoSampleResult, binomial_tail, classifier_two_sample_test

__all__ = [
    "PROTOCOL_SAMPLES", "Classifier", "ModeCoverage", "Score", "TwoSampleResult",
    "binomial_tail", "build_classifier", "classifier", "classifier_two_sample_test",
    "frechet_distance", "gaussian_fit", "inception_score", "mmd_rbf", "mode_coverage",
    "reverse_kl_to_uniform", "score",
]
