"""Exports for slides and notes: each figure as PNG or SVG (pyqtgraph's exporters),
a figure copied to the clipboard, and the run's history as CSV or JSON.

:func:`install` adds File → Export figure, Copy figure and Export history to the window.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

from nnviz.core.errors import DataError
from nnviz.core.history import History

log = logging.getLogger(__name__)

PNG_SCALE = 2  # PNGs are drawn at twice the size on screen: sharp on a projector or a slide
FIGURE_FILTER = "PNG image (*.png);;SVG drawing (*.svg)"
HISTORY_FILTER = "CSV table (*.csv);;JSON (*.json)"


def figures(window: Any) -> dict[str, tuple[str, Any]]:
    """The window's figures: ``{key: (title, graphics item)}`` (items pyqtgraph can export)."""
    out = {
        "accuracy": ("Test accuracy", window.accuracy.plot),
        "cost": ("Training cost", window.cost.plot),
        "heatmaps": ("Hidden-neuron heatmaps", window.heatmaps.graphics.ci),
    }
    race = getattr(window, "race", None)
    if race is not None:
        out["race"] = ("Race: test accuracy", race.accuracy.plot)
        out["race heatmaps"] = ("Race: heatmaps", race.heatmaps.widget.ci)
    return out


def _suffix(path: str | os.PathLike, allowed: tuple[str, ...]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise DataError(f"{Path(path).name}: the name must end in {' or '.join(allowed)}")
    return suffix


def export_figure(item: Any, path: str | os.PathLike) -> None:
    """Save ``item`` (a PlotItem or GraphicsLayout) as ``path``: .png or .svg."""
    import pyqtgraph.exporters as exporters

    path = Path(path)
    suffix = _suffix(path, (".png", ".svg"))
    if not path.parent.exists():
        raise DataError(f"cannot save to {path}: folder {path.parent} does not exist")
    if suffix == ".png":
        exporter = exporters.ImageExporter(item)
        width = int(exporter.parameters()["width"])
        exporter.parameters()["width"] = max(1, width * PNG_SCALE)
        ok = exporter.export(str(path))
        if ok is False:
            raise DataError(f"could not write {path}")
    else:
        try:
            exporters.SVGExporter(item).export(str(path))
        except ValueError:  # pyqtgraph 0.14 cannot parse the paths newer Qt writes: draw it ourselves
            log.info("pyqtgraph's SVG export failed; using QSvgGenerator", exc_info=True)
            _render_svg(item, path)
    if not path.is_file() or path.stat().st_size == 0:
        raise DataError(f"could not write {path}")


def _render_svg(item: Any, path: Path) -> None:
    """``item``'s part of its scene drawn into an SVG file by Qt's own SVG generator."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    scene = item.scene()
    source = item.sceneBoundingRect()
    target = QRectF(0, 0, source.width(), source.height())
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(target.size().toSize())
    generator.setViewBox(target)
    generator.setTitle("nnviz figure")
    painter = QPainter(generator)
    try:
        painter.fillRect(target, scene.views()[0].backgroundBrush())
        scene.render(painter, target, source)
    finally:
        painter.end()


def copy_figure(item: Any) -> None:
    """Put a picture of ``item`` on the clipboard (paste it into a slide)."""
    import pyqtgraph.exporters as exporters

    exporter = exporters.ImageExporter(item)
    width = int(exporter.parameters()["width"])
    exporter.parameters()["width"] = max(1, width * PNG_SCALE)
    image = exporter.export(toBytes=True)
    QApplication.clipboard().setImage(image)


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
    """The window's export menu items."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.figure_menu = QMenu("Export figure", window)
        self.figure_menu.setToolTip("Save a figure as PNG (for slides) or SVG (for print)")
        self.copy_menu = QMenu("Copy figure", window)
        for key, (title, _item) in figures(window).items():
            a = self.figure_menu.addAction(f"{title}…")
            a.triggered.connect(lambda _=False, k=key: self.ask_export_figure(k))
            c = self.copy_menu.addAction(title)
            c.triggered.connect(lambda _=False, k=key: self.copy(k))
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

    def menus(self) -> list:
        return [self.figure_menu, self.copy_menu, self.history_action]

    def _item(self, key: str) -> Any:
        self.window.render_views()
        race = getattr(self.window, "race", None)
        if race is not None:
            race.render()
        return figures(self.window)[key][1]

    def export_figure(self, key: str, path: str | os.PathLike) -> bool:
        try:
            export_figure(self._item(key), path)
        except (DataError, OSError) as e:
            self.window.show_error("Could not export the figure", str(e))
            return False
        self.window.statusBar().showMessage(f"Saved {Path(path).name}", 4000)
        return True

    def ask_export_figure(self, key: str) -> None:
        title = figures(self.window)[key][0]
        name = str(Path(self._last_folder) / f"nnviz-{key.replace(' ', '-')}.png")
        path, chosen = QFileDialog.getSaveFileName(self.window, f"Export {title}", name, FIGURE_FILTER)
        if path:
            if not Path(path).suffix:
                path += ".svg" if "svg" in chosen.lower() else ".png"
            self._last_folder = str(Path(path).parent)
            self.export_figure(key, path)

    def copy(self, key: str) -> None:
        copy_figure(self._item(key))
        self.window.statusBar().showMessage(f"Copied {figures(self.window)[key][0].lower()} to the clipboard", 4000)

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
