"""Your own digits: a folder of images per class, or the common CSV layout.

A folder ``my_digits/0/*.png`` … ``my_digits/9/*.png`` (PNG, JPEG or BMP; any size;
dark-on-light or light-on-dark, found from the image's border; a transparent background
reads its strokes from the alpha channel) is made into 28×28 digits the way MNIST was
made (:func:`nnviz.core.drawing.preprocess`: crop, fit 20×20, centre of mass, 28×28).
``my_digits/train/<digit>/…`` and ``my_digits/test/<digit>/…`` choose the split;
otherwise every fifth image of each digit (in name order) is a test digit.

A CSV file holds one digit a row: the label, then 784 pixels (0–255 or 0–1), with or
without a header row (Kaggle's ``train.csv``; ``mnist_train.csv``). The last sixth of the
rows are the test digits.

Files that cannot be read as a digit are skipped and counted; the dataset's description
says how many and names the first few. An empty or unlabelled folder is one DataError.
"""

from __future__ import annotations

import io
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from nnviz.core.drawing import preprocess
from nnviz.core.errors import DataError
from nnviz.core.safeio import MAX_DATA_BYTES, check_regular, open_regular

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
IMAGE_FORMATS = ("PNG", "JPEG", "BMP")   # the only decoders Pillow may use here
MAX_IMAGE_BYTES = 20 * 1024 * 1024       # one image file
MAX_IMAGE_PIXELS = 4096 * 4096           # one decoded image (a decompression bomb is refused)
MAX_IMAGES = 100_000                     # files in a folder
MAX_NAMED = 3                            # skipped files named in the message
MAX_CSV_ROWS = 100_000                   # digits in a CSV (Kaggle's train.csv has 42,000, mnist_train.csv 60,000)
TEST_EVERY = 5                           # without train/ and test/: every fifth image is a test digit
CLASSES = tuple(str(d) for d in range(10))


# --------------------------------------------------------------------------- one image


