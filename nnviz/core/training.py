"""Training for a live app: a generator that runs SGD and yields immutable snapshots.

``train(config, data, controls)`` runs the book's mini-batch SGD one mini-batch at a
time. Before every mini-batch it reads the shared :class:`Controls` (eta, cost, pause,
stop, single step), so a change takes effect at the next mini-batch. It yields:

- :class:`EpochSnapshot` once before training (``epochs_done == 0``) and after each
  epoch: accuracy on the test (and validation) data, costs, seconds, eta, and
  read-only copies of the weights and biases;
- :class:`ProgressSnapshot` within an epoch, about every ``progress_interval`` seconds
  (or every ``progress_every`` mini-batches, which is deterministic), and at least
  up to ``progress_per_epoch`` times an epoch when epochs are shorter than that many
  intervals (so short epochs still show a live curve), but never more often than
  every tenth of ``progress_interval``;
- :class:`SettingChanged` when a live change of eta or cost takes effect;
- :class:`StepRecord` after a mini-batch, only when asked for (``controls.step_records``)
  and only for a single step (N) or at a slow pace (at most ``STEP_RECORD_MAX_RATE``
  mini-batches a second): what that one step of SGD did, for the slow-motion view.

Pace: ``controls.speed`` is a maximum rate in digits (training examples) a second, or
None for as fast as possible. The loop waits on the Controls' condition until the next
mini-batch is due, so a paced run uses no CPU while it waits and wakes at once on a
pause, stop, step or change of speed. The pace never changes the arithmetic.

The same seed and the same controls give bit-for-bit the same epochs and changes, at
any pace.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Union

import numpy as np

from nnviz.core.codings import BINARY, coding_for
from nnviz.core.costs import get_cost
from nnviz.core.errors import ConfigError, NnvizError
from nnviz.core.network import Network, parse_dtype, parse_sizes

ETA_MIN, ETA_MAX = 1e-6, 1e6
SPEED_MIN, SPEED_MAX = 0.01, 1e9   # digits a second (None: as fast as possible)
PACE_SLACK = 0.25                   # seconds behind the pace's schedule before it starts afresh
STEP_RECORD_MAX_RATE = 5.0          # mini-batches a second at or below which steps are recorded


class TrainingDiverged(NnvizError):
    """The weights became infinite or NaN: eta is far too large for this network."""


def check_eta(eta: Any) -> float:
    """eta as a positive, finite float, or a ConfigError that says why not."""
    try:
        value = float(eta)
    except (TypeError, ValueError):
        raise ConfigError(f"eta must be a number, got {eta!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"eta must be a positive number, got {eta!r}")
    if not ETA_MIN <= value <= ETA_MAX:
        raise ConfigError(f"eta must lie between {ETA_MIN:g} and {ETA_MAX:g}, got {eta!r}")
    return value


def check_speed(speed: Any) -> float | None:
    """A pace in digits a second as a positive, finite float; None (or 'max') for no limit."""
    if speed is None or (isinstance(speed, str) and speed.strip().lower() in ("max", "inf")):
        return None
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise ConfigError(f"speed must be a number of digits a second or 'max', got {speed!r}") from None
    if math.isinf(value) and value > 0:
        return None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"speed must be a positive number of digits a second or 'max', got {speed!r}")
    if not SPEED_MIN <= value <= SPEED_MAX:
        raise ConfigError(f"speed must lie between {SPEED_MIN:g} and {SPEED_MAX:g} digits a second, got {speed!r}")
    return value


def _check_positive_int(name: str, value: Any) -> int:
    try:
        n = int(value)
        if n != float(value):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if n < 1:
        raise ConfigError(f"{name} must be at least 1, got {value!r}")
    return n


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. ``seed=None`` means: pick one and record it."""

    sizes: tuple[int, ...] = (784, 30, 10)
    epochs: int = 30
    mini_batch_size: int = 10
    eta: float = 3.0
    cost: str = "quadratic"
    seed: int | None = None
    dtype: str = "float64"
    progress_interval: float = 0.1
    progress_every: int | None = None
    progress_per_epoch: int = 0
    outputs: str = "one-hot"    # the output coding: 'one-hot' (10 outputs) or 'binary' (4)

    def validated(self) -> TrainConfig:
        """A copy with every field checked and normalised (ConfigError otherwise)."""
        seed = self.seed
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**31))
        else:
            try:
                seed = int(seed)
            except (TypeError, ValueError):
                raise ConfigError(f"seed must be a whole number, got {self.seed!r}") from None
            if seed < 0:
                raise ConfigError(f"seed must be 0 or more, got {self.seed!r}")
        if self.progress_every is not None:
            _check_positive_int("progress_every", self.progress_every)
        if self.progress_per_epoch:
            _check_positive_int("progress_per_epoch", self.progress_per_epoch)
        return replace(
            self,
            sizes=tuple(parse_sizes(self.sizes)),
            epochs=_check_positive_int("epochs", self.epochs),
            mini_batch_size=_check_positive_int("mini-batch size", self.mini_batch_size),
            eta=check_eta(self.eta),
            cost=get_cost(self.cost).name,
            seed=seed,
            dtype=parse_dtype(self.dtype).name,
            progress_interval=max(0.0, float(self.progress_interval)),
            outputs=_check_outputs(self.outputs, self.sizes),
        )


