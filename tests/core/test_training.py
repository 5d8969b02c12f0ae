"""The training generator: snapshots, live controls, determinism, resuming."""

import dataclasses
import threading
import warnings

import numpy as np
import pytest

from nnviz.core.data import Dataset
from nnviz.core.errors import ConfigError
from nnviz.core.history import History
from nnviz.core.network import Network
from nnviz.core.training import (
    Controls,
    EpochSnapshot,
    ProgressSnapshot,
    SettingChanged,
    TrainConfig,
    TrainingDiverged,
    build_network,
    epoch_order,
    train,
)


@pytest.fixture(scope="module")
def small(bundled):
    """1,000 bundled training digits and the 1,000 test digits, plus a validation split."""
    return Dataset(
        name="small",
        train_images=bundled.train_images[:1000], train_labels=bundled.train_labels[:1000],
        test_images=bundled.test_images, test_labels=bundled.test_labels,
        validation_images=bundled.train_images[3500:], validation_labels=bundled.train_labels[3500:],
    )


def run(config, data, controls=None, on=None, **kw):
    history = History()
    for snap in train(config, data, controls, **kw):
        history.add(snap)
        if on is not None:
            on(snap, controls)
    return history


def test_learns_on_bundled_digits(bundled):
    h = run(TrainConfig(epochs=3, seed=1), bundled)
    assert [e.epochs_done for e in h.epochs] == [0, 1, 2, 3]
    assert h.epochs[0].test_accuracy < 0.2          # untrained: about chance
    assert h.epochs[-1].test_accuracy > 0.80        # well above chance (10%)
    costs = [e.training_cost for e in h.epochs[1:]]
    assert costs == sorted(costs, reverse=True)     # training cost falls every epoch


def test_epoch_snapshot_contents(small):
    snaps = [s for s in train(TrainConfig(epochs=1, seed=2, eta=2.0), small) if isinstance(s, EpochSnapshot)]
    s = snaps[-1]
    assert s.test_total == 1000 and s.validation_total == 500
    assert 0 <= s.validation_correct <= 500 and s.seconds > 0
    assert s.eta == 2.0 and s.cost == "quadratic" and s.step == 100
    assert [w.shape for w in s.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in s.biases] == [(30, 1), (10, 1)]
    with pytest.raises(ValueError):
        s.weights[0][0, 0] = 1.0                    # read-only copies
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.eta = 1.0
    # the numbers agree with the network these weights describe
    net = Network([784, 30, 10])
    net.weights, net.biases = s.weights, s.biases
    assert net.accuracy(small.test_images, small.test_labels) == s.test_correct
    assert s.book_line() == f"Epoch 0: {s.test_correct} / 1000"


def batch_clock(config, seconds):
    """A network for ``config`` and a fake clock on which each of its mini-batches takes
    ``seconds`` (however many mini-batches run per call)."""
    fake = [0.0]
    net = build_network(config.validated())
    real_steps = net.sgd_steps

    def timed_steps(*args, **kw):
        cost_sum, done = real_steps(*args, **kw)
        fake[0] += seconds * done
        return cost_sum, done

    net.sgd_steps = timed_steps
    return net, lambda: fake[0]


def test_progress_snapshots_within_an_epoch(small):
    snaps = list(train(TrainConfig(epochs=1, seed=2, progress_every=20), small))
    progress = [s for s in snaps if isinstance(s, ProgressSnapshot)]
    assert [p.batch for p in progress] == [20, 40, 60, 80]
    assert [p.examples_seen for p in progress] == [200, 400, 600, 800]
    assert all(p.batches_per_epoch == 100 and not p.paused for p in progress)
    assert all(np.isfinite(p.running_cost) and p.examples_per_second > 0 for p in progress)
    # time-based by default: with a fake clock on which each mini-batch takes 0.01 s, a
    # snapshot comes about every 10 mini-batches (0.1 s), however many run per call
    net, clock = batch_clock(TrainConfig(seed=2), 0.01)
    timed = [s for s in train(TrainConfig(epochs=1, seed=2), small, network=net, clock=clock)
             if isinstance(s, ProgressSnapshot)]
    assert 8 <= len(timed) <= 11
    assert all(9 <= b - a <= 11 for a, b in zip([0] + [p.batch for p in timed], [p.batch for p in timed]))


