"""Exports for slides and notes: every figure as PNG or SVG, a figure copied to the
clipboard, and the run's history as CSV or JSON.

Figures live in a registry (:class:`FigureRegistry`): a view adds itself, its menu
entries included, with one call::

    window.exports.register("step", "Step view", lambda: step_view.plot)

The source is a pyqtgraph graphics item (a PlotItem or GraphicsLayout: the figure is that
part of its scene, grown to hold every axis, label and legend) or any QWidget (drawn as
it is on screen). PNGs are drawn at twice the screen size, sharp on a projector.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRectF, QSize
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence, QPainter
from PySide6.QtWidgets import QApplication, QFileDialog, QGraphicsItem, QMenu, QStackedWidget, QWidget

from nnviz.core.errors import DataError
from nnviz.core.history import History
from nnviz.gui.widgets import FitScrollArea

log = logging.getLogger(__name__)

PNG_SCALE = 2  # PNGs are drawn at twice the size on screen: sharp on a projector or a slide
FIGURE_MARGIN = 6  # px of background around a figure, so nothing touches the edge
FIGURE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
HISTORY_FILTER = "CSV table (*.csv);;JSON (*.json)"


@dataclass(frozen=True)
class Figure:
    """An exportable figure: ``source()`` gives the graphics item or widget to draw,
    ``refresh()`` (optional) brings it up to date first."""

    key: str
    title: str
    source: Callable[[], Any]
    refresh: Callable[[], None] | None = None


class FigureRegistry:
    """The figures a window can export, in menu order."""

    def __init__(self) -> None:
        self._figures: dict[str, Figure] = {}

    def add(self, figure: Figure) -> None:
        if figure.key in self._figures:
            raise ValueError(f"a figure {figure.key!r} is registered already")
        self._figures[figure.key] = figure

    def __getitem__(self, key: str) -> Figure:
        return self._figures[key]

    def __contains__(self, key: str) -> bool:
        return key in self._figures

    def __iter__(self):
        return iter(self._figures.values())

    def keys(self) -> list[str]:
        return list(self._figures)


def standard_figures(window: Any) -> list[Figure]:
    """The window's own views (the main plots, the inspector's tabs, the race)."""
    w = window
    out = [
        Figure("accuracy", "Test accuracy", lambda: w.accuracy.plot),
        Figure("cost", "Training cost", lambda: w.cost.plot),
        Figure("heatmaps", "Hidden-neuron heatmaps", lambda: w.heatmaps.graphics.ci),
    ]
    inspector = getattr(w, "inspector", None)
    if inspector is not None:
        out += [   # (the Errors and Saturation tabs are built when first asked for)
            Figure("confusion matrix", "Confusion matrix", lambda: inspector.errors.matrix,
                   lambda: inspector.errors.render()),
            Figure("per-digit accuracy", "Accuracy per digit", lambda: inspector.errors.class_plot,
                   lambda: inspector.errors.render()),
            Figure("mistakes", "Most confident mistakes", lambda: inspector.errors.mistakes,
                   lambda: inspector.errors.render()),
            Figure("saturation", "Saturation and |δ|", lambda: inspector.saturation.graphics.ci,
                   lambda: inspector.saturation.render()),
            Figure("draw", "Draw pad and the network's answer", lambda: inspector.draw, inspector.draw.render),
        ]
    race = getattr(w, "race", None)
    if race is not None:
        out += [
            Figure("race", "Race: test accuracy", lambda: race.accuracy.plot, race.render),
            Figure("race heatmaps", "Race: each lane's heatmap", lambda: race.heatmaps.widget.ci, race.render),
        ]
    return out


def figures(window: Any) -> dict[str, tuple[str, Any]]:
    """The window's figures: ``{key: (title, source)}``."""
    registry = window.exports.registry if hasattr(window, "exports") else None
    items = list(registry) if registry is not None else standard_figures(window)
    return {f.key: (f.title, f.source()) for f in items}


