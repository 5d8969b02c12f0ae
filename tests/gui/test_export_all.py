"""Every view is exportable (issue 9, item 8): PNG and SVG for each registered figure,
legends that scale with the figure, nothing clipped, and one call to register a view."""

from __future__ import annotations

from xml.etree import ElementTree

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QFontMetrics, QImage
from PySide6.QtWidgets import QApplication, QGraphicsItem, QLabel, QWidget

from nnviz.gui.dialogs.export import PNG_SCALE, figure_rect

TIMEOUT = 10_000
REQUIRED = ("accuracy", "cost", "heatmaps", "confusion matrix", "per-digit accuracy", "mistakes", "saturation",
            "draw", "race", "race heatmaps")


@pytest.fixture
def trained(qtbot, window):
    w = window
    w.panel.epochs.setValue(2)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    # the Errors and Saturation tabs' analyses arrive off the GUI thread
    qtbot.waitUntil(lambda: 2 in w.inspector.analyses and 2 in w.inspector.saturations, timeout=TIMEOUT)
    w.render_views()
    return w


def _colours(image: QImage) -> int:
    step = max(1, image.width() // 200)
    return len({image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)})


def test_every_view_exports_as_png_and_svg_with_nothing_clipped(trained, tmp_path):
    w = trained
    ex = w.exports
    assert set(REQUIRED) <= set(ex.registry.keys())
    assert len(ex.figure_menu.actions()) == len(ex.registry.keys())
    for key in REQUIRED:
        png, svg = tmp_path / f"{key}.png", tmp_path / f"{key}.svg"
        assert ex.export_figure(key, png) and ex.export_figure(key, svg), key
        source = ex.registry[key].source()
        image = QImage(str(png))
        if isinstance(source, QWidget):
            assert (image.width(), image.height()) == (PNG_SCALE * source.width(), PNG_SCALE * source.height()), key
            # laid out as on screen (also in a tab never shown): no label cut short
            for label in source.findChildren(QLabel):
                if label.isVisibleTo(source) and not label.wordWrap() and label.text():
                    assert label.width() >= label.sizeHint().width() - 1, (key, label.text(), label.width())
        else:
            rect = figure_rect(source)
            assert abs(image.width() - PNG_SCALE * rect.width()) <= 2, key
            for item in _texts(source):  # every axis, label and legend is inside the picture
                r = item.sceneBoundingRect()
                if not r.isEmpty():  # e.g. a legend with no entries yet
                    assert rect.contains(r), (key, type(item).__name__, r, rect)
        assert image.width() > 150 and image.height() > 100, key
        # not blank (the race's figures are empty before a race: a plain background is right)
        assert _colours(image) >= (1 if key == "race heatmaps" else 3 if key == "race" else 20), key
        root = ElementTree.fromstring(svg.read_text(encoding="utf-8"))
        assert root.tag.endswith("svg") and len(list(root.iter())) > 10, key


def _texts(item: QGraphicsItem):
    stack = list(item.childItems())
    while stack:
        child = stack.pop()
        if not child.isVisible() or isinstance(child, pg.ViewBox):
            continue
        if isinstance(child, (pg.AxisItem, pg.LabelItem, pg.LegendItem)):
            yield child
        stack.extend(child.childItems())


def test_legends_scale_with_the_exported_figure(trained, tmp_path):
    """A legend that ignores transformations stays screen-sized in a PNG drawn at 2x."""
    w = trained
    w.race.accuracy.set_lanes(["η = 0.001", "η = 3"], 10)
    assert w.exports.export_figure("race", tmp_path / "race.png")  # lays out the tab never shown
    QApplication.processEvents()
    for plot in (w.accuracy, w.cost, w.race.accuracy):
        legend = plot.legend
        assert not legend.flags() & QGraphicsItem.ItemIgnoresTransformations
        assert figure_rect(plot.plot).contains(legend.sceneBoundingRect())
        text_height = max(label.boundingRect().height() for _sample, label in legend.items)
        assert text_height >= QFontMetrics(QApplication.font()).height() * 0.9  # as big as the window's text


def test_a_new_view_registers_itself_with_one_call(trained, tmp_path):
    w = trained
    ex = w.exports
    figure = ex.register("new view", "Step view", lambda: w.cost.plot)
    assert figure.key in ex.registry.keys()
    assert [a.text() for a in ex.figure_menu.actions()][-1] == "Step view…"
    assert "Step view" in [a.text() for a in ex.copy_menu.actions()]
    assert ex.export_figure("new view", tmp_path / "new.png") and (tmp_path / "new.png").stat().st_size > 1000
    with pytest.raises(ValueError):
        ex.register("new view", "Again", lambda: w.cost.plot)
