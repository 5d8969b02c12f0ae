"""The Network tab: the diagram for any hidden size, clicking neurons, the neuron editor
(accuracy change, reset, undoable apply), live following, and --view network."""

from __future__ import annotations

from argparse import Namespace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from nnviz.core.analysis import activations, analyse
from nnviz.core.editor import NeuronEdit, apply_edits
from nnviz.gui.app import run_app

TIMEOUT = 10_000


def network_tab(qtbot, w):
    tab = w.network_tab
    w.tabs.setCurrentIndex(tab.index)
    qtbot.waitUntil(lambda: w.tabs.currentWidget() is tab.view, timeout=TIMEOUT)
    tab.render(force=True)
    return tab.view


def train(qtbot, w, epochs):
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.panel.set_values(epochs=epochs)
        w.toggle_run()


def new_network(qtbot, w, hidden):
    w.panel.set_values(hidden=hidden, emit=False)
    w.new_run()
    qtbot.waitUntil(lambda: bool(w.history.epochs) and w.history.epochs[-1].weights[0].shape[0] == hidden[0],
                    timeout=TIMEOUT)


@pytest.mark.parametrize("hidden", [(15,), (30,), (100,), (30, 10)])
def test_the_diagram_draws_any_hidden_size_and_neurons_are_clickable(qtbot, window, small_data, hidden):
    w = window
    new_network(qtbot, w, hidden)
    view = network_tab(qtbot, w)
    d = view.diagram
    assert d.sizes == [784, *hidden, 10]
    qtbot.waitUntil(lambda: d.acts is not None, timeout=TIMEOUT)
    # the activations drawn are the network's for the test digit on show
    snap = w.history.epochs[-1]
    expected = activations(snap.weights, snap.biases, small_data.test_images[:1])
    for got, want in zip(d.acts[1:], expected[1:]):
        np.testing.assert_allclose(got, want[0], rtol=1e-9)
    image = d.grab().toImage()   # paints without error, and paints something
    assert len({image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)}) > 20
    lay = d._layout()
    for l, (c, r) in enumerate(zip(lay.centres, lay.radii), start=1):
        assert len(c) == d.sizes[l] and r >= 3
        # inside the widget, and circles do not overlap
        assert (c[:, 0] - r >= 0).all() and (c[:, 0] + r <= d.width()).all()
        assert (c[:, 1] - r >= 0).all() and (c[:, 1] + r <= d.height()).all()
        gaps = np.hypot(*(c[:, None, :] - c[None, :, :]).transpose(2, 0, 1)) + np.eye(len(c)) * 1e9
        assert gaps.min() >= 2 * r
    # a click on a hidden neuron selects it (in every hidden layer); the tile shows its weights
    for layer in range(1, len(hidden) + 1):
        j = d.sizes[layer] - 2
        qtbot.mouseClick(d, Qt.LeftButton, pos=d.centre(layer, j).toPoint())
        assert view.selected == (layer, j)
        assert f"neuron {j}" in view.neuron_title.text()
        assert f"hidden neuron {j}" in d.describe(layer, j) and "activation" in d.describe(layer, j)
    # an output neuron is not editable: the selection stays
    qtbot.mouseClick(d, Qt.LeftButton, pos=d.centre(len(d.sizes) - 1, 3).toPoint())
    assert view.selected[0] < len(d.sizes) - 1
    assert "output neuron 3" in d.describe(len(d.sizes) - 1, 3)
    # empty space selects nothing new
    assert d.neuron_at(QPoint(2, d.height() - 2)) is None


def test_the_editor_changes_accuracy_and_reset_restores_it(qtbot, window, small_data):
    w = window
    train(qtbot, w, 2)
    view = network_tab(qtbot, w)
    snap = w.history.epochs[-1]
    qtbot.mouseClick(view.rank_button, Qt.LeftButton)
    layer, lost = view.ranking
    j = int(np.argmin(lost))
    assert lost[j] < 0 and "digits lost" in view.rank_label.text()
    view.select(1, j)
    qtbot.mouseClick(view.off_button, Qt.LeftButton)
    assert view.edits == [NeuronEdit(1, j, "off")] and view.edit_list.count() == 1
    before = analyse(snap.weights, snap.biases, small_data.test_images, small_data.test_labels)
    new_w, new_b = apply_edits(snap.weights, snap.biases, view.edits)
    after = analyse(new_w, new_b, small_data.test_images, small_data.test_labels)
    assert view.effect.after.correct == after.correct == before.correct + lost[j]
    np.testing.assert_array_equal(view.effect.after.confusion, after.confusion)
    assert f"neuron {j} off" in view.effect_label.text() and "suffers most" in view.effect_label.text()
    assert "per digit" in view.per_digit_label.text()
    assert (1, j) in view.diagram.off
    # a second edit, then remove one, then reset all
    view.scale.setValue(2.0)
    qtbot.mouseClick(view.scale_button, Qt.LeftButton)
    assert view.edit_list.count() == 2 and "× 2" in view.edit_list.item(1).text()
    view.edit_list.setCurrentRow(1)
    qtbot.mouseClick(view.remove_button, Qt.LeftButton)
    assert view.edits == [NeuronEdit(1, j, "off")]
    qtbot.mouseClick(view.reset_button, Qt.LeftButton)
    assert view.edits == [] and view.edit_list.count() == 0 and not view.diagram.off
    assert view.effect.after.correct == before.correct and "No edits" in view.effect_label.text()
    # the trained weights were never touched
    np.testing.assert_array_equal(w.history.epochs[-1].weights[1], snap.weights[1])


