"""The real network's cost surface: C on a 2-D plane through weight space, around the
current run (its Timeline) or a saved network, computed in a worker thread with progress,
with the run's SGD trajectory projected onto it.

The maths is :mod:`nnviz.core.labs.surface`; this page starts it off the GUI thread and
shows what comes back (an immutable :class:`~nnviz.core.labs.surface.Surface`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from nnviz.core.errors import NnvizError
from nnviz.core.labs.surface import Cancelled, Surface, compute_surface, timeline_points
from nnviz.gui import style
from nnviz.gui.labs.common import CostMap, caption, lab_plot, note, pen, readout

log = logging.getLogger(__name__)

CAPTION = (
    "The cost C = 1/2n Σₓ ‖y(x) − a‖² (eq. 6) of the real network, on a plane through its weights "
    "and biases: θ(α, β) = θ₀ + α d₁ + β d₂. \"Main directions of the training path\": θ₀ is the last "
    "recorded epoch, d₁ and d₂ the two directions in which the run moved most (PCA of the recorded "
    "weights); the white path is each epoch's weights projected onto the plane. \"Random directions\": "
    "two random directions, each neuron's part as long as the neuron's own weights. Dark = low cost.")

RESOLUTIONS = (21, 41, 61)
DEFAULT_EXAMPLES = 1000
PLANES = {"pca": "main directions of the training path (PCA)",
          "random": "two random directions (scaled per neuron)"}


def slice_note(sizes: tuple[int, ...]) -> str:
    n = sum(x * y + y for x, y in zip(sizes[:-1], sizes[1:]))
    return (f"Only a slice: a 2-D cut through a surface over {n:,} dimensions (every weight and bias of "
            f"{list(sizes)}). Between the recorded epochs the real path leaves this plane; valleys and walls "
            "seen here may not be there in other directions.")


class _Poster(QObject):
    """Lives in the GUI thread; the task emits through it (queued to the GUI thread)."""

    progressed = Signal(int, int, int)        # generation, rows done, rows
    finished = Signal(int, object, str)       # generation, Surface or None, error ('' if none)


class _SurfaceTask(QRunnable):
    def __init__(self, poster: _Poster, generation: int, cancel: threading.Event, kwargs: dict) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self.poster = poster
        self.generation = generation
        self.cancel = cancel
        self.kwargs = kwargs

    def run(self) -> None:
        g = self.generation
        try:
            s = compute_surface(**self.kwargs, progress=lambda i, n: self.poster.progressed.emit(g, i, n),
                                cancelled=self.cancel.is_set)
            self.poster.finished.emit(g, s, "")
        except Cancelled:
            self.poster.finished.emit(g, None, "cancelled")
        except NnvizError as e:
            self.poster.finished.emit(g, None, str(e))
        except Exception as e:  # a bug: say so in the page, never take the app down
            log.exception("cost surface failed")
            self.poster.finished.emit(g, None, f"{type(e).__name__}: {e}")


class SurfaceLab(QWidget):
    """``timeline``: returns the current run's Timeline (or None); ``data``: returns the
    loaded Dataset (or None)."""

    surfaceReady = Signal(object)    # a Surface was computed and drawn
    surfaceFailed = Signal(str)      # why not ('cancelled' when cancelled)

    def __init__(self, timeline: Callable[[], Any], data: Callable[[], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("surfaceLab")
        self._timeline = timeline
        self._data = data
        self.saved: tuple[str, list[int], list, str] | None = None   # (name, epochs, points, cost) of a saved network
        self.surface: Surface | None = None
        self.generation = 0
        self.busy = False
        self._cancel = threading.Event()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.poster = _Poster(self)
        self.poster.progressed.connect(self._on_poster_progressed)
        self.poster.finished.connect(self._on_poster_finished)

        self.source_combo = QComboBox()
        self.source_combo.addItem("this run", "run")
        self.source_combo.setToolTip("Whose weights: the current run's recorded epochs, or a saved network")
        self.open_button = QPushButton("Open network…")
        self.open_button.setToolTip("Look at the cost surface around a network saved with File → Save network")
        self.plane_combo = QComboBox()
        for key, text in PLANES.items():
            self.plane_combo.addItem(text, key)
        self.plane_combo.setToolTip("Which plane through weight space to slice along")
        self.examples_spin = QSpinBox()
        self.examples_spin.setRange(100, 10000)
        self.examples_spin.setSingleStep(500)
        self.examples_spin.setValue(DEFAULT_EXAMPLES)
        self.examples_spin.setSuffix(" digits")
        self.examples_spin.setToolTip("The cost is averaged over this many training digits (the first ones)")
        self.grid_combo = QComboBox()
        for r in RESOLUTIONS:
            self.grid_combo.addItem(f"{r} × {r}", r)
        self.grid_combo.setCurrentIndex(RESOLUTIONS.index(41))
        self.grid_combo.setToolTip("Grid points along each axis (41 × 41 on 1,000 digits takes about a second)")
        self.compute_button = QPushButton("Compute")
        self.compute_button.setToolTip("Compute the cost on the grid, in the background")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setMaximumWidth(160)
        row = QHBoxLayout()
        row.setSpacing(6)
        for w in (QLabel("network"), self.source_combo, self.open_button, QLabel("plane"), self.plane_combo):
            row.addWidget(w)
        row.addStretch(1)
        row2 = QHBoxLayout()
        row2.setSpacing(6)
        for w in (QLabel("cost on"), self.examples_spin, QLabel("grid"), self.grid_combo, self.compute_button,
                  self.cancel_button, self.progress):
            row2.addWidget(w)
        row2.addStretch(1)

        self.plot = lab_plot("α  (along d₁)", "β  (along d₂)")
        p = self.plot.getPlotItem()
        self.map = CostMap(self.plot)
        self.path_curve = p.plot([], [], pen=pen("#ffffff", 2.0), symbol="o", symbolSize=7,
                                 symbolBrush="#ffffff", symbolPen=None)
        self.ends = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#000000", width=1.5))
        p.addItem(self.ends)
        self.labels: list[pg.TextItem] = []
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=14,
                                        label="log₁₀ C")
        self.colorbar.setImageItem(self.map.image, insert_in=p)
        self.plot.setMinimumSize(320, 240)
        self.plot.setToolTip("The cost on the plane; the white dots are the recorded epochs, from the "
                             "green start to the red end")

        self.readout = readout("Press Compute to slice the cost surface of this run.")
        self.readout.setWordWrap(True)
        self.honest = note(slice_note((784, 30, 10)), style.VALIDATION)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(6)
        layout.addLayout(row)
        layout.addLayout(row2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.honest)
        self.caption = caption(CAPTION)
        layout.addWidget(self.caption)

        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.ask_open)

    # ------------------------------------------------------------------ sources
    def _points(self) -> tuple[list[int], list, str, str]:
        """(epochs, (weights, biases) points, cost name, a description) of the chosen network."""
        if self.source_combo.currentData() == "saved" and self.saved is not None:
            name, epochs, points, cost = self.saved
            return epochs, points, cost, name
        timeline = self._timeline()
        if timeline is None or timeline.latest is None:
            return [], [], "quadratic", "this run"
        epochs, points = timeline_points(timeline)
        return epochs, points, timeline.latest.cost, "this run"

    def open_network(self, path: str) -> bool:
        """Use a saved network (one point: the plane is random directions through it)."""
        from nnviz.core.history import load_network

        try:
            net, saved, rows = load_network(path)
        except NnvizError as e:
            self._fail(f"Could not open the network: {e}")
            return False
        try:
            done = int(rows[-1].get("epoch") or 0) if rows and isinstance(rows[-1], dict) else 0
        except (TypeError, ValueError):
            done = 0
        name = Path(path).name
        params = (tuple(np.array(w) for w in net.weights), tuple(np.array(b) for b in net.biases))
        self.saved = (name, [done], [params], net.cost.name)
        if self.source_combo.findData("saved") < 0:
            self.source_combo.addItem("", "saved")
        i = self.source_combo.findData("saved")
        self.source_combo.setItemText(i, name)
        self.source_combo.setCurrentIndex(i)
        self.plane_combo.setCurrentIndex(self.plane_combo.findData("random"))
        self.readout.setText(f"Opened {name}: one network, so the plane is two random directions "
                             "through it. Press Compute.")
        return True

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open network", "", "nnviz network (*.npz)")
        if path:
            self.open_network(path)

    # ------------------------------------------------------------------ computing
    def compute(self) -> bool:
        """Start computing the surface in the background; False (and a message) if it cannot."""
        data = self._data()
        if data is None:
            self._fail("Load the digits first.")
            return False
        epochs, points, cost, what = self._points()
        if not points:
            self._fail("No weights recorded yet: the run records every epoch's weights (epoch 0 is the start). "
                       "Train a few epochs, or open a saved network.")
            return False
        kind = self.plane_combo.currentData()
        if kind == "pca" and len(points) < 3:
            self._fail(f"The main directions of the training path need 3 or more recorded epochs ({what} has "
                       f"{len(points)}): train a few epochs, or choose random directions.")
            return False
        n = min(self.examples_spin.value(), len(data.train_labels))
        images = np.array(data.train_images[:n])
        labels = np.array(data.train_labels[:n])
        self.cancel()
        self.generation += 1
        self._cancel = threading.Event()
        self.busy = True
        self._set_busy(True)
        resolution = int(self.grid_combo.currentData())
        self.progress.setRange(0, resolution)
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m rows")
        self.readout.setText(f"Computing the cost of {resolution * resolution:,} networks on {n:,} digits…")
        kwargs = dict(epochs=list(epochs), points=list(points), images=images, labels=labels, kind=kind,
                      resolution=resolution, cost=cost)
        self.pool.start(_SurfaceTask(self.poster, self.generation, self._cancel, kwargs))
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def shutdown(self) -> None:
        """Cancel and wait for the worker (a grid row is a few tens of milliseconds)."""
        self._cancel.set()
        self.pool.waitForDone(10000)

    def _set_busy(self, busy: bool) -> None:
        self.compute_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _fail(self, message: str) -> None:
        self.readout.setText(f"<span style='color:{style.ERROR}'>{message}</span>")
        self.surfaceFailed.emit(message)

    def _on_poster_progressed(self, generation: int, done: int, total: int) -> None:
        if generation == self.generation:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_poster_finished(self, generation: int, surface: Surface | None, error: str) -> None:
        if generation != self.generation:
            return
        self.busy = False
        self._set_busy(False)
        self.progress.setFormat("" if surface is None else "done")
        if surface is None:
            if error == "cancelled":
                self.readout.setText("Cancelled.")
                self.surfaceFailed.emit(error)
            else:
                self._fail(error)
            return
        self.show_surface(surface)

    # ------------------------------------------------------------------ drawing
    def show_surface(self, s: Surface) -> None:
        self.surface = s
        self.map.set_surface(s.alphas, s.betas, s.costs)
        shown = np.log10(np.maximum(s.costs, 1e-12))
        self.colorbar.setLevels((float(shown.min()), float(shown.max())))
        p = self.plot.getPlotItem()
        p.setRange(xRange=(s.alphas[0], s.alphas[-1]), yRange=(s.betas[0], s.betas[-1]), padding=0)
        self.path_curve.setData(s.path[:, 0], s.path[:, 1])
        if len(s.path):
            self.ends.setData([s.path[0, 0], s.path[-1, 0]], [s.path[0, 1], s.path[-1, 1]],
                              brush=[pg.mkBrush(style.COST), pg.mkBrush(style.ERROR)])
        for item in self.labels:
            p.removeItem(item)
        self.labels = []
        k = max(1, len(s.epochs) // 8)
        for i, (e, (a, b)) in enumerate(zip(s.epochs, s.path)):
            if i % k and i != len(s.epochs) - 1:
                continue
            t = pg.TextItem(f"{e}", color=style.TEXT, anchor=(-0.2, 1.1))
            t.setPos(a, b)
            p.addItem(t)
            self.labels.append(t)
        self.honest.setText(slice_note(s.plane.sizes))
        if s.plane.kind == "pca":
            e1, e2 = s.plane.explained
            plane = (f"Plane through epoch {s.epochs[-1]} along the path's main directions "
                     f"({100 * e1:.0f} % and {100 * e2:.0f} % of its spread)")
        else:
            plane = f"Plane through epoch {s.epochs[-1]} along two random directions"
        self.readout.setText(
            f"{plane}. Cost on {s.n_examples:,} training digits: {s.costs.min():.3g} to {s.costs.max():.3g}; "
            f"along the path {s.path_costs[0]:.3g} → {s.path_costs[-1]:.3g}. "
            f"{len(s.alphas)} × {len(s.betas)} grid in {s.seconds:.1f} s.")
        self.surfaceReady.emit(s)
