"""MNIST for nnviz: the bundled 5,000-digit subset, full MNIST, and the book's loader API.

Every image is a row of 784 floats in [0, 1] (28x28, row-major); every label an int 0..9.
``load_data`` and ``load_data_wrapper`` return what the book's ``mnist_loader`` returns,
so chapter 1's ``network.py`` runs on them unchanged. Every failure is a ``DataError``
whose one-line message says what is wrong with which file.
"""

from __future__ import annotations

import os
import pickle
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnviz.core.classes import check_class_names, label_name, noun
from nnviz.core.errors import DataError
from nnviz.core.safeio import (
    MAX_DATA_BYTES,
    CappedReader,
    check_regular,
    expect_end,
    gzip_reader,
    npz_keys,
    open_regular,
    open_zip,
    read_npy_member,
    sniff,
)

__all__ = [
    "Dataset",
    "load_bundled",
    "load_data",
    "load_data_wrapper",
    "load_dataset",
    "load_file",
    "load_mnist",
    "vectorized_result",
]

N_PIXELS = 784
BUNDLED_FILE = "mnist_5k.npz"
BUNDLED_DESCRIPTION = "5,000 real MNIST digits: 4,000 train / 1,000 test (bundled, CC BY-SA 3.0)"
MNIST_DESCRIPTION = "MNIST: 50,000 train / 10,000 validation / 10,000 test (CC BY-SA 3.0)"
EXPECTED = ("expected mnist.pkl.gz, a directory of IDX files, mnist.npz, a CSV of digits, "
            "or a folder of your digits' images (0/, 1/, … 9/)")

PathLike = str | os.PathLike
Progress = Callable[[int, "int | None"], None]  # progress(done_bytes, total_bytes), as in download


# --------------------------------------------------------------------------- Dataset


def _images(x: Any, what: str) -> np.ndarray:
    """(n, 784) float32 in [0, 1], read-only. uint8 / integer 0..255 input is divided by 255."""
    a = np.asarray(x)
    if a.ndim != 2:
        raise DataError(f"{what}: expected a (n, 784) array, got shape {a.shape}")
    if a.shape[1] != N_PIXELS:
        raise DataError(f"{what}: expected {N_PIXELS} pixels per image, got {a.shape[1]}")
    if a.dtype.kind in "iu":
        if a.size and (a.min() < 0 or a.max() > 255):
            raise DataError(f"{what}: integer pixel values must be 0..255, got {a.min()}..{a.max()}")
        a = np.divide(a, np.float32(255), dtype=np.float32)
    elif a.dtype.kind == "f":
        a = np.ascontiguousarray(a, dtype=np.float32)
        if a.size:
            lo, hi = float(a.min()), float(a.max())
            if not (lo >= 0.0 and hi <= 1.0):
                hint = " (divide by 255?)" if lo >= 0.0 and hi <= 255.0 else ""
                raise DataError(f"{what}: pixel values must be in [0, 1], got {lo:g}..{hi:g}{hint}")
    else:
        raise DataError(f"{what}: expected pixel values as numbers, got {a.dtype}")
    return _read_only(a)


