"""Presentation mode, for the back row of a lecture hall: full screen, large fonts
(axis labels and numbers at least 24 px), thicker lines, a colour-blind-safe palette
(Okabe & Ito), the settings panel collapsed, and clicker-friendly keys.

F11 (or View → Presentation mode) enters and leaves it; Esc leaves it. Everything it
changes is remembered and put back on leaving. The views know nothing of it: the
:class:`Presenter` restyles the pyqtgraph items it finds in the window (and items
created later, such as a new η marker or a race's curves, on a slow timer).

Keys while presenting (most clickers send Page Up / Page Down and B):
Page Down trains one more epoch and Page Up starts or pauses training; with
"Clicker keys change η" on, Page Up multiplies η by 1.5 and Page Down divides it.
B (or .) blanks the screen; C shows or hides the settings.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QAction, QColor, QFont
from PySide6.QtWidgets import QLabel, QWidget

from nnviz.gui import style
from nnviz.gui.widgets import shortcut_action

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any colour vision.
OKABE_ITO = {
    "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}
PALETTE = {  # the normal colours -> their presentation colours
    style.ACCENT: OKABE_ITO["sky blue"],
    style.VALIDATION: OKABE_ITO["orange"],
    style.COST: OKABE_ITO["bluish green"],
    style.ETA_MARK: OKABE_ITO["reddish purple"],
    style.ERROR: OKABE_ITO["vermillion"],
}
TICK_PX = 24       # tick numbers
LABEL_PX = 28      # axis labels
LEGEND_PX = 20
TITLE_PX = 24      # titles drawn inside plots (e.g. the race's heatmap titles)
LINE_SCALE = 2.0   # line widths are multiplied by this
SYMBOL_SCALE = 1.6
RESCAN_MS = 1000
SPLIT = (0.58, 0.42)  # the dashboard's plots : heatmaps, in presentation mode

STYLESHEET = """
QWidget { font-size: 20px; }
QLabel#cardValue { font-size: 44px; font-weight: 600; }
QLabel#cardTitle { font-size: 20px; }
QLabel#caption { font-size: 20px; }
QLabel#viewTitle { font-size: 26px; font-weight: 600; }
QTabBar::tab { font-size: 20px; padding: 4px 10px; }
QToolButton { font-size: 22px; padding: 6px 14px; }
QStatusBar QLabel { font-size: 20px; }
QFrame#blank { background: black; }
"""


def _swap(colour: QColor) -> QColor:
    """The presentation colour for ``colour`` (alpha kept); unknown colours stay."""
    new = PALETTE.get(colour.name().lower()) or PALETTE.get(colour.name().upper())
    if new is None:
        for old, replacement in PALETTE.items():
            if QColor(old).rgb() == colour.rgb():
                new = replacement
                break
    if new is None:
        return QColor(colour)
    out = QColor(new)
    out.setAlpha(colour.alpha())
    return out


def _bigger_pen(pen: Any) -> Any:
    p = pg.mkPen(pen)
    p.setColor(_swap(p.color()))
    p.setWidthF(max(1.0, p.widthF()) * LINE_SCALE)
    return p


class Blank(QWidget):
    """A black cover over the whole window ('B' on a clicker); any key or click removes it."""

    def __init__(self, parent: QWidget, on_dismiss) -> None:
        super().__init__(parent)
        self.setObjectName("blank")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet("background: black;")
        self.setFocusPolicy(Qt.StrongFocus)
        self._on_dismiss = on_dismiss
        self.hide()

    def event(self, event) -> bool:
        if event.type() == QEvent.ShortcutOverride:  # every key comes here, even a shortcut's
            event.accept()
            return True
        return super().event(event)

    def mousePressEvent(self, event) -> None:
        self._on_dismiss()

    def keyPressEvent(self, event) -> None:
        self._on_dismiss()


class Presenter(QObject):
    """Enters and leaves presentation mode for ``window`` (a MainWindow)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.active = False
        self.clicker_eta = False
        self._saved: dict[int, tuple[Any, str, Any]] = {}
        self._axis_texts: dict[int, tuple[Any, str]] = {}   # axis labels shortened to fit
        self._window_state: tuple | None = None
        self._normal_geometry = QRect()
        self._captions: list[QLabel] = []
        self._titles: list[QLabel] = []
        self._menubar_visible = True
        self._splitter_state: Any = None
        self.blank = Blank(window, self.unblank)
        self.timer = QTimer(self)
        self.timer.setInterval(RESCAN_MS)
        self.timer.timeout.connect(self.restyle)
        self._build_actions()

    # ---------------------------------------------------------------- actions
    def _build_actions(self) -> None:
        w = self.window

        def action(text: str, keys: list, tip: str, slot, presenting_only: bool = True) -> QAction:
            a = shortcut_action(w, text, keys, tip, slot)
            a.setEnabled(not presenting_only)
            return a

        self.toggle_action = action("Presentation mode", [Qt.Key_F11],
                                    "Full screen, large fonts and thick lines for a lecture hall; "
                                    "F11 or Esc leaves it", self.toggle, presenting_only=False)
        self.toggle_action.setCheckable(True)
        self.leave_action = action("Leave presentation mode", [Qt.Key_Escape], "Leave presentation mode",
                                   self.leave)
        self.next_action = action("Clicker: next", [Qt.Key_PageDown],
                                  "Train one more epoch (or, with 'Clicker keys change η', divide η by 1.5)",
                                  self.clicker_next)
        self.previous_action = action("Clicker: previous", [Qt.Key_PageUp],
                                      "Start or pause training (or, with 'Clicker keys change η', "
                                      "multiply η by 1.5)", self.clicker_previous)
        self.blank_action = action("Blank the screen", [Qt.Key_B, Qt.Key_Period],
                                   "Blank the screen; press any key to come back", self.toggle_blank)
        self.controls_action = action("Show settings", [Qt.Key_C], "Show or hide the settings and the toolbar",
                                      self.toggle_controls)
        self.clicker_eta_action = QAction("Clicker keys change η", w)
        self.clicker_eta_action.setCheckable(True)
        self.clicker_eta_action.setToolTip("In presentation mode, Page Up / Page Down multiply / divide η "
                                           "by 1.5 instead of training an epoch / starting and pausing.")
        self.clicker_eta_action.toggled.connect(self._on_clicker_eta_action_toggled)
        self.actions = [self.toggle_action, self.clicker_eta_action, self.next_action, self.previous_action,
                        self.blank_action, self.controls_action, self.leave_action]

    def _on_clicker_eta_action_toggled(self, on: bool) -> None:
        self.clicker_eta = on

    # ---------------------------------------------------------------- entering and leaving
    def toggle(self) -> None:
        if self.active:
            self.leave()
        else:
            self.enter()

    def enter(self, fullscreen: bool = True) -> None:
        """Full screen (unless ``fullscreen`` is False, e.g. for a screenshot), big and bold."""
        if self.active:
            return
        w = self.window
        self.active = True
        self._window_state = (w.isFullScreen(), w.isMaximized(), w.saveGeometry(), w.saveState(),
                              w.styleSheet())
        self._normal_geometry = QRect(w.geometry())
        w.setStyleSheet(w.styleSheet() + STYLESHEET)
        self._menubar_visible = not w.menuBar().isHidden()
        w.menuBar().hide()  # shortcuts still work: the actions belong to the window
        for bar in self._toolbars():
            bar.hide()
        if hasattr(w, "controls_dock"):
            w.controls_dock.hide()
        # titles wrap rather than widen their view
        self._titles = [label for label in w.findChildren(QLabel)
                        if label.objectName() == "viewTitle" and not label.wordWrap()]
        for label in self._titles:
            label.setWordWrap(True)
        # the lecturer speaks the captions: their room goes to the plots
        self._captions = [label for label in w.findChildren(QLabel)
                          if label.objectName() == "caption" and not label.isHidden()]
        for label in self._captions:
            label.hide()
        splitter = getattr(w, "splitter", None)
        if splitter is not None:
            self._splitter_state = splitter.saveState()
            total = sum(splitter.sizes()) or w.width()
            splitter.setSizes([int(total * SPLIT[0]), int(total * SPLIT[1])])
        self.restyle()
        for a in self.actions[2:]:
            a.setEnabled(True)
        self.toggle_action.setChecked(True)
        if fullscreen:
            screen = w.screen()
            if screen is not None:  # exactly the screen it is on, also without a window manager
                w.setGeometry(screen.geometry())
            w.showFullScreen()
        self.timer.start()
        w._render_cards()   # the status bar's texts shorten for the large letters, now
        self._message("Presentation mode · Esc leaves")

    def leave(self) -> None:
        """Put back everything :meth:`enter` changed."""
        if not self.active:
            return
        w = self.window
        self.active = False
        w._render_cards()   # the status bar's full texts, now
        self.timer.stop()
        self.unblank()
        for item, text in self._axis_texts.values():
            item.labelText = text
        self._axis_texts.clear()
        self._restore_items()
        fullscreen, maximized, geometry, state, sheet = self._window_state
        w.setStyleSheet(sheet)
        for label in self._captions:
            label.show()
        self._captions = []
        for label in self._titles:
            label.setWordWrap(False)
        self._titles = []
        w.menuBar().setVisible(self._menubar_visible)
        if self._splitter_state is not None:
            w.splitter.restoreState(self._splitter_state)
            self._splitter_state = None
        if not fullscreen and w.isFullScreen():
            if maximized:
                w.showMaximized()
            else:
                w.showNormal()
                w.restoreGeometry(geometry)
                w.setGeometry(self._normal_geometry)  # exactly, also without a window manager
        w.restoreState(state)
        for a in self.actions[2:]:
            a.setEnabled(False)
        self.toggle_action.setChecked(False)
        self._message("Presentation mode off")

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 5000)

    # ---------------------------------------------------------------- clicker keys
    def clicker_next(self) -> None:
        if self.clicker_eta:
            self.window.eta_down()
        else:
            self.window.step_epoch()

    def clicker_previous(self) -> None:
        if self.clicker_eta:
            self.window.eta_up()
        else:
            self.window.toggle_run()

    def toggle_blank(self) -> None:
        if self.blank.isVisible():
            self.unblank()
        else:
            self.blank.setGeometry(self.window.rect())
            self.blank.show()
            self.blank.raise_()
            self.blank.setFocus()

    @property
    def blanked(self) -> bool:
        return self.blank.isVisible()

    def unblank(self) -> None:
        if self.blank.isVisible():
            self.blank.hide()
            self.window.setFocus()

    def _toolbars(self) -> list:
        from PySide6.QtWidgets import QToolBar

        return [bar for bar in self.window.findChildren(QToolBar) if bar.parent() is self.window]

    def toggle_controls(self) -> None:
        """C: show or hide the settings panel and the toolbar."""
        dock = getattr(self.window, "controls_dock", None)
        show = dock is not None and not dock.isVisible()
        if dock is not None:
            dock.setVisible(show)
        for bar in self._toolbars():
            bar.setVisible(show)
        if show:  # as narrow as it can be without cutting anything: the plots keep the room
            self.window.resizeDocks([dock], [dock.minimumSizeHint().width()], Qt.Horizontal)

    @property
    def controls_shown(self) -> bool:
        dock = getattr(self.window, "controls_dock", None)
        return dock is not None and dock.isVisible()

    # ---------------------------------------------------------------- restyling plots
    def restyle(self) -> None:
        """Enlarge and recolour every plot item not yet done (cheap: new items only)."""
        if not self.active:
            return
        for view in self.window.findChildren(pg.GraphicsView):
            scene = view.scene()
            if scene is None:
                continue
            for item in scene.items():
                key = id(item)
                if key in self._saved:
                    continue
                saved = self._restyle_item(item)
                if saved is not None:
                    self._saved[key] = saved
        self._fit_axis_labels()

    def _fit_axis_labels(self) -> None:
        """A vertical axis's label in large letters may be longer than a short plot is high
        ("accuracy (%)" at 1024x600): then it says less ("accuracy", "cost") rather than
        being cut. The full texts come back on leaving."""
        for item, kind, _old in list(self._saved.values()):
            if kind != "axis" or item.orientation not in ("left", "right") or not item.label.isVisible():
                continue
            full = self._axis_texts.setdefault(id(item), (item, item.labelText))[1]
            if not full:
                continue
            room = item.boundingRect().height() - 6
            font = QFont(item.label.font())
            font.setPixelSize(LABEL_PX)
            metrics = QFontMetrics(font)
            text = next((t for t in (full, full.split(" (")[0], full.split()[-1])
                         if metrics.horizontalAdvance(t) <= room), full.split()[-1])
            if text != item.labelText:
                item.labelText = text
                item._updateLabel()

    def _restyle_item(self, item: Any) -> tuple[Any, str, Any] | None:
        if isinstance(item, pg.AxisItem):
            old = (item.style.get("tickFont"), dict(item.labelStyle), item.fixedWidth)
            font = QFont(item.font())
            font.setPixelSize(TICK_PX)
            item.setTickFont(font)
            item.labelStyle = {**item.labelStyle, "font-size": f"{LABEL_PX}px"}
            item._updateLabel()
            if item.fixedWidth is not None and item.orientation in ("left", "right"):
                # a fixed-width axis (a colour bar's) would cut "-0.25" at the large size
                wide = QFontMetrics(font).horizontalAdvance("−0.025") + 12
                item.setWidth(max(item.fixedWidth, wide))
            return item, "axis", old
        if isinstance(item, pg.PlotDataItem):
            o = item.opts
            old = (o.get("pen"), o.get("symbolSize"), o.get("symbolBrush"))
            if o.get("pen") is not None:
                item.setPen(_bigger_pen(o["pen"]))
            if o.get("symbol") is not None:
                item.setSymbolSize((o.get("symbolSize") or 6) * SYMBOL_SCALE)
                brush = o.get("symbolBrush")
                if brush is not None:
                    item.setSymbolBrush(pg.mkBrush(_swap(pg.mkBrush(brush).color())))
            return item, "curve", old
        if isinstance(item, pg.InfiniteLine):
            old = pg.mkPen(item.pen)
            item.setPen(_bigger_pen(item.pen))
            return item, "line", old
        if isinstance(item, pg.TextItem):  # e.g. a marker's label
            old = (QFont(item.textItem.font()), QColor(item.color))
            font = QFont(item.textItem.font())
            font.setPixelSize(TITLE_PX)
            item.setFont(font)
            item.setColor(_swap(QColor(item.color)))
            return item, "text", old
        if isinstance(item, pg.LegendItem):
            old = (item.opts.get("labelTextSize"), item.geometry())
            _set_legend_text_size(item, f"{LEGEND_PX}px")
            return item, "legend", old
        if isinstance(item, pg.LabelItem) and not isinstance(item.parentItem(), pg.LegendItem):
            old = item.opts.get("size")
            item.setText(item.text, size=f"{TITLE_PX}px")
            return item, "label", old
        return None

    def _restore_items(self) -> None:
        for item, kind, old in self._saved.values():
            try:
                self._restore_item(item, kind, old)
            except RuntimeError:  # the item's C++ object is gone (e.g. a cleared race)
                pass
        self._saved.clear()

    @staticmethod
    def _restore_item(item: Any, kind: str, old: Any) -> None:
        if kind == "axis":
            font, label_style, fixed_width = old
            if fixed_width is not None:
                item.setWidth(fixed_width)
            item.setTickFont(font)
            item.labelStyle = label_style
            item._updateLabel()
            # the plots' axes only grow (see plots._plot_widget): let them fit small text again
            item.textWidth = item.textHeight = 0
            item._adjustSize()
        elif kind == "curve":
            pen, size, brush = old
            if pen is not None:
                item.setPen(pen)
            if item.opts.get("symbol") is not None:
                item.setSymbolSize(size)
                if brush is not None:
                    item.setSymbolBrush(brush)
        elif kind == "line":
            item.setPen(old)
        elif kind == "text":
            font, colour = old
            item.setFont(font)
            item.setColor(colour)
        elif kind == "legend":
            size, geometry = old
            _set_legend_text_size(item, size)
            if item.size is None and item.parentLayoutItem() is None:
                item.setGeometry(geometry)  # exactly as it was (a legend in a layout: the layout's)
        elif kind == "label":
            item.setText(item.text, size=old)


