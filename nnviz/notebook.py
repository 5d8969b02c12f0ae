"""nnviz from Python: :func:`show` opens the window on the book's own objects, :func:`watch`
shows a live dashboard while the book's ``net.SGD(...)`` runs. ``import nnviz`` stays
light: Qt is imported only when a window is opened.

Blocking from a script (the call returns when the window is closed), non-blocking from
IPython or Jupyter with a Qt event loop (``%gui qt``): the notebook keeps the handle and
reads the run's history back from it while the window lives, or after.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np

from nnviz.core.data import Dataset, load_bundled
from nnviz.core.errors import ConfigError
from nnviz.core.history import History
from nnviz.core.network import Network, _stack_pairs
from nnviz.core.training import EpochSnapshot, ProgressSnapshot, check_data_fits

SOURCE = "your data (from Python)"  # how the window names data given to show()
SETTINGS = ("eta", "epochs", "mini_batch_size", "cost", "seed", "dtype", "hidden", "speed", "start", "block")
_alive: list = []  # windows opened without blocking: kept until closed (and torn down at exit)


# --------------------------------------------------------------------------- data


def _split(data: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The book's list of ``(x, y)`` pairs (y a label or a one-hot column), an ``(images,
    labels)`` pair of arrays, or a Dataset (its test split) as ``(images, labels)``."""
    if isinstance(data, Dataset):
        return data.test_images, data.test_labels
    if isinstance(data, tuple) and len(data) == 2 and all(isinstance(a, np.ndarray) for a in data) \
            and data[0].ndim == 2:
        return data
    try:
        pairs = list(data)
    except TypeError:
        raise ConfigError(f"{what} must be a list of (x, y) pairs, an (images, labels) pair of arrays "
                          f"or an nnviz Dataset, not {type(data).__name__}") from None
    if not pairs:
        raise ConfigError(f"{what} is empty")
    try:
        return _stack_pairs(pairs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{what} must be a list of (x, y) pairs as the book's loader makes them ({e})") from None


def as_dataset(training_data: Any = None, test_data: Any = None) -> Dataset:
    """A Dataset from the book's objects: ``training_data`` (a list of ``(x, y)`` pairs, or
    a Dataset) and ``test_data`` (``(x, label)`` pairs, or a Dataset whose test split is
    used). Neither: the bundled digits; only ``test_data``: the bundled training digits,
    tested on yours."""
    if isinstance(training_data, Dataset) and test_data is None:
        return training_data
    if training_data is None:
        base = load_bundled()
        if test_data is None:
            return base
        train = (base.train_images, base.train_labels)
        validation = (None, None)
        description = f"bundled training digits, tested on {SOURCE}"
    elif isinstance(training_data, Dataset):
        train = (training_data.train_images, training_data.train_labels)
        validation = (training_data.validation_images, training_data.validation_labels)
        description = f"{training_data.description or training_data.name}, tested on {SOURCE}"
    else:
        if test_data is None:
            raise ConfigError("give test_data too: the window measures the accuracy on it after each epoch")
        train = _split(training_data, "training_data")
        validation = (None, None)
        description = SOURCE
    test = _split(test_data, "test_data")
    names = training_data.class_names if isinstance(training_data, Dataset) else None
    if isinstance(test_data, Dataset) and names is None:
        names = test_data.class_names
    return Dataset(name="python", train_images=train[0], train_labels=train[1], test_images=test[0],
                   test_labels=test[1], validation_images=validation[0], validation_labels=validation[1],
                   description=description, class_names=names)


# --------------------------------------------------------------------------- the event loop


def qt_loop_running() -> bool:
    """True if something already runs Qt's event loop: IPython/Jupyter after ``%gui qt``,
    or a Qt application's exec()."""
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
    except ImportError:
        get_ipython = None
    if get_ipython is not None:
        shell = get_ipython()
        if shell is not None and str(getattr(shell, "active_eventloop", None) or "").startswith("qt"):
            return True
    from PySide6.QtCore import QThread

    return QThread.currentThread().loopLevel() > 0


def _app() -> Any:
    from nnviz.gui.app import _check_display, make_app

    _check_display(False)
    return make_app()


def _wait_closed(widget: Any) -> None:
    """Run Qt's event loop until ``widget`` is closed (hidden and not minimised)."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject

    if not widget.isVisible():
        return
    loop = QEventLoop()

    class _Closed(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if event.type() in (QEvent.Hide, QEvent.Close) and not widget.isVisible():
                loop.quit()
            return False

    closed = _Closed()
    widget.installEventFilter(closed)
    try:
        if widget.isVisible():
            loop.exec()
    finally:
        import shiboken6

        if shiboken6.isValid(widget):
            widget.removeEventFilter(closed)


def _tear_down_at_exit() -> None:
    import shiboken6
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    from nnviz.gui.app import tear_down

    for run in list(_alive):
        if shiboken6.isValid(run.window):
            run._keep_history()
            tear_down(app, run.window)
    _alive.clear()


def _keep_alive(run: Any) -> None:
    if not _alive:
        import atexit

        atexit.register(_tear_down_at_exit)
    _alive.append(run)


# --------------------------------------------------------------------------- history


def history_dict(history: History) -> dict[str, Any]:
    """A run's history without pandas: one numpy array per per-epoch column (``epoch``,
    ``test_correct``, ``test_accuracy``, ``training_cost``, ``eta``, ``seconds``, ...;
    ``cost`` is a list of names), ``cost_curve`` as an ``(n, 2)`` array of (epochs,
    running cost), and ``changes`` as a list of dicts (the live changes of eta or cost)."""
    from nnviz.core.history import CSV_FIELDS

    rows = history.rows()
    out: dict[str, Any] = {}
    for key in CSV_FIELDS:
        values = [r[key] for r in rows]
        if key == "cost":
            out[key] = values
        elif key.endswith(("_correct", "_total")) or key == "epoch":
            out[key] = np.array(values, dtype=np.int64)
        else:
            out[key] = np.array(values, dtype=np.float64)
    out["cost_curve"] = np.array(history.cost_curve, dtype=np.float64).reshape(-1, 2)
    out["changes"] = [dataclasses.asdict(c) for c in history.changes]
    return out


def _network_from(history: History, config: Any) -> Network | None:
    last = next((e for e in reversed(history.epochs) if e.weights), None)
    if last is None:
        return None
    net = Network([w.shape[1] for w in last.weights[:1]] + [w.shape[0] for w in last.weights],
                  seed=getattr(config, "seed", None), dtype=last.weights[0].dtype, cost=last.cost or "quadratic")
    net.weights, net.biases = last.weights, last.biases
    return net


# --------------------------------------------------------------------------- show


class Run:
    """The handle :func:`show` returns: the window (while open), and the run's history."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self._history: History | None = None
        self._config = None

    def _keep_history(self) -> None:
        import shiboken6

        if shiboken6.isValid(self.window):
            self._history = self.window.history
            self._config = self.window.controller.config

    @property
    def is_open(self) -> bool:
        import shiboken6

        return shiboken6.isValid(self.window) and self.window.isVisible()

    @property
    def _live_history(self) -> History:
        self._keep_history()
        return self._history if self._history is not None else History()

    @property
    def history(self) -> dict[str, Any]:
        """The run's history now, as :func:`history_dict` gives it."""
        return history_dict(self._live_history)

    def network(self) -> Network | None:
        """A Network holding the weights after the latest epoch (None before the first)."""
        history = self._live_history
        return _network_from(history, self._config)

    def wait(self) -> "Run":
        """Block until the window is closed (the event loop runs meanwhile)."""
        import shiboken6

        if shiboken6.isValid(self.window):
            _wait_closed(self.window)
            self._keep_history()
            from PySide6.QtWidgets import QApplication

            from nnviz.gui.app import tear_down

            tear_down(QApplication.instance(), self.window)
            if self in _alive:
                _alive.remove(self)
        return self

    def close(self) -> None:
        """Close the window (the history stays readable)."""
        if self.is_open:
            self._keep_history()
            self.window.close()


