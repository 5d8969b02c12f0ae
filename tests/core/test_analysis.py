"""Error analysis and saturation against plain per-example loops (the oracles)."""

import numpy as np
import pytest

from nnviz.core.analysis import (
    CONFIDENT_MISTAKES_EXPLAINED,
    CONFUSION_EXPLAINED,
    SATURATION_EXPLAINED,
    SATURATION_THRESHOLD,
    ErrorAnalysis,
    Saturation,
    activations,
    analyse,
    confusion_caption,
    saturation,
    saturation_caption,
)
from nnviz.core.errors import ConfigError
from nnviz.core.network import Network
from nnviz.core.training import EpochSnapshot, TrainConfig, train


@pytest.fixture(scope="module")
def trained(bundled):
    """(weights, biases) after 3 epochs on the bundled digits (about 84% right)."""
    *_, last = (s for s in train(TrainConfig(epochs=3, seed=1), bundled) if isinstance(s, EpochSnapshot))
    return last.weights, last.biases


@pytest.fixture(scope="module")
def result(trained, bundled):
    return analyse(*trained, bundled.test_images, bundled.test_labels)


def as_network(weights, biases):
    net = Network([w.shape[1] for w in weights] + [weights[-1].shape[0]])
    net.weights, net.biases = weights, biases
    return net


# ---- the plain oracle: the book's per-example feedforward and backprop -----------------
def book_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def book_saturation(weights, biases, images, labels, cost):
    """Per-example loop: saturated counts per layer and summed |delta| per layer."""
    n_layers = len(weights)
    saturated = np.zeros(n_layers)
    abs_delta = np.zeros(n_layers)
    for x, label in zip(images, labels):
        activation = x.reshape(-1, 1).astype(np.float64)
        zs, acts = [], [activation]
        for w, b in zip(weights, biases):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = book_sigmoid(z)
            acts.append(activation)
        sps = [book_sigmoid(z) * (1 - book_sigmoid(z)) for z in zs]
        for l, sp in enumerate(sps):
            saturated[l] += np.sum(sp < SATURATION_THRESHOLD)
        y = np.zeros((weights[-1].shape[0], 1))
        y[label] = 1.0
        delta = (acts[-1] - y) * (sps[-1] if cost == "quadratic" else 1.0)     # BP1
        abs_delta[-1] += np.abs(delta).sum()
        for l in range(2, n_layers + 1):
            delta = np.dot(weights[-l + 1].transpose(), delta) * sps[-l]      # BP2
            abs_delta[-l] += np.abs(delta).sum()
    sizes = np.array([w.shape[0] for w in weights]) * len(labels)
    return saturated / sizes, abs_delta / sizes


# ---- activations -------------------------------------------------------------------------
def test_activations_match_network(trained, bundled):
    images = bundled.test_images[:50]
    layers = activations(*trained, images)
    assert [a.shape for a in layers] == [(50, 784), (50, 30), (50, 10)]
    net = as_network(*trained)
    for a, ref in zip(layers[1:], net.forward_all(images)):
        np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layers[-1][7], net.feedforward(images[7].reshape(-1, 1))[:, 0], rtol=1e-12)


def test_many_float32_images_give_the_networks_numbers(trained, bundled):
    """More rows than one conversion chunk: float32 images, float64 weights."""
    images = np.tile(bundled.test_images, (3, 1))
    labels = np.tile(bundled.test_labels, 3)
    net = as_network(*trained)
    out = activations(*trained, images)[-1]
    assert out.dtype == np.float64
    assert np.array_equal(out, net.forward_all(images)[-1])
    r = analyse(*trained, images, labels)
    assert r.correct == net.accuracy(images, labels)
    assert np.array_equal(r.confusion, 3 * analyse(*trained, bundled.test_images, bundled.test_labels).confusion)


def test_activations_keep_float32():
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((5, 4)).astype(np.float32)]
    biases = [rng.standard_normal((5, 1)).astype(np.float32)]
    assert activations(weights, biases, rng.random((3, 4)).astype(np.float32))[-1].dtype == np.float32