class _CountingCondition(threading.Condition):
    """A Condition that counts how often it is entered, in ``changes[0]``: every change
    of the :class:`Controls` happens under it, so a compiled chunk of mini-batches that
    watches ``changes`` ends at the next mini-batch after any change."""

    def __init__(self) -> None:
        super().__init__()
        self.changes = np.zeros(1, dtype=np.int64)

    def __enter__(self) -> bool:
        entered = super().__enter__()
        self.changes[0] += 1
        return entered


class Controls:
    """Live settings shared between the caller (e.g. the GUI thread) and the training
    loop, which reads them before every mini-batch. All methods are thread-safe."""

    def __init__(self, eta: float = 3.0, cost: str = "quadratic", epochs: int | None = None,
                 paused: bool = False, speed: float | None = None, step_records: bool = False) -> None:
        self._cond = _CountingCondition()
        self._speed = check_speed(speed)
        self.step_records = bool(step_records)  # yield StepRecords (slow pace, single steps)
        self._single_step = False  # the mini-batch now running was allowed by step()
        self._eta = check_eta(eta)
        self._cost = get_cost(cost).name
        self._epochs = epochs
        self._paused = paused
        self._stop = False
        self._steps = 0            # mini-batches allowed while paused
        self._step_epoch = False   # while paused: run to the end of the current epoch

    @property
    def changes(self) -> np.ndarray:
        """``changes[0]`` grows at every change (read by the compiled training kernel)."""
        return self._cond.changes

    # settings
    @property
    def eta(self) -> float:
        return self._eta

    def set_eta(self, eta: float) -> None:
        value = check_eta(eta)
        with self._cond:
            self._eta = value
            self._cond.notify_all()

    @property
    def cost(self) -> str:
        return self._cost

    def set_cost(self, cost: str) -> None:
        name = get_cost(cost).name
        with self._cond:
            self._cost = name
            self._cond.notify_all()

    @property
    def speed(self) -> float | None:
        """The pace: at most this many digits (training examples) a second; None: no limit."""
        return self._speed

    def set_speed(self, speed: float | None) -> None:
        value = check_speed(speed)
        with self._cond:
            self._speed = value
            self._cond.notify_all()   # a waiting mini-batch recomputes when it is due

    @property
    def epochs(self) -> int | None:
        """Target number of epochs (None: the config's). Read at every epoch's end."""
        return self._epochs

    def set_epochs(self, epochs: int) -> None:
        n = _check_positive_int("epochs", epochs)
        with self._cond:
            self._epochs = n

    # run state
    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._steps = 0
            self._step_epoch = False
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._steps = 0
            self._step_epoch = False
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def step(self, batches: int = 1) -> None:
        """Pause (if running) and let exactly ``batches`` more mini-batches run."""
        with self._cond:
            self._paused = True
            self._step_epoch = False
            self._steps += max(1, int(batches))
            self._cond.notify_all()

    def step_epoch(self) -> None:
        """Pause (if running) and run to the end of the current epoch."""
        with self._cond:
            self._paused = True
            self._steps = 0
            self._step_epoch = True
            self._cond.notify_all()

    # used by the training loop
    def _may_run(self) -> bool:
        """True if one more mini-batch may run now (consumes a single step)."""
        if self._stop:
            return False
        self._single_step = False
        if not self._paused:
            return True
        with self._cond:
            if self._step_epoch:
                return True
            if self._steps > 0:
                self._steps -= 1
                self._single_step = True
                return True
            return False

    def _due(self, last_start: float, m: int) -> bool:
        """At a limited pace, wait until a mini-batch of ``m`` digits due at ``last_start``
        (time.monotonic) is followed by the next one. True when it is due
        (or there is nothing to wait for); False when woken early by a change (look again).
        Single steps (N) are never paced; a run to the epoch's end (E) is."""
        if self._speed is None:   # full speed: no lock, no clock
            return True
        with self._cond:
            if self._speed is None or self._stop or (self._paused and not self._step_epoch):
                return True
            left = last_start + m / self._speed - time.monotonic()
            if left <= 0:
                return True
            self._cond.wait(left)
            return False

    def wait_while_paused(self, seconds: float) -> bool:
        """Wait up to ``seconds`` while the run is paused and nothing is asked of it
        (no resume, step or stop). True if it is still so when the time is up."""
        deadline = time.monotonic() + max(0.0, seconds)
        with self._cond:
            while self._paused and not (self._stop or self._steps or self._step_epoch):
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._cond.wait(left)
            return False

    def _wait(self, timeout: float) -> None:
        with self._cond:
            if self._paused and not self._stop and not self._steps and not self._step_epoch:
                self._cond.wait(timeout)

    def _epoch_ended(self) -> None:
        with self._cond:
            self._step_epoch = False


