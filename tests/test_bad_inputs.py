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

import os
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
@pytest.mark.parametrize("geometry, cols_shape", [
    # (H_out - 1) * sH = 2**63 wraps to a negative number: the window check passed, and the
    # strided reads landed at wrapped offsets (col2im gave [9, 0, 0, 0] for a 2x2 image)
    (dict(kH=1, kW=1, sH=2**62, sW=2**62, pH=0, pW=0, H_out=3, W_out=3), (1, 9)),
    # C * kH * kW = 2**64 wraps to 0: a (0, 1) column matrix passed, and 2**62 kernel rows
    # were written into it (segfault)
    (dict(kH=2**62, kW=4, sH=1, sW=1, pH=2**61, pW=1, H_out=1, W_out=1), (0, 1)),
    # (H + 2 pH)(W + 2 pW) with padding 2**62 wraps to H * W: the scratch check passed, and the
    # image was copied to (and read from) far outside the scratch plane
    (dict(kH=1, kW=1, sH=1, sW=1, pH=2**62, pW=2**62, H_out=0, W_out=0), (1, 0)),
])
def test_9_2_conv_helpers_refuse_geometry_whose_sizes_overflow(helper, geometry, cols_shape):
    code, output = run_isolated(f"""
        import numpy as np, importlib
        conv = importlib.import_module("tinygan._kernels.conv")
        image, cols, scratch = np.ones((1, 1, 2, 2)), np.ones({cols_shape}), np.ones((2, 64))
        args = (image, cols, scratch) if "{helper}" == "_im2col" else (cols, image, scratch)
        try:
            getattr(conv, "{helper}")(*args, **{geometry!r})
            print("accepted", image.ravel())
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


# ---------------------------------------------------------------------------------------------
# Silent wrong answers (continued): optimizers, losses, gradcheck, load_state_dict.


def test_9_3_an_optimizer_of_a_single_parameter_is_a_type_error():
    w = nn.Parameter(np.ones((2, 3), np.float32))
    for make in (lambda: tg.optim.SGD(w, lr=0.5), lambda: tg.optim.Adam(w),
                 lambda: tg.optim.RMSprop(w)):
        with pytest.raises(TypeError, match=r"params must be an iterable of Tensors.*got "
                                            r"Parameter"):
            make()
    optimizer = tg.optim.SGD([w], lr=0.5)  # the right way, and a group of one Tensor
    optimizer.add_param_group({"params": nn.Parameter(np.ones(2))})
    w.grad = np.ones((2, 3), np.float32)
    optimizer.step()
    np.testing.assert_array_equal(w.data, 0.5)


def test_9_7_bce_targets_outside_0_1_or_nan_are_refused():
    p = tg.tensor([0.2, 0.7])
    for target in ([0.0, 2.0], [-0.5, 1.0], [np.nan, 1.0]):
        with pytest.raises(ValueError, match=r"binary_cross_entropy: every target must be a "
                                             r"probability in \[0, 1\]"):
            tg.functional.binary_cross_entropy(p, np.array(target))
    with pytest.raises(ValueError, match="every target"):
        tg.functional.binary_cross_entropy(p, 1.5)
    assert tg.functional.binary_cross_entropy(p, np.array([0.0, 1.0])).item() > 0


def test_9_7_bce_inputs_with_nan_are_refused():
    with pytest.raises(ValueError, match=r"every input must be a probability.*NaN"):
        tg.functional.binary_cross_entropy(tg.tensor([np.nan, 0.5]), np.array([0.0, 1.0]))


def test_9_8_gradcheck_restores_its_input_when_fn_raises():
    x = tg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    original = x.data
    snapshot = original.copy()
    calls = []

    def fn(t):
        calls.append(1)
        if len(calls) == 3:  # the analytic pass and one perturbed evaluation succeed
            raise RuntimeError("boom")
        return (t * t).sum()

    with pytest.raises(RuntimeError, match="boom"):
        tg.gradcheck(fn, x)
    assert x.data is original
    np.testing.assert_array_equal(x.data, snapshot)


@pytest.mark.parametrize("value, message", [
    (np.array([[None, None], [None, None]], dtype=object), "holds object values"),
    (np.full((2, 2), 1e300), "not a finite float32"),
    (np.full((2, 2), np.nan), "not a finite float32"),
    (np.full((2, 2), 1 + 2j), "holds complex128 values"),
    ([[1, 2], [3]], "inhomogeneous"),
])
def test_9_9_load_state_dict_refuses_values_that_would_become_wrong_weights(value, message):
    model = nn.Dense(2, 2)
    before = model.state_dict()
    state = model.state_dict() | {"weight": value}
    with pytest.raises(RuntimeError, match=rf"'weight' to float32: .*{message}"):
        model.load_state_dict(state)
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[key])


def test_9_9_load_state_dict_refuses_a_negative_running_var():
    model = nn.BatchNorm1d(3)
    state = model.state_dict() | {"running_var": np.array([1.0, -0.5, 1.0])}
    with pytest.raises(RuntimeError, match=r"'running_var': running_var must be >= 0"):
        model.load_state_dict(state)
    state = model.state_dict() | {"num_batches_tracked": np.array(2.5)}
    with pytest.raises(RuntimeError, match=r"'num_batches_tracked'.*not whole numbers"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.running_var, 1.0)


def test_9_9_a_read_only_destination_fails_before_anything_is_overwritten():
    model = nn.Sequential(nn.Dense(2, 2), nn.Dense(2, 1))
    before = model.state_dict()
    model[1].weight.data.flags.writeable = False
    state = {key: value + 1 for key, value in before.items()}
    with pytest.raises(RuntimeError, match=r"'1.weight' cannot be loaded: .*read-only"):
        model.load_state_dict(state)
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[key])


def test_9_11_a_grad_of_the_wrong_shape_is_refused_and_a_float64_grad_is_cast():
    w = nn.Parameter(np.ones((2, 3), np.float32))
    optimizer = tg.optim.SGD([w], lr=0.5)
    w.grad = np.ones((3,), np.float32)  # would broadcast
    with pytest.raises(ValueError, match=r"SGD.step: a parameter of shape \(2, 3\) has a .grad "
                                         r"of shape \(3,\)"):
        optimizer.step()
    assert w.shape == (2, 3)
    for make in (lambda p: tg.optim.SGD([p], lr=0.5), lambda p: tg.optim.Adam([p]),
                 lambda p: tg.optim.RMSprop([p], momentum=0.9)):
        p = nn.Parameter(np.ones((2, 3), np.float32))
        p.grad = np.ones((2, 3), np.float64)
        make(p).step()
        assert p.dtype == np.float32


@pytest.mark.parametrize("make, message", [
    (lambda w: tg.optim.Adam([w], lr=float("nan")), "Adam: lr must be a finite number, got nan"),
    (lambda w: tg.optim.Adam([w], eps=float("nan")), "Adam: eps must be a finite number"),
    (lambda w: tg.optim.SGD([w], lr=float("inf")), "SGD: lr must be a finite number"),
    (lambda w: tg.optim.RMSprop([w], alpha=float("nan")), "RMSprop: alpha must be a finite"),
    (lambda w: tg.optim.Adam([w], betas=(0.9, float("nan"))), "Adam: beta2 must be a finite"),
])
def test_9_12_nan_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make(nn.Parameter(np.ones(2)))


def test_9_12_set_num_threads_refuses_fractions():
    with pytest.raises(TypeError, match=r"set_num_threads: n must be an int, got 1\.5"):
        tg.kernels.set_num_threads(1.5)


@pytest.mark.parametrize("result", [np.ones(2), 1.5, None, (tg.ones(1), 2.0)])
def test_9_18_gradcheck_of_a_function_that_returns_no_tensor_says_so(result):
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match=r"gradcheck: fn must return a Tensor or a tuple of "
                                        r"Tensors, got"):
        tg.gradcheck(lambda t: result, x)


def test_9_18_a_nan_numerical_derivative_fails_loudly():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    calls = []

    def fn(t):  # fine at x, NaN as soon as it is perturbed
        calls.append(1)
        return t.sum() if len(calls) == 1 else t.sum() * np.nan

    result = tg.gradcheck(fn, x, raise_exception=False)
    assert not result.passed and np.isnan(result.max_abs_error)
    assert "numerical derivative is NaN" in result.first_failure
    calls.clear()
    with pytest.raises(tg.GradcheckError, match=r"numerical nan.*max abs error nan"):
        tg.gradcheck(fn, x)


# ---------------------------------------------------------------------------------------------
# Unclear errors (continued).


@pytest.mark.parametrize("setting, message", [
    ("TINYGAN_NUM_THREADS=99999999999", "TINYGAN_NUM_THREADS=99999999999 asks for 99999999999 "
                                        "threads but this process can use only"),
    ("TINYGAN_NUM_THREADS=abc", "TINYGAN_NUM_THREADS='abc' is not a positive integer"),
    ("TINYGAN_KERNELS=nmupy", "TINYGAN_KERNELS='nmupy': expected 'naive', 'numpy' or 'compiled'"),
])
def test_9_16_bad_environment_variables_are_named(setting, message):
    name, value = setting.split("=", 1)
    result = subprocess.run([sys.executable, "-c", "import tinygan; print('imported')"],
                            capture_output=True, text=True, timeout=60,
                            env={name: value, "PATH": "/usr/bin:/bin"})
    assert message in result.stderr, result.stderr


def test_9_16_an_empty_tinygan_kernels_means_the_default():
    result = subprocess.run([sys.executable, "-c", "import tinygan; print(tinygan.kernels."
                             "active())"], capture_output=True, text=True, timeout=60,
                            env={"TINYGAN_KERNELS": "", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in tg.kernels.available()


@compiled
def test_9_16_set_num_threads_is_capped_at_the_available_cores():
    before = tg.kernels.get_num_threads()
    try:
        with pytest.warns(RuntimeWarning, match=r"set_num_threads\(10000\) asks for 10000 "
                                                r"threads but this process can use only"):
            tg.kernels.set_num_threads(10000)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        if cores and tg.kernels.info()["openmp"]:  # without OpenMP the count is always 1
            assert tg.kernels.get_num_threads() == cores
    finally:
        tg.kernels.set_num_threads(before)


@pytest.mark.parametrize("make, exception, message", [
    (lambda w: tg.optim.SGD([w], lr="0.1"), TypeError,
     "SGD: lr must be a real number, got '0.1' (str)"),
    (lambda w: tg.optim.Adam([w], betas=(0.9,)), TypeError,
     "Adam: betas must be a pair (beta1, beta2), got (0.9,)"),
    (lambda w: tg.optim.SGD([{"lr": 0.1}], lr=0.1), ValueError,
     "SGD: a param group must have a 'params' entry"),
    (lambda w: tg.optim.SGD([{"params": [w]}, w], lr=0.1), TypeError,
     "SGD: params mixes param groups (dicts) and Tensors"),
    (lambda w: tg.optim.SGD(None, lr=0.1), TypeError,
     "SGD: params must be an iterable of Tensors or of dicts"),
    (lambda w: tg.optim.SGD([w], lr=0.1, nesterov="yes"), TypeError,
     "SGD: nesterov must be True or False"),
])
def test_9_19_optimizer_misuse_is_named(make, exception, message):
    with pytest.raises(exception, match=re.escape(message)):
        make(nn.Parameter(np.ones(2)))


@pytest.mark.parametrize("state_dict, exception, message", [
    (None, TypeError, "load_state_dict: expected a dict"),
    ([("state", {}), ("param_groups", [])], TypeError, "load_state_dict: expected a dict"),
    ({"param_groups": [{"params": [0]}]}, ValueError, "the state dict has no 'state' entry"),
    ({"state": {}, "param_groups": [{"lr": 0.1}]}, TypeError,
     "'param_groups' must be a list of dicts, each with a 'params' list"),
    ({"state": {0: 1.0}, "param_groups": [{"params": [0]}]}, TypeError,
     "'state' must map parameter indices to dicts"),
    ({"state": {}, "param_groups": [{"params": [0], "lr": "fast"}]}, TypeError,
     "Adam: lr must be a real number, got 'fast'"),
])
def test_9_19_optimizer_load_state_dict_misuse_is_named_and_changes_nothing(state_dict,
                                                                            exception, message):
    w = nn.Parameter(np.ones(2))
    optimizer = tg.optim.Adam([w], lr=0.01)
    with pytest.raises(exception, match=re.escape(message)):
        optimizer.load_state_dict(state_dict)
    assert optimizer.param_groups[0]["lr"] == 0.01 and optimizer.state == {}


def test_9_19_module_load_state_dict_of_a_list_of_pairs_is_named():
    with pytest.raises(TypeError, match=r"load_state_dict: expected a dict \{name: array\}"):
        nn.Dense(2, 2).load_state_dict([("weight", np.ones((2, 2)))])


@pytest.mark.parametrize("loss", [tg.functional.binary_cross_entropy,
                                  tg.functional.binary_cross_entropy_with_logits,
                                  tg.functional.mse_loss])
def test_9_19_losses_given_an_ndarray_name_the_loss(loss):
    with pytest.raises(TypeError, match=rf"^{loss.__name__}: input must be a Tensor .*got "
                                        r"ndarray"):
        loss(np.array([0.5]), np.array([1.0]))


@pytest.mark.parametrize("kernels", ["compiled", "numpy"])
@pytest.mark.parametrize("a, b, message", [
    (np.ones(6)[::2], np.ones((3, 2)), "matmul: expected arrays of 2 or more dimensions, got "
                                       "shapes (3,) and (3, 2)"),
    (np.array(2.0), np.ones((3, 2)), "matmul: expected arrays of 2 or more dimensions, got "
                                     "shapes () and (3, 2)"),
    (np.ones((2, 3)), np.ones((2, 2)), "matmul: (2, 3) @ (2, 2): inner dimensions 3 and 2"),
    (np.ones((2, 2, 3)), np.ones((3, 3, 2)), "matmul: (2, 2, 3) @ (3, 3, 2): the batch axes"),
])
def test_9_19_kernels_matmul_names_the_op_and_the_shapes(kernels, a, b, message):
    if kernels not in tg.kernels.available():
        pytest.skip("the compiled kernels are not built")
    previous = tg.kernels.use(kernels)
    try:
        with pytest.raises(ValueError, match=re.escape(message)):
            tg.kernels.matmul(a, b)
    finally:
        tg.kernels.use(previous)


def test_9_19_swapaxes_out_of_range_names_the_axis_and_the_shape():
    with pytest.raises(IndexError, match=re.escape("swapaxes: axis 5 is out of range for a "
                                                   "tensor of shape (2, 3)")):
        tg.ones(2, 3).swapaxes(0, 5)


# ---------------------------------------------------------------------------------------------
# Silent wrong answers (continued): the accuracy of long sums in the compiled GEMM.

LONG_K = 2**19


LAYOUTS = [
    "short C, row-major B (thin kernel)",
    "short C, transposed B (dot products)",
    "narrow C, column-major A (thin kernel on C^T)",
    "narrow C, row-major A (dot products)",
    "one row, three columns",
    "a batch of thin products",
    "blocked, row-major",
    "blocked, transposed A",
]


# Random data on the blocked path is left out: there both errors are a few rounding errors, and
# which kernel is ahead is chance; constant data is where a long sum's error shows.
@compiled
@pytest.mark.parametrize("layout, fill", [(layout, fill) for layout in LAYOUTS
                                          for fill in ("0.1", "uniform")
                                          if not (layout.startswith("blocked") and
                                                  fill == "uniform")])
def test_9_10_long_float32_sums_are_at_least_as_accurate_as_the_twin(layout, fill):
    rng = np.random.default_rng(10)
    k = LONG_K // 2 if layout.startswith("blocked") else LONG_K
    m, n = {"short C, row-major B (thin kernel)": (1, 1),
            "short C, transposed B (dot products)": (2, 3),
            "narrow C, column-major A (thin kernel on C^T)": (3, 1),
            "narrow C, row-major A (dot products)": (3, 1),
            "one row, three columns": (1, 3),
            "a batch of thin products": (2, 1),
            "blocked, row-major": (17, 17),
            "blocked, transposed A": (17, 17)}[layout]

    def values(shape):
        if fill == "0.1":
            return np.full(shape, 0.1, np.float32)
        return rng.random(shape, dtype=np.float32)

    a, b = values((m, k)), values((k, n))
    if layout.startswith("short C, transposed") or layout.startswith("narrow C, column"):
        b = np.ascontiguousarray(b.T).T if "transposed" in layout else b
        a = np.ascontiguousarray(a.T).T if "column-major" in layout else a
    if layout == "blocked, transposed A":
        a = np.ascontiguousarray(a.T).T
    if layout == "a batch of thin products":
        a = np.stack([a, a[::-1]])
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    errors = {}
    threads = tg.kernels.get_num_threads()
    for name in ("compiled", "numpy"):
        previous = tg.kernels.use(name)
        tg.kernels.set_num_threads(1)  # threads split rows, never a sum: same numbers, and a
        try:                           # busy shared machine cannot stall a waiting thread
            errors[name] = np.abs(tg.kernels.matmul(a, b) - exact).max() / np.abs(exact).max()
        finally:
            tg.kernels.use(previous)
            tg.kernels.set_num_threads(threads)
    # at least as accurate, up to two float32 rounding errors (where both are that small, which
    # one is ahead is chance); the single running sum of old was 60 times worse than the twin
    assert errors["compiled"] <= errors["numpy"] + 2 * np.finfo(np.float32).eps, errors
    assert errors["compiled"] < 2e-6, errors
