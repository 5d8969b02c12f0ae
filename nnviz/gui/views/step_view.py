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

from nnviz.core.classes import label_name, noun, short_name
from nnviz.core.training import StepRecord
from nnviz.gui import style
from nnviz.gui.views.mosaic import TILE, symmetric_level, tile_mosaic
from nnviz.gui.widgets import image_box, set_symmetric_levels

MAX_THUMBS = 20        # digits shown of a mini-batch (the rest are counted)
THUMB_PX = 56          # a 28x28 digit drawn at twice its size ...
SMALL_THUMB_PX = 40    # ... or smaller where ten of them would not fit side by side
FORMULA = ("w → w′ = w − (η/m) Σₓ ∂Cₓ/∂w,   b → b′ = b − (η/m) Σₓ ∂Cₓ/∂b"
           "   (the book's eqs. 20–21)")
CAPTION = ("The network looked at these m training digits (under each: its label → the network's answer "
           "before the step; red: wrong), averaged the gradient of the cost over them and moved every "
           "weight a little downhill. Left: what this one step changed in each hidden neuron's 784 "
           "incoming weights (red: more on, blue: more off); right: the weights after it, as the "
           "heatmaps show them.")
WAITING = ("Press N to train one mini-batch and see it here, or slow the Speed down to "
           "5 mini-batches a second or less ( [ ).")


def _pixmap(image: np.ndarray, px: int = THUMB_PX) -> QPixmap:
    """A 28x28 digit (0..1, white on black) as a ``px`` pixmap."""
    a = np.ascontiguousarray(np.clip(np.asarray(image, dtype=np.float64).reshape(TILE) * 255, 0, 255)
                             .astype(np.uint8))
    q = QImage(a.data, TILE[1], TILE[0], TILE[1], QImage.Format_Grayscale8).copy()
    return QPixmap.fromImage(q).scaled(px, px, Qt.IgnoreAspectRatio, Qt.FastTransformation)


