"""Output codings (10 one-hot vs 4 binary outputs), the neuron editor's overlay, "which
neurons matter", and architecture races (hidden size, output coding)."""

import numpy as np
import pytest

from nnviz.core.analysis import analyse
from nnviz.core.codings import BINARY, ONE_HOT, coding_for, get_coding
from nnviz.core.data import Dataset
from nnviz.core.editor import NeuronEdit, apply_edits, edit_effect, edited_activations, rank_neurons
from nnviz.core.errors import ConfigError
from nnviz.core.history import load_network, save_network
from nnviz.core.network import Network, sigmoid
from nnviz.core.race import Race, race_configs
from nnviz.core.training import EpochSnapshot, TrainConfig, train


@pytest.fixture(scope="module")
def small(bundled):
    return Dataset(name="small", train_images=bundled.train_images[:1000], train_labels=bundled.train_labels[:1000],
                   test_images=bundled.test_images[:500], test_labels=bundled.test_labels[:500])


def epochs_of(config, data):
    return [s for s in train(config, data) if isinstance(s, EpochSnapshot)]


# ---- codings --------------------------------------------------------------------------------
def test_binary_coding_round_trips_every_digit():
    digits = np.arange(10)
    y = BINARY.targets(digits)                     # (4, 10)
    assert y.shape == (4, 10)
    assert "".join(str(int(b)) for b in y[:, 3]) == "0011" == BINARY.code_text(3)
    assert "".join(str(int(b)) for b in y[:, 9]) == "1001"
    np.testing.assert_array_equal(BINARY.decode(y.T), digits)
    # outputs near the code (not exactly 0/1) read back as the digit too
    noisy = np.clip(y.T + np.where(y.T > 0.5, -0.3, 0.3), 0, 1)
    np.testing.assert_array_equal(BINARY.decode(noisy), digits)
    # the codes of 10-15 are not digits: the nearest digit's code wins (1111 -> 7, whose code 0111 is one bit away)
    assert BINARY.decode(np.array([[1.0, 1, 1, 1]]))[0] == 7
    np.testing.assert_array_equal(ONE_HOT.decode(ONE_HOT.targets(digits).T), digits)


def test_coding_names_and_refusals():
    assert get_coding("binary") is BINARY and get_coding("one-hot") is ONE_HOT and get_coding("4") is BINARY
    with pytest.raises(ConfigError):
        get_coding("ternary")
    with pytest.raises(ConfigError):
        coding_for(10, "binary")
    with pytest.raises(ConfigError):
        TrainConfig(sizes=(784, 30, 10), outputs="binary").validated()
    with pytest.raises(ConfigError):
        BINARY.targets(np.array([10]))


def test_four_output_network_trains_and_is_evaluated_with_the_binary_code(small):
    config = TrainConfig(sizes=(784, 30, 4), epochs=3, seed=2, outputs="binary")
    snaps = epochs_of(config, small)
    assert snaps[-1].test_correct > 3 * snaps[0].test_correct and snaps[-1].test_accuracy > 0.4
    # the reported count is the nearest-code answer, recomputed here by hand
    last = snaps[-1]
    a = small.test_images
    for w, b in zip(last.weights, last.biases):
        a = sigmoid(a @ w.T + b.ravel())
    bits = (a >= 0.5).astype(int)
    codes = np.array([[(d >> k) & 1 for k in (3, 2, 1, 0)] for d in range(10)])
    answers = np.abs(bits[:, None, :] - codes[None]).sum(axis=2).argmin(axis=1)
    assert last.test_correct == int((answers == small.test_labels).sum())
    assert analyse(last.weights, last.biases, small.test_images, small.test_labels, "binary").correct == last.test_correct
    # the quadratic cost is against the 4-bit code
    net = Network((784, 30, 4), outputs="binary")
    net.weights, net.biases = last.weights, last.biases
    y = codes[small.test_labels]
    assert net.total_cost(small.test_images, small.test_labels) == pytest.approx(0.5 * ((a - y) ** 2).sum() / len(y))


def test_binary_network_saves_and_loads_its_coding(small, tmp_path):
    config = TrainConfig(sizes=(784, 8, 4), epochs=1, seed=2, outputs="binary").validated()
    net = Network(config.sizes, seed=2, outputs="binary")
    save_network(tmp_path / "b.npz", net, config)
    loaded, cfg, _ = load_network(tmp_path / "b.npz")
    assert loaded.coding is BINARY and cfg["outputs"] == "binary"
    assert loaded.accuracy(small.test_images, small.test_labels) == net.accuracy(small.test_images, small.test_labels)


# ---- the neuron editor ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(small):
    return epochs_of(TrainConfig(sizes=(784, 20, 10), epochs=2, seed=7), small)[-1]


