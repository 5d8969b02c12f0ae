"""The pace (a maximum speed in digits a second) and the step records of slow motion."""

import threading
import time

import numpy as np
import pytest

from nnviz.core.data import Dataset
from nnviz.core.errors import ConfigError
from nnviz.core.history import History
from nnviz.core.training import (
    STEP_RECORD_MAX_RATE,
    Controls,
    EpochSnapshot,
    ProgressSnapshot,
    StepRecord,
    TrainConfig,
    build_network,
    check_speed,
    epoch_order,
    train,
)


@pytest.fixture(scope="module")
def tiny(bundled):
    """200 training digits (20 mini-batches of 10) and 200 test digits."""
    return Dataset(name="tiny", train_images=bundled.train_images[:200], train_labels=bundled.train_labels[:200],
                   test_images=bundled.test_images[:200], test_labels=bundled.test_labels[:200])


def _run(config, data, controls, on=None):
    history, records = History(), []
    for snap in train(config, data, controls):
        if isinstance(snap, StepRecord):
            records.append(snap)
        else:
            history.add(snap)
        if on is not None:
            on(snap, controls)
    return history, records


def _live(snap, controls):
    """A lesson's live changes: eta at step 7, the speed at step 15, cost at step 25."""
    if isinstance(snap, ProgressSnapshot) and snap.step == 7:
        controls.set_eta(0.5)
    if isinstance(snap, ProgressSnapshot) and snap.step == 15:
        controls.set_speed(None if controls.speed else 4000)
    if isinstance(snap, ProgressSnapshot) and snap.step == 25:
        controls.set_cost("cross-entropy")


def test_paced_and_unpaced_runs_are_identical(tiny):
    cfg = TrainConfig(epochs=2, seed=5, progress_every=1)
    fast, _ = _run(cfg, tiny, Controls(eta=3.0), on=_live)
    slow, _ = _run(cfg, tiny, Controls(eta=3.0, speed=4000), on=_live)
    assert len(fast.changes) == len(slow.changes) == 2
    assert fast.numbers() == slow.numbers()
    for a, b in zip(fast.epochs[-1].weights, slow.epochs[-1].weights):
        np.testing.assert_array_equal(a, b)
    assert [e.test_correct for e in fast.epochs] == [e.test_correct for e in slow.epochs]


def test_a_pace_limits_the_rate(tiny):
    # 20 mini-batches of 10 at 1,000 digits a second: the 20th starts >= 19 * 10 ms after the first
    starts = []

    def on(snap, _controls):
        if isinstance(snap, ProgressSnapshot):
            starts.append(time.monotonic())

    _run(TrainConfig(epochs=1, seed=1, progress_every=1), tiny, Controls(speed=1000), on=on)
    assert len(starts) == 19  # progress after every mini-batch but the last
    assert starts[-1] - starts[0] >= 18 * 10 / 1000 * 0.999


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _consume_in_thread(config, data, controls):
    seen = []
    thread = threading.Thread(target=lambda: seen.extend(train(config, data, controls)), daemon=True)
    thread.start()
    return thread, seen


def test_a_speed_change_takes_effect_at_the_next_mini_batch(tiny):
    # one digit in 1,000 s: without a wake-up the second mini-batch would wait hours
    controls = Controls(speed=0.01)
    thread, seen = _consume_in_thread(TrainConfig(epochs=1, seed=2, progress_every=1), tiny, controls)
    _wait_for(lambda: any(isinstance(s, ProgressSnapshot) for s in seen))
    assert [s.batch for s in seen if isinstance(s, ProgressSnapshot)] == [1]
    controls.set_speed(None)
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(seen[-1], EpochSnapshot) and seen[-1].epochs_done == 1