def test_same_seed_same_history_bit_for_bit(small):
    def live(snap, controls):
        if isinstance(snap, ProgressSnapshot) and snap.step == 130:
            controls.set_eta(0.5)
        if isinstance(snap, ProgressSnapshot) and snap.step == 150:
            controls.set_cost("cross-entropy")

    cfg = TrainConfig(epochs=2, seed=11, progress_every=10)
    a = run(cfg, small, Controls(eta=3.0), on=live)
    b = run(cfg, small, Controls(eta=3.0), on=live)
    assert a.numbers() == b.numbers()
    c = run(dataclasses.replace(cfg, seed=12), small, Controls(eta=3.0), on=live)
    assert c.numbers() != a.numbers()


def test_eta_change_takes_effect_at_next_mini_batch(small):
    seen = []

    def live(snap, controls):
        seen.append(snap)
        if isinstance(snap, ProgressSnapshot) and snap.step == 30:
            controls.set_eta(0.25)

    h = run(TrainConfig(epochs=1, seed=3, progress_every=10), small, Controls(eta=3.0), on=live)
    assert len(h.changes) == 1
    change = h.changes[0]
    assert (change.name, change.old, change.new, change.step, change.batch) == ("eta", 3.0, 0.25, 30, 30)
    assert change.position == pytest.approx(0.3)
    after = [s for s in seen[seen.index(change):] if isinstance(s, ProgressSnapshot)]
    assert after and all(p.eta == 0.25 for p in after)
    assert h.epochs[-1].eta == 0.25
    # and the weights are exactly those of 30 batches at 3.0, then 70 at 0.25
    net = build_network(TrainConfig(seed=3).validated())
    data = net.prepare(small.train_images, small.train_labels)
    order = epoch_order(3, 0, 1000)
    for k in range(100):
        net.sgd_steps(data, order, 10 * k, 1, 10, 3.0 if k < 30 else 0.25)
    for w, w_ref in zip(h.epochs[-1].weights, net.weights):
        np.testing.assert_array_equal(w, w_ref)


def test_pause_single_step_and_stop(small):
    controls = Controls(eta=3.0, paused=True)
    gen = train(TrainConfig(epochs=2, seed=4), small, controls)
    first = next(gen)
    assert isinstance(first, EpochSnapshot) and first.epochs_done == 0
    paused = next(gen)
    assert isinstance(paused, ProgressSnapshot) and paused.paused and paused.batch == 0
    controls.step()
    one = next(gen)
    assert isinstance(one, ProgressSnapshot) and one.batch == 1 and one.step == 1 and one.paused
    controls.step(3)
    assert [next(gen).batch for _ in range(3)] == [2, 3, 4]
    # exactly four mini-batches have run
    net = build_network(TrainConfig(seed=4).validated())
    net.weights, net.biases = first.weights, first.biases
    data = net.prepare(small.train_images, small.train_labels)
    order = epoch_order(4, 0, 1000)
    for k in range(4):
        net.sgd_steps(data, order, 10 * k, 1, 10, 3.0)
    controls.step_epoch()
    snaps = []
    while not isinstance(snaps[-1] if snaps else None, EpochSnapshot):
        snaps.append(next(gen))
    assert snaps[-1].epochs_done == 1 and snaps[-1].step == 100
    # still paused after the epoch: a blocked generator wakes up on stop and ends
    box = []
    t = threading.Thread(target=lambda: box.append(list(gen)))
    t.start()
    controls.stop()
    t.join(5)
    assert not t.is_alive()
    assert all(isinstance(s, ProgressSnapshot) and s.epoch == 1 and s.batch == 0 for s in box[0])


def test_resume_running_and_epochs_control(small):
    controls = Controls(eta=3.0)
    h = run(TrainConfig(epochs=5, seed=5), small, controls,
            on=lambda s, c: c.set_epochs(2) if isinstance(s, EpochSnapshot) else None)
    assert h.epochs[-1].epochs_done == 2


def test_continue_from_epoch_reproduces_the_run(small):
    cfg = TrainConfig(epochs=3, seed=6)
    full = run(cfg, small)
    mid = full.epochs[1]
    net = build_network(cfg.validated())
    net.weights, net.biases = mid.weights, mid.biases
    rest = run(cfg, small, network=net, start_epoch=1)
    assert [e.epochs_done for e in rest.epochs] == [1, 2, 3]
    # the restart point: same network, same evaluation (no training cost: nothing trained yet)
    assert rest.epochs[0].numbers()[:5] == mid.numbers()[:5]
    assert rest.epochs[0].numbers()[-2:] == mid.numbers()[-2:]
    for a, b in zip(full.epochs[2:], rest.epochs[1:]):
        assert a.numbers() == b.numbers()