@pytest.fixture(scope="module")
def trained_deep(small):
    return epochs_of(TrainConfig(sizes=(784, 16, 12, 10), epochs=1, seed=8), small)[-1]


EDITS = [NeuronEdit(1, 3, "off"), NeuronEdit(1, 5, "scale", -0.5), NeuronEdit(1, 5, "scale", 3.0),
         NeuronEdit(1, 0, "bias", 2.5), NeuronEdit(1, 0, "bias", -1.0), NeuronEdit(1, 11, "bias", -4.0)]


@pytest.mark.parametrize("k", range(1, len(EDITS) + 1))
def test_overlay_equals_editing_a_copy_of_the_weights(trained, small, k):
    edits = EDITS[:k]
    w, b = trained.weights, trained.biases
    overlay = edited_activations(w, b, small.test_images, edits)[-1]
    new_w, new_b = apply_edits(w, b, edits)
    net = Network((784, 20, 10))
    net.weights, net.biases = new_w, new_b
    np.testing.assert_allclose(overlay, net.outputs(small.test_images), rtol=1e-12, atol=1e-12)
    # the trained weights are untouched
    assert not np.shares_memory(new_w[1], w[1]) and np.array_equal(trained.weights[1], w[1])
    # editing by hand, the plain way: outgoing column scaled, bias shifted
    hand_w, hand_b = [x.copy() for x in w], [x.copy() for x in b]
    for e in edits:
        if e.kind == "off":
            hand_w[1][:, e.neuron] = 0
        elif e.kind == "scale":
            hand_w[1][:, e.neuron] *= e.value
        else:
            hand_b[0][e.neuron] += e.value
    np.testing.assert_allclose(new_w[1], hand_w[1])
    np.testing.assert_allclose(new_b[0], hand_b[0])


def test_overlay_in_a_network_with_two_hidden_layers(trained_deep, small):
    edits = [NeuronEdit(1, 2, "off"), NeuronEdit(2, 4, "scale", 2.0), NeuronEdit(2, 1, "bias", 1.5)]
    w, b = trained_deep.weights, trained_deep.biases
    new_w, new_b = apply_edits(w, b, edits)
    net = Network((784, 16, 12, 10))
    net.weights, net.biases = new_w, new_b
    np.testing.assert_allclose(edited_activations(w, b, small.test_images, edits)[-1],
                               net.outputs(small.test_images), rtol=1e-12, atol=1e-12)
    with pytest.raises(ConfigError):
        edited_activations(w, b, small.test_images, [NeuronEdit(3, 0, "off")])   # the output layer
    with pytest.raises(ConfigError):
        edited_activations(w, b, small.test_images, [NeuronEdit(1, 16, "off")])
    with pytest.raises(ConfigError):
        edited_activations(w, b, small.test_images, [NeuronEdit(1, 0, "scale", float("nan"))])


def test_every_neuron_off_gives_the_bias_only_output(trained, small):
    w, b = trained.weights, trained.biases
    out = edited_activations(w, b, small.test_images[:50], [NeuronEdit(1, j, "off") for j in range(20)])[-1]
    expected = 1 / (1 + np.exp(-b[1].ravel()))
    np.testing.assert_allclose(out, np.tile(expected, (50, 1)), rtol=1e-14)


def test_edit_effect_reports_the_change(trained, small):
    w, b = trained.weights, trained.biases
    nothing = edit_effect(w, b, small.test_images, small.test_labels, [])
    assert nothing.change == 0 and "Unedited" in nothing.caption([])
    edits = [NeuronEdit(1, j, "off") for j in range(10)]
    effect = edit_effect(w, b, small.test_images, small.test_labels, edits)
    assert effect.change < 0
    right = int((edited_activations(w, b, small.test_images, edits)[-1].argmax(1) == small.test_labels).sum())
    assert effect.after.correct == right
    worst = int(np.nanargmin(effect.per_digit_change))
    assert f"digit {worst} suffers most" in effect.caption(edits) and "10 edits" in effect.caption(edits)


def test_rank_neurons_equals_switching_each_off(trained, trained_deep, small):
    for snap, sizes, layer in ((trained, (784, 20, 10), 1), (trained_deep, (784, 16, 12, 10), 1),
                               (trained_deep, (784, 16, 12, 10), 2)):
        w, b = snap.weights, snap.biases
        ranked = rank_neurons(w, b, small.test_images, small.test_labels, layer=layer)
        assert ranked.shape == (sizes[layer],)
        base = int((edited_activations(w, b, small.test_images, [])[-1].argmax(1) == small.test_labels).sum())
        slow = [int((edited_activations(w, b, small.test_images, [NeuronEdit(layer, j, "off")])[-1].argmax(1)
                     == small.test_labels).sum()) - base for j in range(sizes[layer])]
        np.testing.assert_array_equal(ranked, slow)
        assert min(slow) < 0   # some neuron matters


