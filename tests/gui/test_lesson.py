"""Lesson recipes: a live session with η and cost changes recorded in the window, replayed
headless and in the window with the same numbers; cost changes marked like η changes;
malformed recipes refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from nnviz.core.recipe import load_recipe, replay
from nnviz.core.training import EpochSnapshot

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


def _marker_texts(plot):
    """Each change's own label (changes close together share one marker, see test_plots.py)."""
    from nnviz.gui.views.plots import _merged_label

    return [_merged_label([c]) for m in plot.markers for c in m.changes]


def _live_session(qtbot, w):
    """3 epochs with: a single step, η = 0.5, a paused epoch step, cross-entropy, running, η = 2.

    Each change is made while training is paused or cannot have finished yet (a change made
    while it runs would race the end of the run on a busy machine); each takes effect
    at the next mini-batch, so the recording is the same, however fast the machine."""
    w.panel.epochs.setValue(3)
    with qtbot.waitSignal(w.controller.progressed, timeout=TIMEOUT, check_params_cb=lambda s: s.batch == 1):
        w.step()
    with qtbot.waitSignal(w.controller.settingChanged, timeout=TIMEOUT):
        w.panel.eta.set_eta(0.5)
        w.step()
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT,
                          check_params_cb=lambda s: s.epochs_done == 1):
        w.step_epoch()
    with qtbot.waitSignal(w.controller.settingChanged, timeout=TIMEOUT,
                          check_params_cb=lambda c: c.name == "cost"):
        w.panel.cost.setCurrentIndex(w.panel.cost.findData("cross-entropy"))
        w.step()
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        with qtbot.waitSignal(w.controller.settingChanged, timeout=TIMEOUT,
                              check_params_cb=lambda c: c.name == "eta" and c.new == 2.0):
            w.panel.eta.set_eta(2.0)
            w.toggle_run()


def test_a_recorded_session_replays_headless_with_the_same_numbers(qtbot, window, small_data, tmp_path):
    w = window
    _live_session(qtbot, w)
    live = [(e.epochs_done, e.test_correct) for e in w.history.epochs]
    assert [d for d, _ in live] == [0, 1, 2, 3]
    path = tmp_path / "lesson.json"
    assert w.lesson.save(path)
    recipe = load_recipe(path)
    assert recipe.data == "bundled" and recipe.config.seed == 1 and recipe.config.epochs == 3
    changes = [(e.name, e.value) for e in recipe.events if e.name in ("eta", "cost")]
    assert changes == [("eta", 0.5), ("cost", "cross-entropy"), ("eta", 2.0)]
    assert [e.step for e in recipe.events if e.name == "eta"][0] == 1  # before the second mini-batch
    pacing = [e.name for e in recipe.events if e.name in ("pause", "resume", "step")]
    assert "step" in pacing and "pause" in pacing and "resume" in pacing
    replayed = [(s.epochs_done, s.test_correct) for s in replay(recipe, small_data) if isinstance(s, EpochSnapshot)]
    assert replayed == live
    # the cost change is marked on both plots like an eta change, and labelled
    w.render_views()
    for plot in (w.accuracy, w.cost):
        assert _marker_texts(plot) == ["η = 0.5", "cross-entropy cost", "η = 2"]


def test_a_recipe_replays_in_the_window_with_the_same_numbers(qtbot, window, small_data, tmp_path):
    w = window
    _live_session(qtbot, w)
    live = [e.numbers() for e in w.history.epochs]
    path = tmp_path / "lesson.json"
    assert w.lesson.save(path)
    w.reset()
    holds = []
    player = w.lesson.play(load_recipe(path), pause_scale=0.01)
    player.held.connect(lambda step, seconds: holds.append(step))
    with qtbot.waitSignal(player.finished, timeout=TIMEOUT):
        pass
    assert [e.numbers() for e in w.history.epochs] == live  # bit for bit, weights included
    assert holds  # the recorded pauses and steps were played as holds
    w.render_views()
    assert _marker_texts(w.accuracy) == ["η = 0.5", "cross-entropy cost", "η = 2"]
    assert w.panel.epochs.value() == 3 and w.panel.seed.value() == 1


def test_malformed_recipes_are_refused_with_a_dialog(qtbot, window, tmp_path):
    w = window
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "nnviz-recipe-1", "data": "bundled", "config": {"seed": 1},
                               "events": [{"step": 5, "name": "eta", "value": -1}]}))
    state = w.controller.state
    assert not w.lesson.open(bad)
    assert w.error_box is not None and "not a valid nnviz lesson recipe" in w.error_box.text()
    assert "eta must be a positive number" in w.error_box.text()
    assert w.controller.state == state and w.lesson.player is None
    w.error_box.close()
    (tmp_path / "junk.json").write_text("{not json")
    assert not w.lesson.open(tmp_path / "junk.json")
    assert "not JSON" in w.error_box.text()


def test_a_run_from_an_opened_network_is_not_saved_as_a_lesson(qtbot, window, tmp_path):
    w = window
    w.panel.epochs.setValue(1)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    assert w.network_files.save(tmp_path / "n.npz") and w.network_files.open(tmp_path / "n.npz")
    assert not w.lesson.save(tmp_path / "l.json")
    assert "opened" in w.error_box.text() and not (tmp_path / "l.json").exists()


def test_cli_replay_of_a_malformed_recipe_is_one_line_and_status_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NNVIZ_SETTINGS_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "nnviz", "replay", str(bad)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a valid nnviz lesson recipe" in lines[0]


def test_holds_from_pacing_events():
    from nnviz.core.recipe import Event, Recipe
    from nnviz.core.training import TrainConfig
    from nnviz.gui.dialogs.lesson import PAUSE_SECONDS, STEP_SECONDS, holds_from

    recipe = Recipe("bundled", TrainConfig(seed=1).validated(),
                    [Event(3, "step"), Event(4, "step"), Event(4, "pause"), Event(9, "resume"), Event(9, "eta", 1.0)])
    assert holds_from(recipe) == {3: STEP_SECONDS, 4: STEP_SECONDS + PAUSE_SECONDS}
