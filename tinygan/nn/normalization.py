"""Batch normalization layers: BatchNorm1d for (N, C) or (N, C, L), BatchNorm2d for
(N, C, H, W). The math is in ``tinygan/functional/normalization.py``."""

import numpy as np

from .. import arguments, dtypes
from ..functional import batch_norm
from . import init
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    """Per-channel normalisation with learned scale ``weight`` and shift ``bias`` (C,).

    Buffers (saved in the state dict, not learned): ``running_mean`` (C,), ``running_var`` (C,)
    and ``num_batches_tracked`` (an int64 scalar), as in PyTorch.

    - training mode: normalise with the batch's statistics and update the running averages
      (``momentum`` is the weight of the new batch; ``momentum=None`` averages all batches
      equally, with weight 1 / num_batches_tracked);
    - eval mode: normalise with the running averages, so one sample's output does not depend on
      the others in its batch.

    With ``track_running_stats=False`` there are no running averages and the batch statistics
    are used in both modes. With ``affine=False`` there is no weight or bias.
    """

    _expected_ndims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None):
        super().__init__()
        op = type(self).__name__
        self.num_features = arguments.integer(op, "num_features", num_features, minimum=1)
        self.eps = arguments.real(op, "eps", eps, minimum=0)
        self.momentum = None if momentum is None else arguments.real(op, "momentum", momentum,
                                                                     minimum=0, maximum=1)
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.float_dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim not in self._expected_ndims:
            expected = " or ".join(f"{n}D" for n in self._expected_ndims)
            raise ValueError(f"{type(self).__name__}: expected {expected} input, got input of "
                             f"shape {input.shape} ({input.ndim}D)")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1  # in place: the 0-d int64 array stays the same object
            if self.momentum is None:  # cumulative average of all batches so far
                momentum = 1.0 / int(self.num_batches_tracked)
        # Batch statistics in training mode, and always when there are no running averages.
        # (Without track_running_stats the buffers are None, so nothing is recorded.)
        use_batch_stats = self.training or self.running_mean is None
        return batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch_stats, momentum, self.eps)

    def _check_loaded(self, name, value):
        """A variance is never negative: a checkpoint with one would give NaN (sqrt of a
        negative) on every evaluation, long after the load."""
        if name == "running_var" and value.size and value.min() < 0:
            raise ValueError(f"running_var must be >= 0, got {value.min()!r} in the state dict")
        if name == "num_batches_tracked" and value.size and value.min() < 0:
            raise ValueError(f"num_batches_tracked must be >= 0, got {value.min()!r}")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs: statistics over N (and L)."""

    _expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs: statistics over N, H and W per channel."""

    _expected_ndims = (4,)
