"""Nothing lost by a click: each action that replaces the run is undone by Ctrl+Z, exactly."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from nnviz.core.history import History
from nnviz.core.training import Controls, TrainConfig, train

TIMEOUT = 30_000


def _train(qtbot, w, epochs):
    w.panel.epochs.setValue(epochs)
    if w.controller.state != "running":
        qtbot.keyClick(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: w.controller.state == "finished" and w.history.epochs[-1].epochs_done == epochs,
                    timeout=TIMEOUT)


def _undo(qtbot, w):
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier)


def _weights(w):
    last = w.history.epochs[-1]
    return [a.copy() for a in last.weights]


def _same_run(w, numbers, weights):
    assert w.history.numbers() == numbers
    for a, b in zip(w.history.epochs[-1].weights, weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("action", ["reset", "network setting", "new data", "continue from here"])
def test_each_run_replacing_action_is_undone_by_ctrl_z(qtbot, window, action):
    w = window
    _train(qtbot, w, 3)
    numbers, weights = w.history.numbers(), _weights(w)
    if action == "reset":
        qtbot.keyClick(w, Qt.Key_R)
    elif action == "network setting":
        w.panel.hidden.setText("20")
        w.panel.hidden.editingFinished.emit()
        qtbot.waitUntil(lambda: w.controller.config.sizes == (784, 20, 10), timeout=TIMEOUT)
    elif action == "new data":
        with qtbot.waitSignal(w.dataReady, timeout=TIMEOUT):
            w.load_data("bundled")
    else:
        w.inspector.show_epoch(1)
        w.inspector.continue_from(1)
        w.controller.pause()
    assert w.history.numbers() != numbers
    assert "Ctrl+Z" in w.statusBar().currentMessage()
    assert w.undo_action.isEnabled() and "replaced the run of 3 epochs" in w.undo_action.text()
    _undo(qtbot, w)
    _same_run(w, numbers, weights)
    assert w.controller.state == "finished" and w.panel.config().sizes == (784, 30, 10)  # at its target, as it was
    # the Network tab's "mini-batch's first digit" is the brought-back run's, not the replacement's
    assert w.network_tab.minibatch == w.history.epochs[-1].first_example is not None
    w.render_views()
    assert w.accuracy.test.n == 4                       # epochs 0..3 drawn again
    np.testing.assert_array_equal(w.heatmaps._weights[0], weights[0])
    assert "is back" in w.statusBar().currentMessage()


def test_the_run_brought_back_trains_on_exactly_as_if_never_replaced(qtbot, window, small_data):
    w = window
    _train(qtbot, w, 2)
    qtbot.keyClick(w, Qt.Key_R)
    _undo(qtbot, w)
    _train(qtbot, w, 3)
    config = w.controller.config
    reference = History()
    for snap in train(TrainConfig(sizes=config.sizes, epochs=3, mini_batch_size=config.mini_batch_size,
                                  eta=config.eta, seed=config.seed, dtype=config.dtype), small_data,
                      Controls(eta=config.eta)):
        reference.add(snap)
    assert [e.test_correct for e in w.history.epochs] == [e.test_correct for e in reference.epochs]
    for a, b in zip(w.history.epochs[-1].weights, reference.epochs[-1].weights):
        np.testing.assert_array_equal(a, b)


def test_redo_brings_the_replacement_back_and_an_untrained_run_is_not_kept(qtbot, window):
    w = window
    assert not w.undo_action.isEnabled()
    qtbot.keyClick(w, Qt.Key_R)                     # nothing trained yet: nothing to undo
    assert not w.undo_action.isEnabled()
    _train(qtbot, w, 2)
    numbers = w.history.numbers()
    qtbot.keyClick(w, Qt.Key_R)
    qtbot.waitUntil(lambda: bool(w.history.epochs), timeout=TIMEOUT)   # the new network's epoch 0
    fresh = w.history.numbers()
    _undo(qtbot, w)
    assert w.history.numbers() == numbers
    qtbot.keyClick(w, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert w.history.numbers() == fresh
    _undo(qtbot, w)
    assert w.history.numbers() == numbers


def _answer(qtbot, w, button):
    qtbot.waitUntil(lambda: w._save_question is not None and w._save_question.isVisible(), timeout=TIMEOUT)
    w._save_question.button(button).click()


def test_closing_with_an_unsaved_run_asks_to_save(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window(ask_to_save=True)
    _train(qtbot, w, 4)
    w.close()
    _answer(qtbot, w, QMessageBox.Cancel)
    assert w.isVisible()
    # Save: the network is saved, then the window closes
    target = tmp_path / "kept.npz"
    monkeypatch.setattr("nnviz.gui.dialogs.network_file.ask_save_path", lambda *a, **k: str(target))
    w.close()
    _answer(qtbot, w, QMessageBox.Save)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=TIMEOUT)
    assert target.is_file() and w.saved_epochs == 4


def test_discard_closes_and_a_short_run_closes_without_asking(qtbot, make_window):
    w = make_window(ask_to_save=True)
    _train(qtbot, w, 4)
    w.close()
    _answer(qtbot, w, QMessageBox.Discard)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=TIMEOUT)
    w2 = make_window(ask_to_save=True)
    _train(qtbot, w2, 2)
    w2.close()
    assert not w2.isVisible() and w2._save_question is None
