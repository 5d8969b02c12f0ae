"""MNIST for nnviz: the bundled 5,000-digit subset, full MNIST, and the book's loader API.

Every image is a row of 784 floats in [0, 1] (28x28, row-major); every label an int 0..9.
``load_data`` and ``load_data_wrapper`` return what the book's ``mnist_loader`` returns,
so chapter 1's ``network.py`` runs on them unchanged. Every failure is a ``DataError``
whose one-line message says what is wrong with which file.
"""

from __future__ import annotations

import gzip
import os
import pickle
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnviz.core.errors import DataError

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
EXPECTED = "expected mnist.pkl.gz, a directory of IDX files, or mnist.npz"

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
    both None or both arrays.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    validation_images: np.ndarray | None = None
    validation_labels: np.ndarray | None = None
    description: str = ""

    def __post_init__(self) -> None:
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

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, "
            f"n_validation={self.n_validation}, n_test={self.n_test})"
        )


def _dataset(where: str, name: str, description: str, **arrays: Any) -> Dataset:
    """Build a Dataset; a problem with the arrays becomes ``"<where>: <problem>"``."""
    try:
        return Dataset(name=name, description=description, **arrays)
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
    return load_file(source)


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
    p = Path(path).expanduser()
    return _load_path(p, name=p.name or str(p), description="")


def _load_path(path: Path, name: str, description: str) -> Dataset:
    if not path.exists():
        raise DataError(f"no such file: {path}")
    if path.is_dir():
        return _load_dir(path, name, description)
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if head.startswith(b"\x1f\x8b"):
        return _load_gzip(path, name, description)
    if head.startswith(b"PK"):
        return _load_npz(path, name, description)
    if head.startswith(b"\x80"):
        with path.open("rb") as f:
            return _load_pickle(f, path, name, description)
    if head[:3] == b"\x00\x00\x08" or path.name.endswith(("-ubyte", "-ubyte.gz")):
        raise DataError(f"{path.name} is a single IDX file: pass the folder that holds all four IDX files")
    if path.name.endswith(".gz"):
        raise DataError(f"{path.name} is not a gzip file (it may be damaged; delete it and download it again)")
    raise DataError(f"{path.name} is not an MNIST file: {EXPECTED}")


def _gzip_error(path: Path, exc: Exception) -> DataError:
    if isinstance(exc, EOFError):
        return DataError(f"{path.name} is truncated (the download may have been interrupted)")
    return DataError(f"{path.name} is a damaged gzip file ({exc}); delete it and download it again")


_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def _load_gzip(path: Path, name: str, description: str) -> Dataset:
    try:
        with gzip.open(path, "rb") as f:
            head = f.peek(4)[:4]
            if head.startswith(b"\x80"):
                return _load_pickle(f, path, name, description)
    except _GZIP_ERRORS as exc:
        raise _gzip_error(path, exc) from None
    if head[:3] == b"\x00\x00\x08":
        raise DataError(f"{path.name} is a single IDX file: pass the folder that holds all four IDX files")
    raise DataError(f"{path.name} is not an MNIST file: {EXPECTED}")


# --------------------------------------------------------------------------- pickle


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2 (and 1.26's alias)
    except ImportError:  # pragma: no cover - numpy < 1.26
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _numpy_frombuffer() -> Any:
    try:
        from numpy._core.numeric import _frombuffer
    except ImportError:  # pragma: no cover - numpy < 1.26
        from numpy.core.numeric import _frombuffer
    return _frombuffer


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 protocol-2 pickles use it for bytes: latin-1 only."""
    if encoding not in ("latin1", "latin-1", "iso-8859-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"unexpected _codecs.encode({encoding!r})")
    return text.encode("latin1")


# The only globals a pickle of numpy arrays (inside tuples) needs. Nothing else is looked up.
_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),  # the book's (numpy 1, py2)
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),  # numpy 2
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.numeric", "_frombuffer"): _numpy_frombuffer(),  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): _numpy_frombuffer(),
    ("_codecs", "encode"): _latin1_encode,  # bytes in Python 3 protocol-2 pickles
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and tuples and refuses every other global."""

    def __init__(self, file: Any, filename: str) -> None:
        super().__init__(file, encoding="latin1")
        self._filename = filename

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"nnviz refuses to load {self._filename}: the pickle names `{module}.{name}`, "
                "which is not part of MNIST data (a pickle can run code; only numpy arrays are allowed)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"nnviz refuses to load {self._filename}: the pickle uses persistent ids")


def _load_pickle(f: Any, path: Path, name: str, description: str) -> Dataset:
    """The book's pickle: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))."""
    try:
        obj = _ArrayUnpickler(f, path.name).load()
    except DataError:
        raise
    except _GZIP_ERRORS as exc:
        raise _gzip_error(path, exc) from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        if "truncated" in str(exc):
            raise _gzip_error(path, EOFError()) from None
        raise DataError(f"{path.name} is not a valid MNIST pickle ({type(exc).__name__}: {exc})") from None
    except MemoryError:
        raise DataError(f"{path.name}: not enough memory to load it") from None

    shape_msg = f"{path.name} is not the book's MNIST pickle: expected (training, validation, test) pairs of (images, labels)"
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3):
        raise DataError(shape_msg)
    for pair in obj:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(a, np.ndarray) for a in pair)):
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


