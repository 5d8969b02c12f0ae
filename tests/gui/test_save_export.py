"""Saving and opening a network in the window; damaged files refused with a dialog;
figures, the clipboard and the history exported."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


def _train(qtbot, w, epochs: int) -> None:
    w.panel.epochs.setValue(epochs)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    w.render_views()


def test_save_and_open_a_network_round_trip(qtbot, window, tmp_path):
    w = window
    _train(qtbot, w, 2)
    saved = w.history.epochs[-1]
    path = tmp_path / "net.npz"
    assert w.network_files.save(path)
    assert path.stat().st_size > 1000

    w.reset()  # a new, untrained network
    qtbot.waitUntil(lambda: bool(w.history.epochs), timeout=TIMEOUT)
    assert w.history.epochs[-1].epochs_done == 0

    assert w.network_files.open(path)
    qtbot.waitUntil(lambda: bool(w.history.epochs) and len(w.history.epochs[-1].weights) > 0, timeout=TIMEOUT)
    w.render_views()
    opened = w.history.epochs[-1]
    assert opened.epochs_done == 2 and opened.test_correct == saved.test_correct
    for a, b in zip(opened.weights, saved.weights):
        np.testing.assert_array_equal(a, b)
    # the dashboard shows it: the saved accuracy curve, its heatmaps, its numbers
    assert list(w.accuracy.test.x) == [0, 1, 2]
    np.testing.assert_allclose(w.accuracy.test.y, [100 * e.test_accuracy for e in w.history.epochs])
    assert w.heatmaps.n_neurons == 30
    assert w.cards["epoch"].value.text().startswith("2 /")
    # ... and training continues from it
    assert w.controller.state == "ready"
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT,
                          check_params_cb=lambda s: s.epochs_done == 3):
        w.toggle_run()
    w.stop()
    assert [e.epochs_done for e in w.history.epochs][:4] == [0, 1, 2, 3]
    # saving again keeps the whole history
    again = tmp_path / "again.npz"
    assert w.network_files.save(again)
    from nnviz.core.history import load_network

    _, config, rows = load_network(again)
    assert [r["epoch"] for r in rows][:4] == [0, 1, 2, 3] and config["seed"] == 1


def _good(tmp_path, window, qtbot):
    _train(qtbot, window, 1)
    path = tmp_path / "good.npz"
    assert window.network_files.save(path)
    with np.load(path) as z:
        return path, {k: z[k] for k in z.files}


def _wrong_shape(arrays):
    arrays["w0"] = arrays["w0"][:, :100]


def _object_array(arrays):
    arrays["w1"] = np.array([object()] * 10, dtype=object)


def _missing_key(arrays):
    del arrays["b1"]


def _missing_format(arrays):
    del arrays["format"]


@pytest.mark.parametrize("damage", [_wrong_shape, _object_array, _missing_key, _missing_format, "truncated",
                                    "not a zip"])
def test_damaged_network_files_are_refused_with_a_dialog(qtbot, window, tmp_path, damage):
    w = window
    good, arrays = _good(tmp_path, w, qtbot)
    bad = tmp_path / "bad.npz"
    if damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif damage == "not a zip":
        bad.write_text("hello")
    else:
        damage(arrays)
        np.savez(bad, **arrays)
    before = [e.numbers() for e in w.history.epochs]
    state = w.controller.state
    assert not w.network_files.open(bad)
    box = w.error_box
    assert box is not None and box.windowTitle() == "Could not open the network"
    assert "bad.npz" in box.text()
    # the app carries on as it was
    assert [e.numbers() for e in w.history.epochs] == before and w.controller.state == state
    box.close()
    assert w.network_files.open(good)  # and a good file still opens


def test_network_that_does_not_fit_the_data_is_refused(qtbot, window, tmp_path):
    from nnviz.core.history import save_network
    from nnviz.core.network import Network

    path = tmp_path / "small.npz"
    save_network(path, Network([64, 10, 10], seed=0))
    assert not window.network_files.open(path)
    assert "64" in window.error_box.text()


def test_exports_write_png_svg_csv_json_and_copy_to_the_clipboard(qtbot, window, tmp_path):
    w = window
    _train(qtbot, w, 2)
    ex = w.exports
    for key in ("accuracy", "cost", "heatmaps", "race"):
        png, svg = tmp_path / f"{key}.png", tmp_path / f"{key}.svg"
        assert ex.export_figure(key, png) and ex.export_figure(key, svg)
        image = QImage(str(png))
        assert image.width() > 200 and image.height() > 100
        assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert ex.export_history(tmp_path / "h.csv") and ex.export_history(tmp_path / "h.json")
    rows = list(csv.DictReader((tmp_path / "h.csv").read_text(encoding="utf-8").splitlines()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    doc = json.loads((tmp_path / "h.json").read_text())
    assert [r["epoch"] for r in doc["epochs"]] == [0, 1, 2]
    QApplication.clipboard().clear()
    ex.copy_current()
    assert not QApplication.clipboard().image().isNull()
    # a wrong name is explained, not a crash
    assert not ex.export_figure("accuracy", tmp_path / "a.gif")
    assert "png" in w.error_box.text()
    assert not ex.export_history(tmp_path / "missing" / "h.csv")


def test_nothing_to_save_before_data(qtbot, make_window, tmp_path):
    w = make_window(wait_ready=False)
    assert not w.network_files.save(tmp_path / "x.npz")
    assert w.error_box is not None and not (tmp_path / "x.npz").exists()
