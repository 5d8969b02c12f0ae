"""The Errors tab: the confusion matrix on the test digits, per-digit accuracy, and
galleries of digits (a clicked cell's, and the most confident mistakes).

It draws an :class:`nnviz.core.analysis.ErrorAnalysis` computed off the GUI thread; the
matrix and each gallery are one ImageItem (tiles laid out with numpy).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nnviz.core.analysis import CONFIDENT_MISTAKES_EXPLAINED, CONFUSION_EXPLAINED, ErrorAnalysis, confusion_caption
from nnviz.gui import style
from nnviz.gui.widgets import image_view

TILE = 28


def _rgb(colour: str) -> np.ndarray:
    c = QColor(colour)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float64)


def confusion_colours(confusion: np.ndarray) -> np.ndarray:
    """``(k, k, 4)`` uint8 RGBA: the diagonal (right answers) in blue, brighter the larger a
    share of its row; mistakes in red, brighter the more of them (square-root scale, so a
    few mistakes still show); empty cells in the panel colour."""
    c = np.asarray(confusion, dtype=np.float64)
    k = c.shape[0]
    rows = c.sum(axis=1, keepdims=True)
    share = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    off = c.copy()
    np.fill_diagonal(off, 0)
    top = off.max() if off.any() else 1.0
    t = np.sqrt(off / top)
    base, red, blue = _rgb(style.PANEL), _rgb("#e8574f"), _rgb("#3f8fd0")
    rgb = base + t[..., None] * (red - base)
    d = np.arange(k)
    rgb[d, d] = base + (0.35 + 0.65 * share[d, d])[:, None] * (blue - base)
    rgb[(c == 0)] = base
    out = np.empty((k, k, 4), dtype=np.uint8)
    out[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    out[..., 3] = 255
    return out


class ConfusionMatrixView(pg.GraphicsLayoutWidget):
    """A 10x10 heatmap with the count in each cell; clicking a cell emits ``cellClicked``."""

    cellClicked = Signal(int, int)  # (true digit, answered digit)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.k = 10
        self.confusion: np.ndarray | None = None
        # a plain view with the digits as text next to the cells (axes would drift away
        # from a square matrix in a wide or tall widget)
        p = self.plot = self.addViewBox(row=0, col=0)
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.invertY(True)
        p.setAspectLocked(True)
        for d in range(10):
            for pos, anchor in (((-0.25, d + 0.5), (1, 0.5)), ((d + 0.5, -0.15), (0.5, 1))):
                t = pg.TextItem(str(d), anchor=anchor, color=style.TEXT)
                t.setPos(*pos)
                p.addItem(t)
        side = pg.TextItem("true digit", anchor=(0.5, 1), color=style.MUTED, angle=90)
        side.setPos(-0.95, 5)
        p.addItem(side)
        top = pg.TextItem("the network's answer →", anchor=(0.5, 1), color=style.MUTED)
        top.setPos(5, -0.75)
        p.addItem(top)
        self.image = pg.ImageItem(axisOrder="row-major")
        p.addItem(self.image)
        self.labels: list[pg.TextItem] = []
        for t in range(10):
            for q in range(10):
                item = pg.TextItem("", anchor=(0.5, 0.5), color=style.TEXT)
                item.setPos(q + 0.5, t + 0.5)
                p.addItem(item)
                self.labels.append(item)
        self.selection = QGraphicsRectItem()
        self.selection.setPen(pg.mkPen("#ffffff", width=2.5, cosmetic=True))
        self.selection.setZValue(10)
        self.selection.hide()
        p.addItem(self.selection)
        p.setRange(QRectF(-1.4, -1.5, 11.5, 11.6), padding=0.0)
        self.setToolTip(CONFUSION_EXPLAINED)
        self.scene().sigMouseClicked.connect(self._on_sigMouseClicked)

    def set_confusion(self, confusion: np.ndarray) -> None:
        c = np.asarray(confusion)
        self.confusion = c
        self.image.setImage(confusion_colours(c), autoLevels=False)
        self.image.setRect(QRectF(0, 0, c.shape[1], c.shape[0]))
        for i, item in enumerate(self.labels):
            t, q = divmod(i, 10)
            n = int(c[t, q]) if t < c.shape[0] and q < c.shape[1] else 0
            text = f"{n:,}" if n else ""
            if item.textItem.toPlainText() != text:
                item.setText(text, color=style.TEXT if (t == q or n) else style.MUTED)

    def clear(self) -> None:
        self.confusion = None
        self.image.clear()
        for item in self.labels:
            item.setText("")
        self.selection.hide()

    def select(self, true: int, pred: int) -> None:
        if true < 0:
            self.selection.hide()
            return
        self.selection.setRect(QRectF(pred, true, 1, 1))
        self.selection.show()

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        vb = self.plot
        if self.confusion is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        t, q = int(np.floor(p.y())), int(np.floor(p.x()))
        k = self.confusion.shape[0]
        return (t, q) if 0 <= t < k and 0 <= q < k else None

    def cell_centre(self, true: int, pred: int) -> QPointF:
        """Scene position of a cell's centre (for tests and screenshots)."""
        return self.plot.mapViewToScene(QPointF(pred + 0.5, true + 0.5))

    def _on_sigMouseClicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cellClicked.emit(*cell)