@pytest.mark.parametrize("how", ["slow", "paused"])
def test_a_slow_or_paused_run_wakes_at_once_on_stop(tiny, how):
    controls = Controls(speed=0.01, paused=how == "paused")
    thread, seen = _consume_in_thread(TrainConfig(epochs=1, seed=2, progress_every=1), tiny, controls)
    _wait_for(lambda: len(seen) >= (2 if how == "slow" else 2))
    t0 = time.monotonic()
    controls.stop()
    thread.join(30)
    woke = time.monotonic() - t0
    assert not thread.is_alive()
    # it waited on the Controls' condition: the stop, not a timeout, woke it (the timeout
    # is 1,000 s slow, 0.1 s paused); the benchmark reports the wake-up time itself
    assert woke < 1.0 if how == "slow" else woke < 5.0


def test_waiting_for_the_pace_uses_no_cpu(tiny):
    controls = Controls(speed=0.01)
    thread, seen = _consume_in_thread(TrainConfig(epochs=1, seed=2, progress_every=1), tiny, controls)
    _wait_for(lambda: len(seen) >= 2)
    cpu0, wall0 = time.process_time(), time.monotonic()
    _wait_for(lambda: time.monotonic() - wall0 > 0.3)
    cpu = time.process_time() - cpu0
    controls.stop()
    thread.join(30)
    assert cpu < 0.2  # a spinning wait would burn ~0.3 s of CPU in 0.3 s (plus this test's own polling)


def test_step_records_only_when_asked_for(tiny):
    cfg = TrainConfig(epochs=1, seed=3)
    _, records = _run(cfg, tiny, Controls(step_records=True))             # full speed
    assert records == []
    _, records = _run(cfg, tiny, Controls(speed=100_000, step_records=False))
    assert records == []
    # at a slow pace (at most STEP_RECORD_MAX_RATE mini-batches a second): every mini-batch
    controls = Controls(speed=100 * STEP_RECORD_MAX_RATE, step_records=True)
    _, records = _run(TrainConfig(epochs=1, seed=3, mini_batch_size=100), tiny, controls)
    assert [r.batch for r in records] == [0, 1]   # in mini-batches of 100: STEP_RECORD_MAX_RATE a second
    controls = Controls(speed=100 * STEP_RECORD_MAX_RATE * 1.01, step_records=True)
    _, records = _run(TrainConfig(epochs=1, seed=3, mini_batch_size=100), tiny, controls)
    assert records == []   # a little faster: not recorded


def test_a_single_step_yields_a_record_matching_the_network(tiny):
    cfg = TrainConfig(epochs=1, seed=4).validated()
    controls = Controls(eta=3.0, paused=True, step_records=True)
    gen = train(cfg, tiny, controls)
    first = next(gen)
    assert isinstance(first, EpochSnapshot)
    assert isinstance(next(gen), ProgressSnapshot)  # paused before the first mini-batch
    controls.step()
    record = next(gen)
    assert isinstance(record, StepRecord)
    assert (record.epoch, record.batch, record.step, record.m, record.eta, record.cost) == (0, 0, 0, 10, 3.0, "quadratic")
    # the book's arithmetic on the same mini-batch, by hand
    net = build_network(cfg)
    idx = epoch_order(4, 0, 200)[:10]
    np.testing.assert_array_equal(record.indices, idx)
    np.testing.assert_array_equal(record.labels, tiny.train_labels[idx])
    np.testing.assert_array_equal(record.images, tiny.train_images[idx])
    np.testing.assert_array_equal(record.outputs_before, net.outputs(tiny.train_images[idx]))
    assert record.cost_before == net.total_cost(tiny.train_images[idx], tiny.train_labels[idx])
    w0, b0 = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    net.update_mini_batch([(tiny.train_images[i].reshape(-1, 1), _one_hot(tiny.train_labels[i])) for i in idx], 3.0)
    for step, w_new, w_old in zip(record.weight_steps, net.weights, w0):
        np.testing.assert_allclose(step, w_new - w_old, rtol=0, atol=1e-12)
    for step, b_new, b_old in zip(record.bias_steps, net.biases, b0):
        np.testing.assert_allclose(step, b_new - b_old, rtol=0, atol=1e-12)
    for w_rec, w_new in zip(record.weights, net.weights):
        np.testing.assert_allclose(w_rec, w_new, rtol=0, atol=1e-12)
    assert record.cost_after == pytest.approx(net.total_cost(tiny.train_images[idx], tiny.train_labels[idx]), rel=1e-10)
    assert record.cost_after < record.cost_before  # eta = 3 on one mini-batch: its cost falls
    assert record.correct_before == int(np.sum(record.predictions_before == record.labels))
    for a in (record.indices, record.images, record.labels, record.outputs_before, *record.weight_steps,
              *record.bias_steps, *record.weights):
        assert not a.flags.writeable
        with pytest.raises(ValueError):
            a.flat[0] = 0
    controls.stop()
    assert all(not isinstance(s, StepRecord) for s in gen)


