"""The time-slider timeline: exact recall, the memory cap, thinning, branching."""

import math

import numpy as np
import pytest

from nnviz.core.timeline import DEFAULT_CAP_BYTES, Entry, Timeline
from nnviz.core.training import EpochSnapshot, ProgressSnapshot, SettingChanged

SIZES = (784, 30, 10)
EPOCH_BYTES = 4 * (784 * 30 + 30 + 30 * 10 + 10)     # 95,440: float32 [784, 30, 10]


def snapshot(k, rng, sizes=SIZES, dtype=np.float32, **kw):
    """A cheap stand-in for epoch k of a float32 run: random weights, metrics from k."""
    weights = tuple(rng.standard_normal((y, x)).astype(dtype) for x, y in zip(sizes[:-1], sizes[1:]))
    biases = tuple(rng.standard_normal((y, 1)).astype(dtype) for y in sizes[1:])
    for a in weights + biases:
        a.flags.writeable = False
    fields = dict(epochs_done=k, test_correct=100 + k, test_total=1000, validation_correct=50 + k,
                  validation_total=500, training_cost=float("nan") if k == 0 else 1.0 / k,
                  test_cost=2.0 / (k + 1), seconds=0.5, eta=3.0, cost="quadratic", step=400 * k,
                  weights=weights, biases=biases)
    fields.update(kw)
    return EpochSnapshot(**fields)


def run(n_epochs, cap, seed=0):
    rng = np.random.default_rng(seed)
    timeline = Timeline(cap_bytes=cap)
    snaps = []
    for k in range(n_epochs):
        snaps.append(snapshot(k, rng))
        timeline.add(snaps[-1])
        assert timeline.nbytes <= cap
    return timeline, snaps


def test_an_epoch_costs_93_kib():
    timeline, _ = run(1, DEFAULT_CAP_BYTES)
    assert timeline.nbytes == EPOCH_BYTES
    assert DEFAULT_CAP_BYTES // EPOCH_BYTES == 703     # "about 700 epochs" in the docstring


def test_a_float64_run_is_kept_exactly_at_twice_the_cost():
    rng = np.random.default_rng(0)
    timeline = Timeline()
    snap = snapshot(0, rng, dtype=np.float64)
    timeline.add(snap)
    assert timeline.nbytes == 2 * EPOCH_BYTES
    for mine, theirs in zip(timeline.at(0).weights + timeline.at(0).biases, snap.weights + snap.biases):
        assert mine.dtype == np.float64 and np.array_equal(mine, theirs)
    assert DEFAULT_CAP_BYTES // (2 * EPOCH_BYTES) == 351     # "about 350 epochs" in the docstring


def test_at_returns_exactly_that_epoch():
    timeline, snaps = run(30, DEFAULT_CAP_BYTES)
    assert len(timeline) == 30 and timeline.epochs() == list(range(30))
    assert timeline.nbytes == 30 * EPOCH_BYTES and timeline.stride == 1
    for k in (0, 7, 29):
        e, s = timeline.at(k), snaps[k]
        assert isinstance(e, Entry) and e.epochs_done == k
        assert (e.test_correct, e.validation_correct, e.step, e.eta, e.cost) == (
            s.test_correct, s.validation_correct, s.step, s.eta, s.cost)
        assert e.test_accuracy == s.test_accuracy and e.test_cost == s.test_cost
        for mine, theirs in zip(e.weights + e.biases, s.weights + s.biases):
            assert mine.dtype == np.float32 and not mine.flags.writeable
            assert np.array_equal(mine, theirs.astype(np.float32))
            assert not np.shares_memory(mine, theirs)
    assert math.isnan(timeline.at(0).training_cost)
    with pytest.raises(KeyError, match="epoch 30"):
        timeline.at(30)


def test_100_epochs_stay_under_a_small_cap_and_the_default():
    cap = 2 * 2**20                                   # 21 epochs' weights
    timeline, snaps = run(100, cap)
    assert len(timeline) == 100                       # every epoch keeps its numbers
    assert 0 < timeline.nbytes <= cap
    kept = timeline.epochs_with_weights()
    assert kept[0] == 0 and kept[-1] == 99            # the first and the latest
    assert timeline.stride == 8
    assert kept == list(range(0, 99, 8)) + [99]      # evenly spread
    for k in kept:
        assert np.array_equal(timeline.at(k).weights[0], snaps[k].weights[0].astype(np.float32))
    assert not timeline.at(50).has_weights and timeline.at(50).test_correct == 150
    big, _ = run(100, DEFAULT_CAP_BYTES)
    assert big.nbytes == 100 * EPOCH_BYTES and len(big.epochs_with_weights()) == 100


def test_thinning_keeps_first_and_latest_at_every_step():
    rng = np.random.default_rng(1)
    timeline = Timeline(cap_bytes=5 * EPOCH_BYTES)
    for k in range(40):
        timeline.add(snapshot(k, rng))
        kept = timeline.epochs_with_weights()
        assert kept[0] == 0 and kept[-1] == k
        assert timeline.nbytes == len(kept) * EPOCH_BYTES <= timeline.cap_bytes
        gaps = np.diff(kept[:-1])
        assert len(set(gaps)) <= 1                    # evenly spread but for the latest