def _labels(y: Any, what: str) -> np.ndarray:
    """(n,) int64 in 0..9, read-only."""
    a = np.asarray(y)
    if a.ndim != 1:
        raise DataError(f"{what}: expected a (n,) array of digits, got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise DataError(f"{what}: expected integer labels 0-9, got {a.dtype}")
    if a.size:
        bad = a[(a < 0) | (a > 9)]
        if bad.size:
            raise DataError(f"{what}: labels must be digits 0-9, got {int(bad[0])}")
    return _read_only(np.ascontiguousarray(a, dtype=np.int64))


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Images and labels of one dataset, checked and read-only.

    ``*_images``: (n, 784) float32 in [0, 1]; ``*_labels``: (n,) int64 in 0..9. uint8
    images (0..255) given to the constructor are divided by 255. ``validation_*`` are
    both None or both arrays. ``class_names``: the 10 labels' names (Fashion-MNIST's
    "T-shirt/top" … "Ankle boot"), or None when the labels are digits (MNIST and its kin).
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    validation_images: np.ndarray | None = None
    validation_labels: np.ndarray | None = None
    description: str = ""
    class_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_names", check_class_names(self.class_names))
        splits = [("train", "train_images", "train_labels"), ("test", "test_images", "test_labels")]
        if (self.validation_images is None) != (self.validation_labels is None):
            raise DataError("validation images and labels must be given together")
        if self.validation_images is not None:
            splits.append(("validation", "validation_images", "validation_labels"))
        for split, img_field, lab_field in splits:
            images = _images(getattr(self, img_field), f"{split} images")
            labels = _labels(getattr(self, lab_field), f"{split} labels")
            if len(images) != len(labels):
                raise DataError(f"{split} split: {len(images)} images but {len(labels)} labels")
            object.__setattr__(self, img_field, images)
            object.__setattr__(self, lab_field, labels)

    @property
    def n_train(self) -> int:
        return len(self.train_labels)

    @property
    def n_test(self) -> int:
        return len(self.test_labels)

    @property
    def n_validation(self) -> int:
        return 0 if self.validation_labels is None else len(self.validation_labels)

    def label_name(self, label: int) -> str:
        """Label ``label``'s name: "7" for a digit, "Sneaker" for Fashion-MNIST's 7."""
        return label_name(label, self.class_names)

    def noun(self, plural: bool = False) -> str:
        """What one example is called: "digit", or "item" when the classes have names."""
        return noun(self.class_names, plural)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, "
            f"n_validation={self.n_validation}, n_test={self.n_test})"
        )


def _dataset(where: str, name: str, description: str, class_names: tuple[str, ...] | None = None,
             **arrays: Any) -> Dataset:
    """Build a Dataset; a problem with the arrays becomes ``"<where>: <problem>"``."""
    try:
        return Dataset(name=name, description=description, class_names=class_names, **arrays)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None