# ---- architecture races ---------------------------------------------------------------------
def test_race_with_equal_lanes_is_identical_lane_to_lane(small):
    for kw in ({"hidden": [15, 15]}, {"outputs": ["binary", "binary"]}):
        rounds = list(Race(race_configs(TrainConfig(epochs=2, seed=11), **kw), small).epochs())
        for r in rounds:
            assert r[0].numbers() == r[1].numbers()


def test_race_by_hidden_size_matches_solo_runs(small):
    cfgs = race_configs(TrainConfig(epochs=2, seed=12), hidden=[15, 30, (20, 10)])
    race = Race(cfgs, small)
    assert race.labels == ["hidden = 15", "hidden = 30", "hidden = 20,10"] and not race.shared_start
    rounds = list(race.epochs())
    for i, cfg in enumerate(cfgs):
        assert [r[i].numbers() for r in rounds] == [s.numbers() for s in epochs_of(cfg, small)]
    assert [r.weights[0].shape[0] for r in rounds[0]] == [15, 30, 20]


def test_race_by_output_coding(small):
    cfgs = race_configs(TrainConfig(epochs=2, seed=13), outputs=["one-hot", "binary"])
    assert [c.sizes for c in cfgs] == [(784, 30, 10), (784, 30, 4)]
    race = Race(cfgs, small)
    assert race.labels == ["10 outputs", "4 outputs (binary)"]
    rounds = list(race.epochs())
    assert [r[1].numbers() for r in rounds] == [s.numbers() for s in epochs_of(cfgs[1], small)]
    # same seed per lane: the hidden layer starts the same, shapes differ only at the output
    np.testing.assert_array_equal(rounds[0][0].biases[0], rounds[0][1].biases[0])


def test_edit_bench_gives_the_overlay_numbers(trained, trained_deep, small):
    from nnviz.core.editor import EditBench

    for snap, edits in ((trained, EDITS), (trained_deep, [NeuronEdit(1, 2, "off"), NeuronEdit(2, 3, "bias", 2.0)])):
        w, b = snap.weights, snap.biases
        bench = EditBench(w, b, small.test_images, small.test_labels)
        assert bench.before.correct == analyse(w, b, small.test_images, small.test_labels).correct
        np.testing.assert_allclose(bench.outputs(edits), edited_activations(w, b, small.test_images, edits)[-1],
                                   rtol=1e-12, atol=1e-14)
        slow = edit_effect(w, b, small.test_images, small.test_labels, edits)
        fast = bench.effect(edits)
        assert fast.after.correct == slow.after.correct and fast.change == slow.change
        np.testing.assert_array_equal(fast.after.confusion, slow.after.confusion)
        np.testing.assert_array_equal(bench.rank(), rank_neurons(w, b, small.test_images, small.test_labels))


def test_saved_network_keeps_the_editor_overlay_and_refuses_damaged_edits(tmp_path):
    import json
    import zipfile

    from nnviz.core.errors import DataError

    net = Network((784, 12, 10), seed=3)
    edits = [NeuronEdit(1, 2, "off"), NeuronEdit(1, 5, "scale", 0.5), NeuronEdit(1, 0, "bias", -1.5)]
    save_network(tmp_path / "e.npz", net, TrainConfig(sizes=(784, 12, 10), seed=3).validated(), edits=edits)
    loaded, config, _ = load_network(tmp_path / "e.npz")
    assert config["edits"] == edits
    np.testing.assert_array_equal(loaded.weights[1], net.weights[1])   # an overlay: the weights as trained
    save_network(tmp_path / "plain.npz", net)
    assert load_network(tmp_path / "plain.npz")[1]["edits"] == []
    # damaged edits: one clear DataError naming the file
    for bad in ([{"layer": 1, "neuron": 12, "kind": "off"}], [{"layer": 1, "neuron": 0, "kind": "melt"}],
                {"not": "a list"}, [{"layer": 2, "neuron": 0, "kind": "off"}]):
        path = tmp_path / "bad.npz"
        with zipfile.ZipFile(tmp_path / "e.npz") as src, zipfile.ZipFile(path, "w") as dst:
            for item in src.namelist():
                if item != "edits.npy":
                    dst.writestr(item, src.read(item))
        with zipfile.ZipFile(path, "a") as dst, dst.open("edits.npy", "w") as f:
            np.save(f, np.array(json.dumps(bad)))
        with pytest.raises(DataError, match="bad.npz"):
            load_network(path)
