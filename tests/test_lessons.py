"""Every lesson runs in --fast mode, exits 0 and says which claims it checked (all held).

A lesson on images that cannot find its data set exits with ``tinygan.lesson.SKIPPED`` after
saying how to get it: its test skips. (Without the cached quality classifier, fast mode trains a
stand-in in seconds: a fresh machine runs these lessons too.)
"""

import glob
import json
import os
import subprocess
import sys

import pytest

from tinygan.lesson import SKIPPED

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = sorted(glob.glob(os.path.join(ROOT, "lessons", "[0-9][0-9]_*.py")))


@pytest.mark.parametrize("script", LESSONS, ids=[os.path.basename(p) for p in LESSONS])
def test_lesson_fast(script, tmp_path):
    # The lessons' networks are small: one kernel thread is as fast, and immune to a busy
    # machine, where OpenMP threads waiting for a descheduled sibling cost 10x. The same holds
    # for NumPy's own BLAS: the eigh of a 128 x 128 covariance (the Fréchet distance of the
    # image lessons) took 0.14 s with OpenBLAS's threads on a loaded 2-core machine, 0.004 s
    # with one.
    env = dict(os.environ, MPLBACKEND="Agg", TINYGAN_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, script, "--fast", "--out", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=600)
    if result.returncode == SKIPPED:
        pytest.skip(next(line for line in result.stdout.splitlines() if "SKIPPED" in line))
    assert result.returncode == 0, f"{os.path.basename(script)} failed:\n{result.stdout}\n" \
                                   f"{result.stderr}"
    with open(tmp_path / "claims.json") as file:
        claims = json.load(file)["claims"]
    assert claims, "the lesson checked no claim"
    failed = [c["claim"] for c in claims if not c["passed"]]
    assert not failed, f"claims that did not hold: {failed}"


def test_every_lecture_concept_has_its_lesson():
    numbers = [int(os.path.basename(p)[:2]) for p in LESSONS]
    assert numbers == sorted(set(numbers)), numbers  # one lesson per number
    assert set(range(1, 17)) <= set(numbers), numbers
