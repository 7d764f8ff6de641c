"""The kernel layer's switch: compiled kernels or NumPy twins, behind the same names."""

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
from tinygan import _kernels


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
    with pytest.raises(ValueError, match="expected 'compiled' or 'numpy', got 'blas'"):
        tg.kernels.use("blas")


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
        if name in (".gemm", ".conv"):
            raise ImportError(f"No module named 'tinygan._kernels{name}'")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", no_compiled)
    with pytest.warns(RuntimeWarning, match=r"pip install -e \."):
        assert _kernels._load_compiled() is None


@settings(max_examples=40, deadline=None)
@given(
    batch_a=st.sampled_from([(), (1,), (3,), (2, 1)]),
    batch_b=st.sampled_from([(), (1,), (3,), (2, 3)]),  # each broadcasts with each batch_a
    m=st.integers(1, 9), k=st.integers(0, 9), n=st.integers(1, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    kernel_set=st.sampled_from(["compiled", "numpy"]),
)
def test_matmul_follows_numpy_broadcasting(batch_a, batch_b, m, k, n, dtype, kernel_set):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(batch_a + (m, k)).astype(dtype)
    b = rng.standard_normal(batch_b + (k, n)).astype(dtype)
    previous = tg.kernels.use(kernel_set)
    try:
        result = _kernels.matmul(a, b)
    finally:
        tg.kernels.use(previous)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert result.shape == expected.shape and result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4 * max(k, 1))


def test_matmul_promotes_mixed_dtypes_like_numpy():
    a = np.ones((2, 3), np.float32)
    b = np.ones((3, 4), np.float64)
    assert _kernels.matmul(a, b).dtype == np.float64


def test_engine_gives_the_same_gradients_with_either_kernel_set(restore_kernels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 7))
    w = rng.standard_normal((4, 3, 3, 2))
    v = rng.standard_normal((5, 4 * 5 * 8))  # y is (2, 4, 5, 8)
    results = {}
    for kernel_set in ("compiled", "numpy"):
        tg.kernels.use(kernel_set)
        xt, wt, vt = (tg.tensor(a, requires_grad=True) for a in (x, w, v))
        y = tg.functional.conv2d(xt, wt, stride=(2, 1), padding=1)
        loss = (y.reshape(2, -1) @ vt.T).tanh().sum()
        loss.backward()
        results[kernel_set] = [loss.data, xt.grad, wt.grad, vt.grad]
    for compiled, twin in zip(results["compiled"], results["numpy"]):
        np.testing.assert_allclose(compiled, twin, rtol=1e-9, atol=1e-10)
