"""Small widgets: metric cards, the message bar, a captioned view, an image view box,
the save-file question, and the window's command keys (:func:`shortcut_action`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QKeyCombination, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QTabWidget,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnviz.core.classes import short_name

COMMAND = "nnvizCommand"  # the property that marks an action made by shortcut_action

# What typing a number needs; in a number box these keys edit, never command.
NUMBER_CHARS = frozenset("0123456789.,-+eE")
EDITING_KEYS = frozenset({Qt.Key_Backspace, Qt.Key_Delete, Qt.Key_Left, Qt.Key_Right, Qt.Key_Home,
                          Qt.Key_End})
STEPPING_KEYS = frozenset({Qt.Key_Up, Qt.Key_Down})  # a spin box's own: step its value


def shortcut_action(window: QWidget, text: str, keys: Any, tip: str, slot: Callable[[], Any]) -> QAction:
    """An action added to ``window`` (so its keys work anywhere in it), triggering ``slot``;
    ``keys`` is one key or a list; the tooltip names them. Its keys act whatever widget has
    focus, except the keys a focused editor needs to edit (see :class:`CommandKeys`)."""
    seqs = [QKeySequence(k) for k in (keys if isinstance(keys, (list, tuple)) else [keys])]
    a = QAction(text, window)
    a.setShortcuts(seqs)
    a.setToolTip(f"{tip} ({', '.join(q.toString() for q in seqs)})")
    a.setProperty(COMMAND, True)
    a.triggered.connect(slot)
    window.addAction(a)
    CommandKeys.install()
    return a


class AppFilter(QObject):
    """An event filter on the whole application, installed once (``install`` again: no-op)."""

    @classmethod
    def install(cls) -> None:
        app = QApplication.instance()
        if app is not None and app.findChild(cls) is None:
            app.installEventFilter(cls(app))


def _editor(widget: QObject | None) -> QWidget | None:
    """The text editor that a key sent to ``widget`` would edit, if any."""
    if isinstance(widget, (QAbstractSpinBox, QLineEdit, QTextEdit, QPlainTextEdit)):
        return widget
    if isinstance(widget, QComboBox) and widget.isEditable():
        return widget.lineEdit()
    return None


def _is_number_box(editor: QWidget) -> bool:
    return isinstance(editor, QAbstractSpinBox) or (isinstance(editor, QLineEdit) and editor.validator() is not None)


class CommandKeys(AppFilter):
    """The application's key router (one, installed by the first :func:`shortcut_action`).

    Qt asks a focused editor first whether it wants a key (``ShortcutOverride``); a spin box
    says yes to Space, letters and more, so Space would erase the box instead of pausing.
    Here a key that is some enabled command's key goes to the command, unless the focused
    editor needs it to edit: in a number box the digits, '.', ',', '-', '+', 'e', Backspace,
    Delete, Left, Right, Home, End and (to step the box) Up and Down; in a free-text box any
    printable key. Return in a box of a window with commands commits the value and hands
    the focus back to the window, so the next key is a command again."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.ShortcutOverride, QEvent.KeyPress) or not isinstance(obj, QWidget):
            return False
        editor = _editor(obj)
        if editor is None:
            return False
        window = obj.window()
        if kind == QEvent.KeyPress:
            if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self._commands(window):
                obj.event(event)  # the box commits its value (and emits editingFinished)
                window.setFocus(Qt.OtherFocusReason)
                return True
            return False
        if not self._is_command(window, event):
            return False
        if self._edits(editor, event):
            event.accept()  # the box gets the key press; no command
        else:
            if isinstance(editor, QAbstractSpinBox):
                editor.interpretText()  # what was typed counts before the command acts
            event.ignore()  # the shortcut fires
        return True

    @staticmethod
    def _commands(window: QWidget) -> list[QAction]:
        return [a for a in window.actions() if a.property(COMMAND) and a.isEnabled()]

    def _is_command(self, window: QWidget, event: Any) -> bool:
        pressed = QKeySequence(QKeyCombination(event.modifiers() & ~Qt.KeypadModifier, Qt.Key(event.key())))
        return any(seq.matches(pressed) == QKeySequence.ExactMatch
                   for a in self._commands(window) for seq in a.shortcuts())

    @staticmethod
    def _edits(editor: QWidget, event: Any) -> bool:
        """Whether ``editor`` needs this key to edit its text."""
        if event.modifiers() & ~(Qt.ShiftModifier | Qt.KeypadModifier):
            return False  # Ctrl+..., Alt+...: commands
        key, text = event.key(), event.text()
        if key in EDITING_KEYS:
            return True
        if _is_number_box(editor):
            return (len(text) == 1 and text in NUMBER_CHARS) or (
                key in STEPPING_KEYS and isinstance(editor, QAbstractSpinBox))
        return bool(text) and text.isprintable()