def _suffix(path: str | os.PathLike, allowed: tuple[str, ...]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise DataError(f"{Path(path).name}: the name must end in {' or '.join(allowed)}")
    return suffix


def figure_rect(item: QGraphicsItem) -> QRectF:
    """The part of ``item``'s scene its figure takes: the item itself and every axis,
    label and legend in it (tick labels may stick out of their axis), plus a margin."""
    import pyqtgraph as pg

    rect = item.sceneBoundingRect()
    stack = list(item.childItems())
    while stack:
        child = stack.pop()
        if not child.isVisible() or isinstance(child, pg.ViewBox):
            continue  # a view's contents are clipped to it
        if isinstance(child, (pg.AxisItem, pg.LabelItem, pg.LegendItem)):
            rect = rect.united(child.sceneBoundingRect())
        stack.extend(child.childItems())
    return rect.adjusted(-FIGURE_MARGIN, -FIGURE_MARGIN, FIGURE_MARGIN, FIGURE_MARGIN)


def _background() -> QColor:
    from nnviz.gui import style

    return QColor(style.BACKGROUND)


def _paint(source: Any, painter: QPainter, target: QRectF) -> None:
    """Draw ``source`` into ``target`` on ``painter`` (background first)."""
    painter.fillRect(target, _background())
    if isinstance(source, QWidget):
        painter.save()
        try:
            painter.translate(target.topLeft())
            painter.scale(target.width() / max(1, source.width()), target.height() / max(1, source.height()))
            QWidget.render(source, painter, QPoint(0, 0))  # the widget as on screen (not a view's scene)
        finally:
            painter.restore()
    else:
        source.scene().render(painter, target, figure_rect(source))


def _size(source: Any) -> QSize:
    if isinstance(source, QWidget):
        return source.size()
    return figure_rect(source).size().toSize()


def _prepare(source: Any) -> None:
    """A view in a tab never shown has had no layout (its widgets keep Qt's default sizes):
    lay the hidden page out, parents before children, as if it were shown."""
    from PySide6.QtCore import Qt

    widget = source if isinstance(source, QWidget) else source.scene().views()[0]
    page = widget
    while page.parentWidget() is not None and not page.parentWidget().isVisible():
        page = page.parentWidget()
    stack = page.parentWidget()
    if isinstance(stack, QStackedWidget) and stack.currentWidget() is not page:
        page.setGeometry(stack.contentsRect())  # a stack sizes only the page it shows
    # a page in a scroll area is sized by the area's resize event, which lays it out again:
    # repeat until the sizes settle (twice is enough in practice)
    for _ in range(3):
        before = widget.size()
        queue = [page]
        while queue:
            w = queue.pop(0)
            w.ensurePolished()
            if w.layout() is not None:
                w.layout().activate()
            queue.extend(w.findChildren(QWidget, options=Qt.FindDirectChildrenOnly))
        QApplication.sendPostedEvents()  # the resize events: graphics views fit their scenes
        if isinstance(page, FitScrollArea):   # it sizes its page to its room
            page.refit()
            QApplication.sendPostedEvents()
        if widget.size() == before:
            break


def figure_image(source: Any, scale: float = PNG_SCALE) -> QImage:
    """``source`` drawn into an image ``scale`` times its size on screen."""
    _prepare(source)
    size = _size(source)
    image = QImage(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)),
                   QImage.Format_ARGB32_Premultiplied)
    image.fill(_background())
    painter = QPainter(image)
    try:
        painter.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing | QPainter.SmoothPixmapTransform)
        _paint(source, painter, QRectF(0, 0, image.width(), image.height()))
    finally:
        painter.end()
    return image


def export_figure(source: Any, path: str | os.PathLike) -> None:
    """Save ``source`` (a graphics item or a widget) as ``path``: .png or .svg."""
    path = Path(path)
    suffix = _suffix(path, (".png", ".svg"))
    if not path.parent.exists():
        raise DataError(f"cannot save to {path}: folder {path.parent} does not exist")
    if suffix == ".png":
        if not figure_image(source).save(str(path), "PNG"):
            raise DataError(f"could not write {path}")
    else:
        _render_svg(source, path)
    if not path.is_file() or path.stat().st_size == 0:
        raise DataError(f"could not write {path}")


def _render_svg(source: Any, path: Path) -> None:
    """``source`` drawn into an SVG file by Qt's own SVG generator."""
    from PySide6.QtSvg import QSvgGenerator

    _prepare(source)
    size = _size(source)
    target = QRectF(0, 0, size.width(), size.height())
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(target)
    generator.setTitle("nnviz figure")
    painter = QPainter(generator)
    try:
        _paint(source, painter, target)
    finally:
        painter.end()


def copy_figure(source: Any) -> None:
    """Put a picture of ``source`` on the clipboard (paste it into a slide)."""
    QApplication.clipboard().setImage(figure_image(source))


