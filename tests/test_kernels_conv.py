"""Tests of the convolution kernels' three rungs: naive loops (conv_naive.py), NumPy twin
(conv_numpy.py) and compiled (conv.pyx); the same tests run on each (the naive rung on small
shapes), for conv2d, its two gradients, im2col and col2im.

Three independent kinds of evidence that all are right:

1. a brute-force reference, written as the literal sum of the definition, on small cases;
2. the adjoint identities that define the two gradients (no reference needed at all);
3. PyTorch, when it is installed.

On top, hypothesis compares compiled and naive with the twin on many random shapes, and the
bad-input tests check that every mistake is reported with the op's name, what was expected and
what was given.
"""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygan._kernels import conv_naive, conv_numpy

try:
    from tinygan._kernels import conv as conv_compiled
except ImportError:  # not built: the twin is still tested
    conv_compiled = None

needs_compiled = pytest.mark.skipif(conv_compiled is None, reason="compiled kernels not built")
MODULES = [
    pytest.param(conv_naive, id="naive"),
    pytest.param(conv_numpy, id="numpy"),
    pytest.param(conv_compiled, id="compiled", marks=needs_compiled),
]
ROOT = Path(__file__).resolve().parent.parent


def tolerance(dtype):
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}


# ---------------------------------------------------------------------------------------------
# 1. Brute force: the definition, one multiply-add at a time.


def brute_conv2d(x, w, stride, padding):
    """y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i*sH + p, j*sW + q] * w[o, c, p, q]."""
    (sH, sW), (pH, pW) = stride, padding
    N, C, H, W = x.shape
    O, _, kH, kW = w.shape
    H_out, W_out = (H + 2 * pH - kH) // sH + 1, (W + 2 * pW - kW) // sW + 1
    y = np.zeros((N, O, H_out, W_out))
    for n in range(N):
        for o in range(O):
            for i in range(H_out):
                for j in range(W_out):
                    for c in range(C):
                        for p in range(kH):
                            for q in range(kW):
                                h, v = i * sH + p - pH, j * sW + q - pW
                                if 0 <= h < H and 0 <= v < W:
                                    y[n, o, i, j] += x[n, c, h, v] * w[o, c, p, q]
    return y


def brute_gradients(x, w, g, stride, padding):
    """dL/dx and dL/dw for L = sum(y * g), by the chain rule on the same loops."""
    (sH, sW), (pH, pW) = stride, padding
    N, C, H, W = x.shape
    O, _, kH, kW = w.shape
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for n in range(N):
        for o in range(O):
            for i in range(g.shape[2]):
                for j in range(g.shape[3]):
                    for c in range(C):
                        for p in range(kH):
                            for q in range(kW):
                                h, v = i * sH + p - pH, j * sW + q - pW
                                if 0 <= h < H and 0 <= v < W:
                                    dx[n, c, h, v] += g[n, o, i, j] * w[o, c, p, q]
                                    dw[o, c, p, q] += g[n, o, i, j] * x[n, c, h, v]
    return dx, dw