def test_bad_shapes_are_config_errors(trained, bundled):
    w, b = trained
    with pytest.raises(ConfigError, match="784"):
        analyse(w, b, np.zeros((3, 100)), np.zeros(3, dtype=int))
    with pytest.raises(ConfigError, match="labels"):
        analyse(w, b, bundled.test_images[:3], np.array([0, 1, 10]))
    with pytest.raises(ConfigError):
        analyse(w, b[:1], bundled.test_images[:3], np.zeros(3, dtype=int))


# ---- error analysis ---------------------------------------------------------------------
def test_confusion_matches_network_accuracy(result, trained, bundled):
    r = result
    assert isinstance(r, ErrorAnalysis)
    assert r.confusion.shape == (10, 10) and r.confusion.dtype == np.int64
    assert r.confusion.sum() == r.total == len(bundled.test_labels)
    correct = as_network(*trained).accuracy(bundled.test_images, bundled.test_labels)
    assert np.trace(r.confusion) == r.correct == correct
    assert 0.75 < r.accuracy < 0.95
    assert not r.confusion.flags.writeable and not r.predicted.flags.writeable


def test_per_class_accuracy_matches_a_loop(result, bundled):
    for digit in range(10):
        right = total = 0
        for label, pred in zip(bundled.test_labels, result.predicted):
            if label == digit:
                total += 1
                right += int(pred == label)
        assert result.per_class_accuracy[digit] == pytest.approx(right / total)


def test_predicted_and_confidence(result, trained, bundled):
    out = as_network(*trained).outputs(bundled.test_images)
    assert np.array_equal(result.predicted, out.argmax(axis=1))
    np.testing.assert_allclose(result.confidence, out.max(axis=1), rtol=1e-12)


def test_cells_hold_exactly_their_digits(result, bundled):
    seen = []
    for t in range(10):
        for p in range(10):
            idx = result.cell(t, p)
            assert len(idx) == result.confusion[t, p]
            assert set(idx) == {i for i in range(result.total)
                                if bundled.test_labels[i] == t and result.predicted[i] == p}
            assert np.all(np.diff(result.confidence[idx]) <= 0)     # most confident first
            seen.extend(idx)
    assert sorted(seen) == list(range(result.total))


def test_confident_mistakes(result, bundled):
    top = result.confident_mistakes(20)
    assert len(top) == 20
    every = result.confident_mistakes(None)
    assert len(every) == result.total - result.correct
    assert np.array_equal(every[:20], top)
    assert np.all(result.predicted[every] != bundled.test_labels[every])
    assert np.all(np.diff(result.confidence[every]) <= 0)
    wrong = result.predicted != bundled.test_labels
    assert result.confidence[top[-1]] >= np.sort(result.confidence[wrong])[-20]
    assert len(result.confident_mistakes(0)) == 0


def test_ties_keep_index_order():
    # one neuron, z = 0 for every input: all outputs 0.5, every answer 0
    r = analyse([np.zeros((2, 3))], [np.zeros((2, 1))], np.ones((5, 3)), np.array([1, 0, 1, 1, 0]))
    assert list(r.cell(1, 0)) == [0, 2, 3]
    assert list(r.confident_mistakes()) == [0, 2, 3]
    assert r.per_class_accuracy[0] == 1.0 and r.per_class_accuracy[1] == 0.0


def test_empty_class_and_empty_set_have_no_warnings(trained, bundled):
    keep = bundled.test_labels != 3
    r = analyse(*trained, bundled.test_images[keep], bundled.test_labels[keep])
    assert np.isnan(r.per_class_accuracy[3]) and r.confusion[3].sum() == 0
    empty = analyse(*trained, np.zeros((0, 784)), np.zeros(0, dtype=np.int64))
    assert empty.total == 0 and empty.confusion.sum() == 0 and np.isnan(empty.accuracy)
    assert confusion_caption(empty) == "no test digits"


def test_captions(result):
    text = confusion_caption(result)
    assert text.startswith(f"{result.correct:,} / 1,000 right") and "taken for" in text
    for s in (CONFUSION_EXPLAINED, SATURATION_EXPLAINED, CONFIDENT_MISTAKES_EXPLAINED):
        assert 80 < len(s) < 500


