"""Two unpaired image domains built from one data set, for CycleGAN.

A pair is named "<data>:<change>", e.g. "mnist:rotated". For a split of the data set:

- domain A is its **first half** of images, as they are;
- domain B is its **second half**, every image changed by ``change``:

      "rotated"   turned 90 degrees counter-clockwise (np.rot90 on the pixel axes)
      "inverted"  light and dark swapped: x -> -x (pixels in [-1, 1])
      "thick"     strokes thickened: each pixel the maximum of its 3 x 3 neighbourhood
                  (a grey-level dilation), as a heavier pen would draw

A and B hold *different* images, so no image of B is the changed copy of an image of A: the
pairing that a supervised translation would learn from does not exist in the training data. The
labels are kept for measuring only: a translation G(a) "keeps the digit" when the quality
classifier, shown ``to_classifier_view(G(a))``, names a's class (the view undoes a rotation or an
inversion, so the classifier reads the digit upright and light on dark; a thick digit is read as
it is).
"""

import numpy as np

from .mnist import fashion_mnist, mnist

SOURCES = {"mnist": mnist, "fashion-mnist": fashion_mnist}
CHANGES = ("rotated", "inverted", "thick")
DOMAIN_PAIRS = tuple(f"{data}:{change}" for data in SOURCES for change in CHANGES)


def split_name(name):
    """("mnist", "rotated") for "mnist:rotated"; a ValueError listing the pairs otherwise."""
    if name not in DOMAIN_PAIRS:
        raise ValueError(f"unknown domain pair {name!r}; expected one of {', '.join(DOMAIN_PAIRS)}")
    data, change = name.split(":")
    return data, change


def change_images(images, change):
    """Domain B's version of ``images`` (N, C, H, W) in [-1, 1] (see the module docstring)."""
    images = np.asarray(images)
    if change == "rotated":
        return np.ascontiguousarray(np.rot90(images, k=1, axes=(2, 3)))
    if change == "inverted":
        return -images
    if change == "thick":
        padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1.0)
        h, w = images.shape[2:]
        out = np.full_like(images, -1.0)
        for di in range(3):
            for dj in range(3):
                np.maximum(out, padded[:, :, di:di + h, dj:dj + w], out=out)
        return out
    raise ValueError(f"unknown change {change!r}; expected one of {', '.join(CHANGES)}")


def to_classifier_view(images_b, change):
    """Images of domain B as the data set's classifier reads them: a rotation or an inversion
    undone; thick strokes left as they are."""
    images_b = np.asarray(images_b)
    if change == "rotated":
        return np.ascontiguousarray(np.rot90(images_b, k=-1, axes=(2, 3)))
    if change == "inverted":
        return -images_b
    if change == "thick":
        return images_b
    raise ValueError(f"unknown change {change!r}; expected one of {', '.join(CHANGES)}")


def domain_pair(name, split="train", subset=0):
    """(a_images, a_labels, b_images, b_labels) of the pair ``name`` for ``split``.

    A is the first half of the split, B the second half changed; with ``subset`` n > 0 only the
    first n images of the split are used (n // 2 per domain).
    """
    data, change = split_name(name)
    images, labels = SOURCES[data](split)
    if subset:
        images, labels = images[:subset], labels[:subset]
    half = len(images) // 2
    return (images[:half], labels[:half],
            change_images(images[half:2 * half], change).astype(np.float32),
            labels[half:2 * half])
