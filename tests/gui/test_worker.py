"""The training worker and its controller, without the window."""

from __future__ import annotations

import pytest

from nnviz.core.training import EpochSnapshot, ProgressSnapshot, TrainConfig
from nnviz.gui.worker import TrainingController

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


@pytest.fixture
def controller(qtbot):
    c = TrainingController(weights_interval=0.0)
    yield c
    c.shutdown()


def config(**kw) -> TrainConfig:
    base = dict(epochs=3, seed=1, progress_interval=0.0)
    base.update(kw)
    return TrainConfig(**base)


def test_prepared_run_shows_the_untrained_network_and_waits(qtbot, controller, small_data):
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT) as blocker:
        controller.prepare(config(), small_data)
    snap = blocker.args[0]
    assert isinstance(snap, EpochSnapshot) and snap.epochs_done == 0
    assert snap.weights[0].shape == (30, 784) and not snap.weights[0].flags.writeable
    assert controller.state == "ready" and controller.thread.isRunning()
    assert not controller.in_progress  # nothing trained yet: settings may still change


def test_step_runs_exactly_one_mini_batch(qtbot, controller, small_data):
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT):
        controller.prepare(config(), small_data)
    with qtbot.waitSignal(controller.progressed, timeout=TIMEOUT,
                          check_params_cb=lambda p: p.examples_seen > 0) as blocker:
        controller.step()
    p = blocker.args[0]
    assert (p.batch, p.examples_seen, p.paused) == (1, 10, True)
    assert controller.state == "paused" and controller.in_progress
    with qtbot.waitSignal(controller.progressed, timeout=TIMEOUT,
                          check_params_cb=lambda p: p.batch > 1) as blocker:
        controller.step()
    assert blocker.args[0].batch == 2


def test_step_epoch_then_resume_pause_stop(qtbot, controller, small_data):
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT):
        controller.prepare(config(epochs=50), small_data)
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT) as blocker:
        controller.step_epoch()
    assert blocker.args[0].epochs_done == 1
    assert controller.controls.paused
    epochs = []
    controller.epochFinished.connect(lambda s: epochs.append(s.epochs_done))
    controller.resume()
    assert controller.state == "running"
    qtbot.waitUntil(lambda: len(epochs) >= 2, timeout=TIMEOUT)
    controller.pause()
    assert controller.state == "paused"
    # paused: no further epoch (one takes ~10 ms here; the waits let signals in flight arrive)
    qtbot.wait(100)
    seen = len(epochs)
    qtbot.wait(300)
    assert len(epochs) == seen
    controller.resume()
    qtbot.waitUntil(lambda: len(epochs) > seen, timeout=TIMEOUT)
    thread = controller.thread
    controller.stop()
    assert controller.state == "finished" and not controller.in_progress
    assert thread.isFinished()
    assert epochs == list(range(2, 2 + len(epochs)))  # no epoch lost or repeated


def test_run_finishes_by_itself_after_its_epochs(qtbot, controller, small_data):
    epochs = []
    controller.epochFinished.connect(lambda s: epochs.append(s.epochs_done))
    with qtbot.waitSignal(controller.runFinished, timeout=TIMEOUT):
        controller.prepare(config(epochs=2), small_data)
        controller.resume()
    assert epochs == [0, 1, 2]
    assert controller.state == "finished" and controller.thread is None


def test_eta_change_while_running_reaches_the_next_snapshots(qtbot, controller, small_data):
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT):
        controller.prepare(config(epochs=500), small_data)
    controller.resume()
    with qtbot.waitSignal(controller.progressed, timeout=TIMEOUT, check_params_cb=lambda p: p.examples_seen):
        pass
    progress: list[ProgressSnapshot] = []
    controller.progressed.connect(progress.append)
    with qtbot.waitSignal(controller.settingChanged, timeout=TIMEOUT) as blocker:
        controller.set_eta(0.25)
    change = blocker.args[0]
    assert (change.name, change.old, change.new) == ("eta", 3.0, 0.25)
    qtbot.waitUntil(lambda: any(p.step > change.step for p in progress), timeout=TIMEOUT)
    assert all(p.eta == 0.25 for p in progress if p.step > change.step)
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT) as blocker:
        pass
    assert blocker.args[0].eta == 0.25


def test_weights_are_sampled_within_an_epoch(qtbot, controller, small_data):
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT):
        controller.prepare(config(), small_data)
    with qtbot.waitSignal(controller.weightsSampled, timeout=TIMEOUT) as blocker:
        controller.step()
    sample = blocker.args[0]
    assert sample.weights[0].shape == (30, 784) and sample.weights[1].shape == (10, 30)
    assert not sample.weights[0].flags.writeable
    assert 0 < sample.position < 1


def test_a_bad_config_arrives_as_a_message_not_a_crash(qtbot, controller, small_data):
    # 3 output neurons cannot classify 10 digits: the core raises ConfigError in the worker
    with qtbot.waitSignal(controller.failed, timeout=TIMEOUT) as blocker:
        controller.prepare(config(sizes=(784, 30, 3)), small_data)
    assert "3 output neurons" in blocker.args[0]
    qtbot.waitUntil(lambda: controller.state == "finished", timeout=TIMEOUT)


def test_reset_drops_the_old_runs_queued_signals(qtbot, controller, small_data):
    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT):
        controller.prepare(config(epochs=500, mini_batch_size=10), small_data)
    controller.resume()
    qtbot.waitUntil(lambda: controller.controls is not None, timeout=TIMEOUT)
    seen: list = []
    controller.progressed.connect(seen.append)
    controller.epochFinished.connect(seen.append)
    qtbot.waitUntil(lambda: len(seen) > 3, timeout=TIMEOUT)
    # the old run keeps emitting until it stops; none of that may arrive after the reset
    controller.prepare(config(epochs=500, mini_batch_size=7), small_data)
    seen.clear()
    controller.resume()
    qtbot.waitUntil(lambda: len(seen) > 20, timeout=TIMEOUT)
    batches = {s.batches_per_epoch for s in seen if isinstance(s, ProgressSnapshot)}
    assert batches == {143}  # 1000 digits / 7 per mini-batch, rounded up: only the new run


def test_shutdown_while_paused_is_prompt(qtbot, controller, small_data):
    import time

    with qtbot.waitSignal(controller.epochFinished, timeout=TIMEOUT):
        controller.prepare(config(), small_data)
    thread = controller.thread
    t0 = time.perf_counter()
    controller.shutdown()
    assert time.perf_counter() - t0 < 0.5
    assert thread.isFinished() and controller.state == "idle"
