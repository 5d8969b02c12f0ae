"""The time slider: rewinding the whole dashboard, branching, and the history's memory cap."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnviz.core.analysis import activations
from nnviz.core.training import EpochSnapshot

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


def _train(qtbot, w, epochs: int) -> list[EpochSnapshot]:
    """Run ``epochs`` epochs; the run's epoch snapshots, whole (weights included)."""
    snaps = _collect(w)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.panel.set_values(epochs=epochs)
        w.toggle_run()
    qtbot.waitUntil(lambda: w.inspector.idle() and epochs in w.inspector.analyses, timeout=TIMEOUT)
    w.controller.epochFinished.disconnect(snaps.append)
    return w.history.epochs[:1] + snaps


def _collect(w) -> list[EpochSnapshot]:
    snaps: list[EpochSnapshot] = []
    w.controller.epochFinished.connect(snaps.append)
    return snaps


def test_rewinding_shows_exactly_that_epoch_everywhere(qtbot, window, small_data):
    w = window
    snaps = _train(qtbot, w, 4)
    ins = w.inspector
    k = 2
    snap = snaps[k]
    assert snap.epochs_done == k
    ins.paste_test_digit(5)
    ins.analyses.pop(k)  # not cached: the errors view must have it computed again
    ins.bar.slider.setValue(k)  # the user drags the slider
    assert ins.shown == k and not ins.live
    # cards: that epoch's numbers
    assert w.cards["accuracy"].value.text() == f"{100 * snap.test_accuracy:.1f} %"
    assert w.cards["epoch"].value.text() == f"{k} / 4"
    # heatmap: that epoch's weights
    np.testing.assert_array_equal(w.heatmaps._weights[0], snap.weights[0])
    # curves: a cursor at k
    assert all(line.isVisible() and line.value() == k for line in ins.cursors)
    # the draw pad: that epoch's answer
    ins.show_view("draw")
    w.render_views()
    expected = activations(snap.weights, snap.biases, small_data.test_images[5:6])[-1][0]
    np.testing.assert_allclose(ins.draw.output, expected, rtol=1e-9)
    assert "after epoch 2" in ins.draw.weights_note.text()
    # the confusion matrix: that epoch's, computed again off the GUI thread
    ins.show_view("errors")
    qtbot.waitUntil(lambda: k in ins.analyses, timeout=TIMEOUT)
    w.render_views()
    assert np.trace(ins.errors.matrix.confusion) == snap.test_correct
    assert ins.errors.matrix.confusion.sum() == snap.test_total
    assert "after epoch 2" in ins.errors.title.text()
    # saturation: a cursor and that epoch's numbers
    ins.show_view("saturation")
    w.render_views()
    assert "After epoch 2" in ins.saturation.summary.text()
    # Left / Right step through the epochs while paused
    w.activateWindow()
    w.setFocus()
    qtbot.keyClick(w, Qt.Key_Left)
    assert ins.shown == 1
    np.testing.assert_array_equal(w.heatmaps._weights[0], snaps[1].weights[0])
    qtbot.keyClick(w, Qt.Key_Right)
    qtbot.keyClick(w, Qt.Key_Right)
    assert ins.shown == 3
    qtbot.keyClick(w, Qt.Key_Right)  # past the last epoch: live again
    assert ins.live and not any(line.isVisible() for line in ins.cursors)
    w.render_views()
    assert w.cards["accuracy"].value.text() == f"{100 * snaps[-1].test_accuracy:.1f} %"
    np.testing.assert_array_equal(w.heatmaps._weights[0], snaps[-1].weights[0])


