"""Mini-batches: an endless, seeded, resumable stream of shuffled batches of arrays.

    batches = BatchIterator(images, labels, batch_size=64)
    x, y = next(batches)                  # one step of training
    batches.epoch                         # full passes over the data completed so far

One epoch visits every item once, in the order of a permutation of 0..N-1 (the identity when
``shuffle=False``): batch b holds items order[b*B : (b+1)*B]. When N is not a multiple of B, the
last, smaller batch is served (``drop_last=False``) or skipped (``drop_last=True``, the default:
batch norm and the GAN losses then always see B items). After the last batch of an epoch a new
epoch starts with a new permutation. There is no StopIteration: a training loop counts its own
steps (``batches_per_epoch`` per epoch).

Reproducible and resumable. The permutation of epoch e is drawn from a generator seeded with
(seed, e), where ``seed`` is drawn once, at construction, from ``tinygan.random.generator()``
(so ``tinygan.manual_seed`` fixes it). ``state_dict()`` records the seed, the epoch, the position
in it and its permutation; ``load_state_dict`` restores them, and the batches that follow are
the ones the saved iterator would have served, bit for bit.
"""

import numpy as np

from ..random import generator


class BatchIterator:
    """Endless iterator over mini-batches of ``arrays`` (all of the same length N, along axis 0).

    Yields one array per step when given one array, a tuple of arrays when given several.

    Attributes:
        epoch: the number of epochs completed (0 during the first).
        batches_per_epoch: N // batch_size with ``drop_last``, ceil(N / batch_size) without.
        position: batches already served in the current epoch.
    """

    def __init__(self, *arrays, batch_size, shuffle=True, drop_last=True):
        if not arrays:
            raise ValueError("BatchIterator: expected at least one array")
        arrays = tuple(np.asarray(a) for a in arrays)
        lengths = [len(a) if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError(f"BatchIterator: the arrays must have the same length along axis 0, "
                             f"got shapes {[a.shape for a in arrays]}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
                or batch_size < 1:
            raise ValueError(f"BatchIterator: batch_size must be a positive int, got "
                             f"{batch_size!r}")
        n = lengths[0]
        self.arrays = arrays
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.batches_per_epoch = n // batch_size if drop_last else -(-n // batch_size)
        if self.batches_per_epoch == 0:
            raise ValueError(f"BatchIterator: {n} items give no batch of {batch_size} with "
                             f"drop_last=True; use a smaller batch_size or drop_last=False")
        self.seed = int(generator().integers(2**63 - 1))
        self.epoch = 0
        self.position = 0
        self._order = self._permutation(0)

    def __len__(self):
        """The number of items N."""
        return len(self.arrays[0])

    def __iter__(self):
        return self

    def __next__(self):
        start = self.position * self.batch_size
        batch = self._take(self._order[start:start + self.batch_size])
        self.position += 1
        if self.position == self.batches_per_epoch:
            self.epoch += 1  # epoch counts completed epochs as soon as the last batch is out
            self.position = 0
            self._order = self._permutation(self.epoch)
        return batch

    def epoch_batches(self):
        """One pass over the data in its own order, keeping the last smaller batch (for
        evaluation); it does not change the endless iteration's state."""
        for start in range(0, len(self), self.batch_size):
            yield self._take(np.arange(start, min(start + self.batch_size, len(self))))

    def state_dict(self):
        """{"seed", "epoch", "position": ints, "order": int64 ndarray}: where the stream is."""
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position,
                "order": self._order.copy()}

    def load_state_dict(self, state):
        """Continue from a ``state_dict()`` of an iterator over the same data."""
        missing = {"seed", "epoch", "position", "order"} - set(state)
        if missing:
            raise KeyError(f"BatchIterator.load_state_dict: missing key(s) {sorted(missing)}")
        order = np.asarray(state["order"], dtype=np.int64)
        if order.shape != (len(self),) or not np.array_equal(np.sort(order), np.arange(len(self))):
            raise ValueError(f"BatchIterator.load_state_dict: 'order' must be a permutation of "
                             f"0..{len(self) - 1}, got an array of shape {order.shape}")
        position = int(state["position"])
        if not 0 <= position < self.batches_per_epoch:
            raise ValueError(f"BatchIterator.load_state_dict: position {position} outside "
                             f"0..{self.batches_per_epoch - 1}")
        self.seed, self.epoch, self.position = int(state["seed"]), int(state["epoch"]), position
        self._order = order.copy()

    def _permutation(self, epoch):
        if not self.shuffle:
            return np.arange(len(self), dtype=np.int64)
        return np.random.default_rng([self.seed, epoch]).permutation(len(self)).astype(np.int64)

    def _take(self, indices):
        batch = tuple(a[indices] for a in self.arrays)
        return batch[0] if len(batch) == 1 else batch

    def __repr__(self):
        return (f"BatchIterator({len(self.arrays)} array(s) of {len(self)} items, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, epoch={self.epoch}, position={self.position})")