def ink_of(gray: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """An image ``(h, w)`` in [0, 1] as ink in [0, 1] on a background of 0: the background
    is the median of the image's border; dark-on-light images are inverted; the contrast
    is stretched from the background to the strongest ink and faint noise is dropped. A
    transparent background (``alpha`` not all opaque): the alpha is the ink."""
    if alpha is not None and float(alpha.min()) < 0.99:
        ink = alpha.astype(np.float64)
    else:
        g = gray.astype(np.float64)
        border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
        background = float(np.median(border))
        ink = background - g if background > 0.5 else g - background
    strongest = float(ink.max()) if ink.size else 0.0
    if strongest < 0.1:  # no contrast: a blank page (and its noise) is no digit
        return np.zeros(ink.shape)
    ink = np.clip(ink / strongest, 0.0, 1.0)
    ink[ink < 0.15] = 0.0   # paper grain and JPEG noise are not ink
    return ink


def read_image(path: Path) -> np.ndarray:
    """An image file as a 28×28 MNIST-style digit, float32 in [0, 1]. Raises DataError
    (a short reason) for a file that is not a readable image holding ink."""
    from PIL import Image, UnidentifiedImageError

    st = check_regular(path, "image file")
    if st.st_size > MAX_IMAGE_BYTES:
        raise DataError(f"larger than {MAX_IMAGE_BYTES // 2**20} MB")
    with open_regular(path, "image file") as f:
        raw = f.read(MAX_IMAGE_BYTES + 1)
    try:
        with warnings.catch_warnings():
            # Pillow warns of a "decompression bomb" (a huge declared size) before it decodes
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw), formats=IMAGE_FORMATS)
        with im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS or w < 1 or h < 1:
                raise DataError(f"{w}×{h} pixels, more than {MAX_IMAGE_PIXELS:,}")
            im.draft("L", (max(28, w // 8), max(28, h // 8)))  # JPEG: decode small at once
            has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
            alpha = None
            if has_alpha:
                rgba = im.convert("RGBA")
                alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
                gray = np.asarray(rgba.convert("L"), dtype=np.float64) / 255.0
            else:
                gray = np.asarray(im.convert("L"), dtype=np.float64) / 255.0
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError("not a PNG, JPEG or BMP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"more than {MAX_IMAGE_PIXELS:,} pixels") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise DataError(f"damaged image ({str(e).splitlines()[0][:80] if str(e) else type(e).__name__})") from None
    ink = ink_of(gray, alpha)
    if not ink.any():
        raise DataError("no ink: a blank image")
    return preprocess(ink)


# --------------------------------------------------------------------------- a folder


def is_digit_folder(folder: Path) -> bool:
    """True if ``folder`` holds class folders ``0`` … ``9`` (or ``train/`` / ``test/`` with them)."""
    try:
        names = {p.name for p in folder.iterdir() if p.is_dir()}
    except OSError:
        return False
    if names & set(CLASSES):
        return True
    return any((folder / part).is_dir() and is_digit_folder(folder / part) for part in ("train", "test") if part in names)


def _image_files(folder: Path) -> list[tuple[Path, int]]:
    """``(file, label)`` for every non-hidden file in the class folders, in name order."""
    found: list[tuple[Path, int]] = []
    for label in CLASSES:
        cls = folder / label
        if not cls.is_dir():
            continue
        try:
            entries = sorted(cls.iterdir())
        except OSError as e:
            raise DataError(f"cannot read the folder {cls}: {e.strerror or e}") from None
        for p in entries:
            if p.name.startswith("."):
                continue  # .DS_Store, editors' files
            found.append((p, int(label)))
            if len(found) > MAX_IMAGES:
                raise DataError(f"{folder.name} holds more than {MAX_IMAGES:,} files: too many for nnviz's own-digit loader")
    return found


def _read_all(files: list[tuple[Path, int]], skipped: list[str], root: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for path, label in files:
        try:
            images.append(read_image(path).reshape(-1))
            labels.append(label)
        except DataError as e:
            skipped.append(f"{path.relative_to(root)} ({e})")
    return (np.array(images, dtype=np.float32).reshape(-1, 784), np.array(labels, dtype=np.int64))


def _skip_note(skipped: list[str]) -> str:
    if not skipped:
        return ""
    more = f", and {len(skipped) - MAX_NAMED} more" if len(skipped) > MAX_NAMED else ""
    return (f"; {len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped: "
            f"{', '.join(skipped[:MAX_NAMED])}{more}")


def load_image_folder(folder: str | os.PathLike, split: bool = True) -> tuple[dict[str, np.ndarray], str]:
    """The arrays of a digit folder (``train_images``, ``train_labels``, ``test_images``,
    ``test_labels``) and a description naming any skipped files. DataError if the folder has
    no class folders, no readable image, or no training or test digit."""
    root = Path(folder)
    name = root.name or str(root)
    if not is_digit_folder(root):
        raise DataError(f"{name} has no digit folders: put each digit's images in a folder named by its "
                        f"label ({name}/0/…, {name}/1/…, … {name}/9/…)")
    skipped: list[str] = []
    if (root / "train").is_dir() or (root / "test").is_dir():
        train_files = _image_files(root / "train") if (root / "train").is_dir() else []
        test_files = _image_files(root / "test") if (root / "test").is_dir() else []
        if not train_files and not test_files:
            raise DataError(f"{name}: its train/ and test/ folders hold no images in digit folders 0 … 9")
    else:
        files = _image_files(root)
        if not files:
            raise DataError(f"{name}: its digit folders 0 … 9 hold no images")
        by_label: dict[int, list] = {}
        for item in files:
            by_label.setdefault(item[1], []).append(item)
        train_files, test_files = [], []
        for items in by_label.values():
            for i, item in enumerate(items):
                (test_files if split and i % TEST_EVERY == TEST_EVERY - 1 else train_files).append(item)
    train = _read_all(train_files, skipped, root)
    test = _read_all(test_files, skipped, root)
    note = _skip_note(skipped)
    if not len(train[1]) and not len(test[1]):
        raise DataError(f"{name}: no image could be read as a digit{note}")
    if split and (not len(train[1]) or not len(test[1])):
        which = "training" if not len(train[1]) else "test"
        raise DataError(f"{name}: no {which} digits (give each digit at least {TEST_EVERY} images, "
                        f"or train/ and test/ folders){note}")
    description = (f"your digits in {name}: {len(train[1]):,} train / {len(test[1]):,} test{note}")
    return ({"train_images": train[0], "train_labels": train[1], "test_images": test[0],
             "test_labels": test[1]}, description)


# --------------------------------------------------------------------------- CSV


def load_csv(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], str]:
    """A CSV of digits (label, then 784 pixels, 0–255 or 0–1; an optional header row):
    its arrays, the last sixth of the rows as test digits, and a description."""
    p = Path(path)
    st = check_regular(p, "CSV file")
    if st.st_size > MAX_DATA_BYTES:
        raise DataError(f"{p.name} is {st.st_size:,} bytes, more than the {MAX_DATA_BYTES:,}-byte limit for a data file")
    with open_regular(p, "CSV file") as f:
        try:
            text = f.read(MAX_DATA_BYTES + 1)
        except OSError as e:
            raise DataError(f"cannot read {p}: {e.strerror or e}") from None
    if b"\0" in text[:4096]:
        raise DataError(f"{p.name} is not a text file: a CSV of digits has a label and 784 pixels a row")
    lines = text.splitlines()
    first = lines[0].split(b",") if lines else []
    header = bool(first) and not _is_number(first[0])
    rows = lines[1:] if header else lines
    rows = [r for r in rows if r.strip()]
    if len(rows) > MAX_CSV_ROWS:
        raise DataError(f"{p.name} holds {len(rows):,} rows, more than the {MAX_CSV_ROWS:,} digits nnviz reads from a CSV")
    if not rows:
        raise DataError(f"{p.name} holds no digits (a CSV of digits has a label and 784 pixels a row)")
    try:
        values = np.loadtxt(rows, delimiter=",", dtype=np.float32, ndmin=2, encoding="latin-1")
    except ValueError as e:
        raise DataError(f"{p.name}: not a CSV of numbers ({str(e).splitlines()[0][:100]})") from None
    columns = values.shape[1]
    if columns == 784:
        raise DataError(f"{p.name} has 784 columns: pixels without labels (Kaggle's test.csv has none; "
                        "use train.csv, whose first column is the label)")
    if columns != 785:
        raise DataError(f"{p.name} has {columns} columns: expected 785, the label and then 784 pixels (28×28)")
    labels, pixels = values[:, 0], values[:, 1:]
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels > 9))
    if bad.size:
        raise DataError(f"{p.name}, row {bad[0] + 1 + header}: the label must be a digit 0-9, got {labels[bad[0]]:g}")
    if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{p.name}: pixel values must lie in 0..255 (or 0..1), got {np.nanmin(pixels):g}..{np.nanmax(pixels):g}")
    scale = 255.0 if pixels.max() > 1.0 else 1.0
    images = (pixels / scale).astype(np.float32)
    n = len(labels)
    if n < 2:
        raise DataError(f"{p.name} holds only {n} digit: nnviz needs some to train on and some to test on")
    n_test = max(1, n // 6)
    labels = labels.astype(np.int64)
    arrays = {"train_images": images[:n - n_test], "train_labels": labels[:n - n_test],
              "test_images": images[n - n_test:], "test_labels": labels[n - n_test:]}
    return arrays, f"{p.name}: {n - n_test:,} train / {n_test:,} test digits"


def _is_number(field: Any) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- saving


def save_digit(folder: str | os.PathLike, label: int, canvas: np.ndarray) -> Path:
    """Save a drawing (``canvas`` ``(h, w)`` in [0, 1], ink 1) as a PNG, black ink on white,
    into ``folder/<label>/``, under a new name; returns its path. A class builds its own
    set this way in a lecture, then trains or tests on the folder."""
    from PIL import Image

    if not (isinstance(label, (int, np.integer)) and 0 <= int(label) <= 9):
        raise DataError(f"a digit's label must be 0-9, got {label!r}")
    a = np.asarray(canvas, dtype=np.float64)
    if a.ndim != 2 or not a.any():
        raise DataError("there is no drawing to save: draw a digit first")
    target = Path(folder) / str(int(label))
    try:
        target.mkdir(parents=True, exist_ok=True)
        picture = Image.fromarray((255 * (1.0 - np.clip(a, 0.0, 1.0))).round().astype(np.uint8), "L")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1, 10_000):
            path = target / f"drawn-{stamp}-{n}.png"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)  # never overwrite a digit
            except FileExistsError:
                continue
            try:
                with os.fdopen(fd, "wb") as f:
                    picture.save(f, format="PNG")
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            return path
    except OSError as e:
        raise DataError(f"cannot save the digit in {target}: {e.strerror or e}") from None
    raise DataError(f"cannot save the digit in {target}: too many digits drawn this second")


def read_digits(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """All of a digit folder's or CSV's digits as ``(images (n, 784), labels (n,))``, train
    and test together: to test a network on every one of them, e.g.
    ``nnviz.show(net, test_data=read_digits("my_digits"))``."""
    p = Path(path)
    if p.is_dir():
        arrays, _ = load_image_folder(p, split=False)
    else:
        arrays, _ = load_csv(p)
    return (np.concatenate([arrays["train_images"], arrays["test_images"]]),
            np.concatenate([arrays["train_labels"], arrays["test_labels"]]))
