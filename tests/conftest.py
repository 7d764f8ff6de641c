"""Shared test setup: seeding, the default dtype, hypothesis settings, and a gradcheck counter.

- Every test starts from ``tinygan.manual_seed(0)`` and NumPy's legacy global seed 0, so a failure
  reproduces exactly.
- The default dtype is saved before every test and restored after it, even when the test
  changed it and then failed (``set_default_dtype`` is global state).
- Hypothesis is derandomized (the same examples on every run, so CI timing and the case count
  are stable). Run ``pytest --hypothesis-profile=explore`` to search new random examples.
- ``tinygan.gradcheck`` / ``tinygan.gradgradcheck`` are wrapped to count how many checks ran and
  how many Jacobian entries they compared; the totals are printed at the end of the run. Tests
  call them as ``tg.gradcheck(...)`` (attribute lookup at call time) so the wrapper sees them.
"""

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygan as tg

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore",
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

# ------------------------------------------------------------------------ gradcheck counter

CHECK_COUNTS = {"gradcheck": 0, "gradgradcheck": 0, "entries": 0}


def _counting(name, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        CHECK_COUNTS[name] += 1
        result = function(*args, **kwargs)
        CHECK_COUNTS["entries"] += result.checked
        return result

    wrapper.__wrapped_check__ = function
    return wrapper


def pytest_configure(config):
    tg.gradcheck = _counting("gradcheck", tg.gradcheck)
    tg.gradgradcheck = _counting("gradgradcheck", tg.gradgradcheck)


def pytest_unconfigure(config):
    for name in ("gradcheck", "gradgradcheck"):
        original = getattr(getattr(tg, name), "__wrapped_check__", None)
        if original is not None:
            setattr(tg, name, original)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_sep("-", "gradient checks")
    terminalreporter.write_line(
        f"gradcheck calls: {CHECK_COUNTS['gradcheck']}, "
        f"gradgradcheck calls: {CHECK_COUNTS['gradgradcheck']}, "
        f"Jacobian entries compared (by completed checks): {CHECK_COUNTS['entries']}"
    )


# --------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def seeded():
    """Seed tinygan's generator (and NumPy's global one) before every test; returns the seed."""
    tg.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 (only guards against stray global-RNG use in the engine)
    return 0


@pytest.fixture(autouse=True)
def restore_default_dtype():
    """Whatever a test does to the default dtype, the next test finds it as it was (float32,
    unless the library's own default is wrong, which test_dtypes.py checks)."""
    previous = tg.get_default_dtype()
    yield previous
    tg.set_default_dtype(previous)


@pytest.fixture
def float64_default(restore_default_dtype):
    """Make float64 the default dtype for this test (restored by ``restore_default_dtype``)."""
    tg.set_default_dtype(np.float64)
    return np.dtype(np.float64)


@pytest.fixture
def rng():
    """A private NumPy generator for test data (never tinygan's own generator)."""
    return np.random.default_rng(1234)
