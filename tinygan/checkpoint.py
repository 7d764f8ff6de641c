"""Checkpoints: ``tinygan.save(obj, path)`` and ``tinygan.load(path)`` for state dicts.

A checkpoint is an ordinary ``.npz`` archive (NumPy's zip of ``.npy`` arrays) that
``np.load(path, allow_pickle=False)`` reads, so loading one can never run code — unlike a pickle,
which can call any function while it is read. Open one by hand to see what a model learned::

    >>> archive = np.load("gan.npz")
    >>> archive["generator/0.weight"].shape          # the arrays, under flattened keys
    (256, 100)

What can be saved: a dict (keys: ints, or non-empty strings without "/" or NUL that do not end
in ".npy"; nesting at most 100 levels deep) whose values are ndarrays, Tensors
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

import errno
import json
import math
import os
import secrets
import stat
import time
import zipfile

import numpy as np

from .engine import Tensor

_STRUCTURE = "__structure__"
_FORMAT = "tinygan checkpoint"
_VERSION = 1
_MAX_DEPTH = 100  # nesting levels of dicts and lists; deeper is a dict containing itself, or a trap


class CheckpointError(ValueError):
    """A file that cannot be loaded as a tinygan checkpoint. The message names the path and
    the real cause (missing, unreadable, truncated, not an .npz, a damaged or crafted entry)."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No file at the given path: a CheckpointError that is also a FileNotFoundError."""


