"""MNIST and Fashion-MNIST: 28x28 grey images of 10 classes, 60,000 for training, 10,000 for test.

    images, labels = tinygan.datasets.mnist("train")      # (60000, 1, 28, 28) float32, (60000,)

Images come scaled to [-1, 1] (x = pixel / 127.5 - 1), the range of a generator's tanh output,
as float32 (N, 1, 28, 28); labels as int64 class numbers 0..9.

Where the files are found, in this order:

1. ``$TINYGAN_DATA_DIR/mnist/`` (or ``fashion-mnist/``), when that variable is set;
2. the user cache: ``$XDG_CACHE_HOME/tinygan/mnist/``, by default ``~/.cache/tinygan/mnist/``;
3. otherwise the four files are downloaded from the public mirrors into the cache, each checked
   against its published MD5 (torchvision's list) and written under a temporary name that is
   renamed only once the checksum matched, so an interrupted download never leaves a bad file.

Without a network, the error names the four files and the folders to put them in.
"""

import hashlib
import os
import tempfile
import urllib.error
import urllib.request

import numpy as np
from tqdm import tqdm

from .idx import read_idx

SPLITS = ("train", "test")

# split -> (images file, labels file); the same names for both data sets
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# data set -> folder, mirrors tried in order, MD5 of each file (as torchvision publishes them)
DATASETS = {
    "mnist": {
        "folder": "mnist",
        "mirrors": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"),
        "md5": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    },
    "fashion-mnist": {
        "folder": "fashion-mnist",
        "mirrors": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "md5": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
}

CLASSES = {
    "mnist": tuple(str(k) for k in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
}

class DatasetNotFoundError(FileNotFoundError):
    """The files of a data set are neither on disk nor downloadable."""


def mnist(split="train", download=True):
    """MNIST digits: (images float32 (N, 1, 28, 28) in [-1, 1], labels int64 (N,)).

    ``split``: "train" (N = 60000) or "test" (N = 10000). See the module docstring for where the
    files are looked up; ``download=False`` never touches the network.
    """
    return load("mnist", split, download)


def fashion_mnist(split="train", download=True):
    """Fashion-MNIST garments (classes in ``CLASSES["fashion-mnist"]``), as ``mnist``."""
    return load("fashion-mnist", split, download)


def load(name, split="train", download=True, mirrors=None):
    """The images and labels of data set ``name`` ("mnist" or "fashion-mnist") and ``split``.

    ``mirrors``: base URLs to download from instead of the data set's public ones.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; expected one of {sorted(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"{name}: split must be 'train' or 'test', got {split!r}")
    image_file, label_file = (locate(name, f, download, mirrors) for f in FILES[split])
    pixels = read_idx(image_file, ndim=3)
    labels = read_idx(label_file, ndim=1)
    if pixels.shape[1:] != (28, 28) or pixels.dtype != np.uint8:
        raise ValueError(f"{image_file}: expected 28x28 uint8 images, got {pixels.dtype} of "
                         f"shape {pixels.shape}")
    if labels.dtype != np.uint8 or len(labels) != len(pixels) or labels.max(initial=0) > 9:
        raise ValueError(f"{label_file}: expected {len(pixels)} uint8 labels in 0..9 (one per "
                         f"image of {image_file}), got {labels.dtype} of shape {labels.shape} "
                         f"with maximum {labels.max(initial=0)}")
    images = (pixels.astype(np.float32) / np.float32(127.5) - 1).reshape(-1, 1, 28, 28)
    return images, labels.astype(np.int64)


def cache_dir():
    """The user cache folder: ``$XDG_CACHE_HOME/tinygan``, by default ``~/.cache/tinygan``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tinygan")


def search_dirs(name):
    """The folders searched for the files of data set ``name``, in order."""
    folder = DATASETS[name]["folder"]
    dirs = []
    if os.environ.get("TINYGAN_DATA_DIR"):
        dirs.append(os.path.join(os.environ["TINYGAN_DATA_DIR"], folder))
    dirs.append(os.path.join(cache_dir(), folder))
    return dirs


def locate(name, filename, download=True, mirrors=None):
    """The path of ``filename`` of data set ``name``: found on disk, or downloaded to the cache."""
    dirs = search_dirs(name)
    for directory in dirs:
        path = os.path.join(directory, filename)
        if os.path.isfile(path):
            return path
    target = os.path.join(dirs[-1], filename)
    failures = []
    if download:
        md5 = DATASETS[name]["md5"][filename]
        for base in mirrors or DATASETS[name]["mirrors"]:
            url = base.rstrip("/") + "/" + filename
            try:
                fetch(url, target, md5)
                return target
            except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
                failures.append(f"{url}: {error}")
    files = [f for pair in FILES.values() for f in pair]
    raise DatasetNotFoundError(
        f"{name}: {filename} is not in {' or '.join(dirs)}"
        + (" and could not be downloaded (" + "; ".join(failures) + ")" if failures else
           " (download=False)")
        + f". Put the four files {', '.join(files)} in {dirs[-1]}/ , or in a folder "
        f"'{DATASETS[name]['folder']}/' under a directory named by $TINYGAN_DATA_DIR."
    )


def fetch(url, path, md5, chunk=1 << 16):
    """Download ``url`` to ``path`` with a progress bar; the MD5 must match ``md5``.

    The bytes go to a temporary file in the target folder, which is renamed to ``path`` only
    after the checksum matched (a rename within a folder is atomic).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".download-")
    digest = hashlib.md5()
    try:
        with os.fdopen(handle, "wb") as file, urllib.request.urlopen(url, timeout=30) as response:
            size = response.headers.get("Content-Length")
            with tqdm(total=int(size) if size else None, unit="B", unit_scale=True,
                      desc=os.path.basename(path), leave=False) as bar:
                while block := response.read(chunk):
                    file.write(block)
                    digest.update(block)
                    bar.update(len(block))
        if digest.hexdigest() != md5:
            raise ValueError(f"MD5 mismatch: got {digest.hexdigest()}, expected {md5}")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return path