def test_nearest_falls_back_to_a_kept_epoch():
    timeline, _ = run(100, 2 * 2**20)
    assert timeline.nearest(50).epochs_done == 48
    assert timeline.nearest(52).epochs_done == 48     # a tie between 48 and 56: the earlier
    assert timeline.nearest(53).epochs_done == 56
    assert timeline.nearest(97.6).epochs_done == 99
    assert timeline.nearest(-3).epochs_done == 0
    assert timeline.nearest(8).weights is not None


def test_tiny_caps():
    two, _ = run(10, 2 * EPOCH_BYTES)
    assert two.epochs_with_weights() == [0, 9]
    one, _ = run(10, EPOCH_BYTES)
    assert one.epochs_with_weights() == [9]
    none, _ = run(3, 0)
    assert none.nbytes == 0 and none.epochs_with_weights() == [] and len(none) == 3
    with pytest.raises(LookupError):
        none.nearest(1)
    with pytest.raises(ValueError):
        Timeline(cap_bytes=-1)


def test_branch_from_holds_exactly_0_to_k():
    timeline, snaps = run(20, DEFAULT_CAP_BYTES)
    early = SettingChanged("eta", 3.0, 1.0, epoch=4, batch=10, step=1610, examples_seen=100, n_train=4000)
    late = SettingChanged("cost", "quadratic", "cross-entropy", 12, 0, 4800, 0, 4000)
    timeline.add(early)
    timeline.add_change(late)
    branch = timeline.branch_from(12)
    assert branch.epochs() == list(range(13))
    assert branch.changes == (early,)                 # the change at 12.0 shapes epoch 13, not 0..12
    assert branch.branched_at == 12 and branch.parent is timeline
    assert branch.nbytes == 13 * EPOCH_BYTES and branch.cap_bytes == timeline.cap_bytes
    assert np.array_equal(branch.at(12).weights[1], snaps[12].weights[1].astype(np.float32))
    assert len(timeline) == 20 and timeline.changes == (early, late)   # the old branch is untouched
    # the branch continues from 12 as a resumed run does: epoch 12 is re-reported first
    rng = np.random.default_rng(9)
    branch.add(snapshot(12, rng, training_cost=float("nan"), seconds=0.0))
    assert branch.at(12).training_cost == snaps[12].training_cost and branch.at(12).seconds == 0.5
    branch.add(snapshot(13, rng, test_correct=999))
    assert branch.epochs() == list(range(14)) and branch.at(13).test_correct == 999
    assert timeline.at(13).test_correct == 113
    with pytest.raises(ValueError, match="branch_from"):
        branch.add(snapshot(5, rng))


def test_branch_from_a_thinned_epoch_says_where_to_go():
    timeline, _ = run(100, 2 * 2**20)
    with pytest.raises(ValueError, match="epoch 48"):
        timeline.branch_from(50)
    branch = timeline.branch_from(48)
    assert branch.epochs_with_weights() == list(range(0, 49, 8))


def test_other_snapshots():
    timeline = Timeline()
    progress = ProgressSnapshot(epoch=0, batch=1, batches_per_epoch=400, examples_seen=10, n_train=4000,
                                running_cost=0.4, eta=3.0, cost="quadratic", step=1, elapsed=0.1,
                                examples_per_second=100.0, paused=False)
    timeline.add(progress)
    assert len(timeline) == 0 and timeline.latest is None
    with pytest.raises(TypeError):
        timeline.add("epoch 3")


def test_metrics_arrays():
    rng = np.random.default_rng(2)
    timeline = Timeline(cap_bytes=3 * EPOCH_BYTES)
    for k in range(5):
        timeline.add(snapshot(k, rng, validation_total=0 if k == 4 else 500))
    m = timeline.metrics_arrays()
    assert set(m) >= {"epochs", "test_accuracy", "validation_accuracy", "training_cost"}
    assert m["epochs"].dtype == np.int64 and list(m["epochs"]) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(m["test_accuracy"], [10.0, 10.1, 10.2, 10.3, 10.4])
    np.testing.assert_allclose(m["validation_accuracy"][:4], [10.0, 10.2, 10.4, 10.6])
    assert np.isnan(m["validation_accuracy"][4]) and np.isnan(m["training_cost"][0])
    np.testing.assert_allclose(m["training_cost"][1:], [1.0, 0.5, 1 / 3, 0.25])
    assert list(m["has_weights"]) == [True, False, True, False, True]


def test_other_layer_sizes():
    rng = np.random.default_rng(3)
    timeline = Timeline()
    timeline.add(snapshot(0, rng, sizes=(784, 100, 30, 10)))
    assert [w.shape for w in timeline.at(0).weights] == [(100, 784), (30, 100), (10, 30)]
    assert timeline.nbytes == 4 * (784 * 100 + 100 + 100 * 30 + 30 + 30 * 10 + 10)
