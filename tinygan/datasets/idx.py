"""The IDX file format of MNIST and Fashion-MNIST, gzipped, read with NumPy.

An IDX file is a big-endian header followed by the raw array:

    bytes 0-1   0, 0
    byte  2     the element type: 0x08 unsigned byte (the only one MNIST uses), 0x09 signed
                byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     the number of dimensions d
    then        d sizes, each a big-endian uint32
    then        prod(sizes) elements, big-endian, in C order (the last index varies fastest)

So bytes 0-3 read as one big-endian integer are the "magic number": 2051 = 0x00000803 for MNIST's
image files (unsigned bytes, 3 dimensions: count, rows, cols) and 2049 = 0x00000801 for its label
files (unsigned bytes, 1 dimension: count). The files are distributed gzipped (``.gz``).

``read_idx`` checks everything it can: the gzip stream is complete, the two zero bytes, the type
code, the number of dimensions the caller expects, and that the data is exactly as long as the
sizes say. Any failure raises ``IdxError`` naming the file and what was wrong.
"""

import gzip
import os
import zlib

import numpy as np

# type code -> big-endian NumPy dtype
_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _DTYPES.items()}


class IdxError(ValueError):
    """A file that is not a complete gzipped IDX file of the expected kind."""


def read_idx(path, ndim=None):
    """The array stored in the gzipped IDX file ``path`` (native byte order).

    ``ndim``: the number of dimensions the caller expects (3 for images, 1 for labels), or None
    to accept any. Raises IdxError for an empty, truncated, corrupt or foreign file.
    """
    path = os.fspath(path)
    raw = _gunzip(path)
    if len(raw) < 4:
        raise IdxError(f"{path}: not an IDX file: {len(raw)} bytes after decompression, fewer "
                       "than the 4 bytes of the magic number")
    zeros, code, dims = raw[:2], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zeros != b"\0\0" or code not in _DTYPES:
        raise IdxError(f"{path}: not an IDX file: magic number {magic} (0x{magic:08X}); expected "
                       "0x0000TTDD with a type code TT in "
                       f"{{{', '.join(f'0x{c:02X}' for c in _DTYPES)}}} "
                       "(MNIST: 2051 for images, 2049 for labels)")
    if ndim is not None and dims != ndim:
        raise IdxError(f"{path}: expected an IDX file of {ndim} dimension(s) (magic "
                       f"{(code << 8) | ndim}), got {dims} (magic {magic})")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise IdxError(f"{path}: truncated header: {dims} dimension sizes need {header} bytes, "
                       f"the file has {len(raw)}")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=dims, offset=4))
    dtype = _DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "too long"
        raise IdxError(f"{path}: {what}: a {'x'.join(map(str, shape))} array of {dtype.name} "
                       f"needs {expected} bytes after decompression, the file has {len(raw)}")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def write_idx(path, array):
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64) as a gzipped IDX file."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype)
    if code is None:
        raise TypeError(f"write_idx: IDX stores uint8, int8, int16, int32, float32 or float64, "
                        f"not {array.dtype}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with gzip.open(os.fspath(path), "wb") as file:
        file.write(header + np.ascontiguousarray(array, _DTYPES[code]).tobytes())


def _gunzip(path):
    """The decompressed bytes of ``path``; an IdxError when it is missing or not a whole gzip."""
    try:
        with open(path, "rb") as file:
            compressed = file.read()
    except OSError as error:
        raise IdxError(f"{path}: cannot read: {error.strerror or error}") from None
    if not compressed:
        raise IdxError(f"{path}: the file is empty (0 bytes); expected a gzipped IDX file")
    if compressed[:2] != b"\x1f\x8b":
        raise IdxError(f"{path}: not a gzip file (it starts with {compressed[:4]!r}, gzip files "
                       "with b'\\x1f\\x8b'); expected a gzipped IDX file")
    try:
        return gzip.decompress(compressed)
    except EOFError:
        raise IdxError(f"{path}: truncated: the gzip stream ends early ({len(compressed)} bytes "
                       "on disk); download the file again") from None
    except (gzip.BadGzipFile, zlib.error) as error:
        raise IdxError(f"{path}: corrupt gzip data ({error})") from None