def _split_validation(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The IDX/Keras 60k training set -> first 5/6 train, last 1/6 validation (50k / 10k)."""
    n_valid = len(labels) // 6
    n_train = len(labels) - n_valid
    return {
        "train_images": images[:n_train],
        "train_labels": labels[:n_train],
        "validation_images": images[n_train:],
        "validation_labels": labels[n_train:],
    }


# --------------------------------------------------------------------------- bundled


def _bundled_path() -> Path:
    here = Path(__file__).resolve()
    candidates = [here.parents[1] / "resources" / BUNDLED_FILE, here.parents[2] / "resources" / BUNDLED_FILE]
    for path in candidates:
        if path.is_file():
            return path
    raise DataError(
        f"the bundled data file {BUNDLED_FILE} is missing from this installation "
        f"(looked in {candidates[0].parent} and {candidates[1].parent}); reinstall nnviz"
    )


def load_bundled() -> Dataset:
    """The bundled 5,000 real MNIST digits: 4,000 train / 1,000 test, 10 classes balanced."""
    path = _bundled_path()
    arrays = _read_npz(path, ("train_images", "train_labels", "test_images", "test_labels"))
    return _dataset(BUNDLED_FILE, "bundled", BUNDLED_DESCRIPTION, **arrays)


# --------------------------------------------------------------------------- files


def load_dataset(
    source: PathLike = "bundled",
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    cache_dir: PathLike | None = None,
) -> Dataset:
    """``"bundled"``, ``"mnist"`` (downloaded and cached on first use), or a file/folder path.

    ``progress(done_bytes, total_bytes)`` and ``cancel`` are used only by a download.
    Raises DataError (DownloadError for network problems).
    """
    if isinstance(source, str) and source == "bundled":
        return load_bundled()
    if isinstance(source, str) and source == "mnist":
        return load_mnist(progress=progress, cancel=cancel, cache_dir=cache_dir)
    if isinstance(source, str) and source in EXTRA_DATASETS:
        return load_extra(source, progress=progress, cancel=cancel, cache_dir=cache_dir)
    return load_file(source)


EXTRA_DATASETS = {  # name: (description, class names), downloaded like MNIST
    "fashion-mnist": ("Fashion-MNIST (Zalando, MIT licence): 50,000 train / 10,000 validation / 10,000 test",
                      ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                       "Ankle boot")),
    "kmnist": ("KMNIST, Kuzushiji-MNIST (ROIS-DS CODH, CC BY-SA 4.0): 50,000 train / 10,000 validation / 10,000 test",
               ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")),
}


def load_extra(
    name: str,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    cache_dir: PathLike | None = None,
) -> Dataset:
    """Fashion-MNIST or KMNIST, split 50,000 / 10,000 / 10,000 as the book splits MNIST;
    downloaded and cached on first use, with its class names (:data:`EXTRA_DATASETS`)."""
    from nnviz.core.download import fetch_extra

    path = fetch_extra(name, cache_dir=cache_dir, progress=progress, cancel=cancel)
    description, class_names = EXTRA_DATASETS[name]
    return _load_dir(path, name, description, class_names)


def load_mnist(
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    cache_dir: PathLike | None = None,
) -> Dataset:
    """Full MNIST, 50,000 train / 10,000 validation / 10,000 test; downloads it if not cached."""
    from nnviz.core.download import fetch_mnist

    path = fetch_mnist(cache_dir=cache_dir, progress=progress, cancel=cancel)
    return _load_path(path, name="mnist", description=MNIST_DESCRIPTION)


def load_file(path: PathLike) -> Dataset:
    """Load ``mnist.pkl.gz`` / ``.pkl`` (the book's), a folder of IDX files, or Keras' ``mnist.npz``.

    An npz with nnviz's own keys (``train_images``, ``train_labels``, ``test_images``,
    ``test_labels``, optionally ``validation_*``) loads too.
    """
    if not str(path).strip():
        raise DataError("no data file given (an empty name): use bundled, mnist or a path")
    if "\0" in str(path):
        raise DataError("a data path cannot contain a NUL character")
    p = Path(path).expanduser()
    return _load_path(p, name=p.name or str(p), description="")


def _load_path(path: Path, name: str, description: str) -> Dataset:
    try:
        is_dir = path.is_dir()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if is_dir:
        return _load_dir(path, name, description)
    st = check_regular(path, "data file")
    if st.st_size > MAX_DATA_BYTES:
        raise DataError(f"{path.name} is {st.st_size:,} bytes, more than the {MAX_DATA_BYTES:,}-byte limit "
                        "for a data file (full MNIST needs 220 MB)")
    with open_regular(path, "data file") as f:
        try:
            head = f.read(8)
            f.seek(0)
            if head.startswith(b"\x1f\x8b"):
                return _load_gzip(f, path, name, description)
            if head.startswith(b"PK"):
                return _load_npz(f, path, name, description)
            if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
                return _load_pickle(f, path, name, description)
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head[:3] == b"\x00\x00\x08" or path.name.endswith(("-ubyte", "-ubyte.gz")):
        raise DataError(f"{path.name} is a single IDX file: pass the folder that holds all four IDX files")
    if path.name.lower().endswith(".csv"):  # label + 784 pixels a row (Kaggle's train.csv)
        from nnviz.core.mydigits import load_csv

        arrays, about = load_csv(path)
        return _dataset(path.name, name, description or about, **arrays)
    if path.name.endswith(".gz"):
        raise DataError(f"{path.name} is not a gzip file: it is {sniff(head)} (damaged? delete it and get it again)")
    raise DataError(f"{path.name} is not an MNIST file: {EXPECTED} (it is {sniff(_head(path))})")


def _head(path: Path, n: int = 512) -> bytes:
    with open_regular(path) as f:
        return f.read(n)


def _load_gzip(f: Any, path: Path, name: str, description: str) -> Dataset:
    inner = gzip_reader(f, path.name)
    head = inner.peek(8)[:8]
    if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
        return _load_pickle(inner, path, name, description, gzipped=True)
    if head[:3] == b"\x00\x00\x08":
        raise DataError(f"{path.name} is a single IDX file: pass the folder that holds all four IDX files")
    raise DataError(f"{path.name} is not an MNIST file: {EXPECTED} (it holds {sniff(head)}, gzip'd)")


# --------------------------------------------------------------------------- pickle
# The book's mnist.pkl.gz is a pickle, and a pickle can run code. nnviz reads it with a
# pure-Python unpickler restricted to the opcodes that build numbers, strings, tuples and
# lists, counted and capped; the only globals a numpy array pickle names resolve to
# stand-ins that check everything (dtype, shape, data length) and build a plain array.

MAX_PICKLE_OPS = 100_000  # the book's pickle needs a few hundred opcodes
MAX_PICKLE_NESTING = 64
_PLAIN_DTYPE_CODES = {"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8",
                      "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                      "float16", "float32", "float64"}


class _Refused(Exception):
    """A pickle that is not a plain numpy array pickle; turned into a DataError."""


def _short(v: Any) -> str:
    """A short description of a value from a pickle (never a deep or huge repr)."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1 << 64:
        return f"a {v.bit_length()}-bit number"
    if isinstance(v, (bool, int, float, type(None))):
        return repr(v)
    if isinstance(v, (str, bytes)) and len(v) <= 20:
        return repr(v)
    return f"a {type(v).__name__}"


def _small_int(v: Any, what: str, lo: int = 0, hi: int = 1 << 62) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _Refused(f"bad {what} {_short(v)}")
    return v


class _DtypeStub:
    """Stands for ``numpy.dtype(code, align, copy)`` + its ``__setstate__``: plain numbers only."""

    def __init__(self, code: Any, align: Any = False, copy: Any = True) -> None:
        if isinstance(code, bytes):
            code = code.decode("latin1")
        if not isinstance(code, str) or code not in _PLAIN_DTYPE_CODES:
            raise _Refused(f"dtype {_short(code)} is not a plain number type")
        self.dtype = np.dtype(code)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (8, 9):
            raise _Refused("bad dtype state")
        order = state[1]
        if isinstance(order, bytes):
            order = order.decode("latin1")
        if order not in ("<", ">", "|", "=") or any(x is not None for x in state[2:5]):
            raise _Refused("dtype with fields or sub-arrays")
        for x in state[5:8]:
            _small_int(x, "dtype field", -1, 64)
        if len(state) == 9 and state[8] is not None:
            raise _Refused("dtype with metadata")
        if order in "<>":
            self.dtype = self.dtype.newbyteorder(order)


def _as_dtype(d: Any) -> np.dtype:
    if not isinstance(d, _DtypeStub):
        raise _Refused("an array without a plain dtype")
    return d.dtype


def _as_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, tuple) or len(shape) > 8:
        raise _Refused("bad array shape")
    return tuple(_small_int(d, "array dimension") for d in shape)


