"""Clean plots (issue 9, item 4): change markers inside the view, merged when close,
legends never over the data, the book's 95% named in the legend, and x axes that follow
the planned epochs (Race before a race, Saturation after a preset)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from nnviz.core.training import SettingChanged

N = 1000  # training digits of the synthesised changes


def _change(position: float, old: float, new: float, name: str = "eta") -> SettingChanged:
    epoch = int(position)
    seen = round((position - epoch) * N)
    return SettingChanged(name=name, old=old, new=new, epoch=epoch, batch=seen // 10, step=epoch * 100 + seen // 10,
                          examples_seen=seen, n_train=N)


def _inside(inner, outer, slack: float = 0.5) -> bool:
    return (inner.left() >= outer.left() - slack and inner.right() <= outer.right() + slack
            and inner.top() >= outer.top() - slack and inner.bottom() <= outer.bottom() + slack)


def _label_rects(plot):
    return [m.label.sceneBoundingRect() for m in plot.markers]


def _draw(w):
    w.render_views()
    QApplication.processEvents()
    w.render_views()


def test_twenty_presses_of_up_make_one_marker_inside_the_view(window):
    w = window
    w.panel.epochs.setValue(10)
    eta, changes = 3.0, []
    for i in range(20):  # 20 presses of Up within a tenth of an epoch
        changes.append(_change(1.0 + 0.005 * i, eta, eta * 1.5))
        eta *= 1.5
    for plot in (w.accuracy, w.cost):
        for c in changes:
            plot.add_change(c)
    _draw(w)
    for plot in (w.accuracy, w.cost):
        assert len(plot.markers) == 1
        assert plot.markers[0].label.textItem.toPlainText() == f"η 3 → {eta:g}, 20 changes"
        assert plot.markers[0].value() == changes[0].position
        view = plot.plot.getViewBox().sceneBoundingRect()
        assert all(_inside(r, view) for r in _label_rects(plot)), (_label_rects(plot), view)


def test_changes_far_apart_keep_their_own_markers_without_overlap_or_clipping(window):
    w = window
    w.panel.epochs.setValue(10)
    changes = [_change(0.0, 3.0, 0.5), _change(2.0, 0.5, 1.0, name="eta"),
               _change(2.02, "quadratic", "cross-entropy", name="cost"), _change(9.99, 1.0, 7.0)]
    for plot in (w.accuracy, w.cost):
        for c in changes:
            plot.add_change(c)
    _draw(w)
    for plot in (w.accuracy, w.cost):
        texts = [m.label.textItem.toPlainText() for m in plot.markers]
        assert texts == ["η = 0.5", "η = 1, cross-entropy cost, 2 changes", "η = 7"]
        view = plot.plot.getViewBox().sceneBoundingRect()
        rects = _label_rects(plot)
        assert all(_inside(r, view) for r in rects), (rects, view)  # the last one hangs left of its line
        assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:]), rects


def test_legends_are_never_over_the_data_and_name_the_books_95(window):
    w = window
    w.render_views()
    race = w.race
    race.accuracy.set_lanes(["η = 0.001", "η = 3", "η = 100"], 10)
    w.inspector.show_view("saturation")
    w.render_views()
    QApplication.processEvents()
    legends = [(w.accuracy.plot, w.accuracy.legend), (w.cost.plot, w.cost.legend),
               (race.accuracy.plot, race.accuracy.legend),
               (w.inspector.saturation.share_plot, w.inspector.saturation.legend)]
    for plot, legend in legends:
        data = plot.getViewBox().sceneBoundingRect()
        box = legend.sceneBoundingRect()
        assert legend.items and box.height() > 0
        assert not box.intersects(data), (legend, box, data)
    for plot in (w.accuracy, race.accuracy):
        names = [label.text for _sample, label in plot.legend.items]
        assert "book: 95%" in names
        assert getattr(plot.reference, "label", None) is None  # no text over the curve


def test_empty_race_and_saturation_axes_follow_the_planned_epochs(qtbot, window):
    w = window
    race = w.race
    assert race.accuracy.plot.getViewBox().viewRange()[0][1] >= race.epochs.value() == 10
    race.epochs.setValue(25)
    assert 25 <= race.accuracy.plot.getViewBox().viewRange()[0][1] < 27
    sat = w.inspector.saturation
    w.inspector.show_view("saturation")
    w.panel.apply_preset("The book's run")
    assert w.panel.epochs.value() == 30
    qtbot.waitUntil(lambda: (w.render_views() or True) and 30 <= sat.share_plot.viewRange()[0][1] < 32,
                    timeout=5000)
    w.new_run()  # a new run clears the series, not the planned epochs
    qtbot.waitUntil(lambda: (w.render_views() or True) and 30 <= sat.share_plot.viewRange()[0][1] < 32,
                    timeout=5000)
