"""The Errors and Saturation tabs: per-epoch analysis on the test digits, off the GUI thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnviz.core.analysis import activations, saturation

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


@pytest.fixture
def trained(qtbot, window):
    """The window after a 3-epoch run, its analysis done."""
    w = window
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.panel.set_values(epochs=3)
        w.toggle_run()
    qtbot.waitUntil(lambda: w.inspector.idle() and 3 in w.inspector.analyses, timeout=TIMEOUT)
    return w


def _predicted(snap, images):
    return activations(snap.weights, snap.biases, images)[-1].argmax(axis=1)


def test_confusion_matrix_sums_to_the_test_set_and_its_diagonal_to_the_accuracy(qtbot, trained, small_data):
    w = trained
    w.inspector.show_view("errors")
    w.render_views()
    view = w.inspector.errors
    snap = w.history.epochs[-1]
    c = view.matrix.confusion
    assert c.shape == (10, 10)
    assert c.sum() == len(small_data.test_labels) == snap.test_total
    assert np.trace(c) == snap.test_correct
    # the counts drawn in the cells say the same
    drawn = [int(t.textItem.toPlainText().replace(",", "") or 0) for t in view.matrix.labels]
    np.testing.assert_array_equal(np.reshape(drawn, (10, 10)), c)
    assert f"{snap.test_correct:,} / {snap.test_total:,} right" in view.summary.text()
    assert "after epoch 3" in view.title.text()
    # per-digit accuracy bars, independently
    pred = _predicted(snap, small_data.test_images)
    labels = small_data.test_labels
    for d in range(10):
        assert view.class_bars.opts["height"][d] == pytest.approx(100 * np.mean(pred[labels == d] == d))
    # the most confident mistakes are mistakes, most confident first
    shown = view.mistakes.indices
    assert len(shown) == min(view.mistakes.capacity, int((pred != labels).sum())) > 0
    assert np.all(pred[shown] != labels[shown])
    conf = activations(snap.weights, snap.biases, small_data.test_images[shown])[-1].max(axis=1)
    assert np.all(np.diff(conf) <= 1e-12)


def test_clicking_a_cell_shows_exactly_its_digits(qtbot, trained, small_data):
    w = trained
    w.inspector.show_view("errors")
    w.render_views()
    view = w.inspector.errors
    snap = w.history.epochs[-1]
    pred, labels = _predicted(snap, small_data.test_images), small_data.test_labels
    c = view.matrix.confusion
    off = c.copy()
    np.fill_diagonal(off, 0)
    off[off > view.cell_gallery.capacity] = 0
    t, p = np.unravel_index(int(off.argmax()), off.shape)
    assert off[t, p] > 0
    # a real mouse click on the cell's centre
    matrix = view.matrix
    pos = matrix.mapFromScene(matrix.cell_centre(t, p))
    with qtbot.waitSignal(matrix.cellClicked, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(matrix.viewport(), Qt.LeftButton, pos=pos)
    assert blocker.args == [t, p]
    expected = np.flatnonzero((labels == t) & (pred == p))
    gallery = view.cell_gallery
    assert sorted(gallery.indices.tolist()) == expected.tolist()
    assert gallery.total == c[t, p]
    # the tiles in the gallery's image are those digits, in that order, labelled t -> p
    ch, cw = gallery._cell
    for i, j in enumerate(gallery.indices):
        r, col = divmod(i, gallery.columns)
        tile = gallery.image.image[r * ch + 12:r * ch + 40, col * cw + 2:col * cw + 30]
        np.testing.assert_array_equal(tile.ravel(), small_data.test_images[j])
        assert gallery.texts[i].textItem.toPlainText() == f"{t}→{p}"
    assert not any(item.isVisible() for item in gallery.texts[len(expected):])
    # a cell of right answers too, with more digits than the gallery holds
    d = int(np.argmax(np.diag(c)))
    view.select_cell(d, d)
    assert gallery.total == c[d, d]
    assert len(gallery.indices) == min(c[d, d], gallery.capacity)
    assert np.all((labels[gallery.indices] == d) & (pred[gallery.indices] == d))


def test_the_analysis_runs_off_the_gui_thread_once_per_epoch(qtbot, window, monkeypatch):
    import nnviz.gui.inspector as inspector

    threads = []
    real = inspector.analyse

    def spy(*args, **kw):
        threads.append(threading.get_ident())
        return real(*args, **kw)

    monkeypatch.setattr(inspector, "analyse", spy)
    w = window
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.panel.set_values(epochs=4)
        w.toggle_run()
    qtbot.waitUntil(lambda: w.inspector.idle() and 4 in w.inspector.analyses, timeout=TIMEOUT)
    assert threads and threading.get_ident() not in threads
    # epochs 1..4 (epoch 0 was analysed before the spy) each once
    assert len(threads) == 4
    assert sorted(w.inspector.saturations) == [0, 1, 2, 3, 4]


def test_saturation_view_plots_every_epoch(qtbot, trained, small_data):
    w = trained
    w.inspector.show_view("saturation")
    w.render_views()
    view = w.inspector.saturation
    x, hidden = view.hidden_curve.getData()
    np.testing.assert_array_equal(x, [0, 1, 2, 3])
    snap = w.history.epochs[-1]
    expected = saturation(snap.weights, snap.biases, small_data.test_images, small_data.test_labels,
                          snap.cost, sample=1000)
    assert hidden[-1] == pytest.approx(100 * expected.hidden_saturated)
    assert view.output_curve.getData()[1][-1] == pytest.approx(100 * expected.output_saturated)
    assert len(view.delta_curves) == 2
    assert view.delta_curves[1].yData[-1] == pytest.approx(expected.mean_abs_delta[1])  # log scale: yData is linear
    assert "After epoch 3" in view.summary.text() and "σ′" in view.summary.text()
    assert "slowdown" in view.graphics.toolTip()


def test_the_errors_and_saturation_tabs_are_built_when_first_shown(qtbot, trained, small_data):
    """Start-up builds neither; a tab shown for the first time after training shows that
    training (what it was told while it did not exist is replayed into it)."""
    w = trained
    deferred = {"errors": w.inspector._errors, "saturation": w.inspector._saturation}
    assert not any(d.built for d in deferred.values())
    w.inspector.show_view("errors")
    assert deferred["errors"].built and not deferred["saturation"].built
    w.render_views()
    snap = w.history.epochs[-1]
    assert np.trace(w.inspector.errors.matrix.confusion) == snap.test_correct
    assert "after epoch 3" in w.inspector.errors.title.text()
    w.inspector.show_view("saturation")
    w.render_views()
    assert deferred["saturation"].built
    np.testing.assert_array_equal(w.inspector.saturation.hidden_curve.getData()[0], [0, 1, 2, 3])


def test_a_deferred_view_replays_the_latest_call_of_each_setter_in_order(qtbot):
    from PySide6.QtWidgets import QWidget

    from nnviz.gui.widgets import DeferredView

    calls = []

    class View(QWidget):
        def set_a(self, x):
            calls.append(("a", x))

        def set_b(self, x, *, y=0):
            calls.append(("b", x, y))

    d = DeferredView(View)
    d.call("set_a", 1)
    d.call("set_b", 2, y=3)
    d.call("set_a", 4)          # the latest call of set_a counts, and comes after set_b
    assert calls == [] and not d.built
    view = d.view
    qtbot.addWidget(d.page)
    assert calls == [("b", 2, 3), ("a", 4)] and view.parent() is d.page
    d.call("set_b", 5)          # built: called at once
    assert calls[-1] == ("b", 5, 0) and d.view is view