def _as_bytes(raw: Any) -> bytes:
    if isinstance(raw, str):
        return raw.encode("latin1")
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    raise _Refused("array data that is not bytes")


def _build_array(shape: Any, dtype: Any, fortran: Any, raw: Any) -> np.ndarray:
    shape, dt, data = _as_shape(shape), _as_dtype(dtype), _as_bytes(raw)
    count = 1
    for d in shape:
        count *= d
    if count * dt.itemsize != len(data):
        raise _Refused(f"an array of shape {shape} {dt} with {len(data):,} bytes of data")
    return np.frombuffer(data, dtype=dt).reshape(shape, order="F" if fortran else "C")


class _ArrayStub:
    """Stands for ``_reconstruct(ndarray, (0,), b'b')``; its ``__setstate__`` builds the array."""

    array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if self.array is not None or not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _Refused("bad array state")
        if len(state) == 5:
            _small_int(state[0], "array version", 0, 1)
            state = state[1:]
        shape, dtype, fortran, raw = state
        if not isinstance(fortran, (bool, int)):
            raise _Refused("bad array order")
        self.array = _build_array(shape, dtype, bool(fortran), raw)


_NDARRAY = object()  # what the pickle gets for the name numpy.ndarray


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _ArrayStub:
    if subtype is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise _Refused("an unusual array reconstruction")
    return _ArrayStub()


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    if order not in ("C", "F"):
        raise _Refused("bad array order")
    return _build_array(shape, dtype, order == "F", buf)