def image_view(margin: int = 0) -> tuple[pg.GraphicsLayoutWidget, pg.ViewBox, pg.ImageItem]:
    """A fixed (no pan/zoom, no menu), aspect-locked, top-down view holding one ImageItem."""
    graphics = pg.GraphicsLayoutWidget()
    graphics.ci.setContentsMargins(margin, margin, margin, margin)
    view, image = image_box(graphics, row=0, col=0)
    return graphics, view, image


def set_class_ticks(plot: pg.PlotItem, class_names: Sequence[str] | None, n: int = 10) -> None:
    """A bar chart of one bar per class (x = 0 … n-1): its bottom ticks are the digits, or
    the classes' short names on two staggered lines (every other one a line lower, so that
    names wider than a bar do not overlap), with room at either end for the outer names.
    Where even so they would overlap (a narrow plot, presentation mode's large letters), the
    ticks are the labels' numbers; the plot's size and font are checked again as they change."""
    named = class_names is not None and n == len(class_names)
    plot.class_ticks = (tuple(class_names) if named else None, n)
    if not getattr(plot, "class_ticks_followed", False):
        plot.class_ticks_followed = True
        plot.vb.sigResized.connect(lambda *_: _fit_class_ticks(plot))
    margin = 0.95 if named else 0.6
    plot.setXRange(-margin, n - 1 + margin, padding=0)
    _fit_class_ticks(plot)


def _fit_class_ticks(plot: pg.PlotItem) -> None:
    names, n = plot.class_ticks
    axis = plot.getAxis("bottom")
    ticks = [(k, str(k)) for k in range(n)]
    if names is not None:
        short = [short_name(k, names) for k in range(n)]
        metrics = QFontMetrics(axis.style.get("tickFont") or axis.font())
        (x0, x1), width = plot.vb.viewRange()[0], plot.vb.width()
        bar = width / max(x1 - x0, 1e-9)   # pixels from one bar to the next
        # two names on one line stand two bars apart: half of each, and 2 px between them, must fit
        if all(metrics.horizontalAdvance(short[k]) + metrics.horizontalAdvance(short[k + 2]) + 4 <= 4 * bar
               for k in range(n - 2)):
            # the lower names get an empty line after them too: pyqtgraph makes room for
            # only 0.8 of a text's measured height, and would cut their line in half
            ticks = [(k, s if k % 2 == 0 else f"\n{s}\n") for k, s in enumerate(short)]
    if ticks != getattr(plot, "class_ticks_shown", None):
        plot.class_ticks_shown = ticks
        axis.setTicks([ticks])


def set_symmetric_levels(bar: pg.ColorBarItem, level: float) -> None:
    """A colour bar's range (-level, level), with -level/2, 0 and level/2 always labelled
    (pyqtgraph's own ticks lose the negative labels of a short bar in presentation mode, and
    a label at either end would be cut in half by the bar's end)."""
    bar.setLevels((-level, level))
    half = level / 2
    bar.getAxis("right").setTicks([[(-half, f"{-half:g}"), (0.0, "0"), (half, f"{half:g}")]])


