"""tinygan.datasets: the IDX parser and every bad-file error, MNIST lookup (data dir, cache,
download from a loopback server with MD5 check, the offline error), and the batch iterator."""

import functools
import gzip
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

import tinygan
from tinygan.datasets import (
    BatchIterator,
    DatasetNotFoundError,
    IdxError,
    fashion_mnist,
    mnist,
    read_idx,
    write_idx,
)

# (the module tinygan/datasets/mnist.py: its name is also that of the function mnist)
from tinygan.datasets.mnist import DATASETS, FILES, load

# ------------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("dtype, shape", [(np.uint8, (3, 4, 5)), (np.uint8, (7,)),
                                          (np.int16, (2, 3)), (np.int32, (4,)),
                                          (np.float32, (2, 2, 2, 2)), (np.float64, (0, 3))])
def test_idx_round_trip(tmp_path, rng, dtype, shape):
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    write_idx(tmp_path / "a.gz", array)
    back = read_idx(tmp_path / "a.gz")
    assert back.dtype == dtype and back.shape == shape
    np.testing.assert_array_equal(back, array)


def test_idx_magic_numbers_are_mnists(tmp_path):
    write_idx(tmp_path / "images.gz", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "labels.gz", np.zeros(2, np.uint8))
    assert gzip.open(tmp_path / "images.gz").read(4) == (2051).to_bytes(4, "big")
    assert gzip.open(tmp_path / "labels.gz").read(4) == (2049).to_bytes(4, "big")


def gz(path, data):
    with gzip.open(path, "wb") as file:
        file.write(data)
    return path


HEADER = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big")  # 5 unsigned bytes, one dimension


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b""), r"the file is empty \(0 bytes\)"),
    (lambda p: p.write_bytes(b"<html>Not Found</html>"), r"not a gzip file \(it starts with"),
    (lambda p: p.write_bytes(gzip.compress(HEADER + bytes(5))[:-12]), r"truncated: the gzip"),
    (lambda p: p.write_bytes(b"\x1f\x8b" + bytes(30)), r"corrupt gzip data"),
    (lambda p: gz(p, b"\0\0"), r"fewer than the 4 bytes of the magic number"),
    (lambda p: gz(p, b"PK\3\4" + bytes(20)), r"magic number 1347093252 \(0x504B0304\)"),
    (lambda p: gz(p, bytes([0, 0, 7, 1, 0, 0, 0, 1, 9])), r"type code TT in"),
    (lambda p: gz(p, bytes([0, 0, 8, 3, 0, 0])), r"truncated header: 3 dimension sizes need 16"),
    (lambda p: gz(p, HEADER + bytes(3)), r"truncated: a 5 array of uint8 needs 13 bytes"),
    (lambda p: gz(p, HEADER + bytes(6)), r"too long: a 5 array of uint8 needs 13 bytes"),
])
def test_every_bad_file_gives_an_error_naming_it(tmp_path, make, message):
    path = tmp_path / "bad-idx1-ubyte.gz"
    make(path)
    with pytest.raises(IdxError, match=message) as error:
        read_idx(path)
    assert str(error.value).startswith(str(path))


def test_wrong_number_of_dimensions_and_missing_file(tmp_path):
    write_idx(tmp_path / "labels.gz", np.zeros(4, np.uint8))
    with pytest.raises(IdxError, match=r"expected an IDX file of 3 dimension\(s\) \(magic 2051\), "
                                       r"got 1 \(magic 2049\)"):
        read_idx(tmp_path / "labels.gz", ndim=3)
    with pytest.raises(IdxError, match="nothing.gz: cannot read"):
        read_idx(tmp_path / "nothing.gz")


# --------------------------------------------------------------------------- MNIST lookup


def fake_dataset(folder, n_train=12, n_test=5):
    """The four files of a small MNIST look-alike in ``folder``; {split: (pixels, labels)}."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    contents = {}
    for split, n in (("train", n_train), ("test", n_test)):
        pixels = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        pixels[0, 0, :2] = (0, 255)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        image_file, label_file = FILES[split]
        write_idx(folder / image_file, pixels)
        write_idx(folder / label_file, labels)
        contents[split] = (pixels, labels)
    return contents


@pytest.fixture
def no_real_data(monkeypatch, tmp_path):
    """No $TINYGAN_DATA_DIR and an empty user cache under tmp_path."""
    monkeypatch.delenv("TINYGAN_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_files_in_the_data_dir_come_scaled_to_minus_one_one(no_real_data, monkeypatch):
    contents = fake_dataset(no_real_data / "data" / "fashion-mnist")
    monkeypatch.setenv("TINYGAN_DATA_DIR", str(no_real_data / "data"))
    images, labels = fashion_mnist("train", download=False)
    assert images.shape == (12, 1, 28, 28) and images.dtype == np.float32
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, contents["train"][1])
    assert images[0, 0, 0, 0] == -1 and images[0, 0, 0, 1] == 1
    np.testing.assert_allclose(images[:, 0], contents["train"][0] / 127.5 - 1, atol=1e-6)
    assert fashion_mnist("test", download=False)[0].shape == (5, 1, 28, 28)


def test_the_user_cache_is_searched_after_the_data_dir(no_real_data, monkeypatch):
    fake_dataset(no_real_data / "cache" / "tinygan" / "mnist", n_test=3)
    monkeypatch.setenv("TINYGAN_DATA_DIR", str(no_real_data / "empty"))
    assert mnist("test", download=False)[0].shape == (3, 1, 28, 28)


def test_offline_error_names_the_four_files_and_where_to_put_them(no_real_data):
    with pytest.raises(DatasetNotFoundError) as error:
        mnist("train", download=False)
    message = str(error.value)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in message
    assert os.path.join(str(no_real_data), "cache", "tinygan", "mnist") in message
    assert "TINYGAN_DATA_DIR" in message


@pytest.fixture
def server(tmp_path):
    """A loopback HTTP server over tmp_path/"mirror"; yields its base URL."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_checks_the_md5_and_fills_the_cache(no_real_data, server, monkeypatch):
    url, root = server
    fake_dataset(root)
    checksums = {name: md5(root / name) for name in os.listdir(root)}
    monkeypatch.setitem(DATASETS["mnist"], "md5", checksums)
    images, labels = load("mnist", "train", mirrors=["http://127.0.0.1:1/", url])
    assert images.shape == (12, 1, 28, 28)
    cache = no_real_data / "cache" / "tinygan" / "mnist"
    assert sorted(os.listdir(cache)) == sorted(FILES["train"])  # no temp files
    (root / "t10k-images-idx3-ubyte.gz").write_bytes(b"tampered")
    with pytest.raises(DatasetNotFoundError, match="MD5 mismatch: got .*, expected "
                                                   + checksums["t10k-images-idx3-ubyte.gz"]):
        load("mnist", "test", mirrors=[url])
    assert "t10k-images-idx3-ubyte.gz" not in os.listdir(cache)
    assert not [name for name in os.listdir(cache) if name.startswith(".download")]


