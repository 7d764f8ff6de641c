"""The command line: train writes every promised file, sample writes .npy, resume continues,
and a bad argument is one line with exit code 2."""

import json
import os
import shutil
from dataclasses import asdict

import numpy as np
import pytest

from tinygan import gan, runs
from tinygan.cli import main

FEW = ["--steps", "12", "--sample-every", "4", "--checkpoint-every", "6", "--hidden", "16",
       "--batch-size", "32", "--quiet"]


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    """One short `tinygan train` run on ring8, shared by the tests that read its files."""
    out = tmp_path_factory.mktemp("ring") / "run"
    assert main(["train", "--data", "ring8", "--out", str(out)] + FEW) == 0
    return out


def test_train_writes_every_promised_file(ring_run):
    out = ring_run
    for name in runs.FILES:
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["steps"] == 12 and config["d_steps"] == 1 and config["optimizer"] == "adam"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["n_modes"] == 8
    assert [m["step"] for m in metrics["over_time"]] == [0, 4, 8, 12]
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].split(",") == list(gan.HISTORY_COLUMNS) and len(lines) == 13


def test_train_prints_its_configuration_first(tmp_path, capsys):
    assert main(["train", "--data", "moons", "--out", str(tmp_path), "--steps", "0",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("tinygan train: configuration")
    assert any(line.split() == ["lr", str(runs.TOY_BCE_LR)] for line in printed[1:20])


def test_sample_writes_an_npy_array(ring_run, tmp_path):
    target = tmp_path / "samples.npy"
    assert main(["sample", "--checkpoint", str(ring_run / "checkpoint.npz"), "--n", "50",
                 "--out", str(target)]) == 0
    samples = np.load(target)
    assert samples.shape == (50, 2) and samples.dtype == np.float32


def test_one_d_data_with_the_gradient_penalty_runs(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", "mixture1d", "--loss", "wgan-gp", "--z-dim", "1",
                 "--out", str(out)] + FEW) == 0
    assert json.loads((out / "config.json").read_text())["d_steps"] == 5
    assert (out / "game.png").stat().st_size > 0


def test_resume_continues_the_run_to_more_steps(ring_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(ring_run, out)
    args = [a if a != "12" else "16" for a in FEW]
    assert main(["train", "--out", str(out), "--resume"] + args) == 0
    assert json.loads((out / "metrics.json").read_text())["step"] == 16


def test_config_files_json_and_toml(tmp_path):
    from tinygan.cli import _read_config_file

    (tmp_path / "c.toml").write_text('data = "moons"\nsteps = 3\nhidden = 8\nbatch-size = 16\n')
    (tmp_path / "c.json").write_text(json.dumps({"data": "annulus", "steps": 3}))
    assert _read_config_file(str(tmp_path / "c.json")) == {"data": "annulus", "steps": 3}
    out = tmp_path / "run"
    assert main(["train", "--config", str(tmp_path / "c.toml"), "--out", str(out), "--quiet",
                 "--steps", "2", "--sample-every", "1"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["data"], config["hidden"], config["batch_size"]) == ("moons", 8, 16)
    assert config["steps"] == 2  # the command line overrides the file


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "mnist9", "--out", "x"], "data: expected one of ring8"),
    (["train", "--steps", "-3", "--out", "x"], "steps: expected an integer >= 0, got -3"),
    (["train", "--lr", "abc", "--out", "x"], "argument --lr: invalid float value: 'abc'"),
    (["train", "--loss", "hinge", "--out", "x"], "loss: expected one of minimax"),
    (["train", "--batch-size", "10", "--pack", "4", "--out", "x"], "a multiple of pack = 4"),
    (["train", "--config", "nowhere.json", "--out", "x"], "no such file 'nowhere.json'"),
    (["train", "--out", "nowhere-run", "--resume"], "no checkpoint.npz in 'nowhere-run'"),
    (["sample", "--checkpoint", "missing.npz", "--out", "s.npy"], "no such file 'missing.npz'"),
    (["sample", "--checkpoint", "x.npz", "--n", "0", "--out", "s.npy"], "--n must be at least 1"),
    (["fly"], "invalid choice: 'fly'"),
])
def test_bad_arguments_give_one_line_and_exit_code_2(argv, message, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_sample_refuses_a_checkpoint_of_another_kind(tmp_path, capsys):
    import tinygan

    tinygan.save({"weights": np.zeros(3)}, tmp_path / "other.npz")
    assert main(["sample", "--checkpoint", str(tmp_path / "other.npz"), "--out",
                 str(tmp_path / "s.npy")]) == 2
    assert "not a tinygan training checkpoint" in capsys.readouterr().err


def test_unknown_config_keys_are_named(tmp_path, capsys):
    (tmp_path / "c.json").write_text(json.dumps({"data": "ring8", "learning_rate": 0.1}))
    assert main(["train", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path)]) == 2
    assert "unknown setting(s) learning_rate" in capsys.readouterr().err


