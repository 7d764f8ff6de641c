"""Measuring generators.

- image quality (``tinygan/metrics/quality.py``): ``score(samples, data)`` gives the classifier
  Inception Score and Fréchet distance of generated images beside the real data's own;
  ``inception_score``, ``frechet_distance``, ``gaussian_fit``, the ``Classifier`` and
  ``classifier(data)`` / ``build_classifier(data)`` that train it once and cache it.
"""

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

__all__ = [
    "Classifier", "Score", "build_classifier", "classifier", "frechet_distance", "gaussian_fit",
    "inception_score", "score",
]