REAL = os.environ.get("TINYGAN_DATA_DIR", "")
needs_real_data = pytest.mark.skipif(
    not all(os.path.isfile(os.path.join(REAL, d, f)) for d in ("mnist", "fashion-mnist")
            for pair in FILES.values() for f in pair),
    reason="TINYGAN_DATA_DIR does not hold the MNIST and Fashion-MNIST files")


@needs_real_data
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_files(name):
    folder = os.path.join(REAL, name)
    for filename, checksum in DATASETS[name]["md5"].items():
        with open(os.path.join(folder, filename), "rb") as file:
            assert hashlib.md5(file.read()).hexdigest() == checksum
    images, labels = load(name, "test", download=False)
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    assert images.min() == -1 and images.max() == 1
    assert np.bincount(labels).min() > 800  # all ten classes, roughly balanced


# ----------------------------------------------------------------------------- batches


@pytest.mark.parametrize("drop_last", [True, False])
def test_each_item_once_per_epoch_and_a_new_order_each_epoch(drop_last):
    items = np.arange(10)
    batches = BatchIterator(items, batch_size=4, drop_last=drop_last)
    assert batches.batches_per_epoch == (2 if drop_last else 3)
    epochs = []
    for _ in range(3):
        assert batches.position == 0
        epoch = [next(batches) for _ in range(batches.batches_per_epoch)]
        assert [len(b) for b in epoch] == ([4, 4] if drop_last else [4, 4, 2])
        seen = np.concatenate(epoch)
        assert len(set(seen.tolist())) == len(seen)  # no item twice in an epoch
        if not drop_last:
            assert sorted(seen.tolist()) == items.tolist()  # every item once
        epochs.append(seen)
    assert batches.epoch == 3
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled


def test_several_arrays_stay_aligned_and_one_epoch_for_evaluation():
    x, y = np.arange(7) * 10, np.arange(7)
    batches = BatchIterator(x, y, batch_size=3, shuffle=False, drop_last=True)
    bx, by = next(batches)
    np.testing.assert_array_equal(bx, by * 10)
    np.testing.assert_array_equal(by, [0, 1, 2])
    evaluation = list(batches.epoch_batches())
    assert [b[1].tolist() for b in evaluation] == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches.position == 1  # untouched by the evaluation pass


def test_manual_seed_fixes_the_order():
    tinygan.manual_seed(5)
    first = next(BatchIterator(np.arange(100), batch_size=10))
    tinygan.manual_seed(5)
    np.testing.assert_array_equal(next(BatchIterator(np.arange(100), batch_size=10)), first)


def test_state_round_trip_through_a_checkpoint_continues_bit_for_bit(tmp_path):
    data = np.arange(23)
    batches = BatchIterator(data, batch_size=5)
    for _ in range(6):  # into the second epoch
        next(batches)
    tinygan.save({"batches": batches.state_dict()}, tmp_path / "state.npz")
    expected = [next(batches) for _ in range(9)]
    resumed = BatchIterator(data, batch_size=5)  # another seed, until the state is loaded
    resumed.load_state_dict(tinygan.load(tmp_path / "state.npz")["batches"])
    assert (resumed.epoch, resumed.position) == (1, 2)
    for want in expected:
        np.testing.assert_array_equal(next(resumed), want)


def test_batch_iterator_errors():
    with pytest.raises(ValueError, match=r"same length along axis 0, got shapes \[\(3,\), \(4,\)"):
        BatchIterator(np.zeros(3), np.zeros(4), batch_size=2)
    with pytest.raises(ValueError, match="3 items give no batch of 4 with drop_last=True"):
        BatchIterator(np.zeros(3), batch_size=4)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        BatchIterator(np.zeros(3), batch_size=0)
    batches = BatchIterator(np.zeros(6), batch_size=2)
    with pytest.raises(ValueError, match=r"'order' must be a permutation of 0..5"):
        batches.load_state_dict({"seed": 1, "epoch": 0, "position": 0, "order": np.zeros(6)})
    with pytest.raises(KeyError, match="missing key"):
        batches.load_state_dict({"seed": 1})
