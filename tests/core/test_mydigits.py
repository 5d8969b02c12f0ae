"""Your own digits: a folder of images per class, and a CSV of digits (Kaggle's layout)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nnviz.core.data import load_dataset
from nnviz.core.errors import DataError
from nnviz.core.mydigits import read_image


def digit_picture(img28: np.ndarray, size: int = 200, dark_on_light: bool = True, margin: int = 40) -> np.ndarray:
    """A bundled MNIST digit as a bigger photo-like uint8 picture, with a margin of paper."""
    big = np.kron(img28.reshape(28, 28), np.ones((size // 28, size // 28)))
    canvas = np.zeros((big.shape[0] + 2 * margin, big.shape[1] + 2 * margin))
    canvas[margin:margin + big.shape[0], margin:margin + big.shape[1]] = big
    if dark_on_light:
        canvas = 0.92 - 0.85 * canvas   # grey paper, not quite black ink
    else:
        canvas = 0.05 + 0.9 * canvas
    return (255 * canvas).round().astype(np.uint8)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(-1).astype(float), b.reshape(-1).astype(float)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("kind", ["png-dark-on-light", "png-light-on-dark", "jpeg", "rgba-transparent"])
def test_an_image_reads_back_as_its_mnist_digit(tmp_path, bundled, kind):
    original = bundled.test_images[7]
    pic = digit_picture(original, dark_on_light=kind != "png-light-on-dark")
    if kind == "rgba-transparent":  # black strokes on a transparent background
        alpha = 255 - pic
        im = Image.fromarray(np.dstack([np.zeros_like(pic)] * 3 + [alpha]), "RGBA")
        path = tmp_path / "d.png"
    else:
        im = Image.fromarray(pic, "L").convert("RGB")
        path = tmp_path / ("d.jpg" if kind == "jpeg" else "d.png")
    im.save(path)
    got = read_image(path)
    assert got.shape == (28, 28) and got.dtype == np.float32 and 0 <= got.min() and got.max() <= 1
    assert similarity(got, original) > 0.9


def make_folder(root, bundled, per_class=5, junk=()):
    for d in range(10):
        (root / str(d)).mkdir(parents=True)
        idx = np.flatnonzero(bundled.test_labels == d)[:per_class]
        for i in idx:
            Image.fromarray(digit_picture(bundled.test_images[i], size=120, margin=20)).save(root / str(d) / f"{i:05d}.png")
    for name, content in junk:
        (root / name).write_bytes(content)


def test_a_folder_of_digits_loads_with_every_fifth_image_as_a_test_digit(tmp_path, bundled):
    root = tmp_path / "my_digits"
    make_folder(root, bundled)
    (root / "3" / ".DS_Store").write_bytes(b"\0\0junk")  # hidden files are not digits
    ds = load_dataset(str(root))
    assert (ds.n_train, ds.n_test) == (40, 10)
    assert sorted(ds.test_labels.tolist()) == list(range(10))
    assert np.bincount(ds.train_labels).tolist() == [4] * 10
    assert "your digits in my_digits: 40 train / 10 test" == ds.description
    # the digits are the bundled ones, read back from pictures: the book's network would read them
    i = int(np.flatnonzero(bundled.test_labels == 0)[4])
    assert similarity(ds.test_images[0], bundled.test_images[i]) > 0.9


def test_bad_files_are_skipped_counted_and_named_in_one_line(tmp_path, bundled):
    root = tmp_path / "my_digits"
    make_folder(root, bundled)
    (root / "1" / "notes.txt").write_text("not a digit")
    (root / "2" / "truncated.png").write_bytes((root / "2").joinpath(next(iter(sorted(p.name for p in (root / "2").iterdir())))).read_bytes()[:60])
    Image.new("L", (50, 50), 255).save(root / "4" / "blank.png")
    (root / "5" / "huge.png").write_bytes(b"x")
    Image.new("L", (5000, 4000), 0).save(root / "5" / "huge.png")  # more than 4096*4096 pixels
    ds = load_dataset(str(root))
    assert ds.n_train + ds.n_test == 50
    note = ds.description
    assert "; 4 files skipped: 1/notes.txt (not a PNG, JPEG or BMP image), 2/truncated.png (damaged image" in note
    assert "and 1 more" in note and "\n" not in note


def test_train_and_test_folders_choose_the_split(tmp_path, bundled):
    make_folder(tmp_path / "set" / "train", bundled, per_class=3)
    make_folder(tmp_path / "set" / "test", bundled, per_class=1)
    ds = load_dataset(str(tmp_path / "set"))
    assert (ds.n_train, ds.n_test) == (30, 10)


@pytest.mark.parametrize("setup, message", [
    (lambda root: None, "is not an MNIST folder"),  # empty: nothing nnviz can read
    (lambda root: (root / "a.png").write_bytes(b""), "is not an MNIST folder"),  # unlabelled
    (lambda root: [(root / str(d)).mkdir() for d in range(10)], "its digit folders 0 … 9 hold no images"),
    (lambda root: ((root / "7").mkdir(), (root / "7" / "x.png").write_text("no")), "no image could be read as a digit; 1 file skipped: 7/x.png"),
])
def test_an_empty_or_unlabelled_folder_is_one_clear_error(tmp_path, setup, message):
    root = tmp_path / "my_digits"
    root.mkdir()
    setup(root)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        load_dataset(str(root))
    assert "\n" not in str(e.value)


def test_too_few_images_for_a_test_split_says_how_many_are_needed(tmp_path, bundled):
    make_folder(tmp_path / "few", bundled, per_class=2)
    with pytest.raises(DataError, match="no test digits \\(give each digit at least 5 images, or train/ and test/ folders\\)"):
        load_dataset(str(tmp_path / "few"))


def write_csv(path, images, labels, header=True, scale=255):
    rows = []
    if header:
        rows.append("label," + ",".join(f"pixel{i}" for i in range(784)))
    for x, y in zip(images, labels):
        px = np.round(x * 255).astype(int) if scale == 255 else x
        rows.append(f"{y}," + ",".join(str(v) for v in px))
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("header, scale", [(True, 255), (False, 255), (False, 1)])
def test_a_csv_of_digits_loads_kaggle_style(tmp_path, bundled, header, scale):
    images, labels = bundled.test_images[:60], bundled.test_labels[:60]
    path = tmp_path / "train.csv"
    write_csv(path, images, labels, header, scale)
    ds = load_dataset(str(path))
    assert (ds.n_train, ds.n_test) == (50, 10)
    assert ds.train_labels.tolist() + ds.test_labels.tolist() == labels.tolist()
    got = np.concatenate([ds.train_images, ds.test_images])
    assert np.abs(got - images).max() <= (0.5 / 255 + 1e-6 if scale == 255 else 1e-6)
    assert ds.description == "train.csv: 50 train / 10 test digits"


@pytest.mark.parametrize("content, message", [
    ("pixel0,pixel1\n" + "\n".join(",".join(["0"] * 784) for _ in range(3)), "784 columns: pixels without labels"),
    ("1,2,3\n4,5,6\n", "3 columns: expected 785"),
    ("12," + ",".join(["0"] * 784) + "\n1," + ",".join(["0"] * 784), "row 1: the label must be a digit 0-9, got 12"),
    ("1," + ",".join(["300"] * 784) + "\n2," + ",".join(["0"] * 784), "pixel values must lie in 0..255"),
    ("1,a,b\n", "not a CSV of numbers"),
    ("label,x\n", "holds no digits"),
])
def test_a_bad_csv_is_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as e:
        load_dataset(str(path))
    assert "\n" not in str(e.value)


def test_train_on_your_digits_from_the_command_line(tmp_path, bundled):
    root = tmp_path / "my_digits"
    make_folder(root, bundled)
    (root / "1" / "notes.txt").write_text("x")
    out = subprocess.run([sys.executable, "-m", "nnviz", "train", "--data", str(root), "--epochs", "2", "--seed", "1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1].startswith("Epoch 1: ") and out.stdout.splitlines()[-1].endswith(" / 10")
    assert "your digits in my_digits: 40 train / 10 test; 1 file skipped: 1/notes.txt" in out.stderr
    empty = tmp_path / "empty"
    (empty / "3").mkdir(parents=True)
    out = subprocess.run([sys.executable, "-m", "nnviz", "train", "--data", str(empty)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr == "nnviz: error: empty: its digit folders 0 … 9 hold no images\n"


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels (and holds none): a decompression bomb's front."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [5000, 10_000, 20_000])  # over nnviz's cap, over Pillow's warning, over its error
def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(side, side))
    with pytest.raises(DataError, match="pixels"):
        read_image(path)


def test_a_csv_with_too_many_rows_is_refused(tmp_path, monkeypatch):
    from nnviz.core import mydigits

    monkeypatch.setattr(mydigits, "MAX_CSV_ROWS", 3)
    path = tmp_path / "big.csv"
    path.write_text("\n".join("1," + ",".join(["0"] * 784) for _ in range(4)))
    with pytest.raises(DataError, match="holds 4 rows, more than the 3 digits"):
        load_dataset(str(path))
