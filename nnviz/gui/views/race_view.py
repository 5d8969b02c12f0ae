"""The η race: 2 to 4 networks from the same initial weights and the same shuffling
order, differing only in η (or the cost, or the mini-batch size), trained in lockstep
one epoch at a time by :class:`nnviz.core.race.Race`.

:class:`RaceWorker` drives ``Race.epochs()`` on a QThread (the lanes themselves run in
the race's thread pool: numpy releases the GIL in its matrix products, so two cores
help); :class:`RaceController` owns that thread and lives in the GUI thread;
:class:`RaceView` is the tab: lane settings, overlaid accuracy curves, and each
lane's hidden-neuron heatmap side by side.

Stopping: ``race.stop()`` makes every lane return before its next mini-batch; then the
GUI thread calls ``thread.quit()`` and ``thread.wait()``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nnviz.core.codings import get_coding
from nnviz.core.errors import ConfigError, NnvizError
from nnviz.core.race import BOOK_ETAS, MAX_LANES, MIN_LANES, Race, race_configs
from nnviz.core.training import EpochSnapshot, TrainConfig, check_eta
from nnviz.gui import style
from nnviz.gui.views.mosaic import symmetric_level, tile_mosaic
from nnviz.gui.views.plots import BOOK_ACCURACY, LegendRow, Series, _pen, _plot_widget, reference_sample
from nnviz.gui.widgets import captioned

log = logging.getLogger(__name__)

# Okabe & Ito's colour-blind-safe colours (orange, sky blue, bluish green, vermillion),
# plus a different symbol for each lane.
LANE_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#D55E00")
LANE_SYMBOLS = ("o", "s", "t", "d")
RENDER_INTERVAL_MS = 100
VARY = {  # what a race varies: label, default lane values, tooltip
    "eta": ("learning rate η", "0.001, 3, 100",
            "The lanes' learning rates, 2 to 4 of them, e.g. 0.001, 3, 100 (the book's three)."),
    "cost": ("cost function", "quadratic, cross-entropy",
             "The lanes' cost functions: quadratic (chapter 1) and/or cross-entropy (chapter 3)."),
    "mini_batch_size": ("mini-batch size", "1, 10, 100",
                        "The lanes' mini-batch sizes, 2 to 4 of them, e.g. 1, 10, 100."),
    "hidden": ("hidden neurons", "15, 30, 100",
               "The lanes' hidden layers, e.g. 15, 30, 100 (\"we might start with n = 15\"); 30+10 is two "
               "hidden layers. Networks of different sizes cannot share initial weights: each lane draws "
               "its own from the same seed."),
    "outputs": ("output coding", "one-hot, binary",
                "10 one-hot outputs (one per digit) against 4 binary-coded outputs (the digit's 4 bits): "
                "the chapter's \"Why not binary?\"."),
}
VARY_KEYWORD = {"eta": "etas", "cost": "costs", "mini_batch_size": "batch_sizes", "hidden": "hidden",
                "outputs": "outputs"}
BOOK_PRESET = "The book's three learning rates"
SIZES_DIFFER = (" The networks differ in size, so they cannot share initial weights: each drew its own from "
                "the same seed (and all see the digits in the same order).")


def parse_lanes(vary: str, text: str) -> list[Any]:
    """'0.001, 3, 100' -> [0.001, 3.0, 100.0] for ``vary``; ConfigError with a reason otherwise."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    if not MIN_LANES <= len(parts) <= MAX_LANES:
        raise ConfigError(f"a race needs {MIN_LANES} to {MAX_LANES} lanes, separated by commas; got {len(parts)}")
    values: list[Any] = []
    for p in parts:
        p = p.strip()
        if vary == "eta":
            values.append(check_eta(p))
        elif vary == "cost":
            name = {"ce": "cross-entropy", "crossentropy": "cross-entropy"}.get(p.lower(), p.lower())
            if name not in ("quadratic", "cross-entropy"):
                raise ConfigError(f"a cost is 'quadratic' or 'cross-entropy', got {p!r}")
            values.append(name)
        elif vary == "hidden":
            try:
                layers = tuple(int(h) for h in p.split("+"))
            except ValueError:
                raise ConfigError(f"hidden neurons are whole numbers (30, or 30+10 for two layers), got {p!r}") from None
            if min(layers) < 1:
                raise ConfigError(f"a hidden layer needs at least 1 neuron, got {p!r}")
            values.append(layers)
        elif vary == "outputs":
            values.append(get_coding(p).name)
        else:
            try:
                m = int(p)
            except ValueError:
                raise ConfigError(f"a mini-batch size is a whole number, got {p!r}") from None
            if m < 1:
                raise ConfigError(f"a mini-batch size is at least 1, got {p!r}")
            values.append(m)
    return values


