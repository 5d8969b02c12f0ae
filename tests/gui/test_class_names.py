"""Views name the classes of a dataset that has names (Fashion-MNIST's "Sneaker"), and
say digits otherwise: the Errors tab, the Draw tab, the Network tab, the heatmaps' bars."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from nnviz.core.analysis import activations
from nnviz.core.classes import label_name, short_name
from nnviz.core.data import EXTRA_DATASETS, Dataset

FASHION = EXTRA_DATASETS["fashion-mnist"][1]
TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


@pytest.fixture
def fashion_data(small_data) -> Dataset:
    """small_data's pictures, their labels named as Fashion-MNIST names its classes."""
    d = small_data
    return Dataset(name="fashion-mnist", train_images=d.train_images, train_labels=d.train_labels,
                   test_images=d.test_images, test_labels=d.test_labels, class_names=FASHION)


@pytest.fixture
def fashion_window(qtbot, make_window, small_data, fashion_data):
    """A window on the named data, trained 2 epochs, its analysis done; "bundled" loads digits."""
    def load(source, progress=None, cancel=None):
        return small_data if source == "bundled" else fashion_data

    w = make_window(load=load, wait_ready=False)
    with qtbot.waitSignal(w.dataReady, timeout=TIMEOUT):
        w.load_data("fashion-mnist")
    qtbot.waitUntil(lambda: bool(w.history.epochs), timeout=TIMEOUT)
    train(qtbot, w)
    return w


def train(qtbot, w, epochs: int = 2) -> None:
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.panel.set_values(epochs=epochs)
        w.toggle_run()
    qtbot.waitUntil(lambda: w.inspector.idle() and epochs in w.inspector.analyses, timeout=TIMEOUT)


def errors_tab(qtbot, w):
    w.inspector.show_view("errors")
    qtbot.waitUntil(lambda: w.tabs.currentIndex() == w.inspector.tab_index["errors"], timeout=TIMEOUT)
    w.render_views()
    return w.inspector.errors


def texts(items) -> list[str]:
    return [t.textItem.toPlainText() for t in items]


def ticks(plot) -> list[str]:
    return [s.strip() for _, s in plot.getAxis("bottom")._tickLevels[0]]


def inside(view, item) -> bool:
    """The text item is drawn wholly within the view (1 px of rounding allowed)."""
    return view.sceneBoundingRect().adjusted(-1, -1, 1, 1).contains(item.sceneBoundingRect())


def test_the_errors_tab_names_the_classes_and_its_labels_fit(qtbot, fashion_window, fashion_data):
    w = fashion_window
    view = errors_tab(qtbot, w)
    m = view.matrix
    assert texts(m.row_ticks) == list(FASHION)
    assert [s.strip() for s in texts(m.column_ticks)] == [short_name(k, FASHION) for k in range(10)]
    assert "Sneaker" in texts(m.column_ticks)[7] and texts([m.side]) == ["true class"]
    # the long names fit beside the cells, at 1280x720 and in a small window alike
    for size in ((1280, 720), (900, 600)):
        w.resize(*size)
        qtbot.waitUntil(lambda: all(inside(m.plot, t) for t in m.row_ticks + m.column_ticks + [m.side]),
                        timeout=TIMEOUT)
    assert ticks(view.class_plot) == [short_name(k, FASHION) for k in range(10)]
    assert view.class_title.text().startswith("Accuracy per class") and "test items" in view.title.text()
    # the mistakes: each tile "true → answer" in names, and the summary names the commonest one
    a = view.analysis
    shown = view.mistakes.indices
    assert len(shown) > 0
    for i, j in enumerate(shown):
        t, q = int(a.labels[j]), int(a.predicted[j])
        assert texts([view.mistakes.texts[i]]) == [f"{short_name(t, FASHION)}\n→{short_name(q, FASHION)}"]
    off = a.confusion.copy()
    np.fill_diagonal(off, 0)
    t, q = np.unravel_index(int(off.argmax()), off.shape)
    assert f"most common mistake: {FASHION[t]} taken for {FASHION[q]}" in view.summary.text()
    assert "digit" not in view.explained.text() and "digit" not in view.mistakes_caption.text()
    # a clicked cell's gallery is titled with the names
    view.select_cell(int(t), int(q))
    assert view.cell_gallery.title.text().startswith(f"{FASHION[t]} taken for {FASHION[q]}")
    # hovering a mistake names both classes in full
    gallery = view.mistakes
    j = int(shown[0])
    centre = gallery.view.mapViewToScene(QPointF(gallery._cell[1] / 2, gallery._cell[0] / 2))
    qtbot.mouseMove(gallery.graphics.viewport(), gallery.graphics.mapFromScene(centre))
    expected = (f"test item #{j}: {label_name(int(a.labels[j]), FASHION)}, "
                f"answered {label_name(int(a.predicted[j]), FASHION)}")
    qtbot.waitUntil(lambda: gallery.graphics.toolTip() == expected, timeout=TIMEOUT)