def test_every_train_flag_is_a_config_field():
    from dataclasses import fields

    from tinygan.cli import _TRAIN_FLAGS

    assert set(_TRAIN_FLAGS) == {f.name for f in fields(runs.TrainConfig)}


def test_demo_checks_gradients_and_trains(tmp_path, capsys):
    code = main(["demo", "--steps", "20", "--out", str(tmp_path), "--min-modes", "0", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "D's loss w.r.t. D's 37 weights: passed" in out
    assert (tmp_path / "game.png").exists()


def test_info_names_the_active_kernels(capsys):
    assert main(["info"]) == 0
    assert "active:" in capsys.readouterr().out


def test_sample_refuses_weights_that_do_not_fit_the_stored_model(ring_run, tmp_path, capsys):
    import tinygan

    ckpt = tinygan.load(ring_run / "checkpoint.npz")
    ckpt["extra"]["config"]["hidden"] = 32  # the weights are 16 wide
    tinygan.save(ckpt, tmp_path / "other-model.npz")
    assert main(["sample", "--checkpoint", str(tmp_path / "other-model.npz"), "--out",
                 str(tmp_path / "s.npy")]) == 2
    err = capsys.readouterr().err
    assert "do not fit the stored configuration" in err and len(err.strip().splitlines()) == 1


needs_mnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(os.environ.get("TINYGAN_DATA_DIR", "/nonexistent"), "mnist",
                                    "train-images-idx3-ubyte.gz")),
    reason="the MNIST files are not in $TINYGAN_DATA_DIR")


@needs_mnist
def test_image_run_writes_every_promised_file_and_samples_images(tmp_path):
    out = tmp_path / "mnist"
    assert main(["train", "--data", "mnist", "--subset", "128", "--epochs", "2", "--out",
                 str(out), "--quiet"]) == 0
    for name in runs.IMAGE_FILES:
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert (config["steps"], config["batch_size"], config["z_dim"]) == (4, 64, 100)
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    target = tmp_path / "s.npy"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.npz"), "--n", "7", "--out",
                 str(target)]) == 0
    images = np.load(target)
    assert images.shape == (7, 1, 28, 28) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1


@needs_mnist
def test_conditional_image_run_samples_the_chosen_class(tmp_path, capsys):
    out = tmp_path / "cgan"
    assert main(["train", "--data", "fashion-mnist", "--conditional", "true", "--subset", "128",
                 "--steps", "2", "--out", str(out), "--quiet"]) == 0
    ckpt = str(out / "checkpoint.npz")
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert main(["sample", "--checkpoint", ckpt, "--n", "4", "--label", "3", "--out", str(a)]) == 0
    assert main(["sample", "--checkpoint", ckpt, "--n", "4", "--label", "7", "--out", str(b)]) == 0
    assert not np.array_equal(np.load(a), np.load(b))  # same z (seed 0), other class
    assert main(["sample", "--checkpoint", ckpt, "--n", "4", "--label", "12", "--out",
                 str(a)]) == 2
    assert "expected a class 0..9, got 12" in capsys.readouterr().err


def test_image_only_settings_are_refused_for_toy_data(capsys):
    assert main(["train", "--data", "ring8", "--conditional", "true", "--out", "x"]) == 2
    assert "mnist or fashion-mnist for conditional" in capsys.readouterr().err


def test_image_recipe_defaults_and_runs_stored_before_them():
    plain = runs.TrainConfig(data="mnist").validate().resolved()
    assert (plain.codes, plain.dense) == (runs.IMAGE_CODES, runs.IMAGE_DENSE) == (10, 1024)
    conditional = runs.TrainConfig(data="mnist", conditional=True).validate().resolved()
    packed = runs.TrainConfig(data="mnist", pack=2).validate().resolved()
    assert (conditional.codes, packed.codes, conditional.dense) == (0, 0, 1024)
    toy = runs.TrainConfig().validate().resolved()
    assert (toy.codes, toy.dense, toy.spectral_norm) == (0, 0, False)
    assert plain.validate().resolved() == plain  # a stored configuration resolves to itself
    stored = asdict(plain)
    for name in runs.LEGACY_SETTINGS:  # a config.json written before these settings existed
        del stored[name]
    old = runs.TrainConfig.from_stored(stored).validate().resolved()
    assert (old.codes, old.dense, old.spectral_norm) == (0, 0, False)  # what that run had
    with pytest.raises(ValueError, match=r"codes: expected 0 with pack > 1 or conditional"):
        runs.TrainConfig(data="mnist", codes=10, pack=2).validate()
    with pytest.raises(ValueError, match="mnist or fashion-mnist for spectral_norm, codes"):
        runs.TrainConfig(data="ring8", dense=16).validate()