def _latin1_encode(text: Any, encoding: Any = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 protocol-2 pickles use it for bytes: latin-1 only."""
    if encoding not in ("latin1", "latin-1", "iso-8859-1") or not isinstance(text, str):
        raise _Refused(f"unexpected _codecs.encode({_short(encoding)})")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    """``bytes()`` as Python 3 protocol-2 pickles write an empty bytes object."""
    if args:
        raise _Refused("bytes() with arguments")
    return b""


# The only globals a pickle of numpy arrays (inside tuples) needs. Nothing else is looked up.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # the book's (numpy 1, py2)
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # numpy 2
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DtypeStub,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _latin1_encode,  # bytes in Python 3 protocol-2 pickles
    ("__builtin__", "bytes"): _empty_bytes,  # b"" in Python 3 protocol-2 pickles
    ("builtins", "bytes"): _empty_bytes,
}

_ALLOWED_OPS = {
    pickle.PROTO, pickle.FRAME, pickle.STOP, pickle.MARK, pickle.POP, pickle.POP_MARK, pickle.DUP,
    pickle.NONE, pickle.NEWTRUE, pickle.NEWFALSE, pickle.INT, pickle.BININT, pickle.BININT1,
    pickle.BININT2, pickle.LONG, pickle.LONG1, pickle.LONG4, pickle.FLOAT, pickle.BINFLOAT,
    pickle.STRING, pickle.BINSTRING, pickle.SHORT_BINSTRING, pickle.BINBYTES, pickle.SHORT_BINBYTES,
    pickle.BINBYTES8, pickle.BYTEARRAY8, pickle.UNICODE, pickle.BINUNICODE, pickle.SHORT_BINUNICODE,
    pickle.BINUNICODE8, pickle.EMPTY_TUPLE, pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3,
    pickle.EMPTY_LIST, pickle.LIST, pickle.APPEND, pickle.APPENDS, pickle.GET, pickle.BINGET,
    pickle.LONG_BINGET, pickle.PUT, pickle.BINPUT, pickle.LONG_BINPUT, pickle.MEMOIZE,
    pickle.GLOBAL, pickle.STACK_GLOBAL, pickle.REDUCE, pickle.BUILD,
}
_STUB_TYPES = (_ArrayStub, _DtypeStub)


class _Dispatch(dict):
    def __missing__(self, key: int) -> Any:
        raise _Refused(f"pickle opcode {bytes([key])!r} is not used by numpy arrays")


def _counted(op: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(self: _ArrayUnpickler) -> None:
        self.ops += 1
        if self.ops > MAX_PICKLE_OPS:
            raise _Refused(f"more than {MAX_PICKLE_OPS:,} pickle operations")
        op(self)
    return run


def _load_build(self: _ArrayUnpickler) -> None:
    if len(self.stack) < 2 or not isinstance(self.stack[-2], _STUB_TYPES):
        raise _Refused("BUILD on something that is not an array")
    pickle._Unpickler.dispatch[pickle.BUILD[0]](self)


def _load_mark(self: _ArrayUnpickler) -> None:
    if len(self.metastack) >= MAX_PICKLE_NESTING:
        raise _Refused(f"nesting deeper than {MAX_PICKLE_NESTING}")
    pickle._Unpickler.dispatch[pickle.MARK[0]](self)


def _load_bytearray8(self: _ArrayUnpickler) -> None:
    (n,) = struct.unpack("<Q", self.read(8))
    if n > self.reader.left:
        raise _Refused(f"a bytearray of {n:,} bytes, more than the file holds")
    self.append(bytearray(self.read(n)))


class _ArrayUnpickler(pickle._Unpickler):
    """Rebuilds numpy arrays of plain numbers inside tuples and lists; refuses all else."""

    dispatch = _Dispatch()
    for _code in _ALLOWED_OPS:
        dispatch[_code[0]] = _counted(pickle._Unpickler.dispatch[_code[0]])
    dispatch[pickle.BUILD[0]] = _counted(_load_build)
    dispatch[pickle.MARK[0]] = _counted(_load_mark)
    dispatch[pickle.BYTEARRAY8[0]] = _counted(_load_bytearray8)
    del _code

    def __init__(self, reader: CappedReader, filename: str) -> None:
        super().__init__(reader, encoding="bytes")  # py2 str stays bytes: no copy of the pixels
        self.reader = reader
        self._filename = filename
        self.ops = 0

    def find_class(self, module: Any, name: Any) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except (KeyError, TypeError):
            raise DataError(
                f"nnviz refuses to load {self._filename}: the pickle names `{str(module)[:60]}.{str(name)[:60]}`, "
                "which is not part of MNIST data (a pickle can run code; only numpy arrays are allowed)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"nnviz refuses to load {self._filename}: the pickle uses persistent ids")


def _unstub(obj: Any, depth: int = 0) -> Any:
    """The loaded object with every array stand-in replaced by its array (3 levels deep)."""
    if isinstance(obj, _ArrayStub):
        if obj.array is None:
            raise _Refused("an array without data")
        return obj.array
    if isinstance(obj, (tuple, list)) and depth < 3 and len(obj) <= 3:
        return tuple(_unstub(x, depth + 1) for x in obj)
    return obj


def _load_pickle(f: Any, path: Path, name: str, description: str, *, gzipped: bool = False) -> Dataset:
    """The book's pickle: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))."""
    reader = CappedReader(f, MAX_DATA_BYTES, path.name, "a data file")
    what = "gzip'd pickle" if gzipped else "pickle"
    try:
        obj = _unstub(_ArrayUnpickler(reader, path.name).load())
        expect_end(reader, path.name, what)
    except DataError:
        raise
    except _Refused as exc:
        raise DataError(f"nnviz refuses to load {path.name}: it is not a pickle of plain numpy arrays ({exc})") from None
    except EOFError:
        raise DataError(f"{path.name} is truncated (the download may have been interrupted)") from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            struct.error, UnicodeDecodeError, OverflowError, RecursionError, OSError) as exc:
        if "truncated" in str(exc) or "exhausted" in str(exc):
            raise DataError(f"{path.name} is truncated (the download may have been interrupted)") from None
        raise DataError(f"{path.name} is not a valid MNIST pickle ({type(exc).__name__}: {str(exc)[:100]})") from None

    shape_msg = f"{path.name} is not the book's MNIST pickle: expected (training, validation, test) pairs of (images, labels)"
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise DataError(shape_msg)
    for pair in obj:
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(a, np.ndarray) for a in pair)):
            raise DataError(shape_msg)
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = obj
    return _dataset(
        path.name,
        name,
        description,
        train_images=tr_x,
        train_labels=tr_y,
        validation_images=va_x,
        validation_labels=va_y,
        test_images=te_x,
        test_labels=te_y,
    )