def save(obj, path):
    """Write ``obj`` (a dict, see the module docstring) to ``path`` as an .npz archive.

    ``path`` is used as given (no ".npz" is appended). The write is atomic: the archive goes to
    a hidden temporary file in the same folder (``.NAME.tmp-XXXXXXXX``), is flushed to the disk
    (fsync), and only then renamed over ``path``, so an interrupted save (a crash, a kill, a
    power loss) leaves the previous checkpoint intact, never a half-written one. A save killed
    before its rename leaves its temporary behind; the next successful save to the same path
    removes such stale temporaries.

    The new file gets the permissions any new file gets (0666 minus the umask, so a course's
    shared checkpoint is readable by others when the umask allows); overwriting an existing
    file keeps that file's permissions. When ``path`` is a symbolic link, the file it points to
    is replaced and the link stays a link.
    """
    if not isinstance(obj, dict):
        raise TypeError(f"tinygan.save: expected a dict (a state dict, or a dict of them), got "
                        f"{type(obj).__name__}")
    path = os.fspath(path)
    if not path:
        raise ValueError("tinygan.save: the path is empty")
    arrays, kinds = {}, {}
    _flatten(obj, "", arrays, kinds)
    arrays[_STRUCTURE] = np.array(json.dumps({"format": _FORMAT, "version": _VERSION,
                                              "kinds": kinds}))
    target = os.path.realpath(path)  # through symlinks: the link stays, its target is replaced
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise _save_error(errno.ENOENT, path, f"its folder {directory!r} does not exist",
                          FileNotFoundError)
    if os.path.isdir(target):
        raise _save_error(errno.EISDIR, path, "it is a folder", IsADirectoryError)
    started = time.time()
    prefix = _temporary_prefix(target)
    temporary = os.path.join(directory, prefix + secrets.token_hex(8))
    try:
        # O_EXCL: a fresh file of our own; mode 0o666, from which the OS removes the umask.
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _save_error(error.errno, path, f"cannot create a file in {directory!r} "
                          f"({error.strerror})", type(error)) from None
    try:
        with os.fdopen(handle, "wb") as file:
            _write_npz(file, arrays)
            file.flush()
            os.fsync(file.fileno())  # on the disk before the rename makes it the checkpoint
        if os.path.exists(target):
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.remove(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _save_error(error.errno, path, error.strerror or str(error),
                              type(error)) from None
        raise
    _fsync_directory(directory)  # the rename itself is durable once the folder is synced
    _remove_stale_temporaries(directory, prefix, started)


def _save_error(number, path, cause, kind=OSError):
    """An OSError of the right kind whose message names the user's path, not the temporary."""
    return kind(number, f"tinygan.save: cannot write {path!r}: {cause}")  # no filename= :
    # it would be the temporary's name, which means nothing to the user


def _temporary_prefix(target):
    """Temporaries of one target share this prefix, so a later save can find stale ones."""
    return f".{os.path.basename(target)[:200]}.tmp-"


def _fsync_directory(directory):
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:  # some file systems cannot sync a folder; the data itself is synced
        pass
    finally:
        os.close(handle)


def _remove_stale_temporaries(directory, prefix, started):
    """Remove temporaries of this target left by saves that were killed before their rename.

    Only files last written before this save started are removed: a save of the same path
    running concurrently in another process keeps writing its temporary, so it is left alone.
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix):
            continue
        candidate = os.path.join(directory, name)
        try:
            if os.stat(candidate, follow_symlinks=False).st_mtime < started:
                os.remove(candidate)
        except OSError:  # already gone, or not ours to remove
            pass


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

    Every failure is a CheckpointError (a ValueError) whose message names ``path`` and the
    real cause: a missing file (then also a FileNotFoundError), one that cannot be read
    (permissions, a folder), one that is not an .npz archive, a truncated or damaged archive,
    an array member that is not what its header claims, or a damaged ``__structure__``. Nothing
    is ever unpickled: an archive that would need pickle is refused as such. An .npz written by
    NumPy itself (no ``__structure__``) loads as a flat dict {name: array}.

    The archive is read member by member with ``zipfile`` and ``np.lib.format`` rather than
    ``np.load``: ``np.load`` would look a key up as "KEY" or "KEY.npy" (mixing up the keys "x"
    and "x.npy"), and on a file that is no archive it suggests loading it with pickle.
    """
    path = os.fspath(path)
    try:
        file = open(path, "rb")  # closed by the with below
    except FileNotFoundError:
        error = CheckpointNotFoundError(f"tinygan.load: no such file: {path!r}")
        error.errno = errno.ENOENT
        raise error from None
    except OSError as error:
        raise CheckpointError(f"tinygan.load: cannot read {path!r}: "
                              f"{error.strerror or error}") from None
    with file:
        arrays = _read_archive(file, path)
    if _STRUCTURE not in arrays:
        return arrays
    try:
        structure = json.loads(str(arrays.pop(_STRUCTURE)[()]))
        if not isinstance(structure, dict) or structure.get("format") != _FORMAT:
            raise ValueError("it does not say it is a tinygan checkpoint")
        kinds = structure["kinds"]
        if not isinstance(kinds, dict):
            raise ValueError("its 'kinds' entry is not a mapping")
        return _unflatten("", kinds, arrays, 0)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as error:
        raise CheckpointError(f"tinygan.load: {path!r} has a damaged __structure__ entry: "
                              f"{error!r}") from None


def _read_archive(file, path):
    """{name: array} of every ``NAME.npy`` member of the zip archive ``file``."""
    start = file.read(6)
    file.seek(0)
    if start.startswith(b"\x93NUMPY"):
        raise CheckpointError(f"tinygan.load: {path!r} holds a single .npy array, not an .npz "
                              "checkpoint")
    if not start.startswith(b"PK"):
        raise CheckpointError(f"tinygan.load: {path!r} is not a tinygan checkpoint: it is not a "
                              f"zip (.npz) archive (it starts with {start!r})")
    try:
        with zipfile.ZipFile(file) as archive:
            arrays = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise CheckpointError(f"tinygan.load: {path!r} is not a tinygan checkpoint: "
                                          f"its member {info.filename!r} is not an .npy array")
                arrays[info.filename[:-4]] = _read_member(archive, info, path)
            return arrays
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            KeyError, NotImplementedError) as error:
        raise CheckpointError(f"tinygan.load: {path!r} is not a readable tinygan checkpoint "
                              f"(truncated or damaged zip archive): {error}") from None


def _read_member(archive, info, path):
    """One ``.npy`` member as an array, its header checked against the bytes it really holds.

    A crafted header can claim any shape (8 TiB of float64); the array is only allocated
    once the member is known to hold exactly that many bytes."""
    name = info.filename
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        except ValueError as error:
            raise CheckpointError(f"tinygan.load: {path!r}: member {name!r} has no valid .npy "
                                  f"header: {error}") from None
        if dtype.hasobject:
            raise CheckpointError(f"tinygan.load: {path!r}: member {name!r} is an array of "
                                  "Python objects, which tinygan checkpoints never contain "
                                  "(and which could run code when read); refused")
        claimed = math.prod(shape) * dtype.itemsize
        held = info.file_size - member.tell()
        if claimed != held:
            raise CheckpointError(f"tinygan.load: {path!r}: member {name!r} claims shape "
                                  f"{shape} of {dtype} ({claimed} bytes) but holds {held} bytes")
        try:
            buffer = bytearray(claimed)
        except MemoryError:
            raise CheckpointError(f"tinygan.load: {path!r}: member {name!r} needs {claimed} "
                                  "bytes, more than the memory available") from None
        if member.readinto(buffer) != claimed:
            raise CheckpointError(f"tinygan.load: {path!r}: member {name!r} is truncated")
    array = np.frombuffer(buffer, dtype=dtype)
    return array.reshape(shape, order="F" if fortran_order else "C")


