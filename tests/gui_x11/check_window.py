"""Checks the window on a real X server, as a user would see it (run by test_screens.py in a
subprocess, with DISPLAY set: Qt picks one platform per process).

    python3 tests/gui_x11/check_window.py [--shots DIR]

On the screen it finds, it opens the window on 1,000 bundled digits, trains an epoch and
checks, in every tab, in the normal window and in presentation mode (also with its settings
shown): the window lies inside the screen, every visible widget lies inside the screen, no
label, button, tab or box text is cut. It presses F11 and Esc as keys to the focused widget:
presentation mode must fill exactly the screen, and Esc must restore the window's geometry,
its docks and its fonts. It types into a focused number box, and checks Return commits it
and that Space then pauses and starts. Prints one line per problem; exit status 1 if any.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

from PySide6.QtCore import QPoint, QRect, Qt  # noqa: E402
from PySide6.QtGui import Qt as QtGui_Qt, QTextDocument  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLayout,
    QRadioButton,
    QTabBar,
    QTabWidget,
    QWidget,
)

TIMEOUT_S = 60
PROBLEMS: list[str] = []


def problem(text: str) -> None:
    PROBLEMS.append(text)
    print("PROBLEM:", text, flush=True)


def wait_until(predicate, what: str, timeout: float = TIMEOUT_S) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        QTest.qWait(20)
    problem(f"timed out waiting for {what}")
    return False


def settle(ms: int = 150) -> None:
    """Let layouts, the window manager-less X server and paint events catch up."""
    QApplication.processEvents()
    QTest.qWait(ms)
    QApplication.processEvents()


def name(w: QWidget) -> str:
    label = w.objectName() or type(w).__name__
    text = ""
    if isinstance(w, (QLabel, QAbstractButton)):
        text = w.text()
    elif isinstance(w, QGroupBox):
        text = w.title()
    chain = []
    p = w.parentWidget()
    while p is not None and len(chain) < 3:
        if p.objectName():
            chain.append(p.objectName())
        p = p.parentWidget()
    return f"{label}{f' {text[:40]!r}' if text else ''}{' in ' + '/'.join(chain) if chain else ''}"


def clipped(w: QWidget) -> QRect:
    """The part of ``w`` its parents leave visible, in its window's coordinates (a widget
    scrolled out of view, or cut by a too-small parent, shows only this)."""
    top = w.window()
    r = QRect(w.mapTo(top, QPoint(0, 0)), w.size())
    p = w.parentWidget()
    while p is not None and not p.isWindow():
        r &= QRect(p.mapTo(top, QPoint(0, 0)), p.size())
        p = p.parentWidget()
    return r


def shown(w: QWidget) -> bool:
    return w.isVisible() and not clipped(w).isEmpty()


def in_scroll_area(w: QWidget) -> bool:
    p = w.parentWidget()
    while p is not None:
        if isinstance(p, QAbstractScrollArea) and w is not p and p.viewport().isAncestorOf(w):
            return True
        p = p.parentWidget()
    return False


def plain(text: str) -> str:
    if QtGui_Qt.mightBeRichText(text):
        doc = QTextDocument()
        doc.setHtml(text)
        return doc.toPlainText()
    return text


def text_width(w: QWidget, text: str) -> int:
    fm = w.fontMetrics()
    return max((fm.horizontalAdvance(line) for line in text.split("\n")), default=0)


def check_text(w: QWidget, where: str) -> None:
    """No text of ``w`` cut: its text needs no more room than it has."""
    room = w.contentsRect()
    if isinstance(w, QLabel):
        text = plain(w.text())
        if not text or w.pixmap() is not None and not w.pixmap().isNull():
            return
        if w.wordWrap():
            need_h = w.heightForWidth(room.width())
            if need_h > room.height() + 2:
                problem(f"{where}: label cut at the bottom ({need_h} px needed, {room.height()}): {name(w)}")
            return
        margin = 2 * w.margin() + w.indent() if w.indent() > 0 else 2 * w.margin()
        need = text_width(w, text) + margin
        if need > room.width() + 1:
            problem(f"{where}: label text cut ({need} px needed, {room.width()}): {name(w)}")
    elif isinstance(w, (QCheckBox, QRadioButton)):
        need = text_width(w, w.text().replace("&", "")) + 18
        if w.text() and need > w.width() + 1:
            problem(f"{where}: check box text cut ({need} px needed, {w.width()}): {name(w)}")
    elif isinstance(w, QAbstractButton):
        text = w.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        if text and text_width(w, text) + 4 > w.width():
            problem(f"{where}: button text cut ({text_width(w, text)} px text, {w.width()} px wide): {name(w)}")
    elif isinstance(w, QComboBox):
        text = w.currentText()
        if text and text_width(w, text) + 20 > w.width():
            problem(f"{where}: box text cut ({text_width(w, text)} px text, {w.width()} px wide): {name(w)}")
    elif isinstance(w, QGroupBox):
        if w.title() and text_width(w, w.title()) + 16 > w.width():
            problem(f"{where}: group title cut: {name(w)}")
    elif isinstance(w, QTabBar):
        bar_rect = w.rect()
        for i in range(w.count()):
            if not w.isTabVisible(i):
                continue
            r = w.tabRect(i)
            text = w.tabText(i).replace("&", "")
            if not bar_rect.contains(r) or any(b.isVisible() for b in w.findChildren(QAbstractButton)):
                problem(f"{where}: tab {text!r} is not wholly visible (tab bar {bar_rect.width()} px, "
                        f"scroll buttons shown)")
                break
            if text_width(w, text) + 8 > r.width():
                problem(f"{where}: tab title {text!r} cut ({text_width(w, text)} px text, {r.width()} px tab)")


def check_window(window: QWidget, where: str, screen: QRect) -> None:
    """The window and every visible widget inside ``screen``; no text cut."""
    frame = window.frameGeometry()
    if not screen.contains(frame):
        problem(f"{where}: the window {rect_text(frame)} is not inside the screen {rect_text(screen)}")
    for w in [window, *window.findChildren(QWidget)]:
        if not w.isWindow() and not shown(w):
            continue
        if w.isWindow() and w is not window:
            continue  # dialogs, menus, tooltips: not part of this check
        visible = clipped(w) if w is not window else w.rect()
        seen = QRect(window.mapToGlobal(visible.topLeft()) if w is not window else w.mapToGlobal(QPoint(0, 0)),
                     visible.size())
        if not screen.contains(seen):
            problem(f"{where}: {name(w)} at {rect_text(seen)} is outside the screen {rect_text(screen)}")
        if in_scroll_area(w) and visible.size() != w.size():
            continue  # partly scrolled out of view: it is read by scrolling
        check_text(w, where)


def check_overlaps(window: QWidget, where: str) -> None:
    """No two visible widgets of one layout overlap (a layout squeezed below its minimum
    draws one over the other, e.g. an axis label over a caption)."""
    for parent in [window, *window.findChildren(QWidget)]:
        layout = parent.layout()
        if not isinstance(layout, QLayout) or not shown(parent):
            continue
        items = [layout.itemAt(i).widget() for i in range(layout.count())]
        kids = [k for k in items if k is not None and shown(k)]
        for i, a in enumerate(kids):
            for b in kids[i + 1:]:
                overlap = a.geometry() & b.geometry()
                if overlap.width() > 1 and overlap.height() > 1:
                    problem(f"{where}: {name(a)} and {name(b)} overlap by {overlap.width()}x{overlap.height()} px")


def rect_text(r: QRect) -> str:
    return f"{r.width()}x{r.height()}+{r.x()}+{r.y()}"


def check_tabs(window, where: str, screen: QRect, roomy: bool) -> None:
    """Every tab; on a ``roomy`` screen (1280x720 or more) no page needs a scroll bar."""
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        settle()
        check_window(window, f"{where}, tab {window.tabs.tabText(i)!r}", screen)
        check_overlaps(window, f"{where}, tab {window.tabs.tabText(i)!r}")
        area = QTabWidget.widget(window.tabs, i)
        if roomy and isinstance(area, QAbstractScrollArea):
            for bar in (area.horizontalScrollBar(), area.verticalScrollBar()):
                if bar.isVisible() and bar.maximum() > 0:
                    problem(f"{where}, tab {window.tabs.tabText(i)!r}: the page needs a scroll bar "
                            f"({area.widget().minimumSizeHint().width()}x{area.widget().minimumSizeHint().height()} "
                            f"in {area.viewport().width()}x{area.viewport().height()})")
                    break
    window.tabs.setCurrentIndex(0)
    settle()


def fonts(window) -> list[tuple[str, int]]:
    return [(name(w), w.fontInfo().pixelSize()) for w in window.findChildren(QLabel)]


def legend_sizes(window) -> list[tuple[int, int]]:
    """The size of every plot legend (its spacing grows with presentation mode's fonts)."""
    import pyqtgraph as pg

    out = []
    for view in window.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.LegendItem):
                r = item.boundingRect()
                out.append((round(r.width()), round(r.height())))
    return sorted(out)