@dataclass(frozen=True)
class ProgressSnapshot:
    """Progress within an epoch. ``epoch`` is the book's 0-based index of the epoch
    under way; ``running_cost`` the mean cost per example over it so far;
    ``first_example`` the position in the training set of the first digit of the latest
    mini-batch trained (None before the epoch's first)."""

    epoch: int
    batch: int
    batches_per_epoch: int
    examples_seen: int
    n_train: int
    running_cost: float
    eta: float
    cost: str
    step: int
    elapsed: float
    examples_per_second: float
    paused: bool
    first_example: int | None = None

    @property
    def fraction(self) -> float:
        """How far through the epoch, 0..1."""
        return self.examples_seen / self.n_train if self.n_train else 1.0


@dataclass(frozen=True)
class SettingChanged:
    """A live change of ``name`` ('eta' or 'cost') that took effect before mini-batch
    ``batch`` of epoch ``epoch`` (global mini-batch ``step``)."""

    name: str
    old: Any
    new: Any
    epoch: int
    batch: int
    step: int
    examples_seen: int
    n_train: int

    @property
    def position(self) -> float:
        """Where on an epochs axis the change happened (e.g. 2.5 = half-way through the third epoch)."""
        return self.epoch + (self.examples_seen / self.n_train if self.n_train else 0.0)


