"""Metrics: how close p_g is to p_data.

- ``modes``: ``mode_coverage`` (modes captured, % high quality, reverse KL) on the toy mixtures,
  as ``../shared/PROTOCOLS.md`` defines it.
"""

from .modes import PROTOCOL_SAMPLES, ModeCoverage, mode_coverage, reverse_kl_to_uniform

__all__ = ["PROTOCOL_SAMPLES", "ModeCoverage", "mode_coverage", "reverse_kl_to_uniform"]