def key_to_focus(window, key) -> None:
    target = QApplication.focusWidget() or window
    QTest.keyClick(target, key)
    settle(50)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", help="save a screenshot of each state into this folder")
    args = parser.parse_args()

    from nnviz.core.data import Dataset, load_bundled
    from nnviz.gui.app import default_size, make_app
    from nnviz.gui.main_window import MainWindow
    from nnviz.gui.presentation import axis_font_pixels

    app = make_app()
    screen_geometry = app.primaryScreen().geometry()
    available = app.primaryScreen().availableGeometry()
    label = (f"{screen_geometry.width()}x{screen_geometry.height()} logical px, "
             f"scale {app.primaryScreen().devicePixelRatio():g}")
    print("screen:", label, flush=True)
    data = load_bundled()
    small = Dataset(name="small", train_images=data.train_images[:1000], train_labels=data.train_labels[:1000],
                    test_images=data.test_images[:300], test_labels=data.test_labels[:300],
                    description="1,000 bundled digits")
    window = MainWindow("bundled", settings=None, load=lambda *a, **k: small)
    window.resize(*default_size(app, (1280, 720)))
    window.show()
    window.activateWindow()
    QTest.qWaitForWindowExposed(window)
    window.start()
    wait_until(lambda: len(window.history.epochs) >= 1, "the untrained network")
    window.panel.epochs.setValue(1)
    window.toggle_run()
    wait_until(lambda: window.controller.state == "finished", "one epoch")
    window.render_views()
    settle(300)

    def shot(tag: str) -> None:
        if args.shots:
            window.grab().save(os.path.join(args.shots, f"{tag}.png"))

    roomy = screen_geometry.width() >= 1280 and screen_geometry.height() >= 720
    check_tabs(window, f"{label}, window", available, roomy)
    shot("window")

    # presentation mode: F11 to whatever has focus
    before = (QRect(window.geometry()), window.saveState(), fonts(window), axis_font_pixels(window),
              legend_sizes(window))
    window.panel.epochs.setFocus()
    settle()
    key_to_focus(window, Qt.Key_F11)
    wait_until(lambda: window.presenter.active and window.geometry() == screen_geometry,
               f"presentation mode to fill the screen {rect_text(screen_geometry)} "
               f"(window {rect_text(window.geometry())})")
    settle(300)
    check_tabs(window, f"{label}, presentation", screen_geometry, roomy)
    shot("presentation")
    key_to_focus(window, Qt.Key_C)
    settle(300)
    # the settings beside the plots on a projector: a page may scroll, but nothing is cut
    check_tabs(window, f"{label}, presentation with settings", screen_geometry, False)
    shot("presentation-settings")
    key_to_focus(window, Qt.Key_Escape)
    wait_until(lambda: not window.presenter.active and window.geometry() == before[0],
               f"Esc to restore the window's geometry {rect_text(before[0])} "
               f"(now {rect_text(window.geometry())})")
    settle(300)
    if window.saveState() != before[1]:
        problem("Esc did not restore the dock and toolbar layout")
    if fonts(window) != before[2]:
        changed = [(a, b) for a, b in zip(before[2], fonts(window)) if a != b][:3]
        problem(f"Esc did not restore the font sizes: {changed}")
    if axis_font_pixels(window) != before[3]:
        problem("Esc did not restore the plots' axis fonts")
    if legend_sizes(window) != before[4]:
        problem(f"Esc did not restore the legends' sizes: {before[4]} before, {legend_sizes(window)} after")
    check_window(window, f"{label}, after presentation", available)

    # a number box with focus: type, Return, then Space is a command again
    box = window.panel.epochs
    box.setFocus()
    wait_until(lambda: QApplication.focusWidget() is box, "the Epochs box to take focus")
    box.selectAll()
    QTest.keyClicks(box, "3")
    QTest.keyClick(box, Qt.Key_Return)
    settle(50)
    if box.value() != 3:
        problem(f"typing 3 and Return in the Epochs box gave {box.value()}")
    key_to_focus(window, Qt.Key_Space)
    if window.controller.state != "running":
        problem(f"Space after Return in the Epochs box did not start training ({window.controller.state})")
    key_to_focus(window, Qt.Key_Space)
    if window.controller.state not in ("paused", "finished"):
        problem(f"Space did not pause training ({window.controller.state})")
    if box.text() != "3":
        problem(f"Space edited the Epochs box: {box.text()!r}")
    window.close()
    print(f"{len(PROBLEMS)} problem(s)", flush=True)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
