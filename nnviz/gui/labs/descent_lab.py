"""The gradient-descent lab: a ball on a toy cost surface C(v₁, v₂) taking steps
Δv = −η∇C (eq. 10) from where the user clicks; η from a slider; step / run / reset;
the paths drawn (the last few faded, to compare η's).

The maths is :mod:`nnviz.core.labs.descent`; this page only shows it.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QSlider, QWidget)

from nnviz.core.labs.descent import DIVERGED, TOY_COSTS, descent_step
from nnviz.gui import style
from nnviz.gui.labs.common import CostMap, lab_page, lab_plot, note, pen, readout

CAPTION = (
    "Think of the cost C(v₁, v₂) as a valley and imagine \"a ball rolling down the slope of the valley\". "
    "Gradient descent moves the ball by Δv = −η∇C (eq. 10): a small step downhill, so that "
    "ΔC ≈ ∇C·Δv = −η‖∇C‖² ≤ 0 (eq. 9). Click on the map to place the ball; Step, or Run. "
    "Too small an η and the ball crawls; too large and it overshoots the bottom, from wall to wall, "
    "and on a quadratic flies off once η > 2/λ_max (λ_max: the steepest curvature).")

ETA_MIN, ETA_MAX = 0.001, 2.0
SLIDER_STEPS = 300
RUN_INTERVAL_MS = 80       # the ball's pace when running: 12 steps a second
MAX_STEPS = 400
KEEP_PATHS = 3             # earlier paths kept, faded
START = {"bowl": (-2.4, 2.0), "valley": (-2.5, 1.2)}
DEFAULT_ETA = {"bowl": 0.1, "valley": 0.02}


def eta_to_slider(eta: float) -> int:
    f = (math.log10(eta) - math.log10(ETA_MIN)) / (math.log10(ETA_MAX) - math.log10(ETA_MIN))
    return int(round(min(max(f, 0.0), 1.0) * SLIDER_STEPS))


def slider_to_eta(v: int) -> float:
    return 10 ** (math.log10(ETA_MIN) + (math.log10(ETA_MAX) - math.log10(ETA_MIN)) * v / SLIDER_STEPS)


class DescentLab(QWidget):
    """The toy valley: ``path`` is the current ball's path, a list of (2,) points."""

    stepped = Signal(int)     # the ball took a step (the number of steps so far)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("descentLab")
        self.cost = TOY_COSTS["valley"]
        self.path: list[np.ndarray] = []
        self.old_paths: list[tuple[np.ndarray, float]] = []
        self.status = ""
        self.path_eta = 0.0

        self.plot = lab_plot("v₁", "v₂")
        p = self.plot.getPlotItem()
        p.setAspectLocked(True)
        self.map = CostMap(self.plot)
        self.old_curves = []
        self.old_labels = []
        for k in range(KEEP_PATHS):
            t = pg.TextItem("", color=style.VALIDATION, anchor=(0.5, 1.2), fill=pg.mkBrush(29, 31, 36, 210))
            p.addItem(t)
            self.old_labels.append(t)
            c = p.plot([], [], pen=pen(style.VALIDATION, 1.5, 70 + 40 * k), symbol="o", symbolSize=4,
                       symbolBrush=pg.mkBrush(255, 183, 77, 70 + 40 * k), symbolPen=None)
            self.old_curves.append(c)
        self.path_curve = p.plot([], [], pen=pen(style.ERROR, 2.5), symbol="o", symbolSize=6,
                                 symbolBrush=style.ERROR, symbolPen=None)
        self.ball = pg.ScatterPlotItem(size=18, pen=pg.mkPen("#ffffff", width=2), brush=pg.mkBrush(style.ERROR))
        p.addItem(self.ball)
        self.minimum = pg.ScatterPlotItem(size=14, symbol="+", pen=pg.mkPen("#ffffff", width=2), brush=None)
        p.addItem(self.minimum)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_sigMouseClicked)
        self.plot.setToolTip("Click to put the ball there; the red path is its steps, the faded ones earlier runs")
        self.plot.setMinimumSize(300, 260)

        box = QGroupBox("Gradient descent, Δv = −η∇C (eq. 10)")
        grid = QGridLayout(box)
        grid.setContentsMargins(8, 8, 8, 6)
        grid.setVerticalSpacing(6)
        grid.addWidget(QLabel("cost C(v₁, v₂)"), 0, 0)
        self.cost_combo = QComboBox()
        for name, c in TOY_COSTS.items():
            self.cost_combo.addItem(c.title, name)
        self.cost_combo.setToolTip("A round bowl, or an elongated valley where the choice of η matters")
        grid.addWidget(self.cost_combo, 0, 1, 1, 2)
        grid.addWidget(QLabel("learning rate η"), 1, 0)
        self.eta_spin = QDoubleSpinBox()
        self.eta_spin.setRange(ETA_MIN, ETA_MAX)
        self.eta_spin.setDecimals(3)
        self.eta_spin.setSingleStep(0.005)
        self.eta_spin.setKeyboardTracking(False)
        self.eta_spin.setToolTip("η: how far each step goes along −∇C")
        grid.addWidget(self.eta_spin, 1, 1, 1, 2)
        self.eta_slider = QSlider(Qt.Horizontal)
        self.eta_slider.setRange(0, SLIDER_STEPS)
        self.eta_slider.setToolTip(f"η on a logarithmic scale, {ETA_MIN:g} to {ETA_MAX:g}")
        grid.addWidget(self.eta_slider, 2, 0, 1, 3)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One step: v → v − η∇C")
        self.run_button = QPushButton("Run")
        self.run_button.setCheckable(True)
        self.run_button.setToolTip(f"Keep stepping ({1000 // RUN_INTERVAL_MS} steps a second) until the ball "
                                   "stops, flies off or has taken {MAX_STEPS} steps".replace("{MAX_STEPS}", str(MAX_STEPS)))
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the start point (the path just run stays, faded)")
        for k, b in enumerate((self.step_button, self.run_button, self.reset_button)):
            grid.addWidget(b, 3, k)
        self.readout = readout()
        self.readout.setWordWrap(True)
        grid.addWidget(self.readout, 4, 0, 1, 3)
        self.eta_note = note()
        grid.addWidget(self.eta_note, 5, 0, 1, 3)
        self.cost_note = note()
        grid.addWidget(self.cost_note, 6, 0, 1, 3)
        grid.setRowStretch(7, 1)
        box.setMinimumWidth(300)
        box.setMaximumWidth(420)

        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.plot, 1)
        top.addWidget(box)
        self.caption = lab_page(self, top, CAPTION)

        self.timer = QTimer(self)
        self.timer.setInterval(RUN_INTERVAL_MS)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.cost_combo.currentIndexChanged.connect(self._on_cost_combo_currentIndexChanged)
        self.eta_spin.valueChanged.connect(self._on_eta_spin_valueChanged)
        self.eta_slider.valueChanged.connect(self._on_eta_slider_valueChanged)
        self.step_button.clicked.connect(self.step)
        self.run_button.toggled.connect(self._on_run_button_toggled)
        self.reset_button.clicked.connect(self.reset)
        self.cost_combo.setCurrentIndex(list(TOY_COSTS).index("valley"))
        self._on_cost_combo_currentIndexChanged(self.cost_combo.currentIndex())

    # ------------------------------------------------------------------ state
    @property
    def eta(self) -> float:
        return self.eta_spin.value()

    def set_eta(self, eta: float) -> None:
        self.eta_spin.setValue(eta)

    def set_cost(self, name: str) -> None:
        self.cost_combo.setCurrentIndex(list(TOY_COSTS).index(name))

    @property
    def position(self) -> np.ndarray:
        return self.path[-1]

    def start_at(self, v1: float, v2: float) -> None:
        """Put the ball at (v1, v2): a new path (the old one stays, faded)."""
        self._archive()
        self.path = [np.array([v1, v2], dtype=np.float64)]
        self.status = ""
        self._redraw()

    def reset(self) -> None:
        self.run_button.setChecked(False)
        start = self.path[0] if self.path else np.array(START[self.cost.name])
        self.start_at(*start)

    def step(self) -> bool:
        """One step of eq. (10); False once the ball has stopped or flown off."""
        if self.status:
            return False
        v = descent_step(self.cost, self.position, self.eta)
        self.path.append(v)
        self.path_eta = self.eta   # the η of the path's latest step (for its label once faded)
        moved = float(np.linalg.norm(v - self.path[-2]))
        if not np.all(np.isfinite(v)) or float(np.abs(v).max()) > DIVERGED:
            self.status = "diverged"
        elif self.cost.cost(v) < 1e-10 or moved < 1e-7:
            self.status = "converged"
        elif len(self.path) > MAX_STEPS:
            self.status = "stopped"
        self._redraw()
        self.stepped.emit(len(self.path) - 1)
        return not self.status

    def _archive(self) -> None:
        if len(self.path) > 1:
            self.old_paths = (self.old_paths + [(np.array(self.path), self.path_eta)])[-KEEP_PATHS:]

    # ------------------------------------------------------------------ slots
    def _on_cost_combo_currentIndexChanged(self, _index: int) -> None:
        self.run_button.setChecked(False)
        self.cost = TOY_COSTS[self.cost_combo.currentData()]
        xs, ys, c = self.cost.grid(161)
        self.map.set_surface(xs, ys, c + 1e-3)
        lo, hi = self.cost.extent
        self.plot.getPlotItem().setRange(xRange=(lo, hi), yRange=(lo, hi), padding=0.02)
        self.minimum.setData([self.cost.centre[0]], [self.cost.centre[1]])
        lam = self.cost.eigenvalues
        self.cost_note.setText(f"{self.cost.caption} Curvatures λ = {lam[0]:g} and {lam[1]:g}; "
                               f"2/λ_max = {self.cost.eta_limit:.3g}.")
        self.old_paths = []
        self.path = []
        self.set_eta(DEFAULT_ETA[self.cost.name])
        self.start_at(*START[self.cost.name])

    def _on_eta_spin_valueChanged(self, eta: float) -> None:
        self.eta_slider.blockSignals(True)
        self.eta_slider.setValue(eta_to_slider(eta))
        self.eta_slider.blockSignals(False)
        self._redraw()

    def _on_eta_slider_valueChanged(self, v: int) -> None:
        self.eta_spin.setValue(slider_to_eta(v))

    def _on_run_button_toggled(self, on: bool) -> None:
        self.run_button.setText("Pause" if on else "Run")
        if on:
            if self.status:     # a finished path: run again from its start
                self.reset()
                self.run_button.setChecked(True)
                self.run_button.setText("Pause")
            self.timer.start()
        else:
            self.timer.stop()

    def _on_timer_timeout(self) -> None:
        if not self.step():
            self.run_button.setChecked(False)

    def _on_scene_sigMouseClicked(self, event) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        if event.button() != Qt.LeftButton or not vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = vb.mapSceneToView(event.scenePos())
        running = self.run_button.isChecked()
        self.start_at(p.x(), p.y())
        if running:
            self.timer.start()

    # ------------------------------------------------------------------ drawing
    def _redraw(self) -> None:
        for curve, k in zip(self.old_curves, range(KEEP_PATHS)):
            i = len(self.old_paths) - KEEP_PATHS + k
            label = self.old_labels[k]
            if i >= 0:
                path, eta = self.old_paths[i]
                curve.setData(*_clip(path).T)
                label.setText(f"η = {eta:.3g}")
                label.setPos(*_clip(path[:1])[0])
                label.setVisible(True)
            else:
                curve.setData([], [])
                label.setVisible(False)
        if not self.path:
            return
        path = np.array(self.path)
        self.path_curve.setData(*_clip(path).T)
        v = _clip(path[-1:])[0]
        self.ball.setData([v[0]], [v[1]])
        c = self.cost.cost(self.position) if np.all(np.isfinite(self.position)) else float("inf")
        state = {"": "", "converged": " — at the bottom",
                 "diverged": f" — <span style='color:{style.ERROR}'>diverged: the ball flew off</span>",
                 "stopped": f" — stopped after {MAX_STEPS} steps"}[self.status]
        pos = self.position
        where = f"({pos[0]:.3g}, {pos[1]:.3g})" if np.abs(pos).max() < 1e4 else "far away"
        self.readout.setText(f"step {len(self.path) - 1}: v = {where}, C(v) = {c:.3g}{state}")
        limit = self.cost.eta_limit
        if self.eta > limit:
            note = (f"η = {self.eta:.3g} > 2/λ_max = {limit:.3g}: each step overshoots by more than it "
                    "gains — the ball swings ever wider and diverges.")
        elif self.eta > 0.5 * limit:
            note = (f"η = {self.eta:.3g}, below 2/λ_max = {limit:.3g} but near it: the ball overshoots "
                    "and zigzags across the valley, yet settles.")
        elif self.eta < 0.05 * limit:
            note = f"η = {self.eta:.3g}, far below 2/λ_max = {limit:.3g}: safe, but the ball crawls."
        else:
            note = f"η = {self.eta:.3g} < 2/λ_max = {limit:.3g}: every step goes downhill."
        self.eta_note.setText(note)


def _clip(path: np.ndarray, far: float = 1e4) -> np.ndarray:
    """Points beyond ±far drawn at ±far (a diverged path stays drawable)."""
    return np.clip(np.nan_to_num(path, nan=0.0, posinf=far, neginf=-far), -far, far)