@dataclass(frozen=True, eq=False)
class EpochSnapshot:
    """The network after ``epochs_done`` epochs (0: before any training).

    ``weights[l]``: ``(sizes[l+1], sizes[l])``, ``biases[l]``: ``(sizes[l+1], 1)``,
    read-only copies. ``training_cost`` is the mean cost per example over the epoch
    (nan before training); ``seconds`` the time spent training in it (pauses excluded);
    ``first_example`` the position in the training set of the first digit of the epoch's
    last mini-batch (None for the snapshot a run starts with).
    """

    epochs_done: int
    test_correct: int
    test_total: int
    validation_correct: int
    validation_total: int
    training_cost: float
    test_cost: float
    seconds: float
    eta: float
    cost: str
    step: int
    weights: tuple[np.ndarray, ...] = field(repr=False)
    biases: tuple[np.ndarray, ...] = field(repr=False)
    first_example: int | None = None

    @property
    def epoch(self) -> int:
        """The book's 0-based epoch index (``Epoch j: n / N``); -1 before training."""
        return self.epochs_done - 1

    @property
    def test_accuracy(self) -> float:
        return self.test_correct / self.test_total if self.test_total else float("nan")

    @property
    def validation_accuracy(self) -> float:
        return self.validation_correct / self.validation_total if self.validation_total else float("nan")

    def book_line(self) -> str:
        """The line the book's ``SGD`` prints for this epoch."""
        if self.test_total:
            return f"Epoch {self.epoch}: {self.test_correct} / {self.test_total}"
        return f"Epoch {self.epoch} complete"

    def numbers(self) -> tuple:
        """Everything but wall-clock time: equal for equal runs."""
        return (self.epochs_done, self.test_correct, self.test_total, self.validation_correct,
                self.validation_total, repr(self.training_cost), repr(self.test_cost), self.eta, self.cost,
                self.step, tuple(w.tobytes() for w in self.weights), tuple(b.tobytes() for b in self.biases))


@dataclass(frozen=True, eq=False)
class StepRecord:
    """What one mini-batch of SGD did (eqs. 20-21: w -> w - (eta/m) sum_x dC_x/dw).

    The mini-batch is ``indices`` (positions in the training set) with ``images``
    ``(m, sizes[0])`` and ``labels`` ``(m,)``; ``outputs_before`` ``(m, sizes[-1])`` are
    the network's output activations before the step; ``cost_before`` / ``cost_after``
    the mean cost per digit of this mini-batch before and after the step (with the cost
    function in force). ``weight_steps[l]`` ``(sizes[l+1], sizes[l])`` and
    ``bias_steps[l]`` ``(sizes[l+1], 1)`` are the changes the step made (new - old);
    ``weights`` and ``biases`` the parameters after it.
    Every array is a read-only copy.
    """

    epoch: int
    batch: int
    step: int
    eta: float
    cost: str
    indices: np.ndarray = field(repr=False)
    images: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    outputs_before: np.ndarray = field(repr=False)
    cost_before: float
    cost_after: float
    weight_steps: tuple[np.ndarray, ...] = field(repr=False)
    bias_steps: tuple[np.ndarray, ...] = field(repr=False)
    weights: tuple[np.ndarray, ...] = field(repr=False)   # after the step
    biases: tuple[np.ndarray, ...] = field(repr=False)

    @property
    def m(self) -> int:
        return len(self.indices)

    @property
    def predictions_before(self) -> np.ndarray:
        """The network's answer for each digit before the step."""
        return self.outputs_before.argmax(axis=1)

    @property
    def correct_before(self) -> int:
        return int(np.count_nonzero(self.predictions_before == self.labels))


Snapshot = Union[EpochSnapshot, ProgressSnapshot, SettingChanged, StepRecord]


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffled order of the n training examples in epoch ``epoch`` (0-based).
    Depends only on (seed, epoch), so a run can be resumed or raced exactly."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def _check_outputs(outputs: Any, sizes: Any) -> str:
    """The output coding's name, checked against the output layer's size."""
    return coding_for(parse_sizes(sizes)[-1], outputs).name


