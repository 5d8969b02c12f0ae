"""The Errors tab: the confusion matrix on the test digits, per-digit accuracy, and
galleries of digits (a clicked cell's, and the most confident mistakes); with the class
names of a dataset that has them (Fashion-MNIST's "T-shirt/top" … "Ankle boot").

It draws an :class:`nnviz.core.analysis.ErrorAnalysis` computed off the GUI thread; the
matrix and each gallery are one ImageItem (tiles laid out with numpy).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from nnviz.core.analysis import (
    CONFIDENT_MISTAKES_EXPLAINED,
    CONFUSION_EXPLAINED,
    ErrorAnalysis,
    confident_mistakes_explained,
    confusion_caption,
    confusion_explained,
)
from nnviz.core.classes import label_name, noun, short_name
from nnviz.gui import style
from nnviz.gui.widgets import image_view, set_class_ticks

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
    """A 10x10 heatmap with the count in each cell; clicking a cell emits ``cellClicked``.

    The rows are labelled with the class names (the digits, or e.g. "T-shirt/top"), the
    columns with their short names (on two staggered lines when they are names); the
    margins are measured in pixels so that long names fit at any size."""

    cellClicked = Signal(int, int)  # (true label, answered label)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.k = 10
        self.confusion: np.ndarray | None = None
        self.class_names: tuple[str, ...] | None = None
        # a plain view with the labels as text next to the cells (axes would drift away
        # from a square matrix in a wide or tall widget)
        p = self.plot = self.addViewBox(row=0, col=0, enableMenu=False)
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.invertY(True)
        p.setAspectLocked(True)
        self.row_ticks = [pg.TextItem(str(d), anchor=(1, 0.5), color=style.TEXT) for d in range(10)]
        self.column_ticks = [pg.TextItem(str(d), anchor=(0.5, 1), color=style.TEXT) for d in range(10)]
        for t in self.row_ticks + self.column_ticks:
            p.addItem(t)
        self.side = pg.TextItem("true digit", anchor=(0.5, 1), color=style.MUTED, angle=90)
        p.addItem(self.side)
        self.top = pg.TextItem("the network's answer →", anchor=(0.5, 1), color=style.MUTED)
        p.addItem(self.top)
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
        self._fitted: tuple | None = None
        self._fit()
        p.sigResized.connect(self._fit)
        self.setToolTip(CONFUSION_EXPLAINED)
        self.scene().sigMouseClicked.connect(self._on_sigMouseClicked)

    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """Label the rows and columns with the digits (None) or these class names."""
        self.class_names = class_names
        for k in range(10):
            self.row_ticks[k].setText(label_name(k, class_names))
            column = short_name(k, class_names)
            self.column_ticks[k].setText(column if class_names is None or k % 2 == 0 else column + "\n")
        self.side.setText("true digit" if class_names is None else "true class")
        self.setToolTip(confusion_explained(class_names))
        self._fit()

    def _fit(self, *_args) -> None:
        """Place the labels and set the view's range so they fit beside the cells: the
        margins are the labels' sizes in pixels, turned into cells at the current scale."""
        vb = self.plot
        width, height = max(vb.width(), 60.0), max(vb.height(), 60.0)
        row_w = max(t.textItem.boundingRect().width() for t in self.row_ticks)
        col_h = max(t.textItem.boundingRect().height() for t in self.column_ticks)
        side_h = self.side.textItem.boundingRect().height()
        top_h = self.top.textItem.boundingRect().height()
        # the last columns' names may stand out past the matrix's right edge, by at most half their width
        right = max(4.0, max(t.textItem.boundingRect().width() for t in self.column_ticks[-2:]) / 2)
        key = (width, height, row_w, col_h, side_h, top_h, right)
        if key == self._fitted:
            return
        self._fitted = key
        left, above, gap = row_w + side_h + 2, col_h + top_h, 4.0
        scale = max(1.0, min((width - left - right) / self.k, (height - above - gap) / self.k))  # pixels a cell
        for k, (row, column) in enumerate(zip(self.row_ticks, self.column_ticks)):
            row.setPos(-2 / scale, k + 0.5)
            column.setPos(k + 0.5, 0)
        self.side.setPos(-(row_w + 2) / scale, self.k / 2)
        self.top.setPos(self.k / 2, -col_h / scale)
        vb.setRange(QRectF(-left / scale, -above / scale, self.k + (left + right) / scale,
                           self.k + (above + gap) / scale), padding=0.0)

    def set_confusion(self, confusion: np.ndarray) -> None:
        c = np.asarray(confusion)
        self.confusion = c
        self._fit()   # the labels' font may have changed (presentation mode)
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
    """Up to ``capacity`` test examples in one image, each labelled 'true → answer'.

    With class names (:meth:`set_class_names`) a label takes two lines of short names
    ("T-shirt" over "→Shirt") and the tiles stand wider apart, fewer to a row; hovering
    a tile gives the full names."""

    def __init__(self, title: str, capacity: int, columns: int, tip: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = -(-capacity // columns)
        self.digit_columns = columns
        self.class_names: tuple[str, ...] | None = None
        self.indices = np.zeros(0, dtype=np.int64)  # the test examples shown, in order
        self.total = 0                                # how many there were in all
        self._shown_labels: tuple[np.ndarray, np.ndarray] | None = None
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
        self.tip = tip
        self._set_layout(columns, (TILE + 14, TILE + 4))
        if tip:
            self.graphics.setToolTip(tip)
        self.graphics.scene().sigMouseMoved.connect(self._on_sigMouseMoved)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.graphics, 1)

    def _set_layout(self, columns: int, cell: tuple[int, int]) -> None:
        self.columns, self._cell = columns, cell   # (height, width) of a tile with its label
        self.capacity = self.rows * columns
        h, w = self.rows * cell[0], columns * cell[1]
        self._mosaic = np.full((h, w), np.nan, dtype=np.float32)
        self.view.setRange(QRectF(0, 0, w, h), padding=0.0)

    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """Label the tiles with digits (None: 12 a row) or two lines of short class names."""
        if class_names == self.class_names:
            return
        self.class_names = class_names
        if class_names is None:
            self._set_layout(self.digit_columns, (TILE + 14, TILE + 4))
        else:
            self._set_layout(self.digit_columns * 2 // 3, (TILE + 26, TILE + 20))
        self.clear()

    def set_digits(self, images: np.ndarray, indices: np.ndarray, labels: np.ndarray,
                   predicted: np.ndarray, note: str = "") -> None:
        """Show ``images[indices]`` (the first ``capacity``), labelled ``labels`` → ``predicted``."""
        self.total = len(indices)
        shown = np.asarray(indices[:self.capacity], dtype=np.int64)
        self.indices = shown
        self._shown_labels = (labels, predicted)
        m = self._mosaic
        m.fill(np.nan)
        ch, cw = self._cell
        top = ch - TILE - 2   # the label's height above the image
        names = self.class_names
        for i, j in enumerate(shown):
            r, c = divmod(i, self.columns)
            y, x = r * ch + top, c * cw + cw // 2 - TILE // 2
            m[y:y + TILE, x:x + TILE] = np.asarray(images[j], dtype=np.float32).reshape(TILE, TILE)
            t, q = int(labels[j]), int(predicted[j])
            item = self.texts[i]
            if names is None:
                text = f"{t}→{q}" if t != q else f"{t} ✓"
            else:
                text = f"{short_name(t, names)}\n→{short_name(q, names)}" if t != q else f"{short_name(t, names)}\n✓"
            item.setText(text, color=style.TEXT if t != q else style.MUTED)
            item.setPos(x + TILE / 2, r * ch - 1)
            item.show()
        for item in self.texts[len(shown):]:
            item.hide()
        self.image.setImage(m, autoLevels=False, levels=(0, 1))
        self.note.setText(note)

    def tile_at(self, scene_pos: QPointF) -> int:
        """The index into :attr:`indices` of the tile under ``scene_pos`` (-1: none)."""
        p = self.view.mapSceneToView(scene_pos)
        r, c = int(np.floor(p.y() / self._cell[0])), int(np.floor(p.x() / self._cell[1]))
        i = r * self.columns + c
        return i if 0 <= r < self.rows and 0 <= c < self.columns and i < len(self.indices) else -1

    def _on_sigMouseMoved(self, scene_pos: QPointF) -> None:
        i = self.tile_at(scene_pos)
        if i < 0 or self._shown_labels is None:
            self.graphics.setToolTip(self.tip)
            return
        labels, predicted = self._shown_labels
        j = int(self.indices[i])
        t, q = int(labels[j]), int(predicted[j])
        what = noun(self.class_names)
        answer = "right" if t == q else f"answered {label_name(q, self.class_names)}"
        self.graphics.setToolTip(f"test {what} #{j}: {label_name(t, self.class_names)}, {answer}")

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
        self.class_names: tuple[str, ...] | None = None
        self.dirty = False

        self.title = QLabel("Confusion matrix: test digits")
        self.title.setObjectName("viewTitle")
        self.matrix = ConfusionMatrixView()
        self.matrix.setMinimumSize(260, 260)
        self.matrix.cellClicked.connect(self.select_cell)
        self.summary = QLabel("Waiting for the first epoch…")
        self.summary.setObjectName("caption")
        self.summary.setWordWrap(True)
        explained = self.explained = QLabel(CONFUSION_EXPLAINED)
        explained.setObjectName("caption")
        explained.setWordWrap(True)

        self.class_title = QLabel("Accuracy per digit")
        self.class_title.setObjectName("viewTitle")
        self.class_widget = pg.PlotWidget(enableMenu=False)
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
        mistakes_caption = self.mistakes_caption = QLabel(CONFIDENT_MISTAKES_EXPLAINED)
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
    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """The dataset's class names (None: the labels are digits), for every label and caption."""
        self.class_names = class_names
        self.matrix.set_class_names(class_names)
        self.cell_gallery.set_class_names(class_names)
        self.mistakes.set_class_names(class_names)
        self.explained.setText(confusion_explained(class_names))
        self.mistakes_caption.setText(confident_mistakes_explained(class_names))
        self.mistakes.tip = confident_mistakes_explained(class_names)
        self.cell_gallery.tip = (f"The test {noun(class_names, True)} of the cell you clicked, most confident answer "
                                 f"first. Each is labelled true {'digit' if class_names is None else 'class'} → "
                                 "the network's answer.")
        for gallery in (self.mistakes, self.cell_gallery):
            gallery.graphics.setToolTip(gallery.tip)
        self.class_widget.setToolTip(f"For each true {'digit' if class_names is None else 'class'}, the share of "
                                     "its test examples the network answers correctly (the diagonal of the matrix "
                                     "over its row's sum). The dashed line is the overall test accuracy.")
        set_class_ticks(self.class_plot, class_names)
        self.dirty = True

    def set_analysis(self, analysis: ErrorAnalysis | None, images: np.ndarray | None, epoch_text: str = "") -> None:
        """The analysis to show (of ``images``, the test examples), e.g. 'after epoch 3'."""
        self.analysis, self.images, self.epoch_text = analysis, images, epoch_text
        self.dirty = True

    def select_cell(self, true: int, pred: int) -> None:
        """Show the examples of cell (true, pred) in the gallery."""
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
            self.title.setText(f"Confusion matrix: test {noun(self.class_names, True)}")
            self.class_title.setText(self._class_title())
            return
        self.title.setText(f"Confusion matrix: {a.total:,} test {noun(self.class_names, True)}, {self.epoch_text}")
        self.matrix.set_confusion(a.confusion)
        self.summary.setText(confusion_caption(a, self.class_names))
        self.class_bars.setOpts(height=np.nan_to_num(100.0 * a.per_class_accuracy))
        self.overall_line.setPos(100.0 * a.accuracy)
        self.class_title.setText(self._class_title(f" (overall {100 * a.accuracy:.1f}%)"))
        wrong = a.confident_mistakes(None)
        self.mistakes.set_digits(self.images, wrong, a.labels, a.predicted,
                                 f"{min(len(wrong), self.mistakes.capacity)} of {len(wrong):,} mistakes; "
                                 f"labelled true → answer")
        self._render_cell()

    def _class_title(self, overall: str = "") -> str:
        return ("Accuracy per digit" if self.class_names is None else "Accuracy per class") + overall

    def _render_cell(self) -> None:
        a = self.analysis
        t, p = self.selected
        if a is None or self.images is None or t < 0:
            self.cell_gallery.title.setText("Click a cell of the matrix")
            self.cell_gallery.clear(f"to see its {noun(self.class_names, True)}")
            return
        idx = a.cell(t, p)
        names = self.class_names
        if names is None:
            what = f"{t}s answered correctly" if t == p else f"{t}s taken for {p}s"
            self.cell_gallery.title.setText(f"Cell ({t}, {p}): {what} ·")
        else:
            true, answer = label_name(t, names), label_name(p, names)
            what = "answered correctly" if t == p else f"taken for {answer}"
            self.cell_gallery.title.setText(f"{true} {what} ·")
        shown = min(len(idx), self.cell_gallery.capacity)
        note = (f"all {len(idx):,}" if shown == len(idx) else f"the {shown} most confident of {len(idx):,}")
        self.cell_gallery.set_digits(self.images, idx, a.labels, a.predicted, note if len(idx) else "none")
