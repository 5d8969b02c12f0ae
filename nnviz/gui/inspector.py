"""Looking inside the network: the Draw, Errors and Saturation tabs and the time slider,
and what they share: a capped :class:`~nnviz.core.timeline.Timeline` of the run, and
the per-epoch analysis computed off the GUI thread.

Flow: the window hands every epoch snapshot, weight sample and live change to the
:class:`Inspector`; each epoch snapshot starts a small task in a one-thread pool that
runs :func:`~nnviz.core.analysis.analyse` (test digits) and
:func:`~nnviz.core.analysis.saturation` on it and posts back an immutable
:class:`EpochAnalysis`. Views are drawn in :meth:`Inspector.render` (on the window's
redraw timer), and only the tab on show.

Rewinding to epoch ``k`` shows that epoch's weights everywhere, from the Timeline (kept in
the run's own precision, so "continue from here" is exact; past the memory cap, the
nearest epoch whose weights were kept).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction

from nnviz.core.analysis import ErrorAnalysis, Saturation, analyse, saturation
from nnviz.core.history import History
from nnviz.core.timeline import DEFAULT_CAP_BYTES, Timeline
from nnviz.core.training import EpochSnapshot, SettingChanged
from nnviz.gui import style
from nnviz.gui.widgets import DeferredView, shortcut_action
from nnviz.gui.views.draw_view import DrawView
from nnviz.gui.views.errors_view import ErrorsView
from nnviz.gui.views.plots import _pen
from nnviz.gui.views.saturation_view import SaturationView
from nnviz.gui.views.timeline_bar import TimelineBar, memory_note

log = logging.getLogger(__name__)

KEEP_ANALYSES = 8         # full error analyses kept (the latest and recently viewed epochs)
SATURATION_SAMPLE = 1000  # test digits used for the saturation numbers
VIEW_TABS = {"draw": "Draw", "errors": "Errors", "saturation": "Saturation"}


@dataclass(frozen=True, eq=False)
class EpochAnalysis:
    """What the analysis task found for one epoch of one run (``generation``)."""

    generation: int
    epochs_done: int
    errors: ErrorAnalysis | None
    saturation: Saturation | None
    error: str = ""


class _Poster(QObject):
    """Lives in the GUI thread; tasks emit through it (queued to the GUI thread)."""

    analysed = Signal(object)


class _AnalysisTask(QRunnable):
    """Runs the core's analysis of one epoch's weights in a pool thread."""

    def __init__(self, poster: _Poster, generation: int, epochs_done: int, weights, biases,
                 images: np.ndarray, labels: np.ndarray, cost: str, with_saturation: bool) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.poster = poster
        self.args = (generation, epochs_done, weights, biases, images, labels, cost, with_saturation)

    def run(self) -> None:
        generation, k, weights, biases, images, labels, cost, with_saturation = self.args
        try:
            errors = analyse(weights, biases, images, labels)
            sat = (saturation(weights, biases, images, labels, cost, sample=SATURATION_SAMPLE)
                   if with_saturation else None)
            result = EpochAnalysis(generation, k, errors, sat)
        except Exception as e:  # a bug: report it in the view, never take the app down
            log.exception("analysis of epoch %s failed", k)
            result = EpochAnalysis(generation, k, None, None, f"{type(e).__name__}: {e}")
        self.poster.analysed.emit(result)


def _truncate(series: Any, epochs: float) -> None:
    """Keep a plot Series' points up to ``epochs`` (x is increasing, NaN gaps aside)."""
    x = series.x
    later = np.flatnonzero(np.isfinite(x) & (x > epochs))
    if later.size:
        series.n = int(later[0])