def build_network(config: TrainConfig) -> Network:
    """The network a (validated) config starts from: N(0, 1) weights from its seed."""
    return Network(config.sizes, seed=config.seed, dtype=config.dtype, cost=config.cost, outputs=config.outputs)


def check_data_fits(sizes: tuple[int, ...], data: Any, outputs: str = "one-hot") -> None:
    """ConfigError if the data's images or labels do not fit the layer sizes."""
    n_pixels = data.train_images.shape[1]
    if sizes[0] != n_pixels:
        raise ConfigError(
            f"sizes start with {sizes[0]} input neurons but the images have {n_pixels} pixels: "
            f"use --sizes {n_pixels},...")
    n_classes = int(max(data.train_labels.max(initial=0), data.test_labels.max(initial=0))) + 1
    if sizes[-1] == BINARY.n_outputs and n_classes <= BINARY.n_classes and outputs == BINARY.name:
        pass   # 4 outputs writing digits 0-9 in binary
    elif sizes[-1] < n_classes:
        raise ConfigError(f"sizes end with {sizes[-1]} output neurons but the data has {n_classes} classes")
    if data.train_images.shape[0] == 0:
        raise ConfigError("the data has no training examples")


def train(
    config: TrainConfig,
    data: Any,
    controls: Controls | None = None,
    *,
    network: Network | None = None,
    start_epoch: int = 0,
    schedule: Mapping[int, Sequence[tuple[str, Any]]] | None = None,
    clock=time.perf_counter,
) -> Iterator[Snapshot]:
    """Train on ``data`` (a :class:`nnviz.core.data.Dataset`), yielding snapshots.

    ``network`` (default: a new one from ``config``) is trained in place.
    ``start_epoch`` continues a run from that many epochs done (the shuffling of each
    epoch depends only on the seed and its index). Stops when ``controls.stop()`` is
    called, after the target number of epochs, or raises :class:`TrainingDiverged`.
    ``schedule`` maps a global mini-batch step to ``(name, value)`` changes applied just
    before that mini-batch (to replay a lesson): 'eta' and 'cost' to ``controls``;
    'apply' (a sequence of :class:`nnviz.core.editor.NeuronEdit`) writes those edits into
    the network's weights, only between epochs (a step that starts an epoch, or the step
    at which training ends).
    """
    config = config.validated()
    check_data_fits(config.sizes, data, config.outputs)
    if controls is None:
        controls = Controls(eta=config.eta, cost=config.cost)
    net = network if network is not None else build_network(config)
    if list(net.sizes) != list(config.sizes):
        raise ConfigError(f"the network has sizes {net.sizes}, the config {list(config.sizes)}")
    if net.coding.name != config.outputs:
        raise ConfigError(f"the network's outputs are coded {net.coding.name}, the config's {config.outputs}")
    eta, cost = controls.eta, controls.cost
    net.set_cost(cost)
    train_set = net.prepare(data.train_images, data.train_labels)
    test = (np.asarray(data.test_images, dtype=net.dtype), data.test_labels)
    valid = None
    if getattr(data, "validation_images", None) is not None and len(data.validation_labels):
        valid = (np.asarray(data.validation_images, dtype=net.dtype), data.validation_labels)
    n = train_set.n
    m = config.mini_batch_size
    batches = (n + m - 1) // m
    step = start_epoch * batches
    # progress_per_epoch snapshots an epoch even when epochs are short, within a rate cap
    per_epoch = max(1, batches // config.progress_per_epoch) if config.progress_per_epoch else 0
    min_gap = config.progress_interval / 10
    # many mini-batches per call, ending early when a control changes, unless the controls
    # count mini-batches themselves (a subclass overriding _may_run: one per call)
    chunked = type(controls)._may_run is Controls._may_run
    flag = getattr(controls, "changes", None)
    scheduled = sorted(schedule) if schedule else []
    for s in scheduled:
        if s % batches and any(name == "apply" for name, _ in schedule[s]):
            raise ConfigError(f"edits can be written into the weights only between epochs, not before mini-batch "
                              f"{s % batches + 1} of epoch {s // batches + 1} ({batches} mini-batches an epoch)")
    per_batch = 0.0   # seconds per mini-batch, as last measured

    def step_record(idx: np.ndarray, before: tuple, epoch: int, batch: int) -> StepRecord:
        images = _frozen(np.array(data.train_images[idx], dtype=net.dtype))
        labels = _frozen(np.array(data.train_labels[idx]))
        w_after, b_after = net.copy_params()
        return StepRecord(
            epoch=epoch, batch=batch, step=step, eta=eta, cost=cost, indices=_frozen(np.array(idx)),
            images=images, labels=labels, outputs_before=before[0], cost_before=before[1],
            cost_after=net.total_cost(images, labels),
            weight_steps=tuple(_frozen(a - b) for a, b in zip(w_after, before[2])),
            bias_steps=tuple(_frozen(a - b) for a, b in zip(b_after, before[3])),
            weights=w_after, biases=b_after)

    def epoch_snapshot(done: int, train_cost: float, seconds: float, first: int | None = None) -> EpochSnapshot:
        _check_finite(net, done)
        weights, biases = net.copy_params()
        vc = net.accuracy(*valid) if valid is not None else 0
        return EpochSnapshot(
            epochs_done=done,
            test_correct=net.accuracy(*test), test_total=len(test[1]),
            validation_correct=vc, validation_total=len(valid[1]) if valid is not None else 0,
            training_cost=train_cost, test_cost=net.total_cost(*test), seconds=seconds,
            eta=eta, cost=cost, step=step, weights=weights, biases=biases, first_example=first)

    yield epoch_snapshot(start_epoch, float("nan"), 0.0)
    epoch = start_epoch
    last_start = -math.inf   # when the last mini-batch was due to start, time.monotonic() (the pace)
    while epoch < (controls.epochs or config.epochs) and not controls.stop_requested:
        order = epoch_order(config.seed, epoch, n)
        cost_sum = 0.0
        seconds = 0.0
        k = batch = since_progress = 0
        last_progress = now = clock()
        while k < n:
            if not controls._due(last_start, m):
                continue   # woken by a change before the next mini-batch was due: look again
            if not controls._may_run():
                if controls.stop_requested:
                    return
                if since_progress or batch == 0:
                    yield _progress(epoch, batch, batches, k, n, cost_sum, eta, cost, step, seconds, True,
                                    order, m)
                    since_progress = 0
                controls._wait(0.1)
                continue
            if schedule and step in schedule:
                _apply(controls, schedule[step], net)
            if controls.eta != eta:
                old, eta = eta, controls.eta
                yield SettingChanged("eta", old, eta, epoch, batch, step, k, n)
            if controls.cost != cost:
                old, cost = cost, controls.cost
                net.set_cost(cost)
                yield SettingChanged("cost", old, cost, epoch, batch, step, k, n)
            wall = time.monotonic()
            if controls.speed is not None:
                # keep to the ideal schedule (a late wake-up is made up at the next mini-batch),
                # unless the run fell behind it (a pause, a slow machine): then start afresh
                ideal = last_start + m / controls.speed
                last_start = ideal if wall - ideal < PACE_SLACK else wall
            else:
                last_start = wall
            before = None
            if controls.step_records and (controls._single_step or (
                    controls.speed is not None and controls.speed / m <= STEP_RECORD_MAX_RATE)):
                before = _before_step(net, data, order[k:k + m])
            # one mini-batch at a time when paused, paced or recorded; else a compiled chunk
            chunk = 1 if controls.paused or not chunked or controls.speed is not None else _chunk_size(
                batches - batch, step, since_progress, now - last_progress, per_batch, config,
                per_epoch, scheduled)
            t0 = clock()
            cost_sum, done = net.sgd_steps(train_set, order, k, chunk, m, eta, flag, cost_sum)
            now = clock()
            seconds += now - t0
            if before is not None:
                yield step_record(order[k:k + m], before, epoch, batch)
            per_batch = (now - t0) / done
            k = min(n, k + done * m)
            batch += done
            step += done
            since_progress += done
            if k < n and (
                controls.paused
                or (since_progress >= config.progress_every if config.progress_every
                    else now - last_progress >= config.progress_interval
                    or (per_epoch and since_progress >= per_epoch and now - last_progress >= min_gap))
            ):
                _check_finite(net, epoch + 1)
                yield _progress(epoch, batch, batches, k, n, cost_sum, eta, cost, step, seconds,
                                controls.paused, order, m)
                since_progress = 0
                last_progress = clock()
        controls._epoch_ended()
        epoch += 1
        yield epoch_snapshot(epoch, cost_sum / n, seconds, int(order[(batch - 1) * m]))
    if schedule and step in schedule and not controls.stop_requested:
        _apply(controls, schedule[step], net)   # e.g. edits written into the weights after the last epoch


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _before_step(net: Network, data: Any, idx: np.ndarray) -> tuple:
    """(outputs, mean cost, weights, biases) of the network on a mini-batch, before its step."""
    images = np.asarray(data.train_images[idx], dtype=net.dtype)
    labels = np.asarray(data.train_labels[idx])
    outputs = _frozen(net.outputs(images).copy())
    return (outputs, net.total_cost(images, labels), *net.copy_params())


def _chunk_size(left: int, step: int, since_progress: int, since_last: float, per_batch: float,
                config: TrainConfig, per_epoch: int, scheduled: Sequence[int]) -> int:
    """How many mini-batches to run in one call: to the next scheduled change, the next
    deterministic progress point, or about the time left to the next timed progress
    snapshot (at least one, at most the rest of the epoch)."""
    n = left
    i = bisect.bisect_right(scheduled, step)
    if i < len(scheduled):
        n = min(n, scheduled[i] - step)
    if config.progress_every:
        n = min(n, config.progress_every - since_progress)
    elif per_batch <= 0:
        n = 1   # the first call: measure the speed
    else:
        n = min(n, math.ceil((config.progress_interval - since_last) / per_batch))
        if per_epoch:  # a snapshot once per_epoch mini-batches have run and min_gap has passed
            to_gap = math.ceil((config.progress_interval / 10 - since_last) / per_batch)
            n = min(n, max(per_epoch - since_progress, to_gap))
    return max(1, n)


def _apply(controls: Controls, changes: Sequence[tuple[str, Any]], net: Network) -> None:
    for name, value in changes:
        if name == "eta":
            controls.set_eta(value)
        elif name == "cost":
            controls.set_cost(value)
        elif name == "apply":   # the neuron editor's edits, written into the weights
            from nnviz.core.editor import apply_edits

            net.weights, net.biases = apply_edits(net.weights, net.biases, value)
        else:
            raise ConfigError(f"unknown live setting {name!r}: expected 'eta', 'cost' or 'apply'")


def _progress(epoch: int, batch: int, batches: int, k: int, n: int, cost_sum: float, eta: float,
              cost: str, step: int, seconds: float, paused: bool, order: np.ndarray, m: int) -> ProgressSnapshot:
    return ProgressSnapshot(
        epoch=epoch, batch=batch, batches_per_epoch=batches, examples_seen=k, n_train=n,
        running_cost=cost_sum / k if k else float("nan"), eta=eta, cost=cost, step=step,
        elapsed=seconds, examples_per_second=k / seconds if seconds > 0 else 0.0, paused=paused,
        first_example=int(order[(batch - 1) * m]) if batch else None)


def _check_finite(net: Network, epochs: int) -> None:
    for wb in net._wb:
        if not np.isfinite(wb).all():
            raise TrainingDiverged(
                f"training diverged in epoch {epochs}: the weights became infinite or NaN; "
                f"try a smaller eta")
