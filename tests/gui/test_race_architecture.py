"""Race lanes that differ in architecture: hidden size and output coding."""

from __future__ import annotations

import pytest

from nnviz.core.errors import ConfigError
from nnviz.core.training import EpochSnapshot, train
from nnviz.gui.views.race_view import SIZES_DIFFER, parse_lanes

TIMEOUT = 20_000


def _race(qtbot, w, vary: str, lanes: str, epochs: int):
    r = w.race
    w.tabs.setCurrentWidget(r)
    r.vary.setCurrentIndex(r.vary.findData(vary))
    r.lanes.setText(lanes)
    r.epochs.setValue(epochs)
    with qtbot.waitSignal(r.raceFinished, timeout=TIMEOUT):
        assert r.start()
    r.render()
    return r


def test_parse_architecture_lanes():
    assert parse_lanes("hidden", "15, 30, 100") == [(15,), (30,), (100,)]
    assert parse_lanes("hidden", "30+10, 30") == [(30, 10), (30,)]
    assert parse_lanes("outputs", "one-hot, binary") == ["one-hot", "binary"]
    for vary, bad in (("hidden", "15, x"), ("hidden", "15, 0"), ("hidden", "15"), ("outputs", "one-hot, ternary")):
        with pytest.raises(ConfigError):
            parse_lanes(vary, bad)


def test_race_by_hidden_size_matches_solo_runs_and_says_the_starts_differ(qtbot, window, small_data):
    r = _race(qtbot, window, "hidden", "15, 30+10", epochs=2)
    race = r.controller.race
    assert r.labels == ["hidden = 15", "hidden = 30,10"] and not race.shared_start
    for lane, cfg in zip(r.results, race.configs):
        solo = [s for s in train(cfg, small_data) if isinstance(s, EpochSnapshot)]
        assert [s.numbers() for s in lane] == [s.numbers() for s in solo]
    assert SIZES_DIFFER.strip() in r.status.text()
    assert "Race over after 2 epochs" in r.status.text()
    # per-lane heatmaps of each lane's own size, titled with accuracy and seconds per epoch
    assert [img.image.shape for img in r.heatmaps.images][0] != r.heatmaps.images[1].image.shape
    assert all("s/epoch" in t.text for t in r.heatmaps.titles)


def test_race_ten_outputs_against_four(qtbot, window):
    r = _race(qtbot, window, "outputs", "one-hot, binary", epochs=2)
    ten, four = r.results
    assert ten[-1].weights[-1].shape[0] == 10 and four[-1].weights[-1].shape[0] == 4
    assert r.labels == ["10 outputs", "4 outputs (binary)"]
    assert four[-1].test_correct > 2 * four[0].test_correct   # the 4-output network learns too
    assert SIZES_DIFFER.strip() in r.status.text()
