"""The η race tab: lanes in lockstep from one start, curves and heatmaps per lane, stopping."""

from __future__ import annotations

import time
from argparse import Namespace

import pytest

from nnviz.core.errors import ConfigError
from nnviz.core.race import BOOK_ETAS
from nnviz.gui.views.race_view import parse_lanes

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


def _race(qtbot, w, lanes: str, epochs: int, vary: str = "eta"):
    r = w.race
    w.tabs.setCurrentWidget(r)
    r.vary.setCurrentIndex(r.vary.findData(vary))
    r.lanes.setText(lanes)
    r.epochs.setValue(epochs)
    with qtbot.waitSignal(r.raceFinished, timeout=TIMEOUT):
        assert r.start()
    assert not r.running and r.controller.thread is None
    r.render()
    return r


def test_parse_lanes():
    assert parse_lanes("eta", "0.001, 3 100") == [0.001, 3.0, 100.0]
    assert parse_lanes("cost", "quadratic, ce") == ["quadratic", "cross-entropy"]
    assert parse_lanes("mini_batch_size", "1,10") == [1, 10]
    for vary, bad in (("eta", "3"), ("eta", "1,2,3,4,5"), ("eta", "3, -1"), ("cost", "quadratic, l1"),
                      ("mini_batch_size", "10, 0"), ("mini_batch_size", "10, x")):
        with pytest.raises(ConfigError):
            parse_lanes(vary, bad)


def test_equal_eta_lanes_produce_identical_histories(qtbot, window):
    r = _race(qtbot, window, "3, 3", epochs=2)
    a, b = r.results
    assert [s.epochs_done for s in a] == [0, 1, 2]
    assert [s.numbers() for s in a] == [s.numbers() for s in b]  # weights, counts, costs: bit for bit
    assert a[-1].test_correct > 0.3 * a[-1].test_total  # and they did learn
    assert len(r.accuracy.curves) == 2


def test_book_preset_races_three_lanes_from_the_same_start(qtbot, window):
    w = window
    w.race.apply_book_preset()
    assert w.race.lanes.text() == "0.001, 3, 100"
    assert parse_lanes("eta", w.race.lanes.text()) == list(BOOK_ETAS)
    r = _race(qtbot, w, w.race.lanes.text(), epochs=2)
    race = r.controller.race
    assert len({c.seed for c in race.configs}) == 1  # one seed: the same weights and the same shuffling
    assert [c.eta for c in race.configs] == list(BOOK_ETAS)
    starts = [lane[0] for lane in r.results]
    assert len({s.weights[0].tobytes() for s in starts}) == 1   # the same initial weights
    assert len({s.test_correct for s in starts}) == 1
    ends = [lane[-1] for lane in r.results]
    assert len({s.weights[0].tobytes() for s in ends}) == 3     # only eta differed, and it mattered
    # one curve per lane, labelled with its eta, each with the untrained point and two epochs
    assert r.labels == ["η = 0.001", "η = 3", "η = 100"]
    assert [c.name() for c in r.accuracy.curves] == r.labels
    for curve in r.accuracy.curves:
        x, y = curve.getData()
        assert list(x) == [0, 1, 2]
    assert len({c.opts["pen"].color().name() for c in r.accuracy.curves}) == 3  # distinct colours
    # the heatmaps side by side: one mosaic per lane, the eta = 3 lane clearly changed
    assert len(r.heatmaps.images) == 3 and all(img.image is not None for img in r.heatmaps.images)
    assert "Best: η = 3" in r.status.text()


def test_stopping_and_closing_mid_race_leave_no_thread(qtbot, make_window):
    w = make_window()
    r = w.race
    r.lanes.setText("0.5, 3")
    r.epochs.setValue(1000)  # far longer than the test
    with qtbot.waitSignal(r.controller.epochFinished, timeout=TIMEOUT,
                          check_params_cb=lambda results: results[0].epochs_done >= 1):
        assert r.start()
    assert r.running and r.start_button.text() == "Stop race"
    assert not r.lanes.isEnabled()  # the lanes are fixed while racing
    t0 = time.perf_counter()
    r.stop()
    assert time.perf_counter() - t0 < 1.0
    assert not r.running and r.controller.thread is None and r.start_button.text() == "Start race"
    done = len(r.results[0])
    qtbot.wait(50)
    assert len(r.results[0]) == done  # nothing arrives after a stop
    # a new race, then the window closes mid-race: every thread ends within a second
    with qtbot.waitSignal(r.controller.epochFinished, timeout=TIMEOUT):
        assert r.start()
    thread = r.controller.thread
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 1.0
    assert not thread.isRunning()


def test_starting_a_race_pauses_training_and_bad_lanes_are_explained(qtbot, window):
    w = window
    w.panel.epochs.setValue(500)
    w.toggle_run()
    assert w.controller.state == "running"
    w.race.lanes.setText("3")
    assert not w.race.start()
    assert w.race.message.isVisibleTo(w.race) and "2 to 4 lanes" in w.race.message.text()
    assert w.race.controller.thread is None
    w.race.lanes.setText("3, 0.3")
    w.race.epochs.setValue(1)
    with qtbot.waitSignal(w.race.raceFinished, timeout=TIMEOUT):
        assert w.race.start()
    assert w.controller.state == "paused"  # the race gets the cores
    assert not w.race.message.isVisibleTo(w.race)


def test_screenshot_of_the_race_view(qtbot, qapp, tmp_path):
    from PySide6.QtGui import QImage

    from nnviz.gui.app import run_app

    out = tmp_path / "race.png"
    assert run_app(Namespace(data=None, screenshot=str(out), epochs=1, view="race", size="1280x720")) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
    colours = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 720, 7)}
    assert len(colours) > 200