def show(net: Network | None = None, training_data: Any = None, test_data: Any = None, **settings: Any) -> Run:
    """Open nnviz's window on the book's objects and return a :class:`Run` handle.

    ``net``: the book's ``Network`` (``nnviz.core.network.Network``) to start from (its
    sizes, weights, dtype and cost; it is not changed: ``run.network()`` gives the trained
    one); ``training_data`` / ``test_data``: the book's lists of ``(x, y)`` pairs or nnviz
    Datasets (neither: the bundled digits; only ``test_data``: test on yours). Settings:
    ``eta``, ``epochs``, ``mini_batch_size``, ``cost``, ``seed``, ``dtype``, ``hidden`` (e.g.
    ``(30,)``), ``speed`` (digits a second, None: as fast as possible; default: a lecture pace), ``start=True`` (start training
    at once), ``block`` (default: block unless a Qt event loop already runs, as in IPython
    or Jupyter after ``%gui qt``).
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise TypeError(f"show() got unknown settings {', '.join(unknown)} (known: {', '.join(SETTINGS)})")
    if net is not None and not isinstance(net, Network):
        raise ConfigError(f"net must be an nnviz.core.network.Network, not {type(net).__name__}")
    data = as_dataset(training_data, test_data)
    if net is not None:
        check_data_fits(tuple(net.sizes), data)
    block = settings.pop("block", None)
    start = bool(settings.pop("start", False))
    app = _app()
    from nnviz.gui.main_window import MainWindow

    def load(source: str, progress: Any = None, cancel: Any = None) -> Dataset:
        return data

    kw = {"speed": settings.pop("speed")} if "speed" in settings else {}
    window = MainWindow(SOURCE, settings=None, load=load, ask_to_save=False, **kw)
    run = Run(window)

    def on_ready() -> None:
        window.dataReady.disconnect(on_ready)
        panel = window.panel
        if net is not None:
            settings.setdefault("hidden", tuple(net.sizes[1:-1]))
            settings.setdefault("dtype", net.dtype.name)
            settings.setdefault("cost", net.cost.name)
        panel.set_values(**{k: settings[k] for k in ("eta", "cost", "epochs", "mini_batch_size", "hidden", "seed",
                                                      "dtype") if k in settings}, emit=False)
        config = panel.config(n_pixels=data.train_images.shape[1])
        if net is not None:
            config = dataclasses.replace(config, sizes=tuple(net.sizes))
            weights, biases = net.copy_params()
            first = EpochSnapshot(epochs_done=0, test_correct=0, test_total=0, validation_correct=0,
                                  validation_total=0, training_cost=math.nan, test_cost=math.nan, seconds=0.0,
                                  eta=config.eta, cost=config.cost, step=0, weights=weights, biases=biases)
            window.prepare_run(config, start=first, why=None)
        else:
            window.new_run(None)
        if start:
            window.toggle_run()

    window.dataReady.connect(on_ready)
    window.resize(1280, 720)
    window.show()
    window.start()
    if block is None:
        block = not qt_loop_running()
    if block:
        return run.wait()
    _keep_alive(run)
    return run


# --------------------------------------------------------------------------- watch


class Watch:
    """``with nnviz.watch(net, test_data) as w: net.SGD(...)``: a live dashboard (test
    accuracy, training cost, the hidden neurons' weights) while the book's SGD runs in
    this thread. It splits each epoch's mini-batches into short runs and lets Qt draw
    between them; the network's numbers are exactly those of an unwatched run."""

    FRAME = 1 / 15  # seconds between redraws

    def __init__(self, net: Network, test_data: Any = None, block: bool | None = None) -> None:
        if not isinstance(net, Network):
            raise ConfigError(f"watch() needs an nnviz.core.network.Network, not {type(net).__name__}")
        self.net = net
        self.test = _split(test_data, "test_data") if test_data is not None else None
        if self.test is not None:
            check_data_fits(tuple(net.sizes), Dataset(name="test", train_images=self.test[0][:1],
                                                      train_labels=self.test[1][:1], test_images=self.test[0],
                                                      test_labels=self.test[1]))
        self.block = block
        self._history = History(keep_weights="last")
        self.window: Any = None
        self._epochs_done = 0
        self._target = 0
        self._step = 0
        self._last_draw = 0.0

    @property
    def history(self) -> dict[str, Any]:
        return history_dict(self._history)

    # ---------------------------------------------------------------- the dashboard
    def _build(self) -> None:
        from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

        from nnviz.gui.views.heatmaps import HeatmapView
        from nnviz.gui.views.plots import AccuracyPlot, CostPlot
        from nnviz.gui.widgets import captioned

        self.accuracy, self.cost, self.heatmaps = AccuracyPlot(), CostPlot(), HeatmapView()
        window = QWidget()
        window.setWindowTitle("nnviz — watching net.SGD")
        layout = QVBoxLayout(window)
        self.status = QLabel("Waiting for net.SGD(…)")
        self.status.setObjectName("viewTitle")
        layout.addWidget(self.status)
        plots = QWidget()
        col = QVBoxLayout(plots)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(captioned("Test accuracy", self.accuracy.widget, AccuracyPlot.caption), 1)
        col.addWidget(captioned("Training cost", self.cost.widget, CostPlot.caption), 1)
        split = QSplitter()
        split.addWidget(plots)
        split.addWidget(self.heatmaps)
        layout.addWidget(split, 1)
        window.resize(1200, 700)
        self.window = window

    def _alive(self) -> bool:
        import shiboken6

        return self.window is not None and shiboken6.isValid(self.window)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self._alive() or (not force and now - self._last_draw < self.FRAME):
            return
        self._last_draw = now
        if self.window.isVisible():
            self.heatmaps.set_weights(self.net.copy_params()[0])
            for view in (self.accuracy, self.cost, self.heatmaps):
                view.render()
        self._app.processEvents()

    def _epoch(self, seconds: float, cost_sum: float, n: int, eta: float) -> EpochSnapshot:
        weights, biases = self.net.copy_params()
        correct, total = (self.net.accuracy(*self.test), len(self.test[1])) if self.test is not None else (0, 0)
        return EpochSnapshot(epochs_done=self._epochs_done, test_correct=correct, test_total=total,
                             validation_correct=0, validation_total=0,
                             training_cost=cost_sum / n if n else math.nan, test_cost=math.nan, seconds=seconds,
                             eta=eta, cost=self.net.cost.name, step=self._step, weights=weights, biases=biases)

    def _add_epoch(self, snap: EpochSnapshot) -> None:
        self._history.add(snap)
        if self._alive():
            self.accuracy.set_target_epochs(max(self._target, snap.epochs_done))
            self.cost.set_target_epochs(max(self._target, snap.epochs_done))
            self.accuracy.add_epoch(snap)
            self.cost.add_epoch(snap)
            line = snap.book_line() if snap.epochs_done else "Before training"
            self.status.setText(f"{line}  (epoch {snap.epochs_done}"
                                + (f" of {self._target})" if self._target else ")"))
        self._draw(force=True)

    # ---------------------------------------------------------------- the hooks
    def _sgd(self, training_data, epochs, mini_batch_size, eta, test_data=None):  # noqa: N802
        self._target = self._epochs_done + int(epochs)
        return Network.SGD(self.net, training_data, epochs, mini_batch_size, eta, test_data=test_data)

    def _sgd_steps(self, data, order, start, n_batches, m, eta, stop_flag=None, cost_sum=0.0, track_cost=True):
        """The network's own sgd_steps, in runs of about a frame; an epoch ends when a call
        reaches the end of ``order`` from its start (as the book's SGD calls it)."""
        n = len(order)
        began = time.perf_counter()
        epoch_start = int(start) == 0
        total_done, chunk, own_cost = 0, 1, 0.0
        position = int(start)
        n_batches = int(n_batches)
        while total_done < n_batches and position < n:
            t0 = time.perf_counter()
            own_cost, done = Network.sgd_steps(self.net, data, order, position, min(chunk, n_batches - total_done),
                                               m, eta, stop_flag=stop_flag, cost_sum=own_cost, track_cost=True)
            if not done:
                break
            total_done += done
            position += done * int(m)
            self._step += done
            seen = min(position, n)
            elapsed = time.perf_counter() - t0
            chunk = max(1, min(chunk * 2, int(chunk * self.FRAME / elapsed) if elapsed > 0 else chunk * 2))
            if self._alive() and epoch_start:
                self.cost.add_progress(ProgressSnapshot(
                    epoch=self._epochs_done, batch=seen // int(m), batches_per_epoch=-(-n // int(m)),
                    examples_seen=seen, n_train=n, running_cost=own_cost / seen, eta=float(eta),
                    cost=self.net.cost.name, step=self._step, elapsed=time.perf_counter() - began,
                    examples_per_second=seen / max(time.perf_counter() - began, 1e-9), paused=False))
            self._draw()
        if epoch_start and position >= n:
            self._epochs_done += 1
            self._add_epoch(self._epoch(time.perf_counter() - began, own_cost, n, float(eta)))
        return (cost_sum + own_cost if track_cost else cost_sum), total_done

    # ---------------------------------------------------------------- context manager
    def __enter__(self) -> "Watch":
        self._app = _app()
        self._build()
        self.window.show()
        self.net.SGD = self._sgd
        self.net.sgd_steps = self._sgd_steps
        self._add_epoch(self._epoch(0.0, 0.0, 0, math.nan))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for name in ("SGD", "sgd_steps"):
            self.net.__dict__.pop(name, None)
        self._draw(force=True)
        block = self.block if self.block is not None else not qt_loop_running()
        if exc_type is None and block and self._alive():
            _wait_closed(self.window)
        if block and self._alive():
            self.close()

    def close(self) -> None:
        """Close and delete the dashboard (the history stays readable)."""
        if self._alive():
            from nnviz.gui.app import tear_down

            tear_down(self._app, self.window)
        self.window = None


def watch(net: Network, test_data: Any = None, *, block: bool | None = None) -> Watch:
    """A context manager: ``with nnviz.watch(net, test_data): net.SGD(training_data, 30,
    10, 3.0)`` shows a live dashboard while the book's call runs (``test_data``: the
    book's ``(x, label)`` pairs, or a Dataset; the accuracy after each epoch is measured on
    it). ``block``: at the end, wait until the window is closed (default: from a script
    yes, in IPython or Jupyter with ``%gui qt`` no)."""
    return Watch(net, test_data, block=block)