def image_box(graphics: pg.GraphicsLayoutWidget, row: int, col: int) -> tuple[pg.ViewBox, pg.ImageItem]:
    """A fixed, aspect-locked, top-down ViewBox holding one ImageItem, added to ``graphics``."""
    view = graphics.addViewBox(row=row, col=col, enableMenu=False)   # no menu: not even built
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
    box.caption_label = text   # for a caption that changes (e.g. with the data's class names)
    return box


class WrappedLabels(AppFilter):
    """Keeps every word-wrapped label at least as tall as its text at its width (installed
    once on the application). Qt's layouts forget a wrapped label's height inside a
    splitter, and then squeeze the view above it until its plot's axis is drawn over the
    text; with this the page scrolls on a small screen instead."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Resize and isinstance(obj, QLabel) and obj.wordWrap() and obj.text():
            need = obj.heightForWidth(obj.width())
            if need > 0 and obj.minimumHeight() != need:
                obj.setMinimumHeight(need)
        return False


class FitScrollArea(QScrollArea):
    """A frameless scroll area for a panel or a page: it scrolls what does not fit instead of
    making the window bigger than the screen. Its widget fills it, and is made bigger only
    up to its *minimum* size (a scroll bar shows only when the room is below that; Qt's own
    resizable mode asks for the preferred height of word-wrapped text instead).
    ``keep_width``: never narrower than its widget's minimum width (a settings panel
    scrolls only up and down; no text is cut)."""

    def __init__(self, widget: QWidget, keep_width: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(widget)
        self.setFrameShape(QScrollArea.NoFrame)
        self._keep_width = keep_width
        self._fitted: tuple[QSize, QSize] | None = None
        if keep_width:
            self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.widget() and event.type() in (QEvent.LayoutRequest, QEvent.FontChange,
                                                      QEvent.StyleChange, QEvent.Show):
            self.updateGeometry()  # its minimum width may have changed (e.g. presentation fonts)
            self.fit_widget()
        return super().eventFilter(obj, event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_widget()

    def _min_height(self, widget: QWidget, width: int) -> int:
        layout = widget.layout()
        if layout is not None and layout.hasHeightForWidth():
            return layout.totalMinimumHeightForWidth(width) if hasattr(layout, "totalMinimumHeightForWidth") \
                else layout.minimumHeightForWidth(width)
        return widget.minimumSizeHint().height()

    def fit_widget(self) -> None:
        widget = self.widget()
        if widget is None:
            return
        room = self.maximumViewportSize()
        hint = widget.minimumSizeHint()
        if (room, hint) == self._fitted:  # e.g. a label's new text: nothing to do
            return
        self._fitted = (room, hint)
        bar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        min_w = hint.width()
        w = room.width() if self._keep_width else max(room.width(), min_w)
        h_room = room.height() - (bar if w > room.width() else 0)
        if self._min_height(widget, w) > h_room:  # a vertical scroll bar takes its share
            w = max(room.width() - bar, 1 if self._keep_width else min_w)
        widget.resize(w, max(h_room, self._min_height(widget, w)))

    def refit(self) -> None:
        """Size the page to the room again, even if neither seems to have changed (e.g. a
        hidden page laid out for an export)."""
        self._fitted = None
        self.fit_widget()

    def sizeHint(self) -> QSize:
        widget = self.widget()
        if widget is None:
            return super().sizeHint()
        hint = widget.sizeHint()  # (not its current size, as QScrollArea would say)
        return QSize(hint.width() + self.verticalScrollBar().sizeHint().width(), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        widget = self.widget()
        if not self._keep_width or widget is None:
            return hint
        width = widget.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(max(hint.width(), width), hint.height())


class ViewTabs(QTabWidget):
    """The central tabs. Each page sits in a :class:`FitScrollArea`, so a page that needs
    more room than a small screen has scrolls instead of widening the window; ``widget``,
    ``currentWidget`` and ``indexOf`` still speak of the pages themselves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabBar().setElideMode(Qt.ElideNone)  # a tab title is whole or the corner widget yields
        self._deferred: dict[QWidget, DeferredView] = {}
        self.currentChanged.connect(self._on_currentChanged)   # (first: the view exists for the others)

    def addTab(self, widget: QWidget, title: str) -> int:  # type: ignore[override]
        return super().addTab(FitScrollArea(widget), title)

    def add_deferred(self, deferred: DeferredView, title: str) -> int:
        """A tab whose view is built the first time the tab is shown."""
        self._deferred[deferred.page] = deferred
        return self.addTab(deferred.page, title)

    def _on_currentChanged(self, index: int) -> None:
        deferred = self._deferred.get(self.widget(index))
        if deferred is not None:
            deferred.view   # built now

    def fit_corner(self) -> None:
        """The top-right corner widget (the time slider) takes the room the tab titles leave:
        whole, compact (if it has ``set_compact``) or hidden; tab titles are never cut."""
        corner = self.cornerWidget(Qt.TopRightCorner)
        if corner is None:
            return
        bar = self.tabBar()
        need = sum(bar.tabSizeHint(i).width() for i in range(bar.count()) if bar.isTabVisible(i)) + 8
        room = self.width() - need
        set_compact = getattr(corner, "set_compact", None)
        for compact in (False, True) if set_compact is not None else (False,):
            if set_compact is not None:
                set_compact(compact)
            if corner.sizeHint().width() <= room:
                corner.setVisible(True)
                return
        corner.setVisible(False)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_corner()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.FontChange, QEvent.StyleChange):
            QTimer.singleShot(0, self, self.fit_corner)  # once the tabs have their new fonts

    def tabInserted(self, index: int) -> None:
        super().tabInserted(index)
        self.fit_corner()

    def widget(self, index: int) -> QWidget | None:  # type: ignore[override]
        area = super().widget(index)
        return area.widget() if isinstance(area, FitScrollArea) else area

    def currentWidget(self) -> QWidget | None:  # type: ignore[override]
        return self.widget(self.currentIndex())

    def indexOf(self, widget: QWidget) -> int:  # type: ignore[override]
        for i in range(self.count()):
            if self.widget(i) is widget:
                return i
        return -1

    def setCurrentWidget(self, widget: QWidget) -> None:  # type: ignore[override]
        self.setCurrentIndex(self.indexOf(widget))


