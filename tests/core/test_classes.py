"""Class names: digits have none (label 7 is "7"); Fashion-MNIST and KMNIST name theirs."""

from __future__ import annotations

import numpy as np
import pytest

from nnviz.core.analysis import (
    CONFIDENT_MISTAKES_EXPLAINED,
    CONFUSION_EXPLAINED,
    analyse_outputs,
    confident_mistakes_explained,
    confusion_caption,
    confusion_explained,
)
from nnviz.core.classes import DIGITS, SHORT_WIDTH, check_class_names, label_name, noun, short_name
from nnviz.core.data import EXTRA_DATASETS, Dataset, load_bundled, load_dataset, load_extra
from nnviz.core.errors import DataError

FASHION = EXTRA_DATASETS["fashion-mnist"][1]
KMNIST = EXTRA_DATASETS["kmnist"][1]


def tiny(class_names=None) -> Dataset:
    x = np.zeros((10, 784), np.uint8)
    y = np.arange(10)
    return Dataset(name="t", train_images=x, train_labels=y, test_images=x, test_labels=y, class_names=class_names)


def test_digits_have_no_names_and_a_label_is_its_digit() -> None:
    assert [label_name(d) for d in range(10)] == list(DIGITS) == [short_name(d) for d in range(10)]
    assert noun() == "digit" and noun(None, plural=True) == "digits"
    ds = tiny()
    assert ds.class_names is None and ds.label_name(7) == "7" and ds.noun(plural=True) == "digits"


def test_fashion_names_long_and_short() -> None:
    assert label_name(7, FASHION) == "Sneaker" and label_name(0, FASHION) == "T-shirt/top"
    assert label_name(9, FASHION) == "Ankle boot" and noun(FASHION) == "item" and noun(FASHION, True) == "items"
    shorts = [short_name(k, FASHION) for k in range(10)]
    assert shorts[9] == "Boot" and shorts[7] == "Sneaker" and shorts[0] == "T-shirt"
    assert all(len(s) <= SHORT_WIDTH for s in shorts) and len(set(shorts)) == 10
    assert [short_name(k, KMNIST) for k in range(10)] == list(KMNIST)   # short already
    assert short_name(2, ["x" * 20 if k == 2 else f"c{k}" for k in range(10)]) == "x" * (SHORT_WIDTH - 1) + "."
    assert short_name(2, ["Pullover" if k == 2 else f"c{k}" for k in range(10)]) == "Pullover"


def test_dataset_checks_and_keeps_its_class_names() -> None:
    ds = tiny(list(FASHION))
    assert ds.class_names == FASHION and isinstance(ds.class_names, tuple)
    assert ds.label_name(7) == "Sneaker" and ds.noun() == "item"
    for bad, message in ((FASHION[:9], "got 9 names"), ("abcdefghij", "a list of 10 names"),
                         (FASHION[:9] + ("Bag",), "distinct"), (FASHION[:9] + ("",), "class name 9")):
        with pytest.raises(DataError, match=message):
            tiny(bad)


def test_extra_datasets_get_their_names_from_the_cache(tmp_path, fm, monkeypatch) -> None:
    import nnviz.core.download as download

    for name, names in (("fashion-mnist", FASHION), ("kmnist", KMNIST)):
        folder = fm.write_idx_dir(tmp_path / name)
        monkeypatch.setattr(download, "fetch_extra", lambda n, folder=folder, **kw: folder)
        ds = load_extra(name)
        assert ds.name == name and ds.class_names == names
        assert load_dataset(name).class_names == names


def test_digit_datasets_have_no_class_names(tmp_path, fm) -> None:
    assert load_bundled().class_names is None
    assert load_dataset(str(fm.write_idx_dir(tmp_path / "idx"))).class_names is None   # even Fashion's files by path
    assert load_dataset(str(fm.write_pickle_gz(tmp_path / "mnist.pkl.gz"))).class_names is None
    csv = tmp_path / "train.csv"
    csv.write_text("\n".join(f"{k % 10}," + ",".join(["0"] * 783 + ["255"]) for k in range(20)) + "\n")
    assert load_dataset(str(csv)).class_names is None


def test_captions_use_the_names() -> None:
    labels = np.array([7, 7, 7, 5, 0])
    outputs = np.eye(10)[[5, 5, 7, 5, 0]]            # two sneakers taken for sandals
    a = analyse_outputs(outputs, labels)
    assert confusion_caption(a).endswith("most common mistake: 7 taken for 5 (2 times)")
    assert confusion_caption(a, FASHION).endswith("most common mistake: Sneaker taken for Sandal (2 times)")
    assert confusion_explained() == CONFUSION_EXPLAINED and "digit" in CONFUSION_EXPLAINED
    assert confident_mistakes_explained() == CONFIDENT_MISTAKES_EXPLAINED
    for text in (confusion_explained(FASHION), confident_mistakes_explained(FASHION)):
        assert "digit" not in text and "handwriting" not in text and "items" in text


def test_the_notebook_keeps_a_datasets_names() -> None:
    from nnviz.notebook import as_dataset

    fashion = tiny(FASHION)
    assert as_dataset(fashion).class_names == FASHION
    assert as_dataset(fashion, fashion).class_names == FASHION
    assert as_dataset(None, fashion).class_names == FASHION
    assert as_dataset(None, None).class_names is None


def test_check_class_names_passes_none() -> None:
    assert check_class_names(None) is None
