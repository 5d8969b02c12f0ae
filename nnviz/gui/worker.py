"""The training worker: a QObject on its own QThread that drives ``core.training.train``.

The worker only iterates the core's generator and emits what it yields (immutable
snapshots). Live settings go through the core's thread-safe :class:`Controls`, which
the generator reads before every mini-batch. :class:`TrainingController` lives in the
GUI thread, owns the thread, and is the only object the window talks to.

Stopping: ``controls.stop()`` makes the generator return before its next mini-batch
(or within 0.1 s while paused); then the GUI thread calls ``thread.quit()`` and
``thread.wait()``. Nothing here waits on the GUI thread, so that cannot deadlock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from nnviz.core.errors import NnvizError
from nnviz.core.network import pin_blas_threads, warm_up
from nnviz.core.training import (
    Controls,
    EpochSnapshot,
    ProgressSnapshot,
    SettingChanged,
    StepRecord,
    TrainConfig,
    build_network,
    train,
)

log = logging.getLogger(__name__)
JOIN_TIMEOUT_MS = 5000  # then an error is logged, and the wait goes on

WEIGHTS_INTERVAL = 0.5  # seconds between weight samples sent within an epoch
PROGRESS_SEND_INTERVAL = 1 / 20  # seconds between progress snapshots sent to the GUI
WARM_UP_DELAY = 1.0  # seconds a new, paused run leaves to the window before loading the kernel


@dataclass(frozen=True, eq=False)
class WeightsSample:
    """Read-only copies of the network's weights and biases, taken within an epoch.

    ``weights[l]``: ``(sizes[l+1], sizes[l])``, ``biases[l]``: ``(sizes[l+1], 1)`` (every
    layer: the draw pad feeds its digit through the whole network).
    ``position`` is where on the epochs axis the sample was taken.
    """

    position: float
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...] = ()


class TrainingWorker(QObject):
    """Runs one training run in its thread; emits every snapshot the core yields."""

    snapshotReady = Signal(object)     # every EpochSnapshot / ProgressSnapshot / SettingChanged
    epochFinished = Signal(object)     # EpochSnapshot (also the untrained one, epochs_done == 0)
    progressed = Signal(object)        # ProgressSnapshot
    settingChanged = Signal(object)    # SettingChanged
    weightsSampled = Signal(object)    # WeightsSample, at most every WEIGHTS_INTERVAL s
    costPointsAdded = Signal(object)   # ((position, running cost), ...) of progress not sent on
    stepRecorded = Signal(object)      # StepRecord (slow pace or single step)
    preparing = Signal(bool)           # True while the compiled training kernel loads (or compiles)
    failed = Signal(str)               # a message for the user
    finished = Signal()

    def __init__(self, config: TrainConfig, data: Any, controls: Controls, *,
                 start: EpochSnapshot | None = None, weights_interval: float = WEIGHTS_INTERVAL,
                 schedule: dict | None = None) -> None:
        super().__init__()
        self.config = config
        self.data = data
        self.controls = controls
        self.start = start
        self.schedule = schedule  # {step: [(name, value)]}: a lesson's changes, replayed exactly
        self.weights_interval = weights_interval

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except NnvizError as e:  # TrainingDiverged, ConfigError: the user's to fix
            log.info("training stopped: %s", e)
            self.failed.emit(str(e))
        except Exception as e:  # a bug: report it, never take the app down
            log.exception("training failed")
            self.failed.emit(f"training failed unexpectedly: {type(e).__name__}: {e}")
        finally:
            self.finished.emit()

    def _run(self) -> None:
        # The network is built here, in the worker's thread, and never leaves it: only
        # read-only copies of its weights are sent out.
        global _blas_pinned
        if not _blas_pinned:   # once per process, off the GUI thread (threadpoolctl's scan costs 20 ms)
            _blas_pinned = True
            pin_blas_threads(1)
        net = build_network(self.config)
        start_epoch = 0
        if self.start is not None:  # continue from an earlier run's last epoch
            net.weights, net.biases = self.start.weights, self.start.biases
            start_epoch = self.start.epochs_done
        last_sample = last_sent = time.perf_counter()
        # Progress comes faster than the eye needs: send a snapshot at most every
        # PROGRESS_SEND_INTERVAL and the running cost of the others as one batch of points
        # (each signal costs the training thread a turn at Python's GIL).
        points: list[tuple[float, float]] = []
        for snap in train(self.config, self.data, self.controls, network=net, start_epoch=start_epoch,
                          schedule=self.schedule):
            self.snapshotReady.emit(snap)
            if isinstance(snap, ProgressSnapshot):
                now = time.perf_counter()
                if snap.paused or now - last_sent >= PROGRESS_SEND_INTERVAL:
                    last_sent = now
                    self._send_points(points)
                    self.progressed.emit(snap)
                elif snap.examples_seen:
                    points.append((snap.epoch + snap.fraction, snap.running_cost))
                if snap.examples_seen and (snap.paused or now - last_sample >= self.weights_interval):
                    last_sample = now
                    self.weightsSampled.emit(_sample(net, snap.epoch + snap.fraction))
            elif isinstance(snap, EpochSnapshot):
                last_sample = time.perf_counter()
                self._send_points(points)
                self.epochFinished.emit(snap)
                if self.config.dtype not in _warmed:   # before the first mini-batch, not in it
                    # A new run waits paused: the window's first frames come first, then
                    # the kernel loads while nobody needs it (at once if the run starts).
                    if self.controls is not None:
                        self.controls.wait_while_paused(WARM_UP_DELAY)
                        if self.controls.stop_requested:
                            continue
                    self.preparing.emit(True)
                    try:
                        warm_up(self.config.dtype)
                    finally:
                        _warmed.add(self.config.dtype)
                        self.preparing.emit(False)
            elif isinstance(snap, SettingChanged):
                self.settingChanged.emit(snap)
            elif isinstance(snap, StepRecord):
                self._send_points(points)
                self.stepRecorded.emit(snap)

    def _send_points(self, points: list[tuple[float, float]]) -> None:
        if points:
            self.costPointsAdded.emit(tuple(points))
            points.clear()


_blas_pinned = False   # the window's matrix products are all small: one BLAS thread (see pin_blas_threads)
_warmed: set[str] = set()   # dtypes whose compiled kernel this process has loaded


def _sample(net: Any, position: float) -> WeightsSample:
    return WeightsSample(position, *net.copy_params())


# the worker's signals that reach the GUI thread (``finished`` last)
RELAYED = ("epochFinished", "progressed", "settingChanged", "weightsSampled", "costPointsAdded",
           "stepRecorded", "preparing", "failed", "finished")


class _Relay(QObject):
    """Lives in the GUI thread and re-emits one run's signals there. Dropping it drops
    the run's signals still queued (Qt discards events posted to a deleted receiver)."""

    epochFinished = Signal(object)
    progressed = Signal(object)
    settingChanged = Signal(object)
    weightsSampled = Signal(object)
    costPointsAdded = Signal(object)
    stepRecorded = Signal(object)
    preparing = Signal(bool)
    failed = Signal(str)
    finished = Signal()

    def attach(self, worker: TrainingWorker) -> None:
        for name in RELAYED:
            getattr(worker, name).connect(getattr(self, name))