class DeferredView:
    """A tab's view built the first time it is needed, not at start-up: when its tab is
    shown, or when :attr:`view` is asked for. ``page`` is what the tab holds (the view
    goes into it). Until the view exists, :meth:`call` keeps the latest call of each of
    its setters and replays them, in the order they were last made, once it is built."""

    def __init__(self, factory: Callable[[], QWidget]) -> None:
        self.factory = factory
        self.page = QWidget()
        layout = QVBoxLayout(self.page)
        layout.setContentsMargins(0, 0, 0, 0)
        self._view: Any = None
        self._calls: dict[str, tuple[tuple, dict]] = {}

    @property
    def built(self) -> bool:
        return self._view is not None

    @property
    def view(self) -> Any:
        if self._view is None:
            self._view = self.factory()
            self.page.layout().addWidget(self._view)
            calls, self._calls = self._calls, {}
            for name, (args, kwargs) in calls.items():
                getattr(self._view, name)(*args, **kwargs)
        return self._view

    def call(self, name: str, *args: Any, **kwargs: Any) -> None:
        """``view.name(*args, **kwargs)`` now if the view exists, else when it is built."""
        if self._view is not None:
            getattr(self._view, name)(*args, **kwargs)
        else:
            self._calls.pop(name, None)
            self._calls[name] = (args, kwargs)
