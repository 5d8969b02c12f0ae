"""File → Open (network, lesson, data) with hostile files (issue 10): the same one-line
message as the command line, in a dialog, and the app still usable afterwards."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest

from nnviz.core.data import load_dataset
from nnviz.core.errors import NnvizError
from nnviz.core.history import load_network, save_network
from nnviz.core.network import Network
from nnviz.core.recipe import load_recipe

TIMEOUT = 10_000


def _core_message(load, path) -> str:
    with pytest.raises(NnvizError) as info:
        load(path)
    return str(info.value)


def _npy(descr: str, shape: tuple) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * ((-len(header) - 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _network_files(tmp_path):
    npy = io.BytesIO()
    np.save(npy, np.zeros(3))
    (tmp_path / "plain.npz").write_bytes(npy.getvalue())
    (tmp_path / "folder.npz").mkdir()
    os.mkfifo(tmp_path / "pipe.npz")
    save_network(tmp_path / "huge.npz", Network([784, 3, 10], seed=0))
    with np.load(tmp_path / "huge.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["sizes"] = np.array([784, 100_000_000, 10])
    np.savez(tmp_path / "huge.npz", **arrays)
    return ["plain.npz", "folder.npz", "pipe.npz", "huge.npz"]


def test_open_network_gives_the_cli_message(qtbot, window, tmp_path):
    w = window
    for name in _network_files(tmp_path):
        expected = _core_message(load_network, tmp_path / name)
        state = w.controller.state
        assert not w.network_files.open(tmp_path / name)
        assert w.error_box is not None and expected in w.error_box.text(), (name, w.error_box.text())
        assert w.controller.state == state
        w.error_box.close()
    # still usable: a run starts and finishes
    w.panel.epochs.setValue(1)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()


def test_open_lesson_gives_the_cli_message(qtbot, window, tmp_path):
    w = window
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    doc = {"format": "nnviz-recipe-1", "data": "bundled",
           "config": {"sizes": [784, 30, 10], "epochs": 10**12, "seed": True}}
    (tmp_path / "epochs.json").write_text(json.dumps(doc))
    for name in ("pipe.json", "deep.json", "epochs.json"):
        expected = _core_message(load_recipe, tmp_path / name)
        assert not w.lesson.open(tmp_path / name)
        assert expected in w.error_box.text(), (name, w.error_box.text())
        assert w.lesson.player is None
        w.error_box.close()


def test_open_data_file_gives_the_cli_message(qtbot, make_window, tmp_path):
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
        z.writestr("x_train.npy", _npy("|u1", (10**12, 28, 28)))
        for k in ("y_train", "x_test", "y_test"):
            z.writestr(k + ".npy", _npy("|u1", (1,)) + b"\x00")
    (tmp_path / "image.npz").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    os.mkfifo(tmp_path / "pipe.pkl.gz")
    w = make_window(load=load_dataset)
    data = w.data
    for name in ("huge.npz", "image.npz", "pipe.pkl.gz"):
        expected = _core_message(load_dataset, str(tmp_path / name))
        with qtbot.waitSignal(w.loader.failed, timeout=TIMEOUT):
            w.load_data(str(tmp_path / name))
        qtbot.waitUntil(lambda: w.error_box is not None and w.error_box.isVisible(), timeout=TIMEOUT)
        assert expected in w.error_box.text(), (name, w.error_box.text())
        assert w.data is data  # the app carries on with the data it had
        w.error_box.close()