def test_applying_edits_to_the_weights_is_undoable(qtbot, window, small_data):
    w = window
    train(qtbot, w, 1)
    view = network_tab(qtbot, w)
    snap = w.history.epochs[-1]
    view.select(1, 4)
    view.shift.setValue(-5.0)
    qtbot.mouseClick(view.shift_button, Qt.LeftButton)
    view.select(1, 2)
    qtbot.mouseClick(view.off_button, Qt.LeftButton)
    expected_w, expected_b = apply_edits(snap.weights, snap.biases, view.edits)
    undo_count = w.undo_stack.count()
    assert view.apply_button.isEnabled()
    qtbot.mouseClick(view.apply_button, Qt.LeftButton)
    assert w.undo_stack.count() == undo_count + 1 and view.edits == []
    qtbot.waitUntil(lambda: w.inspector.draw._weights is not None
                    and np.array_equal(w.inspector.draw._weights[1], expected_w[1]), timeout=TIMEOUT)
    np.testing.assert_array_equal(w.inspector.draw._biases[0], expected_b[0])
    # the run goes on from the edited weights; the diagram shows them
    network_tab(qtbot, w)
    np.testing.assert_array_equal(view.weights[1], expected_w[1])
    w.undo_stack.undo()
    qtbot.waitUntil(lambda: np.array_equal(w.history.epochs[-1].weights[1], snap.weights[1]), timeout=TIMEOUT)
    network_tab(qtbot, w)
    np.testing.assert_array_equal(view.weights[1], snap.weights[1])


def test_the_diagram_follows_training(qtbot, window):
    w = window
    view = network_tab(qtbot, w)
    first = view.weights
    train(qtbot, w, 2)
    w.render_views()
    np.testing.assert_array_equal(view.weights[0], w.history.epochs[-1].weights[0])
    assert not np.array_equal(view.weights[0], first[0])
    # with an edit, while training runs, the editor's numbers wait for a pause; the diagram follows
    view.select(1, 0)
    qtbot.mouseClick(view.off_button, Qt.LeftButton)
    assert view.effect is not None
    w.set_speed(20)    # mini-batches a second: an epoch of 100 takes 5 s
    w.panel.set_values(epochs=4)
    w.toggle_run()
    qtbot.waitUntil(lambda: view.training and "Pause" in view.effect_label.text(), timeout=TIMEOUT)
    assert view.effect is None and (1, 0) in view.diagram.off
    with qtbot.waitSignal(w.controller.stateChanged, timeout=TIMEOUT):
        w.toggle_run()   # pause
    w.render_views()
    assert not view.training and view.effect is not None and "neuron 0 off" in view.effect_label.text()
    qtbot.mouseClick(view.reset_button, Qt.LeftButton)
    # another test digit is shown at once
    qtbot.mouseClick(view.next_button, Qt.LeftButton)
    assert view.digit_label.text().startswith("#1: a ")
    # the Draw tab's drawing as the input
    w.inspector.paste_test_digit(5)
    view.source.setCurrentIndex(view.source.findData("draw"))
    np.testing.assert_array_equal(view.x, w.inspector.draw.pad.input_image().ravel())


def test_screenshot_of_the_network_view(qtbot, qapp, tmp_path):
    from PySide6.QtGui import QImage

    out = tmp_path / "network.png"
    assert run_app(Namespace(data=None, screenshot=str(out), epochs=1, view="network", size="1280x720")) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
    colours = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 720, 7)}
    assert len(colours) > 200


def test_a_saved_network_keeps_its_neuron_edits(qtbot, window, tmp_path):
    w = window
    train(qtbot, w, 1)
    view = network_tab(qtbot, w)
    edits = [NeuronEdit(1, 3, "off"), NeuronEdit(1, 7, "bias", -2.5)]
    view.set_edits(edits)
    view.render()
    path = tmp_path / "edited.npz"
    assert w.network_files.save(path)
    view.reset_edits()
    w.reset()
    qtbot.waitUntil(lambda: bool(w.history.epochs) and w.history.epochs[-1].epochs_done == 0, timeout=TIMEOUT)
    assert w.network_files.open(path)
    assert view.edits == edits
    network_tab(qtbot, w)
    qtbot.waitUntil(lambda: view.weights is not None and view.sizes == [784, 30, 10], timeout=TIMEOUT)
    view.render()
    assert view.edits == edits and view.edit_list.count() == 2 and (1, 3) in view.diagram.off


def test_the_diagram_exports_as_png_and_svg_from_another_tab(qtbot, window, tmp_path):
    from PySide6.QtGui import QImage

    w = window
    train(qtbot, w, 1)
    w.tabs.setCurrentIndex(0)
    png, svg = tmp_path / "network.png", tmp_path / "network.svg"
    assert w.exports.export_figure("network", png) and w.exports.export_figure("network", svg)
    image = QImage(str(png))
    assert image.width() > 150 and image.height() > 100
    assert len({image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, image.height(), 5)}) > 20
    assert w.network_tab.view.diagram.weights is not None
    assert "<svg" in svg.read_text(encoding="utf-8")
