"""Accuracy and cost plots. Every plot item is created once and updated with setData.

The views keep the numbers they were given (appended by the window as snapshots
arrive) and draw them only in :meth:`render`, which the window calls on a timer.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem, QGraphicsTextItem, QSizePolicy

from nnviz.core.training import EpochSnapshot, ProgressSnapshot, SettingChanged
from nnviz.gui import style

BOOK_ACCURACY = 95.0  # %, what chapter 1 reaches with [784, 30, 10], eta = 3.0


class Series:
    """A growable pair of float arrays (x, y), amortised O(1) append."""

    def __init__(self, capacity: int = 256) -> None:
        self._xy = np.empty((2, capacity))
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == self._xy.shape[1]:
            self._xy = np.concatenate([self._xy, np.empty_like(self._xy)], axis=1)
        self._xy[0, self.n] = x
        self._xy[1, self.n] = y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    @property
    def x(self) -> np.ndarray:
        return self._xy[0, :self.n]

    @property
    def y(self) -> np.ndarray:
        return self._xy[1, :self.n]


def _pen(colour: str, width: float = 2.0, alpha: int = 255, dash: bool = False) -> pg.QtGui.QPen:
    c = pg.mkColor(colour)
    c.setAlpha(alpha)
    pen = pg.mkPen(c, width=width)
    if dash:
        pen.setStyle(Qt.DashLine)
    pen.setCosmetic(True)
    return pen


def _plot_widget(left: str) -> pg.PlotWidget:
    w = pg.PlotWidget(enableMenu=False)   # no menu: not even built (5 ms each)
    p = w.getPlotItem()
    p.showGrid(x=True, y=True, alpha=style.GRID_ALPHA)
    p.setLabel("bottom", "epochs")
    p.setLabel("left", left)
    p.setMenuEnabled(False)
    p.hideButtons()
    for axis in ("left", "bottom"):
        p.getAxis(axis).setTextPen(style.TEXT)
        p.getAxis(axis).enableAutoSIPrefix(False)
        # the axes (and their grid lines, which span the plot) are redrawn from a cached
        # pixmap when only a curve changes: most of the cost of a frame otherwise
        p.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        # text space only grows: a tick label a few pixels narrower must not re-lay out
        # (and so repaint) the whole plot in the middle of training
        p.getAxis(axis).setStyle(autoReduceTextSpace=False)
    w.setMinimumHeight(150)
    return w


LEGEND_TEXT_SIZE = "10pt"  # as the axes' text: readable in the window and in exported figures


class LegendRow(pg.LegendItem):
    """A one-line legend in the plot's title row: above the data, so never over it, and
    part of the plot item (exported figures keep it)."""

    def __init__(self, plot: pg.PlotItem, columns: int = 8) -> None:
        self._plot = None
        super().__init__(colCount=columns, horSpacing=6, verSpacing=0, labelTextColor=style.TEXT,
                         labelTextSize=LEGEND_TEXT_SIZE)
        self._plot = plot
        # a legend floating over a plot ignores the view's scale; one in the layout scales
        # with the figure (an exported PNG is drawn at twice the size)
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.layout.setContentsMargins(0, 0, 0, 0)
        plot.layout.removeItem(plot.titleLabel)  # nnviz's plots have no title: the caption above says it
        plot.titleLabel.hide()
        plot.layout.addItem(self, 0, 1)
        plot.layout.setAlignment(self, Qt.AlignRight | Qt.AlignVCenter)
        # the row is as tall as the legend's text (which presentation mode enlarges), no taller
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        plot.layout.setRowStretchFactor(0, 0)
        plot.layout.setRowMinimumHeight(0, 0)
        plot.layout.setRowMaximumHeight(0, 10_000)
        plot.legend = self
        self.updateSize()

    def updateSize(self) -> None:
        if self._plot is None:  # during LegendItem.__init__
            return
        self.layout.invalidate()
        self.updateGeometry()

    def paint(self, p, *args) -> None:  # no frame, no box: it is not over anything
        pass


def reference_sample(pen) -> pg.PlotDataItem:
    """A curve never drawn, standing for a reference line in a legend."""
    return pg.PlotDataItem([], [], pen=pen)


MARKER_GAP = 8  # px kept between a change marker's label and the next marker


def _merged_label(changes: list[SettingChanged]) -> str:
    """One label for changes close together: 'η = 6.75', 'η 3 → 6.75, 4 changes'..."""
    etas = [c for c in changes if c.name == "eta"]
    costs = [c for c in changes if c.name != "eta"]
    parts = []
    if len(etas) == 1:
        parts.append(f"η = {etas[0].new:g}")
    elif etas:
        parts.append(f"η {etas[0].old:g} → {etas[-1].new:g}")
    if costs:
        parts.insert(0 if changes[0] is costs[0] else len(parts), f"{costs[-1].new} cost")
    if len(changes) > 1:
        parts.append(f"{len(changes)} changes")
    return ", ".join(parts)


class _EpochPlot:
    """What the two plots share: an epochs x axis, the target-epochs range and
    vertical markers where eta (or the cost) was changed live."""

    def __init__(self, widget: pg.PlotWidget) -> None:
        self.widget = widget
        self.plot = widget.getPlotItem()
        self.plot.enableAutoRange(x=False, y=False)  # ranges are set by the plots, rarely
        self.markers: list[pg.InfiniteLine] = []  # one per group of changes close together
        self.changes: list[SettingChanged] = []
        self._marker_layout: tuple | None = None
        self._measure = QGraphicsTextItem()  # measures marker labels before they are drawn
        self.plot.getViewBox().sigResized.connect(self._on_view_resized)
        self._target = 1
        self._x_max = 0.0
        self._range: tuple[float, float] | None = None
        self.dirty = True

    def set_target_epochs(self, epochs: int) -> None:
        self._target = max(1, int(epochs))
        self.dirty = True

    def add_change(self, change: SettingChanged) -> None:
        """Mark ``change`` with a vertical line labelled with the new value (drawn at the
        next render, merged with the changes next to it)."""
        self.changes.append(change)
        self.dirty = True

    def clear_markers(self) -> None:
        for line in self.markers:
            self.plot.removeItem(line)
        self.markers.clear()
        self.changes.clear()
        self._marker_layout = None

    def _on_view_resized(self) -> None:
        self.dirty = True

    def _label_width(self, text: str) -> float:
        if self.markers:
            self._measure.setFont(self.markers[0].label.textItem.font())
        self._measure.setPlainText(text)
        return self._measure.boundingRect().width()

    def layout_markers(self) -> None:
        """One line per group of changes whose labels would touch: a change joins the group
        before it when its line falls under that group's label. Labels hang inside the
        top of the view, to the right of their line (to the left near the right edge)."""
        vb = self.plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        width = vb.width()
        font = self.markers[0].label.textItem.font() if self.markers else None
        key = (len(self.changes), x0, x1, round(width), font and (font.pixelSize(), font.pointSizeF()))
        if key == self._marker_layout:
            return
        self._marker_layout = key
        px = width / (x1 - x0) if x1 > x0 and width > 0 else 0.0
        groups: list[list[SettingChanged]] = []
        for c in self.changes:
            if groups and (c.position - groups[-1][0].position) * px < (
                    self._label_width(_merged_label(groups[-1])) + MARKER_GAP):
                groups[-1].append(c)
            else:
                groups.append([c])
        while len(self.markers) > len(groups):
            self.plot.removeItem(self.markers.pop())
        while len(self.markers) < len(groups):
            line = pg.InfiniteLine(
                angle=90, movable=False, pen=_pen(style.ETA_MARK, 1.5, 200, dash=True), label="",
                labelOpts={"position": 0.98, "color": style.ETA_MARK, "anchors": [(0, 0), (0, 0)],
                           "fill": pg.mkBrush(29, 31, 36, 200)})
            line.setZValue(-5)
            self.plot.addItem(line)
            self.markers.append(line)
        rows: list[list[tuple[float, float]]] = []   # the labels' extents (px) on each row so far
        for line, group in zip(self.markers, groups):
            text = _merged_label(group)
            x = group[0].position
            # a label that hangs left near the right edge may meet the one before it: then it
            # goes a row lower (never over another label, never out of the view)
            w = self._label_width(text)
            at = (x - x0) * px
            span = (at - w, at) if (x1 - x) * px < w + 4 else (at, at + w)
            row = next((r for r, taken in enumerate(rows)
                        if all(span[1] + MARKER_GAP <= a or b + MARKER_GAP <= span[0] for a, b in taken)),
                       len(rows))
            if row == len(rows):
                rows.append([])
            rows[row].append(span)
            drop = (self._measure.boundingRect().height() + 4) / max(1.0, vb.height())  # a row, as a share
            position = max(0.3, 0.98 - drop * row)
            if line.label.orthoPos != position:
                line.label.setPosition(position)
            line.setPos(x)
            line.changes = group
            line.setToolTip("\n".join(_merged_label([c]) + f" (epoch {c.epoch + 1}, mini-batch {c.batch + 1})"
                                      for c in group))
            near_right = (x1 - x) * px < self._label_width(text) + 4
            anchor = (1, 0) if near_right else (0, 0)
            if line.label.anchors[0] != anchor:
                line.label.anchors = [anchor, anchor]
            if line.label.format != text:
                line.label.setFormat(text)
            line.label.updatePosition()

    def _update_x_range(self, x_max: float) -> None:
        hi = max(float(self._target), x_max)
        if self._range != (0.0, hi):
            self._range = (0.0, hi)
            self.plot.setXRange(0.0, hi, padding=0.02)


class AccuracyPlot(_EpochPlot):
    """Test (and validation) accuracy in % after each epoch; epoch 0 is the untrained net."""

    caption = ("How many test digits the network classifies correctly after each epoch "
               "(0 = the untrained network, about 10%: guessing). The dashed line is the "
               "book's 95%. Purple lines mark a change of η or of the cost function.")

    def __init__(self) -> None:
        super().__init__(_plot_widget("accuracy (%)"))
        p = self.plot
        p.setLimits(yMin=-6, yMax=106, xMin=-0.5)
        p.setYRange(0, 100, padding=0.05)
        p.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 20)], [(v, "") for v in range(10, 100, 20)]])
        legend = LegendRow(p)
        book_pen = _pen(style.TEXT, 1, 90, dash=True)
        self.reference = pg.InfiniteLine(pos=BOOK_ACCURACY, angle=0, movable=False, pen=book_pen)
        p.addItem(self.reference)  # named in the legend, not by a label over the curve
        self.test_curve = p.plot([], [], pen=_pen(style.ACCENT, 2.5), symbol="o", symbolSize=6,
                                 symbolBrush=style.ACCENT, symbolPen=None, name="test")
        self.validation_curve = p.plot([], [], pen=_pen(style.VALIDATION, 2), symbol="s", symbolSize=5,
                                       symbolBrush=style.VALIDATION, symbolPen=None, name="validation")
        self.reference_sample = reference_sample(book_pen)
        legend.addItem(self.reference_sample, f"book: {BOOK_ACCURACY:g}%")
        self.legend = legend
        legend.removeItem(self.validation_curve)  # shown only when the data has a validation set
        self._has_validation = False
        self.test = Series()
        self.validation = Series()

    def add_epoch(self, snap: EpochSnapshot) -> None:
        if snap.test_total:
            self.test.append(snap.epochs_done, 100.0 * snap.test_accuracy)
        if snap.validation_total:
            self.validation.append(snap.epochs_done, 100.0 * snap.validation_accuracy)
        self.dirty = True

    def clear(self) -> None:
        self.test.clear()
        self.validation.clear()
        self.clear_markers()
        self.dirty = True

    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.test_curve.setData(self.test.x, self.test.y)
        self.validation_curve.setData(self.validation.x, self.validation.y)
        has_validation = self.validation.n > 0
        if has_validation != self._has_validation:
            self._has_validation = has_validation
            if has_validation:
                self.legend.addItem(self.validation_curve, "validation")
            else:
                self.legend.removeItem(self.validation_curve)
        x_max = float(self.test.x[-1]) if self.test.n else 0.0
        self._update_x_range(x_max)
        self.layout_markers()


class CostPlot(_EpochPlot):
    """Training cost: a faint line updated within each epoch, a bold one per epoch."""

    caption = ("The cost C the network is minimising, averaged over the training digits seen "
               "so far in each epoch (faint, updated live) and over each whole epoch (bold). "
               "Lower is better; a rising cost means η is too large.")

    def __init__(self) -> None:
        super().__init__(_plot_widget("training cost"))
        p = self.plot
        self._y_range: tuple[float, float] | None = None
        self._epochs_seen = 0
        self._epochs_drawn = -1
        p.setLimits(xMin=-0.5)
        self.legend = LegendRow(p)
        self.live_curve = p.plot([], [], pen=_pen(style.COST, 1.5, 150), name="within epoch")
        self.epoch_curve = p.plot([], [], pen=_pen(style.COST, 2.5), symbol="o", symbolSize=6,
                                  symbolBrush=style.COST, symbolPen=None, name="per epoch")
        self.live = Series(1024)
        self.per_epoch = Series()

    def add_progress(self, snap: ProgressSnapshot) -> None:
        if snap.examples_seen and np.isfinite(snap.running_cost):
            self.live.append(snap.epoch + snap.fraction, snap.running_cost)
            self.dirty = True

    def add_points(self, points: tuple[tuple[float, float], ...]) -> None:
        """Running-cost points of progress snapshots the worker did not send on."""
        for x, y in points:
            if np.isfinite(y):
                self.live.append(x, y)
        self.dirty = True

    def add_epoch(self, snap: EpochSnapshot) -> None:
        if snap.epochs_done and np.isfinite(snap.training_cost):
            self.per_epoch.append(snap.epochs_done, snap.training_cost)
            self.live.append(snap.epochs_done, snap.training_cost)
            self.live.append(np.nan, np.nan)  # each epoch's running cost starts afresh
            self.dirty = True

    def _update_y_range(self) -> None:
        """Fit y to the data when a point falls outside, or after an epoch if the data has
        come to fill less than half the range (so the axis, and its cached picture, change
        rarely rather than at every update)."""
        y = self.live.y[np.isfinite(self.live.y)]
        if not y.size:
            return
        lo, hi = float(y.min()), float(y.max())
        epoch_ended = self.per_epoch.n != self._epochs_seen
        self._epochs_seen = self.per_epoch.n
        r = self._y_range
        loose = r is not None and (hi - lo) < 0.5 * (r[1] - r[0])
        if r is None or (epoch_ended and loose) or lo < r[0] or hi > r[1]:
            pad = 0.08 * (hi - lo) if hi > lo else 0.1 * abs(hi) or 0.1
            self._y_range = (max(0.0, lo - pad), hi + pad)
            self.plot.setYRange(*self._y_range, padding=0)

    def clear(self) -> None:
        self._y_range = None
        self._epochs_seen = 0
        self._epochs_drawn = -1
        self.live.clear()
        self.per_epoch.clear()
        self.clear_markers()
        self.dirty = True

    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.live_curve.setData(self.live.x, self.live.y, connect="finite")
        if self.per_epoch.n != self._epochs_drawn:
            self._epochs_drawn = self.per_epoch.n
            self.epoch_curve.setData(self.per_epoch.x, self.per_epoch.y)
        self._update_y_range()
        x = self.live.x
        x_max = float(np.nanmax(x)) if self.live.n and np.isfinite(x).any() else 0.0
        self._update_x_range(x_max)
        self.layout_markers()
