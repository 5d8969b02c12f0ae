"""The Network tab: the chapter's picture of the network, live, and the neuron editor.

Left: the diagram. The input digit as its 28×28 image (a test digit, the Draw tab's
drawing, or the first digit of the mini-batch training used last), the hidden neurons as circles
coloured by their activation for that digit, the 10 output neurons with theirs and the
winner marked; every hidden→output connection drawn (colour = sign, width = |w|, the
heatmaps' diverging map); for the selected hidden neuron its strongest input pixels as
edges. Right: the selected neuron (its 784 incoming weights as a tile, its outgoing
weights) and the editor (switch it off, scale its outgoing weights, shift its bias), the
edits listed, their effect on the test digits, "which neurons matter", and "apply to the
weights" (undoable: it replaces the run, as opening a network does). A lesson records the
edits and their application (:mod:`nnviz.gui.dialogs.lesson`).

The maths is the core's (:mod:`nnviz.core.editor`); this module only draws and wires.
:class:`NetworkTab` follows the network the Draw tab shows (live, or a rewound epoch),
picking up new weights while training at most as often as the heatmaps are redrawn.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QSizePolicy, QSpinBox, QToolTip,
                               QVBoxLayout, QWidget)

from nnviz.core.analysis import activations
from nnviz.core.classes import label_name, noun, short_name
from nnviz.core.editor import EditBench, NeuronEdit, check_edits, edited_activations
from nnviz.core.errors import NnvizError
from nnviz.gui import style

CAPTION = ("The network of chapter 1: the input layer is the digit's 784 pixels (drawn as its 28×28 image), "
           "then the hidden layer, then 10 output neurons, one per digit; the most active output is the answer. "
           "Each circle's brightness is its activation for this digit (dark 0, bright 1). Lines from the hidden "
           "to the output layer are its weights: red positive, blue negative, thicker = stronger. "
           "\"The hidden layer's job is to look for clues\": click a hidden neuron to see its incoming weights (the tile) "
           "and the pixels of this digit that move it most (the lines from the image).")

MINIBATCH_DIGIT_INTERVAL = 0.5   # seconds: while training, the mini-batch's digit changes at most this often
STRONGEST_PIXELS = 12     # input→hidden edges drawn for the selected neuron: its strongest pixels for the digit
MAX_EDGES = 2500          # hidden→hidden edges drawn at most (else only the selected neuron's)
MANY_EDGES = 400          # more edges than this are drawn without antialiasing (4x faster)


def diverging_colours(values: np.ndarray, level: float) -> np.ndarray:
    """RGBA bytes ``(n, 4)`` for ``values`` on the heatmaps' diverging map, ±level at the ends."""
    cmap = pg.colormap.get(style.HEATMAP_COLORMAP)
    t = 0.5 + 0.5 * np.clip(np.asarray(values, dtype=float) / (level or 1.0), -1, 1)
    return cmap.map(t, mode="byte")


def activation_colour(a: float) -> QColor:
    """Dark grey (0) to the accent colour (1)."""
    lo, hi = QColor("#30343b"), QColor("#fff3a0")
    a = float(np.clip(a, 0, 1)) if np.isfinite(a) else 0.0
    return QColor(int(lo.red() + a * (hi.red() - lo.red())), int(lo.green() + a * (hi.green() - lo.green())),
                  int(lo.blue() + a * (hi.blue() - lo.blue())))


