"""Presentation mode: large fonts, thick lines, the Okabe-Ito palette, clicker keys, and
everything restored on leaving."""

from __future__ import annotations

from argparse import Namespace

from PySide6.QtCore import Qt

from nnviz.gui import style
from nnviz.gui.presentation import OKABE_ITO, axis_font_pixels

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


def _pen(curve):
    pen = curve.opts["pen"]
    return pen.color().name().lower(), pen.widthF()


def _legend_sizes(w):
    import pyqtgraph as pg

    # a legend in a plot's layout is as wide as the layout makes it; its height and its text
    # sizes are its own (a floating legend: its width too)
    return sorted((0 if item.parentLayoutItem() is not None else round(item.boundingRect().width()),
                   round(item.boundingRect().height()),
                   tuple(str(label.opts.get("size")) for _sample, label in item.items))
                  for view in w.findChildren(pg.GraphicsView) for item in view.scene().items()
                  if isinstance(item, pg.LegendItem))


def test_presentation_mode_enlarges_recolours_and_restores(qtbot, window):
    w = window
    p = w.presenter
    w.render_views()
    before_legends = _legend_sizes(w)
    before_pen = _pen(w.accuracy.test_curve)
    before_axes = axis_font_pixels(w)
    before_sheet = w.styleSheet()
    assert before_pen[0] == style.ACCENT and all(t < 24 for t, _ in before_axes)
    assert w.controls_dock.isVisible() and w.menuBar().isVisible()

    qtbot.keyClick(w, Qt.Key_F11)
    assert p.active and p.toggle_action.isChecked()
    qtbot.waitUntil(w.isFullScreen, timeout=TIMEOUT)
    axes = axis_font_pixels(w)
    assert len(axes) == len(before_axes) >= 4
    assert all(tick >= 24 and label >= 24 for tick, label in axes), axes
    colour, width = _pen(w.accuracy.test_curve)
    assert colour == OKABE_ITO["sky blue"].lower() and width >= 2 * before_pen[1]
    assert _pen(w.cost.epoch_curve)[0] == OKABE_ITO["bluish green"].lower()
    assert not w.controls_dock.isVisible() and not w.menuBar().isVisible()
    card = w.cards["accuracy"].value
    assert card.fontInfo().pixelSize() >= 40  # the big numbers are bigger still

    qtbot.keyClick(w, Qt.Key_C)  # controls collapsible: C shows them again
    assert w.controls_dock.isVisible()

    qtbot.keyClick(w, Qt.Key_Escape)
    assert not p.active and not p.toggle_action.isChecked()
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=TIMEOUT)
    assert axis_font_pixels(w) == before_axes
    assert _legend_sizes(w) == before_legends  # the legends' spacing too
    assert _pen(w.accuracy.test_curve) == before_pen
    assert w.styleSheet() == before_sheet
    assert w.controls_dock.isVisible() and w.menuBar().isVisible()
    assert card.fontInfo().pixelSize() < 40
    assert not p.next_action.isEnabled()  # clicker keys only while presenting


def test_clicker_keys_step_an_epoch_change_eta_and_blank(qtbot, window):
    w = window
    p = w.presenter
    p.enter(fullscreen=False)
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT,
                          check_params_cb=lambda s: s.epochs_done == 1):
        qtbot.keyClick(w, Qt.Key_PageDown)  # next: one more epoch
    assert w.controller.state == "paused"
    p.clicker_eta_action.setChecked(True)
    eta = w.panel.eta.eta
    qtbot.keyClick(w, Qt.Key_PageUp)
    assert w.panel.eta.eta > eta
    qtbot.keyClick(w, Qt.Key_PageDown)
    assert w.panel.eta.eta == eta
    qtbot.keyClick(w, Qt.Key_B)
    assert p.blanked and p.blank.geometry() == w.rect()
    qtbot.keyClick(p.blank, Qt.Key_Space)  # any key brings the screen back
    assert not p.blanked
    p.leave()
    assert not p.blanked and not p.active


def test_items_created_while_presenting_are_restyled_and_restored(qtbot, window):
    w = window
    p = w.presenter
    p.enter(fullscreen=False)
    with qtbot.waitSignal(w.controller.progressed, timeout=TIMEOUT, check_params_cb=lambda s: s.batch == 1):
        w.step()  # the run has begun: a cost change is now live, not a new network
    with qtbot.waitSignal(w.controller.settingChanged, timeout=TIMEOUT):
        w.panel.cost.setCurrentIndex(w.panel.cost.findData("cross-entropy"))
        w.step()
    w.render_views()  # markers are drawn (merged with their neighbours) at the next frame
    marker = w.accuracy.markers[-1]
    # drawn in the normal style, then restyled by the next rescan (every second while presenting)
    qtbot.waitUntil(lambda: marker.pen.color().name().lower() == OKABE_ITO["reddish purple"].lower(),
                    timeout=TIMEOUT)
    p.leave()
    assert marker.pen.color().name().lower() == style.ETA_MARK


def test_screenshot_of_presentation_mode(qtbot, qapp, tmp_path):
    from PySide6.QtGui import QImage

    from nnviz.gui.app import run_app

    out = tmp_path / "p.png"
    assert run_app(Namespace(data=None, screenshot=str(out), epochs=0, view="presentation", size="1280x720")) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 720)