# ---------------------------------------------------------------------- thread
class RaceWorker(QObject):
    """Iterates ``race.epochs()`` in its thread and emits each epoch's results."""

    epochFinished = Signal(object)   # tuple: EpochSnapshot | NnvizError | None per lane
    failed = Signal(str)
    finished = Signal()

    def __init__(self, race: Race) -> None:
        super().__init__()
        self.race = race

    @Slot()
    def run(self) -> None:
        try:
            for results in self.race.epochs():
                self.epochFinished.emit(tuple(results))
        except NnvizError as e:
            self.failed.emit(str(e))
        except Exception as e:  # a bug: report it, never take the app down
            log.exception("the race failed")
            self.failed.emit(f"the race failed unexpectedly: {type(e).__name__}: {e}")
        finally:
            self.race.close()
            self.finished.emit()


class _Relay(QObject):
    """Re-emits one race's signals in the GUI thread; blocked when the race is dropped."""

    epochFinished = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def attach(self, worker: RaceWorker) -> None:
        worker.epochFinished.connect(self.epochFinished)
        worker.failed.connect(self.failed)
        worker.finished.connect(self.finished)


class RaceController(QObject):
    """Owns the race, its worker and its QThread; lives in the GUI thread."""

    epochFinished = Signal(object)
    failed = Signal(str)
    runningChanged = Signal(bool)
    raceFinished = Signal()

    def __init__(self, parent: QObject | None = None, *, workers: int = 2) -> None:
        super().__init__(parent)
        self.workers = workers
        self.race: Race | None = None
        self._thread: QThread | None = None
        self._relay: _Relay | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def thread(self) -> QThread | None:
        return self._thread

    def start(self, configs: Sequence[TrainConfig], data: Any) -> Race:
        """Drop any race and start a new one (ConfigError for bad lanes)."""
        self.shutdown()
        race = Race(configs, data, workers=self.workers)
        thread = QThread()
        thread.setObjectName("nnviz-race")
        worker = RaceWorker(race)
        worker.moveToThread(thread)
        relay = _Relay(self)
        relay.attach(worker)
        relay.epochFinished.connect(self.epochFinished)
        relay.failed.connect(self.failed)
        relay.finished.connect(self._on_finished)
        thread.started.connect(worker.run)
        self.race, self._thread, self._relay, self._worker = race, thread, relay, worker
        thread.start()
        self.runningChanged.emit(True)
        return race

    def stop(self) -> None:
        """Stop the race (its lanes end after their current mini-batch); keeps what it showed."""
        if self._thread is None:
            return
        self._join()
        self._drop_relay()  # an epoch the race finished while stopping is not shown
        self.runningChanged.emit(False)
        self.raceFinished.emit()

    def shutdown(self) -> None:
        """Stop the race and drop its signals still queued."""
        was_running = self._thread is not None
        self._join()
        self._drop_relay()
        if was_running:
            self.runningChanged.emit(False)

    def _drop_relay(self) -> None:
        """Forget the race's signals still queued (Qt drops events to a deleted receiver)."""
        if self._relay is not None:
            self._relay.blockSignals(True)
            self._relay.deleteLater()
            self._relay = None

    def _join(self) -> None:
        if self.race is not None:
            self.race.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.quit()
            if not thread.wait(5000):  # a starved machine, or a lane ignoring stop
                log.error("the race thread did not stop within 5 s; waiting for it")
                thread.wait()  # a QThread destroyed while running aborts the whole process

    @Slot()
    def _on_finished(self) -> None:
        """The race ended by itself (all epochs done, or every lane stopped)."""
        if self._thread is None:
            return
        self._join()
        self.runningChanged.emit(False)
        self.raceFinished.emit()