# --------------------------------------------------------------------------- npz


_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
_NNVIZ_KEYS = ("train_images", "train_labels", "test_images", "test_labels")


def _read_npz(path: Path, keys: tuple[str, ...], optional: tuple[str, ...] = (),
              f: Any = None) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (+ any ``optional`` present) of an npz; only those members are read,
    each refused before reading if its header is not plain numbers within the data limit."""
    if f is None:
        with open_regular(path, "data file") as own:
            return _read_npz(path, keys, optional, own)
    with open_zip(f, path.name, "an MNIST npz") as zf:
        names = npz_keys(zf)
        missing = [k for k in keys if k not in names]
        if missing:
            raise DataError(f"{path.name} is missing the key(s) {', '.join(missing)} (expected {', '.join(keys)})")
        budget = MAX_DATA_BYTES
        out = {}
        for k in keys + tuple(k for k in optional if k in names):
            out[k] = read_npy_member(zf, k, path.name, max_bytes=budget)
            if out[k].ndim == 0:
                raise DataError(f"{path.name}: {k} is a single number, not an array of images or labels")
            budget -= out[k].nbytes
        return out


def _load_npz(f: Any, path: Path, name: str, description: str) -> Dataset:
    """Keras' mnist.npz (uint8 x_train (60000, 28, 28), ...) or nnviz's own npz keys."""
    with open_zip(f, path.name, "an MNIST npz") as zf:
        keys = npz_keys(zf)
    if all(k in keys for k in _NNVIZ_KEYS):
        arrays = _read_npz(path, _NNVIZ_KEYS, ("validation_images", "validation_labels"), f)
        return _dataset(path.name, name, description, **arrays)
    if not any(k in keys for k in _KERAS_KEYS):
        shown = ", ".join(k[:40] for k in keys[:10]) + (", ..." if len(keys) > 10 else "")
        raise DataError(f"{path.name} is not an MNIST file: {EXPECTED} (its keys are {shown or 'none'})")
    arrays = _read_npz(path, _KERAS_KEYS, (), f)
    x_train = _flatten(arrays["x_train"], path.name, "x_train")
    x_test = _flatten(arrays["x_test"], path.name, "x_test")
    y_train, y_test = arrays["y_train"], arrays["y_test"]
    if len(x_train) != len(y_train):
        raise DataError(f"{path.name}: {len(x_train)} training images but {len(y_train)} labels")
    split = _split_validation(x_train, y_train)
    return _dataset(path.name, name, description, **split, test_images=x_test, test_labels=y_test)


def _flatten(images: np.ndarray, filename: str, key: str) -> np.ndarray:
    """(n, rows, cols) -> (n, rows*cols); anything else is returned for Dataset to check."""
    if images.ndim == 3:
        if images.shape[1] * images.shape[2] != N_PIXELS:
            raise DataError(
                f"{filename}: expected {N_PIXELS} pixels per image, got {images.shape[1] * images.shape[2]} ({key})"
            )
        return images.reshape(len(images), N_PIXELS)
    return images


# --------------------------------------------------------------------------- IDX


_IDX_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
_IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}  # uint8 data, 3 or 1 dimensions


def _find_idx(folder: Path, key: str) -> Path | None:
    for stem in _IDX_NAMES[key]:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _load_dir(folder: Path, name: str, description: str, class_names: tuple[str, ...] | None = None) -> Dataset:
    found = {key: _find_idx(folder, key) for key in _IDX_NAMES}
    if not any(found.values()):
        for single in ("mnist.pkl.gz", "mnist.pkl", "mnist.npz"):
            if (folder / single).is_file():
                return _load_path(folder / single, name, description)
        from nnviz.core.mydigits import is_digit_folder, load_image_folder

        if is_digit_folder(folder):  # your own digits: 0/*.png … 9/*.png
            arrays, about = load_image_folder(folder)
            return _dataset(folder.name, name, description or about, **arrays)
        raise DataError(f"{folder.name or folder} is not an MNIST folder: {EXPECTED}")
    missing = [f"{_IDX_NAMES[k][0]}[.gz]" for k, p in found.items() if p is None]
    if missing:
        raise DataError(f"{folder.name} is missing the IDX file(s) {', '.join(missing)}")
    train_x = _read_idx(found["train_images"], "images")
    train_y = _read_idx(found["train_labels"], "labels")
    test_x = _read_idx(found["test_images"], "images")
    test_y = _read_idx(found["test_labels"], "labels")
    if len(train_x) != len(train_y):
        raise DataError(
            f"{folder.name}: {found['train_images'].name} has {len(train_x)} images "
            f"but {found['train_labels'].name} has {len(train_y)} labels"
        )
    if len(test_x) != len(test_y):
        raise DataError(
            f"{folder.name}: {found['test_images'].name} has {len(test_x)} images "
            f"but {found['test_labels'].name} has {len(test_y)} labels"
        )
    split = _split_validation(train_x, train_y)
    return _dataset(folder.name, name, description, class_names, **split, test_images=test_x, test_labels=test_y)


def _read_idx(path: Path, kind: str) -> np.ndarray:
    """An IDX file (plain or .gz): images -> (n, 784) uint8, labels -> (n,) uint8.

    The header is read first; its declared size is checked against the data limit before
    the data is read, and the data must end exactly where the header says."""
    st = check_regular(path, "IDX file")
    if st.st_size > MAX_DATA_BYTES:
        raise DataError(f"{path.name} is {st.st_size:,} bytes, more than the {MAX_DATA_BYTES:,}-byte limit for a data file")
    ndim = 3 if kind == "images" else 1
    header = 4 + 4 * ndim
    with open_regular(path, "IDX file") as raw:
        try:
            f = gzip_reader(raw, path.name) if path.name.endswith(".gz") else raw
            head = f.read(header)
            if len(head) < header:
                raise DataError(f"{path.name} is truncated (the download may have been interrupted)")
            magic = int.from_bytes(head[:4], "big")
            if magic != _IDX_MAGIC[kind]:
                raise DataError(
                    f"{path.name} is not an IDX {kind} file: magic number 0x{magic:08x}, expected 0x{_IDX_MAGIC[kind]:08x}"
                )
            dims = [int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
            if kind == "images" and dims[1] * dims[2] != N_PIXELS:
                raise DataError(f"{path.name}: expected {N_PIXELS} pixels per image, got {dims[1] * dims[2]}")
            count = 1
            for d in dims:
                count *= d
            if count > MAX_DATA_BYTES:
                raise DataError(f"{path.name} declares {count:,} bytes of {kind}, more than the "
                                f"{MAX_DATA_BYTES:,}-byte limit for a data file (MNIST's are 47 MB)")
            data = f.read(count)
            if len(data) < count:
                raise DataError(
                    f"{path.name} is truncated: {len(data):,} of {count:,} bytes "
                    "(the download may have been interrupted)"
                )
            extra = f.read(1)
        except OSError as exc:
            raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if extra:
        raise DataError(f"{path.name} has more bytes than its header says (trailing garbage): it is damaged")
    values = np.frombuffer(data, dtype=np.uint8, count=count)
    if kind == "labels":
        return values
    return values.reshape(dims[0], N_PIXELS)


# --------------------------------------------------------------------------- the book's API


def vectorized_result(j: int) -> np.ndarray:
    """(10, 1) float64 one-hot column with 1.0 at ``j``, as in the book's mnist_loader."""
    if not 0 <= int(j) <= 9:
        raise ValueError(f"a digit label must be 0-9, got {j}")
    e = np.zeros((10, 1))
    e[int(j)] = 1.0
    return e