def export_history(history: History, path: str | os.PathLike) -> None:
    """The per-epoch metrics (and, for JSON, the live changes) as .csv or .json."""
    path = Path(path)
    suffix = _suffix(path, (".csv", ".json"))
    if not path.parent.exists():
        raise DataError(f"cannot save to {path}: folder {path.parent} does not exist")
    if suffix == ".csv":
        history.write_csv(path)
    else:
        history.write_json(path)


class Exports:
    """The window's export menu items, one per registered figure."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.registry = FigureRegistry()
        self.figure_menu = QMenu("Export figure", window)
        self.figure_menu.setToolTip("Save a figure as PNG (for slides) or SVG (for print)")
        self.copy_menu = QMenu("Copy figure", window)
        self.copy_action = QAction("Copy figure for slides", window)
        self.copy_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_action.setToolTip("Copy the accuracy plot of the view shown to the clipboard (Ctrl+Shift+C)")
        self.copy_action.triggered.connect(self.copy_current)
        window.addAction(self.copy_action)
        self.copy_menu.addSeparator()
        self.copy_menu.addAction(self.copy_action)
        self.history_action = QAction("Export history…", window)
        self.history_action.setToolTip("Save the per-epoch accuracy and cost as CSV or JSON")
        self.history_action.triggered.connect(self.ask_export_history)
        self._last_folder = str(Path.home())
        for figure in standard_figures(window):
            self.register(figure.key, figure.title, figure.source, refresh=figure.refresh)

    def register(self, key: str, title: str, source: Callable[[], Any], *,
                 refresh: Callable[[], None] | None = None) -> Figure:
        """Make a figure exportable: File → Export figure → ``title``… and Copy figure.
        ``source()`` gives a pyqtgraph item or a QWidget; ``refresh()`` brings it up to date."""
        figure = Figure(key, title, source, refresh)
        self.registry.add(figure)
        a = self.figure_menu.addAction(f"{title}…")
        a.triggered.connect(lambda _=False, k=key: self.ask_export_figure(k))
        c = QAction(title, self.copy_menu)
        c.triggered.connect(lambda _=False, k=key: self.copy(k))
        self.copy_menu.insertAction(self.copy_menu.actions()[-2], c)  # above the separator
        return figure

    def menus(self) -> list:
        return [self.figure_menu, self.copy_menu, self.history_action]

    def _item(self, key: str) -> Any:
        figure = self.registry[key]
        self.window.render_views()
        if figure.refresh is not None:
            figure.refresh()
        return figure.source()

    def export_figure(self, key: str, path: str | os.PathLike) -> bool:
        try:
            export_figure(self._item(key), path)
        except (DataError, OSError) as e:
            self.window.show_error("Could not export the figure", str(e))
            return False
        self.window.statusBar().showMessage(f"Saved {Path(path).name}", 4000)
        return True

    def ask_export_figure(self, key: str) -> None:
        title = self.registry[key].title
        name = str(Path(self._last_folder) / f"nnviz-{key.replace(' ', '-')}.png")
        path, chosen = QFileDialog.getSaveFileName(self.window, f"Export {title}", name, FIGURE_FILTER)
        if path:
            if not Path(path).suffix:
                path += ".svg" if "svg" in chosen.lower() else ".png"
            self._last_folder = str(Path(path).parent)
            self.export_figure(key, path)

    def copy(self, key: str) -> None:
        copy_figure(self._item(key))
        self.window.statusBar().showMessage(f"Copied {self.registry[key].title.lower()} to the clipboard", 4000)

    def copy_current(self) -> None:
        race = getattr(self.window, "race", None)
        tabs = getattr(self.window, "tabs", None)
        on_race = race is not None and tabs is not None and tabs.currentWidget() is race
        self.copy("race" if on_race else "accuracy")

    def export_history(self, path: str | os.PathLike) -> bool:
        try:
            export_history(self.window.history, path)
        except (DataError, OSError) as e:
            self.window.show_error("Could not export the history", str(e))
            return False
        self.window.statusBar().showMessage(f"Saved {Path(path).name}", 4000)
        return True

    def ask_export_history(self) -> None:
        name = str(Path(self._last_folder) / "nnviz-history.csv")
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export history", name, HISTORY_FILTER)
        if path:
            if not Path(path).suffix:
                path += ".json" if "json" in chosen.lower() else ".csv"
            self._last_folder = str(Path(path).parent)
            self.export_history(path)
