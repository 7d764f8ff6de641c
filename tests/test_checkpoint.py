"""tinygan.save / tinygan.load: exact round trips of model and optimizer state dicts (and dicts
of them), no pickles, and clear errors for missing, truncated or foreign files."""

import zipfile

import numpy as np
import pytest

import tinygan
from tinygan import nn, optim


def make_model():
    return nn.Sequential(nn.Dense(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Dense(4, 1))


def train_steps(model, optimizer, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = tinygan.tensor(rng.standard_normal((8, 3)))
        loss = tinygan.functional.mse_loss(model(x).reshape(-1), rng.standard_normal(8))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_model_and_optimizer_round_trip_and_resume(tmp_path):
    model = make_model()
    optimizer = optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.999))
    train_steps(model, optimizer, 3, seed=1)
    path = tmp_path / "checkpoint.npz"
    tinygan.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3},
                 path)
    train_steps(model, optimizer, 2, seed=2)  # the run we will reproduce

    loaded = tinygan.load(path)
    assert loaded["epoch"] == 3 and isinstance(loaded["epoch"], int)
    restored = make_model()
    restored.load_state_dict(loaded["model"])
    restored_optimizer = optim.Adam(restored.parameters())
    restored_optimizer.load_state_dict(loaded["optimizer"])
    assert restored_optimizer.param_groups[0]["betas"] == (0.5, 0.999)
    assert restored_optimizer.param_groups[0]["lr"] == 1e-2
    train_steps(restored, restored_optimizer, 2, seed=2)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[key], value, err_msg=key)


def test_optimizer_state_dict_round_trips_exactly(tmp_path):
    model = make_model()
    for optimizer in (optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True),
                      optim.RMSprop(model.parameters(), centered=True, momentum=0.1)):
        empty = optimizer.state_dict()
        tinygan.save(empty, tmp_path / "empty.npz")
        assert tinygan.load(tmp_path / "empty.npz") == empty  # no state yet: an empty dict
        train_steps(model, optimizer, 2, seed=0)
        state = optimizer.state_dict()
        tinygan.save(state, tmp_path / "state.npz")
        loaded = tinygan.load(tmp_path / "state.npz")
        assert loaded["param_groups"] == state["param_groups"]  # numbers, bools, index lists
        assert list(loaded["state"]) == list(state["state"])  # int keys stay ints
        for index, entries in state["state"].items():
            for name, value in entries.items():
                got = loaded["state"][index][name]
                assert type(got) is type(value)
                np.testing.assert_array_equal(got, value)


def test_values_of_every_supported_kind(tmp_path):
    obj = {
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "int64": np.array(5, dtype=np.int64),
        "tensor": tinygan.tensor([1.0, 2.0]),
        "numbers": [1, 2.5, True, -3],
        "tuple": (0.9, 0.999),
        "text": "dcgan, lr=2e-4",
        "nothing": None,
        "nested": {"deeper": {0: {"x": 1.0}, 7: []}, "empty": {}},
        "huge": 2**62,
        "float": 0.1,
    }
    tinygan.save(obj, tmp_path / "kinds.npz")
    loaded = tinygan.load(tmp_path / "kinds.npz")
    np.testing.assert_array_equal(loaded["array"], obj["array"])
    assert loaded["array"].dtype == np.float32
    assert loaded["int64"].dtype == np.int64 and loaded["int64"].shape == ()
    np.testing.assert_array_equal(loaded["tensor"], [1.0, 2.0])  # saved as its array
    assert loaded["numbers"] == [1, 2.5, True, -3]
    assert [type(v) for v in loaded["numbers"]] == [int, float, bool, int]
    assert loaded["tuple"] == (0.9, 0.999)
    assert loaded["text"] == "dcgan, lr=2e-4" and loaded["nothing"] is None
    assert loaded["nested"] == {"deeper": {0: {"x": 1.0}, 7: []}, "empty": {}}
    assert loaded["huge"] == 2**62 and loaded["float"] == 0.1


def test_checkpoint_is_a_plain_npz_with_flattened_keys(tmp_path):
    model = make_model()
    path = tmp_path / "model.ckpt"  # used as given: no ".npz" is appended
    tinygan.save({"generator": model.state_dict()}, path)
    assert path.exists()
    with np.load(path, allow_pickle=False) as archive:
        assert "generator/1.running_mean" in archive.files
        np.testing.assert_array_equal(archive["generator/0.weight"], model[0].weight.data)


def test_save_refuses_what_only_a_pickle_could_store(tmp_path):
    with pytest.raises(TypeError, match="object array"):
        tinygan.save({"bad": np.array([{}, 1], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="cannot store"):
        tinygan.save({"bad": object()}, tmp_path / "x.npz")
    with pytest.raises(ValueError, match="contains '/'"):
        tinygan.save({"a/b": 1}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="expected a dict"):
        tinygan.save([1, 2], tmp_path / "x.npz")
    assert not list(tmp_path.iterdir())  # no file, no temporary left behind


def test_a_file_with_an_object_array_does_not_load(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}], dtype=object))  # needs pickle to read
    with pytest.raises(tinygan.CheckpointError, match="evil.npz"):
        tinygan.load(path)


def test_a_pickle_does_not_load(tmp_path):
    import pickle

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weight": [1.0]}))
    with pytest.raises(tinygan.CheckpointError, match="model.pkl"):
        tinygan.load(path)


def test_truncated_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "truncated.npz"
    tinygan.save({"model": make_model().state_dict()}, path)
    data = path.read_bytes()
    for length in (len(data) // 2, len(data) - 10, 100):
        path.write_bytes(data[:length])
        with pytest.raises(tinygan.CheckpointError, match=r"truncated\.npz.*not a readable"):
            tinygan.load(path)


def test_not_npz_and_missing_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(tinygan.CheckpointError, match="notes.txt"):
        tinygan.load(text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(tinygan.CheckpointError, match="single .npy array"):
        tinygan.load(single)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        tinygan.load(tmp_path / "missing.npz")


def test_damaged_structure_gives_a_clear_error(tmp_path):
    path = tmp_path / "damaged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("__structure__.npy", "w") as member:
            np.lib.format.write_array(member, np.array("{not json"))
    with pytest.raises(tinygan.CheckpointError, match="damaged.npz"):
        tinygan.load(path)


def test_plain_numpy_npz_loads_as_a_flat_dict(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(2))
    loaded = tinygan.load(path)
    assert list(loaded) == ["w"]
    np.testing.assert_array_equal(loaded["w"], 1.0)


def test_keys_named_like_numpy_savez_arguments_round_trip(tmp_path):
    path = tmp_path / "keys.npz"
    tinygan.save({"file": np.arange(3.0), "allow_pickle": 2, "compress": [True]}, path)
    loaded = tinygan.load(path)
    np.testing.assert_array_equal(loaded["file"], [0.0, 1.0, 2.0])
    assert loaded["allow_pickle"] == 2 and loaded["compress"] == [True]
