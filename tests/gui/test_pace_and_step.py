"""The Speed control, slow motion (the Step tab) and their keys, in the window."""

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnviz.gui.controls import DEFAULT_SPEED, SPEED_NOTCHES, speed_text

TIMEOUT = 30_000


def _steps(w):
    """Mini-batches trained so far, as the window last heard."""
    p, e = w._last_progress, w.history.epochs[-1] if w.history.epochs else None
    return max(p.step if p is not None else 0, e.step if e is not None else 0)


def test_the_default_pace_makes_the_books_run_last_at_least_30_seconds(bundled):
    digits = 30 * bundled.n_train          # the book's 30 epochs on the default (bundled) data
    assert digits / (DEFAULT_SPEED * 10) >= 30


def test_a_new_window_starts_at_the_lecture_pace(qtbot, make_window):
    from nnviz.gui.main_window import REMEMBERED

    w = make_window(speed=REMEMBERED)
    assert w.speed == DEFAULT_SPEED
    assert w.controller.controls.speed == DEFAULT_SPEED * 10   # digits a second, mini-batches of 10
    assert w.toolbar_speed.label.text() == speed_text(DEFAULT_SPEED, 10) == "2,000 digits/s"


def test_speed_texts():
    assert speed_text(None, 10) == "max"
    assert speed_text(1, 10) == "1 mini-batch/s · 10 digits/s"
    assert speed_text(5, 10) == "5 mini-batches/s · 50 digits/s"
    assert speed_text(2000, 10) == "20,000 digits/s"
    assert speed_text(5, 10, compact=True) == "5 mini-batches/s"


def test_the_speed_control_changes_the_rate_while_running(qtbot, window):
    w = window
    w.set_speed(10)                       # 10 mini-batches a second
    qtbot.keyClick(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: _steps(w) >= 1, timeout=TIMEOUT)
    s0, t0 = _steps(w), time.monotonic()
    qtbot.waitUntil(lambda: _steps(w) >= s0 + 5, timeout=TIMEOUT)
    slow = (_steps(w) - s0) / (time.monotonic() - t0)
    assert slow <= 10 * 1.25 + 2          # paced: never faster than asked (a busy machine is only slower)
    # max, while running: the next hundreds of mini-batches come at once
    w.toolbar_speed.slider.setValue(w.toolbar_speed.slider.maximum())
    assert w.speed is None and w.controller.controls.speed is None
    assert w.panel.speed.label.text() == "max"   # both controls follow
    s1, t1 = _steps(w), time.monotonic()
    qtbot.waitUntil(lambda: _steps(w) >= s1 + 150 or bool(len(w.history.epochs) > 1), timeout=TIMEOUT)
    fast = (_steps(w) - s1) / (time.monotonic() - t1)
    assert fast > slow
    w.stop()


def test_bracket_keys_slow_down_and_speed_up_from_a_focused_spin_box(qtbot, window):
    w = window
    w.set_speed(200)
    qtbot.keyClick(w, Qt.Key_BracketLeft)
    assert w.speed == 100 and w.controller.controls.speed == 1000
    qtbot.keyClick(w, Qt.Key_BracketRight)
    qtbot.keyClick(w, Qt.Key_BracketRight)
    assert w.speed == 500
    for _ in range(len(SPEED_NOTCHES)):
        qtbot.keyClick(w, Qt.Key_BracketRight)
    assert w.speed is None and w.toolbar_speed.label.text() == "max"
    for _ in range(len(SPEED_NOTCHES) + 2):
        qtbot.keyClick(w, Qt.Key_BracketLeft)
    assert w.speed == 1 and w.controller.controls.speed == 10


def test_the_pace_follows_the_mini_batch_size(qtbot, window):
    w = window
    w.set_speed(5)
    w.panel.batch.setValue(20)
    assert w.controller.controls.speed == 100
    assert "100 digits/s" in w.panel.speed.label.text()


def test_at_a_slow_pace_the_step_tab_shows_every_step(qtbot, window):
    w = window
    w.set_speed(5)
    assert "Step tab" in w.statusBar().currentMessage()
    w.tabs.setCurrentIndex(w.step_tab)
    qtbot.keyClick(w, Qt.Key_Space)
    v = w.step_view
    qtbot.waitUntil(lambda: v.shown >= 2, timeout=TIMEOUT)
    w.controller.pause()
    v.render()            # a record may have arrived since the last frame
    r = v.record
    assert v.thumbs_shown == r.m == 10
    assert v.cost_before.text() == f"{r.cost_before:.4f}" and v.cost_after.text() == f"{r.cost_after:.4f}"
    assert v.mosaic(0) is not None and v.mosaic(0).shape == v.mosaic(1).shape
    wrong = [t.wrong for t in v.thumbs[:r.m]]
    assert wrong == list(r.predictions_before != r.labels)
    # the heatmaps follow the step too (the paused run's own sample of its weights is equal)
    qtbot.waitUntil(lambda: w.heatmaps._weights is not None
                    and np.array_equal(w.heatmaps._weights[0], w.step_view.record.weights[0]), timeout=TIMEOUT)


