"""Hidden-neuron heatmaps: every hidden neuron's 784 incoming weights as a 28x28 tile,
all tiles in one mosaic ImageItem, plus a bar chart of one neuron's outgoing weights."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QGraphicsItem, QGraphicsRectItem, QHBoxLayout, QLabel, QSizePolicy,
                               QVBoxLayout, QWidget)

from nnviz.gui import style
from nnviz.core.classes import label_name
from nnviz.gui.widgets import image_view, set_class_ticks, set_symmetric_levels
from nnviz.gui.views.mosaic import TILE, grid_shape, nice_level, symmetric_level, tile_at, tile_mosaic

GAP = 1


class HeatmapView(QWidget):
    """The mosaic of first-layer weights and the selected neuron's outgoing weights.

    Call :meth:`set_weights` as often as you like (cheap: it keeps the latest);
    :meth:`render` draws it. Hover a tile to inspect a neuron, click to pin it.
    """

    neuronSelected = Signal(int)  # the neuron shown in the bar chart (-1: none)

    captions = {
        "weights": ("Each tile is one hidden neuron: its 784 incoming weights drawn as a 28×28 image. "
                    "Red pixels switch the neuron on, blue pixels switch it off, white ones do not "
                    "matter. Hover over a tile (click to keep it) to see how it votes for each digit."),
        "change": ("Each tile is one hidden neuron: how its 784 incoming weights (28×28) have changed "
                   "since training began. Red: the pixel now switches the neuron on more, blue: off "
                   "more. Hover over a tile (click to keep it) to see how it votes for each digit."),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._weights: tuple[np.ndarray, ...] | None = None
        self._reference: np.ndarray | None = None  # weights[0] when the run began
        self._mosaic: np.ndarray | None = None
        self._n = 0
        self._pinned = 0   # the neuron in the bar chart when the mouse is elsewhere (-1: none)
        self._shown = -1
        self.dirty = False
        self.level = 0.0  # the colour range is (-level, level)
        self.class_names: tuple[str, ...] | None = None

        self.title = QLabel("Hidden neurons: incoming weights")
        self.title.setObjectName("viewTitle")
        # texts that change while training must not change the view's minimum width (that
        # moves the splitter, re-lays out the window and repaints every plot mid-run)
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.title.setWordWrap(True)  # and so it wraps, rather than being cut, when narrow
        self.mode = QComboBox()
        self.mode.addItem("change since epoch 0", "change")
        self.mode.addItem("weights", "weights")
        self.mode.setToolTip("Show each weight, or how much it has changed since training began "
                             "(the random starting weights hide what was learned).")
        self.mode.currentIndexChanged.connect(self._on_mode_currentIndexChanged)
        self.graphics, self.view, self.image = image_view(margin=2)
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=style.HEATMAP_COLORMAP, interactive=False,
                                        width=14, label="weight", colorMapMenu=False)
        self.colorbar.setImageItem(self.image)
        self.graphics.addItem(self.colorbar, row=0, col=1)
        self.highlight = QGraphicsRectItem()
        self.highlight.setPen(pg.mkPen(style.ACCENT, width=2, cosmetic=True))
        self.highlight.setZValue(10)
        self.highlight.hide()
        self.view.addItem(self.highlight)

        self.bars_plot = self.graphics.addPlot(row=1, col=0, colspan=2, enableMenu=False)
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.hideButtons()
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.setLabel("bottom", "output digit")
        self.bars_plot.setLabel("left", "weight")
        for axis in ("left", "bottom"):
            self.bars_plot.getAxis(axis).enableAutoSIPrefix(False)
            self.bars_plot.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.bars_plot.enableAutoRange(x=False, y=False)
        self._bars_level = 0.0
        self.bars_plot.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        self.bars_plot.showGrid(y=True, alpha=style.GRID_ALPHA)
        self.bars_plot.setXRange(-0.6, 9.6, padding=0)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brushes=["#888"] * 10)
        self.bars_plot.addItem(self.bars)
        self.bars_plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(style.MUTED, width=1)))
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self.bars_title = QLabel("Hover over a neuron")
        self.bars_title.setObjectName("caption")
        self.bars_title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

        self.caption_label = QLabel(self.captions["change"])
        self.caption_label.setObjectName("caption")
        self.caption_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.mode)
        layout.addLayout(head)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.bars_title)
        layout.addWidget(self.caption_label)

        self.graphics.scene().sigMouseMoved.connect(self._on_sigMouseMoved)
        self.graphics.scene().sigMouseClicked.connect(self._on_sigMouseClicked)

    # ---------------------------------------------------------------- data
    @property
    def n_neurons(self) -> int:
        return self._n

    @property
    def mosaic(self) -> np.ndarray | None:
        """The image last drawn (for tests and benchmarks)."""
        return self._mosaic

    @property
    def reference(self) -> np.ndarray | None:
        """The first layer's weights when the run began ("change since epoch 0" subtracts them)."""
        return self._reference

    def set_weights(self, weights: tuple[np.ndarray, ...]) -> None:
        """``weights[0]``: ``(hidden, 784)``; ``weights[1]`` (optional): ``(next, hidden)``."""
        self._weights = weights
        if not self._no_baseline and (self._reference is None or self._reference.shape != weights[0].shape):
            self._reference = weights[0]
        self.dirty = True

    def set_mode(self, mode: str) -> None:
        """'weights' or 'change' (since the run's first weights)."""
        self.mode.setCurrentIndex(max(0, self.mode.findData(mode)))

    def clear(self) -> None:
        self._weights = None
        self._reference = None
        self._no_baseline = False
        self._shown = -1
        self.dirty = True

    _no_baseline = False

    def forget_baseline(self) -> None:
        """The run has no epoch-0 weights (an opened network): 'change since epoch 0' then
        shows the weights themselves, and says so, rather than blank tiles."""
        self._no_baseline = True
        self._reference = None
        self.dirty = True

    def render(self) -> None:
        """Draw the latest weights (if new): one setImage for all tiles."""
        if not self.dirty:
            return
        self.dirty = False
        if self._weights is None:
            self.image.clear()
            self._mosaic = None
            self._n = 0
            self._show_neuron(-1)
            return
        w0 = self._weights[0]
        n = w0.shape[0]
        if w0.shape[1] != TILE[0] * TILE[1]:  # not 28x28 images: nothing sensible to draw
            return
        new_shape = n != self._n
        if new_shape:
            self._n = n
            self._mosaic = None
            rows, cols = grid_shape(n)
            self.title.setText(f"{n} {'hidden' if len(self._weights) > 1 else 'output'} neurons: "
                               f"incoming weights")
            self._pinned = min(self._pinned, n - 1)
        if self.mode.currentData() == "change" and self._reference is not None:
            w0 = w0 - self._reference
        self._update_caption()
        self._mosaic = tile_mosaic(w0, gap=GAP, out=self._mosaic)
        level = symmetric_level(w0)
        self.image.setImage(self._mosaic, autoLevels=False, levels=(-level, level))
        if level != self.level:  # the colour bar (and its axis) change only now and then
            self.level = level
            set_symmetric_levels(self.colorbar, level)
        if new_shape:
            h, w = self._mosaic.shape
            self.view.setRange(QRectF(0, 0, w, h), padding=0.01)
        self._show_neuron(self._shown if self._shown >= 0 else self._pinned, force=True)

    # ---------------------------------------------------------------- neuron inspector
    def _on_mode_currentIndexChanged(self, _index: int) -> None:
        self._update_caption()
        self.dirty = True
        self.render()

    NO_BASELINE = ("This network was opened from a file, which holds no epoch-0 weights to compare with: "
                   "each tile shows the neuron's 784 incoming weights themselves (red: the pixel switches "
                   "the neuron on, blue: off).")

    def _update_caption(self) -> None:
        mode = self.mode.currentData()
        text = self.NO_BASELINE if mode == "change" and self._no_baseline else self.captions[mode]
        if self.class_names is not None:
            text = text.replace("each digit", "each class")
        if self.caption_label.text() != text:
            self.caption_label.setText(text)

    def _class(self, k: int) -> str:
        """'digit 7', or the class's name ('Sneaker')."""
        return f"digit {k}" if self.class_names is None else label_name(k, self.class_names)

    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """The dataset's class names (None: digits) for the output bars and the caption."""
        self.class_names = class_names
        self.bars_plot.setLabel("bottom", "output digit" if class_names is None else "output class")
        if len(self.bars.opts["height"]) == 10:
            set_class_ticks(self.bars_plot, class_names)
        self._update_caption()
        self._show_neuron(self._shown, force=True)   # its title names the class

    def select_neuron(self, j: int) -> None:
        """Pin neuron ``j`` (-1: none) in the bar chart."""
        self._pinned = j if 0 <= j < self._n else -1
        self._show_neuron(self._pinned)

    def _tile_under(self, scene_pos: QPointF) -> int:
        if self._mosaic is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return -1
        p = self.view.mapSceneToView(scene_pos)
        j = tile_at(p.y(), p.x(), self._n, gap=GAP)
        return -1 if j is None else j

    def _on_sigMouseMoved(self, pos: QPointF) -> None:
        j = self._tile_under(pos)
        self._show_neuron(j if j >= 0 else self._pinned)

    def _on_sigMouseClicked(self, event) -> None:
        j = self._tile_under(event.scenePos())
        if j >= 0:
            self.select_neuron(-1 if j == self._pinned else j)

    def _show_neuron(self, j: int, force: bool = False) -> None:
        if j == self._shown and not force:
            return
        self._shown = j
        if j < 0 or self._weights is None:
            self.highlight.hide()
            self.bars.setOpts(height=np.zeros(10))
            self.bars_title.setText("Hover over a neuron to see its outgoing weights; click to keep it.")
            self.neuronSelected.emit(-1)
            return
        rows, cols = grid_shape(self._n)
        th, tw = TILE
        r, c = divmod(j, cols)
        self.highlight.setRect(QRectF(c * (tw + GAP) - 0.5, r * (th + GAP) - 0.5, tw + 1, th + 1))
        self.highlight.show()
        if len(self._weights) > 1:
            out = np.asarray(self._weights[1][:, j], dtype=float)
            brushes = [QColor("#e8574f") if v >= 0 else QColor("#4f8fe8") for v in out]
            if len(out) != len(self.bars.opts["height"]):
                set_class_ticks(self.bars_plot, self.class_names, len(out))
            self.bars.setOpts(x=np.arange(len(out)), height=out, brushes=brushes)
            bars_level = nice_level(float(np.abs(out).max()) * 1.05)
            if bars_level != self._bars_level:
                self._bars_level = bars_level
                self.bars_plot.setYRange(-bars_level, bars_level, padding=0)
            winner = int(np.argmax(out))
            self.bars_title.setText(f"Neuron {j}: outgoing weights; it votes most for {self._class(winner)}"
                                    if len(out) == 10 else f"Neuron {j}: outgoing weights to the next layer")
        else:
            self.bars_title.setText(f"Output neuron {j} ({self._class(j)})")
        self.neuronSelected.emit(j)
