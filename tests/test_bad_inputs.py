"""The bad-input suite: what a hostile but fair user can throw at tinygan, and what it must get.

Every finding of the hardening issue (issue 9) is a test here, named ``test_9_<item>_...`` with
the item number of the issue, grouped by the issue's categories:

- crashes: inputs that used to kill the interpreter (run in a child process, so that a
  regression fails one test instead of the whole run);
- silent wrong answers: inputs that used to give a plausible but wrong result;
- checkpoints: interrupted, shared, symlinked, damaged or crafted checkpoint files
  (``tests/test_bad_inputs_checkpoints.py``);
- unclear errors: every error names the op or argument, what was expected and what was given.

The fuzz of the compiled kernels' entry points with adversarial geometry lives in
``tests/test_bad_inputs_fuzz.py``.

The rule they enforce: bad input gets a clear error naming the expected and the actual, never a
traceback from deep inside, a crash in a kernel, or a silent wrong answer.
"""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn

compiled = pytest.mark.skipif("compiled" not in tg.kernels.available(),
                              reason="the compiled kernels are not built")


def run_isolated(code):
    """Run ``code`` in a fresh interpreter; returns (returncode, stdout + stderr).

    A segfault shows up as a negative return code (-11) instead of killing the test run.
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=120,
                            env={"TINYGAN_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"})
    return result.returncode, result.stdout + result.stderr


# =============================================================================================
# Crashes: the interpreter must survive, with an error naming the shapes or the geometry.


@compiled
def test_9_1_gemm_workspace_size_overflow_is_a_memory_error_not_a_segfault():
    code, output = run_isolated("""
        import numpy as np, tinygan
        K = 768614336404564656
        x = tinygan.tensor(np.ones((1, 1))).broadcast_to((1, K))
        w = tinygan.tensor(np.ones((1, 1))).broadcast_to((K, 1))
        try:
            x @ w
        except MemoryError as error:
            print("MemoryError:", error)
    """)
    assert code == 0, output
    assert f"MemoryError: gemm: (1, {768614336404564656})" in output


@compiled
def test_9_1_gemm_buffer_sizes_near_2_63_are_refused_cleanly():
    # zero-stride float32 operands whose packing buffers (k * n, k elements) exceed memory or
    # the address space: dot path, narrow and short C, a batch, and transposed operands
    code, output = run_isolated("""
        import numpy as np, importlib
        gemm = importlib.import_module("tinygan._kernels.gemm")
        one = np.ones(1, np.float32)
        cases = [((1, 2**60), (2**60, 1), False), ((3, 2**59), (2**59, 1), False),
                 ((1, 2**59), (2**59, 3), False), ((2, 1, 2**58), (2**58, 3), False),
                 ((2**60, 1), (2**60, 1), True)]
        for a_shape, b_shape, transpose_a in cases:
            a, b = np.broadcast_to(one, a_shape), np.broadcast_to(one, b_shape)
            try:
                gemm.gemm(a, b, transpose_a)
                print("accepted", a_shape)
            except MemoryError as error:
                print("refused:", error)
    """)
    assert code == 0, output
    assert output.count("refused: gemm: (") == 5, output


@compiled
@pytest.mark.parametrize("helper", ["_im2col", "_col2im"])
@pytest.mark.parametrize("geometry", [
    dict(kH=1, kW=1, sH=2**62, sW=2**62, pH=0, pW=0, H_out=2, W_out=2),  # (H_out-1)*sH wraps
    dict(kH=2**62, kW=4, sH=1, sW=1, pH=2**61, pW=0, H_out=1, W_out=1),  # C*kH*kW wraps
    dict(kH=1, kW=1, sH=1, sW=1, pH=2**62, pW=2**62, H_out=1, W_out=1),  # (H+2pH)(W+2pW) wraps
])
def test_9_2_conv_helpers_refuse_geometry_whose_sizes_overflow(helper, geometry):
    code, output = run_isolated(f"""
        import numpy as np, importlib
        conv = importlib.import_module("tinygan._kernels.conv")
        image, cols, scratch = np.ones((1, 1, 2, 2)), np.ones((4, 4)), np.ones((2, 64))
        args = (image, cols, scratch) if "{helper}" == "_im2col" else (cols, image, scratch)
        try:
            getattr(conv, "{helper}")(*args, **{geometry!r})
            print("accepted")
        except (ValueError, OverflowError) as error:
            print("refused:", error)
    """)
    assert code == 0, output
    assert "refused:" in output, output


# =============================================================================================
# Silent wrong answers.


@pytest.mark.parametrize("value", [np.array([1.0000000000000002], ">f8"),
                                   np.array([1.0000000000000002], np.longdouble),
                                   np.longdouble(1.0000000000000002)])
def test_9_5_float64_in_other_byte_order_and_long_double_become_native_float64(value):
    t = tg.tensor(value)
    assert t.dtype == np.float64 and t.dtype.isnative
    assert t.data.reshape(-1)[0] == 1.0000000000000002


def test_9_5_float32_in_other_byte_order_becomes_native_float32():
    t = tg.tensor(np.array([1.5], ">f4"))
    assert t.dtype == np.float32 and t.dtype.isnative and t.item() == 1.5


@pytest.mark.parametrize("op, call", [
    ("transpose", lambda x: x.transpose(1, 2)),
    ("transpose", lambda x: x.transpose(0, -3)),
    ("flatten", lambda x: x.flatten(5)),
    ("swapaxes", lambda x: x.swapaxes(0, 5)),
    ("sum", lambda x: x.sum(axis=2)),
    ("mean", lambda x: x.mean(axis=(0, 3))),
    ("max", lambda x: x.max(axis=-3)),
    ("concatenate", lambda x: tg.concatenate([x, x], axis=2)),
    ("stack", lambda x: tg.stack([x, x], axis=4)),
])
def test_9_6_axes_out_of_range_are_errors_naming_the_axis_and_the_shape(op, call):
    x = tg.ones(2, 3)
    with pytest.raises(IndexError, match=rf"^{op}: axis -?\d+ is out of range .*(\(2, 3\)|3 dim)"):
        call(x)


def test_9_6_negative_axes_in_range_still_work():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.transpose(-1, -2).shape == (3, 2)
    assert x.flatten(-1).shape == (2, 3)
    assert x.swapaxes(0, -1).shape == (3, 2)


def test_9_12_a_bool_mask_made_into_a_tensor_is_refused_not_gathered():
    x = tg.arange(6.0).reshape(3, 2)
    mask = tg.tensor(np.array([True, False, True]))  # becomes 1., 0., 1.
    with pytest.raises(IndexError, match=r"0s and 1s of shape \(3,\).*\(3, 2\).*bool"):
        x[mask]
    np.testing.assert_array_equal(x[np.array([True, False, True])].data, [[0, 1], [4, 5]])
    np.testing.assert_array_equal(x[tg.tensor([2.0, 0.0])].data, [[4, 5], [0, 1]])


@pytest.mark.parametrize("call, message", [
    (lambda: tg.zeros(2.5), r"zeros: size must be an int, got 2\.5 \(float\)"),
    (lambda: tg.ones((2, 3.0)), r"ones: size must be an int, got 3\.0"),
    (lambda: tg.randn(True), r"randn: size must be an int, got True"),
    (lambda: tg.full(-1, 2.0), r"full: size must be >= 0, got -1"),
    (lambda: nn.Dense(2.7, 3), r"Dense: in_features must be an int, got 2\.7"),
    (lambda: nn.Dense(2, -3), r"Dense: out_features must be >= 0, got -3"),
    (lambda: nn.BatchNorm1d(4.0), r"BatchNorm1d: num_features must be an int, got 4\.0"),
])
def test_9_12_sizes_are_never_truncated(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()


# =============================================================================================
# Unclear errors: name the op or the argument, the expected and the actual.


@pytest.mark.parametrize("layer, kwargs, exception, message", [
    (nn.Conv2d, dict(stride=1.5), TypeError, "Conv2d: stride must be an int or a pair of ints, "
                                             "got 1.5"),
    (nn.Conv2d, dict(stride=None), TypeError, "Conv2d: stride must be an int or a pair"),
    (nn.Conv2d, dict(stride=True), TypeError, "Conv2d: stride must be an int or a pair"),
    (nn.Conv2d, dict(stride=0), ValueError, "Conv2d: stride must be >= 1, got 0"),
    (nn.Conv2d, dict(stride=(1, 2, 3)), TypeError, "Conv2d: stride must be an int or a pair"),
    (nn.Conv2d, dict(padding=-1), ValueError, "Conv2d: padding must be >= 0, got -1"),
    (nn.Conv2d, dict(kernel_size=0), ValueError, "Conv2d: kernel_size must be >= 1, got 0"),
    (nn.Conv2d, dict(in_channels=-3), ValueError, "Conv2d: in_channels must be >= 1, got -3"),
    (nn.Conv2d, dict(out_channels=0), ValueError, "Conv2d: out_channels must be >= 1, got 0"),
    (nn.Conv2d, dict(out_channels=4.0), TypeError, "Conv2d: out_channels must be an int"),
    (nn.ConvTranspose2d, dict(stride=0), ValueError, "ConvTranspose2d: stride must be >= 1"),
    (nn.ConvTranspose2d, dict(stride=2, output_padding=2), ValueError,
     "ConvTranspose2d: output_padding (2, 2) must be smaller than stride (2, 2)"),
    (nn.ConvTranspose2d, dict(output_padding=-1), ValueError,
     "ConvTranspose2d: output_padding must be >= 0"),
])
def test_9_17_conv_layer_arguments_are_checked_at_construction(layer, kwargs, exception,
                                                               message):
    arguments = dict(in_channels=3, out_channels=4, kernel_size=3) | kwargs
    with pytest.raises(exception, match=re.escape(message)):
        layer(**arguments)


@pytest.mark.parametrize("call, exception, message", [
    (lambda x, w: tg.functional.conv2d(x, w, stride=0), ValueError,
     "conv2d: stride must be >= 1, got 0"),
    (lambda x, w: tg.functional.conv2d(x, w, stride=1.5), TypeError,
     "conv2d: stride must be an int or a pair of ints, got 1.5"),
    (lambda x, w: tg.functional.conv2d(x, w, padding=2**40), ValueError,
     "conv2d: an input of 5x5 with kernel 3x3"),
    (lambda x, w: tg.functional.conv2d(x.numpy().tolist(), w), TypeError,
     "conv2d: input must be a Tensor, got list"),
    (lambda x, w: tg.functional.conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride=0),
     ValueError, "conv_transpose2d: stride must be >= 1, got 0"),
    (lambda x, w: tg.functional.conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride=2,
                                                 output_padding=None),
     TypeError, "conv_transpose2d: output_padding must be an int or a pair of ints, got None"),
])
def test_9_17_functional_conv_arguments_are_checked_at_the_entry(call, exception, message):
    x, w = tg.ones(1, 2, 5, 5), tg.ones(4, 2, 3, 3)
    with pytest.raises(exception, match=re.escape(message)):
        call(x, w)


def test_9_17_a_conv_layer_that_constructs_runs():
    layer = nn.Conv2d(2, 4, 3, stride=(2, 1), padding=1)
    assert layer(tg.ones(1, 2, 5, 5)).shape == (1, 4, 3, 5)


def test_9_19_a_ragged_nested_list_names_the_problem():
    with pytest.raises(ValueError, match=r"^tensor: the nested lists must form a rectangular"):
        tg.tensor([[1, 2], [3]])


def test_9_19_stack_of_mismatched_shapes_names_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=re.escape("stack: tensors must all have the same "
                                                   "shape, got [(2,), (3,)]")):
        tg.stack([tg.ones(2), tg.ones(3)])
    with pytest.raises(ValueError, match=re.escape("concatenate: shapes [(2, 2), (3, 3)]")):
        tg.concatenate([tg.ones(2, 2), tg.ones(3, 3)])
    with pytest.raises(ValueError, match="stack: expected at least one tensor"):
        tg.stack([])