def test_continue_from_an_earlier_epoch_reproduces_the_run_and_keeps_the_old_branch(qtbot, window):
    w = window
    original = _train(qtbot, w, 4)
    ins = w.inspector
    ins.show_epoch(2)
    assert ins.bar.continue_button.isEnabled()
    again = _collect(w)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        qtbot.mouseClick(ins.bar.continue_button, Qt.LeftButton)
    assert ins.live
    assert [e.epochs_done for e in w.history.epochs] == [0, 1, 2, 3, 4]
    # the window keeps whole snapshots for the latest epoch only: the Timeline has the rest
    assert all(e.weights == () for e in w.history.epochs[:-1]) and w.history.epochs[-1].weights
    # same seed, no changes: epochs 3 and 4 come out exactly as before, weights included
    assert [e.epochs_done for e in again][-2:] == [3, 4]
    for snap in again[-2:]:
        assert snap.numbers() == original[snap.epochs_done].numbers()
    assert ins.timeline.branched_at == 2 and ins.timeline.epochs() == [0, 1, 2, 3, 4]
    # the old branch stays on the plots, faded
    assert len(ins.faded) == 2
    (acc, acc_plot), (cost, cost_plot) = ins.faded
    assert acc in w.accuracy.plot.items and cost in w.cost.plot.items
    x, y = acc.getData()
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(y, [100 * s.test_accuracy for s in original])
    assert acc.opts["pen"].color().alpha() < 128
    # ... and the live curve is the new branch's
    w.render_views()
    np.testing.assert_array_equal(w.accuracy.test.x, [0, 1, 2, 3, 4])
    # Reset forgets both
    w.reset()
    assert not ins.faded and acc not in w.accuracy.plot.items


def test_the_timeline_holds_every_epochs_exact_weights(qtbot, window):
    """Only the Timeline (capped) keeps earlier epochs' weights, in the run's precision:
    rewinding and continuing use them, exactly."""
    w = window
    original = _train(qtbot, w, 3)
    ins = w.inspector
    for k in range(4):
        weights, biases, exact, used = ins.params_at(k)
        assert exact and used == k and weights[0].dtype == np.float64
        for a, b in zip(weights + biases, original[k].weights + original[k].biases):
            np.testing.assert_array_equal(a, b)
    assert w.history.epochs[1].weights == ()


def _synthetic(k: int, rng) -> EpochSnapshot:
    def frozen(a):
        a.flags.writeable = False
        return a
    return EpochSnapshot(
        epochs_done=k, test_correct=int(rng.integers(0, 300)), test_total=300, validation_correct=0,
        validation_total=0, training_cost=float(rng.random()), test_cost=float(rng.random()), seconds=0.01,
        eta=3.0, cost="quadratic", step=100 * k,
        weights=(frozen(rng.standard_normal((30, 784))), frozen(rng.standard_normal((10, 30)))),
        biases=(frozen(rng.standard_normal((30, 1))), frozen(rng.standard_normal((10, 1)))))


@pytest.mark.parametrize("cap_mib", [64, 2])
def test_a_100_epoch_history_stays_within_its_cap(qtbot, window, cap_mib):
    w = window
    ins = w.inspector
    ins.cap_bytes = cap_mib * 2**20
    w.new_run()   # a new run starts a timeline with that cap
    qtbot.waitUntil(lambda: len(ins.timeline) == 1, timeout=TIMEOUT)  # the untrained network
    rng = np.random.default_rng(0)
    snaps = [_synthetic(k, rng) for k in range(1, 101)]
    for snap in snaps:
        w._on_epochFinished(snap)
    qtbot.waitUntil(ins.idle, timeout=TIMEOUT)
    tl = ins.timeline
    per_epoch = (784 * 30 + 30 + 30 * 10 + 10) * 8   # float64
    assert len(tl) == 101 and tl.cap_bytes == cap_mib * 2**20
    assert tl.nbytes <= tl.cap_bytes
    w.render_views()
    tip = ins.bar.slider.toolTip()
    assert f"capped at {cap_mib} MiB" in tip and "186 KiB in float64" in tip
    assert ins.bar.slider.maximum() == 100
    if cap_mib == 64:  # the book's network in float64: 100 epochs fit, all kept
        assert tl.nbytes == 101 * per_epoch and tl.stride == 1
        return
    assert tl.stride > 1 and len(tl.epochs_with_weights()) < 101
    # rewinding to a thinned-out epoch shows the nearest kept one, and says so
    thinned = next(k for k in range(1, 100) if not tl.at(k).has_weights)
    ins.show_epoch(thinned)
    near = tl.nearest(thinned)
    np.testing.assert_array_equal(w.heatmaps._weights[0], near.weights[0])
    assert "thinned" in ins.draw.note
    assert w.cards["accuracy"].value.text() == f"{100 * tl.at(thinned).test_accuracy:.1f} %"