# ---------------------------------------------------------------------- views
class RaceAccuracyPlot:
    """Test accuracy after each epoch, one curve per lane (created once per race)."""

    def __init__(self) -> None:
        self.widget = _plot_widget("test accuracy (%)")
        self.plot = p = self.widget.getPlotItem()
        p.enableAutoRange(x=False, y=False)
        p.setLimits(yMin=-6, yMax=106, xMin=-0.5)
        p.setYRange(0, 100, padding=0.05)
        p.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 20)], [(v, "") for v in range(10, 100, 20)]])
        self.legend = LegendRow(p)  # above the plot: never over the curves
        book_pen = _pen(style.TEXT, 1, 90, dash=True)
        self.reference = pg.InfiniteLine(pos=BOOK_ACCURACY, angle=0, movable=False, pen=book_pen)
        p.addItem(self.reference)
        self.reference_sample = reference_sample(book_pen)
        self.legend.addItem(self.reference_sample, f"book: {BOOK_ACCURACY:g}%")
        self.curves: list[pg.PlotDataItem] = []
        self.series: list[Series] = []
        self._target = 1
        self.set_target_epochs(1)
        self.dirty = True

    def set_target_epochs(self, epochs: int) -> None:
        """The x axis spans the planned epochs (before a race too)."""
        self._target = max(1, int(epochs))
        self.plot.setXRange(0, self._target, padding=0.02)

    def set_lanes(self, labels: Sequence[str], epochs: int) -> None:
        for c in self.curves:
            self.plot.removeItem(c)
            self.legend.removeItem(c)
        self.legend.removeItem(self.reference_sample)
        self.curves, self.series = [], []
        for i, label in enumerate(labels):
            colour = LANE_COLOURS[i % len(LANE_COLOURS)]
            curve = self.plot.plot([], [], pen=_pen(colour, 2.5), symbol=LANE_SYMBOLS[i % len(LANE_SYMBOLS)],
                                   symbolSize=7, symbolBrush=colour, symbolPen=None, name=label)
            self.curves.append(curve)
            self.series.append(Series())
        self.legend.addItem(self.reference_sample, f"book: {BOOK_ACCURACY:g}%")
        self.set_target_epochs(epochs)
        self.dirty = True

    def add(self, lane: int, snap: EpochSnapshot) -> None:
        if snap.test_total:
            self.series[lane].append(snap.epochs_done, 100.0 * snap.test_accuracy)
            self.dirty = True

    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        for curve, s in zip(self.curves, self.series):
            curve.setData(s.x, s.y)


