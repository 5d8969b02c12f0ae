"""Small widgets: metric cards, the message bar, a captioned view, an image view box,
and the save-file question."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget


def shortcut_action(window: QWidget, text: str, keys: Any, tip: str, slot: Callable[[], Any]) -> QAction:
    """An action added to ``window`` (so its keys work anywhere in it), triggering ``slot``;
    ``keys`` is one key or a list; the tooltip names them."""
    seqs = [QKeySequence(k) for k in (keys if isinstance(keys, (list, tuple)) else [keys])]
    a = QAction(text, window)
    a.setShortcuts(seqs)
    a.setToolTip(f"{tip} ({', '.join(q.toString() for q in seqs)})")
    a.triggered.connect(slot)
    window.addAction(a)
    return a


def image_view(margin: int = 0) -> tuple[pg.GraphicsLayoutWidget, pg.ViewBox, pg.ImageItem]:
    """A fixed (no pan/zoom, no menu), aspect-locked, top-down view holding one ImageItem."""
    graphics = pg.GraphicsLayoutWidget()
    graphics.ci.setContentsMargins(margin, margin, margin, margin)
    view, image = image_box(graphics, row=0, col=0)
    return graphics, view, image


def image_box(graphics: pg.GraphicsLayoutWidget, row: int, col: int) -> tuple[pg.ViewBox, pg.ImageItem]:
    """A fixed, aspect-locked, top-down ViewBox holding one ImageItem, added to ``graphics``."""
    view = graphics.addViewBox(row=row, col=col)
    view.setAspectLocked(True)
    view.invertY(True)
    view.setMouseEnabled(x=False, y=False)
    view.setMenuEnabled(False)
    image = pg.ImageItem(axisOrder="row-major")
    view.addItem(image)
    return view, image


def ask_save_path(parent: QWidget, title: str, folder: str, default_name: str, filters: str) -> str | None:
    """Ask where to save; the path gets ``default_name``'s suffix if the user left it off."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(Path(folder) / default_name), filters)
    if not path:
        return None
    suffix = Path(default_name).suffix
    if suffix and not path.lower().endswith(suffix):
        path += suffix
    return path


class MetricCard(QFrame):
    """A big number over a small label ('94.2 %' / 'test accuracy')."""

    def __init__(self, title: str, tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.value = QLabel("–")
        self.value.setObjectName("cardValue")
        self.title = QLabel(title)
        self.title.setObjectName("cardTitle")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 5, 12, 6)
        layout.setSpacing(0)
        layout.addWidget(self.value)
        layout.addWidget(self.title)
        self.setToolTip(tip)

    def set_value(self, text: str) -> None:
        if self.value.text() != text:
            self.value.setText(text)


class MessageBar(QFrame):
    """A dismissible line for problems the user should read (training diverged, ...)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.text = QLabel()
        self.text.setObjectName("messageText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide this message")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        self.text.setText(text)
        self.show()


def captioned(title: str, view: QWidget, caption: str) -> QWidget:
    """``view`` with a bold title above it and a plain-language caption below."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.setSpacing(3)
    heading = QLabel(title)
    heading.setObjectName("viewTitle")
    text = QLabel(caption)
    text.setObjectName("caption")
    text.setWordWrap(True)
    layout.addWidget(heading)
    layout.addWidget(view, 1)
    layout.addWidget(text)
    return box
