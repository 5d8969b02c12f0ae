"""The window's keys act whatever widget has focus (a number box, the draw pad, a plot),
and typing into a number box still edits it. Real key events go to the focused widget,
through Qt's shortcut machinery (ShortcutOverride first, then the shortcut map)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication

from nnviz.gui.widgets import COMMAND

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


def focus(qtbot, widget):
    widget.window().activateWindow()
    widget.setFocus(Qt.OtherFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=TIMEOUT)


class ShortcutCatcher(QObject):
    """Records (and swallows) the Shortcut events Qt sends to actions: which key fired which."""

    def __init__(self, actions):
        super().__init__()
        self.fired: list[str] = []
        self.actions = actions
        for a in actions:
            a.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Shortcut:
            self.fired.append(obj.text())
            return True
        return False

    def remove(self):
        for a in self.actions:
            a.removeEventFilter(self)


def plain_keys(action):
    """The action's single keys without Ctrl/Alt/Meta (the ones a text box could want)."""
    out = []
    for seq in action.shortcuts():
        if seq.count() != 1:
            continue
        combo = seq[0]
        if not combo.keyboardModifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier):
            out.append(combo.key())
    return out


def test_every_command_key_acts_from_a_focused_number_box_the_pad_and_a_plot(qtbot, window):
    """Every enabled command key (also keys added later through shortcut_action) reaches its
    action whatever has focus, except the keys a number box needs for editing."""
    w = window
    editing = {Qt.Key_Up, Qt.Key_Down, Qt.Key_Left, Qt.Key_Right, Qt.Key_Home, Qt.Key_End,
               Qt.Key_Backspace, Qt.Key_Delete, Qt.Key_Period, Qt.Key_Comma, Qt.Key_Minus, Qt.Key_Plus, Qt.Key_E,
               *(getattr(Qt, f"Key_{d}") for d in range(10))}
    commands = [a for a in w.actions() if a.property(COMMAND) and a.isEnabled() and plain_keys(a)]
    assert {"Start", "Step", "Step epoch", "Reset", "η × 1.5", "η ÷ 1.5", "Presentation mode"} <= {
        a.text() for a in commands}
    catcher = ShortcutCatcher(commands)
    try:
        w.tabs.setCurrentIndex(w.inspector.tab_index["draw"])
        targets = {"η box": w.panel.eta.spin, "Epochs box": w.panel.epochs, "draw pad": w.inspector.draw.pad}
        for where, widget in targets.items():
            focus(qtbot, widget)
            number_box = isinstance(widget, QAbstractSpinBox)
            for a in commands:
                for key in plain_keys(a):
                    catcher.fired.clear()
                    qtbot.keyClick(widget, key)
                    expected = [] if number_box and key in editing else [a.text()]
                    assert catcher.fired == expected, (where, QKeySequence(key).toString(), a.text())
                    assert QApplication.focusWidget() is widget
        w.tabs.setCurrentIndex(0)
        plot = w.accuracy.widget
        plot.setFocusPolicy(Qt.StrongFocus)
        focus(qtbot, plot)
        for a in commands:
            for key in plain_keys(a):
                catcher.fired.clear()
                qtbot.keyClick(plot, key)
                assert catcher.fired == [a.text()], ("plot", QKeySequence(key).toString())
    finally:
        catcher.remove()


def test_typed_eta_then_return_commits_and_space_starts_and_pauses(qtbot, window):
    w = window
    spin = w.panel.eta.spin
    focus(qtbot, spin)
    spin.selectAll()
    qtbot.keyClicks(spin, "0.5")
    assert w.panel.eta.eta == 3.0  # not yet: Return commits
    qtbot.keyClick(spin, Qt.Key_Backspace)
    qtbot.keyClicks(spin, "25")
    qtbot.keyClick(spin, Qt.Key_Return)
    assert w.panel.eta.eta == 0.25
    assert QApplication.focusWidget() is not spin  # handed back: the next key is a command
    qtbot.keyClick(QApplication.focusWidget() or w, Qt.Key_Space)
    assert w.controller.state == "running"
    assert spin.value() == 0.25
    qtbot.keyClick(QApplication.focusWidget() or w, Qt.Key_Space)
    assert w.controller.state == "paused"
    assert spin.text() == "0.250"


def test_command_keys_in_a_focused_box_do_not_edit_it(qtbot, window):
    w = window
    box = w.panel.epochs
    focus(qtbot, box)
    box.selectAll()
    qtbot.keyClicks(box, "12")
    qtbot.keyClick(box, Qt.Key_Space)  # typed text counts, then Space starts
    assert w.controller.state == "running" and box.value() == 12 and box.text() == "12"
    qtbot.keyClick(box, Qt.Key_Space)
    assert w.controller.state == "paused"
    eta = w.panel.eta.eta
    qtbot.keyClick(box, Qt.Key_Up)  # a box's own key: steps the box, leaves η alone
    assert box.value() == 13 and w.panel.eta.eta == eta
    qtbot.keyClick(box, Qt.Key_R)  # reset: a new network, epoch 0
    qtbot.waitUntil(lambda: w.controller.state == "ready", timeout=TIMEOUT)
    assert box.text() == "13"
    qtbot.keyClick(box, Qt.Key_End)  # a command key too (back to live), but the box's here
    qtbot.keyClick(box, Qt.Key_Backspace)
    qtbot.keyClick(box, Qt.Key_Return)
    assert box.value() == 1


def test_presentation_keys_from_a_focused_box(qtbot, window):
    w = window
    spin = w.panel.eta.spin
    focus(qtbot, spin)
    qtbot.keyClick(spin, Qt.Key_F11)
    assert w.presenter.active
    qtbot.keyClick(w, Qt.Key_C)  # the settings again
    focus(qtbot, spin)
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT):
        qtbot.keyClick(spin, Qt.Key_PageDown)  # the clicker's "next": one more epoch
    qtbot.keyClick(spin, Qt.Key_Escape)
    assert not w.presenter.active


@pytest.mark.parametrize("text", ["30", "100,30"])
def test_the_hidden_layers_box_takes_digits_and_commas(qtbot, window, text):
    w = window
    box = w.panel.hidden
    focus(qtbot, box)
    box.selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key_Return)
    assert box.text() == text and w.panel.hidden_sizes() == tuple(int(t) for t in text.split(","))
    assert w.controller.state == "ready"