def load_data(
    source: PathLike = "mnist",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The book's ``load_data``: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)).

    ``*_x``: (n, 784) float32, ``*_y``: (n,) int64 (read-only). For the bundled data the
    validation arrays are empty, (0, 784) and (0,).
    """
    ds = load_dataset(source)
    if ds.validation_images is None:
        valid = (_read_only(np.zeros((0, N_PIXELS), np.float32)), _read_only(np.zeros(0, np.int64)))
    else:
        valid = (ds.validation_images, ds.validation_labels)
    return (ds.train_images, ds.train_labels), valid, (ds.test_images, ds.test_labels)


def load_data_wrapper(
    source: PathLike = "mnist",
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple[np.ndarray, int]], list[tuple[np.ndarray, int]]]:
    """The book's ``load_data_wrapper``: lists of (x, y) pairs.

    training: x (784, 1) float32, y (10, 1) one-hot float64; validation and test:
    x (784, 1) float32, y an int label.
    """
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_data(source)
    training_data = [(x.reshape(N_PIXELS, 1), vectorized_result(y)) for x, y in zip(tr_x, tr_y)]
    validation_data = [(x.reshape(N_PIXELS, 1), int(y)) for x, y in zip(va_x, va_y)]
    test_data = [(x.reshape(N_PIXELS, 1), int(y)) for x, y in zip(te_x, te_y)]
    return training_data, validation_data, test_data