def _set_legend_text_size(legend: Any, size: Any) -> None:
    """A legend's text size, and the legend fitted to it again (pyqtgraph only ever grows it)."""
    legend.setLabelTextSize(size)
    for _sample, label in legend.items:
        label.setText(label.text)
    legend.layout.invalidate()
    hint = legend.layout.effectiveSizeHint(Qt.PreferredSize)
    if legend.parentLayoutItem() is not None:  # a row of a plot's layout: the layout sizes it
        legend.updateGeometry()
        legend.parentLayoutItem().updateGeometry()
    elif legend.size is None:  # sized by its contents (not fixed by the plot)
        legend.setGeometry(0, 0, hint.width(), hint.height())
        legend.layout.activate()
        legend.updateSize()  # as pyqtgraph sizes it when an entry is added


def axis_font_pixels(window: Any) -> list[tuple[int, int]]:
    """``(tick font px, label font px)`` of every visible plot axis (for tests)."""
    out = []
    for view in window.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem) and item.isVisible():
                tick = item.style.get("tickFont")
                tick_px = tick.pixelSize() if tick is not None and tick.pixelSize() > 0 else -1
                size = item.labelStyle.get("font-size", "")
                label_px = int(size[:-2]) if size.endswith("px") else -1
                out.append((tick_px, label_px))
    return out


__all__ = ["OKABE_ITO", "PALETTE", "Presenter", "axis_font_pixels"]
