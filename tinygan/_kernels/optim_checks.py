"""The argument checks of the optimizer-update kernels, shared by all three rungs.

The optimizers (``tinygan/optim``) have checked their hyperparameters already; these checks
protect the kernels themselves: every array a float array of the parameter's shape and dtype,
the state arrays writable (they are updated in place) and not overlapping each other.
"""

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_update(op, param, grad, states):
    """``states`` is a sequence of (name, array or None); returns grad cast to param's dtype."""
    for name, value in (("param", param), ("grad", grad)) + tuple(states):
        if value is None:
            continue
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{op}: {name} must be a numpy array, got {type(value).__name__}")
    if param.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{op}: param must be float32 or float64, got {param.dtype}")
    if grad.shape != param.shape:
        raise ValueError(f"{op}: grad of shape {grad.shape} differs from param of shape "
                         f"{param.shape}")
    present = [(name, value) for name, value in states if value is not None]
    for i, (name, value) in enumerate(present):
        if value.shape != param.shape or value.dtype != param.dtype:
            raise ValueError(f"{op}: state {name} is {value.dtype} {value.shape}, expected "
                             f"{param.dtype} {param.shape} (the parameter's)")
        if not value.flags.writeable:
            raise ValueError(f"{op}: state {name} must be writable (it is updated in place)")
        for other_name, other in present[i + 1:]:
            if np.may_share_memory(value, other):
                raise ValueError(f"{op}: states {name} and {other_name} share memory")
    return grad.astype(param.dtype, copy=False)
