"""Kernel dispatch: one set of names (``gemm``, ``matmul``, ``conv2d``, ...) for three rungs.

Every hot kernel exists three times in ``tinygan/_kernels/``, with the same signature, checks and
results (up to rounding):

- ``"naive"``: plain Python loops (``gemm_naive.py``, ``conv_naive.py``, ``norm_naive.py``,
  ...): the definition, one multiply-add per statement, to step through in a debugger. Slow:
  tiny shapes only.
- ``"numpy"``: the NumPy twins (``gemm_numpy.py``, ``conv_numpy.py``, ``norm_numpy.py``,
  ``elementwise_numpy.py``, ``optim_numpy.py``): the math in a few vectorised lines, running on
  NumPy's BLAS.
- ``"compiled"``: the Cython kernels (``gemm.pyx``, ``conv.pyx``, ``norm.pyx``,
  ``elementwise.pyx``, ``optim_update.pyx``): the default when built.

The rest of tinygan (the engine's ``@``, ``functional.conv2d``) calls the functions below, never
a rung directly, so switching rungs switches the whole library::

    tinygan.kernels.use("naive")           # from now on; returns the name that was active
    with tinygan.kernels.using("naive"):   # for one block, then back
        loss.backward()

or ``TINYGAN_KERNELS=naive`` (``numpy``, ``compiled``) in the environment. This layer works on
plain ndarrays only; it knows nothing of Tensors or graphs.
"""

import contextlib
import importlib
import math
import os
import warnings

import numpy as np

from ._kernels import (
    conv_naive,
    conv_numpy,
    elementwise_naive,
    elementwise_numpy,
    gemm_naive,
    gemm_numpy,
    norm_naive,
    norm_numpy,
    optim_naive,
    optim_numpy,
)
from .arguments import integer

RUNGS = ("naive", "numpy", "compiled")


