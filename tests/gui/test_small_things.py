"""Small things a user meets (issue 9, item 10): radio buttons on the dark theme, the
--view help, and a replayed lesson leaving the user's saved settings alone."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtWidgets import QStyle, QStyleOptionButton

from nnviz.core.recipe import Recipe
from nnviz.core.training import TrainConfig
from nnviz.gui.app import VIEWS
from nnviz.gui.dialogs.data_dialog import DataChooser

TIMEOUT = 20_000


def _luminance(c) -> float:
    return 0.2126 * c.redF() + 0.7152 * c.greenF() + 0.0722 * c.blueF()


def test_radio_buttons_stand_out_on_the_dark_theme(qtbot, qapp_themed):
    d = DataChooser("bundled")
    qtbot.addWidget(d)
    d.show()
    qtbot.waitExposed(d)
    for button in (d.bundled, d.mnist, d.file):  # one checked, two not
        opt = QStyleOptionButton()
        opt.initFrom(button)
        r = button.style().subElementRect(QStyle.SE_RadioButtonIndicator, opt, button)
        image = button.grab().toImage()
        background = _luminance(d.palette().window().color())
        contrast = max(abs(_luminance(image.pixelColor(x, y)) - background)
                       for x in range(max(0, r.left()), min(image.width(), r.right() + 1))
                       for y in range(max(0, r.top()), min(image.height(), r.bottom() + 1)))
        assert r.width() >= 12 and contrast > 0.3, (button.text(), r, contrast)


def test_view_help_lists_the_views(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-m", "nnviz", "--help"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert ", ".join(VIEWS) in text


def test_replaying_a_lesson_keeps_the_users_saved_settings(qtbot, make_window, _isolated_settings):
    from nnviz.gui.app import open_settings

    w = make_window(settings=open_settings())
    w.panel.epochs.setValue(12)
    w.panel.eta.set_eta(0.7)
    player = w.lesson.play(Recipe("bundled", TrainConfig(epochs=1, eta=2.0, seed=5).validated(), []), pause_scale=0.01)
    with qtbot.waitSignal(player.finished, timeout=TIMEOUT):
        pass
    assert w.panel.epochs.value() == 1  # the window shows the lesson's settings…
    w.close()
    s = open_settings()
    assert int(s.value("train/epochs")) == 12 and float(s.value("train/eta")) == 0.7  # …but keeps the user's