class DigitGallery(QWidget):
    """Up to ``capacity`` test digits in one image, each labelled 'true → answer'."""

    def __init__(self, title: str, capacity: int, columns: int, tip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.capacity, self.columns = capacity, columns
        self.indices = np.zeros(0, dtype=np.int64)  # the test digits shown, in order
        self.total = 0                                # how many there were in all
        self.title = QLabel(title)
        self.title.setObjectName("viewTitle")
        self.note = QLabel("")
        self.note.setObjectName("caption")
        self.graphics, self.view, self.image = image_view()
        self.texts: list[pg.TextItem] = []
        for _ in range(capacity):
            item = pg.TextItem("", anchor=(0.5, 0.0), color=style.MUTED)
            item.hide()
            self.view.addItem(item)
            self.texts.append(item)
        rows = -(-capacity // columns)
        self._cell = (TILE + 14, TILE + 4)   # (height, width) of a tile with its label
        h, w = rows * self._cell[0], columns * self._cell[1]
        self._mosaic = np.full((h, w), np.nan, dtype=np.float32)
        self.view.setRange(QRectF(0, 0, w, h), padding=0.0)
        if tip:
            self.graphics.setToolTip(tip)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.graphics, 1)

    def set_digits(self, images: np.ndarray, indices: np.ndarray, labels: np.ndarray,
                   predicted: np.ndarray, note: str = "") -> None:
        """Show ``images[indices]`` (the first ``capacity``), labelled ``labels`` → ``predicted``."""
        self.total = len(indices)
        shown = np.asarray(indices[:self.capacity], dtype=np.int64)
        self.indices = shown
        m = self._mosaic
        m.fill(np.nan)
        ch, cw = self._cell
        for i, j in enumerate(shown):
            r, c = divmod(i, self.columns)
            y, x = r * ch + 12, c * cw + 2
            m[y:y + TILE, x:x + TILE] = np.asarray(images[j], dtype=np.float32).reshape(TILE, TILE)
            t, q = int(labels[j]), int(predicted[j])
            item = self.texts[i]
            item.setText(f"{t}→{q}" if t != q else f"{t} ✓", color=style.TEXT if t != q else style.MUTED)
            item.setPos(x + TILE / 2, r * ch - 1)
            item.show()
        for item in self.texts[len(shown):]:
            item.hide()
        self.image.setImage(m, autoLevels=False, levels=(0, 1))
        self.note.setText(note)

    def clear(self, note: str = "") -> None:
        self.indices = np.zeros(0, dtype=np.int64)
        self.total = 0
        self.image.clear()
        for item in self.texts:
            item.hide()
        self.note.setText(note)


class ErrorsView(QWidget):
    """Everything in the Errors tab for one :class:`ErrorAnalysis` (the epoch on show)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis: ErrorAnalysis | None = None
        self.images: np.ndarray | None = None
        self.selected: tuple[int, int] = (-1, -1)
        self.epoch_text = ""
        self.dirty = False

        self.title = QLabel("Confusion matrix: test digits")
        self.title.setObjectName("viewTitle")
        self.matrix = ConfusionMatrixView()
        self.matrix.setMinimumSize(260, 260)
        self.matrix.cellClicked.connect(self.select_cell)
        self.summary = QLabel("Waiting for the first epoch…")
        self.summary.setObjectName("caption")
        self.summary.setWordWrap(True)
        explained = QLabel(CONFUSION_EXPLAINED)
        explained.setObjectName("caption")
        explained.setWordWrap(True)

        self.class_title = QLabel("Accuracy per digit")
        self.class_title.setObjectName("viewTitle")
        self.class_widget = pg.PlotWidget()
        p = self.class_plot = self.class_widget.getPlotItem()
        p.setMenuEnabled(False)
        p.hideButtons()
        p.setMouseEnabled(x=False, y=False)
        p.showGrid(y=True, alpha=style.GRID_ALPHA)
        p.setLabel("left", "right (%)")
        for axis in ("left", "bottom"):
            p.getAxis(axis).setTextPen(style.TEXT)
            p.getAxis(axis).enableAutoSIPrefix(False)
            p.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        p.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        p.getAxis("left").setTicks([[(v, str(v)) for v in range(0, 101, 25)]])
        p.enableAutoRange(x=False, y=False)
        p.setXRange(-0.6, 9.6, padding=0)
        p.setYRange(0, 100, padding=0.02)
        self.class_bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7,
                                          brush=pg.mkBrush("#3f8fd0"), pen=pg.mkPen(None))
        p.addItem(self.class_bars)
        self.overall_line = pg.InfiniteLine(angle=0, pos=0, movable=False,
                                            pen=pg.mkPen(style.TEXT, width=1, style=Qt.DashLine))
        p.addItem(self.overall_line)
        self.class_widget.setMinimumHeight(90)
        self.class_widget.setToolTip("For each true digit, the share of its test examples the network "
                                     "answers correctly (the diagonal of the matrix over its row's sum). "
                                     "The dashed line is the overall test accuracy.")

        self.cell_gallery = DigitGallery("Click a cell of the matrix", capacity=36, columns=12,
                                         tip="The test digits of the cell you clicked, most confident answer first. "
                                             "Each is labelled true digit → the network's answer.")
        self.mistakes = DigitGallery("Most confident mistakes ·", capacity=24, columns=12,
                                     tip=CONFIDENT_MISTAKES_EXPLAINED)
        mistakes_caption = QLabel(CONFIDENT_MISTAKES_EXPLAINED)
        mistakes_caption.setObjectName("caption")
        mistakes_caption.setWordWrap(True)

        left = QVBoxLayout()
        left.setSpacing(3)
        left.addWidget(self.title)
        left.addWidget(self.matrix, 1)
        left.addWidget(self.summary)
        left.addWidget(explained)
        right = QVBoxLayout()
        right.setSpacing(3)
        right.addWidget(self.class_title)
        right.addWidget(self.class_widget, 2)
        right.addWidget(self.cell_gallery, 3)
        right.addWidget(self.mistakes, 2)
        right.addWidget(mistakes_caption)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(12)
        layout.addLayout(left, 5)
        layout.addLayout(right, 6)

    # ---------------------------------------------------------------- data
    def set_analysis(self, analysis: ErrorAnalysis | None, images: np.ndarray | None, epoch_text: str = "") -> None:
        """The analysis to show (of ``images``, the test digits), e.g. 'after epoch 3'."""
        self.analysis, self.images, self.epoch_text = analysis, images, epoch_text
        self.dirty = True

    def select_cell(self, true: int, pred: int) -> None:
        """Show the digits of cell (true, pred) in the gallery."""
        self.selected = (int(true), int(pred))
        self.matrix.select(*self.selected)
        self._render_cell()

    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        a = self.analysis
        if a is None or self.images is None:
            self.matrix.clear()
            self.class_bars.setOpts(height=np.zeros(10))
            self.cell_gallery.clear()
            self.mistakes.clear()
            self.summary.setText("Waiting for the first epoch…")
            self.title.setText("Confusion matrix: test digits")
            return
        self.title.setText(f"Confusion matrix: {a.total:,} test digits, {self.epoch_text}")
        self.matrix.set_confusion(a.confusion)
        self.summary.setText(confusion_caption(a))
        self.class_bars.setOpts(height=np.nan_to_num(100.0 * a.per_class_accuracy))
        self.overall_line.setPos(100.0 * a.accuracy)
        self.class_title.setText(f"Accuracy per digit (overall {100 * a.accuracy:.1f}%)")
        wrong = a.confident_mistakes(None)
        self.mistakes.set_digits(self.images, wrong, a.labels, a.predicted,
                                 f"{min(len(wrong), self.mistakes.capacity)} of {len(wrong):,} mistakes; "
                                 f"labelled true → answer")
        self._render_cell()

    def _render_cell(self) -> None:
        a = self.analysis
        t, p = self.selected
        if a is None or self.images is None or t < 0:
            self.cell_gallery.title.setText("Click a cell of the matrix")
            self.cell_gallery.clear("to see its digits")
            return
        idx = a.cell(t, p)
        what = f"{t}s answered correctly" if t == p else f"{t}s taken for {p}s"
        self.cell_gallery.title.setText(f"Cell ({t}, {p}): {what} ·")
        shown = min(len(idx), self.cell_gallery.capacity)
        note = (f"all {len(idx):,}" if shown == len(idx) else f"the {shown} most confident of {len(idx):,}")
        self.cell_gallery.set_digits(self.images, idx, a.labels, a.predicted, note if len(idx) else "none")
