"""Slow motion: what one mini-batch's step of stochastic gradient descent did.

Shows a :class:`nnviz.core.training.StepRecord`: the mini-batch's digits with their labels
and the network's answers before the step (wrong ones marked), the mini-batch's cost
before and after the step, and the step on the hidden neurons' weights, −(η/m) Σ ∂C_x/∂w,
as a mosaic in the layout and colours of the weight heatmaps, beside the weights after it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from nnviz.core.training import StepRecord
from nnviz.gui import style
from nnviz.gui.views.mosaic import TILE, symmetric_level, tile_mosaic
from nnviz.gui.widgets import image_box

MAX_THUMBS = 20        # digits shown of a mini-batch (the rest are counted)
THUMB_PX = 56          # a 28x28 digit drawn at twice its size
FORMULA = ("w → w′ = w − (η/m) Σₓ ∂Cₓ/∂w,   b → b′ = b − (η/m) Σₓ ∂Cₓ/∂b"
           "   (the book's eqs. 20–21)")
CAPTION = ("One step of stochastic gradient descent: the network looked at these m training digits "
           "(its answers before the step under each; red ones were wrong), averaged the gradient of "
           "the cost over them, and moved every weight a little downhill. Left mosaic: how much this "
           "one step changed each hidden neuron's 784 incoming weights (red: more on, blue: more off), "
           "in the same layout as the heatmaps; right: the weights after the step (as the heatmaps show "
           "them: their change since training began, or the weights themselves).")
WAITING = ("Press N to train one mini-batch and see it here, or slow the Speed down to "
           "5 mini-batches a second or less ( [ ).")


def _pixmap(image: np.ndarray) -> QPixmap:
    """A 28x28 digit (0..1, white on black) as a THUMB_PX pixmap."""
    a = np.ascontiguousarray(np.clip(np.asarray(image, dtype=np.float64).reshape(TILE) * 255, 0, 255)
                             .astype(np.uint8))
    q = QImage(a.data, TILE[1], TILE[0], TILE[1], QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(q).scaled(THUMB_PX, THUMB_PX, Qt.IgnoreAspectRatio, Qt.FastTransformation)


class Thumb(QFrame):
    """One digit of the mini-batch, its label and the answer before the step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thumb")
        self.image = QLabel()
        self.image.setFixedSize(THUMB_PX, THUMB_PX)
        self.text = QLabel()
        self.text.setAlignment(Qt.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(1)
        layout.addWidget(self.image, 0, Qt.AlignHCenter)
        layout.addWidget(self.text)
        self.wrong = False

    def show_digit(self, image: np.ndarray, label: int, answer: int) -> None:
        self.image.setPixmap(_pixmap(image))
        self.wrong = answer != label
        colour = style.ERROR if self.wrong else style.MUTED
        mark = "✗" if self.wrong else "✓"
        self.text.setText(f"{label} → {answer} {mark}")
        self.text.setStyleSheet(f"color: {colour}; font-weight: {600 if self.wrong else 400};")
        self.setStyleSheet(f"QFrame#thumb {{ border: 2px solid {style.ERROR if self.wrong else 'transparent'};"
                           f" border-radius: 4px; }}")
        self.setToolTip(f"label {label}; the network answered {answer} before this step"
                        + (" (wrong)" if self.wrong else ""))


class StepView(QWidget):
    """The Step tab. :meth:`set_record` keeps the latest record; :meth:`render` draws it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.record: StepRecord | None = None
        self.reference: np.ndarray | None = None   # first-layer weights at the run's start
        self.dirty = False
        self.shown = 0   # records drawn so far (for tests and the benchmark)

        self.title = QLabel("One step of gradient descent")
        self.title.setObjectName("viewTitle")
        self.formula = QLabel(FORMULA)
        self.formula.setObjectName("formula")
        self.formula.setWordWrap(True)
        self.where = QLabel(WAITING)
        self.where.setObjectName("caption")
        self.where.setWordWrap(True)
        self.where.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

        # the mini-batch
        self.batch_box = QWidget()
        self.grid = QGridLayout(self.batch_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(4)
        self.grid.setVerticalSpacing(2)
        self.thumbs: list[Thumb] = []
        for i in range(MAX_THUMBS):
            t = Thumb()
            t.hide()
            self.grid.addWidget(t, i // 10, i % 10)
            self.thumbs.append(t)
        self.more = QLabel("")
        self.more.setObjectName("caption")
        self.summary = QLabel("")
        self.summary.setObjectName("caption")

        # the cost of this mini-batch, before and after
        self.cost_before = QLabel("–")
        self.cost_after = QLabel("–")
        for label in (self.cost_before, self.cost_after):
            label.setObjectName("cardValue")
        self.cost_change = QLabel("")
        self.cost_change.setWordWrap(True)
        costs = QFrame()
        costs.setObjectName("card")
        cl = QGridLayout(costs)
        cl.setContentsMargins(10, 6, 10, 6)
        titles = (QLabel("cost before"), QLabel("cost after"))
        for i, t in enumerate(titles):
            t.setObjectName("cardTitle")
            cl.addWidget(t, 0, i)
        cl.addWidget(self.cost_before, 1, 0)
        cl.addWidget(self.cost_after, 1, 1)
        cl.addWidget(self.cost_change, 2, 0, 1, 2)
        costs.setToolTip("The mean cost per digit of this mini-batch, before and after its step. "
                         "Gradient descent steps downhill, so it should fall; with a huge η the "
                         "step overshoots and it can rise.")
        costs.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)

        # the step on the hidden neurons' weights, and the weights after it
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.views, self.images, self.colorbars = [], [], []
        self.mosaic_titles = []
        for col, (name, label) in enumerate((("step", "this step: −(η/m) Σ ∂C/∂w"),
                                             ("weights", "weights after the step"))):
            self.mosaic_titles.append(self.graphics.addLabel(label, row=0, col=2 * col, colspan=2, color=style.MUTED,
                                                             size="10pt"))
            view, image = image_box(self.graphics, row=1, col=2 * col)
            bar = pg.ColorBarItem(values=(-1, 1), colorMap=style.HEATMAP_COLORMAP, interactive=False, width=12,
                                  colorMapMenu=False)
            bar.setImageItem(image)
            self.graphics.addItem(bar, row=1, col=2 * col + 1)
            self.views.append(view)
            self.images.append(image)
            self.colorbars.append(bar)
        self.levels = [0.0, 0.0]
        self._mosaics: list[np.ndarray | None] = [None, None]

        self.caption = QLabel(CAPTION)
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.where, 1)
        batch_col = QVBoxLayout()
        batch_col.addWidget(self.batch_box)
        tail = QHBoxLayout()
        tail.addWidget(self.summary, 1)
        tail.addWidget(self.more)
        batch_col.addLayout(tail)
        row = QHBoxLayout()
        row.addLayout(batch_col, 3)
        row.addWidget(costs, 1, Qt.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.formula)
        layout.addLayout(row)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.caption)

    # ---------------------------------------------------------------- data
    def set_record(self, record: StepRecord, reference: np.ndarray | None = None) -> None:
        """Show ``record``; with ``reference`` (the first layer's weights when the run began),
        the right mosaic shows how far the weights have come since, as the heatmaps do."""
        self.record = record
        self.reference = reference
        self.dirty = True

    def clear(self) -> None:
        self.record = None
        self.dirty = True

    @property
    def thumbs_shown(self) -> int:
        return sum(not t.isHidden() for t in self.thumbs)

    # ---------------------------------------------------------------- drawing
    def render(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        r = self.record
        if r is None:
            self.where.setText(WAITING)
            for t in self.thumbs:
                t.hide()
            self.more.setText("")
            self.summary.setText("")
            self.cost_before.setText("–")
            self.cost_after.setText("–")
            self.cost_change.setText("")
            for image in self.images:
                image.clear()
            return
        self.shown += 1
        self.where.setText(f"epoch {r.epoch + 1}, mini-batch {r.batch + 1} · η = {r.eta:g} · m = {r.m} "
                           f"digits · {r.cost} cost")
        answers = r.predictions_before
        n_images = r.images.shape[1] if r.images.ndim == 2 else 0
        for i, t in enumerate(self.thumbs):
            if i < r.m and n_images == TILE[0] * TILE[1]:
                t.show_digit(r.images[i], int(r.labels[i]), int(answers[i]))
                t.show()
            else:
                t.hide()
        self.more.setText(f"+ {r.m - MAX_THUMBS} more" if r.m > MAX_THUMBS else "")
        self.summary.setText(f"before the step the network got {r.correct_before} of these {r.m} right")
        self.cost_before.setText(f"{r.cost_before:.4f}")
        self.cost_after.setText(f"{r.cost_after:.4f}")
        change = r.cost_after - r.cost_before
        if change <= 0:
            rel = f" ({100 * change / r.cost_before:+.1f} %)" if r.cost_before > 0 else ""
            self.cost_change.setText(f"fell by {-change:.4f}{rel}: downhill")
            self.cost_change.setStyleSheet(f"color: {style.COST};")
        else:
            self.cost_change.setText(f"rose by {change:.4f}: the step overshot (η too large?)")
            self.cost_change.setStyleSheet(f"color: {style.ERROR}; font-weight: 600;")
        first_step, first_weights = r.weight_steps[0], r.weights[0]
        since = self.reference is not None and self.reference.shape == first_weights.shape
        if since:
            first_weights = first_weights - self.reference
        self.mosaic_titles[1].setText("weights after the step: change since epoch 0" if since
                                      else "weights after the step", color=style.MUTED, size="10pt")
        if first_step.shape[1] == TILE[0] * TILE[1]:
            for k, values in enumerate((first_step, first_weights)):
                self._mosaics[k] = tile_mosaic(values, out=self._mosaics[k])
                level = symmetric_level(values)
                self.images[k].setImage(self._mosaics[k], autoLevels=False, levels=(-level, level))
                if level != self.levels[k]:
                    self.levels[k] = level
                    self.colorbars[k].setLevels((-level, level))

    def mosaic(self, which: int = 0) -> np.ndarray | None:
        """The step (0) or weights (1) mosaic last drawn."""
        return self._mosaics[which]
