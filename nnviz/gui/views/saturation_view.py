"""The Saturation tab: per epoch, the share of saturated neurons (σ′(z) < 0.01) and the
mean error |δ| of each layer: the book's learning slowdown, made visible."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from nnviz.core.analysis import SATURATION_EXPLAINED, SATURATION_THRESHOLD, Saturation, saturation_caption
from nnviz.gui import style
from nnviz.gui.views.plots import LegendRow, _pen

CAPTION = (
    f"Top: the share of weighted inputs z (over a fixed sample of 1,000 test digits) where σ′(z) < "
    f"{SATURATION_THRESHOLD:g}, i.e. the neuron's output is within 0.01 of 0 or 1. Bottom: the mean size "
    "of the error δ = ∂C/∂b of each layer (log scale); weights learn in proportion to it (BP3, BP4). "
    "When neurons saturate, δ shrinks and learning slows down. " + SATURATION_EXPLAINED)

LAYER_COLOURS = (style.ACCENT, style.VALIDATION, style.COST, style.ETA_MARK)


class SaturationView(QWidget):
    """Two small plots over epochs; :meth:`set_series` gives them the numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dirty = False
        self._epochs = np.zeros(0)
        self._series: list[Saturation] = []
        self.cursor_epoch: float | None = None
        self._target = 1
        self._legend_layers = 0

        self.title = QLabel("Saturation and the learning slowdown")
        self.title.setObjectName("viewTitle")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.share_plot = self.graphics.addPlot(row=0, col=0, enableMenu=False)
        self.delta_plot = self.graphics.addPlot(row=1, col=0, enableMenu=False)
        self.delta_plot.setXLink(self.share_plot)
        for p, left in ((self.share_plot, "saturated (%)"), (self.delta_plot, "mean |δ|")):
            p.setMenuEnabled(False)
            p.hideButtons()
            p.setMouseEnabled(x=False, y=False)
            p.showGrid(x=True, y=True, alpha=style.GRID_ALPHA)
            p.setLabel("left", left)
            for axis in ("left", "bottom"):
                p.getAxis(axis).setTextPen(style.TEXT)
                p.getAxis(axis).enableAutoSIPrefix(False)
                p.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            p.getAxis("left").setWidth(58)
        self.delta_plot.setLabel("bottom", "epochs")
        self.share_plot.setYRange(0, 100, padding=0.04)
        self.share_plot.enableAutoRange(y=False)
        self.delta_plot.setLogMode(y=True)
        legend = LegendRow(self.share_plot)  # above the plots: never over the curves
        self.hidden_curve = self.share_plot.plot([], [], pen=_pen(style.ACCENT, 2.5), symbol="o", symbolSize=5,
                                                 symbolBrush=style.ACCENT, symbolPen=None, name="hidden neurons")
        self.output_curve = self.share_plot.plot([], [], pen=_pen(style.VALIDATION, 2.5), symbol="s",
                                                 symbolSize=5, symbolBrush=style.VALIDATION, symbolPen=None,
                                                 name="output neurons")
        self.legend = legend
        self.delta_legend = LegendRow(self.delta_plot)
        self.delta_curves: list[pg.PlotDataItem] = []
        self.cursors = []
        for p in (self.share_plot, self.delta_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=_pen(style.TEXT, 1.5, 160, dash=True))
            line.hide()
            p.addItem(line)
            self.cursors.append(line)
        self.graphics.ci.layout.setRowStretchFactor(0, 1)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self.graphics.setToolTip(SATURATION_EXPLAINED)
        self.summary = QLabel("Waiting for the first epoch…")
        self.summary.setObjectName("viewTitle")
        caption = self.caption = QLabel(CAPTION)
        caption.setObjectName("caption")
        caption.setWordWrap(True)
        caption.setToolTip(SATURATION_EXPLAINED)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.summary)
        layout.addWidget(caption)

    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """The caption's sample is of test digits, or of test items for a dataset of named classes."""
        self.caption.setText(CAPTION if class_names is None else CAPTION.replace("test digits", "test items"))

    def set_series(self, epochs, series: list[Saturation], cursor: float | None = None,
                   target_epochs: int | None = None) -> None:
        """Per-epoch :class:`Saturation` numbers (``epochs[i]`` -> ``series[i]``); the
        cursor (a rewound epoch, or None) picks the one summed up under the plots."""
        self._epochs = np.asarray(epochs, dtype=np.float64)
        self._series = list(series)
        self.cursor_epoch = cursor
        if target_epochs is not None:
            self._target = max(1, int(target_epochs))
        self.dirty = True

    def set_target_epochs(self, epochs: int) -> None:
        """The x axis spans the planned epochs (a preset's 30, say), data or not."""
        if max(1, int(epochs)) != self._target:
            self._target = max(1, int(epochs))
            self.dirty = True

    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        x, s = self._epochs, self._series
        hi = max(float(self._target), float(x.max()) if x.size else 1.0)
        self.share_plot.setXRange(0, hi, padding=0.02)
        if not s:
            self.hidden_curve.setData([], [])
            self.output_curve.setData([], [])
            for c in self.delta_curves:
                c.setData([], [])
            self.summary.setText("Waiting for the first epoch…")
            for line in self.cursors:
                line.hide()
            return
        self.hidden_curve.setData(x, 100.0 * np.array([v.hidden_saturated for v in s]))
        self.output_curve.setData(x, 100.0 * np.array([v.output_saturated for v in s]))
        layers = len(s[-1].mean_abs_delta)
        while len(self.delta_curves) < layers:
            i = len(self.delta_curves)
            colour = LAYER_COLOURS[i % len(LAYER_COLOURS)]
            curve = self.delta_plot.plot([], [], pen=_pen(colour, 2.5), symbol="o", symbolSize=5,
                                         symbolBrush=colour, symbolPen=None, name=f"layer {i + 1}")
            self.delta_curves.append(curve)
        for i, curve in enumerate(self.delta_curves):
            if i < layers:
                y = np.array([v.mean_abs_delta[i] if len(v.mean_abs_delta) == layers else np.nan for v in s])
                curve.setData(x, np.where(y > 0, y, np.nan), connect="finite")
            else:
                curve.setData([], [])
        if layers != self._legend_layers:
            self._legend_layers = layers
            self._relabel_legend(layers)
        self._set_log_ticks()
        i = len(s) - 1
        if self.cursor_epoch is not None:
            i = int(np.argmin(np.abs(x - self.cursor_epoch)))
            for line in self.cursors:
                line.setPos(float(x[i]))
                line.show()
        else:
            for line in self.cursors:
                line.hide()
        self.summary.setText(f"After epoch {int(x[i])}: {saturation_caption(s[i])}")

    def _relabel_legend(self, layers: int) -> None:
        legend = self.delta_legend
        legend.clear()
        for i, curve in enumerate(self.delta_curves[:layers]):
            name = ("output layer" if i == layers - 1 else
                    "hidden layer" if layers == 2 else f"hidden layer {i + 1}")
            legend.addItem(curve, name)

    def _set_log_ticks(self) -> None:
        """Label only 1, 2 and 5 times a power of ten on the |δ| axis (pyqtgraph's own log
        ticks crowd together over less than a decade)."""
        ys = np.concatenate([c.yData for c in self.delta_curves if c.yData is not None and len(c.yData)] or [[]])
        ys = ys[np.isfinite(ys) & (ys > 0)]
        if not ys.size:
            return
        lo, hi = np.floor(np.log10(ys.min())), np.ceil(np.log10(ys.max()))
        if (lo, hi) == getattr(self, "_log_range", None):
            return
        self._log_range = (lo, hi)
        major, minor = [], []
        for e in range(int(lo), int(hi) + 1):
            for m in (1, 2, 5):
                v = m * 10.0 ** e
                (major if m == 1 or hi - lo <= 2 else minor).append((np.log10(v), f"{v:g}"))
        self.delta_plot.getAxis("left").setTicks([major, [(t, "") for t, _ in minor]])
