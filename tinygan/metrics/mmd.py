"""Maximum mean discrepancy (MMD) with a Gaussian (RBF) kernel: a distance between two sample
sets that needs no classifier and no density.

With the kernel k(a, b) = exp(-||a - b||^2 / (2 s^2)), the squared MMD between P and Q is

    MMD^2 = E[k(x, x')] + E[k(y, y')] - 2 E[k(x, y)],     x, x' ~ P,  y, y' ~ Q,

which is 0 exactly when P = Q (the Gaussian kernel is characteristic). The unbiased estimate
from x_1..x_n and y_1..y_m leaves out the i = j terms of the first two means:

    MMD^2_u = 1/(n(n-1)) sum_{i!=j} k(x_i, x_j) + 1/(m(m-1)) sum_{i!=j} k(y_i, y_j)
              - 2/(n m) sum_{i,j} k(x_i, y_j)

so it can be slightly negative when P = Q. The bandwidth s defaults to the median distance
between all pooled points (the "median heuristic"). (Gretton et al., "A kernel two-sample
test", JMLR 2012.)
"""

import numpy as np


def mmd_rbf(x, y, bandwidth=None):
    """Unbiased MMD^2 between samples x (n, d) and y (m, d) with an RBF kernel of width
    ``bandwidth`` (default: the median pairwise distance of the pooled samples)."""
    x, y = _as_2d(x), _as_2d(y)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"mmd_rbf: x has {x.shape[1]} features, y has {y.shape[1]}")
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"mmd_rbf: need at least 2 samples of each, got {len(x)} and {len(y)}")
    if bandwidth is None:
        bandwidth = median_distance(np.concatenate([x, y]))
    if not bandwidth > 0:
        raise ValueError(f"mmd_rbf: bandwidth must be positive, got {bandwidth}")
    n, m = len(x), len(y)
    k_xx = _rbf(x, x, bandwidth)
    k_yy = _rbf(y, y, bandwidth)
    k_xy = _rbf(x, y, bandwidth)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))  # i != j
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def median_distance(points):
    """The median of ||a - b|| over all pairs of distinct points (at most 1000 points used)."""
    points = points[:1000]
    distances = np.sqrt(_squared_distances(points, points))
    upper = distances[np.triu_indices(len(points), k=1)]
    return float(np.median(upper)) if upper.size else 1.0


def _rbf(a, b, bandwidth):
    return np.exp(-_squared_distances(a, b) / (2 * bandwidth ** 2))


def _squared_distances(a, b):
    """||a_i - b_j||^2 = |a_i|^2 + |b_j|^2 - 2 a_i.b_j, clipped at 0 (rounding)."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(squared, 0.0)


def _as_2d(samples):
    array = np.asarray(getattr(samples, "data", samples), dtype=np.float64)
    array = array.reshape(len(array), -1) if array.ndim != 1 else array[:, None]
    return array
