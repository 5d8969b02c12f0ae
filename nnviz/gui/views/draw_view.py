"""The Draw tab: draw a digit, see the 28x28 input the network receives, and its hidden
and output activations, live, with the weights on show (the latest, or a rewound epoch).

The maths is the core's: :func:`nnviz.core.drawing.preprocess` makes the drawing
MNIST-like and :func:`nnviz.core.analysis.activations` feeds it forward.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nnviz.core.analysis import activations
from nnviz.core.classes import label_name, noun
from nnviz.core.drawing import paste_digit, preprocess, render_stroke, stroke_width_for
from nnviz.gui import style
from nnviz.gui.views.mosaic import grid_shape
from nnviz.gui.widgets import set_class_ticks

CANVAS = 280  # the pad's own resolution (pixels of ink), whatever its size on screen

CAPTION = (
    "Draw a digit with the mouse, a pen or a finger. The network does not see your drawing as it is: "
    "like the MNIST digits, it is cropped, scaled to fit a 20×20 box keeping its shape (with grey, "
    "anti-aliased edges) and centred by its centre of mass in a 28×28 field (middle). Those 784 pixels "
    "are the input layer. The squares are the hidden neurons' activations (bright = close to 1), the "
    "bars the 10 output neurons'; the most active output neuron is the network's answer.")
NOT_DIGITS = ("This network learns 10 classes of pictures ({first} … {last}), not digits: whatever you draw, "
              "it answers with one of them; \u201cPaste a test item\u201d shows what it has learned. The book's "
              "words below are about digits.")


class DrawPad(QWidget):
    """A square drawing pad: ink 1 on a ``CANVAS x CANVAS`` float array (mouse, pen or touch:
    Qt turns unhandled pen and touch input into mouse events)."""

    changed = Signal()  # the drawing changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = np.zeros((CANVAS, CANVAS), dtype=np.float32)
        self.pen_width = stroke_width_for(CANVAS)
        self._last: tuple[float, float] | None = None
        self._input: np.ndarray | None = None
        self._bytes: np.ndarray | None = None
        self.setMinimumSize(180, 180)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setCursor(Qt.CrossCursor)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setToolTip("Draw a digit here (left button, pen or finger). Clear it with the button below "
                        "or the Delete key.")
        self.setFocusPolicy(Qt.ClickFocus)

    # ---------------------------------------------------------------- the drawing
    @property
    def empty(self) -> bool:
        return not self.canvas.any()

    def input_image(self) -> np.ndarray:
        """The ``(28, 28)`` image the network receives (cached until the drawing changes)."""
        if self._input is None:
            self._input = preprocess(self.canvas)
        return self._input

    def clear(self) -> None:
        self.canvas.fill(0.0)
        self._changed()

    def set_canvas(self, canvas: np.ndarray) -> None:
        """Replace the drawing with ``canvas`` ``(CANVAS, CANVAS)`` in [0, 1]."""
        self.canvas[...] = np.clip(canvas, 0.0, 1.0)
        self._changed()

    def paste(self, img28: np.ndarray) -> None:
        """Put a 28x28 digit on the pad, enlarged, as if it had been drawn there."""
        self.set_canvas(paste_digit(img28, CANVAS))

    def stroke(self, points) -> None:
        """Draw a polyline ``[(x, y), ...]`` in canvas pixels."""
        if render_stroke(self.canvas, points, self.pen_width) is not None:
            self._changed()

    def _changed(self) -> None:
        self._input = None
        self._bytes = None
        self.update()
        self.changed.emit()

    # ---------------------------------------------------------------- geometry
    def pad_rect(self) -> QRect:
        """Where the canvas is drawn: the largest centred square."""
        side = min(self.width(), self.height())
        return QRect((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    def to_canvas(self, pos: QPointF) -> tuple[float, float]:
        r = self.pad_rect()
        f = CANVAS / max(1, r.width())
        return (pos.x() - r.x()) * f, (pos.y() - r.y()) * f

    # ---------------------------------------------------------------- input
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        self._last = self.to_canvas(event.position())
        self.stroke([self._last])
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None or not (event.buttons() & Qt.LeftButton):
            return super().mouseMoveEvent(event)
        p = self.to_canvas(event.position())
        self.stroke([self._last, p])
        self._last = p
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self._last = None
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            self.clear()
        else:
            super().keyPressEvent(event)

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(style.BACKGROUND))
        r = self.pad_rect()
        if self._bytes is None:
            self._bytes = np.ascontiguousarray((self.canvas * 255.0 + 0.5).astype(np.uint8))
        image = QImage(self._bytes.data, CANVAS, CANVAS, CANVAS, QImage.Format_Grayscale8)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
        painter.drawImage(r, image)
        # the 20x20-of-28 box MNIST digits are fitted into, as a faint guide
        guide = QRectF(r.x() + r.width() * 4 / 28, r.y() + r.height() * 4 / 28,
                       r.width() * 20 / 28, r.height() * 20 / 28)
        pen = QPen(QColor(style.MUTED))
        pen.setStyle(Qt.DotLine)
        painter.setPen(pen)
        painter.setOpacity(0.35)
        painter.drawRect(guide)
        painter.setOpacity(1.0)
        painter.setPen(QPen(QColor(style.RAISED), 2))
        painter.drawRect(r.adjusted(1, 1, -1, -1))
        if self.empty:
            painter.setPen(QColor(style.MUTED))
            painter.drawText(r, Qt.AlignCenter, "draw a digit here")
        painter.end()


def _image_box(title: str) -> tuple[pg.GraphicsLayoutWidget, pg.ViewBox]:
    w = pg.GraphicsLayoutWidget()
    w.ci.setContentsMargins(2, 2, 2, 2)
    vb = w.addViewBox(row=0, col=0, enableMenu=False)
    vb.setAspectLocked(True)
    vb.invertY(True)
    vb.setMouseEnabled(x=False, y=False)
    vb.setMenuEnabled(False)
    w.setToolTip(title)
    return w, vb


class DrawView(QWidget):
    """The pad, the network's 28x28 input, hidden activations and output bars.

    :meth:`set_network` gives it the weights to use; :meth:`render` (called by the window's
    redraw timer while the tab is shown) feeds the drawing forward if anything changed.
    """

    testDigitRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._weights: tuple[np.ndarray, ...] | None = None
        self._biases: tuple[np.ndarray, ...] | None = None
        self.output: np.ndarray | None = None   # the last output activations (10,)
        self.hidden: np.ndarray | None = None   # the first hidden layer's activations
        self.dirty = True
        self._n_hidden = 0
        self.class_names: tuple[str, ...] | None = None

        self.pad = DrawPad()
        self.pad.changed.connect(self._on_pad_changed)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Wipe the pad (Delete)")
        self.clear_button.clicked.connect(self.pad.clear)
        self.test_button = QPushButton("Paste a test digit")
        self.test_button.setToolTip("Put the next digit of the test set on the pad, as if drawn there")
        self.test_button.clicked.connect(self.testDigitRequested)
        self.add_button = QPushButton("Add to my digits…")
        self.add_button.setToolTip("Save this drawing, with the digit you meant, as a picture in a folder of "
                                   "your own digits (folder/3/…png): a class builds its own set, then trains "
                                   "or tests on it (nnviz --data FOLDER, or File → Choose data…)")
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.my_digits_folder: str | None = None  # where "Add to my digits" saves (asked the first time)
        self.pad_note = QLabel("")
        self.pad_note.setObjectName("caption")

        # what the network sees
        self.input_widget, self.input_box = _image_box(
            "The 28×28 input the network receives: your drawing cropped, fitted into 20×20 and centred "
            "by its centre of mass, as MNIST's digits were.")
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.input_image.setLookupTable(_grey_lut())
        self.input_box.addItem(self.input_image)
        self.input_image.setImage(np.zeros((28, 28), np.float32), levels=(0, 1))
        self.input_box.setRange(QRectF(0, 0, 28, 28), padding=0.02)
        frame = pg.QtWidgets.QGraphicsRectItem(QRectF(0, 0, 28, 28))
        frame.setPen(pg.mkPen(style.RAISED, width=1, cosmetic=True))
        self.input_box.addItem(frame)

        # hidden activations, one square per neuron
        self.hidden_widget, self.hidden_box = _image_box(
            "Each square is one hidden neuron; its brightness is the neuron's activation σ(w·x + b) "
            "for the digit on the pad: black 0, white 1.")
        self.hidden_image = pg.ImageItem(axisOrder="row-major")
        self.hidden_image.setLookupTable(_grey_lut(style.ACCENT))
        self.hidden_box.addItem(self.hidden_image)

        # output bars
        self.bars_widget = pg.PlotWidget(enableMenu=False)
        p = self.bars_plot = self.bars_widget.getPlotItem()
        p.setMenuEnabled(False)
        p.hideButtons()
        p.setMouseEnabled(x=False, y=False)
        p.setLabel("bottom", "output neuron (digit)")
        p.setLabel("left", "activation")
        p.showGrid(y=True, alpha=style.GRID_ALPHA)
        for axis in ("left", "bottom"):
            p.getAxis(axis).setTextPen(style.TEXT)
            p.getAxis(axis).enableAutoSIPrefix(False)
            p.getAxis(axis).setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        p.getAxis("bottom").setTicks([[(d, str(d)) for d in range(10)]])
        p.enableAutoRange(x=False, y=False)
        p.setXRange(-0.6, 9.6, padding=0)
        p.setYRange(0, 1.05, padding=0)
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7,
                                    brushes=[pg.mkBrush(style.MUTED)] * 10, pens=[pg.mkPen(None)] * 10)
        p.addItem(self.bars)
        self.bars_widget.setToolTip("The 10 output neurons' activations. The network's answer is the most "
                                    "active one (highlighted). They are not probabilities: they need not add up to 1.")

        self.answer = QLabel("–")
        self.answer.setObjectName("cardValue")
        self.answer.setAlignment(Qt.AlignCenter)
        self.answer_note = QLabel("Draw a digit")
        self.answer_note.setObjectName("caption")
        self.answer_note.setAlignment(Qt.AlignCenter)
        self.weights_note = QLabel("")
        self.weights_note.setObjectName("caption")

        # texts that change while drawing must not re-lay out the tab (the pad would jump
        # under the pen): they get a fixed height and take no width of their own
        _steady(self.pad_note, 1)
        _steady(self.answer_note, 2)
        _steady(self.weights_note, 2)
        self.answer.setFixedWidth(self.answer.fontMetrics().horizontalAdvance("88") + 8)

        caption = self.caption = QLabel(CAPTION)
        caption.setObjectName("caption")
        caption.setWordWrap(True)
        self.not_digits = QLabel("")   # what the book's words mean for a dataset of named classes
        self.not_digits.setObjectName("caption")
        self.not_digits.setWordWrap(True)
        self.not_digits.hide()

        def title(text: str) -> QLabel:
            t = QLabel(text)
            t.setObjectName("viewTitle")
            return t

        left = QVBoxLayout()
        left.setSpacing(4)
        left.addWidget(title("Your drawing"))
        left.addWidget(self.pad, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        left.addLayout(buttons)
        more = QHBoxLayout()  # its own row: a third button would widen the pad's column on small screens
        more.addWidget(self.add_button)
        more.addStretch(1)
        left.addLayout(more)
        left.addWidget(self.pad_note)

        middle = QVBoxLayout()
        middle.setSpacing(4)
        middle.addWidget(title("What the network receives"))
        middle.addWidget(self.input_widget, 3)
        self.hidden_title = title("Hidden neurons")
        middle.addWidget(self.hidden_title)
        middle.addWidget(self.hidden_widget, 3)

        right = QVBoxLayout()
        right.setSpacing(4)
        right.addWidget(title("Output neurons: the answer"))
        answer_row = QHBoxLayout()
        answer_row.addWidget(self.answer)
        answer_row.addWidget(self.answer_note, 1)
        right.addLayout(answer_row)
        right.addWidget(self.bars_widget, 1)
        right.addWidget(self.weights_note)

        row = QHBoxLayout()
        row.setSpacing(12)
        row.addLayout(left, 5)
        row.addLayout(middle, 3)
        row.addLayout(right, 4)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 8, 4)
        outer.setSpacing(4)
        outer.addLayout(row, 1)
        outer.addWidget(self.not_digits)
        outer.addWidget(caption)

    # ---------------------------------------------------------------- inputs
    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """The dataset's class names (None: digits) for the answer, the bars and the captions."""
        self.class_names = class_names
        digits = class_names is None
        self.test_button.setText("Paste a test digit" if digits else "Paste a test item")
        self.test_button.setToolTip(f"Put the next {noun(class_names)} of the test set on the pad, as if drawn there")
        self.bars_plot.setLabel("bottom", "output neuron (digit)" if digits else "output neuron (class)")
        set_class_ticks(self.bars_plot, class_names, len(self.bars.opts["height"]))
        longest = max((label_name(k, class_names) for k in range(10)), key=self.answer.fontMetrics().horizontalAdvance)
        self.answer.setFixedWidth(self.answer.fontMetrics().horizontalAdvance("88" if digits else longest) + 8)
        self.not_digits.setText("" if digits else NOT_DIGITS.format(first=class_names[0], last=class_names[-1]))
        self.not_digits.setVisible(not digits)
        self.dirty = True

    def set_network(self, weights, biases, note: str = "") -> None:
        """The network to feed the drawing through (``weights[l]``: ``(sizes[l+1], sizes[l])``)."""
        self._weights, self._biases = tuple(weights), tuple(biases)
        self.note = note  # shown at the next render: a label's new text re-lays out the window
        self.dirty = True

    def clear_network(self) -> None:
        self._weights = self._biases = None
        self.dirty = True

    def _on_pad_changed(self) -> None:
        self.dirty = True

    # ---------------------------------------------------------------- drawing
    def compute(self) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """The 28x28 input and every layer's activations for it (None without a network
        or a drawing)."""
        x = self.pad.input_image()
        if self._weights is None or self.pad.empty or self._weights[0].shape[1] != x.size:
            return x, None
        return x, activations(self._weights, self._biases, x.reshape(1, -1))

    note = ""

    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        if self.note != self.weights_note.text():
            self.weights_note.setText(self.note)
        x, layers = self.compute()
        self.input_image.setImage(x, autoLevels=False, levels=(0, 1))
        if layers is None:
            self.output = self.hidden = None
            self.bars.setOpts(height=np.zeros(10))
            self.answer.setText("–")
            self.answer_note.setText(("Draw a digit" if self.class_names is None else "Draw, or paste a test item")
                                     if self._weights is not None else "No network yet")
            self.hidden_image.clear()
            return
        out = layers[-1][0]
        self.output = out
        hidden = layers[1][0] if len(layers) > 2 else None
        self.hidden = hidden
        winner = int(np.argmax(out))
        brushes = [pg.mkBrush(style.ACCENT if d == winner else "#5b616b") for d in range(len(out))]
        if len(out) != len(self.bars.opts["height"]):
            set_class_ticks(self.bars_plot, self.class_names, len(out))
        self.bars.setOpts(x=np.arange(len(out)), height=out, brushes=brushes)
        names = self.class_names if len(out) == 10 else None
        self.answer.setText(label_name(winner, names))
        if names is None:
            self.answer_note.setText(f"the network's answer: output neuron {winner} is the most active "
                                     f"({out[winner]:.2f})")
        else:   # the name is wide: a shorter note
            self.answer_note.setText(f"output neuron {winner}, the most active ({out[winner]:.2f})")
        if hidden is not None:
            n = hidden.size
            rows, cols = grid_shape(n)
            grid = np.full(rows * cols, np.nan, dtype=np.float32)
            grid[:n] = hidden
            self.hidden_image.setImage(grid.reshape(rows, cols), autoLevels=False, levels=(0, 1))
            if n != self._n_hidden:
                self._n_hidden = n
                self.hidden_box.setRange(QRectF(0, 0, cols, rows), padding=0.03)
                self.hidden_title.setText(f"Hidden neurons ({n})")
        else:
            self.hidden_image.clear()

    def add_to_my_digits(self, label: int, folder: str) -> str | None:
        """Save the drawing as digit ``label`` into ``folder/<label>/``; the pad's note says
        where (or why not). Returns the saved file's path, or None."""
        from pathlib import Path

        from nnviz.core.errors import DataError
        from nnviz.core.mydigits import IMAGE_SUFFIXES, save_digit

        try:
            path = save_digit(folder, label, self.pad.canvas)
        except DataError as e:
            self.pad_note.setText(f"Not saved: {e}")
            return None
        self.my_digits_folder = folder
        count = sum(1 for p in path.parent.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        self.pad_note.setText(f"Saved as {Path(folder).name}/{label}/{path.name}: "
                              f"{count} drawing{'s' if count != 1 else ''} of {label} there")
        return str(path)

    def _on_add_button_clicked(self) -> None:
        from PySide6.QtWidgets import QFileDialog, QInputDialog

        if self.pad.empty:
            self.pad_note.setText("Draw a digit first, then add it to your digits.")
            return
        guess = self.prediction
        label, ok = QInputDialog.getInt(self, "Add to my digits", "Which digit did you draw?",
                                        guess if guess is not None else 0, 0, 9)
        if not ok:
            return
        folder = self.my_digits_folder
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Folder of your digits (a folder per digit is made in it)")
            if not folder:
                return
        self.add_to_my_digits(label, folder)

    @property
    def prediction(self) -> int | None:
        return None if self.output is None else int(np.argmax(self.output))


def _steady(label: QLabel, lines: int) -> None:
    """Give ``label`` room for ``lines`` lines of wrapped text and no say in the layout's widths."""
    label.ensurePolished()  # the stylesheet's font
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
    label.setFixedHeight(lines * label.fontMetrics().lineSpacing() + 4)
    label.setAlignment(label.alignment() | Qt.AlignTop)


def _grey_lut(colour: str = "#ffffff") -> np.ndarray:
    """A 256-entry lookup table from black to ``colour``."""
    c = QColor(colour)
    t = np.linspace(0.0, 1.0, 256)[:, None]
    return (t * np.array([c.red(), c.green(), c.blue()])[None, :]).astype(np.uint8)