def layer_columns(n: int, height: float, min_radius: float = 7.0) -> int:
    """How many columns a layer of ``n`` neurons needs so each circle keeps ``min_radius``."""
    per_column = max(1, int(height // (2.6 * min_radius)))
    return max(1, -(-n // per_column))


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where everything goes: the input image's rect, each layer's circle centres
    ``(n, 2)`` and radius (layers 1.. hidden, last = output)."""

    image: QRectF
    centres: tuple[np.ndarray, ...]
    radii: tuple[float, ...]


def diagram_layout(sizes: list[int], width: float, height: float, *, text_height: float = 16.0,
                   label_width: float = 60.0) -> Layout:
    """Positions for a network of layer ``sizes`` (``sizes[0]`` the input) in a
    ``width`` × ``height`` area: the image at the left, then one band per later layer
    (``text_height``: the titles' line; ``label_width``: room for the output labels)."""
    min_radius = max(7.0, 0.45 * text_height)
    top, bottom = text_height + 10.0, height - 8.0
    usable = max(40.0, bottom - top)
    side = max(40.0, min(usable * 0.55, width * 0.22))
    image = QRectF(8.0, top + (usable - side) / 2, side, side)
    layers = sizes[1:]
    left = image.right() + 0.10 * width
    right = width - label_width    # room for the output labels
    columns = [layer_columns(n, usable, min_radius) for n in layers]
    # each layer's band width grows with its columns; the output band is narrow
    weights = [c + 1.5 for c in columns]
    total = sum(weights)
    centres, radii = [], []
    x0 = left
    for n, cols, w in zip(layers, columns, weights):
        band = (right - left) * w / total
        per_column = -(-n // cols)
        step_y = usable / per_column
        r = max(3.0, min(step_y * 0.38, 18.0, band / (cols * 2.6)))
        col_gap = min(band / cols, 4 * r)
        xs = x0 + band / 2 - (cols - 1) * col_gap / 2 + col_gap * (np.arange(n) // per_column)
        k = np.arange(n) % per_column
        in_col = np.minimum(per_column, n - (np.arange(n) // per_column) * per_column)
        ys = top + usable / 2 + (k - (in_col - 1) / 2) * step_y
        centres.append(np.column_stack([xs, ys]))
        radii.append(r)
        x0 += band
    return Layout(image, tuple(centres), tuple(radii))


class NetworkDiagram(QWidget):
    """The painted diagram. :meth:`set_state` gives it everything; it never computes."""

    neuronClicked = Signal(int, int)   # (layer, neuron): layer 1 = first hidden, last = output

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(360, 260)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.sizes: list[int] = []
        self.x28: np.ndarray | None = None
        self.acts: list[np.ndarray] | None = None     # per layer (sizes[l],), [0] the input
        self.weights: tuple[np.ndarray, ...] | None = None
        self.selected: tuple[int, int] | None = None
        self.off: set[tuple[int, int]] = set()
        self.edited: set[tuple[int, int]] = set()
        self.message = "No network yet"
        self.layout_: Layout | None = None
        self._image: QImage | None = None
        self._edges: tuple | None = None   # (what they show, QPixmap): the edges, cached
        self.class_names: tuple[str, ...] | None = None   # the output labels' names (None: digits)

    def set_state(self, sizes: list[int], x28: np.ndarray | None, acts: list[np.ndarray] | None,
                  weights: tuple[np.ndarray, ...] | None, selected: tuple[int, int] | None,
                  off: set, edited: set, message: str = "") -> None:
        if sizes != self.sizes:
            self.layout_ = None
        self.sizes, self.x28, self.acts, self.weights = list(sizes), x28, acts, weights
        self.selected, self.off, self.edited, self.message = selected, set(off), set(edited), message
        self._image = None
        self.update()

    # ------------------------------------------------------------ geometry
    def _layout(self) -> Layout | None:
        if len(self.sizes) < 2:
            return None
        if self.layout_ is None:
            fm = self.fontMetrics()
            widest = max(("#9", *(self._output_label(k) for k in range(self.sizes[-1]))), key=fm.horizontalAdvance)
            self.layout_ = diagram_layout(self.sizes, self.width(), self.height(), text_height=fm.height(),
                                          label_width=fm.horizontalAdvance(widest + "  0.00") + 30)
        return self.layout_

    def _output_label(self, k: int) -> str:
        """Beside output neuron k: its digit, its class's short name ("7 Sneaker"), or "#k"."""
        if self.sizes and self.sizes[-1] != 10:
            return f"#{k}"
        return str(k) if self.class_names is None else f"{k} {short_name(k, self.class_names)}"

    def resizeEvent(self, event) -> None:
        self.layout_ = None
        super().resizeEvent(event)

    def neuron_at(self, pos: QPointF) -> tuple[int, int] | None:
        """(layer, neuron) of the circle under ``pos`` (a little slack), or None."""
        lay = self._layout()
        if lay is None:
            return None
        best, best_d = None, 1e9
        for l, (c, r) in enumerate(zip(lay.centres, lay.radii), start=1):
            d = np.hypot(c[:, 0] - pos.x(), c[:, 1] - pos.y())
            j = int(d.argmin())
            if d[j] <= max(r + 3, 8) and d[j] < best_d:
                best, best_d = (l, j), d[j]
        return best

    def centre(self, layer: int, neuron: int) -> QPointF:
        lay = self._layout()
        x, y = lay.centres[layer - 1][neuron]
        return QPointF(float(x), float(y))

    # ------------------------------------------------------------ mouse
    def mousePressEvent(self, event) -> None:
        hit = self.neuron_at(event.position())
        if hit is not None and event.button() == Qt.LeftButton:
            self.neuronClicked.emit(*hit)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        hit = self.neuron_at(event.position())
        self.setCursor(Qt.PointingHandCursor if hit and hit[0] < len(self.sizes) - 1 else Qt.ArrowCursor)
        if hit is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.describe(*hit), self)
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)

    def describe(self, layer: int, j: int) -> str:
        """The numbers shown when hovering neuron j of ``layer``."""
        last = len(self.sizes) - 1
        name = f"output neuron {j} ({_digit_or_name(j, self.class_names)})" if layer == last and self.sizes[-1] == 10 else (
            f"output neuron {j}" if layer == last else f"hidden neuron {j}" + (f" (layer {layer})" if last > 2 else ""))
        lines = [name]
        if self.acts is not None:
            lines.append(f"activation a = {self.acts[layer][j]:.3f}")
        if self.weights is not None:
            w_in = self.weights[layer - 1][j]
            lines.append(f"{w_in.size} incoming weights, |w| mean {np.abs(w_in).mean():.3f}")
            if layer < last:
                out = self.weights[layer][:, j]
                top = np.argsort(-np.abs(out))[:3]
                lines.append("strongest outgoing: " + ", ".join(f"→{k} {out[k]:+.2f}" for k in top))
        if (layer, j) in self.off:
            lines.append("switched off (edit)")
        elif (layer, j) in self.edited:
            lines.append("edited")
        if layer < last:
            lines.append("click: select it (its tile and the editor on the right)")
        return "\n".join(lines)

    # ------------------------------------------------------------ painting
    def _paint_edges(self, p: QPainter, lay: Layout, last: int) -> None:
        """Every connection between the later layers (colour = sign, width = |w|); a layer
        pair with more than MAX_EDGES only for the selected neuron. Antialiased unless many."""
        total = sum(self.weights[l - 1].size for l in range(2, last + 1))
        p.setRenderHint(QPainter.Antialiasing, total <= MANY_EDGES)
        for l in range(2, last + 1):
            w = self.weights[l - 1]                    # (sizes[l], sizes[l-1])
            src, dst = lay.centres[l - 2], lay.centres[l - 1]
            level = float(np.abs(w).max()) or 1.0
            if w.size > MAX_EDGES:
                if self.selected is None or self.selected[0] != l - 1:
                    continue
                rows = [(k, self.selected[1]) for k in range(w.shape[0])]
            else:
                rows = [(k, j) for k in range(w.shape[0]) for j in range(w.shape[1])]
            ks = np.array([r[0] for r in rows])
            js = np.array([r[1] for r in rows])
            vals = w[ks, js]
            colours = diverging_colours(vals, level)
            order = np.argsort(np.abs(vals))           # the strong ones on top
            dim = self.selected is not None and self.selected[0] == l - 1
            for i in order:
                k, j = int(ks[i]), int(js[i])
                mine = not dim or j == self.selected[1]
                c = QColor(*[int(v) for v in colours[i][:3]], 200 if mine else 40)
                if (l - 1, j) in self.off:
                    c.setAlpha(15)
                p.setPen(QPen(c, 0.4 + 3.6 * abs(vals[i]) / level))
                p.drawLine(QPointF(*src[j]), QPointF(*dst[k]))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing, True)
        p.fillRect(self.rect(), QColor(style.BACKGROUND))
        lay = self._layout()
        if lay is None or self.weights is None:
            p.setPen(QColor(style.MUTED))
            p.drawText(self.rect(), Qt.AlignCenter, self.message or "No network yet")
            p.end()
            return
        last = len(self.sizes) - 1
        # titles
        p.setPen(QColor(style.MUTED))
        fm = self.fontMetrics()
        line = fm.height() + 4
        p.drawText(QRectF(lay.image.left(), 2, lay.image.width() * 2, line), Qt.AlignLeft,
                   f"input ({self.sizes[0]} pixels)")
        for l, c in enumerate(lay.centres, start=1):
            label = "output" if l == last else ("hidden" if last == 2 else f"hidden {l}")
            text = f"{label} ({self.sizes[l]})"
            half = fm.horizontalAdvance(text) / 2 + 4
            p.drawText(QRectF(c[:, 0].mean() - half, 2, 2 * half, line), Qt.AlignHCenter, text)
        # the input image
        if self.x28 is not None and self.x28.size == 784:
            img = (np.clip(self.x28.reshape(28, 28), 0, 1) * 255).astype(np.uint8)
            self._image = QImage(np.ascontiguousarray(img).data, 28, 28, 28, QImage.Format_Grayscale8).copy()
            p.drawImage(lay.image, self._image)
        p.setPen(QPen(QColor(style.RAISED), 1))
        p.setBrush(Qt.NoBrush)
        p.drawRect(lay.image)
        # edges between the later layers: drawn once per network and selection, not per digit
        key = (tuple(id(w) for w in self.weights), self.width(), self.height(), self.selected,
               frozenset(self.off), self.devicePixelRatioF())
        if self._edges is None or self._edges[0] != key:
            ratio = self.devicePixelRatioF()
            pixmap = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.transparent)
            q = QPainter(pixmap)
            self._paint_edges(q, lay, last)
            q.end()
            self._edges = (key, pixmap)
        p.drawPixmap(0, 0, self._edges[1])
        # the selected hidden neuron of layer 1: its strongest pixels
        if self.selected is not None and self.selected[0] == 1 and last > 1 and self.sizes[0] == 784:
            w_in = self.weights[0][self.selected[1]]
            # the pixels that move the neuron most for this digit (w_i x_i), else the largest |w_i|
            score = np.abs(w_in * self.x28.reshape(-1)) if self.x28 is not None and self.x28.size == 784 \
                else np.abs(w_in)
            top = np.argsort(-score, kind="stable")[:STRONGEST_PIXELS]
            top = top[score[top] > 0]
            level = float(np.abs(w_in[top]).max()) if top.size else 1.0
            colours = diverging_colours(w_in[top], level)
            target = self.centre(1, self.selected[1])
            cell = lay.image.width() / 28
            for i, pix in enumerate(top):
                y, x = divmod(int(pix), 28)
                start = QPointF(lay.image.left() + (x + 0.5) * cell, lay.image.top() + (y + 0.5) * cell)
                p.setPen(QPen(QColor(*[int(v) for v in colours[i][:3]], 210), 0.6 + 1.8 * abs(w_in[pix]) / level))
                p.drawLine(start, target)
                p.drawEllipse(start, 2, 2)
        # the neurons
        winner = int(np.argmax(self.acts[-1])) if self.acts is not None else None
        for l, (c, r) in enumerate(zip(lay.centres, lay.radii), start=1):
            a = self.acts[l] if self.acts is not None else np.zeros(len(c))
            for j, (x, y) in enumerate(c):
                centre = QPointF(x, y)
                off = (l, j) in self.off
                p.setBrush(QColor("#15171b") if off else activation_colour(a[j]))
                pen = QPen(QColor(style.MUTED), 1)
                if (l, j) in self.edited or off:
                    pen = QPen(QColor(style.ERROR), 1.6)
                if self.selected == (l, j):
                    pen = QPen(QColor(style.ACCENT), 3)
                p.setPen(pen)
                p.drawEllipse(centre, r, r)
                if off:
                    p.drawLine(QPointF(x - r * 0.6, y - r * 0.6), QPointF(x + r * 0.6, y + r * 0.6))
        # output labels and activations, the winner marked
        out_c, out_r = lay.centres[-1], lay.radii[-1]
        for k, (x, y) in enumerate(out_c):
            is_winner = winner == k
            p.setPen(QColor(style.ACCENT if is_winner else style.TEXT))
            text = self._output_label(k)
            if self.acts is not None:
                text += f"  {self.acts[-1][k]:.2f}"
            h = fm.height()
            p.drawText(QRectF(x + out_r + 4, y - h / 2, fm.horizontalAdvance(text) + 8, h),
                       Qt.AlignLeft | Qt.AlignVCenter, text)
            if is_winner:
                p.setPen(QPen(QColor(style.ACCENT), 2.5))
                p.setBrush(Qt.NoBrush)
                p.drawEllipse(QPointF(x, y), out_r + 4, out_r + 4)
        p.end()


def _digit_or_name(k: int, class_names: tuple[str, ...] | None) -> str:
    return f"digit {k}" if class_names is None else label_name(k, class_names)


def tile_pixmap(w: np.ndarray, size: int) -> QPixmap:
    """A neuron's 784 incoming weights as a ``size``-pixel square on the diverging map."""
    level = float(np.abs(w).max()) or 1.0
    rgba = diverging_colours(w.reshape(-1), level).reshape(28, 28, 4).astype(np.uint8)
    img = QImage(np.ascontiguousarray(rgba).data, 28, 28, 28 * 4, QImage.Format_RGBA8888).copy()
    return QPixmap.fromImage(img).scaled(size, size, Qt.KeepAspectRatio, Qt.FastTransformation)


class NetworkView(QWidget):
    """The diagram, the digit chooser, the selected neuron and the neuron editor.

    Inputs: :meth:`set_network` (weights and biases on show), :meth:`set_digit` (the
    input), :meth:`set_test_data` (for the editor's accuracy). :meth:`render` draws what
    changed. Outputs: ``applyRequested`` (the edited weights, to become the run's)."""

    applyRequested = Signal(object)                # the edits (tuple of NeuronEdits), to write into the weights
    editsChanged = Signal(object)                  # the edits now laid over the network (tuple of NeuronEdits)
    digitSourceChanged = Signal(str)               # 'test', 'draw' or 'minibatch'
    testDigitChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.weights: tuple[np.ndarray, ...] | None = None
        self.biases: tuple[np.ndarray, ...] | None = None
        self.note = ""
        self.x: np.ndarray | None = None
        self.digit_note = ""
        self.test_images: np.ndarray | None = None
        self.test_labels: np.ndarray | None = None
        self.edits: list[NeuronEdit] = []
        self.selected: tuple[int, int] | None = None
        self.ranking: np.ndarray | None = None
        self.effect = None
        self._bench: EditBench | None = None
        self.dirty = True
        self.editor_dirty = True
        self.acts: list[np.ndarray] | None = None

        self.diagram = NetworkDiagram()
        self.diagram.neuronClicked.connect(self._on_diagram_neuronClicked)

        # the digit chooser
        self.source = QComboBox()
        self.source.addItem("a test digit", "test")
        self.source.addItem("the Draw tab's drawing", "draw")
        self.source.addItem("the mini-batch's first digit", "minibatch")
        self.source.setToolTip("Which digit to feed through the network: a test digit, your drawing, or the first "
                               "digit of the mini-batch training has just used (it changes as training runs)")
        self.source.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.source.currentIndexChanged.connect(self._on_source_currentIndexChanged)
        self.test_index = QSpinBox()
        self.test_index.setRange(0, 0)
        self.test_index.setPrefix("#")
        self.test_index.setToolTip("Which test digit (PgUp/PgDn or the arrows)")
        self.test_index.valueChanged.connect(self.testDigitChosen)
        self.next_button = QPushButton("Next digit")
        self.next_button.setToolTip("The next test digit")
        self.next_button.clicked.connect(lambda: self.test_index.setValue(
            (self.test_index.value() + 1) % (self.test_index.maximum() + 1)))
        self.digit_label = QLabel("")
        self.digit_label.setObjectName("caption")
        self.digit_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.digit_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Input:"))
        top.addWidget(self.source)
        top.addWidget(self.test_index)
        top.addWidget(self.next_button)
        top.addWidget(self.digit_label, 1)

        caption = self.caption = QLabel(CAPTION)
        caption.setObjectName("caption")
        caption.setWordWrap(True)
        caption.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

        left = QVBoxLayout()
        left.setSpacing(4)
        left.addLayout(top)
        left.addWidget(self.diagram, 1)
        left.addWidget(caption)

        # the selected neuron
        self.neuron_title = QLabel("Click a hidden neuron")
        self.neuron_title.setObjectName("viewTitle")
        self.tile = QLabel()
        self.tile.setFixedSize(96, 96)
        self.tile.setToolTip("The selected neuron's 784 incoming weights as a 28×28 image: red pixels switch it on, "
                             "blue pixels switch it off")
        self.neuron_info = QLabel("")
        self.neuron_info.setObjectName("caption")
        self.neuron_info.setWordWrap(True)
        self.neuron_info.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        neuron_row = QHBoxLayout()
        neuron_row.addWidget(self.tile)
        neuron_row.addWidget(self.neuron_info, 1)

        # the editor
        self.off_button = QPushButton("Switch off")
        self.off_button.setToolTip("Hold the selected neuron's output at 0")
        self.off_button.clicked.connect(lambda: self.add_edit("off"))
        self.scale = QDoubleSpinBox()
        self.scale.setRange(-10, 10)
        self.scale.setSingleStep(0.5)
        self.scale.setValue(0.5)
        self.scale.setPrefix("× ")
        self.scale_button = QPushButton("Scale out")
        self.scale_button.setToolTip("Multiply the selected neuron's outgoing weights by this factor")
        self.scale_button.clicked.connect(lambda: self.add_edit("scale", self.scale.value()))
        self.shift = QDoubleSpinBox()
        self.shift.setRange(-20, 20)
        self.shift.setSingleStep(1.0)
        self.shift.setValue(-3.0)
        self.shift.setPrefix("b ")
        self.shift_button = QPushButton("Shift bias")
        self.shift_button.setToolTip("Add this to the selected neuron's bias (negative: it fires less)")
        self.shift_button.clicked.connect(lambda: self.add_edit("bias", self.shift.value()))
        grid = QGridLayout()
        grid.setSpacing(4)
        grid.addWidget(self.off_button, 0, 0, 1, 2)
        grid.addWidget(self.scale, 1, 0)
        grid.addWidget(self.scale_button, 1, 1)
        grid.addWidget(self.shift, 2, 0)
        grid.addWidget(self.shift_button, 2, 1)
        self.edit_list = QListWidget()
        self.edit_list.setToolTip("The edits, laid over the trained network (the weights are not changed)")
        self.edit_list.setMaximumHeight(70)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected edit")
        self.remove_button.clicked.connect(self.remove_selected_edit)
        self.reset_button = QPushButton("Reset all")
        self.reset_button.setToolTip("Remove every edit: back to the trained network")
        self.reset_button.clicked.connect(self.reset_edits)
        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self.remove_button)
        list_buttons.addWidget(self.reset_button)
        self.effect_label = QLabel("")
        self.effect_label.setWordWrap(True)
        self.effect_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.per_digit_label = QLabel("")
        self.per_digit_label.setObjectName("caption")
        self.per_digit_label.setWordWrap(True)
        self.per_digit_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.rank_button = QPushButton("Which neurons matter?")
        self.rank_button.setToolTip("Switch each hidden neuron off in turn and count the test digits lost")
        self.rank_button.clicked.connect(self.rank)
        self.rank_label = QLabel("")
        self.rank_label.setObjectName("caption")
        self.rank_label.setWordWrap(True)
        self.rank_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.apply_button = QPushButton("Apply edits to the weights")
        self.apply_button.setToolTip("Write the edits into the network's weights (a new run from them; Ctrl+Z undoes)")
        self.apply_button.clicked.connect(self.apply)

        editor = QGroupBox("Neuron editor")
        ed = QVBoxLayout(editor)
        ed.setSpacing(4)
        ed.addLayout(grid)
        ed.addWidget(self.edit_list)
        ed.addLayout(list_buttons)
        ed.addWidget(self.effect_label)
        ed.addWidget(self.per_digit_label)
        ed.addWidget(self.rank_button)
        ed.addWidget(self.rank_label)
        ed.addWidget(self.apply_button)

        right_widget = QWidget()
        right_widget.setFixedWidth(290)
        right = QVBoxLayout(right_widget)
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(4)
        right.addWidget(self.neuron_title)
        right.addLayout(neuron_row)
        right.addWidget(editor)
        right.addStretch(1)

        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.setSpacing(10)
        row.addLayout(left, 1)
        row.addWidget(right_widget)
        self._update_buttons()

    # ------------------------------------------------------------ inputs
    @property
    def sizes(self) -> list[int]:
        if self.weights is None:
            return []
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    def set_network(self, weights, biases, note: str = "") -> None:
        """The network on show (``weights[l]``: ``(sizes[l+1], sizes[l])``)."""
        old = self.sizes
        self.weights, self.biases, self.note = tuple(weights), tuple(biases), note
        if self.sizes != old:
            self.ranking = None
            try:
                check_edits(self.sizes, self.edits)
            except NnvizError:
                self.set_edits([])   # made for a network of other sizes
            if self.selected is not None and (self.selected[0] >= len(self.sizes) - 1
                                              or self.selected[1] >= self.sizes[self.selected[0]]):
                self.selected = None
            if self.selected is None and len(self.sizes) > 2:
                self.selected = (1, 0)
        self._bench = None
        self.dirty = self.editor_dirty = True

    def clear_network(self) -> None:
        self.weights = self.biases = None
        self._bench = None
        self.ranking = None
        self.dirty = self.editor_dirty = True

    def set_digit(self, x: np.ndarray | None, note: str = "") -> None:
        """The input (784,) to feed through the network (None: nothing to show)."""
        self.x = None if x is None else np.asarray(x, dtype=np.float64).reshape(-1)
        self.digit_note = note
        self.dirty = True

    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """The output neurons' class names (None: digits), for the labels and the caption."""
        self.diagram.class_names = class_names
        self.caption.setText(CAPTION if class_names is None else
                             CAPTION.replace("one per digit", "one per class").replace("digit", "item"))
        self.source.setItemText(0, f"a test {noun(class_names)}")
        self.next_button.setText(f"Next {noun(class_names)}")
        self.next_button.setToolTip(f"The next test {noun(class_names)}")
        self.diagram.layout_ = None
        self.dirty = self.editor_dirty = True

    def set_test_data(self, images: np.ndarray | None, labels: np.ndarray | None) -> None:
        self.test_images, self.test_labels = images, labels
        n = 0 if labels is None else len(labels)
        self.test_index.setRange(0, max(0, n - 1))
        self._bench = None
        self.ranking = None
        self.editor_dirty = True

    # ------------------------------------------------------------ the editor
    def select(self, layer: int, neuron: int) -> None:
        if layer >= len(self.sizes) - 1:   # the output layer: nothing to edit
            return
        self.selected = (layer, neuron)
        self.dirty = True
        self._update_buttons()

    def _on_diagram_neuronClicked(self, layer: int, neuron: int) -> None:
        self.select(layer, neuron)
        self.render()

    def add_edit(self, kind: str, value: float = 0.0) -> None:
        if self.selected is None:
            return
        self.set_edits([*self.edits, NeuronEdit(self.selected[0], self.selected[1], kind, float(value))])
        self.render()

    def remove_edit(self, i: int) -> None:
        if 0 <= i < len(self.edits):
            self.set_edits(self.edits[:i] + self.edits[i + 1:])
            self.render()

    def remove_selected_edit(self) -> None:
        self.remove_edit(self.edit_list.currentRow() if self.edit_list.currentRow() >= 0 else len(self.edits) - 1)

    def set_edits(self, edits) -> None:
        """Lay ``edits`` (NeuronEdits, e.g. from a saved network or a lesson) over the network;
        every change of the edits comes through here (and is announced: a lesson records it)."""
        edits = list(edits)
        changed = edits != self.edits
        self.edits = edits
        self.dirty = self.editor_dirty = True
        if changed:
            self._render_edit_list()
            self.editsChanged.emit(tuple(edits))

    def reset_edits(self) -> None:
        self.set_edits([])
        self.render()

    def bench(self) -> EditBench | None:
        """The editor's workbench for the network and test digits on show (made on demand)."""
        if self._bench is None and self.weights is not None and self.test_labels is not None \
                and len(self.test_labels) and len(self.sizes) > 2 and self.sizes[0] == self.test_images.shape[1]:
            self._bench = EditBench(self.weights, self.biases, self.test_images, self.test_labels)
        return self._bench

    def rank(self) -> None:
        """Rank the selected layer's neurons by the test digits lost without each."""
        bench = self.bench() if not self.training or self._bench is not None else None
        if bench is None:
            return
        layer = self.selected[0] if self.selected else 1
        t0 = time.perf_counter()
        self.ranking = (layer, bench.rank(layer))
        self.rank_seconds = time.perf_counter() - t0
        self.editor_dirty = True
        self.render()

    rank_seconds = 0.0

    def apply(self) -> None:
        if self.weights is None or not self.edits:
            return
        self.applyRequested.emit(tuple(self.edits))

    def _on_source_currentIndexChanged(self, _i: int) -> None:
        self.test_index.setEnabled(self.source.currentData() == "test")
        self.next_button.setEnabled(self.source.currentData() == "test")
        self.digitSourceChanged.emit(self.source.currentData())

    def _update_buttons(self) -> None:
        has = self.selected is not None and self.weights is not None
        for b in (self.off_button, self.scale_button, self.shift_button):
            b.setEnabled(has)
        self.remove_button.setEnabled(bool(self.edits))
        self.reset_button.setEnabled(bool(self.edits))
        self.apply_button.setEnabled(bool(self.edits) and self.apply_allowed)
        self.rank_button.setEnabled(self.weights is not None and len(self.sizes) > 2)

    apply_allowed = True
    training = False   # True while the run trains (the editor's numbers wait for a pause)

    # ------------------------------------------------------------ drawing
    def render(self) -> None:
        if self.dirty:
            self.dirty = False
            self._render_diagram()
            self._render_neuron()
        if self.editor_dirty:
            self.editor_dirty = False
            self._render_editor()
        self._update_buttons()

    def _render_diagram(self) -> None:
        sizes = self.sizes
        self.acts = None
        if self.weights is not None and self.x is not None and self.x.size == sizes[0]:
            acts = edited_activations(self.weights, self.biases, self.x.reshape(1, -1), self.edits) if self.edits \
                else activations(self.weights, self.biases, self.x.reshape(1, -1))
            self.acts = [a[0] for a in acts]
        off = {(e.layer, e.neuron) for e in self.edits if e.kind == "off"}
        edited = {(e.layer, e.neuron) for e in self.edits}
        message = "No network yet: load data and start training" if self.weights is None else "No digit"
        self.diagram.set_state(sizes, self.x, self.acts, self.weights, self.selected, off, edited, message)
        text = self.digit_note
        if self.acts is not None:
            out = self.acts[-1]
            text += f" Answer: {label_name(int(np.argmax(out)), self.diagram.class_names if out.size == 10 else None)}."
        self.digit_label.setText(text.strip())
        self.digit_label.setToolTip(self.note)   # which weights: the epoch, or while training

    def _render_neuron(self) -> None:
        if self.selected is None or self.weights is None:
            self.neuron_title.setText("Click a hidden neuron")
            self.tile.clear()
            self.neuron_info.setText("")
            return
        l, j = self.selected
        layers = len(self.sizes) - 2
        self.neuron_title.setText(f"Hidden neuron {j}" + (f" (layer {l})" if layers > 1 else ""))
        w_in = self.weights[l - 1][j]
        if w_in.size == 784:
            self.tile.setPixmap(tile_pixmap(w_in, self.tile.width()))
        else:
            self.tile.clear()
        out = self.weights[l][:, j]
        lines = []
        if self.acts is not None:
            off = any(e.kind == "off" and (e.layer, e.neuron) == (l, j) for e in self.edits)
            lines.append("switched off (held at 0)" if off else
                         f"activation {self.acts[l][j]:.3f} for this {noun(self.diagram.class_names)}")
        lines.append(f"bias {float(self.biases[l - 1][j, 0]):+.2f}")
        order = np.argsort(out)
        if l == len(self.sizes) - 2 and self.sizes[-1] == 10:
            names = self.diagram.class_names
            lines.append(f"votes for {', '.join(short_name(k, names) for k in order[::-1][:2])}; "
                         f"against {', '.join(short_name(k, names) for k in order[:2])}")
        lines.append("outgoing: " + " ".join(f"{v:+.1f}" for v in out[:10]) + (" …" if out.size > 10 else ""))
        self.neuron_info.setText("\n".join(lines))

    def _render_edit_list(self) -> None:
        self.edit_list.clear()
        for e in self.edits:
            QListWidgetItem(e.describe(), self.edit_list)

    def _render_editor(self) -> None:
        self._render_edit_list()
        if self.training and self._bench is None and (self.edits or self.ranking is not None):
            # a new network every second while training: its analysis would cost the GUI
            # thread 0.1-0.3 s each time on 10,000 digits; the diagram still follows
            self.effect = None
            self.effect_label.setText("Pause the training to see the edits' effect on the test digits.")
            self.per_digit_label.setText("")
            self.rank_label.setText("")
            self.editor_dirty = True   # computed once training pauses
            return
        bench = self.bench() if (self.edits or self.ranking is not None) else None
        if bench is None:
            self.effect = None
            self.effect_label.setText("No edits: the trained network." if self.weights is not None else "")
            self.per_digit_label.setText("")
        else:
            t0 = time.perf_counter()
            self.effect = bench.effect(self.edits)
            self.effect_seconds = time.perf_counter() - t0
            names = self.diagram.class_names
            self.effect_label.setText(self.effect.caption(self.edits, names) if self.edits else
                                      f"No edits: {self.effect.before.accuracy:.1%} of the test {noun(names, True)} right.")
            if self.edits:
                d = self.effect.per_digit_change * 100
                per_digit = (f"per {'digit' if names is None else 'class'}: "
                             + "  ".join(f"{short_name(k, names)} {v:+.0f}".replace(" -", " −") for k, v in enumerate(d)))
                new = self.effect.after.confusion - self.effect.before.confusion
                np.fill_diagonal(new, 0)
                t, p = np.unravel_index(int(new.argmax()), new.shape)
                if new[t, p] > 0:
                    per_digit += f"\nmost new mistakes: {label_name(t, names)} read as {label_name(p, names)} (+{new[t, p]})"
                self.per_digit_label.setText(per_digit)
            else:
                self.per_digit_label.setText("")
        if self.ranking is not None:
            layer, lost = self.ranking
            worst = np.argsort(lost, kind="stable")[:5]
            self.rank_label.setText(
                f"Without each neuron alone, test {noun(self.diagram.class_names, True)} lost: " +
                ", ".join(f"#{j} {-int(lost[j])}" for j in worst) +
                f" … ({len(lost)} neurons ranked in {self.rank_seconds * 1000:.0f} ms)")
        else:
            self.rank_label.setText("")

    effect_seconds = 0.0


class NetworkTab(QObject):
    """Wires the :class:`NetworkView` into the window: the network and the digit the Draw
    tab has (live or rewound; while training, new weights at most every heatmap
    interval), the test digits, the training's latest mini-batch (its first digit, at most
    every MINIBATCH_DIGIT_INTERVAL while training runs), and "apply to the weights" as an
    undoable new run (``editsApplied``: a lesson records it)."""

    editsApplied = Signal(object, object, bool)   # (edits, the epoch they were written into, exactly its weights?)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.view = NetworkView()
        self.index = window.add_view_tab(self.view, "Network")
        window.tabs.setTabToolTip(self.index, "The network itself: layers, activations, weights, and a neuron editor")
        self._shown_weights: tuple | None = None
        self._picked = 0.0
        self._data = None
        self.minibatch: int | None = None      # the latest mini-batch's first digit (its place in the training set)
        self._minibatch_shown: int | None = -1
        self._minibatch_fed = 0.0
        self.view.applyRequested.connect(self._on_view_applyRequested)
        self.view.testDigitChosen.connect(self._on_view_testDigitChosen)
        self.view.digitSourceChanged.connect(self._on_view_digitSourceChanged)
        window.inspector.draw.pad.changed.connect(self._on_pad_changed)
        window.viewsRendered.connect(self.render)
        window.tabs.currentChanged.connect(self._on_tabs_currentChanged)
        window.controller.progressed.connect(self._on_controller_progressed)
        window.controller.epochFinished.connect(self._on_controller_epochFinished)

    def _on_controller_progressed(self, snap) -> None:
        if snap.first_example is not None:
            self.minibatch = snap.first_example   # only kept: drawn at the next frame

    def set_minibatch(self, index: int | None) -> None:
        """The latest mini-batch's first digit (None: nothing trained yet), e.g. of a run
        brought back by undo."""
        self.minibatch = index

    def _on_controller_epochFinished(self, snap) -> None:
        if snap.first_example is not None:
            self.minibatch = snap.first_example
        elif snap.epochs_done == 0:   # a new network: nothing trained yet
            self.minibatch = None

    def _draw_network(self) -> tuple | None:
        d = self.window.inspector.draw
        return None if d._weights is None else (d._weights, d._biases, d.note)

    def _on_tabs_currentChanged(self, _i: int) -> None:
        if self.window.tabs.currentWidget() is self.view:
            self.render(force=True)

    def _on_pad_changed(self) -> None:
        if self.view.source.currentData() == "draw":
            self._feed_digit()

    def _on_view_testDigitChosen(self, _i: int) -> None:
        self._feed_digit()
        self.view.render()

    def _on_view_digitSourceChanged(self, _source: str) -> None:
        self._feed_digit()
        self.view.render()

    def _feed_digit(self) -> None:
        v, data = self.view, self.window.data
        if v.source.currentData() == "draw":
            pad = self.window.inspector.draw.pad
            v.set_digit(None if pad.empty else pad.input_image(), "" if not pad.empty else "Draw one in Draw.")
        elif v.source.currentData() == "minibatch":
            self._minibatch_shown, self._minibatch_fed = self.minibatch, time.monotonic()
            n = 0 if data is None else len(data.train_labels)
            i = self.minibatch if self.minibatch is not None and self.minibatch < n else None
            if n == 0:
                v.set_digit(None, "No training data.")
            elif i is None:
                v.set_digit(data.train_images[0], f"Training digit #0: a {int(data.train_labels[0])} "
                                                  "(no mini-batch trained yet: the first training digit).")
            else:
                v.set_digit(data.train_images[i], f"Training digit #{i}: a {int(data.train_labels[i])}, "
                                                  "the first of the latest mini-batch.")
        elif data is not None and len(data.test_labels):
            i = min(v.test_index.value(), len(data.test_labels) - 1)
            label = int(data.test_labels[i])
            v.set_digit(data.test_images[i], f"#{i}: a {label}." if data.class_names is None
                        else f"#{i}: {data.label_name(label)}.")
        else:
            v.set_digit(None)

    def render(self, force: bool = False, hidden_too: bool = False) -> None:
        """Pick up what changed (new data, new weights) and draw, if the tab is on show
        (or ``hidden_too``: e.g. to export the diagram from another tab)."""
        w = self.window
        if w.tabs.currentWidget() is not self.view and not hidden_too:
            return
        if w.data is not self._data:
            self._data = w.data
            self.view.set_test_data(None if w.data is None else w.data.test_images,
                                    None if w.data is None else w.data.test_labels)
            self._feed_digit()
        shown = self._draw_network()
        if shown is None:
            if self.view.weights is not None:
                self.view.clear_network()
                self._shown_weights = None
        elif self._shown_weights is None or any(a is not b for a, b in zip(shown[0], self._shown_weights)):
            from nnviz.gui.main_window import HEATMAP_INTERVAL

            now = time.monotonic()
            running = w.controller.state == "running"
            if force or not running or now - self._picked >= HEATMAP_INTERVAL:
                self._picked = now
                self._shown_weights = shown[0]
                self.view.set_network(*shown)
        if self.view.source.currentData() == "minibatch" and self.minibatch != self._minibatch_shown and (
                force or w.controller.state != "running"
                or time.monotonic() - self._minibatch_fed >= MINIBATCH_DIGIT_INTERVAL):
            self._feed_digit()   # while training: a new digit at most every MINIBATCH_DIGIT_INTERVAL
        self.view.apply_allowed = w.controller.state != "running" and w.inspector.live
        if self.view.training != (w.controller.state == "running"):
            self.view.training = w.controller.state == "running"
            self.view.editor_dirty = True
        self.view.render()

    def prepare_screenshot(self, done) -> None:
        """For ``--screenshot --view network``: show the tab with the first test digit, rank
        the neurons, select the one that matters most and switch it off; then ``done()``."""
        w = self.window
        w.tabs.setCurrentIndex(self.index)
        self.render(force=True)
        v = self.view
        if v.weights is not None and len(v.sizes) > 2:
            v.rank()
            layer, lost = v.ranking
            j = int(np.argmin(lost))
            v.select(layer, j)
            v.add_edit("off")
        self.render(force=True)
        done()

    def _on_view_applyRequested(self, edits) -> None:
        self.apply_edits(edits)

    def apply_edits(self, edits, *, controls=None, schedule=None) -> bool:
        """Write ``edits`` into the weights on show: a new run from them, continuing from the
        latest epoch with the live η, cost and target (undoable, Ctrl+Z). A lesson replay
        passes its ``controls`` and ``schedule``. False (and a message) if it cannot."""
        from nnviz.core.editor import apply_edits

        w, v = self.window, self.view
        self.render(force=True, hidden_too=True)   # the network on show now, even from another tab
        last = w.history.epochs[-1] if w.history.epochs else None
        if (last is None or w.controller.config is None or w.controller.state == "running" or not w.inspector.live
                or v.weights is None):
            w.statusBar().showMessage("Pause the training (and go back to the latest epoch) to apply edits.", 6000)
            return False
        edits = tuple(edits)
        new_w, new_b = apply_edits(v.weights, v.biases, edits)
        # exactly the latest epoch's network (else weights trained part-way through the next)
        exact = all(np.array_equal(a, b) for a, b in zip((*v.weights, *v.biases), (*last.weights, *last.biases)))
        live = w.controller.controls
        config = dataclasses.replace(w.controller.config, eta=live.eta, cost=live.cost,
                                     epochs=max(live.epochs or w.controller.config.epochs, last.epochs_done))
        bench = v.bench()
        correct = bench.effect(edits).after.correct if bench is not None else last.test_correct
        start = dataclasses.replace(last, weights=tuple(new_w), biases=tuple(new_b), test_correct=correct)
        earlier = [e for e in w.history.epochs if e.epochs_done < last.epochs_done]
        what = "; ".join(e.describe() for e in edits[:3]) + ("; …" if len(edits) > 3 else "")
        if not w.prepare_run(config, start=start, earlier=earlier, why=f"Applying neuron edits ({what})",
                             controls=controls, schedule=schedule):
            return False
        self.editsApplied.emit(edits, last, exact)
        v.set_edits([])
        note = "" if exact else (f" The run starts epoch {last.epochs_done + 1} again from them: "
                                 "it can no longer be saved as a lesson (apply between epochs for that).")
        w.statusBar().showMessage(f"Applied to the weights: {what}. Ctrl+Z brings back the unedited network.{note}",
                                  12000 if note else 8000)
        self.render(force=True)
        return True


__all__ = ["CAPTION", "NetworkDiagram", "NetworkTab", "NetworkView", "diagram_layout"]