# ---- saturation --------------------------------------------------------------------------
def test_fresh_network_is_largely_saturated_as_the_loop_says(bundled):
    net = Network([784, 30, 10], seed=3)
    images, labels = bundled.test_images[:150], bundled.test_labels[:150]
    sat = saturation(net.weights, net.biases, images, labels, sample=None)
    assert isinstance(sat, Saturation) and sat.examples == 150 and sat.cost == "quadratic"
    # inputs have ~100 units of ink, so z ~ N(0, ~10): most hidden neurons saturate
    assert sat.hidden_saturated > 0.5
    ref_sat, ref_delta = book_saturation(net.weights, net.biases, images, labels, "quadratic")
    one = 1 / (150 * 30)   # allow a single rounding flip at the threshold
    assert sat.per_layer_saturated == pytest.approx(tuple(ref_sat), abs=one)
    assert sat.hidden_saturated == sat.per_layer_saturated[0]
    assert sat.output_saturated == sat.per_layer_saturated[1]
    assert sat.mean_abs_delta == pytest.approx(tuple(ref_delta), rel=1e-9)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_trained_network_matches_the_loop(trained, bundled, cost):
    images, labels = bundled.test_images[200:300], bundled.test_labels[200:300]
    sat = saturation(*trained, images, labels, cost=cost)
    ref_sat, ref_delta = book_saturation(*trained, images, labels, cost)
    assert sat.per_layer_saturated == pytest.approx(tuple(ref_sat), abs=1 / (100 * 30))
    assert sat.mean_abs_delta == pytest.approx(tuple(ref_delta), rel=1e-9)


def test_huge_weights_saturate_and_stop_quadratic_learning(trained, bundled):
    weights = [50 * w for w in trained[0]]
    biases = [50 * b for b in trained[1]]
    quad = saturation(weights, biases, bundled.test_images, bundled.test_labels, cost="quadratic")
    ce = saturation(weights, biases, bundled.test_images, bundled.test_labels, cost="cross-entropy")
    assert quad.hidden_saturated > 0.9 and quad.output_saturated > 0.9
    assert quad.per_layer_saturated == ce.per_layer_saturated     # saturation is the network's
    assert quad.mean_abs_delta[-1] < 1e-3                         # sigma' ~ 0 kills delta^L
    assert ce.mean_abs_delta[-1] > 0.02                           # cross-entropy: a - y survives
    assert ce.mean_abs_delta[-1] > 100 * quad.mean_abs_delta[-1]
    unscaled = saturation(*trained, bundled.test_images, bundled.test_labels)
    assert quad.hidden_saturated > unscaled.hidden_saturated


def test_sample_is_fixed_and_bounded(trained, bundled):
    a = saturation(*trained, bundled.test_images, bundled.test_labels, sample=200, seed=5)
    b = saturation(*trained, bundled.test_images, bundled.test_labels, sample=200, seed=5)
    c = saturation(*trained, bundled.test_images, bundled.test_labels, sample=200, seed=6)
    assert a == b and a.examples == 200 and a != c
    everything = saturation(*trained, bundled.test_images, bundled.test_labels, sample=None)
    assert everything.examples == 1000
    assert saturation(*trained, bundled.test_images, bundled.test_labels, sample=5000) == everything


def test_no_hidden_layer_and_no_examples():
    rng = np.random.default_rng(0)
    sat = saturation([rng.standard_normal((10, 784))], [np.zeros((10, 1))], rng.random((20, 784)),
                     rng.integers(0, 10, 20))
    assert np.isnan(sat.hidden_saturated) and len(sat.per_layer_saturated) == 1
    empty = saturation([np.ones((10, 4))], [np.zeros((10, 1))], np.zeros((0, 4)), np.zeros(0, dtype=int))
    assert empty.examples == 0 and np.isnan(empty.output_saturated)
    assert "output" in saturation_caption(sat) and "hidden" not in saturation_caption(sat)


def test_saturation_caption(trained, bundled):
    text = saturation_caption(saturation(*trained, bundled.test_images, bundled.test_labels, cost="ce"))
    assert "hidden" in text and "cross-entropy" in text and "σ′ < 0.01" in text
