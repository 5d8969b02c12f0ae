"""The neuron editor in lesson recipes: overlay edits and edits written into the weights
round-trip through a recipe, are checked strictly on load, leave old recipes loading as
before, and replay exactly; training snapshots name the mini-batch's first digit."""

import dataclasses
import json

import numpy as np
import pytest

from nnviz.core.data import Dataset
from nnviz.core.editor import NeuronEdit, apply_edits
from nnviz.core.errors import ConfigError, DataError
from nnviz.core.recipe import Event, Recipe, RecipeRecorder, load_recipe, parse_recipe, replay
from nnviz.core.training import Controls, EpochSnapshot, ProgressSnapshot, TrainConfig, build_network, epoch_order, train

OFF7 = (NeuronEdit(1, 7, "off"),)
TWO = (NeuronEdit(1, 7, "off"), NeuronEdit(1, 3, "scale", 0.3))


@pytest.fixture(scope="module")
def small(bundled):
    return Dataset(name="small", train_images=bundled.train_images[:600], train_labels=bundled.train_labels[:600],
                   test_images=bundled.test_images[:300], test_labels=bundled.test_labels[:300])


def numbers(snaps):
    return [s.numbers() for s in snaps if isinstance(s, EpochSnapshot)]


def test_edit_events_round_trip_through_a_recipe_file(tmp_path):
    rec = RecipeRecorder("bundled", TrainConfig(sizes=(784, 12, 10), epochs=3, seed=4))
    rec.edits(0, OFF7)
    rec.pacing(40, "pause")
    rec.edits(40, TWO)
    rec.edits(40, TWO)          # the same overlay again: not recorded twice
    rec.edits(60, ())
    rec.edits(60, OFF7)         # a change at the same step replaces the one before
    rec.applied(120, OFF7)
    rec.edits(120, ())
    rec.recipe.save(tmp_path / "l.json")
    doc = json.loads((tmp_path / "l.json").read_text())
    assert doc["events"][0] == {"step": 0, "name": "edits",
                                "value": [{"layer": 1, "neuron": 7, "kind": "off", "value": 0.0}]}
    loaded = load_recipe(tmp_path / "l.json")
    assert [(e.step, e.name, e.value) for e in loaded.events] == [
        (0, "edits", OFF7), (40, "pause", None), (40, "edits", TWO), (60, "edits", OFF7),
        (120, "apply", OFF7), (120, "edits", ())]
    assert loaded.edits_at(0) == OFF7 and loaded.edits_at(39) == OFF7 and loaded.edits_at(40) == TWO
    assert loaded.edits_at(119) == OFF7 and loaded.edits_at(120) == () and loaded.edits_at(10**9) == ()
    # the overlay changes no numbers: only the edits written into the weights are scheduled
    assert loaded.schedule() == {120: [("apply", OFF7)]} and loaded.schedule(applies=False) == {}
    assert loaded.to_json() == rec.recipe.to_json()
    # edits that do not fit the recipe's network are refused when recorded
    with pytest.raises(ConfigError):
        rec.edits(130, (NeuronEdit(1, 12, "off"),))


GOOD = {"format": "nnviz-recipe-1", "data": "bundled",
        "config": {"sizes": [784, 30, 10], "epochs": 1, "mini_batch_size": 10, "eta": 3.0,
                   "cost": "quadratic", "seed": 1, "dtype": "float64"},
        "events": [{"step": 5, "name": "eta", "value": 1.0}]}


def test_an_old_recipe_without_edit_events_loads_and_replays_as_before(small):
    r = parse_recipe(json.dumps(GOOD))
    assert [e.name for e in r.events] == ["eta"] and r.edits_at(10**6) == ()
    assert r.schedule() == r.schedule(applies=False) == {5: [("eta", 1.0)]}


def _edit_event(name, value):
    return lambda d: {**d, "events": [*d["events"], {"step": 9, "name": name, "value": value}]}


@pytest.mark.parametrize("mutate,needle", [
    (_edit_event("edits", {"layer": 1}), "a list of at most 1000"),
    (_edit_event("edits", None), "a list of at most 1000"),
    (_edit_event("edits", [{"layer": 1, "neuron": 0, "kind": "off"}] * 1001), "at most 1000"),
    (_edit_event("edits", [7]), "neuron edit 0 must be an object"),
    (_edit_event("edits", [{"layer": 1, "neuron": 30, "kind": "off"}]), "hidden layer 1 has neurons 0 to 29"),
    (_edit_event("edits", [{"layer": 2, "neuron": 0, "kind": "off"}]), "not a hidden layer"),
    (_edit_event("edits", [{"layer": 1, "neuron": -1, "kind": "off"}]), "neurons 0 to 29"),
    (_edit_event("edits", [{"layer": 1.0, "neuron": 0, "kind": "off"}]), "'layer' must be a whole number"),
    (_edit_event("edits", [{"layer": 1, "neuron": True, "kind": "off"}]), "'neuron' must be a whole number"),
    (_edit_event("edits", [{"layer": 1, "neuron": 0, "kind": "melt"}]), "'kind' must be off, scale or bias"),
    (_edit_event("edits", [{"layer": 1, "neuron": 0, "kind": "scale"}]), "needs a 'value'"),
    (_edit_event("edits", [{"layer": 1, "neuron": 0, "kind": "bias", "value": "3"}]), "'value' must be a number"),
    (_edit_event("edits", [{"layer": 1, "neuron": 0, "kind": "bias", "value": 1e300}]), "out of range"),
    (_edit_event("apply", [{"layer": 1, "neuron": 0, "kind": "scale", "value": float("nan")}]), "out of range"),
    (_edit_event("apply", "neuron 7 off"), "apply"),
    (_edit_event("edits", [{"layer": 10**40, "neuron": 0, "kind": "off"}]), "out of range"),
])
def test_bad_edit_events_are_refused_with_one_line(mutate, needle):
    text = json.dumps(mutate(json.loads(json.dumps(GOOD))))
    with pytest.raises(DataError, match=needle) as info:
        parse_recipe(text, "lesson.json")
    message = str(info.value)
    assert message.startswith("lesson.json is not a valid nnviz lesson recipe: event 1 (")
    assert "\n" not in message and len(message) < 300


