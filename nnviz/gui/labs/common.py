"""What the lab pages share: a plot set up like the others, captions, notes, a cost map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout

from nnviz.gui import style
from nnviz.gui.views.plots import _pen

pen = _pen


def lab_plot(bottom: str, left: str) -> pg.PlotWidget:
    """A fixed (no pan/zoom, no menu) plot with labelled axes in the app's style."""
    w = pg.PlotWidget(enableMenu=False)
    w.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)   # as tall as there is room for
    p = w.getPlotItem()
    p.setMenuEnabled(False)
    p.hideButtons()
    p.setMouseEnabled(x=False, y=False)
    p.showGrid(x=True, y=True, alpha=style.GRID_ALPHA)
    p.setLabel("bottom", bottom)
    p.setLabel("left", left)
    for axis in ("left", "bottom"):
        p.getAxis(axis).setTextPen(style.TEXT)
        p.getAxis(axis).enableAutoSIPrefix(False)
        p.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    return w


def caption(text: str) -> QLabel:
    """A caption in the book's words under a lab (wraps; selectable for copying)."""
    label = QLabel(text)
    label.setObjectName("caption")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


def readout(text: str = "") -> QLabel:
    """A line of live numbers, in the view-title style."""
    label = QLabel(text)
    label.setObjectName("viewTitle")
    label.setTextFormat(Qt.RichText)
    return label


SURFACE_COLORMAP = "viridis"   # low cost dark, high cost bright; perceptually uniform


class CostMap:
    """A cost surface drawn once into ``plot``: a heat map (log scale of the cost), a few
    contour lines, and a colour bar. :meth:`set_surface` replaces the data in place."""

    def __init__(self, plot: pg.PlotWidget, levels: int = 10) -> None:
        self.plot = plot
        p = plot.getPlotItem()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get(SURFACE_COLORMAP))
        p.addItem(self.image)
        self.image.setZValue(-10)
        self.contours = []
        for _ in range(levels):
            c = pg.IsocurveItem(pen=pen("#ffffff", 1.0, 90), axisOrder="row-major")
            c.setParentItem(self.image)
            self.contours.append(c)

    def set_surface(self, xs: np.ndarray, ys: np.ndarray, costs: np.ndarray) -> None:
        """``costs[i, j]`` at (``xs[j]``, ``ys[i]``), equally spaced."""
        shown = np.log10(np.maximum(costs, 1e-12))
        self.image.setImage(shown, autoLevels=False, levels=(float(shown.min()), float(shown.max()) + 1e-12))
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
        self.image.setRect(QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys)))
        lo, hi = float(shown.min()), float(shown.max())
        for k, c in enumerate(self.contours):
            level = lo + (hi - lo) * (k + 0.5) / len(self.contours)
            c.setData(shown)
            c.setLevel(level)
            c.setPos(0.5, 0.5)   # pixel centres


def note(text: str = "", colour: str = style.MUTED) -> QLabel:
    """A wrapped line that stays on screen in presentation mode (which hides captions:
    the lecturer speaks them), for what the lab is saying about the state on show."""
    label = QLabel(text)
    label.setObjectName("labNote")
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {colour};")
    return label


def lab_page(page, body, text: str) -> QLabel:
    """Lay ``page`` out as a lab: ``body`` (a layout) taking the room, the caption
    ``text`` under it; returns the caption."""
    layout = QVBoxLayout(page)
    layout.setContentsMargins(6, 6, 6, 4)
    layout.setSpacing(6)
    layout.addLayout(body, 1)
    label = caption(text)
    layout.addWidget(label)
    return label
