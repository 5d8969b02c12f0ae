"""The time slider: rewind the whole dashboard to an earlier epoch, and branch from it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from nnviz.core.timeline import Timeline

MIB = 2**20


def memory_note(timeline: Timeline) -> str:
    """What the history holds and its memory bound, for a tooltip."""
    n = len(timeline)
    kept = len(timeline.epochs_with_weights())
    latest = timeline.latest
    per_epoch = latest.nbytes if latest is not None and latest.has_weights else 0
    fits = f" (about {timeline.cap_bytes // per_epoch:,} epochs of this network)" if per_epoch else ""
    thinned = (f" The cap was reached, so only every {timeline.stride}th epoch (and the first and the "
               f"latest) keeps its weights; the slider shows the nearest kept one."
               if timeline.stride > 1 else "")
    return (f"History: {n} epochs, the weights of {kept} of them, {timeline.nbytes / MIB:.1f} MiB "
            f"(kept in the run's precision: a [784, 30, 10] network takes 93 KiB an epoch in float32, "
            f"186 KiB in float64; the book's 30 epochs 2.8 or 5.5 MiB). "
            f"It is capped at {timeline.cap_bytes / MIB:.0f} MiB{fits}: beyond that older epochs keep "
            f"their numbers but lose their weights, evenly thinned.{thinned}")


class TimelineBar(QWidget):
    """A slider over the epochs of the run, a 'Live' button and 'Continue from here'.

    ``epochChosen(k)``: the user picked epoch ``k`` (the latest means live);
    ``continueRequested(k)``: train on from epoch ``k`` (a new branch).
    """

    epochChosen = Signal(int)
    continueRequested = Signal(int)

    TIP = ("Rewind the whole dashboard (plots, heatmaps, errors, saturation and the draw pad) to any "
           "epoch of this run: drag, or press Left / Right while training is paused. "
           "'Continue from here' trains on from the epoch shown, as a new branch; the old "
           "branch stays on the plots, faded.")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self.label = QLabel("epoch")
        self.label.setObjectName("caption")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setMinimumWidth(160)
        self.slider.setFocusPolicy(Qt.NoFocus)  # Left / Right go to the window's actions
        self.slider.valueChanged.connect(self._on_slider_valueChanged)
        self.value = QLabel("live")
        # room for the usual texts: a label that grows with its text ("epoch 9" -> "epoch 10")
        # re-lays out the tab widget, and so repaints the whole dashboard, mid-training
        self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance("epoch 99 · live") + 6)
        self.live_button = QToolButton()
        self.live_button.setText("Live")
        self.live_button.setToolTip("Back to the latest epoch, following the training (End)")
        self.live_button.clicked.connect(self._on_live_clicked)
        self.continue_button = QToolButton()
        self.continue_button.setText("Continue from here")
        self.continue_button.setToolTip("Train on from the epoch shown, with its weights and the same seed: "
                                        "a new branch. The later epochs stay on the plots, faded.")
        self.continue_button.clicked.connect(self._on_continue_clicked)
        self.continue_button.setEnabled(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 4, 0)
        layout.setSpacing(6)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value)
        layout.addWidget(self.live_button)
        layout.addWidget(self.continue_button)
        self.set_tooltip(self.TIP)
        self.compact = False

    def set_compact(self, compact: bool) -> None:
        """A narrower bar for small screens: no 'epoch' label, a shorter slider, 'Continue'."""
        self.compact = compact
        self.label.setVisible(not compact)
        self.slider.setMinimumWidth(60 if compact else 160)
        self.continue_button.setText("Continue" if compact else "Continue from here")

    def minimumSizeHint(self) -> QSize:
        # the tab widget gives the bar its sizeHint if it has the room; the window decides
        # (ViewTabs): full, compact or hidden, so the bar never widens the window
        return QSize(0, super().minimumSizeHint().height())

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.FontChange, QEvent.StyleChange):  # e.g. presentation mode
            self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance("epoch 99 · live") + 6)
        super().changeEvent(event)

    def set_tooltip(self, extra: str) -> None:
        tip = self.TIP if extra == self.TIP else f"{self.TIP}\n\n{extra}"
        self.slider.setToolTip(tip)
        self.label.setToolTip(tip)
        self.value.setToolTip(tip)

    def set_state(self, latest: int, shown: int | None, note: str = "") -> None:
        """The slider spans epochs 0..``latest``; ``shown`` None means live."""
        self._updating = True
        try:
            self.slider.setRange(0, max(0, latest))
            self.slider.setValue(latest if shown is None else shown)
        finally:
            self._updating = False
        text = f"epoch {latest} · live" if shown is None else f"epoch {shown} of {latest}"
        if note:
            text += f" {note}"
        if self.value.text() != text:
            self.value.setText(text)
        self.live_button.setEnabled(shown is not None)
        self.continue_button.setEnabled(shown is not None and shown < latest)

    def _on_slider_valueChanged(self, value: int) -> None:
        if not self._updating:
            self.epochChosen.emit(value)

    def _on_live_clicked(self) -> None:
        self.epochChosen.emit(self.slider.maximum())

    def _on_continue_clicked(self) -> None:
        self.continueRequested.emit(self.slider.value())