def test_the_draw_tab_answers_with_a_name_and_says_it_is_not_digits(qtbot, fashion_window, fashion_data):
    w = fashion_window
    w.inspector.show_view("draw")
    view = w.inspector.draw
    snap = w.history.epochs[-1]
    w.inspector.paste_test_digit(5)
    w.render_views()
    winner = int(np.argmax(activations(snap.weights, snap.biases, fashion_data.test_images[5:6])[-1]))
    assert view.answer.text() == FASHION[winner]
    assert view.pad_note.text() == f"Test item #5, labelled {FASHION[int(fashion_data.test_labels[5])]}."
    qtbot.waitUntil(lambda: ticks(view.bars_plot) == [short_name(k, FASHION) for k in range(10)], timeout=TIMEOUT)
    assert view.test_button.text() == "Paste a test item"
    assert view.not_digits.isVisible() and "not digits" in view.not_digits.text()
    # the big answer has room for the longest name
    fm = view.answer.fontMetrics()
    assert view.answer.width() >= max(fm.horizontalAdvance(n) for n in FASHION)


def test_the_network_tab_and_the_heatmaps_name_the_outputs(qtbot, fashion_window, fashion_data):
    w = fashion_window
    tab = w.network_tab
    w.tabs.setCurrentIndex(tab.index)
    qtbot.waitUntil(lambda: w.tabs.currentWidget() is tab.view, timeout=TIMEOUT)
    tab.render(force=True)
    d = tab.view.diagram
    last = len(d.sizes) - 1
    assert d._output_label(7) == "7 Sneaker" and d._output_label(9) == "9 Boot"
    assert d.describe(last, 9).startswith("output neuron 9 (Ankle boot)")
    out = tab.view.acts[-1]
    assert f"Answer: {FASHION[int(np.argmax(out))]}." in tab.view.digit_label.text()
    assert f"{FASHION[int(fashion_data.test_labels[0])]}." in tab.view.digit_label.text()
    assert tab.view.next_button.text() == "Next item"
    # the heatmaps' outgoing-weight bars
    h = w.heatmaps
    h.select_neuron(0)
    assert ticks(h.bars_plot) == [short_name(k, FASHION) for k in range(10)]
    winner = int(np.argmax(w.history.epochs[-1].weights[1][:, 0]))
    assert h.bars_title.text().endswith(f"it votes most for {FASHION[winner]}")


def test_digits_again_after_digit_data_and_names_again_on_undo(qtbot, fashion_window):
    w = fashion_window
    w.set_speed(2000)                   # (mini-batches a second) the speed controls count items
    assert w.toolbar_speed.label.text() == w.panel.speed.label.text() == "20,000 items/s"
    with qtbot.waitSignal(w.dataReady, timeout=TIMEOUT):
        w.load_data("bundled")          # digits: no class names
    view = errors_tab(qtbot, w)
    train(qtbot, w, 1)
    w.render_views()
    assert texts(view.matrix.row_ticks) == [str(k) for k in range(10)] == ticks(view.class_plot)
    assert texts([view.matrix.side]) == ["true digit"] and view.class_title.text().startswith("Accuracy per digit")
    a = view.analysis
    j = int(view.mistakes.indices[0])
    assert texts(view.mistakes.texts[:1]) == [f"{a.labels[j]}→{a.predicted[j]}"]
    draw = w.inspector.draw
    w.inspector.paste_test_digit(0)
    w.inspector.show_view("draw")
    w.render_views()
    assert draw.answer.text() == str(draw.prediction) and not draw.not_digits.isVisible()
    assert draw.test_button.text() == "Paste a test digit"
    assert w.network_tab.view.diagram.class_names is None and w.network_tab.view.diagram._output_label(7) == "7"
    assert "test digits" in w.panel.data_label.text()
    assert w.toolbar_speed.label.text() == "20,000 digits/s"
    # undo brings back the named data's run, and its names
    assert w.undo_action.isEnabled() and "New data" in w.undo_action.text()
    w.undo_action.trigger()
    qtbot.waitUntil(lambda: w.data.class_names == FASHION, timeout=TIMEOUT)
    assert texts(view.matrix.row_ticks) == list(FASHION) and "test items" in w.panel.data_label.text()


def test_bar_ticks_name_the_classes_where_they_fit_and_number_them_where_not(qtbot, qapp_themed):
    import pyqtgraph as pg

    from nnviz.gui.widgets import set_class_ticks

    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(700, 200)
    w.show()
    plot = w.getPlotItem()
    set_class_ticks(plot, FASHION)
    names = [short_name(k, FASHION) for k in range(10)]
    qtbot.waitUntil(lambda: ticks(plot) == names, timeout=TIMEOUT)
    labels = [s for _, s in plot.getAxis("bottom")._tickLevels[0]]
    assert labels[0] == "T-shirt" and labels[1] == "\nTrouser\n"      # every other one a line lower
    w.resize(160, 200)                                                  # too narrow: the numbers
    qtbot.waitUntil(lambda: ticks(plot) == [str(k) for k in range(10)], timeout=TIMEOUT)
    w.resize(700, 200)
    qtbot.waitUntil(lambda: ticks(plot) == names, timeout=TIMEOUT)
    set_class_ticks(plot, None)                                         # digits
    assert ticks(plot) == [str(k) for k in range(10)]