class Thumb(QFrame):
    """One digit of the mini-batch, its label and the answer before the step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thumb")
        self._digit: np.ndarray | None = None
        self.image = QLabel()
        self.px = THUMB_PX
        self.image.setFixedSize(THUMB_PX, THUMB_PX)
        self.text = QLabel()
        self.text.setAlignment(Qt.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(1)
        layout.addWidget(self.image, 0, Qt.AlignHCenter)
        layout.addWidget(self.text)
        self.wrong = False

    def set_size(self, px: int) -> None:
        if px != self.px:
            self.px = px
            self.image.setFixedSize(px, px)
            if self._digit is not None:
                self.image.setPixmap(_pixmap(self._digit, px))

    def show_digit(self, image: np.ndarray, label: int, answer: int,
                   class_names: tuple[str, ...] | None = None) -> None:
        """``class_names``: the names to show for ``label`` and ``answer`` (None: digits)."""
        self._digit = image
        self.image.setPixmap(_pixmap(image, self.px))
        self.wrong = answer != label
        colour = style.ERROR if self.wrong else style.MUTED
        mark = "✗" if self.wrong else "✓"
        if class_names is None:
            self.text.setText(f"{label} → {answer} {mark}")
        else:   # names are wider than a thumbnail: two lines of short names
            self.text.setText(f"{short_name(label, class_names)}\n→ {short_name(answer, class_names)} {mark}")
        label, answer = label_name(label, class_names), label_name(answer, class_names)
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
        self.where.setObjectName("stepNote")   # not a caption: presentation mode keeps it
        self.where.setWordWrap(True)
        self.where.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

        # the mini-batch
        self.batch_box = QWidget()
        self.grid = QGridLayout(self.batch_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(4)
        self.grid.setVerticalSpacing(2)
        self.thumbs: list[Thumb] = []
        self.columns = 0
        for _ in range(MAX_THUMBS):
            t = Thumb()
            t.hide()
            self.thumbs.append(t)
        self._lay_out_thumbs(10)
        self.more = QLabel("")
        self.more.setObjectName("caption")
        self.summary = QLabel("")
        self.summary.setObjectName("stepNote")
        self.summary.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

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
        cl.setContentsMargins(10, 4, 10, 4)
        cl.setHorizontalSpacing(10)
        cl.setVerticalSpacing(0)
        for i, text in ((0, "cost before"), (2, "cost after")):
            t = QLabel(text)
            t.setObjectName("cardTitle")
            cl.addWidget(t, 0, i)
        arrow = QLabel("→")
        arrow.setObjectName("cardValue")
        cl.addWidget(self.cost_before, 1, 0)
        cl.addWidget(arrow, 1, 1)
        cl.addWidget(self.cost_after, 1, 2)
        cl.addWidget(self.cost_change, 0, 3, 2, 1)
        cl.setColumnStretch(3, 1)
        costs.setToolTip("The mean cost per digit of this mini-batch, before and after its step. "
                         "Gradient descent steps downhill, so it should fall; with a huge η the "
                         "step overshoots and it can rise.")
        costs.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)
        self.costs = costs

        # the step on the hidden neurons' weights, and the weights after it
        # (two graphics widgets side by side, stretched alike: the mosaics are the same size)
        self.graphics_pair = [pg.GraphicsLayoutWidget(), pg.GraphicsLayoutWidget()]
        self.images, self.colorbars = [], []
        self.mosaic_titles = []
        mosaics = QHBoxLayout()
        mosaics.setSpacing(4)
        for graphics, label in zip(self.graphics_pair, ("this step: −(η/m) Σ ∂C/∂w", "weights after the step")):
            graphics.ci.setContentsMargins(2, 2, 2, 2)
            self.mosaic_titles.append(graphics.addLabel(label, row=0, col=0, colspan=2, color=style.MUTED,
                                                        size="10pt"))
            _view, image = image_box(graphics, row=1, col=0)
            bar = pg.ColorBarItem(values=(-1, 1), colorMap=style.HEATMAP_COLORMAP, interactive=False, width=12,
                                  colorMapMenu=False)
            bar.setImageItem(image)
            graphics.addItem(bar, row=1, col=1)
            self.images.append(image)
            self.colorbars.append(bar)
            mosaics.addWidget(graphics, 1)
        self.levels = [0.0, 0.0]
        self._mosaics: list[np.ndarray | None] = [None, None]

        self.class_names: tuple[str, ...] | None = None
        self.caption = QLabel(CAPTION)
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.where, 1)
        tail = QHBoxLayout()
        tail.addWidget(self.summary, 1)
        tail.addWidget(self.more)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.formula)
        layout.addWidget(self.batch_box, 0, Qt.AlignLeft)
        layout.addLayout(tail)
        layout.addWidget(costs)
        layout.addLayout(mosaics, 1)
        layout.addWidget(self.caption)

    def _lay_out_thumbs(self, columns: int) -> None:
        """The digits in rows of ``columns``."""
        if columns == self.columns:
            return
        self.columns = columns
        for i, t in enumerate(self.thumbs):
            self.grid.removeWidget(t)
            self.grid.addWidget(t, i // columns, i % columns)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Ten digits a row, drawn smaller (or five a row) where the view is narrow."""
        width = event.size().width() - 20
        px = THUMB_PX if width >= 10 * (THUMB_PX + 16) else SMALL_THUMB_PX
        for t in self.thumbs:
            t.set_size(px)
        self._lay_out_thumbs(10 if width >= 10 * (px + 16) else 5)
        super().resizeEvent(event)

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

    def set_class_names(self, class_names: tuple[str, ...] | None) -> None:
        """The dataset's class names (None: digits) for the labels under the mini-batch."""
        self.class_names = class_names
        self.caption.setText(CAPTION if class_names is None else CAPTION.replace("training digits", "training items"))
        self.dirty = True

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
                           f"{noun(self.class_names, True)} · {r.cost} cost")
        answers = r.predictions_before
        n_images = r.images.shape[1] if r.images.ndim == 2 else 0
        for i, t in enumerate(self.thumbs):
            if i < r.m and n_images == TILE[0] * TILE[1]:
                t.show_digit(r.images[i], int(r.labels[i]), int(answers[i]), self.class_names)
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
        self.mosaic_titles[1].setText("weights after it: change since epoch 0" if since
                                      else "weights after the step", color=style.MUTED, size="10pt")
        if first_step.shape[1] == TILE[0] * TILE[1]:
            for k, values in enumerate((first_step, first_weights)):
                self._mosaics[k] = tile_mosaic(values, out=self._mosaics[k])
                level = symmetric_level(values)
                self.images[k].setImage(self._mosaics[k], autoLevels=False, levels=(-level, level))
                if level != self.levels[k]:
                    self.levels[k] = level
                    set_symmetric_levels(self.colorbars[k], level)

    def mosaic(self, which: int = 0) -> np.ndarray | None:
        """The step (0) or weights (1) mosaic last drawn."""
        return self._mosaics[which]