def _load_compiled():
    """The compiled modules; None (with one warning) when they were never built."""
    try:
        return {
            "gemm": importlib.import_module("tinygan._kernels.gemm"),
            "conv": importlib.import_module("tinygan._kernels.conv"),
            "norm": importlib.import_module("tinygan._kernels.norm"),
            "elementwise": importlib.import_module("tinygan._kernels.elementwise"),
            "optim": importlib.import_module("tinygan._kernels.optim_update"),
        }
    except ImportError as error:
        warnings.warn(
            f"tinygan: the compiled kernels are not built ({error}); using the NumPy twins, "
            "which are correct but slower. Build them with `pip install -e .` from the "
            "project's root (a C compiler is needed).",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


_compiled = _load_compiled()
_compiled_gemm = None if _compiled is None else _compiled["gemm"]
_rungs = {
    "naive": {"gemm": gemm_naive, "conv": conv_naive, "norm": norm_naive,
              "elementwise": elementwise_naive, "optim": optim_naive},
    "numpy": {"gemm": gemm_numpy, "conv": conv_numpy, "norm": norm_numpy,
              "elementwise": elementwise_numpy, "optim": optim_numpy},
    "compiled": _compiled,
}
_active_name = None
_active = None


def available():
    """Names of the rungs that can be used here: 'naive', 'numpy', and 'compiled' when built."""
    return RUNGS if _compiled is not None else RUNGS[:2]


def use(name):
    """Switch every kernel to the rung ``name``: 'naive', 'numpy' or 'compiled'.

    Returns the name that was active before (``using`` is the context-manager form)::

        previous = tinygan.kernels.use("numpy")
        ...
        tinygan.kernels.use(previous)
    """
    global _active_name, _active
    if name not in RUNGS:
        raise ValueError(f"kernels.use: expected 'naive', 'numpy' or 'compiled', got {name!r}")
    if name == "compiled" and _compiled is None:
        raise RuntimeError(
            "kernels.use('compiled'): the compiled kernels are not built; "
            "run `pip install -e .` from the project's root"
        )
    previous = _active_name
    _active_name, _active = name, _rungs[name]
    return previous


@contextlib.contextmanager
def using(name):
    """``with tinygan.kernels.using("naive"): ...`` runs the block on that rung, then switches
    back to the rung that was active before (also when the block raises)."""
    previous = use(name)
    try:
        yield
    finally:
        use(previous)


def active():
    """The name of the active rung: 'naive', 'numpy' or 'compiled'."""
    return _active_name


def get_num_threads():
    """Threads the compiled kernels use (1 when they are not built; the naive rung uses one, the
    twins leave threading to NumPy's BLAS)."""
    if _compiled is None:
        return 1
    return _compiled["gemm"].get_num_threads()


def set_num_threads(n):
    """Set the compiled kernels' thread count (the default comes from TINYGAN_NUM_THREADS).

    ``n`` is an int >= 1 (1.5 is an error, not 1); more than the cores this process may use
    (its CPU affinity, on a shared server) is capped at them, with a RuntimeWarning."""
    n = integer("set_num_threads", "n", n, minimum=1)
    if _compiled is not None:
        n = _compiled["gemm"].capped_num_threads(n, f"set_num_threads({n})")
        _compiled["gemm"].set_num_threads(n)


def info():
    """What is running: the active rung, threads, and what the build compiled in."""
    details = {"active": _active_name, "available": available(), "num_threads": get_num_threads()}
    if _compiled is not None:
        details.update(_compiled["gemm"].build_info())
    return details


# ---------------------------------------------------------------------------------------------
# The kernels. Each forwards to the active rung; the docstrings live with the implementations.


# Products with at most this many multiply-adds run on one thread (the compiled GEMM's own limit,
# MIN_MULTIPLY_ADDS_PER_THREAD = 64^3 per thread, would give them two). Such a product takes at
# most ~0.2 ms on one core; a second thread saves at most half of that on an idle machine, and
# on a busy one (other processes on the cores, as on the course's shared 2-core machines) the
# product waits for the second thread until the OS schedules it: a whole time slice. Measured on
# the toy GAN step (products of 256 x 128 x 128 and smaller; benchmarks/bench_toy.py, 2 threads,
# a 2-core Xeon under a load average of ~10): 10-11 ms per step with this rule, 89-93 ms with
# the limit set to 0. The convolutions' products are not affected (they call the compiled GEMM
# directly).
SMALL_GEMM_MULTIPLY_ADDS = 1 << 23


def gemm(a, b, transpose_a=False, transpose_b=False):
    """C = op(A) @ op(B) for 2-D or batched 3-D float32/float64 arrays (see gemm_numpy.gemm)."""
    kernel = _active["gemm"]
    if kernel is _compiled_gemm and _small_product(a, b, transpose_b):
        previous = kernel.get_num_threads()
        if previous > 1:
            kernel.set_num_threads(1)
            try:
                return kernel.gemm(a, b, transpose_a, transpose_b)
            finally:
                kernel.set_num_threads(previous)
    return kernel.gemm(a, b, transpose_a, transpose_b)


def _small_product(a, b, transpose_b):
    """True when op(A) @ op(B) has at most SMALL_GEMM_MULTIPLY_ADDS multiply-adds (arrays only;
    anything else goes on to gemm's own checks, which name the problem)."""
    try:
        work = a.size * b.shape[-2 if transpose_b else -1]  # (batch) m k n when A has the batch
        if a.ndim == 2 and b.ndim == 3:
            work *= b.shape[0]
    except (AttributeError, IndexError):
        return False
    return work <= SMALL_GEMM_MULTIPLY_ADDS


def matmul(a, b):
    """np.matmul on the active GEMM, for arrays of 2 or more dimensions.

    Leading (batch) axes broadcast as in NumPy. The work is reduced to one call of ``gemm``:
    when only ``a`` has batch axes and is C-contiguous, (..., m, k) @ (k, n) is one big
    (batch*m, k) @ (k, n) product; otherwise both are broadcast to a common batch and flattened
    to 3-D. Mixed float32/float64 operands are promoted to float64, as NumPy does.
    Operands that are not arrays of 2 or more dimensions, inner dimensions that differ and batch
    axes that do not broadcast are errors naming ``matmul`` and both shapes.
    """
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        raise TypeError(f"matmul: expected two numpy arrays, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"matmul: expected arrays of 2 or more dimensions, got shapes "
                         f"{a.shape} and {b.shape} (make a vector a row or a column first)")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and "
                         f"{b.shape[-2]} differ")
    if a.dtype != b.dtype:
        common = np.result_type(a.dtype, b.dtype)
        a, b = a.astype(common, copy=False), b.astype(common, copy=False)
    if a.ndim == 2 and b.ndim == 2:  # first: the engine's layers call this 45 times a toy step
        return gemm(a, b)
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: the batch axes {a.shape[:-2]} and "
                         f"{b.shape[:-2]} cannot be broadcast together") from None
    # sizes are spelled out instead of -1: with a zero-size axis, -1 would be ambiguous
    if b.ndim == 2 and a.flags.c_contiguous:
        rows = gemm(a.reshape(math.prod(a.shape[:-1]), a.shape[-1]), b)
        return rows.reshape(*a.shape[:-1], b.shape[-1])
    a3 = np.broadcast_to(a, batch + a.shape[-2:]).reshape(math.prod(batch), *a.shape[-2:])
    b3 = np.broadcast_to(b, batch + b.shape[-2:]).reshape(math.prod(batch), *b.shape[-2:])
    return gemm(a3, b3).reshape(*batch, a.shape[-2], b.shape[-1])


