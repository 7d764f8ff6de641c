"""The kernel layer's switch: the naive loops, the NumPy twins or the compiled kernels, behind
the same names."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
import tinygan.kernels as kernels
from tinygan._kernels import gemm_naive


@pytest.fixture
def restore_kernels():
    previous = tg.kernels.active()
    yield
    tg.kernels.use(previous)


def test_the_compiled_kernels_are_built():
    # The install compiles them; if this fails the build silently fell back to the twins.
    assert "compiled" in tg.kernels.available(), tg.kernels.info()


def test_use_switches_and_returns_the_previous_name(restore_kernels):
    tg.kernels.use("compiled")
    assert tg.kernels.use("numpy") == "compiled"
    assert tg.kernels.active() == "numpy"
    assert tg.kernels.info()["active"] == "numpy"


def test_use_rejects_unknown_names():
    with pytest.raises(ValueError, match="expected 'naive', 'numpy' or 'compiled', got 'blas'"):
        tg.kernels.use("blas")


def test_import_tinygan_kernels_is_the_public_dispatch():
    assert importlib.import_module("tinygan.kernels") is tg.kernels is kernels
    assert kernels.available() == ("naive", "numpy", "compiled")
    # no function of the package hides one of its modules (tinygan._kernels.gemm is a module)
    assert importlib.import_module("tinygan._kernels.gemm").__name__ == "tinygan._kernels.gemm"
    assert not [name for name, value in vars(importlib.import_module("tinygan._kernels")).items()
                if callable(value) and not name.startswith("__")]


def test_using_switches_for_one_block_and_back_even_on_error(restore_kernels):
    tg.kernels.use("numpy")
    with tg.kernels.using("naive"):
        assert tg.kernels.active() == "naive"
        with tg.kernels.using("compiled"):
            assert tg.kernels.active() == "compiled"
        assert tg.kernels.active() == "naive"
    assert tg.kernels.active() == "numpy"
    with pytest.raises(ZeroDivisionError), tg.kernels.using("naive"):
        1 / 0  # noqa: B018
    assert tg.kernels.active() == "numpy"
    with pytest.raises(ValueError, match="got 'fast'"), tg.kernels.using("fast"):
        pass
    assert tg.kernels.active() == "numpy"


def test_the_naive_rung_runs_the_engine(restore_kernels):
    """With use('naive') every product and convolution goes through the loops: a GEMM call
    there is visible to a debugger (here, to a counting wrapper)."""
    calls = []
    real = gemm_naive.multiply_into

    def counting(*args):
        calls.append(args[3:6])  # m, k, n
        return real(*args)

    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    with pytest.MonkeyPatch.context() as patch, tg.kernels.using("naive"):
        patch.setattr(gemm_naive, "multiply_into", counting)
        (x @ w.T).tanh().sum().backward()
    assert (3, 4, 2) in calls and len(calls) == 3  # forward, dL/dx, dL/dw
    expected = (1 - np.tanh(x.data @ w.data.T) ** 2)
    np.testing.assert_allclose(x.grad, expected @ w.data)
    np.testing.assert_allclose(w.grad, expected.T @ x.data)


def test_info_reports_threads_and_build():
    info = tg.kernels.info()
    assert info["num_threads"] >= 1
    assert {"openmp", "native"} <= set(info)


def test_set_num_threads_round_trip():
    before = tg.kernels.get_num_threads()
    try:
        tg.kernels.set_num_threads(1)
        assert tg.kernels.get_num_threads() == 1
    finally:
        tg.kernels.set_num_threads(before)
    with pytest.raises(ValueError, match="set_num_threads: n must be >= 1, got 0"):
        tg.kernels.set_num_threads(0)


def test_missing_compiled_modules_fall_back_with_one_clear_warning(monkeypatch):
    real_import = importlib.import_module

    def no_compiled(name, package=None):
        if name in ("tinygan._kernels.gemm", "tinygan._kernels.conv"):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", no_compiled)
    with pytest.warns(RuntimeWarning, match=r"pip install -e \."):
        assert kernels._load_compiled() is None


@settings(max_examples=40, deadline=None)
@given(
    batch_a=st.sampled_from([(), (1,), (3,), (2, 1)]),
    batch_b=st.sampled_from([(), (1,), (3,), (2, 3)]),  # each broadcasts with each batch_a
    m=st.integers(1, 9), k=st.integers(0, 9), n=st.integers(1, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    kernel_set=st.sampled_from(["compiled", "numpy", "naive"]),
)
def test_matmul_follows_numpy_broadcasting(batch_a, batch_b, m, k, n, dtype, kernel_set):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(batch_a + (m, k)).astype(dtype)
    b = rng.standard_normal(batch_b + (k, n)).astype(dtype)
    previous = tg.kernels.use(kernel_set)
    try:
        result = kernels.matmul(a, b)
    finally:
        tg.kernels.use(previous)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert result.shape == expected.shape and result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4 * max(k, 1))


def test_matmul_promotes_mixed_dtypes_like_numpy():
    a = np.ones((2, 3), np.float32)
    b = np.ones((3, 4), np.float64)
    assert kernels.matmul(a, b).dtype == np.float64


def test_engine_gives_the_same_gradients_on_every_rung(restore_kernels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((3, 2, 3, 2))
    v = rng.standard_normal((5, 3 * 3 * 5))  # y is (2, 3, 3, 5)
    results = {}
    for kernel_set in ("compiled", "numpy", "naive"):
        tg.kernels.use(kernel_set)
        xt, wt, vt = (tg.tensor(a, requires_grad=True) for a in (x, w, v))
        y = tg.functional.conv2d(xt, wt, stride=(2, 1), padding=1)
        loss = (y.reshape(2, -1) @ vt.T).tanh().sum()
        loss.backward()
        results[kernel_set] = [loss.data, xt.grad, wt.grad, vt.grad]
    for rung in ("numpy", "naive"):
        for compiled, other in zip(results["compiled"], results[rung], strict=True):
            np.testing.assert_allclose(compiled, other, rtol=1e-9, atol=1e-10)


def test_the_environment_variable_selects_the_naive_rung():
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, TINYGAN_KERNELS="naive", PYTHONPATH=str(root))
    script = ("import numpy as np, tinygan\n"
              "print(tinygan.kernels.active(), tinygan.kernels.matmul(np.eye(2), np.ones((2, 1)))"
              ".ravel().tolist())")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, check=True, cwd=root)
    assert result.stdout.split(maxsplit=1) == ["naive", "[1.0, 1.0]\n"]
