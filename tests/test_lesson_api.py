"""tinygan.lesson: claims pass and fail as stated, and a lesson exits non-zero on a failed claim."""

import json
import os
import sys
import types

import numpy as np
import pytest

from tinygan.datasets import write_idx
from tinygan.datasets.mnist import FILES
from tinygan.lesson import SKIPPED, Lesson
from tinygan.metrics import quality


def test_claims_and_exit_codes(tmp_path, capsys):
    lesson = Lesson("lessons/99_demo.py", "a demo", argv=["--fast", "--out", str(tmp_path)])
    assert lesson.fast and lesson.out == str(tmp_path)
    assert lesson.check("close", 0.52, expected=0.5, tol=0.05)
    assert not lesson.check("too far", 0.6, expected=0.5, tol=0.05)
    assert lesson.check("bounded", 3.0, at_least=2.0, at_most=4.0)
    assert not lesson.check("nan never passes", float("nan"), at_most=1.0)
    assert lesson.check_true("a yes", True)
    with pytest.raises(SystemExit) as exit_info:
        lesson.finish()
    assert exit_info.value.code == 1
    summary = json.loads((tmp_path / "claims.json").read_text())
    assert [c["passed"] for c in summary["claims"]] == [True, False, True, False, True]
    assert "FAILED: too far: measured 0.6" in capsys.readouterr().out


def test_a_lesson_with_every_claim_held_exits_zero(tmp_path):
    lesson = Lesson("x.py", "ok", argv=["--out", str(tmp_path)])
    lesson.check("one", 1.0, expected=1.0, tol=0.0)
    with pytest.raises(SystemExit) as exit_info:
        lesson.finish()
    assert exit_info.value.code == 0


def test_a_lesson_without_claims_fails(tmp_path):
    lesson = Lesson("x.py", "empty", argv=["--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_info:
        lesson.finish()
    assert exit_info.value.code == 1


def test_check_needs_a_criterion(tmp_path):
    lesson = Lesson("x.py", "t", argv=["--out", str(tmp_path)])
    with pytest.raises(ValueError, match="needs a tolerance"):
        lesson.check("x", 1.0, expected=1.0)
    with pytest.raises(ValueError, match="give expected and tol"):
        lesson.check("x", 1.0)


def test_inside_a_jupyter_kernel_the_kernels_flags_are_ignored(tmp_path, monkeypatch):
    # A notebook's kernel runs as `python -m ipykernel_launcher -f kernel.json`: those flags
    # are not the lesson's, and argparse must not exit on them.
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    lesson = Lesson(str(tmp_path / "01_demo.py"), "in a notebook")
    assert not lesson.fast and lesson.out == str(tmp_path / "out" / "01_demo")
    lesson.check("one", 1.0, expected=1.0, tol=0.0)
    lesson.finish()  # all held: no SystemExit(0) for the notebook to warn about
    lesson.check("two", 2.0, expected=1.0, tol=0.0)
    with pytest.raises(SystemExit) as exit_info:  # a failed claim still stops the notebook
        lesson.finish()
    assert exit_info.value.code == 1


def test_a_lesson_named_without_a_path_writes_beside_the_running_script(tmp_path, monkeypatch):
    # in a notebook (no __file__, no script) the folder is the working one
    monkeypatch.setattr("sys.argv", ["ipykernel_launcher"])
    monkeypatch.chdir(tmp_path)
    lesson = Lesson("07_training_order", "t", argv=[])
    assert lesson.out == str(tmp_path / "out" / "07_training_order")
    # run as `python lessons/07_training_order.py`: beside the script
    monkeypatch.setattr("sys.argv", [str(tmp_path / "lessons" / "07_training_order.py")])
    lesson = Lesson("07_training_order", "t", argv=[])
    assert lesson.out == str(tmp_path / "lessons" / "out" / "07_training_order")


def test_summary_returns_the_claims_that_failed(tmp_path):
    lesson = Lesson("x.py", "t", argv=["--out", str(tmp_path)])
    lesson.check("held", 1.0, at_most=2.0)
    lesson.check("broken", 3.0, at_most=2.0)
    assert lesson.summary() == ["broken"]
    assert Lesson("y.py", "t", argv=["--out", str(tmp_path)]).summary() == [
        "this lesson checked no claim"]


# ------------------------------------------------ image lessons: data and classifier on disk


@pytest.fixture
def nothing_on_disk(monkeypatch, tmp_path):
    """No $TINYGAN_DATA_DIR and an empty user cache (no data, no classifier) under tmp_path."""
    monkeypatch.delenv("TINYGAN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_image_data_missing_skips_with_how_to_get_it(nothing_on_disk, capsys):
    lesson = Lesson("13_x.py", "t", argv=["--out", str(nothing_on_disk / "out")])
    with pytest.raises(SystemExit) as exit_info:
        lesson.image_data("fashion-mnist", "test")
    assert exit_info.value.code == SKIPPED != 0
    out = capsys.readouterr().out
    assert "13_x: SKIPPED: this lesson needs fashion-mnist" in out
    assert "t10k-images-idx3-ubyte.gz" in out and "TINYGAN_DATA_DIR" in out
    assert "d.fashion_mnist('train')" in out  # the command that downloads them


def test_image_data_found_on_disk(nothing_on_disk, monkeypatch):
    folder = nothing_on_disk / "data" / "mnist"
    folder.mkdir(parents=True)
    for filename, array in ((FILES["test"][0], np.zeros((3, 28, 28), np.uint8)),
                            (FILES["test"][1], np.array([1, 2, 3], np.uint8))):
        write_idx(folder / filename, array)
    monkeypatch.setenv("TINYGAN_DATA_DIR", str(nothing_on_disk / "data"))
    lesson = Lesson("13_x.py", "t", argv=["--out", str(nothing_on_disk / "out")])
    images, labels = lesson.image_data("mnist", "test")
    assert images.shape == (3, 1, 28, 28) and images.min() == -1 and list(labels) == [1, 2, 3]


def test_fast_mode_trains_a_stand_in_classifier_not_the_real_one(nothing_on_disk, monkeypatch,
                                                                   capsys):
    lesson = Lesson("13_x.py", "t", argv=["--fast", "--out", str(nothing_on_disk / "out")])
    with pytest.raises(SystemExit) as exit_info:  # no data: nothing to train on
        lesson.quality_classifier("mnist")
    assert exit_info.value.code == SKIPPED
    folder = nothing_on_disk / "data" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 120), ("test", 40)):
        write_idx(folder / FILES[split][0], rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / FILES[split][1], (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setenv("TINYGAN_DATA_DIR", str(nothing_on_disk / "data"))
    capsys.readouterr()
    model, record = lesson.quality_classifier("mnist")
    assert "a stand-in was trained (120 images, 1 epoch" in capsys.readouterr().out
    assert record["train_size"] == 120 and record["epochs"] == 1
    assert os.path.exists(quality.classifier_path("mnist", stand_in=True))
    assert not os.path.exists(quality.classifier_path("mnist"))  # the real one is never faked
    _, again = lesson.quality_classifier("mnist")
    assert "a stand-in was loaded" in capsys.readouterr().out
    np.testing.assert_array_equal(again["test_mean"], record["test_mean"])