def test_n_shows_the_step_view(qtbot, window):
    w = window
    assert w.tabs.currentIndex() == 0 and w.step_view.record is None
    qtbot.keyClick(w, Qt.Key_N)
    assert w.tabs.currentIndex() == w.step_tab
    qtbot.waitUntil(lambda: w.step_view.shown >= 1, timeout=TIMEOUT)
    r = w.step_view.record
    assert (r.epoch, r.batch, r.m) == (0, 0, 10)
    assert w.step_view.thumbs_shown == 10
    assert "mini-batch 1" in w.step_view.where.text()
    # at full speed the run records nothing more
    qtbot.keyClick(w, Qt.Key_Space)
    qtbot.waitUntil(lambda: len(w.history.epochs) >= 2, timeout=TIMEOUT)
    assert w.step_view.record is r
    w.stop()


def test_the_speed_is_remembered(qtbot, make_window):
    from nnviz.gui.app import open_settings
    from nnviz.gui.main_window import REMEMBERED

    w = make_window(settings=open_settings(), speed=REMEMBERED)
    w.set_speed(2)
    w.close()
    w2 = make_window(settings=open_settings(), speed=REMEMBERED, wait_ready=False)
    assert w2.speed == 2 and w2.toolbar_speed.speed == 2
    w2.set_speed(None)
    w2.close()
    w3 = make_window(settings=open_settings(), speed=REMEMBERED, wait_ready=False)
    assert w3.speed is None


def test_the_step_view_exports_as_png_and_svg(qtbot, window, tmp_path):
    w = window
    qtbot.keyClick(w, Qt.Key_N)
    qtbot.waitUntil(lambda: w.step_view.shown >= 1, timeout=TIMEOUT)
    for name in ("step.png", "step.svg"):
        assert w.exports.export_figure("step", tmp_path / name)
        assert (tmp_path / name).stat().st_size > 5_000


def test_m_goes_to_max_and_back(qtbot, window):
    w = window
    w.set_speed(20)
    w.panel.epochs.setFocus()          # keys act whatever has focus
    qtbot.keyClick(w.panel.epochs, Qt.Key_M)
    assert w.speed is None and w.controller.controls.speed is None and w.max_speed_action.isChecked()
    qtbot.keyClick(w, Qt.Key_M)
    assert w.speed == 20 and w.controller.controls.speed == 200 and not w.max_speed_action.isChecked()


def test_the_window_says_when_it_prepares_the_training_kernel(qtbot, make_window, monkeypatch):
    monkeypatch.setattr("nnviz.gui.worker._warmed", set())   # as in a new process
    w = make_window(wait_ready=False)
    seen = []
    w.controller.preparing.connect(lambda on: seen.append((on, w.status_state.text())))
    with qtbot.waitSignal(w.dataReady, timeout=TIMEOUT):
        w.start()
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=TIMEOUT)
    assert seen[0] == (True, "preparing…") and seen[1][0] is False and seen[1][1] != "preparing…"
    qtbot.keyClick(w, Qt.Key_N)        # and then trains at once
    qtbot.waitUntil(lambda: w.step_view.shown >= 1, timeout=TIMEOUT)


def test_a_new_paused_run_leaves_the_kernel_alone_until_it_is_needed(qtbot, make_window, monkeypatch):
    """The first second of a new, paused run belongs to the window (its first frames): the
    kernel loads after it, or at once when the run is asked for; a window closed before
    then never loads it (closing does not wait for a compiler)."""
    loads = []
    monkeypatch.setattr("nnviz.gui.worker._warmed", set())
    monkeypatch.setattr("nnviz.gui.worker.WARM_UP_DELAY", 1000.0)   # longer than any test
    monkeypatch.setattr("nnviz.gui.worker.warm_up", lambda dtype: loads.append(dtype))
    w = make_window()
    w.close()                      # returns: the stop woke the waiting worker
    assert w.controller.state == "idle" and loads == []

    w2 = make_window()
    seen = []
    w2.controller.preparing.connect(seen.append)
    qtbot.keyClick(w2, Qt.Key_N)   # asked for: it loads now, then trains the mini-batch
    qtbot.waitUntil(lambda: w2.step_view.shown >= 1, timeout=TIMEOUT)
    assert loads == ["float64"] and seen == [True, False]