class Inspector(QObject):
    """Owns the Draw, Errors and Saturation tabs, the time slider and the run's Timeline.

    The window calls :meth:`add_epoch`, :meth:`add_sample`, :meth:`add_change`,
    :meth:`render`, :meth:`clear` and :meth:`shutdown`; everything else is wired here.
    """

    analysisReady = Signal(int)   # an epoch's analysis arrived (epochs_done)
    epochShown = Signal(object)   # the epoch on show changed (None: live)

    def __init__(self, window: Any, cap_bytes: int = DEFAULT_CAP_BYTES) -> None:
        super().__init__(window)
        self.window = window
        self.cap_bytes = cap_bytes
        self.timeline = Timeline(cap_bytes)
        self.generation = 0
        self.shown: int | None = None          # the rewound epoch; None: live
        self.saturations: dict[int, Saturation] = {}
        self.analyses: OrderedDict[int, ErrorAnalysis] = OrderedDict()
        self._pending: set[tuple[int, int]] = set()
        self._live: tuple[tuple, tuple, str] | None = None   # (weights, biases, note) of the latest state
        self._live_heat: tuple | None = None                  # the heatmap's latest live weights
        self._test_digit = -1
        self.faded: list[tuple[pg.PlotDataItem, Any]] = []   # the old branches' curves, faded
        self._bar_dirty = True

        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)   # in order; never more than one core away from training
        self.poster = _Poster(self)
        self.poster.analysed.connect(self._on_analysed)

        self.draw = DrawView()   # built now: the Network tab draws on its pad
        # the Errors and Saturation tabs are built when first shown (start-up is shorter)
        self._errors = DeferredView(ErrorsView)
        self._saturation = DeferredView(SaturationView)
        self.bar = TimelineBar()
        self.tab_index = {
            "draw": window.add_view_tab(self.draw, VIEW_TABS["draw"]),
            "errors": window.tabs.add_deferred(self._errors, VIEW_TABS["errors"]),
            "saturation": window.tabs.add_deferred(self._saturation, VIEW_TABS["saturation"]),
        }
        window.tabs.setCornerWidget(self.bar, Qt.TopRightCorner)
        self.draw.testDigitRequested.connect(self.paste_next_test_digit)
        self.bar.epochChosen.connect(self.show_epoch)
        self.bar.continueRequested.connect(self.continue_from)
        window.tabs.currentChanged.connect(self._on_tabs_currentChanged)
        window.controller.stateChanged.connect(self._on_stateChanged)

        self.cursors = []
        for plot in (window.accuracy.plot, window.cost.plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=_pen(style.TEXT, 1.5, 170, dash=True),
                                   label="epoch {value:.0f}",
                                   labelOpts={"position": 0.9, "color": style.TEXT,
                                              "fill": pg.mkBrush(29, 31, 36, 210)})
            line.setZValue(20)
            line.hide()
            plot.addItem(line)
            self.cursors.append(line)

        def action(text: str, key, tip: str, slot) -> QAction:
            return shortcut_action(window, text, key, tip, slot)

        self.back_action = action("Epoch back", Qt.Key_Left, "Rewind the dashboard one epoch (while paused)",
                                  self.step_back)
        self.forward_action = action("Epoch forward", Qt.Key_Right,
                                     "Forward the dashboard one epoch (while paused)", self.step_forward)
        self.live_action = action("Live", Qt.Key_End, "Back to the latest epoch", self.go_live)
        self._update_actions()

    # ------------------------------------------------------------------ from the window
    @property
    def errors(self) -> ErrorsView:
        """The Errors tab's view (built now if it was not yet)."""
        return self._errors.view

    @property
    def saturation(self) -> SaturationView:
        """The Saturation tab's view (built now if it was not yet)."""
        return self._saturation.view

    @property
    def live(self) -> bool:
        """True when the dashboard follows the training (not rewound)."""
        return self.shown is None

    def add_epoch(self, snap: EpochSnapshot) -> None:
        self.timeline.add(snap)
        self._submit(snap.epochs_done, snap.weights, snap.biases, snap.cost, with_saturation=True)
        self._live = (snap.weights, snap.biases, f"Weights after epoch {snap.epochs_done}.")
        self._live_heat = snap.weights
        if self.live:
            self.draw.set_network(snap.weights, snap.biases, self._live[2])
        self._bar_dirty = True
        self._saturation_dirty()

    def add_sample(self, sample: Any) -> None:
        self._live_heat = sample.weights
        biases = getattr(sample, "biases", ())
        if len(biases) == len(sample.weights) and len(sample.weights):
            self._live = (sample.weights, biases, f"Weights while training, at epoch {sample.position:.2f}.")
            if self.live:
                self.draw.set_network(sample.weights, biases, self._live[2])

    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """New data: its class names (None: digits) for the Draw, Errors and Saturation tabs."""
        self.draw.set_class_names(class_names)
        self._errors.call("set_class_names", class_names)
        self._saturation.call("set_class_names", class_names)

    def set_target_epochs(self, epochs: int) -> None:
        self._saturation.call("set_target_epochs", epochs)

    def add_change(self, change: SettingChanged) -> None:
        self.timeline.add(change)

    def clear(self) -> None:
        """A new run: forget the old one."""
        self.generation += 1
        self.timeline = Timeline(self.cap_bytes)
        self.saturations.clear()
        self.analyses.clear()
        self._pending.clear()
        self._live = self._live_heat = None
        self.shown = None
        for item, plot in self.faded:
            plot.removeItem(item)
        self.faded.clear()
        for line in self.cursors:
            line.hide()
        self.draw.clear_network()
        self._errors.call("set_analysis", None, None)
        self._saturation.call("set_series", [], [])
        self._bar_dirty = True
        self._update_actions()

    def state(self) -> dict:
        """What :meth:`restore_state` needs to bring this run's views back (for undo)."""
        return {"timeline": self.timeline.copy(), "saturations": dict(self.saturations),
                "analyses": OrderedDict(self.analyses), "live": self._live, "live_heat": self._live_heat}

    def restore_state(self, state: dict) -> None:
        """Show a run taken with :meth:`state` (after :meth:`clear`)."""
        self.timeline = state["timeline"].copy()
        self.saturations = dict(state["saturations"])
        self.analyses = OrderedDict(state["analyses"])
        self._live, self._live_heat = state["live"], state["live_heat"]
        if self._live is not None:
            self.draw.set_network(*self._live)
        latest = self.timeline.latest
        if latest is not None and latest.epochs_done not in self.analyses and latest.has_weights:
            ew, eb, _, _ = self.params_at(latest.epochs_done)
            self._submit(latest.epochs_done, ew, eb, latest.cost, with_saturation=True)
        else:
            self._show_errors()
        self._saturation_dirty()
        self._bar_dirty = True
        self._update_actions()

    def shutdown(self) -> None:
        """Wait for the analysis tasks (they post to objects owned here)."""
        self.pool.clear()
        self.pool.waitForDone(5000)

    def idle(self) -> bool:
        """True when no analysis is pending."""
        return not self._pending

    # ------------------------------------------------------------------ analysis
    def _submit(self, k: int, weights, biases, cost: str, with_saturation: bool) -> None:
        data = self.window.data
        if data is None or not len(data.test_labels) or (self.generation, k) in self._pending:
            return
        self._pending.add((self.generation, k))
        self.pool.start(_AnalysisTask(self.poster, self.generation, k, weights, biases,
                                      data.test_images, data.test_labels, cost, with_saturation))

    def _on_analysed(self, result: EpochAnalysis) -> None:
        self._pending.discard((result.generation, result.epochs_done))
        if result.generation != self.generation:
            return  # from a run (or branch) that was since replaced
        k = result.epochs_done
        if result.error:
            self.window.statusBar().showMessage(f"The analysis of epoch {k} failed: {result.error}", 8000)
            return
        if result.saturation is not None:
            self.saturations[k] = result.saturation
            self._saturation_dirty()
        if result.errors is not None:
            self.analyses[k] = result.errors
            self.analyses.move_to_end(k)
            while len(self.analyses) > KEEP_ANALYSES:
                oldest = next(iter(self.analyses))
                if oldest == self.displayed_epoch():
                    self.analyses.move_to_end(oldest)
                    oldest = next(iter(self.analyses))
                del self.analyses[oldest]
            if k == self.displayed_epoch() or self.live:
                self._show_errors()
        self.analysisReady.emit(k)

    def _show_errors(self) -> None:
        d = self.displayed_epoch()
        a = self.analyses.get(d)
        if a is None and self.live and self.analyses:   # the latest epoch's is on its way
            d = max(self.analyses)
            a = self.analyses[d]
        if a is None:
            if d is not None and self.shown is not None:
                w, b, _, used = self.params_at(d)
                entry = self.timeline.at(used)
                self._submit(used, w, b, entry.cost, with_saturation=used not in self.saturations)
            return
        data = self.window.data
        self._errors.call("set_analysis", a, None if data is None else data.test_images, f"after epoch {d}")

    def _saturation_dirty(self) -> None:
        ks = sorted(k for k in self.saturations if k in self.timeline)
        target = self.window.panel.epochs.value()
        self._saturation.call("set_series", ks, [self.saturations[k] for k in ks], self.shown, target)

    # ------------------------------------------------------------------ epochs
    def latest_epoch(self) -> int | None:
        latest = self.timeline.latest
        return None if latest is None else latest.epochs_done

    def displayed_epoch(self) -> int | None:
        return self.shown if self.shown is not None else self.latest_epoch()

    def params_at(self, k: int) -> tuple[tuple, tuple, bool, int]:
        """``(weights, biases, exact, epoch)`` for epoch ``k`` from the Timeline, which keeps
        them in the run's own precision; ``exact`` is False when epoch ``k``'s weights were
        thinned out under the memory cap and the nearest kept epoch stands in."""
        entry = self.timeline.nearest(k)
        return entry.weights, entry.biases, entry.epochs_done == k, entry.epochs_done

    def snapshot_at(self, k: int) -> EpochSnapshot:
        """An EpochSnapshot to continue training from epoch ``k`` (made from the Timeline:
        the very weights the run had then)."""
        e = self.timeline.at(k)
        return EpochSnapshot(
            epochs_done=e.epochs_done, test_correct=e.test_correct, test_total=e.test_total,
            validation_correct=e.validation_correct, validation_total=e.validation_total,
            training_cost=e.training_cost, test_cost=e.test_cost, seconds=e.seconds, eta=e.eta, cost=e.cost,
            step=e.step, weights=e.weights, biases=e.biases)

    def show_epoch(self, k: int) -> None:
        """Rewind the dashboard to epoch ``k`` (the latest epoch, or beyond: live).
        Rewinding pauses a running training."""
        latest = self.latest_epoch()
        if latest is None:
            return
        k = max(0, int(k))
        if k >= latest:
            self.go_live()
            return
        if self.window.controller.state == "running":
            self.window.controller.pause()
        self.shown = k
        w, b, exact, used = self.params_at(k)
        note = f"Weights after epoch {used}."
        if not exact:
            note += f" Epoch {k}'s weights were thinned out to stay within the memory cap."
        self.window.heatmaps.set_weights(w)
        self.draw.set_network(w, b, note)
        self._show_errors()
        self._saturation_dirty()
        for line in self.cursors:
            line.show()   # first: a hidden line's label does not follow it
            line.setPos(k)
        self.window.accuracy.dirty = self.window.cost.dirty = True
        self._bar_dirty = True
        self._update_actions()
        self.epochShown.emit(k)
        self.window.render_views()

    def go_live(self) -> None:
        was = self.shown
        self.shown = None
        if self._live_heat is not None:
            self.window.heatmaps.set_weights(self._live_heat)
        if self._live is not None:
            self.draw.set_network(*self._live)
        for line in self.cursors:
            line.hide()
        self._show_errors()
        self._saturation_dirty()
        self.window._cards_dirty = True
        self._bar_dirty = True
        self._update_actions()
        if was is not None:
            self.epochShown.emit(None)
            self.window.render_views()

    def step_back(self) -> None:
        d = self.displayed_epoch()
        if d is not None and d > 0:
            self.show_epoch(d - 1)

    def step_forward(self) -> None:
        d = self.displayed_epoch()
        if d is not None:
            self.show_epoch(d + 1)

    def continue_from(self, k: int) -> None:
        """Train on from epoch ``k`` (the shown one) as a new branch: the later history is
        kept as faded curves, and the run continues with epoch ``k``'s η, cost and the seed."""
        w = self.window
        if w.data is None or w.controller.config is None or k not in self.timeline:
            return
        if not self.timeline.at(k).has_weights:
            k = self.timeline.nearest(k).epochs_done
        w.remember_run("Continue from here")
        start = self.snapshot_at(k)
        config = replace(w.controller.config, eta=start.eta, cost=start.cost, epochs=w.panel.epochs.value())
        old = self.timeline.metrics_arrays()
        # the old branch, faded, on the plots
        acc = pg.PlotDataItem(old["epochs"], old["test_accuracy"], pen=_pen(style.ACCENT, 2, 70),
                              symbol="o", symbolSize=4, symbolBrush=pg.mkBrush(79, 195, 247, 70), symbolPen=None)
        trained = old["epochs"] > 0
        cost = pg.PlotDataItem(old["epochs"][trained], old["training_cost"][trained], pen=_pen(style.COST, 2, 70),
                               connect="finite")
        for item, plot in ((acc, w.accuracy.plot), (cost, w.cost.plot)):
            item.setZValue(-3)
            plot.addItem(item)
            self.faded.append((item, plot))
        # the run's record up to k
        h = w.history
        w.history = History(keep_weights=h.keep_weights, epochs=[e for e in h.epochs if e.epochs_done <= k],
                            changes=[c for c in h.changes if c.position < k],
                            cost_curve=[(x, y) for x, y in h.cost_curve if x <= k])
        for series in (w.accuracy.test, w.accuracy.validation, w.cost.live, w.cost.per_epoch):
            _truncate(series, k)
        for plot in (w.accuracy, w.cost):
            plot.clear_markers()
            for change in w.history.changes:
                plot.add_change(change)
            plot.dirty = True
        self.timeline = self.timeline.branch_from(k)
        self.generation += 1
        self.saturations = {e: s for e, s in self.saturations.items() if e <= k}
        self.analyses = OrderedDict((e, a) for e, a in self.analyses.items() if e <= k)
        self._pending.clear()
        for e in self.timeline.epochs_with_weights():   # any still being analysed when we branched
            if e not in self.saturations:
                ew, eb, _, _ = self.params_at(e)
                self._submit(e, ew, eb, self.timeline.at(e).cost, with_saturation=True)
        self._live = (start.weights, start.biases, f"Weights after epoch {k}.")
        self._live_heat = start.weights
        w._last_epoch = start
        w.panel.set_values(eta=start.eta, cost=start.cost, emit=False)
        w.controller.prepare(config, w.data, start=start)
        w._skip_epoch = k   # the continued run starts by re-reporting epoch k
        w.statusBar().showMessage(f"Continuing from epoch {k}: a new branch (the old one is faded; Ctrl+Z brings it back).", 6000)
        self.go_live()
        w.controller.resume()

    # ------------------------------------------------------------------ test digits
    def paste_next_test_digit(self) -> None:
        data = self.window.data
        if data is None or not len(data.test_labels):
            return
        self._test_digit = (self._test_digit + 1) % len(data.test_labels)
        self.paste_test_digit(self._test_digit)

    def paste_test_digit(self, i: int) -> None:
        """Put test digit ``i`` on the pad (as if drawn there)."""
        data = self.window.data
        self._test_digit = int(i)
        self.draw.pad.paste(data.test_images[i])
        self.draw.pad_note.setText(f"Test {data.noun()} #{i}, labelled {data.label_name(int(data.test_labels[i]))}.")

    # ------------------------------------------------------------------ drawing
    def _on_tabs_currentChanged(self, _index: int) -> None:
        self.render()

    def _on_stateChanged(self, state: str) -> None:
        if state == "running" and not self.live:
            self.go_live()
        self._update_actions()

    def _update_actions(self) -> None:
        paused = self.window.controller.state != "running"
        self.back_action.setEnabled(paused)
        self.forward_action.setEnabled(paused)
        self.live_action.setEnabled(not self.live)

    def show_view(self, name: str) -> None:
        """Switch to the tab of view ``name`` ('draw', 'errors', 'saturation')."""
        self.window.tabs.setCurrentIndex(self.tab_index[name])

    def prepare_screenshot(self, name: str, done) -> None:
        """For ``--screenshot --view name``: show that tab with something in it (a test
        digit on the pad, the most common mistake's cell), then call ``done()`` once the
        analysis of the latest epoch has arrived."""
        self.show_view(name)

        def ready() -> None:
            latest = self.latest_epoch()
            if not self.idle() or (latest is not None and latest not in self.analyses and self.window.data is not None):
                QTimer.singleShot(50, ready)
                return
            a = self.analyses.get(latest) if latest is not None else None
            if name == "draw":  # a digit it gets right, but not without doubt: more to see
                doubt = (np.flatnonzero((a.predicted == a.labels) & (a.confidence > 0.4) & (a.confidence < 0.85))
                         if a is not None else [])
                self.paste_test_digit(int(doubt[0]) if len(doubt) else 0)
            if name == "errors" and a is not None:
                off = a.confusion.copy()
                np.fill_diagonal(off, 0)
                t, p = np.unravel_index(int(off.argmax()), off.shape)
                self.errors.select_cell(int(t), int(p))
            self.window.render_views()
            done()

        ready()

    def render(self) -> None:
        """Draw what changed in the tab on show, the slider, and a rewound epoch's cards."""
        w = self.window
        if self._bar_dirty:
            self._bar_dirty = False
            latest = self.latest_epoch()
            note = "" if self.live else "(rewound)"
            self.bar.set_state(latest or 0, self.shown, note)
            self.bar.set_tooltip(memory_note(self.timeline))
        current = w.tabs.currentWidget()
        if current is self.draw:
            self.draw.render()
        for deferred in (self._errors, self._saturation):
            if deferred.page is current:
                deferred.view.render()   # built the first time its tab is shown
        if self.shown is not None:
            self._render_rewound_cards()

    def _render_rewound_cards(self) -> None:
        w = self.window
        e = self.timeline.at(self.shown)
        target = w.controller.controls.epochs if w.controller.controls else w.panel.epochs.value()
        w.cards["epoch"].set_value(f"{e.epochs_done} / {target}")
        w.cards["eta"].set_value(f"{e.eta:g}")
        w.cards["accuracy"].set_value(f"{100 * e.test_accuracy:.1f} %" if e.test_total else "–")
        w.cards["cost"].set_value(f"{e.training_cost:.4f}" if np.isfinite(e.training_cost) else "–")
        w.cards["seconds"].set_value(f"{e.seconds:.2f}" if e.epochs_done else "–")