def test_an_overlay_leaves_the_replayed_numbers_unchanged(small):
    cfg = TrainConfig(sizes=(784, 12, 10), epochs=2, seed=5, progress_every=7)
    plain = Recipe("bundled", cfg.validated(), [Event(20, "eta", 1.5)])
    edited = Recipe("bundled", cfg.validated(), [Event(0, "edits", OFF7), Event(20, "eta", 1.5),
                                                 Event(33, "edits", TWO), Event(61, "edits", ())])
    edited = parse_recipe(edited.to_json())
    assert numbers(replay(edited, small)) == numbers(replay(plain, small))
    assert edited.edits_at(33) == TWO


def _session_with_an_apply(small, cfg, edits, apply_after):
    """As the window does it: train ``apply_after`` epochs, write ``edits`` into the last
    epoch's weights, then a new run from them continues to ``cfg.epochs``."""
    recorder = RecipeRecorder("bundled", cfg)
    first = []
    for snap in train(dataclasses.replace(cfg, epochs=apply_after), small):
        first.append(snap)
        recorder.add(snap)
    last = first[-1]
    new_w, new_b = apply_edits(last.weights, last.biases, edits)
    recorder.applied(last.step, edits)
    start = dataclasses.replace(last, weights=new_w, biases=new_b)
    net = build_network(cfg.validated())
    net.weights, net.biases = start.weights, start.biases
    second = list(train(cfg, small, network=net, start_epoch=start.epochs_done))
    for snap in second[1:]:
        recorder.add(snap)
    return recorder.recipe, first + second[1:], net


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_edits_written_into_the_weights_replay_bit_for_bit(small, tmp_path, dtype):
    cfg = TrainConfig(sizes=(784, 12, 10), epochs=3, seed=2, dtype=dtype, progress_every=5)
    recipe, session, session_net = _session_with_an_apply(small, cfg, TWO, apply_after=1)
    recipe.save(tmp_path / "lesson.json")
    loaded = load_recipe(tmp_path / "lesson.json")
    assert [(e.step, e.name) for e in loaded.events] == [(60, "apply")]   # 600 digits / 10 = 60 a epoch
    replayed_net = build_network(loaded.config)
    replayed = list(replay(loaded, small, network=replayed_net))
    assert numbers(replayed) == numbers(session)
    for a, b in zip(replayed_net.weights + replayed_net.biases, session_net.weights + session_net.biases):
        assert a.tobytes() == b.tobytes()
    # and it did change the run: without the apply the numbers differ from epoch 2 on
    unedited = numbers(replay(Recipe("bundled", loaded.config, []), small))
    assert unedited[:2] == numbers(replayed)[:2] and unedited[2:] != numbers(replayed)[2:]


def test_an_apply_after_the_last_epoch_edits_the_final_network(small):
    cfg = TrainConfig(sizes=(784, 12, 10), epochs=1, seed=3).validated()
    recipe = Recipe("bundled", cfg, [Event(60, "apply", OFF7)])
    net = build_network(cfg)
    last = [s for s in replay(recipe, small, network=net) if isinstance(s, EpochSnapshot)][-1]
    expected_w, expected_b = apply_edits(last.weights, last.biases, OFF7)
    np.testing.assert_array_equal(net.weights[1], expected_w[1])
    assert not net.weights[1][:, 7].any() and last.weights[1][:, 7].any()


def test_edits_are_written_into_the_weights_only_between_epochs(small):
    cfg = TrainConfig(sizes=(784, 12, 10), epochs=1, seed=3).validated()
    recipe = Recipe("bundled", cfg, [Event(25, "apply", OFF7)])
    with pytest.raises(ConfigError, match="only between epochs.*mini-batch 26 of epoch 1"):
        list(replay(recipe, small))


def test_snapshots_name_the_first_digit_of_the_latest_mini_batch(small):
    cfg = TrainConfig(sizes=(784, 12, 10), epochs=2, seed=9, mini_batch_size=10, progress_every=3)
    snaps = list(train(cfg, small, Controls()))
    progress = [s for s in snaps if isinstance(s, ProgressSnapshot)]
    epochs = [s for s in snaps if isinstance(s, EpochSnapshot)]
    assert progress and epochs[0].first_example is None
    for s in progress:
        assert s.first_example == int(epoch_order(9, s.epoch, 600)[(s.batch - 1) * 10])
    for e in epochs[1:]:
        assert e.first_example == int(epoch_order(9, e.epoch, 600)[590])
    assert len({s.first_example for s in progress}) > 10   # it moves on as training runs
