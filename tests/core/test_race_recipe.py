"""Lockstep races and lesson recipes (record, replay, refuse malformed ones)."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from nnviz.core.data import Dataset
from nnviz.core.errors import ConfigError, DataError
from nnviz.core.history import History
from nnviz.core.race import BOOK_ETAS, Race, race_configs
from nnviz.core.recipe import RecipeRecorder, load_recipe, parse_recipe, replay
from nnviz.core.training import Controls, EpochSnapshot, ProgressSnapshot, TrainConfig, train


@pytest.fixture(scope="module")
def small(bundled):
    return Dataset(name="small", train_images=bundled.train_images[:800], train_labels=bundled.train_labels[:800],
                   test_images=bundled.test_images[:500], test_labels=bundled.test_labels[:500])


def test_race_lanes_share_start_and_shuffling(small):
    race = Race(race_configs(TrainConfig(epochs=2, seed=3), etas=[3.0, 3.0, 0.5]), small)
    rounds = list(race.epochs())
    assert len(rounds) == 3 and all(len(r) == 3 for r in rounds)
    first = rounds[0]
    for lane in first[1:]:  # identical initial weights
        for a, b in zip(lane.weights + lane.biases, first[0].weights + first[0].biases):
            np.testing.assert_array_equal(a, b)
    # equal eta -> identical histories; a different eta -> a different one
    for r in rounds:
        assert r[0].numbers() == r[1].numbers()
    assert rounds[-1][2].numbers() != rounds[-1][0].numbers()
    assert race.labels == ["η = 3", "η = 3", "η = 0.5"]


def test_race_matches_solo_runs(small):
    cfgs = race_configs(TrainConfig(epochs=2, seed=4), etas=BOOK_ETAS)
    rounds = list(Race(cfgs, small).epochs())
    for i, cfg in enumerate(cfgs):
        solo = [s for s in train(cfg, small) if isinstance(s, EpochSnapshot)]
        assert [r[i].numbers() for r in rounds] == [s.numbers() for s in solo]
    # the book's three learning rates tell their story even on a small set
    last = rounds[-1]
    assert last[1].test_correct > last[0].test_correct and last[1].test_correct > last[2].test_correct


def test_race_by_cost_and_batch_size_and_refusals(small):
    rounds = list(Race(race_configs(TrainConfig(epochs=1, seed=5), costs=["quadratic", "cross-entropy"]), small).epochs())
    assert [s.cost for s in rounds[-1]] == ["quadratic", "cross-entropy"]
    rounds = list(Race(race_configs(TrainConfig(epochs=1, seed=5), batch_sizes=[10, 50]), small).epochs())
    assert [s.step for s in rounds[-1]] == [80, 16]
    with pytest.raises(ConfigError):
        Race([TrainConfig()], small)
    with pytest.raises(ConfigError):   # hidden sizes may differ (an architecture race), inputs not
        Race([TrainConfig(sizes=(784, 30, 10)), TrainConfig(sizes=(196, 30, 10))], small)
    with pytest.raises(ConfigError):
        race_configs(TrainConfig(), etas=[1, 2], costs=["quadratic"])


def test_race_can_be_stopped(small):
    race = Race(race_configs(TrainConfig(epochs=50, seed=6), etas=[1.0, 2.0]), small)
    seen = 0
    for _ in race.epochs():
        seen += 1
        if seen == 2:
            race.stop()
    assert seen <= 3


def record_live_run(small, cfg):
    """A run whose eta and cost change live, as a GUI user would, recorded."""
    recorder = RecipeRecorder("bundled", cfg)
    controls = Controls(eta=cfg.eta, cost=cfg.cost)
    history = History()
    for snap in train(cfg, small, controls):
        history.add(snap)
        recorder.add(snap)
        if isinstance(snap, ProgressSnapshot) and snap.step == 37:
            controls.set_eta(0.7)
        if isinstance(snap, ProgressSnapshot) and snap.step == 101:
            controls.set_cost("cross-entropy")
            recorder.pacing(101, "pause")
            recorder.pacing(101, "resume")
    return recorder.recipe, history


def test_recorded_session_replays_identically(small, tmp_path):
    cfg = TrainConfig(epochs=2, seed=7, progress_every=1)
    recipe, live = record_live_run(small, cfg)
    assert [(e.step, e.name, e.value) for e in recipe.events] == [
        (37, "eta", 0.7), (101, "pause", None), (101, "resume", None), (101, "cost", "cross-entropy")]
    recipe.save(tmp_path / "lesson.json")
    loaded = load_recipe(tmp_path / "lesson.json")
    h = History()
    for snap in replay(loaded, small):   # default progress pacing: time-based
        h.add(snap)
    assert h.numbers() == live.numbers()


def test_cli_record_then_replay_prints_the_same_lines(tmp_path):
    lesson = tmp_path / "lesson.json"
    rec = subprocess.run([sys.executable, "-m", "nnviz", "train", "--epochs", "2", "--seed", "8", "--eta", "2.5",
                          "--record", str(lesson), "--quiet"], capture_output=True, text=True, timeout=300)
    assert rec.returncode == 0, rec.stderr
    rep = subprocess.run([sys.executable, "-m", "nnviz", "replay", str(lesson), "--headless", "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout == rec.stdout and rep.stdout.count("Epoch ") == 2
    assert json.loads(lesson.read_text())["config"]["eta"] == 2.5


GOOD = {"format": "nnviz-recipe-1", "data": "bundled",
        "config": {"sizes": [784, 30, 10], "epochs": 1, "mini_batch_size": 10, "eta": 3.0,
                   "cost": "quadratic", "seed": 1, "dtype": "float64"},
        "events": [{"step": 5, "name": "eta", "value": 1.0}]}


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: "not json {", "not JSON"),
    (lambda d: [1, 2], "JSON object"),
    (lambda d: {**d, "format": "other"}, "format"),
    (lambda d: {**d, "data": 3}, "data"),
    (lambda d: {**d, "config": {**d["config"], "eta": -1}}, "eta"),
    (lambda d: {**d, "config": {**d["config"], "sizes": [784, "x", 10]}}, "sizes"),
    (lambda d: {**d, "config": {k: v for k, v in d["config"].items() if k != "seed"}}, "seed"),
    (lambda d: {**d, "config": {**d["config"], "colour": "red"}}, "unknown config"),
    (lambda d: {**d, "events": {}}, "list"),
    (lambda d: {**d, "events": [{"step": "5", "name": "eta", "value": 1}]}, "step"),
    (lambda d: {**d, "events": [{"step": 5, "name": "eta", "value": 0}]}, "positive"),
    (lambda d: {**d, "events": [{"step": 5, "name": "cost", "value": "hinge"}]}, "cost"),
    (lambda d: {**d, "events": [{"step": 5, "name": "explode"}]}, "unknown event"),
    (lambda d: {**d, "events": [{"step": 9, "name": "pause"}, {"step": 5, "name": "resume"}]}, "in order"),
])
def test_malformed_recipes_are_refused(mutate, needle):
    doc = mutate(json.loads(json.dumps(GOOD)))
    text = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(DataError, match=needle):
        parse_recipe(text, "lesson.json")


def test_good_recipe_parses_and_bad_cli_recipe_is_one_line(tmp_path):
    r = parse_recipe(json.dumps(GOOD))
    assert r.schedule() == {5: [("eta", 1.0)]} and r.config.seed == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{]")
    p = subprocess.run([sys.executable, "-m", "nnviz", "replay", str(bad), "--headless"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "not JSON" in p.stderr


def test_schedule_rejects_unknown_setting(small):
    with pytest.raises(ConfigError):
        list(train(dataclasses.replace(TrainConfig(epochs=1, seed=1)), small, schedule={0: [("momentum", 1)]}))