def _one_hot(j):
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "fast", "", float("-inf"), 1e-9])
def test_bad_speeds_are_refused(bad):
    with pytest.raises(ConfigError, match="speed"):
        check_speed(bad)
    with pytest.raises(ConfigError, match="speed"):
        Controls().set_speed(bad)


@pytest.mark.parametrize("good, value", [(None, None), ("max", None), (float("inf"), None), ("250", 250.0), (10, 10.0)])
def test_good_speeds(good, value):
    assert check_speed(good) == value


def test_a_recipe_replays_identically_at_any_speed(tiny):
    from nnviz.core.recipe import RecipeRecorder, replay

    cfg = TrainConfig(epochs=2, seed=9, progress_every=1)
    recorder = RecipeRecorder("bundled", cfg)
    live = History()
    controls = Controls(eta=3.0)
    for snap in train(cfg, tiny, controls):
        live.add(snap)
        recorder.add(snap)
        _live(snap, controls)       # eta, speed and cost change mid-run
    for speed in (None, 4000, 20_000):
        again = History()
        for snap in replay(recorder.recipe, tiny, Controls(eta=3.0, speed=speed, step_records=True)):
            if not isinstance(snap, StepRecord):
                again.add(snap)
        assert again.numbers() == live.numbers()


def _cli(*args):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "nnviz", *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))


@pytest.mark.parametrize("command", [["train"], ["replay", "lesson.json", "--headless"], []])
@pytest.mark.parametrize("bad", ["0", "-5", "nan", "fast", "inf-"])
def test_bad_speed_on_the_command_line_is_one_line_and_status_2(command, bad):
    r = _cli(*command, "--speed", bad)
    assert r.returncode == 2
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
    assert "speed" in r.stderr and "Traceback" not in r.stderr


def test_train_at_a_pace_prints_the_same_lines(tmp_path):
    fast = _cli("train", "--epochs", "1", "--seed", "3", "--quiet")
    paced = _cli("train", "--epochs", "1", "--seed", "3", "--quiet", "--speed", "50000")
    assert fast.returncode == paced.returncode == 0
    assert fast.stdout == paced.stdout and fast.stdout.startswith("Epoch 0: ")


def test_help_documents_the_speed():
    for command in (["train"], ["replay"], []):
        r = _cli(*command, "--help")
        assert "--speed" in r.stdout and "digits a second" in " ".join(r.stdout.split())
    assert "--pause" in _cli("replay", "--help").stdout


@pytest.mark.parametrize("wake", ["resume", "step", "step_epoch", "stop"])
def test_waiting_while_paused_ends_at_once_when_the_run_is_asked_for(wake):
    controls = Controls(paused=True)
    result = []
    thread = threading.Thread(target=lambda: result.append(controls.wait_while_paused(1000.0)))
    thread.start()
    getattr(controls, wake)()
    thread.join(30)
    assert not thread.is_alive() and result == [False]   # woken by the change, not after 1,000 s


def test_waiting_while_paused_times_out_if_nothing_is_asked():
    controls = Controls(paused=True)
    controls.set_eta(1.0)     # a change of a setting is not a request to run
    assert controls.wait_while_paused(0.05) is True
    assert Controls(paused=False).wait_while_paused(1000.0) is False   # not paused: no wait
