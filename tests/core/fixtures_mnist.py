"""Helpers that build tiny fake MNIST files (the book's pickle, IDX, Keras npz) for tests."""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import numpy as np

IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fake digits: images (n, 784) uint8, labels (n,) uint8 cycling 0..9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 784), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


def book_splits(n_train: int = 60, n_valid: int = 20, n_test: int = 20, seed: int = 0):
    """((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) as in the book's pickle:
    float32 pixels in [0, 1), int64 labels."""
    out = []
    for i, n in enumerate((n_train, n_valid, n_test)):
        x, y = digits(n, seed + i)
        out.append(((x / 256.0).astype(np.float32), y.astype(np.int64)))
    return tuple(out)


# ---------------------------------------------------------------- a Python 2 style pickle
# The book's mnist.pkl.gz was written by Python 2 with protocol 2: numpy arrays are
# numpy.core.multiarray._reconstruct + BUILD with the data as a py2 `str` (BINSTRING).
# Python 3 cannot write that form itself, so it is written opcode by opcode here.


def _int(v: int) -> bytes:
    return b"J" + struct.pack("<i", v)  # BININT


def _str(s: bytes) -> bytes:
    return (b"U" + struct.pack("<B", len(s)) if len(s) < 256 else b"T" + struct.pack("<I", len(s))) + s


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _py2_array(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    dtype = {np.dtype(np.float32): b"f4", np.dtype(np.int64): b"i8", np.dtype(np.float64): b"f8"}[a.dtype]
    shape = b"(" + b"".join(_int(d) for d in a.shape) + b"t"
    dtype_ops = (
        _global("numpy", "dtype") + _str(dtype) + _int(0) + _int(1) + b"\x87R"
        + b"(" + _int(3) + _str(b"<") + b"NNN" + _int(-1) + _int(-1) + _int(0) + b"tb"
    )
    state = b"(" + _int(1) + shape + dtype_ops + b"\x89" + _str(a.tobytes()) + b"tb"
    return _global("numpy.core.multiarray", "_reconstruct") + _global("numpy", "ndarray") + _int(0) + b"\x85" + _str(b"b") + b"\x87R" + state


def py2_pickle(obj) -> bytes:
    """A py2-protocol-2 pickle of nested tuples of numpy arrays (like mnist.pkl)."""

    def dump(o) -> bytes:
        if isinstance(o, np.ndarray):
            return _py2_array(o)
        if isinstance(o, tuple):
            return b"(" + b"".join(dump(x) for x in o) + b"t"
        raise TypeError(type(o))

    return b"\x80\x02" + dump(obj) + b"."


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


def write_pickle_gz(path: Path, splits=None) -> Path:
    path.write_bytes(gz(py2_pickle(splits if splits is not None else book_splits())))
    return path


# ---------------------------------------------------------------- IDX


def idx_bytes(a: np.ndarray, magic: int | None = None) -> bytes:
    """IDX encoding of a uint8 array: (n,) labels or (n, rows, cols) images."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 | a.ndim
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in a.shape) + a.tobytes()


def idx_files(n_train: int = 72, n_test: int = 20, seed: int = 0) -> dict[str, bytes]:
    """The four IDX files (uncompressed), keyed by their standard names."""
    tx, ty = digits(n_train, seed)
    sx, sy = digits(n_test, seed + 1)
    return {
        IDX_NAMES[0]: idx_bytes(tx.reshape(-1, 28, 28)),
        IDX_NAMES[1]: idx_bytes(ty),
        IDX_NAMES[2]: idx_bytes(sx.reshape(-1, 28, 28)),
        IDX_NAMES[3]: idx_bytes(sy),
    }


def write_idx_dir(folder: Path, files: dict[str, bytes] | None = None, compress: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (files or idx_files()).items():
        if compress:
            (folder / f"{name}.gz").write_bytes(gz(data))
        else:
            (folder / name).write_bytes(data)
    return folder


# ---------------------------------------------------------------- npz


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def keras_npz(path: Path, n_train: int = 72, n_test: int = 20) -> Path:
    tx, ty = digits(n_train, 0)
    sx, sy = digits(n_test, 1)
    np.savez_compressed(path, x_train=tx.reshape(-1, 28, 28), y_train=ty, x_test=sx.reshape(-1, 28, 28), y_test=sy)
    return path