BRUTE_CASES = [
    # (N, C_in, C_out, H, W, kH, kW, stride, padding)
    (2, 3, 2, 6, 5, 3, 2, (2, 1), (1, 2)),  # non-square everything
    (1, 2, 3, 7, 7, 2, 2, (3, 3), (0, 0)),  # stride > kernel: some pixels unused
    (2, 1, 2, 5, 4, 4, 3, (1, 2), (2, 1)),  # overlapping windows, wide padding
    (1, 2, 2, 3, 3, 5, 5, (1, 1), (1, 1)),  # kernel as big as the padded input
]


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("case", BRUTE_CASES)
def test_matches_brute_force(module, case):
    N, C, O, H, W, kH, kW, stride, padding = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((O, C, kH, kW))
    y = module.conv2d(x, w, stride, padding)
    np.testing.assert_allclose(y, brute_conv2d(x, w, stride, padding), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    dx, dw = brute_gradients(x, w, g, stride, padding)
    np.testing.assert_allclose(
        module.conv2d_grad_input(g, w, (H, W), stride, padding), dx, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(
        module.conv2d_grad_weight(x, g, (kH, kW), stride, padding), dw, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("module, channels", [
    pytest.param(conv_naive, 2, id="naive"),
    pytest.param(conv_numpy, 2, id="numpy"),
    pytest.param(conv_compiled, 2, id="compiled-implicit", marks=needs_compiled),
    pytest.param(conv_compiled, 40, id="compiled-indirect", marks=needs_compiled),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_adds_the_bias_to_the_finished_sum(module, channels, dtype):
    """conv2d(x, w, bias=b) == conv2d(x, w) + b[o], bit for bit: each rung adds b to the sum it
    has finished (the compiled kernel as it writes y, on both of its paths: few input channels
    take the implicit GEMM, many the indirect one)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, channels, 7, 6)).astype(dtype)
    w = rng.standard_normal((3, channels, 3, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    y = module.conv2d(x, w, (2, 1), (1, 1), b)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, module.conv2d(x, w, (2, 1), (1, 1)) + b[:, None, None])
    np.testing.assert_array_equal(module.conv2d(x, w, (2, 1), (1, 1), None),
                                  module.conv2d(x, w, (2, 1), (1, 1)))


# ---------------------------------------------------------------------------------------------
# 2. Random shapes: compiled == twin, and the adjoint identities.


@st.composite
def conv_problems(draw, small=False):
    """A random convolution; ``small`` ones (for the naive rung) are at most 6x6, 2 channels."""
    kH, kW = draw(st.integers(1, 3 if small else 5)), draw(st.integers(1, 3 if small else 5))
    sH, sW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pH, pW = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    # the padded input must hold the kernel; sizes reach primes like 7, 11, 13
    H = draw(st.integers(max(1, kH - 2 * pH), 6 if small else 13))
    W = draw(st.integers(max(1, kW - 2 * pW), 6 if small else 13))
    most = 2 if small else 4
    N, C, O = draw(st.integers(0, 3)), draw(st.integers(1, most)), draw(st.integers(1, most))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided"]))
    seed = draw(st.integers(0, 2**32 - 1))
    return (N, C, O, H, W, kH, kW, (sH, sW), (pH, pW), dtype, layout, seed)


def make_input(rng, shape, dtype, layout):
    """A (N, C, H, W) array, possibly a non-contiguous view."""
    N, C, H, W = shape
    if layout == "transposed":  # W and H swapped in memory
        return rng.standard_normal((N, C, W, H)).astype(dtype).transpose(0, 1, 3, 2)
    if layout == "strided":  # every other element of a wider array
        return rng.standard_normal((N, C, H, 2 * W)).astype(dtype)[..., ::2]
    return rng.standard_normal(shape).astype(dtype)


def problem_for(module, data):
    """A problem sized for ``module``: small for the naive loops."""
    return data.draw(conv_problems(small=module is conv_naive), label="problem")


@pytest.mark.parametrize("module", [pytest.param(conv_naive, id="naive"),
                                    pytest.param(conv_compiled, id="compiled",
                                                 marks=needs_compiled)])
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_matches_twin(module, data):
    N, C, O, H, W, kH, kW, stride, padding, dtype, layout, seed = problem_for(module, data)
    rng = np.random.default_rng(seed)
    x = make_input(rng, (N, C, H, W), dtype, layout)
    w = rng.standard_normal((O, C, kH, kW)).astype(dtype)
    y = module.conv2d(x, w, stride, padding)
    y_twin = conv_numpy.conv2d(x, w, stride, padding)
    assert y.dtype == dtype and y.shape == y_twin.shape and y.flags.c_contiguous
    np.testing.assert_allclose(y, y_twin, **tolerance(dtype))

    g = make_input(rng, y.shape, dtype, layout)
    dx = module.conv2d_grad_input(g, w, (H, W), stride, padding)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(
        dx, conv_numpy.conv2d_grad_input(g, w, (H, W), stride, padding), **tolerance(dtype)
    )
    dw = module.conv2d_grad_weight(x, g, (kH, kW), stride, padding)
    assert dw.dtype == dtype and dw.shape == w.shape
    np.testing.assert_allclose(
        dw, conv_numpy.conv2d_grad_weight(x, g, (kH, kW), stride, padding), **tolerance(dtype)
    )

    cols = module.im2col(x, (kH, kW), stride, padding)
    cols_twin = conv_numpy.im2col(x, (kH, kW), stride, padding)
    assert cols.dtype == dtype and cols.shape == cols_twin.shape and cols.flags.c_contiguous
    np.testing.assert_array_equal(cols, cols_twin)  # copies only: exactly equal
    back = module.col2im(cols, x.shape, (kH, kW), stride, padding)
    assert back.dtype == dtype and back.shape == x.shape
    np.testing.assert_allclose(
        back, conv_numpy.col2im(cols, x.shape, (kH, kW), stride, padding), **tolerance(dtype)
    )


@pytest.mark.parametrize("module", MODULES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_adjoint_identities(module, data):
    """<conv2d(x, w), y> == <x, grad_input(y, w)> == <w, grad_weight(x, y)>, and
    <im2col(x), c> == <x, col2im(c)>.

    conv2d is linear in x and in w, so each gradient is the adjoint (transpose) of conv2d in
    that argument: this identity defines them, independently of any implementation. col2im is
    defined the same way, as the adjoint of im2col.
    """
    N, C, O, H, W, kH, kW, stride, padding, _, layout, seed = problem_for(module, data)
    rng = np.random.default_rng(seed)
    x = make_input(rng, (N, C, H, W), np.float64, layout)
    w = rng.standard_normal((O, C, kH, kW))
    y = rng.standard_normal((N, O) + module.conv2d(x, w, stride, padding).shape[2:])
    forward = np.vdot(module.conv2d(x, w, stride, padding), y)
    via_input = np.vdot(x, module.conv2d_grad_input(y, w, (H, W), stride, padding))
    via_weight = np.vdot(w, module.conv2d_grad_weight(x, y, (kH, kW), stride, padding))
    assert via_input == pytest.approx(forward, rel=1e-9, abs=1e-9)
    assert via_weight == pytest.approx(forward, rel=1e-9, abs=1e-9)
    cols = module.im2col(x, (kH, kW), stride, padding)
    c = rng.standard_normal(cols.shape)
    back = module.col2im(c, x.shape, (kH, kW), stride, padding)
    assert np.vdot(cols, c) == pytest.approx(np.vdot(x, back), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("case", BRUTE_CASES)
def test_convolution_is_one_matrix_product_with_im2col(module, case):
    """conv2d(x, w)[n, o, i, j] = (w.reshape(C_out, C*kH*kW) @ im2col(x))[o, (n, i, j)]."""
    N, C, O, H, W, kH, kW, stride, padding = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((O, C, kH, kW))
    y = module.conv2d(x, w, stride, padding)
    rows = w.reshape(O, C * kH * kW) @ module.im2col(x, (kH, kW), stride, padding)
    np.testing.assert_allclose(rows.reshape(O, N, *y.shape[2:]).transpose(1, 0, 2, 3), y,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("module", MODULES)
def test_zero_batch(module):
    x = np.zeros((0, 3, 9, 9), np.float32)
    w = np.ones((5, 3, 3, 2), np.float32)
    y = module.conv2d(x, w, (2, 1), (1, 0))
    assert y.shape == (0, 5, 5, 8) and y.dtype == np.float32
    assert module.conv2d_grad_input(y, w, (9, 9), (2, 1), (1, 0)).shape == (0, 3, 9, 9)
    dw = module.conv2d_grad_weight(x, y, (3, 2), (2, 1), (1, 0))
    assert dw.shape == w.shape and not dw.any()
    cols = module.im2col(x, (3, 2), (2, 1), (1, 0))
    assert cols.shape == (3 * 3 * 2, 0)
    assert module.col2im(cols, x.shape, (3, 2), (2, 1), (1, 0)).shape == x.shape


@pytest.mark.parametrize("module", MODULES)
def test_int_stride_and_padding_mean_pairs(module):
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 2, 8, 8)), rng.standard_normal((3, 2, 3, 3))
    np.testing.assert_array_equal(module.conv2d(x, w, 2, 1), module.conv2d(x, w, (2, 2), (1, 1)))


@needs_compiled
def test_thread_count_from_environment():
    """TINYGAN_NUM_THREADS is read at import; one thread gives the same numbers as several."""
    script = (
        "import numpy as np\n"
        "from tinygan._kernels import conv\n"
        "rng = np.random.default_rng(3)\n"
        "x, w = rng.standard_normal((5, 7, 9, 9)), rng.standard_normal((4, 7, 3, 3))\n"
        "y = conv.conv2d(x, w, 2, 1)\n"
        "dx = conv.conv2d_grad_input(y, w, (9, 9), 2, 1)\n"
        "print(conv.get_num_threads(), float(np.abs(dx).sum()).hex())\n"
    )
    outputs = []
    for threads in ("1", "3"):
        env = dict(os.environ, TINYGAN_NUM_THREADS=threads, PYTHONPATH=str(ROOT))
        result = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", script],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        outputs.append(result.stdout.split())
    # the variable is capped at the cores this process may use (issue 9, item 16)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert [count for count, _ in outputs] == ["1", str(min(3, cores))]
    assert outputs[0][1] == outputs[1][1]  # each pixel is summed in the same order: bitwise equal


# ---------------------------------------------------------------------------------------------
# 3. PyTorch, including conv_transpose2d with output_padding.


@pytest.mark.parametrize("module", MODULES)
def test_against_torch(module):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(4)
    for stride, padding, kernel in [((2, 2), (1, 1), (4, 4)), ((1, 3), (2, 0), (3, 5))]:
        x = rng.standard_normal((3, 4, 11, 13)).astype(np.float32)
        w = rng.standard_normal((5, 4) + kernel).astype(np.float32)
        x_t = torch.tensor(x, requires_grad=True)
        w_t = torch.tensor(w, requires_grad=True)
        y_t = functional.conv2d(x_t, w_t, stride=stride, padding=padding)
        g = rng.standard_normal(tuple(y_t.shape)).astype(np.float32)
        y_t.backward(torch.tensor(g))
        tol = tolerance(np.float32)
        np.testing.assert_allclose(module.conv2d(x, w, stride, padding), y_t.detach(), **tol)
        np.testing.assert_allclose(
            module.conv2d_grad_input(g, w, x.shape[2:], stride, padding), x_t.grad, **tol
        )
        np.testing.assert_allclose(
            module.conv2d_grad_weight(x, g, kernel, stride, padding), w_t.grad, **tol
        )
        # conv_transpose2d(z, w) is conv2d_grad_input(z, w, out_hw); output_padding picks
        # which of the input sizes that share one output size is meant.
        z = rng.standard_normal((2, 5, 4, 6)).astype(np.float32)
        for output_padding in [(0, 0), (stride[0] - 1, stride[1] - 1)]:
            expected = functional.conv_transpose2d(
                torch.tensor(z),
                torch.tensor(w),
                stride=stride,
                padding=padding,
                output_padding=output_padding,
            )
            out_hw = tuple(expected.shape[2:])
            np.testing.assert_allclose(
                module.conv2d_grad_input(z, w, out_hw, stride, padding), expected, **tol
            )


# ---------------------------------------------------------------------------------------------
# Bad input: the right exception, naming the op, what was expected and what was given.

F32 = np.float32
BAD_CALLS = [
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((2, 3, 8, 8), F32), np.zeros((64, 1, 4, 4), F32)),
        ValueError,
        "conv2d: input has 3 channels but weight expects 1 (input shape (2, 3, 8, 8), "
        "weight shape (64, 1, 4, 4))",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((3, 8, 8), F32), np.zeros((4, 3, 3, 3), F32)),
        ValueError,
        "conv2d: input must be 4-D, got 3-D with shape (3, 8, 8)",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 4, 4), F32), np.zeros((1, 1, 2, 2))),
        TypeError,
        "conv2d: input and weight must have the same dtype, got float32 and float64",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 4, 4), int), np.zeros((1, 1, 2, 2), int)),
        TypeError,
        "conv2d: input must be float32 or float64, got int64",
    ),
    (
        "conv2d",
        lambda m: m.conv2d([[[[1.0]]]], np.zeros((1, 1, 1, 1))),
        TypeError,
        "conv2d: input must be a numpy.ndarray, got list",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 3, 8)), np.zeros((1, 1, 6, 2)), 1, 1),
        ValueError,
        "conv2d: kernel height 6 is larger than the padded input height 5 "
        "(input 3 + 2 * padding 1)",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), (1, 0)),
        ValueError,
        "conv2d: stride must be >= 1, got (1, 0)",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), 1, -1),
        ValueError,
        "conv2d: padding must be >= 0, got -1",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), (1, 2, 3)),
        TypeError,
        "conv2d: stride must be an int or a pair of ints, got (1, 2, 3)",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2)), 1.5),
        TypeError,
        "conv2d: stride must be an int or a pair of ints, got 1.5",
    ),
    (
        "conv2d",
        lambda m: m.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((0, 1, 2, 2))),
        ValueError,
        "conv2d: weight must have at least one output channel, got shape (0, 1, 2, 2)",
    ),
    (
        "conv2d_grad_input",
        lambda m: m.conv2d_grad_input(
            np.zeros((2, 4, 4, 4), F32), np.zeros((4, 3, 4, 4), F32), (10, 10), 2, 1
        ),
        ValueError,
        "conv2d_grad_input: grad_out is 4x4 but an input of 10x10 with kernel 4x4, "
        "stride (2, 2) and padding (1, 1) gives 5x5",
    ),
    (
        "conv2d_grad_input",
        lambda m: m.conv2d_grad_input(
            np.zeros((2, 5, 4, 4), F32), np.zeros((4, 3, 4, 4), F32), (8, 8), 2, 1
        ),
        ValueError,
        "conv2d_grad_input: grad_out has 5 channels but weight has 4 output channels "
        "(weight shape (4, 3, 4, 4))",
    ),
    (
        "conv2d_grad_input",
        lambda m: m.conv2d_grad_input(
            np.zeros((2, 4, 4, 4), F32), np.zeros((4, 3, 4, 4), F32), (0, 8), 2, 1
        ),
        ValueError,
        "conv2d_grad_input: input_hw must be >= 1, got (0, 8)",
    ),
    (
        "conv2d_grad_weight",
        lambda m: m.conv2d_grad_weight(
            np.zeros((3, 2, 8, 8), F32), np.zeros((2, 4, 4, 4), F32), (4, 4), 2, 1
        ),
        ValueError,
        "conv2d_grad_weight: input has batch 3 but grad_out has batch 2",
    ),
    (
        "conv2d_grad_weight",
        lambda m: m.conv2d_grad_weight(
            np.zeros((2, 2, 8, 8), F32), np.zeros((2, 4, 4, 4), F32), (3, 3), 1, 0
        ),
        ValueError,
        "conv2d_grad_weight: grad_out is 4x4 but an input of 8x8 with kernel 3x3, "
        "stride (1, 1) and padding (0, 0) gives 6x6",
    ),
    (
        "conv2d bias shape",
        lambda m: m.conv2d(np.zeros((1, 2, 4, 4), F32), np.zeros((3, 2, 3, 3), F32), 1, 0,
                           np.zeros(2, F32)),
        ValueError,
        "conv2d: bias of shape (2,) does not match the 3 output channels (expected (3,))",
    ),
    (
        "conv2d bias dtype",
        lambda m: m.conv2d(np.zeros((1, 2, 4, 4), F32), np.zeros((3, 2, 3, 3), F32), 1, 0,
                           np.zeros(3)),
        TypeError,
        "conv2d: bias is float64, the input is float32; they must match",
    ),
    (
        "conv2d bias type",
        lambda m: m.conv2d(np.zeros((1, 2, 4, 4), F32), np.zeros((3, 2, 3, 3), F32), 1, 0,
                           [0.0, 0.0, 0.0]),
        TypeError,
        "conv2d: bias must be a numpy.ndarray or None, got list",
    ),
    (
        "im2col",
        lambda m: m.im2col(np.zeros((1, 2, 3, 3), F32), (4, 4), 1, 0),
        ValueError,
        "im2col: kernel height 4 is larger than the padded input height 3 "
        "(input 3 + 2 * padding 0)",
    ),
    (
        "col2im",
        lambda m: m.col2im(np.zeros((18, 5), F32), (1, 2, 4, 4), (3, 3), 1, 0),
        ValueError,
        "col2im: cols has shape (18, 5) but an input of shape (1, 2, 4, 4) with kernel (3, 3), "
        "stride (1, 1) and padding (0, 0) gives (18, 4)",
    ),
    (
        "col2im",
        lambda m: m.col2im(np.zeros((18, 4), F32), (1, 2, 4), (3, 3), 1, 0),
        TypeError,
        "col2im: input_shape must be (N, C, H, W), got (1, 2, 4)",
    ),
]


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize(
    "call, error, message", [case[1:] for case in BAD_CALLS], ids=[case[0] for case in BAD_CALLS]
)
def test_bad_input_is_reported(module, call, error, message):
    with pytest.raises(error) as caught:
        call(module)
    assert str(caught.value) == message


@needs_compiled
def test_the_python_callable_helpers_refuse_geometry_that_does_not_fit():
    conv = importlib.import_module("tinygan._kernels.conv")
    with pytest.raises(ValueError, match="do not fit a padded 4x4 input"):
        conv._im2col(np.ones((1, 1, 4, 4)), np.empty((1, 1)), np.empty((1, 1)),
                     3, 3, 1, 1, 0, 0, 1000, 1000)
    with pytest.raises(ValueError, match="column matrix is"):
        conv._col2im(np.ones((9, 5)), np.empty((1, 1, 4, 4)), np.empty((8, 16)),
                     3, 3, 1, 1, 0, 0, 2, 2)
    with pytest.raises(ValueError, match="expected \\(3, 2, 4\\)"):
        conv._swap_first_axes(np.ones((2, 3, 4)), np.empty((1, 1, 1)))


@needs_compiled
def test_set_num_threads_reaches_the_convolution():
    import tinygan

    conv = importlib.import_module("tinygan._kernels.conv")
    before = tinygan.kernels.get_num_threads()
    try:
        tinygan.kernels.set_num_threads(1)
        assert conv.get_num_threads() == 1
    finally:
        tinygan.kernels.set_num_threads(before)


def test_a_bad_thread_count_in_the_environment_warns_and_imports():
    env = dict(os.environ, TINYGAN_NUM_THREADS="abc", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", "import tinygan; print(tinygan.kernels.get_num_threads())"],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )
    assert "is not a positive integer" in result.stderr
    assert int(result.stdout) >= 1
