"""The Labs tab: each lab opens, reacts to its controls and fits 1280x720; the cost
surface is computed off the GUI thread and agrees with the network's own cost."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from nnviz.core.labs.descent import TOY_COSTS
from nnviz.core.network import Network
from nnviz.gui.labs import PAGES
from nnviz.gui.labs.neuron_lab import BAD, GOOD

TIMEOUT = 20000


def open_lab(w, name):
    w.tabs.setCurrentIndex(w.labs.tab_index)
    w.labs.show_page(name)
    return getattr(w.labs, name)


def test_labs_is_one_tab_with_a_page_per_lab(window):
    w = window
    titles = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    assert titles.count("Labs") == 1 and w.tabs.tabText(w.labs.tab_index) == "Labs"
    assert [w.labs.tabs.tabText(i) for i in range(w.labs.tabs.count())] == list(PAGES.values())


@pytest.mark.parametrize("name", list(PAGES))
def test_each_lab_fits_1280x720_without_scrolling_and_is_captioned(qtbot, window, name):
    w = window
    lab = open_lab(w, name)
    qtbot.waitUntil(lambda: lab.isVisible())
    area = w.labs.pages[name]
    # once laid out, no scroll bars: everything is on screen at once
    qtbot.waitUntil(lambda: not area.verticalScrollBar().isVisible() and not area.horizontalScrollBar().isVisible())
    viewport = area.viewport().size()
    assert w.minimumSizeHint().width() <= 1280 and w.minimumSizeHint().height() <= 720
    assert lab.minimumSizeHint().width() <= viewport.width()
    assert lab.heightForWidth(viewport.width()) <= viewport.height()
    assert len(lab.caption.text()) > 200        # the book's words under the lab
    for child in lab.findChildren(type(lab.caption)):   # no label cut off on the right
        if child.isVisible() and not child.wordWrap():
            assert child.width() >= child.minimumSizeHint().width()


def test_the_neuron_lab_computes_nand_and_shows_the_rows_a_weight_breaks(qtbot, window):
    lab = open_lab(window, "neuron")
    lab.apply_preset("NAND")
    t = lab.truth
    assert [t.item(i, 2).text() for i in range(4)] == ["1", "1", "1", "0"]
    assert all(t.item(i, 0).foreground().color() == GOOD for i in range(4))
    lab.w_spins[0].setValue(-4.0)                   # input 10 now gives z = -1: wrong for NAND
    colours = [t.item(i, 0).foreground().color() for i in range(4)]
    assert colours == [GOOD, GOOD, BAD, GOOD]
    assert "wrong" in lab.adder_note.text()         # the adder's gates are this neuron too
    lab.apply_preset("NAND")
    assert lab.adder_note.text() == "The circuit adds correctly."
    assert [lab.adder_table.item(i, 3).text() for i in range(4)] == ["0", "1", "1", "2"]
    lab.apply_preset("OR")
    assert lab.gate_combo.currentText() == "OR" and [t.item(i, 2).text() for i in range(4)] == ["0", "1", "1", "1"]


def test_the_neuron_lab_switches_to_a_sigmoid_neuron_with_three_inputs(qtbot, window):
    lab = open_lab(window, "neuron")
    lab.apply_preset("NAND")
    assert "output = <b>0</b>" in lab.z_label.text()           # x = 11: z = -1, a perceptron says 0
    lab.sigmoid_button.setChecked(True)
    assert "output = <b>0.2689</b>" in lab.z_label.text()      # σ(-1)
    assert lab.marker.data["y"][0] == pytest.approx(1 / (1 + np.e))
    lab.inputs_combo.setCurrentIndex(1)
    assert lab.truth.rowCount() == 8 and lab.adder_table.rowCount() == 0
    assert lab.param_combo.count() == 4                        # w1, w2, w3, b
    lab.x_spins[0].setValue(0.35)                              # a sigmoid neuron takes 0…1
    assert lab.inputs()[0] == pytest.approx(0.35)


def test_a_small_change_flips_the_perceptron_and_barely_moves_the_sigmoid(qtbot, window):
    lab = open_lab(window, "neuron")
    lab.apply_preset("NAND")                                   # x = 11, z = -1
    lab.param_combo.setCurrentIndex(0)
    lab.delta_spin.setValue(0.5)
    assert "it stays" in lab.change_label.text()
    lab.delta_spin.setValue(1.5)                                # z = +0.5: the perceptron flips
    assert "it flips" in lab.change_label.text()
    x, y = lab.change_sigmoid.getData()
    assert np.all(np.diff(y) > 0) and np.max(np.abs(y)) < 1     # smooth, monotonic, never a jump of 1
    _, s = lab.change_step.getData()
    assert set(np.unique(s)) == {0.0, 1.0}
    lab.half_button.click()
    assert lab.delta_spin.value() == pytest.approx(0.75)


def test_the_descent_lab_steps_downhill_from_a_clicked_point(qtbot, window):
    w = window
    lab = open_lab(w, "descent")
    qtbot.waitUntil(lambda: lab.plot.isVisible())
    lab.set_cost("bowl")
    vb = lab.plot.getPlotItem().getViewBox()
    target = vb.mapViewToScene(pg_point(1.5, -2.0))
    pos = lab.plot.mapFromScene(target)
    qtbot.mouseClick(lab.plot.viewport(), Qt.LeftButton, pos=QPoint(int(pos.x()), int(pos.y())))
    assert len(lab.path) == 1
    np.testing.assert_allclose(lab.position, [1.5, -2.0], atol=0.05)
    before = TOY_COSTS["bowl"].cost(lab.position)
    lab.step_button.click()
    assert len(lab.path) == 2 and TOY_COSTS["bowl"].cost(lab.position) < before
    assert lab.readout.text().startswith("step 1:")


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_too_large_an_eta_diverges_on_the_valley_and_reset_starts_again(qtbot, window):
    lab = open_lab(window, "descent")
    lab.set_cost("valley")
    lab.set_eta(0.12)                                          # > 2/λ_max = 0.1
    assert "diverges" in lab.eta_note.text()
    lab.run_button.click()
    qtbot.waitUntil(lambda: not lab.run_button.isChecked(), timeout=TIMEOUT)
    assert lab.status == "diverged" and "diverged" in lab.readout.text()
    start = lab.path[0].copy()
    lab.reset_button.click()
    assert len(lab.path) == 1 and np.array_equal(lab.path[0], start)
    assert len(lab.old_paths) >= 1                             # the diverged path stays, faded
    lab.set_eta(0.05)
    assert "overshoots" in lab.eta_note.text() or "downhill" in lab.eta_note.text()
    lab.eta_slider.setValue(0)
    assert lab.eta == pytest.approx(0.001)


def test_the_cost_surface_of_the_run_is_computed_in_the_background(qtbot, window, small_data):
    w = window
    w.panel.epochs.setValue(3)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    lab = open_lab(w, "surface")
    lab.grid_combo.setCurrentIndex(0)                          # 21 x 21
    lab.examples_spin.setValue(300)
    with qtbot.waitSignal(lab.surfaceReady, timeout=TIMEOUT) as blocker:
        assert lab.compute()
        assert not lab.compute_button.isEnabled()              # busy: the window is not
    s = blocker.args[0]
    assert s.costs.shape == (21, 21) and s.plane.kind == "pca" and list(s.epochs) == [0, 1, 2, 3]
    assert lab.progress.value() == lab.progress.maximum() == 21 and lab.compute_button.isEnabled()
    # the end of the path is the run's last network: its own total cost on the same digits
    last = w.inspector.timeline.latest
    net = Network([784, 30, 10])
    net.weights, net.biases = last.weights, last.biases
    assert s.path_costs[-1] == pytest.approx(net.total_cost(small_data.train_images[:300],
                                                            small_data.train_labels[:300]), rel=1e-9)
    assert "23,860 dimensions" in lab.honest.text() and "slice" in lab.honest.text()
    assert len(lab.path_curve.getData()[0]) == 4
    lab.plane_combo.setCurrentIndex(lab.plane_combo.findData("random"))
    with qtbot.waitSignal(lab.surfaceReady, timeout=TIMEOUT) as blocker:
        lab.compute()
    assert blocker.args[0].plane.kind == "random"


def test_pca_needs_three_epochs_and_says_so(qtbot, window):
    lab = open_lab(window, "surface")
    with qtbot.waitSignal(lab.surfaceFailed, timeout=TIMEOUT) as blocker:
        assert not lab.compute()
    assert "3 or more" in blocker.args[0] and "random" in blocker.args[0]


def test_a_saved_network_can_be_sliced(qtbot, window, tmp_path):
    w = window
    path = tmp_path / "net.npz"
    assert w.network_files.save(path)
    lab = open_lab(w, "surface")
    assert lab.open_network(str(path))
    assert lab.source_combo.currentText() == "net.npz" and lab.plane_combo.currentData() == "random"
    lab.grid_combo.setCurrentIndex(0)
    lab.examples_spin.setValue(200)
    with qtbot.waitSignal(lab.surfaceReady, timeout=TIMEOUT):
        lab.compute()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a network")
    with qtbot.waitSignal(lab.surfaceFailed, timeout=TIMEOUT):
        assert not lab.open_network(str(bad))


def test_closing_the_window_mid_computation_cancels_it(qtbot, make_window):
    w = make_window()
    w.panel.epochs.setValue(3)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    lab = open_lab(w, "surface")
    lab.grid_combo.setCurrentIndex(2)
    lab.examples_spin.setValue(1000)
    with qtbot.waitSignal(lab.progress.valueChanged, timeout=TIMEOUT):
        lab.compute()
    w.close()
    assert lab.pool.activeThreadCount() == 0 and lab._cancel.is_set()


@pytest.mark.parametrize("view", ["neuron", "descent", "surface"])
def test_screenshot_of_each_lab(qtbot, qapp_themed, tmp_path, monkeypatch, view):
    from argparse import Namespace

    from PySide6.QtGui import QImage

    from nnviz.gui import app
    from nnviz.gui.labs import LabsView

    shown = []
    base = LabsView.prepare_screenshot

    def spy(self, name, done):
        def check_then_done():
            shown.append((name, self.tabs.currentWidget() is self.pages[name],
                          self.window().tabs.currentWidget() is self,
                          self.surface.surface is not None))
            done()
        base(self, name, check_then_done)

    monkeypatch.setattr(LabsView, "prepare_screenshot", spy)
    out = tmp_path / f"{view}.png"
    assert app.run_app(Namespace(data=None, screenshot=str(out), epochs=0, view=view, size="1280x720")) == 0
    assert shown == [(view, True, True, view == "surface")]   # the surface: computed before the grab
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