class RaceHeatmaps:
    """Each lane's hidden neurons (change of their incoming weights since epoch 0) side
    by side: one GraphicsLayoutWidget, one mosaic ImageItem per lane."""

    def __init__(self) -> None:
        self.widget = pg.GraphicsLayoutWidget()
        self.widget.ci.setContentsMargins(2, 2, 2, 2)
        self.widget.setMinimumHeight(150)
        self.titles: list[pg.LabelItem] = []
        self.views: list[pg.ViewBox] = []
        self.images: list[pg.ImageItem] = []
        self._references: list[np.ndarray | None] = []
        self._latest: list[np.ndarray | None] = []
        self._texts: list[str] = []
        self._mosaics: list[np.ndarray | None] = []
        self.levels: list[float] = []
        self.dirty = False

    def set_lanes(self, labels: Sequence[str]) -> None:
        self.widget.clear()
        self.titles, self.views, self.images = [], [], []
        for i, label in enumerate(labels):
            colour = LANE_COLOURS[i % len(LANE_COLOURS)]
            title = self.widget.addLabel(label, row=0, col=i, color=colour, size="11pt", bold=True)
            view = self.widget.addViewBox(row=1, col=i, enableMenu=False)
            view.setAspectLocked(True)
            view.invertY(True)
            view.setMouseEnabled(x=False, y=False)
            view.setMenuEnabled(False)
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(pg.colormap.get(style.HEATMAP_COLORMAP))
            view.addItem(image)
            self.titles.append(title)
            self.views.append(view)
            self.images.append(image)
        self.labels = list(labels)
        self._references: list[np.ndarray | None] = [None] * len(labels)
        self._latest = [None] * len(labels)
        self._texts = [""] * len(labels)
        self._mosaics = [None] * len(labels)
        self.levels = [0.0] * len(labels)
        self.dirty = True

    def set_weights(self, lane: int, w0: np.ndarray, text: str) -> None:
        """``w0``: the lane's first-layer weights ``(hidden, 784)``."""
        if self._references[lane] is None or self._references[lane].shape != w0.shape:
            self._references[lane] = w0  # the lane's epoch 0 (the same for lanes of one shape)
        self._latest[lane] = w0
        self._texts[lane] = text
        self.dirty = True

    def set_text(self, lane: int, text: str) -> None:
        self._texts[lane] = text
        self.dirty = True

    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        for i, w0 in enumerate(self._latest):
            colour = LANE_COLOURS[i % len(LANE_COLOURS)]
            scale = ""
            if w0 is not None and w0.shape[1] == 784:
                change = w0 - self._references[i]
                new = self._mosaics[i] is None
                self._mosaics[i] = tile_mosaic(change, out=self._mosaics[i])
                level = symmetric_level(change) if np.any(change) else 1.0
                self.levels[i] = level
                self.images[i].setImage(self._mosaics[i], autoLevels=False, levels=(-level, level))
                if new:
                    h, w = self._mosaics[i].shape
                    self.views[i].setRange(QRectF(0, 0, w, h), padding=0.01)
                if np.any(change):
                    scale = f" · ±{level:g}"
            self.titles[i].setText(f"{self.labels[i]}{self._texts[i]}{scale}", color=colour)