def test_eta_100_runs_silently_and_stays_near_chance(bundled):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = run(TrainConfig(epochs=3, seed=7, eta=100.0), bundled)
    assert h.epochs[-1].test_accuracy < 0.2


def test_tiny_eta_learns_painfully_slowly(bundled):
    h = run(TrainConfig(epochs=2, seed=7, eta=0.001), bundled)
    assert h.epochs[-1].test_accuracy < 0.2
    assert h.epochs[-1].training_cost < h.epochs[1].training_cost  # but it does move


def test_divergence_is_reported(small):
    net = build_network(TrainConfig(seed=8).validated())
    net.weights[0][0, 0] = np.nan
    with pytest.raises(TrainingDiverged, match="smaller eta"):
        run(TrainConfig(epochs=1, seed=8), small, network=net)


@pytest.mark.parametrize("field,value,match", [
    ("eta", 0.0, "positive"), ("eta", -1, "positive"), ("eta", "abc", "number"),
    ("eta", float("nan"), "positive"), ("epochs", 0, "at least 1"), ("mini_batch_size", 0, "at least 1"),
    ("sizes", (100, 30, 10), "784"), ("sizes", (784, 30, 5), "classes"), ("cost", "hinge", "unknown cost"),
    ("dtype", "float16", "dtype"), ("seed", -3, "seed"),
])
def test_bad_config_is_refused(small, field, value, match):
    with pytest.raises(ConfigError, match=match):
        list(train(dataclasses.replace(TrainConfig(), **{field: value}), small))


def test_controls_refuse_bad_values():
    c = Controls()
    with pytest.raises(ConfigError):
        c.set_eta(-1)
    with pytest.raises(ConfigError):
        c.set_cost("nope")
    assert c.eta == 3.0 and c.cost == "quadratic"


def test_history_csv_and_json(tmp_path, small):
    h = run(TrainConfig(epochs=2, seed=9, progress_every=25), small, Controls(eta=3.0),
            on=lambda s, c: c.set_eta(1.0) if isinstance(s, ProgressSnapshot) and s.step == 50 else None)
    h.write_csv(tmp_path / "run.csv")
    lines = (tmp_path / "run.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,test_correct,test_total,test_accuracy")
    assert len(lines) == 4 and lines[-1].startswith(f"2,{h.epochs[-1].test_correct},1000,")
    import json

    h.write_json(tmp_path / "run.json")
    doc = json.loads((tmp_path / "run.json").read_text())
    assert len(doc["epochs"]) == 3 and doc["changes"][0]["new"] == 1.0
    assert isinstance(h.changes[0], SettingChanged)
    assert len(h.cost_curve) >= 6


def test_progress_per_epoch_gives_short_epochs_a_live_curve_within_a_rate_cap(small):
    # 20 ms a mini-batch: 4 snapshots an epoch, none more
    cfg = TrainConfig(epochs=1, seed=2, progress_per_epoch=4, progress_interval=1.0)
    net, clock = batch_clock(cfg, 0.02)
    progress = [s for s in train(cfg, small, network=net, clock=clock) if isinstance(s, ProgressSnapshot)]
    assert [p.batch for p in progress] == [25, 50, 75]
    # but never more often than a tenth of the interval: a clock that barely moves gives none
    net, clock = batch_clock(cfg, 2e-6)
    progress = [s for s in train(cfg, small, network=net, clock=clock) if isinstance(s, ProgressSnapshot)]
    assert progress == []


def test_history_without_weights_keeps_the_numbers(small):
    full, last, light = History(), History(keep_weights="last"), History(keep_weights="none")
    for snap in train(TrainConfig(epochs=2, seed=3), small):
        for h in (full, last, light):
            h.add(snap)
    assert [e.test_correct for e in light.epochs] == [e.test_correct for e in full.epochs]
    assert all(e.weights == () and e.biases == () for e in light.epochs)
    assert all(e.weights == () for e in last.epochs[:-1]) and last.epochs[-1].numbers() == full.epochs[-1].numbers()
    assert light.rows() == full.rows() == last.rows()