def conv2d(x, weight, stride=(1, 1), padding=(0, 0), bias=None):
    """y = conv2d(x, weight) (+ bias[o] on output channel o; see conv_numpy.conv2d)."""
    return _active["conv"].conv2d(x, weight, stride, padding, bias)


def conv2d_grad_input(grad_out, weight, input_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dx of conv2d given dL/dy (see conv_numpy.conv2d_grad_input)."""
    return _active["conv"].conv2d_grad_input(grad_out, weight, input_hw, stride, padding)


def conv2d_grad_weight(x, grad_out, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """dL/dweight of conv2d given dL/dy (see conv_numpy.conv2d_grad_weight)."""
    return _active["conv"].conv2d_grad_weight(x, grad_out, kernel_hw, stride, padding)


def im2col(x, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """The windows of x as columns, (C*kH*kW, N*H_out*W_out) (see conv_numpy.im2col)."""
    return _active["conv"].im2col(x, kernel_hw, stride, padding)


def col2im(cols, input_shape, kernel_hw, stride=(1, 1), padding=(0, 0)):
    """The adjoint of im2col, back to input_shape (N, C, H, W) (see conv_numpy.col2im)."""
    return _active["conv"].col2im(cols, input_shape, kernel_hw, stride, padding)


def batch_norm_train(x, weight=None, bias=None, eps=1e-5):
    """(y, mean, var, inv_std) of batch norm with batch statistics (see norm_numpy)."""
    return _active["norm"].batch_norm_train(x, weight, bias, eps)


def batch_norm_backward(g, x, mean, inv_std, weight=None, training=True):
    """(dx, dweight, dbias) of batch norm given dL/dy (see norm_numpy)."""
    return _active["norm"].batch_norm_backward(g, x, mean, inv_std, weight, training)


def channel_affine(x, scale, shift=None):
    """y[:, c] = x[:, c] * scale[c] + shift[c] (see norm_numpy)."""
    return _active["norm"].channel_affine(x, scale, shift)


def leaky_relu(x, slope):
    """x where x > 0, slope x elsewhere, 0 <= slope <= 1 (see elementwise_numpy)."""
    return _active["elementwise"].leaky_relu(x, slope)


def leaky_relu_backward(x, g, slope):
    """dL/dx of leaky_relu given dL/dy: g where x > 0, slope g elsewhere."""
    return _active["elementwise"].leaky_relu_backward(x, g, slope)


def bias_add(x, bias):
    """x + bias[c] along axis 1 (see elementwise_numpy)."""
    return _active["elementwise"].bias_add(x, bias)


def bias_grad(g):
    """g summed over every axis but 1: the gradient of bias_add's bias."""
    return _active["elementwise"].bias_grad(g)


def adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    """One Adam step on one parameter: the moments in place, the new parameter returned."""
    return _active["optim"].adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1,
                                        beta2, eps, weight_decay)


def rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                   weight_decay, momentum):
    """One RMSprop step on one parameter: the state in place, the new parameter returned."""
    return _active["optim"].rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer,
                                           lr, alpha, eps, weight_decay, momentum)


# TINYGAN_KERNELS picks the rung at import; a bad value fails the import naming the variable.
_setting = os.environ.get("TINYGAN_KERNELS", "").strip()
if _setting not in ("", "naive", "compiled", "numpy") or (
        _setting == "compiled" and _compiled is None):
    raise ImportError(f"tinygan: TINYGAN_KERNELS={_setting!r}: expected 'naive', 'numpy' or "
                      f"'compiled' (or unset), and one of the available rungs {available()}")
use(_setting or ("compiled" if _compiled is not None else "numpy"))
