"""nnviz.show and nnviz.watch: the window and a live dashboard on the book's own objects."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import shiboken6

import nnviz
from nnviz.core.data import Dataset
from nnviz.core.errors import ConfigError
from nnviz.core.network import Network


def book_lists(ds: Dataset, n_train: int, n_test: int):
    """The book's load_data_wrapper format: (x (784,1), one-hot y (10,1)) and (x, label)."""
    eye = np.eye(10)
    training = [(x.reshape(784, 1), eye[y].reshape(10, 1)) for x, y in
                zip(ds.train_images[:n_train], ds.train_labels[:n_train])]
    test = [(x.reshape(784, 1), int(y)) for x, y in zip(ds.test_images[:n_test], ds.test_labels[:n_test])]
    return training, test


@pytest.fixture
def lists(small_data):
    return book_lists(small_data, 600, 200)


def test_import_nnviz_loads_no_qt_and_no_numpy():
    code = "import sys, nnviz; print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'numpy', 'pyqtgraph')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_show_non_blocking_trains_the_books_network_on_the_books_lists(qtbot, qapp_themed, lists):
    training, test = lists
    net = Network([784, 30, 10], seed=3)
    before = [w.copy() for w in net.weights]
    run = nnviz.show(net, training, test, epochs=2, eta=3.0, mini_batch_size=10, start=True, block=False, speed=None)
    qtbot.addWidget(run.window)
    try:
        assert run.is_open and run.window.speed is None  # as fast as possible
        qtbot.waitUntil(lambda: run.window.controller.state == "finished", timeout=30000)
        h = run.history
        assert list(h["epoch"]) == [0, 1, 2]
        assert h["test_total"].tolist() == [200, 200, 200] and h["test_correct"].dtype == np.int64
        # epoch 0 is the given network's own accuracy on the given test list
        assert h["test_correct"][0] == net.evaluate(test)
        assert h["test_correct"][-1] > h["test_correct"][0]
        assert np.isfinite(h["training_cost"][1:]).all() and h["cost_curve"].shape[1] == 2
        assert h["eta"][-1] == 3.0 and h["cost"][-1] == "quadratic" and h["changes"] == []
        trained = run.network()
        assert trained.sizes == [784, 30, 10]
        assert trained.evaluate(test) == h["test_correct"][-1]
        assert all(np.array_equal(a, b) for a, b in zip(net.weights, before))  # the caller's net is untouched
        run.close()
        assert not run.is_open and list(run.history["epoch"]) == [0, 1, 2]  # readable after closing
    finally:
        run.close()


def test_show_blocks_until_the_window_is_closed(qtbot, qapp_themed, lists):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from nnviz.gui.main_window import MainWindow

    training, test = lists
    seen = []

    def close_when_trained():
        w = next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)
        if w is not None and w.controller.state == "finished":
            seen.append(len(w.history.epochs))
            w.close()
        else:
            QTimer.singleShot(20, close_when_trained)

    QTimer.singleShot(0, close_when_trained)
    run = nnviz.show(None, training, test, epochs=1, start=True, hidden=(12,), seed=5)  # block: no Qt loop runs
    assert seen == [2]
    assert not shiboken6.isValid(run.window)  # torn down on return
    assert list(run.history["epoch"]) == [0, 1] and run.network().sizes == [784, 12, 10]


def test_show_refuses_bad_input_before_opening_a_window(qapp_themed, lists):
    training, test = lists
    with pytest.raises(ConfigError, match="give test_data too"):
        nnviz.show(training_data=training, block=False)
    with pytest.raises(ConfigError, match="100 input neurons but the images have 784"):
        nnviz.show(Network([100, 10, 10]), training, test, block=False)
    with pytest.raises(ConfigError, match="empty"):
        nnviz.show(None, training, [], block=False)
    with pytest.raises(TypeError, match="unknown settings learning_rate"):
        nnviz.show(None, training, test, learning_rate=3.0)


def test_watch_shows_the_books_sgd_live_and_leaves_its_numbers_unchanged(qtbot, qapp_themed, lists, capsys):
    training, test = lists
    watched, plain = Network([784, 30, 10], seed=11), Network([784, 30, 10], seed=11)
    with nnviz.watch(watched, test, block=False) as w:
        assert w.window.isVisible()
        watched.SGD(training, 2, 10, 3.0, test_data=test)
        assert w.heatmaps.n_neurons == 30 and w.accuracy.test.n == 3 and w.cost.live.n > 2
    plain.SGD(training, 2, 10, 3.0, test_data=test)
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == printed[2:]  # the book's lines, the same with and without watching
    for a, b in zip(watched.weights + watched.biases, plain.weights + plain.biases):
        assert np.array_equal(a, b)
    h = w.history
    assert list(h["epoch"]) == [0, 1, 2]
    assert [f"Epoch {j}: {c} / 200" for j, c in enumerate(h["test_correct"][1:])] == printed[:2]
    assert np.isfinite(h["training_cost"][1:]).all()
    assert "SGD" not in watched.__dict__ and "sgd_steps" not in watched.__dict__  # unhooked
    w.close()
    assert w.window is None


def test_watch_unhooks_the_network_when_the_training_raises(qtbot, qapp_themed, lists):
    training, test = lists
    net = Network([784, 30, 10], seed=1)
    with pytest.raises(ValueError):
        with nnviz.watch(net, test, block=True) as w:  # an error: no wait for the window
            raise ValueError("boom")
    assert "SGD" not in net.__dict__ and w.window is None