def _read_npz(path: Path, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (+ any ``optional`` present) of an npz, read with allow_pickle=False."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path.name} is missing the key(s) {', '.join(missing)} (expected {', '.join(keys)})"
                )
            return {k: npz[k] for k in keys + tuple(k for k in optional if k in npz.files)}
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(
                f"{path.name} holds Python objects (an object array); for safety nnviz loads only plain number arrays"
            ) from None
        raise DataError(f"{path.name} is not a valid npz file ({exc})") from None
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path.name} is truncated or damaged ({exc}); delete it and get it again") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None


def _peek_npz_keys(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(f"{path.name} is truncated or damaged ({exc}); delete it and get it again") from None


def _load_npz(path: Path, name: str, description: str) -> Dataset:
    """Keras' mnist.npz (uint8 x_train (60000, 28, 28), ...) or nnviz's own npz keys."""
    keys = _peek_npz_keys(path)
    if all(k in keys for k in _NNVIZ_KEYS):
        arrays = _read_npz(path, _NNVIZ_KEYS, ("validation_images", "validation_labels"))
        return _dataset(path.name, name, description, **arrays)
    if not any(k in keys for k in _KERAS_KEYS):
        raise DataError(f"{path.name} is not an MNIST file: {EXPECTED} (its keys are {', '.join(keys) or 'none'})")
    arrays = _read_npz(path, _KERAS_KEYS)
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


def _load_dir(folder: Path, name: str, description: str) -> Dataset:
    found = {key: _find_idx(folder, key) for key in _IDX_NAMES}
    if not any(found.values()):
        for single in ("mnist.pkl.gz", "mnist.pkl", "mnist.npz"):
            if (folder / single).is_file():
                return _load_path(folder / single, name, description)
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
    return _dataset(folder.name, name, description, **split, test_images=test_x, test_labels=test_y)


def _read_idx(path: Path, kind: str) -> np.ndarray:
    """An IDX file (plain or .gz): images -> (n, 784) uint8, labels -> (n,) uint8."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = path.read_bytes()
    except _GZIP_ERRORS as exc:
        raise _gzip_error(path, exc) from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None

    ndim = 3 if kind == "images" else 1
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path.name} is truncated (the download may have been interrupted)")
    magic = int.from_bytes(data[:4], "big")
    if magic != _IDX_MAGIC[kind]:
        raise DataError(
            f"{path.name} is not an IDX {kind} file: magic number 0x{magic:08x}, expected 0x{_IDX_MAGIC[kind]:08x}"
        )
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    if len(data) - header < count:
        raise DataError(
            f"{path.name} is truncated: {len(data) - header:,} of {count:,} bytes "
            "(the download may have been interrupted)"
        )
    if len(data) - header > count:
        raise DataError(f"{path.name} has {len(data) - header - count:,} bytes more than its header says")
    values = np.frombuffer(data, dtype=np.uint8, count=count, offset=header)
    if kind == "labels":
        return values
    if dims[1] * dims[2] != N_PIXELS:
        raise DataError(f"{path.name}: expected {N_PIXELS} pixels per image, got {dims[1] * dims[2]}")
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