def _flatten(value, key, arrays, kinds, depth=0):
    """Record ``value`` under ``key``: containers recurse, everything else becomes one array."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"tinygan.save: {key!r} is nested deeper than {_MAX_DEPTH} levels "
                         "(a dict or list that contains itself?)")
    if isinstance(value, dict):
        names = list(value)
        for name in names:
            if isinstance(name, bool) or not isinstance(name, str | int):
                raise TypeError(f"tinygan.save: dict keys must be str or int, got {name!r} at "
                                f"{key or 'the top level'!r}")
            if isinstance(name, str):
                _check_key(name, key)
        if len({str(name) for name in names}) != len(names):
            raise ValueError(f"tinygan.save: keys {names} at {key or 'the top level'!r} collide "
                             "(an int and a str with the same digits)")
        kinds[key] = {"kind": "dict", "keys": names}
        for name in names:
            _flatten(value[name], _child(key, name), arrays, kinds, depth + 1)
    elif isinstance(value, list | tuple):
        kinds[key] = {"kind": type(value).__name__, "length": len(value)}
        for index, item in enumerate(value):
            _flatten(item, _child(key, index), arrays, kinds, depth + 1)
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


def _check_key(name, parent):
    """A str key must name exactly one archive member, readable back by any zip reader.

    Refused: "" and "/" (the separator of nested keys), the reserved "__structure__", a NUL
    character or text that is not valid Unicode (zip member names cannot hold them; the file
    would save but never load), and a trailing ".npy": NumPy's own reader looks "x" up as "x" or
    "x.npy", so keys "x" and "x.npy" would read back each other's arrays with ``np.load``."""
    where = parent or "the top level"
    problem = None
    if "/" in name or name in ("", _STRUCTURE):
        problem = "is empty, contains '/', or is reserved"
    elif "\0" in name:
        problem = "contains a NUL character"
    elif name.endswith(".npy"):
        problem = "ends in '.npy', which NumPy's reader confuses with the key without it"
    else:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            problem = "is not valid Unicode text"
    if problem:
        raise ValueError(f"tinygan.save: key {name!r} at {where!r} {problem}")


def _unflatten(key, kinds, arrays, depth):
    """Rebuild the value stored under ``key``. The structure comes from a file, so nothing in
    it is trusted: every kind and name is checked, and the depth is bounded (a crafted entry
    can describe a dict nested 5000 levels deep, which would exhaust Python's stack)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"{_shortened(key)!r} is nested deeper than {_MAX_DEPTH} levels")
    if key not in kinds:
        raise ValueError(f"no kind recorded for {key!r}")
    kind = kinds[key]
    if isinstance(kind, dict):
        if kind.get("kind") == "dict":
            names = kind.get("keys")
            if not isinstance(names, list) or not all(
                    isinstance(n, int) and not isinstance(n, bool)
                    or isinstance(n, str) and n and "/" not in n for n in names):
                raise ValueError(f"the keys of {key!r} are not a list of names")
            # every child key is longer than its parent's, so no entry can refer to itself
            return {name: _unflatten(_child(key, name), kinds, arrays, depth + 1)
                    for name in names}
        length = kind.get("length")
        if kind.get("kind") not in ("list", "tuple") or isinstance(length, bool) or not (
                isinstance(length, int) and length >= 0):
            raise ValueError(f"unknown container {kind!r} for {key!r}")
        items = [_unflatten(_child(key, i), kinds, arrays, depth + 1) for i in range(length)]
        return tuple(items) if kind["kind"] == "tuple" else items
    if kind == "none":
        return None
    converters = {"bool": bool, "int": int, "float": float, "str": str, "array": lambda a: a}
    if not isinstance(kind, str) or kind not in converters:
        raise ValueError(f"unknown kind {kind!r} for {key!r}")
    if key not in arrays:
        raise ValueError(f"the array of {key!r} is missing")
    array = arrays[key]
    if kind != "array" and array.shape != ():
        raise ValueError(f"{key!r} should hold one {kind}, got an array of shape {array.shape}")
    return converters[kind](array if kind == "array" else array[()])


def _shortened(key, limit=60):
    return key if len(key) <= limit else key[:limit] + "..."


def _child(key, name):
    return f"{key}/{name}" if key else str(name)