class TrainingController(QObject):
    """Owns the Controls, the worker and its QThread; lives in the GUI thread.

    States: ``idle`` (no run), ``ready`` (a new network, paused before its first
    mini-batch), ``running``, ``paused``, ``finished`` (the run ended or failed).
    Signals still queued from a run that has been replaced (reset) are dropped.
    """

    epochFinished = Signal(object)
    progressed = Signal(object)
    settingChanged = Signal(object)
    weightsSampled = Signal(object)
    costPointsAdded = Signal(object)
    stepRecorded = Signal(object)
    preparing = Signal(bool)
    failed = Signal(str)
    stateChanged = Signal(str)
    runFinished = Signal()
    paced = Signal(str)  # the user's 'pause', 'resume', 'step' or 'step_epoch' (a lesson records it)

    def __init__(self, parent: QObject | None = None, *, weights_interval: float = WEIGHTS_INTERVAL) -> None:
        super().__init__(parent)
        self.weights_interval = weights_interval
        self.speed: float | None = None   # the pace of every run, digits a second (None: max)
        self.controls: Controls | None = None
        self.config: TrainConfig | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._relay: _Relay | None = None
        self._state = "idle"

    # ---------------------------------------------------------------- state
    @property
    def state(self) -> str:
        return self._state

    @property
    def in_progress(self) -> bool:
        """True while a run has started and not ended (new-network settings are locked)."""
        return self._state in ("running", "paused")

    @property
    def thread(self) -> QThread | None:
        """The running training thread, if any (for tests and diagnostics)."""
        return self._thread

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    # ---------------------------------------------------------------- commands
    def prepare(self, config: TrainConfig, data: Any, *, start: EpochSnapshot | None = None,
                schedule: dict | None = None, controls: Controls | None = None) -> TrainConfig:
        """Drop any run and start a new one, paused before its first mini-batch.

        The worker yields the untrained network's epoch snapshot at once (or, with
        ``start``, continues from that epoch snapshot's weights). Returns the validated
        config (with its seed). Raises ConfigError for a bad config.
        """
        config = config.validated()
        self.shutdown()
        self.config = config
        # ``controls`` (paused, e.g. a lesson replay's) replaces the new run's own
        self.controls = controls or Controls(eta=config.eta, cost=config.cost, epochs=config.epochs, paused=True)
        self.controls.set_speed(self.speed)
        self.controls.step_records = True   # the Step tab shows slow and single steps
        thread = QThread()
        thread.setObjectName("nnviz-training")
        worker = TrainingWorker(config, data, self.controls, start=start, weights_interval=self.weights_interval,
                                schedule=schedule)
        worker.moveToThread(thread)
        relay = _Relay(self)
        relay.attach(worker)
        for name in RELAYED[:-1]:   # the run's signals, re-emitted as the controller's own
            getattr(relay, name).connect(getattr(self, name))
        relay.finished.connect(self._on_finished)
        thread.started.connect(worker.run)
        self._thread, self._worker, self._relay = thread, worker, relay
        thread.start()
        self._set_state("ready")
        return config

    def resume(self) -> None:
        if self.controls is not None and self._state in ("ready", "paused"):
            self.controls.resume()
            self._set_state("running")
            self.paced.emit("resume")

    def pause(self) -> None:
        if self.controls is not None and self._state == "running":
            self.controls.pause()
            self._set_state("paused")
            self.paced.emit("pause")

    def step(self) -> None:
        """Run exactly one mini-batch, then stay paused."""
        if self.controls is not None and self._state in ("ready", "running", "paused"):
            self.controls.step()
            self._set_state("paused")
            self.paced.emit("step")

    def step_epoch(self) -> None:
        """Run to the end of the current epoch, then stay paused."""
        if self.controls is not None and self._state in ("ready", "running", "paused"):
            self.controls.step_epoch()
            self._set_state("paused")
            self.paced.emit("step_epoch")

    def set_eta(self, eta: float) -> None:
        if self.controls is not None:
            self.controls.set_eta(eta)

    def set_cost(self, cost: str) -> None:
        if self.controls is not None:
            self.controls.set_cost(cost)

    def set_speed(self, speed: float | None) -> None:
        """The pace in digits a second (None: as fast as possible), now and for later runs."""
        self.speed = speed
        if self.controls is not None:
            self.controls.set_speed(speed)

    def set_epochs(self, epochs: int) -> None:
        if self.controls is not None:
            self.controls.set_epochs(epochs)

    def stop(self) -> None:
        """End the run, keeping what it has yielded; returns once its thread has ended."""
        if self._thread is not None:
            self._join()
            self._set_state("finished")

    def shutdown(self) -> None:
        """Stop the run and drop it: its signals still queued are discarded."""
        self._join()
        if self._relay is not None:
            self._relay.blockSignals(True)  # events already queued for it now go nowhere
            self._relay.deleteLater()
        self._relay = None
        self._worker = None
        self._set_state("idle")

    def _join(self) -> None:
        if self.controls is not None:
            self.controls.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.quit()
            if not thread.wait(JOIN_TIMEOUT_MS):  # a starved machine, or a generator ignoring stop
                log.error("the training thread did not stop within %d ms; waiting for it", JOIN_TIMEOUT_MS)
                thread.wait()  # a QThread destroyed while running aborts the whole process

    @Slot()
    def _on_finished(self) -> None:
        """The run ended by itself (target epochs, or an error): let its thread go."""
        if self._relay is None:
            return
        self._join()
        self._set_state("finished")
        self.runFinished.emit()