class RaceView(QWidget):
    """The Race tab. ``data()`` gives the loaded data set (or None) and ``base_config()``
    the dashboard's settings (sizes, seed, η, cost, mini-batch size, dtype) the lanes share."""

    raceStarted = Signal()
    raceFinished = Signal()

    caption = ("Every network starts from the same random weights and sees the training digits in "
               "the same order; only one setting differs. The book: if η is too small, gradient descent "
               "crawls; if it is too large, it overshoots the valley and accuracy jumps about. "
               "Heatmaps: how each network's hidden neurons' incoming weights changed since epoch 0 "
               "(red: the pixel switches the neuron on more, blue: off more; ± is each colour scale).")

    def __init__(self, data: Callable[[], Any], base_config: Callable[[], TrainConfig],
                 parent: QWidget | None = None, *, workers: int = 2) -> None:
        super().__init__(parent)
        self._data = data
        self._base_config = base_config
        self.controller = RaceController(self, workers=workers)
        self.labels: list[str] = []
        self.results: list[list[EpochSnapshot]] = []   # per lane, every epoch snapshot
        self.errors: list[str | None] = []
        self.shared_start = True

        self.vary = QComboBox()
        for key, (label, _default, tip) in VARY.items():
            self.vary.addItem(label, key)
        self.vary.setToolTip("The one setting that differs between the lanes; everything else is "
                             "taken from the Settings panel (seed, hidden layers, η, cost, mini-batch size).")
        self.lanes = QLineEdit(VARY["eta"][1])
        self.lanes.setToolTip(VARY["eta"][2])
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(10)
        self.epochs.setToolTip("How many epochs every lane trains.")
        self.preset = QPushButton(BOOK_PRESET)
        self.preset.setToolTip("Race η = 0.001, 3.0 and 100 (chapter 1): too slow, about right, overshooting.")
        self.start_button = QPushButton("Start race")
        self.start_button.setToolTip("Train every lane from the same start, one epoch at a time, in lockstep.")
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.hide()

        bar = QHBoxLayout()
        bar.setSpacing(6)
        for text, w in (("Vary", self.vary), ("Lanes", self.lanes), ("Epochs", self.epochs)):
            label = QLabel(text)
            label.setToolTip(w.toolTip())
            bar.addWidget(label)
            bar.addWidget(w, 2 if w is self.lanes else 0)
        bar.addWidget(self.preset)
        bar.addWidget(self.start_button)

        self.accuracy = RaceAccuracyPlot()
        self.accuracy.set_target_epochs(self.epochs.value())
        self.epochs.valueChanged.connect(self._on_epochs_valueChanged)
        self.heatmaps = RaceHeatmaps()
        self.status = QLabel("Press Start race.")
        self.status.setObjectName("caption")
        self.status.setWordWrap(True)   # long summaries wrap rather than widen the window
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.splitter = QSplitter()
        self.splitter.setOrientation(pg.QtCore.Qt.Vertical)
        self.splitter.addWidget(captioned("Test accuracy, lane by lane", self.accuracy.widget,
                                          "Each curve is one network; epoch 0 is the shared untrained start (about 10%)."))
        self.splitter.addWidget(self.heatmaps.widget)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.caption_label = QLabel(self.caption)
        self.caption_label.setObjectName("caption")
        self.caption_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.caption_label)

        self.timer = QTimer(self)
        self.timer.setInterval(RENDER_INTERVAL_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

        self.vary.currentIndexChanged.connect(self._on_vary_currentIndexChanged)
        self.preset.clicked.connect(self.apply_book_preset)
        self.start_button.clicked.connect(self.toggle_race)
        c = self.controller
        c.epochFinished.connect(self._on_epochFinished)
        c.failed.connect(self._on_failed)
        c.runningChanged.connect(self._on_runningChanged)
        c.raceFinished.connect(self._on_raceFinished)

    # ---------------------------------------------------------------- commands
    @property
    def running(self) -> bool:
        return self.controller.running

    def apply_book_preset(self) -> None:
        """η = 0.001, 3.0, 100: the three learning rates chapter 1 tries."""
        self.vary.setCurrentIndex(self.vary.findData("eta"))
        self.lanes.setText(", ".join(f"{e:g}" for e in BOOK_ETAS))

    def toggle_race(self) -> None:
        if self.running:
            self.stop()
        else:
            self.start()

    def start(self) -> bool:
        """Start a race with the lanes as set; False (and a message) if it cannot start."""
        data = self._data()
        if data is None:
            self.show_message("No data yet: wait until the digits are loaded.")
            return False
        vary = self.vary.currentData()
        try:
            values = parse_lanes(vary, self.lanes.text())
            base = self._base_config()
            base = dataclasses.replace(base, epochs=self.epochs.value(), progress_interval=1e9,
                                       progress_per_epoch=0, progress_every=None)
            configs = race_configs(base, **{VARY_KEYWORD[vary]: values})
            race = self.controller.start(configs, data)
        except NnvizError as e:
            self.show_message(f"Cannot start the race: {e}")
            return False
        self.show_message("")
        self.labels = list(race.labels)
        self.results = [[] for _ in self.labels]
        self.errors = [None] * len(self.labels)
        self.accuracy.set_lanes(self.labels, self.epochs.value())
        self.heatmaps.set_lanes(self.labels)
        self.shared_start = race.shared_start
        self.status.setText(f"Racing {len(self.labels)} networks (seed {race.seed}): epoch 0 of {self.epochs.value()}…"
                            + ("" if race.shared_start else SIZES_DIFFER))
        self.raceStarted.emit()
        return True

    def stop(self) -> None:
        self.controller.stop()

    def screenshot(self, epochs: int, done: Callable[[], None]) -> None:
        """For ``--view race``: show this tab, race the book's three η for ``epochs``, then ``done()``."""
        tabs = getattr(self.window(), "tabs", None)
        if tabs is not None:
            tabs.setCurrentWidget(self)
        self.apply_book_preset()
        self.epochs.setValue(epochs)
        self.raceFinished.connect(done)
        if not self.start():
            done()

    def shutdown(self) -> None:
        """Stop the race and its thread (the window calls this when it closes)."""
        self.timer.stop()
        self.controller.shutdown()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # ---------------------------------------------------------------- from the race
    def _on_epochFinished(self, results: tuple) -> None:
        epoch = None
        for i, r in enumerate(results):
            if isinstance(r, EpochSnapshot):
                epoch = r.epochs_done
                self.results[i].append(r)
                self.accuracy.add(i, r)
                acc = f": {100 * r.test_accuracy:.1f} %" if r.test_total else ""
                if r.epochs_done:
                    acc += f" · {sum(s.seconds for s in self.results[i]) / r.epochs_done:.2f} s/epoch"
                self.heatmaps.set_weights(i, r.weights[0], acc)
            elif isinstance(r, NnvizError):
                self.errors[i] = str(r)
                self.heatmaps.set_text(i, ": stopped (diverged)" if "diverged" in str(r) else ": stopped")
        if epoch is not None:
            self.status.setText(f"Racing {len(self.labels)} networks: epoch {epoch} of {self.epochs.value()}"
                                + ("" if self.shared_start else SIZES_DIFFER))
        self.dirty = True

    def _on_failed(self, message: str) -> None:
        self.show_message(f"The race stopped: {message}")

    def _on_runningChanged(self, running: bool) -> None:
        self.start_button.setText("Stop race" if running else "Start race")
        for w in (self.vary, self.lanes, self.epochs, self.preset):
            w.setEnabled(not running)
        if running:
            self.timer.start()
        else:
            self.render()
            self.timer.stop()

    def _on_raceFinished(self) -> None:
        self.render()
        done = max((len(r) - 1 for r in self.results), default=0)
        best = [(r[-1].test_accuracy, label) for r, label in zip(self.results, self.labels) if r and r[-1].test_total]
        text = f"Race over after {done} epoch{'s' if done != 1 else ''}."
        if best and not any(math.isnan(a) for a, _ in best):
            acc, label = max(best)
            text += f" Best: {label} with {100 * acc:.1f} %."
        if not self.shared_start:
            text += SIZES_DIFFER
        for label, err in zip(self.labels, self.errors):
            if err:
                text += f" {label} stopped: {err}."
        self.status.setText(text)
        self.raceFinished.emit()

    def _on_epochs_valueChanged(self, epochs: int) -> None:
        if not self.results or not any(self.results):  # a finished race keeps its own axis
            self.accuracy.set_target_epochs(epochs)

    def _on_vary_currentIndexChanged(self, _index: int) -> None:
        _label, default, tip = VARY[self.vary.currentData()]
        self.lanes.setText(default)
        self.lanes.setToolTip(tip)

    # ---------------------------------------------------------------- drawing
    dirty = False

    def _on_timer_timeout(self) -> None:
        self.render()

    def render(self) -> None:
        """Draw what changed (called by the view's own timer, ~10 Hz, while racing)."""
        if not self.dirty:
            return
        self.dirty = False
        self.accuracy.render()
        self.heatmaps.render()
