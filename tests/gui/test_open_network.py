"""Opening a saved network shows it (issue 9, item 7): its weights in the heatmaps (no
blank tiles for want of epoch-0 weights), its saved history, and its η markers."""

from __future__ import annotations

import numpy as np

from nnviz.core.history import load_changes

TIMEOUT = 10_000


def test_an_opened_network_shows_its_weights_history_and_markers(qtbot, window, tmp_path):
    w = window
    w.panel.epochs.setValue(2)
    with qtbot.waitSignal(w.controller.progressed, timeout=TIMEOUT, check_params_cb=lambda s: s.batch == 1):
        w.step()
    with qtbot.waitSignal(w.controller.settingChanged, timeout=TIMEOUT):
        w.panel.eta.set_eta(0.5)
        w.step()
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    w.render_views()
    trained_mosaic = w.heatmaps.mosaic.copy()
    path = tmp_path / "net.npz"
    assert w.network_files.save(path)
    assert [(c.name, c.new) for c in load_changes(path)] == [("eta", 0.5)]

    w.reset()
    qtbot.waitUntil(lambda: bool(w.history.epochs) and w.history.epochs[-1].epochs_done == 0, timeout=TIMEOUT)
    assert w.network_files.open(path)
    qtbot.waitUntil(lambda: bool(w.history.epochs) and len(w.history.epochs[-1].weights) > 0, timeout=TIMEOUT)
    w.render_views()
    # the heatmaps show the weights, not their (zero) change since being opened
    mosaic = w.heatmaps.mosaic
    finite = mosaic[np.isfinite(mosaic)]
    assert np.abs(finite).max() > 0.1, "blank tiles"
    assert np.percentile(np.abs(finite), 50) > 0.01
    assert "opened from a file" in w.heatmaps.caption_label.text()
    assert not np.array_equal(mosaic, trained_mosaic)  # that was the change since epoch 0
    # its saved history and its eta marker
    assert list(w.accuracy.test.x) == [0, 1, 2]
    texts = [m.label.textItem.toPlainText() for m in w.accuracy.markers]
    assert texts == ["η = 0.5"] and [m.label.textItem.toPlainText() for m in w.cost.markers] == texts
    assert [(c.name, c.new) for c in w.history.changes] == [("eta", 0.5)]
    # training on from it: the change since then is what the tiles show once more
    w.heatmaps.mode.setCurrentIndex(w.heatmaps.mode.findData("weights"))
    assert "opened" not in w.heatmaps.caption_label.text()
    # a new network is compared with its epoch 0 again
    w.reset()
    qtbot.waitUntil(lambda: bool(w.history.epochs) and w.history.epochs[-1].epochs_done == 0, timeout=TIMEOUT)
    w.heatmaps.mode.setCurrentIndex(w.heatmaps.mode.findData("change"))
    w.render_views()
    assert "opened" not in w.heatmaps.caption_label.text()
    assert np.nanmax(np.abs(w.heatmaps.mosaic)) == 0  # epoch 0 minus itself
    assert not w.accuracy.markers


def test_load_changes_ignores_damaged_or_missing_changes(tmp_path):
    import json

    from nnviz.core.history import save_network
    from nnviz.core.network import Network

    path = tmp_path / "n.npz"
    save_network(path, Network([4, 3, 2], seed=1))
    assert load_changes(path) == []
    with np.load(path) as z:
        files = {k: z[k] for k in z.files}
    for bad in ('[{"name": "eta", "new": -1}]', '{"a": 1}', "not json", json.dumps([{"name": "eta"}] * 3)):
        files["changes"] = np.array(bad)
        np.savez(tmp_path / "bad.npz", **files)
        assert load_changes(tmp_path / "bad.npz") == []
    assert load_changes(tmp_path / "missing.npz") == []
