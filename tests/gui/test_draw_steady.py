"""Nothing moves while drawing (issue 9, item 5): the pad keeps its size and place when
the first prediction appears, when the answer changes and when a test digit is pasted."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

TIMEOUT = 10_000


def _where(widget, window):
    top_left = widget.mapTo(window, QPoint(0, 0))
    return (top_left.x(), top_left.y(), widget.width(), widget.height())


def test_the_pad_does_not_move_while_drawing(qtbot, window):
    w = window
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.panel.set_values(epochs=1)
        w.toggle_run()
    w.inspector.show_view("draw")
    view = w.inspector.draw
    qtbot.waitUntil(lambda: w.tabs.currentWidget() is view, timeout=TIMEOUT)
    w.render_views()
    QApplication.processEvents()
    pad = view.pad
    before = _where(pad, w)
    watched = [view.bars_widget, view.input_widget, view.hidden_widget]
    others = [_where(x, w) for x in watched]
    r = pad.pad_rect()

    def at(fx: float, fy: float) -> QPoint:
        return QPoint(int(r.x() + fx * r.width()), int(r.y() + fy * r.height()))

    qtbot.mousePress(pad, Qt.LeftButton, pos=at(0.5, 0.2))
    for fy in np.linspace(0.25, 0.8, 8):
        qtbot.mouseMove(pad, at(0.5, fy))
        w.render_views()  # the prediction appears mid-stroke
        QApplication.processEvents()
        assert view.output is not None
        assert _where(pad, w) == before, "the pad moved or changed size while drawing"
    qtbot.mouseRelease(pad, Qt.LeftButton, pos=at(0.5, 0.8))
    for i in (0, 3, 11):  # other answers, other notes
        w.inspector.paste_test_digit(i)
        w.render_views()
        QApplication.processEvents()
        assert _where(pad, w) == before
        assert [_where(x, w) for x in watched] == others
    pad.clear()
    w.render_views()
    QApplication.processEvents()
    assert _where(pad, w) == before and [_where(x, w) for x in watched] == others
