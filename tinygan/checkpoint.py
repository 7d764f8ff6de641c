"""Checkpoints: ``tinygan.save(obj, path)`` and ``tinygan.load(path)`` for state dicts.

A checkpoint is an ordinary ``.npz`` archive (NumPy's zip of ``.npy`` arrays) that
``np.load(path, allow_pickle=False)`` reads, so loading one can never run code — unlike a pickle,
which can call any function while it is read. Open one by hand to see what a model learned::

    >>> archive = np.load("gan.npz")
    >>> archive["generator/0.weight"].shape          # the arrays, under flattened keys
    (256, 100)

What can be saved: a dict (keys: str or int, without "/") whose values are ndarrays, Tensors
(saved as their arrays), numbers, bools, strings, None, lists or tuples of these, or nested dicts
of the same — a model's ``state_dict()``, an optimizer's, or a dict of several::

    tinygan.save({"generator": G.state_dict(), "optimizer_g": opt_g.state_dict(), "epoch": 7},
                 "gan.npz")

How it is encoded. Nested keys are joined with "/" ("optimizer_g/state/0/exp_avg"). Every value
that is not a container becomes one array of the archive: an ndarray as itself; a Python int as a
0-d int64 array, a float as a 0-d float64 array (both exact), a bool as a 0-d bool array, a string
as a 0-d unicode array. What arrays alone cannot tell — that a container was a dict (and whether
its keys were ints, in which order), a list or a tuple, and that a 0-d array was a Python number —
is recorded in one more array, ``__structure__``: a JSON string mapping each key to its kind
("dict" with its keys, "list"/"tuple" with its length, "int", "float", "bool", "str", "none"
or "array"). ``load`` rebuilds the same Python objects from both; a tuple of numbers such as
Adam's ``betas`` comes back as a tuple, an empty optimizer state as an empty dict.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

from .engine import Tensor

_STRUCTURE = "__structure__"
_FORMAT = "tinygan checkpoint"
_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable tinygan checkpoint (truncated, not an .npz, ...)."""


def save(obj, path):
    """Write ``obj`` (a dict, see the module docstring) to ``path`` as an .npz archive.

    The file is written under a temporary name and then renamed, so an interrupted save leaves
    the previous checkpoint intact. ``path`` is used as given (no ".npz" is appended).
    """
    if not isinstance(obj, dict):
        raise TypeError(f"tinygan.save: expected a dict (a state dict, or a dict of them), got "
                        f"{type(obj).__name__}")
    arrays, kinds = {}, {}
    _flatten(obj, "", arrays, kinds)
    arrays[_STRUCTURE] = np.array(json.dumps({"format": _FORMAT, "version": _VERSION,
                                              "kinds": kinds}))
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as file:
            _write_npz(file, arrays)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _write_npz(file, arrays):
    """An .npz is a zip archive with one ``NAME.npy`` file per array; write it member by member.

    (``np.savez(file, **arrays)`` would take a key named "file" or "allow_pickle" for its own
    argument.) ``allow_pickle=False`` refuses object arrays here already, at save time.
    """
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def load(path):
    """Read a checkpoint written by ``save``; returns the same nested dict.

    Raises FileNotFoundError for a missing file and CheckpointError (a ValueError) naming the
    path for anything that is not a complete checkpoint. An .npz written by NumPy itself (no
    ``__structure__``) loads as a flat dict {name: array}.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tinygan.load: no such file: {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.lib.npyio.NpzFile):
            with archive:
                arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as error:
        # pickled or object arrays are refused by allow_pickle=False with a ValueError
        raise CheckpointError(f"tinygan.load: {path!r} is not a readable tinygan checkpoint "
                              f"(truncated, corrupted, or not an .npz file): {error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(f"tinygan.load: {path!r} holds a single .npy array, not an .npz "
                              "checkpoint")
    if _STRUCTURE not in arrays:
        return arrays
    try:
        structure = json.loads(str(arrays.pop(_STRUCTURE)))
        if structure.get("format") != _FORMAT:
            raise ValueError(f"unknown format {structure.get('format')!r}")
        return _unflatten("", structure["kinds"], arrays)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointError(f"tinygan.load: {path!r} has a damaged __structure__ entry: "
                              f"{error!r}") from None


def _flatten(value, key, arrays, kinds):
    """Record ``value`` under ``key``: containers recurse, everything else becomes one array."""
    if isinstance(value, dict):
        names = list(value)
        for name in names:
            if isinstance(name, bool) or not isinstance(name, str | int):
                raise TypeError(f"tinygan.save: dict keys must be str or int, got {name!r} at "
                                f"{key or 'the top level'!r}")
            if isinstance(name, str) and ("/" in name or name in ("", _STRUCTURE)):
                raise ValueError(f"tinygan.save: key {name!r} at {key or 'the top level'!r} is "
                                 "empty, contains '/', or is reserved")
        if len({str(name) for name in names}) != len(names):
            raise ValueError(f"tinygan.save: keys {names} at {key or 'the top level'!r} collide "
                             "(an int and a str with the same digits)")
        kinds[key] = {"kind": "dict", "keys": names}
        for name in names:
            _flatten(value[name], _child(key, name), arrays, kinds)
    elif isinstance(value, list | tuple):
        kinds[key] = {"kind": type(value).__name__, "length": len(value)}
        for index, item in enumerate(value):
            _flatten(item, _child(key, index), arrays, kinds)
    elif value is None:
        kinds[key] = "none"
    elif isinstance(value, bool | np.bool_):
        kinds[key], arrays[key] = "bool", np.array(bool(value))
    elif isinstance(value, int):
        kinds[key], arrays[key] = "int", np.array(value, dtype=np.int64)
    elif isinstance(value, float):
        kinds[key], arrays[key] = "float", np.array(value, dtype=np.float64)
    elif isinstance(value, str):
        kinds[key], arrays[key] = "str", np.array(value)
    elif isinstance(value, Tensor | np.ndarray | np.generic):
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
        if array.dtype.hasobject:
            raise TypeError(f"tinygan.save: {key!r} is an object array, which only a pickle "
                            "could store")
        kinds[key], arrays[key] = "array", array
    else:
        raise TypeError(f"tinygan.save: cannot store {type(value).__name__} at {key!r} (arrays, "
                        "numbers, strings, None, lists, tuples and dicts can be stored)")


def _unflatten(key, kinds, arrays):
    kind = kinds[key]
    if isinstance(kind, dict):
        if kind["kind"] == "dict":
            return {name: _unflatten(_child(key, name), kinds, arrays) for name in kind["keys"]}
        items = [_unflatten(_child(key, i), kinds, arrays) for i in range(kind["length"])]
        return tuple(items) if kind["kind"] == "tuple" else items
    if kind == "none":
        return None
    array = arrays[key]
    converters = {"bool": bool, "int": int, "float": float, "str": str, "array": lambda a: a}
    if kind not in converters:
        raise ValueError(f"unknown kind {kind!r} for {key!r}")
    return converters[kind](array if kind == "array" else array[()])


def _child(key, name):
    return f"{key}/{name}" if key else str(name)
